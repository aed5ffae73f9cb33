//! The target queue's bounds and shutdown, with a fake target that never
//! answers (a frozen node): the client is not slowed down in async mode, a
//! full queue spills to the log (or pushes back), and shutdown spills what
//! is still pending. Nothing is dropped.

mod support;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use ferry_router::failed_log::read_log;
use ferry_router::{FullQueuePolicy, Proxy};
use ferry_testkit::fake_server::{Action, FakeServer, Matcher, Rule};
use ferry_wire::{Consistency, Opcode};

async fn frozen_target() -> FakeServer {
    FakeServer::builder()
        .rule(Rule::new(
            Matcher::opcode(Opcode::Query).after_ready(),
            Action::NoResponse,
        ))
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_frozen_target_does_not_slow_the_client_and_shutdown_spills_pending_writes() {
    let source = FakeServer::start().await.unwrap();
    let target = frozen_target().await;
    let dir = support::temp_dir("frozen");
    let log = dir.join("failed.log");
    let proxy = Proxy::start(support::config_for_fakes(&source, &target, &log))
        .await
        .unwrap();
    let conn = support::client(&proxy).await;
    let started = Instant::now();
    for k in 0..20 {
        conn.query(
            &format!("INSERT INTO ks.t (k) VALUES ({k})"),
            Consistency::One,
        )
        .await
        .unwrap();
    }
    // 20 writes answered by the source while the target hangs.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(proxy.metrics().queue_depth(), 20);
    let report = proxy.shutdown().await;
    assert_eq!(report.drain.spilled, 20);
    assert!(report.drain.complete);
    let records: Vec<_> = read_log(&log).unwrap().map(Result::unwrap).collect();
    assert_eq!(records.len(), 20);
    assert!(records.iter().all(|(_, r)| r.reason.contains("shut down")));
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn a_full_queue_spills_to_the_log_by_default() {
    let source = FakeServer::start().await.unwrap();
    let target = frozen_target().await;
    let dir = support::temp_dir("spill");
    let log = dir.join("failed.log");
    let mut config = support::config_for_fakes(&source, &target, &log);
    config.queue_capacity = 3;
    let proxy = Proxy::start(config).await.unwrap();
    let conn = support::client(&proxy).await;
    for k in 0..10 {
        conn.query(
            &format!("INSERT INTO ks.t (k) VALUES ({k})"),
            Consistency::One,
        )
        .await
        .unwrap();
    }
    let m = proxy.metrics();
    // The 7 that found no room are on disk.
    let deadline = Instant::now() + Duration::from_secs(5);
    while m.failed_log_records() < 7 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(m.counters().queue_spills.load(Ordering::Relaxed), 7);
    assert_eq!(m.failed_log_records(), 7);
    let deadline = Instant::now() + Duration::from_secs(5);
    while m.queue_depth() > 3 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(m.queue_depth(), 3);
    assert!(m.render().contains("ferry_proxy_target_queue_depth 3\n"));
    let report = proxy.shutdown().await;
    assert_eq!(report.drain.spilled, 3);
    assert_eq!(read_log(&log).unwrap().count(), 10);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn backpressure_holds_the_client_until_the_queue_has_room() {
    let source = FakeServer::start().await.unwrap();
    let target = frozen_target().await;
    let dir = support::temp_dir("backpressure");
    let log = dir.join("failed.log");
    let mut config = support::config_for_fakes(&source, &target, &log);
    config.queue_capacity = 2;
    config.full_queue = FullQueuePolicy::Backpressure;
    let proxy = Proxy::start(config).await.unwrap();
    let conn = support::client(&proxy).await;
    for k in 0..2 {
        conn.query(
            &format!("INSERT INTO ks.t (k) VALUES ({k})"),
            Consistency::One,
        )
        .await
        .unwrap();
    }
    let third = tokio::time::timeout(
        Duration::from_millis(500),
        conn.query("INSERT INTO ks.t (k) VALUES (2)", Consistency::One),
    )
    .await;
    assert!(third.is_err(), "the third write waits for room");
    // Reads on another connection are not held back.
    let other = support::client(&proxy).await;
    other
        .query("SELECT * FROM ks.t", Consistency::One)
        .await
        .unwrap();
    assert_eq!(proxy.metrics().failed_log_records(), 0);
    let report = proxy.shutdown().await;
    assert_eq!(report.drain.spilled, 2);
    // The two queued writes and the one that was waiting for room.
    assert_eq!(read_log(&log).unwrap().count(), 3);
    std::fs::remove_dir_all(&dir).ok();
}
