//! Shared set-up of the real-node tests: a keyspace of the same name on a
//! source group and on the `target` group, sessions to both, and helpers
//! to write the same rows (same timestamps) to either.

#![allow(dead_code)]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use ferry_conn::session::{QueryOptions, Session, SessionConfig};
use ferry_conn::ConnectionConfig;
use ferry_testkit::{unique_keyspace_name, NodeGroup};
use ferry_validator::{TableRef, Validator, ValidatorConfig};
use ferry_wire::types::CqlValue;
use ferry_wire::Consistency;

/// Both clusters and the test's keyspace on each.
pub struct Clusters {
    pub source: Session,
    pub target: Session,
    pub keyspace: String,
    pub source_group: NodeGroup,
    pub target_group: NodeGroup,
}

pub fn session_config(group: &NodeGroup) -> SessionConfig {
    SessionConfig::new([group.first().socket_addr().to_string()])
        .with_connection(
            ConnectionConfig::new("")
                .with_heartbeat(None)
                .with_request_timeout(Duration::from_secs(30))
                .with_connect_timeout(Duration::from_secs(10)),
        )
        .with_prefetch(true)
}

impl Clusters {
    /// Runs `cql` (with `{ks}` for the keyspace) on both clusters.
    pub async fn ddl(&self, cql: &str) {
        let cql = cql.replace("{ks}", &self.keyspace);
        for session in [&self.source, &self.target] {
            session
                .query(
                    &cql,
                    (),
                    QueryOptions::new().with_consistency(Consistency::All),
                )
                .await
                .unwrap_or_else(|e| panic!("{cql}: {e}"));
        }
    }

    /// Writes one row on `session` (`cql` with `{ks}`), at consistency ALL.
    pub async fn write(
        session: &Session,
        keyspace: &str,
        cql: &str,
        values: Vec<Option<CqlValue>>,
    ) {
        let cql = cql.replace("{ks}", keyspace);
        let statement = session
            .prepare(&cql)
            .await
            .unwrap_or_else(|e| panic!("{cql}: {e}"));
        session
            .execute(
                &statement,
                values,
                QueryOptions::new().with_consistency(Consistency::All),
            )
            .await
            .unwrap_or_else(|e| panic!("{cql}: {e}"));
    }

    pub async fn on_source(&self, cql: &str, values: Vec<Option<CqlValue>>) {
        Self::write(&self.source, &self.keyspace, cql, values).await;
    }

    pub async fn on_target(&self, cql: &str, values: Vec<Option<CqlValue>>) {
        Self::write(&self.target, &self.keyspace, cql, values).await;
    }

    pub async fn on_both(&self, cql: &str, values: Vec<Option<CqlValue>>) {
        tokio::join!(
            self.on_source(cql, values.clone()),
            self.on_target(cql, values)
        );
    }

    /// A validation config of `table` in the test keyspace, with a short
    /// re-check delay so tests stay quick.
    pub fn config(&self, table: &str) -> ValidatorConfig {
        let mut config = ValidatorConfig::new(vec![TableRef::table(&self.keyspace, table)]);
        config.recheck_delay = Some(Duration::from_millis(500));
        config.parallelism = 4;
        config
    }

    pub fn validator(&self, config: ValidatorConfig) -> Validator {
        Validator::new(self.source.clone(), self.target.clone(), config).unwrap()
    }
}

/// Runs `body` with a fresh keyspace on `source_group` (replication factor
/// `rf`) and on `target`; drops both keyspaces afterwards, even if the body
/// panics.
pub async fn with_clusters<F, Fut>(test: &str, source_group: &str, rf: usize, body: F)
where
    F: FnOnce(Arc<Clusters>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let source_group = NodeGroup::require(source_group);
    let target_group = NodeGroup::require("target");
    let (source, target) = tokio::join!(
        Session::connect(session_config(&source_group)),
        Session::connect(session_config(&target_group))
    );
    let clusters = Arc::new(Clusters {
        source: source.expect("source session"),
        target: target.expect("target session"),
        keyspace: unique_keyspace_name(test),
        source_group,
        target_group,
    });
    for (session, rf) in [(&clusters.source, rf), (&clusters.target, 1)] {
        session
            .query(
                &format!(
                    "CREATE KEYSPACE {} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': {rf}}}",
                    clusters.keyspace
                ),
                (),
                QueryOptions::new().with_consistency(Consistency::All),
            )
            .await
            .expect("create keyspace");
    }
    let outcome = tokio::spawn(body(clusters.clone())).await;
    for session in [&clusters.source, &clusters.target] {
        let _ = session
            .query(
                &format!("DROP KEYSPACE {}", clusters.keyspace),
                (),
                QueryOptions::new().with_consistency(Consistency::All),
            )
            .await;
    }
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

pub fn int(v: i32) -> Option<CqlValue> {
    Some(CqlValue::Int(v))
}

pub fn bigint(v: i64) -> Option<CqlValue> {
    Some(CqlValue::Bigint(v))
}

pub fn text(v: &str) -> Option<CqlValue> {
    Some(CqlValue::from(v.to_owned()))
}
