//! ferry-conn sessions to the real node groups, for the tests of every
//! crate built on ferry-conn (copier, validator, binaries): one place for
//! the settings a test session uses and for DDL that must have reached
//! every node before the test goes on.
//!
//! ```no_run
//! # async fn demo() {
//! use ferry_testkit::{session, unique_keyspace_name, NodeGroup};
//! let nodes = NodeGroup::require("ring");
//! let s = ferry_conn::session::Session::connect(session::session_config(&nodes))
//!     .await
//!     .unwrap();
//! let ks = unique_keyspace_name("demo");
//! session::ddl_agreed(&s, &session::create_keyspace_cql(&ks, 1)).await;
//! # }
//! ```

use std::time::Duration;

use ferry_conn::session::{QueryOptions, Session, SessionConfig};
use ferry_conn::ConnectionConfig;
use ferry_wire::Consistency;

use crate::NodeGroup;

/// Session settings for `group`, contacting its first node only (a
/// session discovers the others): no heartbeat, generous timeouts (the
/// shared nodes are slow under CI load), the group's credentials if it
/// has any, consistency ONE.
pub fn session_config(group: &NodeGroup) -> SessionConfig {
    session_config_to(group, [group.first().socket_addr().to_string()])
}

/// [`session_config`] with explicit contact points.
pub fn session_config_to(
    group: &NodeGroup,
    contacts: impl IntoIterator<Item = String>,
) -> SessionConfig {
    let mut connection = ConnectionConfig::new("")
        .with_heartbeat(None)
        .with_request_timeout(Duration::from_secs(30))
        .with_connect_timeout(Duration::from_secs(10));
    if let Some(c) = &group.credentials {
        connection = connection.with_credentials(&c.username, &c.password);
    }
    SessionConfig::new(contacts)
        .with_connection(connection)
        .with_consistency(Consistency::One)
}

/// Runs `cql` (DDL or a write) at consistency ALL. Panics, naming the
/// statement, if it fails: this is for test set-up.
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

/// The statement that creates keyspace `ks` with SimpleStrategy and
/// replication factor `rf`.
pub fn create_keyspace_cql(ks: &str, rf: usize) -> String {
    format!(
        "CREATE KEYSPACE {ks} WITH replication = \
         {{'class': 'SimpleStrategy', 'replication_factor': {rf}}}"
    )
}

/// [`exec_all`] for a schema change, then waits until every node agrees
/// on the schema. The session's own wait after a schema change gives up
/// after 10 s, and under CI load a 3-node ring has taken longer: the next
/// statement then reached a node that did not know the table yet
/// ("unconfigured columnfamily"). So this keeps asking, for up to a
/// minute, and panics naming `cql` if the ring never agrees.
pub async fn ddl_agreed(session: &Session, cql: &str) {
    exec_all(session, cql).await;
    wait_for_schema_agreement(session, cql).await;
}

/// Waits (up to a minute) until every node of the session's cluster has
/// the same schema version; panics naming `what` (the change waited for)
/// otherwise.
pub async fn wait_for_schema_agreement(session: &Session, what: &str) {
    for _ in 0..60 {
        if session.await_schema_agreement().await.unwrap_or(false) {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    panic!("the ring did not agree on its schema within a minute after: {what}");
}
