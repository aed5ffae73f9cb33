//! Helpers shared by ferry-conn's tests against real nodes and the fake
//! server: session settings for real nodes, DDL at consistency ALL, and
//! the negotiation outcome a Cassandra 2.1 node (or a fake one acting
//! like it) must give. The fake cluster of the session tests lives in
//! `session_support`.

// Each test binary uses a subset of these helpers.
#![allow(dead_code)]

use std::time::Duration;

use ferry_conn::session::{QueryOptions, Session, SessionConfig};
use ferry_conn::{Connection, ConnectionConfig};
use ferry_wire::{Consistency, ProtocolVersion};

/// Session settings for real nodes reached at `contacts`: no heartbeat,
/// generous timeouts (the shared nodes can be slow under load),
/// consistency ONE.
pub fn real_session_config(contacts: impl IntoIterator<Item = String>) -> SessionConfig {
    SessionConfig::new(contacts)
        .with_connection(
            ConnectionConfig::new("")
                .with_heartbeat(None)
                .with_request_timeout(Duration::from_secs(30))
                .with_connect_timeout(Duration::from_secs(10)),
        )
        .with_consistency(Consistency::One)
}

/// Runs `cql` (DDL) at consistency ALL; panics with the statement on error.
pub async fn exec_all(session: &Session, cql: &str) {
    session
        .query(
            cql,
            (),
            QueryOptions::new().with_consistency(Consistency::All),
        )
        .await
        .unwrap_or_else(|e| panic!("{cql}: {e}"));
}

/// The statement that creates keyspace `ks` (SimpleStrategy, RF 1).
pub fn create_keyspace_cql(ks: &str) -> String {
    format!(
        "CREATE KEYSPACE {ks} WITH replication = \
         {{'class': 'SimpleStrategy', 'replication_factor': 1}}"
    )
}

/// Asserts `conn` settled on v3 after asking for v5 first, which the
/// server refused the Cassandra 2.1 way: a server error, not a protocol
/// error.
pub fn assert_v3_after_v5_server_error(conn: &Connection) {
    assert_eq!(conn.protocol_version(), ProtocolVersion::V3);
    let first = &conn.rejected_versions()[0];
    assert_eq!(first.version, ProtocolVersion::V5);
    assert!(
        first
            .outcome
            .contains("Invalid or unsupported protocol version"),
        "{}",
        first.outcome
    );
}
