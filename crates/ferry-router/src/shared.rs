//! State shared by every client connection of one proxy.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use ferry_conn::ConnectionConfig;
use ferry_wire::ProtocolVersion;
use tokio::sync::watch;

use crate::clock::TimestampClock;
use crate::config::{Credentials, ProxyConfig};
use crate::metrics::{Gauges, Metrics};
use crate::prepared::PreparedCache;
use crate::queue::TargetQueue;
use crate::upstream::Dialer;

/// One proxy's configuration and shared components.
pub(crate) struct ProxyShared {
    pub(crate) config: ProxyConfig,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) prepared: Arc<PreparedCache>,
    pub(crate) queue: Arc<TargetQueue>,
    pub(crate) clock: TimestampClock,
    pub(crate) source: Dialer,
    /// Turns true when the proxy shuts down.
    pub(crate) shutdown: watch::Receiver<bool>,
    pub(crate) next_connection_id: AtomicU64,
}

impl ProxyShared {
    /// The target connection settings for a client that negotiated
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

    /// The gauges for the metrics endpoint.
    pub(crate) fn gauges(&self) -> Gauges {
        Gauges {
            queue_depth: self.queue.depth() as u64,
            queue_capacity: self.queue.capacity() as u64,
            oldest_pending_seconds: self
                .queue
                .oldest_pending()
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0),
            failed_log_bytes: self.queue.log.size_bytes(),
            prepared_entries: self.prepared.len() as u64,
            prepared_evictions: self.prepared.evictions(),
        }
    }
}
