//! Against real Apache Cassandra 2.1.0 nodes started by
//! `scripts/cassandra-nodes.sh` (groups in `scripts/node-groups.conf`):
//! negotiation down to v3, DDL and DML, compression, concurrency, events,
//! and — on the `auth` and `secure` (TLS) groups — credentials and certificates.

mod support;

use std::time::Duration;

use bytes::Bytes;
use ferry_conn::{ConnError, Connection, ConnectionConfig, TlsError, TlsOptions};
use ferry_testkit::fake_server::TestPki;
use ferry_testkit::{unique_keyspace_name, NodeGroup};
use ferry_wire::compression::Compression;
use ferry_wire::request::{BoundValues, QueryParameters};
use ferry_wire::response::{
    ErrorCode, Event, ResultResponse, SchemaChangeTarget, SchemaChangeType,
};
use ferry_wire::{Consistency, ProtocolVersion, RawValue};

fn config(nodes: &NodeGroup) -> ConnectionConfig {
    ConnectionConfig::new(nodes.first().socket_addr().to_string())
        .with_heartbeat(None)
        .with_request_timeout(Duration::from_secs(30))
        .with_connect_timeout(Duration::from_secs(10))
}

async fn connect(config: &ConnectionConfig) -> Connection {
    Connection::connect(config)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The cells of every row, as raw bytes (`None` for null).
fn cells(result: ResultResponse) -> Vec<Vec<Option<Vec<u8>>>> {
    let ResultResponse::Rows(rows) = result else {
        panic!("expected rows, got result kind {}", result.kind());
    };
    rows.rows()
        .map(|row| {
            row.unwrap()
                .cells()
                .map(|c| c.map(|b| b.to_vec()))
                .collect()
        })
        .collect()
}

async fn create_keyspace(conn: &Connection, ks: &str) {
    conn.query(
        &format!(
            "CREATE KEYSPACE {ks} WITH replication = \
             {{'class': 'SimpleStrategy', 'replication_factor': 1}}"
        ),
        Consistency::One,
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn negotiates_v3_when_v5_is_asked_first() {
    let nodes = NodeGroup::require("default");
    let conn = connect(&config(&nodes)).await;
    // Cassandra 2.1.0 refuses with a server error, not a protocol error.
    support::assert_v3_after_v5_server_error(&conn);
    let rows = cells(
        conn.query("SELECT release_version FROM system.local", Consistency::One)
            .await
            .unwrap(),
    );
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0][0].as_deref(),
        Some(nodes.cassandra_version.as_bytes())
    );
}

#[tokio::test]
async fn create_insert_select() {
    let nodes = NodeGroup::require("default");
    let conn = connect(&config(&nodes)).await;
    let ks = unique_keyspace_name("conn_create_insert_select");
    create_keyspace(&conn, &ks).await;
    conn.use_keyspace(&ks).await.unwrap();
    conn.query(
        "CREATE TABLE kv (k int PRIMARY KEY, v text)",
        Consistency::One,
    )
    .await
    .unwrap();
    conn.query("INSERT INTO kv (k, v) VALUES (1, 'one')", Consistency::One)
        .await
        .unwrap();

    // A prepared INSERT with bound values.
    let insert = conn
        .prepare("INSERT INTO kv (k, v) VALUES (?, ?)")
        .await
        .unwrap();
    assert_eq!(insert.metadata.columns.len(), 2);
    for (k, v) in [(2i32, "two"), (3, "three")] {
        let mut params = QueryParameters::new(Consistency::One);
        params.values = Some(BoundValues::Positional(vec![
            RawValue::Bytes(Bytes::copy_from_slice(&k.to_be_bytes())),
            RawValue::Bytes(Bytes::copy_from_slice(v.as_bytes())),
        ]));
        let result = conn.execute(&insert, params).await.unwrap();
        assert_eq!(result, ResultResponse::Void);
    }

    let mut rows = cells(
        conn.query(&format!("SELECT k, v FROM {ks}.kv"), Consistency::One)
            .await
            .unwrap(),
    );
    rows.sort();
    let expected: Vec<Vec<Option<Vec<u8>>>> = [(1i32, "one"), (2, "two"), (3, "three")]
        .iter()
        .map(|(k, v)| vec![Some(k.to_be_bytes().to_vec()), Some(v.as_bytes().to_vec())])
        .collect();
    let mut expected = expected;
    expected.sort();
    assert_eq!(rows, expected);

    // Errors come back typed, and the connection stays usable.
    let err = conn
        .query("SELECT * FROM no_such_table", Consistency::One)
        .await
        .unwrap_err();
    assert_eq!(err.server_code(), Some(ErrorCode::INVALID), "{err}");
    let err = conn
        .query("SELEC oops", Consistency::One)
        .await
        .unwrap_err();
    assert_eq!(err.server_code(), Some(ErrorCode::SYNTAX), "{err}");

    conn.query(&format!("DROP KEYSPACE {ks}"), Consistency::One)
        .await
        .unwrap();
}

#[tokio::test]
async fn compression_with_a_real_node() {
    let nodes = NodeGroup::require("default");
    for c in [Compression::Lz4, Compression::Snappy] {
        let conn = connect(&config(&nodes).with_compression(c)).await;
        assert_eq!(conn.compression(), Some(c));
        // Big enough for the compressor to matter.
        let rows = cells(
            conn.query("SELECT * FROM system.schema_columns", Consistency::One)
                .await
                .unwrap(),
        );
        assert!(rows.len() > 10, "{c:?}: {} rows", rows.len());
    }
}

#[tokio::test]
async fn many_requests_in_flight_on_a_real_node() {
    let nodes = NodeGroup::require("default");
    let conn = connect(&config(&nodes).with_max_in_flight(64)).await;
    let tasks: Vec<_> = (0..300)
        .map(|i| {
            let conn = conn.clone();
            tokio::spawn(async move {
                // Distinct statements, so a mixed-up answer would show.
                let q = format!("SELECT key FROM system.local WHERE key = 'k{i}'");
                (i, conn.query(&q, Consistency::One).await)
            })
        })
        .collect();
    for t in tasks {
        let (i, result) = t.await.unwrap();
        let rows = cells(result.unwrap_or_else(|e| panic!("request {i}: {e}")));
        assert!(rows.is_empty(), "no row has key k{i}");
    }
    assert_eq!(conn.in_flight(), 0);
}

#[tokio::test]
async fn schema_change_events_arrive() {
    let nodes = NodeGroup::require("default");
    let listener = connect(&config(&nodes)).await;
    let mut events = listener.register(["SCHEMA_CHANGE"]).await.unwrap();
    let conn = connect(&config(&nodes)).await;
    let ks = unique_keyspace_name("conn_events");
    create_keyspace(&conn, &ks).await;
    let event = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match events.recv().await.unwrap() {
                Event::SchemaChange(change) => match &change.target {
                    SchemaChangeTarget::Keyspace { keyspace } if *keyspace == ks => return change,
                    _ => continue,
                },
                _ => continue,
            }
        }
    })
    .await
    .expect("a SCHEMA_CHANGE event for the new keyspace");
    assert_eq!(event.change, SchemaChangeType::Created);
    conn.query(&format!("DROP KEYSPACE {ks}"), Consistency::One)
        .await
        .unwrap();
}

