//! End to end against real nodes: the Python driver (not pinned to a
//! protocol version) talks to ferry-proxy in front of the `source` and
//! `target` groups; every write must land on the target with the same
//! WRITETIME() as on the source.

mod support;

use std::time::Duration;

use ferry_router::{Cluster, RequestKind};
use ferry_testkit::{unique_keyspace_name, NodeGroup};
use serde_json::{json, Value};

/// `SELECT ... ` rows as JSON, sorted, for comparing two clusters.
fn sorted(rows: &ferry_testkit::CqlRows) -> Vec<Vec<Value>> {
    let mut rows = rows.rows.clone();
    rows.sort_by_key(|r| r.iter().map(ToString::to_string).collect::<Vec<_>>());
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_driver_writes_land_on_both_clusters_with_the_same_writetime() {
    let source = NodeGroup::require("source");
    let target = NodeGroup::require("target");
    let dir = support::temp_dir("dual_write");
    let config = support::config_for(
        &source,
        target.first().socket_addr().to_string(),
        &dir.join("failed.log"),
    );
    let proxy = support::start(config).await;
    let port = proxy.local_addr().port();
    let ks = unique_keyspace_name("proxy_dual_write");

    let client = {
        let source = source.clone();
        // No client timestamps: the proxy must add them, identically.
        let args = vec![
            "127.0.0.1".to_string(),
            port.to_string(),
            ks.clone(),
            "--server-timestamps".to_string(),
        ];
        tokio::task::spawn_blocking(move || {
            support::run_python(&source, "dual_write_client.py", &args)
        })
        .await
        .unwrap()
    };
    // The driver started at DSE_V2 and stepped down to what 2.1 speaks.
    assert_eq!(client["protocol_version"], json!(3), "{client}");
    // 1, 2, 4, 10..59, 100..102: 56 rows (3 was deleted).
    assert_eq!(client["rows"], json!(56), "{client}");
    assert_eq!(client["lwt"], json!([true, false]), "{client}");

    support::wait_queue_empty(&proxy, Duration::from_secs(30)).await;
    let m = proxy.metrics();
    assert_eq!(m.failed_log_records(), 0, "{}", m.render());
    // Reads never went to the target; writes did.
    assert_eq!(m.counters().requests(RequestKind::Read, Cluster::Target), 0);
    assert!(m.counters().requests(RequestKind::Write, Cluster::Target) >= 50);
    assert!(m.counters().requests(RequestKind::Batch, Cluster::Target) >= 1);

    let checks = vec![
        format!("SELECT k, v, WRITETIME(v) FROM {ks}.kv"),
        format!("SELECT k, v FROM {ks}.lwt"),
        format!("SELECT k, c FROM {ks}.counters"),
        format!("SELECT k, name, WRITETIME(name), tags, scores, visits, home FROM {ks}.people"),
    ];
    let on_source = support::cql(&source, checks.clone()).await;
    let on_target = support::cql(&target, checks).await;

    let kv_source = sorted(&on_source[0]);
    let kv_target = sorted(&on_target[0]);
    assert_eq!(kv_source.len(), 56);
    assert_eq!(kv_source, kv_target, "kv differs (values or writetimes)");
    // Writetimes are real microsecond timestamps, and distinct per write.
    let mut times: Vec<i64> = kv_source.iter().map(|r| r[2].as_i64().unwrap()).collect();
    assert!(times.iter().all(|t| *t > 1_600_000_000_000_000));
    times.sort_unstable();
    times.dedup();
    assert!(times.len() >= 50, "writes share writetimes: {times:?}");

    assert_eq!(sorted(&on_source[1]), vec![vec![json!(1), json!("first")]]);
    assert_eq!(sorted(&on_target[1]), vec![vec![json!(1), json!("first")]]);
    assert_eq!(sorted(&on_source[2]), vec![vec![json!(1), json!(6)]]);
    assert_eq!(sorted(&on_target[2]), vec![vec![json!(1), json!(6)]]);
    assert_eq!(
        sorted(&on_source[3]),
        sorted(&on_target[3]),
        "people differs"
    );
    assert_eq!(on_source[3].rows.len(), 1);

    let report = proxy.shutdown().await;
    assert!(report.drain.complete);
    assert_eq!(report.drain.spilled, 0);
    std::fs::remove_dir_all(&dir).ok();
}
