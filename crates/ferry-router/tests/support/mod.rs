//! Helpers shared by the proxy's integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use ferry_router::{ClusterEndpoint, Proxy, ProxyConfig};
use ferry_testkit::NodeGroup;

/// A fresh directory for one test's files (failed-write log...).
pub fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "ferry-proxy-{test}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A proxy config in front of two real groups, plain TCP, on 127.0.0.1:0.
pub fn config_for(source: &NodeGroup, target_address: String, log: &Path) -> ProxyConfig {
    let mut config = ProxyConfig::new(
        ClusterEndpoint::plain(source.first().socket_addr().to_string()),
        ClusterEndpoint::plain(target_address),
        log,
    );
    config.listen = "127.0.0.1:0".parse().unwrap();
    config
}

/// Starts the proxy.
pub async fn start(config: ProxyConfig) -> Proxy {
    Proxy::start(config).await.expect("proxy starts")
}

/// Runs a Python driver script from tests/python with `args`; returns its
/// stdout parsed as JSON. Blocking: call from spawn_blocking.
pub fn run_python(group: &NodeGroup, script: &str, args: &[String]) -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(script);
    let output = Command::new(&group.python)
        .arg(&path)
        .args(args)
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{script} failed ({}):\nstdout: {stdout}\nstderr: {stderr}",
        output.status
    );
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{script} printed {stdout:?}: {e}"))
}

/// Waits until the proxy has no target write pending.
pub async fn wait_queue_empty(proxy: &Proxy, timeout: Duration) {
    let deadline = tokio::time::Instant::now() + timeout;
    while proxy.metrics().queue_depth() > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "target queue still holds {} write(s) after {timeout:?}",
            proxy.metrics().queue_depth()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs CQL on a group's first node (python stopgap), in a blocking task.
pub async fn cql(group: &NodeGroup, statements: Vec<String>) -> Vec<ferry_testkit::CqlRows> {
    let group = group.clone();
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = statements.iter().map(String::as_str).collect();
        group
            .cql_exec(group.first(), &refs)
            .unwrap_or_else(|e| panic!("cql on {}: {e}", group.name))
    })
    .await
    .unwrap()
}

/// Rows as JSON, sorted, for comparing two clusters.
pub fn sorted(rows: &ferry_testkit::CqlRows) -> Vec<Vec<serde_json::Value>> {
    let mut rows = rows.rows.clone();
    rows.sort_by_key(|r| r.iter().map(ToString::to_string).collect::<Vec<_>>());
    rows
}

/// Checks that keyspace `ks`, as written by dual_write_client.py, holds
/// the same data with the same write times on both clusters.
pub async fn assert_same_data(source: &NodeGroup, target: &NodeGroup, ks: &str) {
    use serde_json::json;
    let checks = vec![
        format!("SELECT k, v, WRITETIME(v) FROM {ks}.kv"),
        format!("SELECT k, v FROM {ks}.lwt"),
        format!("SELECT k, c FROM {ks}.counters"),
        format!("SELECT k, name, WRITETIME(name), tags, scores, visits, home FROM {ks}.people"),
    ];
    let on_source = cql(source, checks.clone()).await;
    let on_target = cql(target, checks).await;

    let kv_source = sorted(&on_source[0]);
    let kv_target = sorted(&on_target[0]);
    // 1, 2, 4, 10..59, 100..102 (3 was deleted).
    assert_eq!(kv_source.len(), 56);
    assert_eq!(kv_source, kv_target, "kv differs (values or writetimes)");
    // Writetimes are microsecond timestamps, distinct per write.
    let mut times: Vec<i64> = kv_source.iter().map(|r| r[2].as_i64().unwrap()).collect();
    assert!(times.iter().all(|t| *t > 1_600_000_000_000_000));
    times.sort_unstable();
    times.dedup();
    assert!(times.len() >= 50, "writes share writetimes: {times:?}");

    assert_eq!(sorted(&on_source[1]), vec![vec![json!(1), json!("first")]]);
    assert_eq!(sorted(&on_target[1]), vec![vec![json!(1), json!("first")]]);
    assert_eq!(sorted(&on_source[2]), vec![vec![json!(1), json!(6)]]);
    assert_eq!(sorted(&on_target[2]), vec![vec![json!(1), json!(6)]]);
    assert_eq!(on_source[3].rows.len(), 1);
    assert_eq!(
        sorted(&on_source[3]),
        sorted(&on_target[3]),
        "people differs"
    );
}

