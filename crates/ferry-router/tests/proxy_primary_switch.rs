//! The primary switch for the cutover, on the real `source` and `target`
//! groups: before the switch, writes through the proxy are answered by the
//! source and mirrored to the target; after `POST /primary?cluster=target`
//! a reconnecting client is served by the target and its writes are
//! mirrored to the source with the same write time; the connections of the
//! old primary are closed after their answers; switching back works.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ferry_conn::{Connection, ConnectionConfig};
use ferry_router::{Cluster, RequestKind};
use ferry_testkit::{unique_keyspace_name, CqlRows, NodeGroup};
use ferry_wire::Consistency;
use serde_json::{json, Value};

/// `POST /primary?cluster=...`, the JSON report.
async fn switch(admin: SocketAddr, cluster: &str) -> Value {
    let (status, body) = support::http(admin, "POST", &format!("/primary?cluster={cluster}")).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// Statements through the proxy with the Python driver: a new connection
/// each time, as a client that reconnects after a switch.
async fn through_proxy(
    group: &NodeGroup,
    proxy: SocketAddr,
    statements: Vec<String>,
) -> Vec<CqlRows> {
    let group = group.clone();
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = statements.iter().map(String::as_str).collect();
        group.cql_exec_at(proxy, &refs).unwrap()
    })
    .await
    .unwrap()
}

/// `n` INSERTs from `first` by the Python driver without client
/// timestamps (the proxy adds them).
async fn python_writes(group: &NodeGroup, proxy: SocketAddr, ks: &str, first: i32, n: i32) {
    let args = vec![
        proxy.ip().to_string(),
        proxy.port().to_string(),
        ks.to_owned(),
        n.to_string(),
        first.to_string(),
    ];
    let out = support::run_python_async(group, "simple_writes.py", args).await;
    assert_eq!(out["errors"], json!(0), "{out}");
}

/// Which of the one-cluster-only rows the proxy serves: the primary's.
async fn served_by(group: &NodeGroup, proxy: SocketAddr, ks: &str) -> Vec<Vec<Value>> {
    let rows = through_proxy(
        group,
        proxy,
        vec![format!("SELECT v FROM {ks}.kv WHERE k IN (-1, -2)")],
    )
    .await;
    support::sorted(&rows[0])
}