#[tokio::test]
async fn auth_group_right_wrong_and_missing_credentials() {
    let nodes = NodeGroup::require("auth");
    let creds = nodes
        .credentials
        .clone()
        .expect("the auth group has credentials");
    let conn = connect(&config(&nodes).with_credentials(&creds.username, &creds.password)).await;
    assert_eq!(conn.protocol_version(), ProtocolVersion::V3);
    conn.query("SELECT release_version FROM system.local", Consistency::One)
        .await
        .unwrap();

    let err = Connection::connect(&config(&nodes).with_credentials(&creds.username, "wrong"))
        .await
        .unwrap_err();
    let ConnError::Auth { message, .. } = &err else {
        panic!("expected an auth error, got {err}");
    };
    assert!(
        message.contains(&format!("bad credentials for user {:?}", creds.username)),
        "{message}"
    );

    let err = Connection::connect(&config(&nodes)).await.unwrap_err();
    let ConnError::Auth { message, .. } = &err else {
        panic!("expected an auth error, got {err}");
    };
    assert!(message.contains("PasswordAuthenticator"), "{message}");
}

#[tokio::test]
async fn secure_group_tls_right_ca_wrong_ca_wrong_hostname() {
    let nodes = NodeGroup::require("secure");
    let ca = nodes.tls_ca.clone().expect("the secure group has a CA");
    let conn = connect(&config(&nodes).with_tls(TlsOptions::new(&ca))).await;
    assert_eq!(conn.protocol_version(), ProtocolVersion::V3);
    conn.query("SELECT release_version FROM system.local", Consistency::One)
        .await
        .unwrap();

    let other = TestPki::generate(&["127.0.0.1"]);
    let err = Connection::connect(&config(&nodes).with_tls(TlsOptions::new(&other.ca_cert)))
        .await
        .unwrap_err();
    let ConnError::Tls(TlsError::Handshake { hint, .. }) = &err else {
        panic!("expected a TLS handshake error, got {err}");
    };
    assert!(hint.contains("not signed by a CA"), "{err}");

    // The node certificate names the node's IP, not this name.
    let wrong_name = TlsOptions::new(&ca).with_server_name("wrong.ferry.test");
    let err = Connection::connect(&config(&nodes).with_tls(wrong_name.clone()))
        .await
        .unwrap_err();
    let ConnError::Tls(TlsError::Handshake { hint, .. }) = &err else {
        panic!("expected a TLS handshake error, got {err}");
    };
    assert!(hint.contains("server_name"), "{err}");
    let relaxed = wrong_name.without_hostname_verification();
    let conn = connect(&config(&nodes).with_tls(relaxed)).await;
    conn.query("SELECT release_version FROM system.local", Consistency::One)
        .await
        .unwrap();

    // Plain text against the TLS port.
    let err = Connection::connect(&config(&nodes)).await.unwrap_err();
    assert!(
        matches!(
            err,
            ConnError::Protocol { .. } | ConnError::Negotiation { .. }
        ),
        "{err}"
    );
}
