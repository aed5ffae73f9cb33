//! Protocol v2 has no default timestamp: the proxy puts its timestamp in
//! the statement text (`USING TIMESTAMP`, a hidden marker for prepared
//! statements). End to end on the real `source` and `target` nodes with
//! the Python driver pinned to v2: every cell written through the proxy
//! has the same `WRITETIME()` on both clusters, directly and after a
//! replay of the failed-write log, and LWT and counter writes still work.

mod support;

use std::time::Duration;

use ferry_conn::ConnectionConfig;
use ferry_router::failed_log::read_log;
use ferry_router::replay::{replay, ReplayOptions};
use ferry_router::{RetryPolicy, WriteMode};
use ferry_testkit::{unique_keyspace_name, NodeGroup};
use ferry_wire::Opcode;
use serde_json::json;

/// Runs v2_writes.py through the proxy on `port`; checks what the driver saw.
async fn run_v2_client(source: &NodeGroup, port: u16, ks: &str) {
    let client = {
        let source = source.clone();
        let args = vec!["127.0.0.1".to_string(), port.to_string(), ks.to_string()];
        tokio::task::spawn_blocking(move || support::run_python(&source, "v2_writes.py", &args))
            .await
            .unwrap()
    };
    assert_eq!(client["protocol_version"], json!(2), "{client}");
    // The proxy's timestamp marker is invisible to the driver.
    assert_eq!(
        client["bind_columns"],
        json!({
            "insert": ["k", "a", "b"],
            "update": ["a", "k"],
            "insert_ttl": ["k", "a", "b", "[ttl]"],
            "update_ttl": ["[ttl]", "b", "k"],
            "delete": ["k"],
            "named": ["k", "c", "v"],
        }),
        "{client}"
    );
    assert_eq!(client["lwt"], json!([true, true, true]), "{client}");
    assert_eq!(client["counter"], json!(6), "{client}");
}

/// The rows of the written tables with their write times, on one cluster.
async fn cells(group: &NodeGroup, ks: &str) -> Vec<Vec<Vec<serde_json::Value>>> {
    let checks = vec![
        format!("SELECT k, a, b, WRITETIME(a), WRITETIME(b) FROM {ks}.t"),
        format!("SELECT k, c, v, WRITETIME(v) FROM {ks}.wide"),
        format!("SELECT k, a FROM {ks}.lwt"),
        format!("SELECT k, n FROM {ks}.counters"),
    ];
    support::cql(group, checks)
        .await
        .iter()
        .map(support::sorted)
        .collect()
}

/// Same cells and write times on both clusters, and the expected rows.
async fn assert_same_writetimes(source: &NodeGroup, target: &NodeGroup, ks: &str) {
    let on_source = cells(source, ks).await;
    let on_target = cells(target, ks).await;
    let t = &on_source[0];
    let mut keys: Vec<i64> = t.iter().map(|r| r[0].as_i64().unwrap()).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [1, 2, 3, 4, 10, 11, 12, 13, 14, 15, 20, 21, 22, 30, 31],
        "{t:?}"
    );
    // Every written cell has a write time (the deleted ones are null).
    let stamped = t
        .iter()
        .flat_map(|r| [&r[3], &r[4]])
        .filter(|w| w.as_i64().is_some_and(|w| w > 1_600_000_000_000_000))
        .count();
    assert_eq!(stamped, 2 * 15 - 4, "{t:?}"); // a of 11, b of 2 and 22, a of 31
    for (i, table) in ["t", "wide", "lwt", "counters"].iter().enumerate() {
        assert_eq!(
            on_source[i], on_target[i],
            "{table} differs between source and target (values or WRITETIME)"
        );
    }
    let mut wide: Vec<(i64, i64)> = on_source[1]
        .iter()
        .map(|r| (r[0].as_i64().unwrap(), r[1].as_i64().unwrap()))
        .collect();
    wide.sort_unstable();
    assert_eq!(wide, [(2, 0), (2, 1), (2, 2), (3, 0), (4, 0)]);
    assert_eq!(on_source[3], vec![vec![json!(1), json!(6)]]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_writes_have_the_same_writetime_on_both_clusters() {
    let source = NodeGroup::require("source");
    let target = NodeGroup::require("target");
    let dir = support::temp_dir("v2_timestamps");
    let mut config = support::config_for(
        &source,
        target.first().socket_addr().to_string(),
        &dir.join("failed.log"),
    );
    config.write_mode = WriteMode::Async;
    let proxy = support::start(config).await;
    let ks = unique_keyspace_name("proxy_v2_ts");

    run_v2_client(&source, proxy.local_addr().port(), &ks).await;
    support::wait_queue_empty(&proxy, Duration::from_secs(30)).await;
    assert_eq!(proxy.metrics().failed_log_records(), 0);
    assert_same_writetimes(&source, &target, &ks).await;

    proxy.shutdown().await;
    std::fs::remove_dir_all(&dir).ok();
}

/// With the target down every write goes to the failed-write log; the
/// logged v2 requests carry the proxy's timestamp in their text or
/// values, so the replay gives the target the source's write times.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logged_v2_writes_replay_with_their_timestamps() {
    let source = NodeGroup::require("source");
    let target = NodeGroup::require("target");
    let dir = support::temp_dir("v2_timestamps_replay");
    let log = dir.join("failed.log");
    let closed = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().to_string()
    };
    let mut config = support::config_for(&source, closed, &log);
    config.retry = RetryPolicy {
        max_retries: 1,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(10),
    };
    let proxy = support::start(config).await;
    let ks = unique_keyspace_name("proxy_v2_ts_log");

    run_v2_client(&source, proxy.local_addr().port(), &ks).await;
    support::wait_queue_empty(&proxy, Duration::from_secs(60)).await;
    proxy.shutdown().await;

    let records: Vec<_> = read_log(&log)
        .unwrap()
        .collect::<Result<_, _>>()
        .expect("log readable");
    // Plain writes are logged with their timestamp and as idempotent.
    let writes: Vec<_> = records
        .iter()
        .filter(|(_, r)| matches!(r.opcode, Opcode::Query | Opcode::Execute | Opcode::Batch))
        .filter(|(_, r)| r.keyspace.as_deref() == Some(ks.as_str()))
        .collect();
    let stamped = writes
        .iter()
        .filter(|(_, r)| r.write_timestamp.is_some() && r.idempotent)
        .count();
    // 9 simple statements, 2 text batches, 12 EXECUTEs, 2 BATCH messages;
    // the 3 LWT and 3 counter writes (and the DDL) are not stamped.
    assert_eq!(stamped, 25, "{writes:#?}");
    // 4 CREATE TABLE in the keyspace, unstamped too.
    assert_eq!(writes.len(), 25 + 6 + 4);

    let options = ReplayOptions::new(ConnectionConfig::new(
        target.first().socket_addr().to_string(),
    ));
    let report = replay(&log, &options).await.expect("log readable");
    assert!(report.failed.is_empty(), "{report:?}");
    assert_same_writetimes(&source, &target, &ks).await;
    std::fs::remove_dir_all(&dir).ok();
}