/// Rows `keys` with their write times on one cluster.
async fn rows_with_writetime(group: &NodeGroup, ks: &str, keys: &[i32]) -> Vec<Vec<Value>> {
    let list: Vec<String> = keys.iter().map(ToString::to_string).collect();
    let rows = support::cql(
        group,
        vec![format!(
            "SELECT k, v, WRITETIME(v) FROM {ks}.kv WHERE k IN ({})",
            list.join(", ")
        )],
    )
    .await;
    support::sorted(&rows[0])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_the_primary_to_the_target_and_back() {
    let (source, target, dir, config) = support::real_setup("primary_switch");
    let (proxy, admin) = support::start_with_endpoint(config).await;
    let addr = proxy.local_addr();
    let ks = unique_keyspace_name("proxy_primary");

    // Schema through the proxy (mirrored), then one row on each cluster
    // only, to see which cluster serves the proxy's clients.
    through_proxy(&source, addr, support::kv_schema(&ks, "text")).await;
    support::cql(
        &source,
        vec![format!(
            "INSERT INTO {ks}.kv (k, v) VALUES (-2, 'source only')"
        )],
    )
    .await;
    support::cql(
        &target,
        vec![format!(
            "INSERT INTO {ks}.kv (k, v) VALUES (-1, 'target only')"
        )],
    )
    .await;
    assert_eq!(
        served_by(&source, addr, &ks).await,
        vec![vec![json!("source only")]]
    );

    // Before the switch: the source is primary, the target the mirror.
    python_writes(&source, addr, &ks, 0, 10).await;

    // A connection of the old primary, busy when the switch comes.
    let old = Arc::new(
        Connection::connect(&ConnectionConfig::new(addr.to_string()))
            .await
            .unwrap(),
    );
    old.query(&format!("USE {ks}"), Consistency::One)
        .await
        .unwrap();
    let busy: Vec<_> = (500..540)
        .map(|k| {
            let old = old.clone();
            tokio::spawn(async move {
                old.query(
                    &format!("INSERT INTO kv (k, v) VALUES ({k}, 'old {k}')"),
                    Consistency::One,
                )
                .await
                .map(|_| k)
            })
        })
        .collect();
    let report = switch(admin, "target").await;
    eprintln!("switch to the target: {report}");
    assert_eq!(report["previous"], "source", "{report}");
    assert_eq!(report["primary"], "target", "{report}");
    assert_eq!(report["changed"], true, "{report}");
    assert_eq!(report["connections_closed"], json!(1), "{report}");
    assert_eq!(report["connections_still_open"], json!(0), "{report}");
    assert!(
        report["switch_seconds"].as_f64().unwrap() >= 0.0,
        "{report}"
    );
    let mut acknowledged = Vec::new();
    for task in busy {
        if let Ok(k) = task.await.unwrap() {
            acknowledged.push(k);
        }
    }
    eprintln!("{} of 40 busy writes acknowledged", acknowledged.len());
    // The old connection is closed now.
    assert!(
        old.query("SELECT release_version FROM system.local", Consistency::One)
            .await
            .is_err(),
        "the old primary's connection must be closed"
    );
    assert_eq!(proxy.metrics().primary(), Cluster::Target);

    // After the switch: a reconnecting client is served by the target...
    assert_eq!(
        served_by(&source, addr, &ks).await,
        vec![vec![json!("target only")]]
    );
    // ... and its writes are mirrored to the source.
    python_writes(&source, addr, &ks, 100, 10).await;
    support::wait_queue_empty(&proxy, Duration::from_secs(30)).await;
    let m = proxy.metrics();
    assert!(
        m.requests(RequestKind::Read, Cluster::Target) >= 1,
        "{}",
        m.render()
    );
    let text = m.render();
    assert!(
        text.contains("ferry_proxy_primary{cluster=\"target\"} 1\n"),
        "{text}"
    );
    assert!(
        dir.join("failed.to-source.log").exists(),
        "the source-bound log is opened"
    );

    // Switch back; switching to the current primary does nothing.
    let report = switch(admin, "source").await;
    assert_eq!(report["changed"], true, "{report}");
    assert_eq!(report["primary"], "source", "{report}");
    let report = switch(admin, "source").await;
    assert_eq!(report["changed"], false, "{report}");
    assert_eq!(
        served_by(&source, addr, &ks).await,
        vec![vec![json!("source only")]]
    );
    python_writes(&source, addr, &ks, 200, 10).await;
    support::wait_queue_empty(&proxy, Duration::from_secs(30)).await;

    // Every write of every phase (and every acknowledged one of the busy
    // connection) is on both clusters, with the same write time.
    let mut keys: Vec<i32> = (0..10).chain(100..110).chain(200..210).collect();
    keys.extend(&acknowledged);
    let on_source = rows_with_writetime(&source, &ks, &keys).await;
    let on_target = rows_with_writetime(&target, &ks, &keys).await;
    assert_eq!(on_source.len(), keys.len(), "{on_source:?}");
    assert_eq!(on_source, on_target, "rows or write times differ");
    assert_eq!(m.failed_log_records(), 0, "{}", m.render());

    let report = proxy.shutdown().await;
    assert!(report.drain.complete);
    std::fs::remove_dir_all(&dir).ok();
}

/// Per-leg settings follow the roles: with the target primary (from the
/// start, as `--primary target`), the client's handshake goes to the
/// target (here an authenticating node: the client must log in), and the
/// source, now the mirror, is written with the source's settings; after a
/// switch to the source, the target leg uses `--target-username`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_follow_the_roles() {
    let source = NodeGroup::require("source");
    let auth = NodeGroup::require("auth");
    let creds = auth
        .credentials
        .clone()
        .expect("the auth group has credentials");
    let dir = support::temp_dir("primary_auth");
    let mut config = support::config_for(
        &source,
        auth.first().socket_addr().to_string(),
        &dir.join("failed.log"),
    );
    config.primary = Cluster::Target;
    config.target_credentials = Some(ferry_router::Credentials::new(
        creds.username.clone(),
        creds.password.clone(),
    ));
    let proxy = support::start(config).await;
    let addr = proxy.local_addr().to_string();
    let ks = unique_keyspace_name("proxy_primary_auth");

    // The target is primary: it asks the client to log in.
    let anonymous = Connection::connect(&ConnectionConfig::new(addr.clone())).await;
    assert!(anonymous.is_err(), "the target requires authentication");
    let client = Connection::connect(
        &ConnectionConfig::new(addr.clone()).with_credentials(&creds.username, &creds.password),
    )
    .await
    .expect("the client logs in to the target through the proxy");
    let mut statements = support::kv_schema(&ks, "text");
    statements.push(format!(
        "INSERT INTO {ks}.kv (k, v) VALUES (1, 'while the target is primary')"
    ));
    support::query_all(&client, statements).await;
    drop(client);

    // Back to the source (no authentication): anonymous clients are fine,
    // the target leg logs in with the configured credentials.
    let report = proxy.set_primary(Cluster::Source).await.unwrap();
    assert!(report.changed);
    let client = Connection::connect(&ConnectionConfig::new(addr.clone()))
        .await
        .expect("the source needs no login");
    client
        .query(
            &format!("INSERT INTO {ks}.kv (k, v) VALUES (2, 'while the source is primary')"),
            Consistency::One,
        )
        .await
        .unwrap();
    support::wait_queue_empty(&proxy, Duration::from_secs(30)).await;
    let on_source = rows_with_writetime(&source, &ks, &[1, 2]).await;
    let on_target = rows_with_writetime(&auth, &ks, &[1, 2]).await;
    assert_eq!(on_source.len(), 2, "{on_source:?}");
    assert_eq!(on_source, on_target);
    assert_eq!(proxy.metrics().failed_log_records(), 0);
    drop(client);
    proxy.shutdown().await;
    std::fs::remove_dir_all(&dir).ok();
}

