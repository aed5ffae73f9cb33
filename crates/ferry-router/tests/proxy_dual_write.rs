//! End to end against real nodes: the Python driver (not pinned to a
//! protocol version) talks to ferry-proxy in front of the `source` and
//! `target` groups; every write must land on the target with the same
//! WRITETIME() as on the source.

mod support;

use std::time::Duration;

use ferry_router::{Cluster, RequestKind};
use ferry_testkit::unique_keyspace_name;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_driver_writes_land_on_both_clusters_with_the_same_writetime() {
    let (source, target, dir, config) = support::real_setup("dual_write");
    let proxy = support::start(config).await;
    let port = proxy.local_addr().port();
    let ks = unique_keyspace_name("proxy_dual_write");

    // No client timestamps: the proxy must add them, identically.
    let client = support::run_dual_write_client(&source, port, &ks).await;
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

    support::assert_same_data(&source, &target, &ks).await;

    let report = proxy.shutdown().await;
    assert!(report.drain.complete);
    assert_eq!(report.drain.spilled, 0);
    std::fs::remove_dir_all(&dir).ok();
}
