//! `--mirror-reads`, with fake servers that record what they receive: reads
//! also reach the target (off by default), the client always gets the
//! source's answer even when the target fails or hangs, and the reads in
//! flight on the target are bounded (the rest dropped and counted).

mod support;

use std::time::Duration;

use ferry_router::{Cluster, Proxy, RequestKind};
use ferry_testkit::fake_server::{Action, FakeServer, Matcher, Rule};
use ferry_wire::response::ErrorDetails;
use ferry_wire::{Consistency, Opcode};

const WAIT: Duration = Duration::from_secs(10);

fn selects(requests: &[ferry_testkit::fake_server::ReceivedRequest]) -> usize {
    requests
        .iter()
        .filter(|r| r.query_text().is_some_and(|t| t.starts_with("SELECT")))
        .count()
}

/// Waits until the proxy has recorded `n` finished mirrored reads.
async fn wait_mirrored(proxy: &Proxy, n: u64) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while proxy.metrics().counters().mirrored_reads.completed() < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{}",
            proxy.metrics().render()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn reads_are_mirrored_only_when_asked_and_target_errors_stay_invisible() {
    let source = FakeServer::start().await.unwrap();
    // The target fails one table's reads (as if it were not created there).
    let target = FakeServer::builder()
        .rule(Rule::new(
            Matcher::query_contains("FROM ks.missing").after_ready(),
            Action::error(ErrorDetails::Invalid, "unconfigured columnfamily missing"),
        ))
        .start()
        .await
        .unwrap();
    let dir = support::temp_dir("mirror_reads");

    // Off by default: reads stay on the source.
    let proxy = Proxy::start(support::config_for_fakes(
        &source,
        &target,
        &dir.join("a.log"),
    ))
    .await
    .unwrap();
    let conn = support::client(&proxy).await;
    conn.query("SELECT * FROM ks.t WHERE k = 1", Consistency::One)
        .await
        .unwrap();
    conn.query("INSERT INTO ks.t (k) VALUES (1)", Consistency::One)
        .await
        .unwrap();
    // The write reached the target; by then a mirrored read would have too.
    assert!(
        target
            .wait_for(WAIT, |r| r
                .iter()
                .any(|q| q.query_text().is_some_and(|t| t.starts_with("INSERT"))))
            .await
    );
    assert_eq!(selects(&target.received_with(Opcode::Query)), 0);
    drop(conn);
    proxy.shutdown().await;

    let mut on = support::config_for_fakes(&source, &target, &dir.join("b.log"));
    on.mirror_reads = true;
    let proxy = Proxy::start(on).await.unwrap();
    let conn = support::client(&proxy).await;
    let source_selects = selects(&source.received_with(Opcode::Query));
    for k in 0..5 {
        conn.query(
            &format!("SELECT * FROM ks.t WHERE k = {k}"),
            Consistency::One,
        )
        .await
        .unwrap();
    }
    // The target refuses this one; the client gets the source's answer.
    conn.query("SELECT * FROM ks.missing", Consistency::One)
        .await
        .expect("the source's answer, whatever the target says");
    assert_eq!(
        selects(&source.received_with(Opcode::Query)),
        source_selects + 6
    );
    assert!(target.wait_for(WAIT, |r| selects(r) == 6).await);
    wait_mirrored(&proxy, 6).await;
    let m = proxy.metrics();
    let reads = &m.counters().mirrored_reads;
    assert_eq!(
        (reads.completed(), reads.errors(), reads.dropped()),
        (6, 1, 0)
    );
    assert_eq!(m.counters().requests(RequestKind::Read, Cluster::Target), 6);
    let text = m.render();
    assert!(
        text.contains("ferry_proxy_mirrored_reads_total 6\n"),
        "{text}"
    );
    assert!(
        text.contains("ferry_proxy_mirrored_read_errors_total 1\n"),
        "{text}"
    );
    // Writes are still mirrored as writes, not counted as reads.
    drop(conn);
    proxy.shutdown().await;
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn a_hanging_target_bounds_mirrored_reads_and_never_delays_the_client() {
    let source = FakeServer::start().await.unwrap();
    let target = FakeServer::builder()
        .rule(Rule::new(
            Matcher::query_contains("SELECT").after_ready(),
            Action::NoResponse,
        ))
        .start()
        .await
        .unwrap();
    let dir = support::temp_dir("mirror_reads_bound");
    let mut config = support::config_for_fakes(&source, &target, &dir.join("failed.log"));
    config.mirror_reads = true;
    config.mirror_reads_max_in_flight = 3;
    config.target_request_timeout = Duration::from_secs(60);
    let proxy = Proxy::start(config).await.unwrap();
    let conn = support::client(&proxy).await;
    // Each read is answered by the source although the target never
    // answers the mirrored copies.
    for k in 0..10 {
        conn.query(
            &format!("SELECT * FROM ks.t WHERE k = {k}"),
            Consistency::One,
        )
        .await
        .unwrap();
    }
    assert!(target.wait_for(WAIT, |r| selects(r) == 3).await);
    let m = proxy.metrics();
    let reads = &m.counters().mirrored_reads;
    assert_eq!(reads.in_flight(), 3);
    assert_eq!(reads.dropped(), 7);
    assert_eq!(reads.completed(), 0);
    assert_eq!(selects(&target.received_with(Opcode::Query)), 3);
    drop(conn);
    proxy.shutdown().await;
    std::fs::remove_dir_all(&dir).ok();
}