/// In sync mode an answer waits for the mirror too: a switch must still
/// deliver every answer of a request the proxy forwarded before closing
/// the connection. A write the client saw fail must therefore not be on
/// the source (it was never forwarded), and every acknowledged one is on
/// both clusters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_switch_in_sync_mode_loses_no_answer() {
    let (source, target, dir, mut config) = support::real_setup("primary_sync");
    config.write_mode = ferry_router::WriteMode::Sync;
    let proxy = support::start(config).await;
    let addr = proxy.local_addr();
    let ks = unique_keyspace_name("proxy_primary_sync");
    let conn = Arc::new(
        Connection::connect(&ConnectionConfig::new(addr.to_string()))
            .await
            .unwrap(),
    );
    support::query_all(&conn, support::kv_schema(&ks, "text")).await;
    let keys: Vec<i32> = (600..680).collect();
    let busy: Vec<_> = keys
        .iter()
        .map(|&k| {
            let conn = conn.clone();
            let ks = ks.clone();
            tokio::spawn(async move {
                let r = conn
                    .query(
                        &format!("INSERT INTO {ks}.kv (k, v) VALUES ({k}, 'sync {k}')"),
                        Consistency::One,
                    )
                    .await;
                (k, r.map(|_| ()).map_err(|e| e.to_string()))
            })
        })
        .collect();
    tokio::task::yield_now().await;
    let report = proxy.set_primary(Cluster::Target).await.unwrap();
    assert_eq!(report.connections_still_open, 0, "{report:?}");
    let (mut acknowledged, mut failed) = (Vec::new(), Vec::new());
    for task in busy {
        match task.await.unwrap() {
            (k, Ok(())) => acknowledged.push(k),
            (k, Err(e)) => failed.push((k, e)),
        }
    }
    eprintln!(
        "{} acknowledged, {} failed; switch took {:?}",
        acknowledged.len(),
        failed.len(),
        report.duration
    );
    let on_source = rows_with_writetime(&source, &ks, &keys).await;
    let on_target = rows_with_writetime(&target, &ks, &keys).await;
    let present: Vec<i32> = on_source
        .iter()
        .map(|r| r[0].as_i64().unwrap() as i32)
        .collect();
    for (k, e) in &failed {
        assert!(
            !present.contains(k),
            "write {k} is on the source but its answer was lost: {e}"
        );
    }
    acknowledged.sort_unstable();
    assert_eq!(
        present, acknowledged,
        "every acknowledged write is on the source"
    );
    assert_eq!(
        on_source, on_target,
        "and on the target, with the same write time"
    );
    proxy.shutdown().await;
    std::fs::remove_dir_all(&dir).ok();
}

/// While the target is primary, a write the source (the mirror) cannot
/// take goes to the source-bound log (`failed.to-source.log`), not to the
/// target's; `replay` of that log onto the source gives both clusters the
/// same rows and write times.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_the_source_misses_go_to_its_own_log_and_replay_there() {
    let source = NodeGroup::require("source");
    let target = NodeGroup::require("target");
    let dir = support::temp_dir("primary_to_source_log");
    let ks = unique_keyspace_name("proxy_primary_log");
    let schema = support::kv_schema(&ks, "text");
    support::cql(&source, schema.clone()).await;
    support::cql(&target, schema).await;

    // The source is down (a closed port); the target is primary.
    let closed = {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap().to_string()
    };
    let mut config = ferry_router::ProxyConfig::new(
        ferry_router::ClusterEndpoint::plain(closed),
        ferry_router::ClusterEndpoint::plain(target.first().socket_addr().to_string()),
        dir.join("failed.log"),
    );
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.primary = Cluster::Target;
    config.retry.max_retries = 0;
    let proxy = support::start(config).await;
    let conn = Connection::connect(&ConnectionConfig::new(proxy.local_addr().to_string()))
        .await
        .expect("served by the target although the source is down");
    for k in 0..5 {
        conn.query(
            &format!("INSERT INTO {ks}.kv (k, v) VALUES ({k}, 'while the source was down')"),
            Consistency::One,
        )
        .await
        .unwrap();
    }
    support::wait_queue_empty(&proxy, Duration::from_secs(30)).await;
    assert_eq!(proxy.metrics().failed_log_records(), 5);
    drop(conn);
    proxy.shutdown().await;
    let to_source = dir.join("failed.to-source.log");
    assert!(
        !dir.join("failed.log").exists(),
        "nothing is meant for the target"
    );

    let options = ferry_router::replay::ReplayOptions::new(ConnectionConfig::new(
        source.first().socket_addr().to_string(),
    ));
    let report = ferry_router::replay::replay(&to_source, &options)
        .await
        .unwrap();
    assert_eq!(report.applied, 5, "{report:?}");
    let keys: Vec<i32> = (0..5).collect();
    let on_source = rows_with_writetime(&source, &ks, &keys).await;
    let on_target = rows_with_writetime(&target, &ks, &keys).await;
    assert_eq!(on_source.len(), 5);
    assert_eq!(
        on_source, on_target,
        "same rows and write times after the replay"
    );
    std::fs::remove_dir_all(&dir).ok();
}
