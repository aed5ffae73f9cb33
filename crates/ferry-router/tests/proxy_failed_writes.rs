//! The target is down (a closed port) or refuses every write (a fake
//! server answering Overloaded): the client must not notice, every write
//! must end up in the failed-write log, and `replay` must then bring the
//! real target to exactly the source's data, with the same write times.

mod support;

use std::time::Duration;

use ferry_conn::ConnectionConfig;
use ferry_router::failed_log::read_log;
use ferry_router::replay::{replay, ReplayOptions};
use ferry_router::{RetryPolicy, WriteMode};
use ferry_testkit::fake_server::{Action, FakeServer, Matcher, Rule};
use ferry_testkit::{unique_keyspace_name, NodeGroup};
use ferry_wire::Opcode;
use serde_json::json;

fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        max_retries: 2,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
    }
}

/// A port nothing listens on.
async fn closed_port() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    addr.to_string()
}

async fn replay_onto(
    target: &NodeGroup,
    log: &std::path::Path,
) -> ferry_router::replay::ReplayReport {
    let options = ReplayOptions::new(ConnectionConfig::new(
        target.first().socket_addr().to_string(),
    ));
    replay(log, &options).await.expect("log readable")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_down_writes_go_to_the_log_and_replay_restores_them() {
    let source = NodeGroup::require("source");
    let target = NodeGroup::require("target");
    let dir = support::temp_dir("target_down");
    let log = dir.join("failed.log");
    let mut config = support::config_for(&source, closed_port().await, &log);
    config.retry = quick_retries();
    let proxy = support::start(config).await;
    let ks = unique_keyspace_name("proxy_target_down");

    let client = support::run_dual_write_client(&source, proxy.local_addr().port(), &ks).await;
    // The client saw nothing of the outage.
    assert_eq!(client["rows"], json!(56), "{client}");
    assert_eq!(client["lwt"], json!([true, false]), "{client}");
    support::wait_queue_empty(&proxy, Duration::from_secs(60)).await;

    let metrics = proxy.metrics();
    let logged = metrics.failed_log_records();
    let records: Vec<_> = read_log(&log)
        .unwrap()
        .collect::<Result<_, _>>()
        .expect("log readable");
    assert_eq!(records.len() as u64, logged);
    // 6 DDL, 5 simple writes, 51 prepared, 1 batch, 2 people writes,
    // 2 LWT, 3 counter updates.
    assert_eq!(records.len(), 70, "{}", metrics.render());
    let opcodes = |op| records.iter().filter(|(_, r)| r.opcode == op).count();
    assert_eq!(opcodes(Opcode::Batch), 1);
    assert_eq!(opcodes(Opcode::Execute), 52);
    assert!(records.iter().all(|(_, r)| !r.reason.is_empty()));
    // Prepared writes carry their statement text for the replay.
    assert!(records
        .iter()
        .filter(|(_, r)| r.opcode == Opcode::Execute)
        .all(|(_, r)| r.statements.len() == 1));
    proxy.shutdown().await;

    // The keyspace does not exist on the target yet: the log creates it.
    let report = replay_onto(&target, &log).await;
    assert!(report.failed.is_empty(), "{report:?}");
    assert_eq!(report.applied, 70);
    support::assert_same_data(&source, &target, &ks).await;

    // Replaying again changes nothing: same cells, same write times, as
    // long as what is not idempotent is skipped: DDL, LWTs, counter
    // updates, and list writes (elements get server-made ids, so a second
    // append duplicates them).
    let mut options = ReplayOptions::new(ConnectionConfig::new(
        target.first().socket_addr().to_string(),
    ));
    options.skip_non_idempotent = true;
    let again = replay(&log, &options).await.unwrap();
    assert_eq!(again.skipped, 6 + 2 + 3 + 2, "{again:?}");
    assert_eq!(again.applied, 70 - 13);
    assert!(again.failed.is_empty(), "{again:?}");
    support::assert_same_data(&source, &target, &ks).await;
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_refusing_writes_is_retried_then_logged_and_sync_mode_reports_it() {
    let source = NodeGroup::require("source");
    let target = NodeGroup::require("target");
    // The fake target completes handshakes and prepares, and answers
    // every statement with Overloaded (a transient error: retried).
    let fake = FakeServer::builder()
        .max_version(ferry_wire::ProtocolVersion::V3)
        .rule(Rule::new(
            Matcher::opcode(Opcode::Query).after_ready(),
            Action::overloaded(),
        ))
        .rule(Rule::new(
            Matcher::opcode(Opcode::Execute).after_ready(),
            Action::overloaded(),
        ))
        .start()
        .await
        .unwrap();
    let dir = support::temp_dir("target_refuses");
    let log = dir.join("failed.log");
    let ks = unique_keyspace_name("proxy_target_refuses");
    support::cql(
        &source,
        vec![
            format!("CREATE KEYSPACE {ks} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}"),
            format!("CREATE TABLE {ks}.kv (k int PRIMARY KEY, v text)"),
        ],
    )
    .await;
    support::cql(
        &target,
        vec![
            format!("CREATE KEYSPACE {ks} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}"),
            format!("CREATE TABLE {ks}.kv (k int PRIMARY KEY, v text)"),
        ],
    )
    .await;

    // Async: the client succeeds; the writes are retried, then logged.
    let mut config = support::config_for(&source, fake.address(), &log);
    config.retry = quick_retries();
    let proxy = support::start(config.clone()).await;
    let args = vec![
        "127.0.0.1".to_string(),
        proxy.local_addr().port().to_string(),
        ks.clone(),
        "5".to_string(),
    ];
    let out = support::run_python_async(&source, "simple_writes.py", args).await;
    assert_eq!(out["errors"], json!(0), "{out}");
    support::wait_queue_empty(&proxy, Duration::from_secs(30)).await;
    let m = proxy.metrics();
    assert_eq!(m.failed_log_records(), 5, "{}", m.render());
    assert_eq!(
        m.counters()
            .target_retries
            .load(std::sync::atomic::Ordering::Relaxed),
        10,
        "two retries per write"
    );
    proxy.shutdown().await;
    for (_, r) in read_log(&log).unwrap().map(Result::unwrap) {
        assert!(
            r.reason.contains("Overloaded") || r.reason.contains("overloaded"),
            "{}",
            r.reason
        );
        assert!(r.idempotent && r.write_timestamp.is_some());
    }

    // Sync: the client is told, and the write is logged as well.
    config.write_mode = WriteMode::Sync;
    let proxy = support::start(config).await;
    let args = vec![
        "127.0.0.1".to_string(),
        proxy.local_addr().port().to_string(),
        ks.clone(),
        "3".to_string(),
        "100".to_string(),
    ];
    let out = support::run_python_async(&source, "simple_writes.py", args).await;
    assert_eq!(out["errors"], json!(3), "{out}");
    assert!(
        out["first_error"].as_str().unwrap().contains("target"),
        "{out}"
    );
    assert_eq!(proxy.metrics().failed_log_records(), 5 + 3);
    proxy.shutdown().await;

    // Replay onto the real target: all 8 writes, same write times.
    let report = replay_onto(&target, &log).await;
    assert_eq!((report.applied, report.failed.len()), (8, 0), "{report:?}");
    let check = vec![format!("SELECT k, v, WRITETIME(v) FROM {ks}.kv")];
    let on_source = support::cql(&source, check.clone()).await;
    let on_target = support::cql(&target, check).await;
    assert_eq!(on_source[0].rows.len(), 8);
    assert_eq!(
        support::sorted(&on_source[0]),
        support::sorted(&on_target[0])
    );
    std::fs::remove_dir_all(&dir).ok();
}
