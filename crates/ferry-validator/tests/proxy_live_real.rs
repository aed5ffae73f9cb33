//! Live writes through the dual-write proxy (ferry-router) while a
//! validation runs: rows the proxy has written to the source but not yet
//! to the target show up as differences at the scan, are read again after
//! the re-check delay, and are counted as resolved, never reported as
//! persistent.
//!
//! The proxy's target leg goes through a relay that holds every byte sent
//! to the target for [`TARGET_LAG`], like a distant target datacenter:
//! without it the proxy mirrors a write within milliseconds and the scan
//! would rarely meet one in flight.

mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferry_conn::session::{QueryOptions, Session, SessionConfig};
use ferry_router::{ClusterEndpoint, Proxy, ProxyConfig};
use ferry_validator::Status;
use ferry_wire::types::CqlValue;
use ferry_wire::Consistency;
use futures::StreamExt;
use support::{bigint, int, text, with_clusters};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How long the relay holds bytes on their way to the target.
const TARGET_LAG: Duration = Duration::from_millis(400);

/// A TCP relay to `target` that delays the client-to-target direction by
/// `lag` (answers come back at once). Returns its address.
async fn lagging_relay(target: SocketAddr, lag: Duration) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(upstream) = TcpStream::connect(target).await else {
                    return;
                };
                let (mut client_read, mut client_write) = client.into_split();
                let (mut upstream_read, mut upstream_write) = upstream.into_split();
                let (tx, mut rx) =
                    tokio::sync::mpsc::unbounded_channel::<(tokio::time::Instant, Vec<u8>)>();
                // Chunks keep their order and are each sent `lag` after
                // they arrived, so the relay adds latency, not a bottleneck.
                let delayed = tokio::spawn(async move {
                    while let Some((due, chunk)) = rx.recv().await {
                        tokio::time::sleep_until(due).await;
                        if upstream_write.write_all(&chunk).await.is_err() {
                            break;
                        }
                    }
                });
                let back = tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut upstream_read, &mut client_write).await;
                });
                let mut buf = vec![0u8; 64 * 1024];
                while let Ok(n) = client_read.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    let due = tokio::time::Instant::now() + lag;
                    if tx.send((due, buf[..n].to_vec())).is_err() {
                        break;
                    }
                }
                drop(tx);
                let _ = delayed.await;
                back.abort();
            });
        }
    });
    address
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_through_the_proxy_during_validation_resolve_on_recheck() {
    with_clusters("validate_proxy", "source", 1, |clusters| async move {
        clusters
            .ddl("CREATE TABLE {ks}.l (k int, c int, v text, PRIMARY KEY (k, c))")
            .await;
        let insert = "INSERT INTO {ks}.l (k, c, v) VALUES (?, ?, ?) USING TIMESTAMP ?";
        let rows: Vec<(i32, i32)> = (0..600).flat_map(|k| (0..5).map(move |c| (k, c))).collect();
        futures::stream::iter(rows.into_iter().map(|(k, c)| {
            let clusters = clusters.clone();
            async move {
                clusters
                    .on_both(insert, vec![int(k), int(c), text("initial"), bigint(1000)])
                    .await;
            }
        }))
        .buffer_unordered(32)
        .collect::<Vec<()>>()
        .await;

        // The proxy in front of the real source, its target leg lagging.
        let relay = lagging_relay(clusters.target_group.first().socket_addr(), TARGET_LAG).await;
        let log_dir = std::env::temp_dir().join(&clusters.keyspace);
        std::fs::create_dir_all(&log_dir).unwrap();
        let mut proxy_config = ProxyConfig::new(
            ClusterEndpoint::plain(clusters.source_group.first().socket_addr().to_string()),
            ClusterEndpoint::plain(relay.to_string()),
            log_dir.join("failed.log"),
        );
        proxy_config.listen = "127.0.0.1:0".parse().unwrap();
        let proxy = Proxy::start(proxy_config).await.expect("proxy starts");
        let proxy_addr = proxy.local_addr();

        // The application: a ferry-conn session whose every node is the
        // proxy. Several connections, because the proxy mirrors a client
        // connection's writes in order, one lagging round trip each.
        let app = Session::connect(
            SessionConfig::new([proxy_addr.to_string()])
                .with_address_translator(Arc::new(move |_| proxy_addr))
                .with_connections_per_node(6)
                .with_events(false),
        )
        .await
        .expect("session through the proxy");
        let statement = app
            .prepare(
                &insert
                    .replace("{ks}", &clusters.keyspace)
                    .replace(" USING TIMESTAMP ?", ""),
            )
            .await
            .unwrap();

        // Updates of existing rows and new partitions, spread over the
        // ring, until the validation is done: about 12 writes/s, under what
        // six lagging connections mirror (15/s), so the lag stays bounded.
        let stop = Arc::new(AtomicBool::new(false));
        let written = Arc::new(AtomicU64::new(0));
        let new_rows = Arc::new(AtomicU64::new(0));
        let writers: Vec<_> = (0..6)
            .map(|w| {
                let (app, statement) = (app.clone(), statement.clone());
                let (stop, written, new_rows) = (stop.clone(), written.clone(), new_rows.clone());
                tokio::spawn(async move {
                    let mut i = 0i32;
                    while !stop.load(Ordering::Relaxed) {
                        let (k, c, v) = if i % 2 == 0 {
                            ((i * 7919 + w * 101) % 600, i % 5, format!("update {w}.{i}"))
                        } else {
                            (100_000 + w * 10_000 + i, 0, format!("new {w}.{i}"))
                        };
                        app.execute(
                            &statement,
                            vec![Some(CqlValue::Int(k)), Some(CqlValue::Int(c)), text(&v)],
                            QueryOptions::new().with_consistency(Consistency::One),
                        )
                        .await
                        .expect("write through the proxy");
                        written.fetch_add(1, Ordering::Relaxed);
                        if i % 2 == 1 {
                            new_rows.fetch_add(1, Ordering::Relaxed);
                        }
                        i += 1;
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                })
            })
            .collect();

        // Writes are under way before the scan starts; the scan is slow
        // enough (rate-limited) to meet many of them.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let mut config = clusters.config("l");
        config.source_rows_per_second = Some(600);
        config.target_rows_per_second = Some(600);
        config.recheck_delay = Some(Duration::from_secs(3));
        let report = clusters.validator(config).run().await;
        stop.store(true, Ordering::Relaxed);
        for w in writers {
            w.await.unwrap();
        }
        let summary = report.summary(20);
        // Shown with --nocapture: how many writes the scan met in flight.
        println!("{summary}");
        let t = &report.tables[0];
        assert!(written.load(Ordering::Relaxed) >= 40, "{summary}");
        assert_eq!(report.status, Status::Equal, "{summary}");
        assert_eq!(report.exit_code(), 0, "{summary}");
        assert_eq!(t.counts.persistent_differences(), 0, "{summary}");
        assert!(
            t.counts.resolved_on_recheck > 0,
            "the scan should have met writes in flight through the proxy: {summary}"
        );
        assert!(t.counts.rows_compared >= 3000, "{summary}");

        // Once the proxy has mirrored everything, the clusters are equal
        // without any re-check, and nothing went to the failed-write log.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while proxy.metrics().queue_depth() > 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "proxy queue never drained"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(proxy.metrics().failed_log_records(), 0);
        let mut config = clusters.config("l");
        config.recheck_delay = None;
        config.compare.writetime = true;
        let report = clusters.validator(config).run().await;
        let summary = report.summary(20);
        assert_eq!(report.exit_code(), 0, "{summary}");
        assert_eq!(
            report.tables[0].counts.rows_compared,
            3000 + new_rows.load(Ordering::Relaxed),
            "every new row is on both sides: {summary}"
        );
        app.close().await;
        proxy.shutdown().await;
        std::fs::remove_dir_all(&log_dir).ok();
    })
    .await;
}
