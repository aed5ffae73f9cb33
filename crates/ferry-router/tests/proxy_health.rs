//! `/health/live`, `/health/ready` and the Prometheus metrics of the
//! operations endpoint: ready only while both clusters answer (fake
//! servers, one stopped), ready in front of the real `source` and
//! `target` groups, latency histograms and gauges after real traffic.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use ferry_conn::{Connection, ConnectionConfig};
use ferry_router::{ClusterEndpoint, ProxyConfig};
use ferry_testkit::fake_server::FakeServer;
use ferry_testkit::unique_keyspace_name;
use ferry_wire::Consistency;

/// Polls `path` until it answers `status` (the probe runs every 100 ms
/// here; the bound only stops a hung test).
async fn wait_for_status(addr: SocketAddr, path: &str, status: u16) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (s, body) = support::http(addr, "GET", path).await;
        if s == status {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{path} still answers {s} {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_only_while_both_clusters_answer() {
    let source = FakeServer::start().await.unwrap();
    let target = FakeServer::start().await.unwrap();
    let dir = support::temp_dir("health_fake");
    let mut config = ProxyConfig::new(
        ClusterEndpoint::plain(source.address()),
        ClusterEndpoint::plain(target.address()),
        dir.join("failed.log"),
    );
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.health_probe_interval = Duration::from_millis(100);
    config.connect_timeout = Duration::from_secs(1);
    let (proxy, http_addr) = support::start_with_endpoint(config).await;

    assert_eq!(support::http(http_addr, "GET", "/health/live").await.0, 200);
    let body = wait_for_status(http_addr, "/health/ready", 200).await;
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["ready"], true, "{body}");
    assert_eq!(json["primary"], "source", "{body}");

    // The target goes away: not ready, and the reason names it.
    let target_address = target.address();
    drop(target);
    let body = wait_for_status(http_addr, "/health/ready", 503).await;
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["ready"], false, "{body}");
    let reason = json["reason"].as_str().unwrap();
    assert!(reason.starts_with("target"), "{reason}");
    assert!(reason.contains(&target_address), "{reason}");
    assert!(!reason.contains("source"), "the source is fine: {reason}");
    // Still alive, and the metrics say which cluster is down.
    assert_eq!(support::http(http_addr, "GET", "/health/live").await.0, 200);
    let (_, metrics) = support::http(http_addr, "GET", "/metrics").await;
    assert!(
        metrics.contains("ferry_proxy_cluster_up{cluster=\"source\"} 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("ferry_proxy_cluster_up{cluster=\"target\"} 0\n"),
        "{metrics}"
    );

    // Unknown paths and methods.
    assert_eq!(support::http(http_addr, "GET", "/nope").await.0, 404);
    assert_eq!(support::http(http_addr, "DELETE", "/metrics").await.0, 405);
    assert_eq!(
        support::http(http_addr, "POST", "/primary?cluster=both")
            .await
            .0,
        400
    );

    // Shutting down: not ready either (checked through the handle, the
    // endpoint's owner keeps it).
    let handle = proxy.metrics();
    drop(source);
    proxy.shutdown().await;
    let why = handle.readiness().unwrap_err();
    assert!(why.contains("shutting down"), "{why}");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_on_real_nodes_with_latency_histograms() {
    let (_, _, dir, mut config) = support::real_setup("health_real");
    config.health_probe_interval = Duration::from_millis(200);
    let (proxy, http_addr) = support::start_with_endpoint(config).await;
    let body = wait_for_status(http_addr, "/health/ready", 200).await;
    assert!(body.contains("\"ready\":true"), "{body}");

    // Some traffic: schema, writes, reads.
    let conn = Connection::connect(&ConnectionConfig::new(proxy.local_addr().to_string()))
        .await
        .unwrap();
    let ks = unique_keyspace_name("proxy_health");
    support::query_all(&conn, support::kv_schema(&ks, "int")).await;
    for k in 0..10 {
        conn.query(
            &format!("INSERT INTO {ks}.kv (k, v) VALUES ({k}, {k})"),
            Consistency::One,
        )
        .await
        .unwrap();
        conn.query(
            &format!("SELECT v FROM {ks}.kv WHERE k = {k}"),
            Consistency::One,
        )
        .await
        .unwrap();
    }
    support::wait_queue_empty(&proxy, Duration::from_secs(30)).await;

    let (status, text) = support::http(http_addr, "GET", "/metrics").await;
    assert_eq!(status, 200);
    let sample = |prefix: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("{prefix} missing in\n{text}"))
            .trim()
            .parse()
            .unwrap()
    };
    // Every write was answered by both clusters, every read by the source.
    let source_writes =
        "ferry_proxy_cluster_latency_seconds_count{cluster=\"source\",kind=\"write\"}";
    let target_writes =
        "ferry_proxy_cluster_latency_seconds_count{cluster=\"target\",kind=\"write\"}";
    assert_eq!(sample(source_writes), 10.0);
    assert_eq!(sample(target_writes), 10.0);
    assert_eq!(
        sample("ferry_proxy_cluster_latency_seconds_count{cluster=\"source\",kind=\"read\"}"),
        10.0
    );
    assert!(
        !text.contains("cluster=\"target\",kind=\"read\""),
        "reads never went to the target"
    );
    assert_eq!(
        sample("ferry_proxy_client_latency_seconds_count{kind=\"write\"}"),
        10.0
    );
    assert_eq!(
        sample("ferry_proxy_client_latency_seconds_bucket{kind=\"write\",le=\"+Inf\"}"),
        10.0
    );
    let sum = sample("ferry_proxy_client_latency_seconds_sum{kind=\"write\"}");
    assert!(sum > 0.0, "{text}");
    // Gauges.
    assert_eq!(sample("ferry_proxy_client_connections "), 1.0);
    assert_eq!(sample("ferry_proxy_primary{cluster=\"source\"} "), 1.0);
    assert_eq!(sample("ferry_proxy_primary{cluster=\"target\"} "), 0.0);
    assert_eq!(sample("ferry_proxy_target_queue_depth "), 0.0);
    assert_eq!(sample("ferry_proxy_failed_write_log_records "), 0.0);
    assert_eq!(sample("ferry_proxy_target_oldest_pending_seconds "), 0.0);
    assert!(
        sample("ferry_proxy_failed_write_log_bytes ") > 0.0,
        "the file header"
    );
    drop(conn);
    proxy.shutdown().await;
    std::fs::remove_dir_all(&dir).ok();
}
