//! Waiting for schema agreement after a schema change.
//!
//! A `CREATE`/`ALTER`/`DROP` returns once the coordinator applied it; the
//! other nodes learn it by gossip a little later. A statement that uses the
//! new schema on another node meanwhile fails ("non existing keyspace").
//! So after a schema change the session waits until every node that is up
//! reports the coordinator's `schema_version` (as the coordinator sees them:
//! `system.local` and the peers table).

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::fields;
use super::topology::query_rows;
use super::values::Values;
use super::{Session, SessionError};

/// Pause between two looks at the schema versions.
const POLL_INTERVAL: Duration = Duration::from_millis(200);

impl Session {
    /// Waits until every reachable node reports the same schema version,
    /// at most the configured `schema_agreement_timeout`. Returns whether
    /// they agreed (a timeout is not an error: the schema will usually
    /// settle, and the caller may go on at its own risk).
    pub async fn await_schema_agreement(&self) -> Result<bool, SessionError> {
        let node = self
            .nodes()
            .iter()
            .map(|n| n.address)
            .find(|a| self.open_connections(*a) > 0)
            .ok_or(SessionError::NoConnection { tried: Vec::new() })?;
        self.await_schema_agreement_via(node).await
    }

    /// [`Session::await_schema_agreement`] asking `node` (the coordinator
    /// of the schema change, which has it first).
    pub(crate) async fn await_schema_agreement_via(
        &self,
        node: SocketAddr,
    ) -> Result<bool, SessionError> {
        let deadline = Instant::now() + self.inner.config.schema_agreement_timeout;
        loop {
            match self.schema_versions(node).await {
                Ok(versions) if versions.len() <= 1 => return Ok(true),
                Ok(versions) => {
                    tracing::debug!(count = versions.len(), "schema versions differ; waiting");
                }
                Err(e) => tracing::debug!(error = %e, "cannot read schema versions"),
            }
            if Instant::now() >= deadline {
                tracing::warn!(
                    timeout = ?self.inner.config.schema_agreement_timeout,
                    "no schema agreement; going on"
                );
                return Ok(false);
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// The distinct schema versions of `node` and of the peers it lists
    /// that the session has connections to.
    async fn schema_versions(&self, node: SocketAddr) -> Result<HashSet<[u8; 16]>, SessionError> {
        let state = self.state();
        let conn = state
            .pools
            .get(&node)
            .and_then(|p| p.pick())
            .ok_or(SessionError::NoConnection { tried: Vec::new() })?;
        let failed = |source| SessionError::Request {
            node,
            attempts: 1,
            source: Box::new(source),
        };
        let local = query_rows(
            &conn,
            "SELECT schema_version FROM system.local WHERE key = 'local'",
            &Values::None,
        )
        .await
        .map_err(failed)?;
        let peers_table = if *super::lock(&self.inner.peers_v2) == Some(true) {
            "system.peers_v2"
        } else {
            "system.peers"
        };
        let peers = query_rows(
            &conn,
            &format!("SELECT peer, schema_version FROM {peers_table}"),
            &Values::None,
        )
        .await
        .map_err(failed)?;

        // Peers that are down keep their last version; only count the ones
        // the session can reach.
        let up: HashSet<_> = state
            .nodes
            .iter()
            .filter(|n| state.pools.get(&n.address).is_some_and(|p| p.is_up()))
            .filter_map(|n| n.broadcast_address)
            .collect();
        let mut versions: HashSet<[u8; 16]> = local
            .iter()
            .filter_map(|r| fields::uuid(r, "schema_version"))
            .collect();
        for row in &peers {
            let counted = fields::inet(row, "peer").is_some_and(|ip| up.contains(&ip));
            if let (true, Some(v)) = (counted, fields::uuid(row, "schema_version")) {
                versions.insert(v);
            }
        }
        Ok(versions)
    }
}
