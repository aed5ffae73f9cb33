//! Topology-rewrite mode: WHERE clauses on `system.local` / `peers` /
//! `peers_v2` are evaluated on the synthesized rows, and prepared topology
//! queries are prepared and answered by the proxy (never the source's real
//! nodes). A ferry-conn client through one proxy in front of the real
//! `source` node (a single node: its real `system.peers` is empty), with
//! a topology of three instances (the other two need not run: only their
//! rows are checked).

mod support;

use bytes::Bytes;
use ferry_conn::{Connection, ConnectionConfig};
use ferry_router::ProxyTopology;
use ferry_testkit::NodeGroup;
use ferry_wire::request::{BoundValues, Query, QueryParameters};
use ferry_wire::response::{ResultResponse, Rows};
use ferry_wire::types::CqlValue;
use ferry_wire::{Consistency, RawValue};

const INSTANCES: &str = "127.0.0.30,127.0.0.31,127.0.0.32:9000";

fn inet(ip: [u8; 4]) -> RawValue {
    RawValue::Bytes(Bytes::copy_from_slice(&ip))
}

fn int(n: i32) -> RawValue {
    RawValue::Bytes(Bytes::copy_from_slice(&n.to_be_bytes()))
}

fn with_values(values: Vec<RawValue>) -> QueryParameters {
    let mut p = QueryParameters::new(Consistency::One);
    p.values = Some(BoundValues::Positional(values));
    p
}

/// The first column of every row, as text.
fn first_column(result: ResultResponse, conn: &Connection) -> Vec<String> {
    let ResultResponse::Rows(rows) = result else {
        panic!("not rows: {result:?}");
    };
    column_text(&rows, conn)
}

fn column_text(rows: &Rows, conn: &Connection) -> Vec<String> {
    let columns = rows.metadata().columns.clone().expect("column metadata");
    rows.rows()
        .map(|row| {
            let values = row
                .unwrap()
                .values(&columns, conn.protocol_version())
                .unwrap();
            match &values[0] {
                Some(CqlValue::Inet(ip)) => ip.to_string(),
                Some(CqlValue::Text(t)) => t.to_string(),
                other => format!("{other:?}"),
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topology_queries_honour_where_and_prepare_on_the_proxy() {
    let source = NodeGroup::require("source");
    let target = NodeGroup::require("target");
    let dir = support::temp_dir("topology_where");
    let mut config = support::config_for(
        &source,
        target.first().socket_addr().to_string(),
        &dir.join("failed.log"),
    );
    config.topology = Some(ProxyTopology::parse(INSTANCES, 29042, 0).unwrap());
    let proxy = support::start(config).await;
    let client = ConnectionConfig::new(proxy.local_addr().to_string());
    let conn = Connection::connect(&client).await.expect("connect");

    // QUERY with literals.
    let peers = |text: &'static str| {
        let conn = &conn;
        async move { first_column(conn.query(text, Consistency::One).await.unwrap(), conn) }
    };
    assert_eq!(
        peers("SELECT peer FROM system.peers").await,
        ["127.0.0.31", "127.0.0.32"]
    );
    assert_eq!(
        peers("SELECT peer FROM system.peers WHERE peer = '127.0.0.32'").await,
        ["127.0.0.32"]
    );
    assert_eq!(
        peers("SELECT peer FROM system.peers WHERE peer IN ('127.0.0.31', '10.1.1.1')").await,
        ["127.0.0.31"]
    );
    assert!(
        peers("SELECT peer FROM system.peers WHERE peer = '127.0.0.8'")
            .await
            .is_empty()
    );
    assert_eq!(
        peers("SELECT key FROM system.local WHERE key = 'local'").await,
        ["local"]
    );
    assert!(peers("SELECT key FROM system.local WHERE key = 'other'")
        .await
        .is_empty());
    assert_eq!(
        peers("SELECT peer FROM system.peers LIMIT 1").await,
        ["127.0.0.31"]
    );

    // QUERY with bound values (as the Java and Go drivers send them).
    let mut q = Query::new(
        "SELECT peer FROM system.peers_v2 WHERE peer = ? AND peer_port = ?",
        Consistency::One,
    );
    q.parameters = with_values(vec![inet([127, 0, 0, 31]), int(7000)]);
    assert_eq!(
        first_column(conn.query_with(q).await.unwrap(), &conn),
        ["127.0.0.31"]
    );

    // A bad WHERE column is refused as Cassandra would.
    let err = conn
        .query(
            "SELECT * FROM system.peers WHERE nope = 1",
            Consistency::One,
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("Undefined name nope in where clause"),
        "{err}"
    );

    // PREPARE is answered by the proxy: peers_v2 does not exist on the
    // 2.1 source, which would refuse to prepare it.
    let prepared = conn
        .prepare("SELECT peer, native_port FROM system.peers_v2 WHERE peer = ?")
        .await
        .expect("the proxy prepares topology queries");
    assert!(prepared.id.starts_with(b"FRRY"), "{:?}", prepared.id);
    let binds: Vec<&str> = prepared
        .metadata
        .columns
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(binds, ["peer"]);
    let rows = conn
        .execute(&prepared, with_values(vec![inet([127, 0, 0, 32])]))
        .await
        .unwrap();
    assert_eq!(first_column(rows, &conn), ["127.0.0.32"]);
    // The source's own address is not a peer.
    let rows = conn
        .execute(&prepared, with_values(vec![inet([127, 0, 0, 8])]))
        .await
        .unwrap();
    assert!(first_column(rows, &conn).is_empty());

    // Prepared in the system keyspace on one connection, executed on
    // another that has no keyspace: still the proxies' rows (the source's
    // real, single-node system.peers is empty).
    let other = Connection::connect(&client).await.expect("connect");
    other.use_keyspace("system").await.unwrap();
    let in_system = other.prepare("SELECT peer FROM peers").await.unwrap();
    let rows = conn
        .execute(&in_system, QueryParameters::new(Consistency::One))
        .await
        .unwrap();
    assert_eq!(first_column(rows, &conn), ["127.0.0.31", "127.0.0.32"]);

    conn.close().await;
    other.close().await;
    proxy.shutdown().await;
    std::fs::remove_dir_all(&dir).ok();
}
