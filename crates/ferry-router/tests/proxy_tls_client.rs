//! Client-side TLS (`--proxy-tls-cert/--proxy-tls-key`, and client
//! certificates with `--proxy-tls-client-ca`), in front of the real
//! `source` and `target` groups: ferry-conn's TLS client and the Python
//! driver (ssl_context) write through the proxy, and the writes reach both
//! clusters. A plain-text client on the TLS port is closed; the proxy
//! keeps serving.

mod support;

use std::time::Duration;

use ferry_conn::{Connection, ConnectionConfig, TlsOptions};
use ferry_router::{ClientTls, Proxy};
use ferry_testkit::fake_server::TestPki;
use ferry_testkit::{unique_keyspace_name, NodeGroup};
use ferry_wire::Consistency;
use serde_json::json;

async fn tls_client(proxy: &Proxy, tls: TlsOptions) -> Result<Connection, ferry_conn::ConnError> {
    Connection::connect(
        &ConnectionConfig::new(proxy.local_addr().to_string())
            .with_tls(tls)
            .with_connect_timeout(Duration::from_secs(10)),
    )
    .await
}

/// Runs tls_writes.py (the Python driver with an ssl_context): `n` writes
/// into `ks.kv` through the proxy; `files` are the CA, then optionally the
/// client certificate and key.
async fn tls_writes(
    source: &NodeGroup,
    proxy: &Proxy,
    ks: &str,
    n: u32,
    files: &[&std::path::PathBuf],
) -> serde_json::Value {
    let mut args = vec![
        "127.0.0.1".to_string(),
        proxy.local_addr().port().to_string(),
        ks.to_owned(),
        n.to_string(),
    ];
    args.extend(files.iter().map(|f| f.display().to_string()));
    support::run_python_async(source, "tls_writes.py", args).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_clients_write_to_both_clusters_and_plain_text_is_turned_away() {
    let pki = TestPki::generate(&["127.0.0.1", "localhost"]);
    let (source, target, dir, mut config) = support::real_setup("tls_client");
    config.client_tls = Some(ClientTls::new(&pki.server_cert, &pki.server_key));
    let proxy = support::start(config).await;
    let ks = unique_keyspace_name("proxy_tls_client");

    // ferry-conn's TLS client: schema and a few writes.
    let conn = tls_client(&proxy, TlsOptions::new(&pki.ca_cert))
        .await
        .expect("a TLS client connects through the proxy");
    let mut statements = support::kv_schema(&ks, "text");
    statements.push(format!(
        "INSERT INTO {ks}.kv (k, v) VALUES (1000, 'ferry-conn')"
    ));
    support::query_all(&conn, statements).await;

    // A plain-text client on the TLS port: its handshake fails, it is closed.
    let plain = Connection::connect(
        &ConnectionConfig::new(proxy.local_addr().to_string())
            .with_connect_timeout(Duration::from_secs(10)),
    )
    .await;
    assert!(plain.is_err(), "a plain-text client must not get through");
    // ... and the proxy still serves: the open TLS connection, and new ones.
    conn.query(
        &format!("INSERT INTO {ks}.kv (k, v) VALUES (1001, 'after plain')"),
        Consistency::One,
    )
    .await
    .unwrap();

    // The Python driver with an ssl_context (host name checked).
    let out = tls_writes(&source, &proxy, &ks, 20, &[&pki.ca_cert]).await;
    assert_eq!(out["written"], json!(20), "{out}");
    assert_eq!(out["read"], json!(22), "{out}");

    support::wait_queue_empty(&proxy, Duration::from_secs(30)).await;
    let query = vec![format!("SELECT k, v, WRITETIME(v) FROM {ks}.kv")];
    let on_source = support::cql(&source, query.clone()).await;
    let on_target = support::cql(&target, query).await;
    assert_eq!(on_source[0].rows.len(), 22);
    assert_eq!(
        support::sorted(&on_source[0]),
        support::sorted(&on_target[0]),
        "both clusters hold the same rows and write times"
    );
    let m = proxy.metrics();
    assert_eq!(m.failed_log_records(), 0, "{}", m.render());
    let text = m.render();
    let tls_errors: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("ferry_proxy_client_tls_errors_total "))
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(tls_errors >= 1, "{text}");
    proxy.shutdown().await;
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificates_are_required_when_a_client_ca_is_set() {
    let pki = TestPki::generate(&["127.0.0.1"]);
    let (source, target, dir, mut config) = support::real_setup("tls_client_ca");
    config.client_tls = Some(
        ClientTls::new(&pki.server_cert, &pki.server_key).requiring_client_certs(&pki.ca_cert),
    );
    let proxy = support::start(config).await;

    let without = tls_client(&proxy, TlsOptions::new(&pki.ca_cert)).await;
    assert!(without.is_err(), "no client certificate: refused");

    let with = tls_client(
        &proxy,
        TlsOptions::new(&pki.ca_cert).with_client_cert(&pki.client_cert, &pki.client_key),
    )
    .await
    .expect("a client certificate signed by the CA is accepted");
    let rows = with
        .query("SELECT release_version FROM system.local", Consistency::One)
        .await
        .unwrap();
    drop(rows);

    // The Python driver with its client certificate, into a fresh table.
    let ks = unique_keyspace_name("proxy_tls_client_ca");
    support::query_all(&with, support::kv_schema(&ks, "text")).await;
    let out = tls_writes(
        &source,
        &proxy,
        &ks,
        5,
        &[&pki.ca_cert, &pki.client_cert, &pki.client_key],
    )
    .await;
    assert_eq!(out["read"], json!(5), "{out}");
    support::wait_queue_empty(&proxy, Duration::from_secs(30)).await;
    let on_target = support::cql(&target, vec![format!("SELECT k FROM {ks}.kv")]).await;
    assert_eq!(on_target[0].rows.len(), 5);
    proxy.shutdown().await;
    std::fs::remove_dir_all(&dir).ok();
}
