//! A rough load comparison: INSERTs and SELECTs with many requests in
//! flight on one connection, directly to the source and through an
//! in-process proxy (writes: async dual write to the target; reads:
//! pass-through). Not a benchmark suite; a sanity check.
//!
//! ```sh
//! cargo run --release -p ferry-router --example proxy_load -- 127.0.0.8:9042 127.0.0.9:9042 20000 32
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_conn::{Connection, ConnectionConfig};
use ferry_router::{ClusterEndpoint, Proxy, ProxyConfig};
use ferry_wire::Consistency;
use tokio::sync::Semaphore;

async fn load(
    address: &str,
    ks: &str,
    n: usize,
    in_flight: usize,
    read: bool,
) -> (f64, Duration, Duration) {
    let conn = Connection::connect(&ConnectionConfig::new(address))
        .await
        .unwrap();
    let limit = Arc::new(Semaphore::new(in_flight));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let permit = limit.clone().acquire_owned().await.unwrap();
        let conn = conn.clone();
        let q = if read {
            format!("SELECT v FROM {ks}.t WHERE k = {i}")
        } else {
            format!("INSERT INTO {ks}.t (k, v) VALUES ({i}, 'value-{i}')")
        };
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            conn.query(&q, Consistency::One).await.unwrap();
            drop(permit);
            t.elapsed()
        }));
    }
    let mut latencies = Vec::with_capacity(n);
    for t in tasks {
        latencies.push(t.await.unwrap());
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let p = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    (n as f64 / elapsed.as_secs_f64(), p(0.5), p(0.99))
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    // `fake fake`: two in-process fake servers, so the proxy's own cost
    // is not hidden behind Cassandra's.
    let mut fakes = Vec::new();
    let mut addresses = Vec::new();
    for (i, default) in [(1, "127.0.0.8:9042"), (2, "127.0.0.9:9042")] {
        match args.get(i).map(String::as_str) {
            Some("fake") => {
                let server = ferry_testkit::fake_server::FakeServer::start()
                    .await
                    .unwrap();
                addresses.push(server.address());
                fakes.push(server);
            }
            Some(a) => addresses.push(a.to_owned()),
            None => addresses.push(default.to_owned()),
        }
    }
    let (source, target) = (addresses[0].clone(), addresses[1].clone());
    let n: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let in_flight: usize = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(32);
    let ks = format!("load_{}", std::process::id());
    for address in [&source, &target] {
        let c = Connection::connect(&ConnectionConfig::new(address.as_str()))
            .await
            .unwrap();
        c.query(
            &format!("CREATE KEYSPACE IF NOT EXISTS {ks} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}"),
            Consistency::One,
        )
        .await
        .unwrap();
        c.query(
            &format!("CREATE TABLE IF NOT EXISTS {ks}.t (k int PRIMARY KEY, v text)"),
            Consistency::One,
        )
        .await
        .unwrap();
    }
    let mut config = ProxyConfig::new(
        ClusterEndpoint::plain(source.clone()),
        ClusterEndpoint::plain(target.clone()),
        std::env::temp_dir().join(format!("{ks}-failed.log")),
    );
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.max_protocol_version = ferry_wire::ProtocolVersion::V3;
    let proxy = Proxy::start(config).await.unwrap();
    let via = proxy.local_addr().to_string();
    // Warm up both paths, then measure alternately.
    load(&source, &ks, 2_000, in_flight, false).await;
    load(&via, &ks, 2_000, in_flight, false).await;
    for (name, address, read) in [
        ("direct writes", &source, false),
        ("proxy writes (dual, async)", &via, false),
        ("direct reads", &source, true),
        ("proxy reads (pass-through)", &via, true),
        ("direct writes", &source, false),
        ("proxy writes (dual, async)", &via, false),
        ("direct reads", &source, true),
        ("proxy reads (pass-through)", &via, true),
    ] {
        let (rate, p50, p99) = load(address, &ks, n, in_flight, read).await;
        // Let the target catch up, so phases do not compete for CPU.
        let settle = Instant::now();
        while proxy.metrics().queue_depth() > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let lag = settle.elapsed();
        println!("{name:>26}: {rate:>8.0} op/s  p50 {p50:>9.2?}  p99 {p99:>9.2?}  (target caught up {lag:.1?} later)");
    }
    let m = proxy.metrics();
    while m.queue_depth() > 0 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "target writes ok: {}, failed-write log records: {}",
        m.counters()
            .target_writes_ok
            .load(std::sync::atomic::Ordering::Relaxed),
        m.failed_log_records()
    );
    proxy.shutdown().await;
}