/// Runs dual_write_client.py through the proxy at `port` into keyspace
/// `ks`, without client timestamps; returns its JSON output.
pub async fn run_dual_write_client(group: &NodeGroup, port: u16, ks: &str) -> serde_json::Value {
    let args = vec![
        "127.0.0.1".to_string(),
        port.to_string(),
        ks.to_string(),
        "--server-timestamps".to_string(),
    ];
    run_python_async(group, "dual_write_client.py", args).await
}

/// One HTTP request to the proxy's operations endpoint: (status, body).
pub async fn http(addr: std::net::SocketAddr, method: &str, path: &str) -> (u16, String) {
    ferry_testkit::http::request(addr, method, path).await
}

/// Starts the proxy and its operations endpoint (health, metrics, primary
/// switch) on 127.0.0.1:0; returns both.
pub async fn start_with_endpoint(config: ProxyConfig) -> (Proxy, std::net::SocketAddr) {
    let proxy = start(config).await;
    let (addr, serve) =
        ferry_router::serve_metrics("127.0.0.1:0".parse().unwrap(), proxy.metrics())
            .await
            .unwrap();
    tokio::spawn(serve);
    (proxy, addr)
}

/// A proxy config in front of two fake servers, on 127.0.0.1:0, with a
/// short drain so a test whose target never answers ends quickly.
pub fn config_for_fakes(
    source: &ferry_testkit::fake_server::FakeServer,
    target: &ferry_testkit::fake_server::FakeServer,
    log: &Path,
) -> ProxyConfig {
    let mut config = ProxyConfig::new(
        ClusterEndpoint::plain(source.address()),
        ClusterEndpoint::plain(target.address()),
        log,
    );
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.drain_timeout = Duration::from_millis(300);
    config
}

/// A plain ferry-conn client connected through the proxy.
pub async fn client(proxy: &Proxy) -> ferry_conn::Connection {
    ferry_conn::Connection::connect(&ferry_conn::ConnectionConfig::new(
        proxy.local_addr().to_string(),
    ))
    .await
    .unwrap()
}

/// The statements that create keyspace `ks` (SimpleStrategy, RF 1) and
/// its table `kv (k int PRIMARY KEY, v <value_type>)`.
pub fn kv_schema(ks: &str, value_type: &str) -> Vec<String> {
    vec![
        format!(
            "CREATE KEYSPACE {ks} WITH replication = \
             {{'class': 'SimpleStrategy', 'replication_factor': 1}}"
        ),
        format!("CREATE TABLE {ks}.kv (k int PRIMARY KEY, v {value_type})"),
    ]
}

/// Runs `statements` in order on `conn` at ONE; each must succeed.
pub async fn query_all(
    conn: &ferry_conn::Connection,
    statements: impl IntoIterator<Item = String>,
) {
    for statement in statements {
        conn.query(&statement, ferry_wire::Consistency::One)
            .await
            .unwrap();
    }
}

/// [`run_python`] from an async test (in a blocking task).
pub async fn run_python_async(
    group: &NodeGroup,
    script: &'static str,
    args: Vec<String>,
) -> serde_json::Value {
    let group = group.clone();
    tokio::task::spawn_blocking(move || run_python(&group, script, &args))
        .await
        .unwrap()
}

/// The real `source` and `target` groups, a fresh directory for test
/// `test`, and [`config_for`] the two groups with its failed-write log at
/// `dir/failed.log`: the start of most tests on real nodes.
pub fn real_setup(test: &str) -> (NodeGroup, NodeGroup, PathBuf, ProxyConfig) {
    let source = NodeGroup::require("source");
    let target = NodeGroup::require("target");
    let dir = temp_dir(test);
    let config = config_for(
        &source,
        target.first().socket_addr().to_string(),
        &dir.join("failed.log"),
    );
    (source, target, dir, config)
}
