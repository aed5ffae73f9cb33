//! State shared by the client connections of one routing direction.
//!
//! A proxy has one [`ProxyShared`] per primary cluster it has used (see
//! [`Switchboard`](crate::switchboard::Switchboard)). Its `config` is
//! *oriented*: `config.source` is the cluster the connections are relayed
//! to (the primary), `config.target` the one writes are mirrored to, so
//! the session code reads "source" as "primary" and "target" as "mirror"
//! whichever cluster is primary.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use ferry_conn::ConnectionConfig;
use ferry_wire::ProtocolVersion;
use tokio::sync::watch;

use crate::clock::TimestampClock;
use crate::config::{Credentials, ProxyConfig};
use crate::metrics::{Cluster, Metrics};
use crate::prepared::PreparedCache;
use crate::queue::TargetQueue;
use crate::upstream::Dialer;

/// One routing direction's configuration and components.
pub(crate) struct ProxyShared {
    /// Oriented: `source` is the primary, `target` the mirror.
    pub(crate) config: ProxyConfig,
    /// The actual cluster the connections are relayed to.
    pub(crate) primary: Cluster,
    /// This direction's metrics (they file legs under actual names).
    pub(crate) metrics: Arc<Metrics>,
    /// Primary ids → statements and mirror ids (per direction: ids are
    /// the primary's).
    pub(crate) prepared: Arc<PreparedCache>,
    /// Mirrored writes, and the failed-write log of the mirror cluster.
    pub(crate) queue: Arc<TargetQueue>,
    /// Shared by both directions: timestamps stay increasing across a switch.
    pub(crate) clock: Arc<TimestampClock>,
    /// Dials the primary.
    pub(crate) source: Dialer,
    /// Turns true when the proxy shuts down.
    pub(crate) shutdown: watch::Receiver<bool>,
    /// The primary for new connections; connections of this direction
    /// close (after their answers) when it is no longer `primary`.
    pub(crate) current_primary: watch::Receiver<Cluster>,
    pub(crate) next_connection_id: Arc<AtomicU64>,
}

impl ProxyShared {
    /// The mirror connection settings for a client that negotiated
    /// `version`, with `credentials` (the configured ones win).
    pub(crate) fn target_config(
        &self,
        version: ProtocolVersion,
        client_credentials: Option<Credentials>,
    ) -> ConnectionConfig {
        let c = &self.config;
        let mut config = ConnectionConfig::new(c.target.address.clone())
            .with_pinned_version(version)
            .with_request_timeout(c.target_request_timeout)
            .with_connect_timeout(c.connect_timeout);
        config.cql_version = c.cql_version.clone();
        config.driver_name = "ferry-proxy".to_owned();
        if let Some(tls) = &c.target.tls {
            config = config.with_tls(tls.clone());
        }
        if let Some(creds) = c.target_credentials.clone().or(client_credentials) {
            config = config.with_credentials(creds.username(), creds.password());
        }
        config
    }
}
