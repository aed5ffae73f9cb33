//! The proxy's legs against real nodes: protocol v2 clients, client
//! credentials reused on an authenticating target, TLS to the source.

mod support;

use std::time::Duration;

use ferry_conn::{ConnError, Connection, ConnectionConfig, TlsOptions};
use ferry_router::{Cluster, ClusterEndpoint, Proxy, ProxyConfig, RequestKind};
use ferry_testkit::{unique_keyspace_name, NodeGroup};
use ferry_wire::response::ErrorCode;
use ferry_wire::{Consistency, ProtocolVersion};
use serde_json::json;

fn create_keyspace(ks: &str) -> String {
    format!(
        "CREATE KEYSPACE IF NOT EXISTS {ks} WITH replication = \
         {{'class': 'SimpleStrategy', 'replication_factor': 1}}"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_clients_are_relayed_and_mirrored() {
    let (source, target, _, config) = support::real_setup("v2");
    let proxy = support::start(config).await;
    let conn = Connection::connect(
        &ConnectionConfig::new(proxy.local_addr().to_string())
            .with_pinned_version(ProtocolVersion::V2),
    )
    .await
    .unwrap();
    assert_eq!(conn.protocol_version(), ProtocolVersion::V2);
    let ks = unique_keyspace_name("proxy_v2");
    conn.query(&create_keyspace(&ks), Consistency::One)
        .await
        .unwrap();
    conn.query(
        &format!("CREATE TABLE {ks}.t (k int PRIMARY KEY, v text)"),
        Consistency::One,
    )
    .await
    .unwrap();
    for k in 0..5 {
        conn.query(
            &format!("INSERT INTO {ks}.t (k, v) VALUES ({k}, 'v{k}')"),
            Consistency::One,
        )
        .await
        .unwrap();
    }
    // v2 has no default timestamp: the writes are mirrored in order, and
    // their write times are each cluster's own (documented).
    conn.query(
        &format!("UPDATE {ks}.t SET v = 'last' WHERE k = 0"),
        Consistency::One,
    )
    .await
    .unwrap();
    support::wait_queue_empty(&proxy, Duration::from_secs(10)).await;
    let check = vec![format!("SELECT k, v FROM {ks}.t")];
    let on_source = support::cql(&source, check.clone()).await;
    let on_target = support::cql(&target, check).await;
    assert_eq!(on_source[0].rows.len(), 5);
    assert_eq!(
        support::sorted(&on_source[0]),
        support::sorted(&on_target[0])
    );
    assert!(support::sorted(&on_target[0]).contains(&vec![json!(0), json!("last")]));
    assert_eq!(proxy.metrics().failed_log_records(), 0);
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_credentials_are_relayed_and_reused_for_the_target() {
    // Source and target are the same authenticating node here: what is
    // tested is that the proxy logs in to the target with the client's
    // own credentials (no --target-username given).
    let auth = NodeGroup::require("auth");
    let creds = auth
        .credentials
        .clone()
        .expect("the auth group has credentials");
    let dir = support::temp_dir("auth");
    let node = auth.first().socket_addr().to_string();
    let config = support::config_for(&auth, node, &dir.join("failed.log"));
    let proxy = support::start(config).await;
    let client = ConnectionConfig::new(proxy.local_addr().to_string());

    let wrong = Connection::connect(&client.clone().with_credentials(&creds.username, "wrong"))
        .await
        .unwrap_err();
    assert!(matches!(wrong, ConnError::Auth { .. }), "{wrong}");

    // Schema made directly: two legs creating the same table on one node
    // at once is a race Cassandra 2.1 loses ("Column family ID mismatch").
    let ks = unique_keyspace_name("proxy_auth");
    support::cql(
        &auth,
        vec![
            create_keyspace(&ks),
            format!("CREATE TABLE {ks}.t (k int PRIMARY KEY, v int)"),
        ],
    )
    .await;
    let conn = Connection::connect(&client.with_credentials(&creds.username, &creds.password))
        .await
        .unwrap();
    conn.use_keyspace(&ks).await.unwrap();
    conn.query("INSERT INTO t (k, v) VALUES (1, 1)", Consistency::One)
        .await
        .unwrap();
    support::wait_queue_empty(&proxy, Duration::from_secs(10)).await;
    let m = proxy.metrics();
    assert_eq!(m.failed_log_records(), 0, "{}", m.render());
    assert!(m.counters().requests(RequestKind::Write, Cluster::Target) >= 1);
    // The INSERT, applied on the target (in the client's keyspace).
    assert_eq!(
        m.counters()
            .target_writes_ok
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_to_the_source_and_a_clear_error_when_it_fails() {
    let secure = NodeGroup::require("secure");
    let target = NodeGroup::require("target");
    let ca = secure.tls_ca.clone().expect("the secure group has a CA");
    let dir = support::temp_dir("tls");
    let mut config = ProxyConfig::new(
        ClusterEndpoint::with_tls(
            secure.first().socket_addr().to_string(),
            TlsOptions::new(&ca),
        ),
        ClusterEndpoint::plain(target.first().socket_addr().to_string()),
        dir.join("failed.log"),
    );
    config.listen = "127.0.0.1:0".parse().unwrap();
    let proxy = Proxy::start(config.clone()).await.unwrap();
    let conn = Connection::connect(&ConnectionConfig::new(proxy.local_addr().to_string()))
        .await
        .unwrap();
    let ks = unique_keyspace_name("proxy_tls");
    conn.query(&create_keyspace(&ks), Consistency::One)
        .await
        .unwrap();
    conn.query(
        &format!("CREATE TABLE IF NOT EXISTS {ks}.t (k int PRIMARY KEY, v int)"),
        Consistency::One,
    )
    .await
    .unwrap();
    conn.query(
        &format!("INSERT INTO {ks}.t (k, v) VALUES (7, 8)"),
        Consistency::One,
    )
    .await
    .unwrap();
    support::wait_queue_empty(&proxy, Duration::from_secs(10)).await;
    let on_target = support::cql(&target, vec![format!("SELECT k, v FROM {ks}.t")]).await;
    assert_eq!(on_target[0].rows, vec![vec![json!(7), json!(8)]]);
    proxy.shutdown().await;

    // A CA that did not sign the node: the client is told why.
    let other = ferry_testkit::fake_server::TestPki::generate(&["127.0.0.1"]);
    config.source.tls = Some(TlsOptions::new(&other.ca_cert));
    let proxy = Proxy::start(config).await.unwrap();
    let err = Connection::connect(&ConnectionConfig::new(proxy.local_addr().to_string()))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("cannot reach the source"), "{text}");
    if let Some(code) = err.server_code() {
        assert_eq!(code, ErrorCode::SERVER);
    }
    proxy.shutdown().await;
}
