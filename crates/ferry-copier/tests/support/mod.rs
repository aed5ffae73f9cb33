//! Shared helpers of the real-node copier tests: sessions to the node
//! groups, DDL, and keyspaces dropped at the end of each test.

#![allow(dead_code)]

use std::time::Duration;

use ferry_conn::session::{QueryOptions, Row, Session, SessionConfig};
use ferry_conn::ConnectionConfig;
use ferry_testkit::{unique_keyspace_name, NodeGroup};
use ferry_wire::types::CqlValue;
use ferry_wire::Consistency;
use futures::TryStreamExt;

/// A session to every node of `group` (contact: the first node).
pub async fn session(group: &str) -> Session {
    let nodes = NodeGroup::require(group);
    Session::connect(session_config(&nodes))
        .await
        .unwrap_or_else(|e| panic!("cannot connect to group {group}: {e}"))
}

/// The session configuration for `nodes`.
pub fn session_config(nodes: &NodeGroup) -> SessionConfig {
    let mut connection = ConnectionConfig::new("")
        .with_heartbeat(None)
        .with_request_timeout(Duration::from_secs(30))
        .with_connect_timeout(Duration::from_secs(10));
    if let Some(c) = &nodes.credentials {
        connection = connection.with_credentials(&c.username, &c.password);
    }
    SessionConfig::new([nodes.first().socket_addr().to_string()])
        .with_connection(connection)
        .with_consistency(Consistency::One)
}

/// Runs a statement (DDL or DML) at consistency ALL, panicking on error.
pub async fn exec(session: &Session, cql: &str) {
    session
        .query(
            cql,
            (),
            QueryOptions::new().with_consistency(Consistency::All),
        )
        .await
        .unwrap_or_else(|e| panic!("{cql}: {e}"));
}

/// Every row of a query.
pub async fn rows(session: &Session, cql: &str) -> Vec<Row> {
    session
        .query_stream(
            cql,
            (),
            QueryOptions::new()
                .with_consistency(Consistency::All)
                .with_page_size(1000),
        )
        .try_collect()
        .await
        .unwrap_or_else(|e| panic!("{cql}: {e}"))
}

/// A keyspace created on several clusters under one unique name; dropped
/// when the guard goes away (also after a failed test), through the
/// testkit's synchronous CQL runner so no async runtime is needed.
pub struct Keyspace {
    /// Its name.
    pub name: String,
    groups: Vec<String>,
    sessions: Vec<Session>,
}

impl Keyspace {
    /// Creates the keyspace with replication factor `rf` on each of
    /// `groups` (sessions to them in the same order).
    pub async fn create(test: &str, groups: &[(&str, &Session)], rf: usize) -> Keyspace {
        let name = unique_keyspace_name(test);
        for (_, s) in groups {
            exec(
                s,
                &format!(
                    "CREATE KEYSPACE {name} WITH replication = \
                     {{'class': 'SimpleStrategy', 'replication_factor': {rf}}}"
                ),
            )
            .await;
        }
        Keyspace {
            name,
            groups: groups.iter().map(|(g, _)| (*g).to_owned()).collect(),
            sessions: groups.iter().map(|(_, s)| (*s).clone()).collect(),
        }
    }

    /// Runs DDL on every cluster (the same table on source and target).
    pub async fn ddl_all(&self, cql: &str) {
        for s in &self.sessions {
            exec(s, cql).await;
        }
    }
}

impl Drop for Keyspace {
    fn drop(&mut self) {
        for group in &self.groups {
            if let Ok(nodes) = NodeGroup::load(group) {
                let _ = nodes.cql_exec(
                    nodes.first(),
                    &[&format!("DROP KEYSPACE IF EXISTS {}", self.name)],
                );
            }
        }
    }
}

/// A text value.
pub fn text(s: &str) -> CqlValue {
    CqlValue::from(s.to_owned())
}
