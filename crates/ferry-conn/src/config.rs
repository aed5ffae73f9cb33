//! What a [`Connection`](crate::Connection) needs to know before it dials.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use ferry_wire::compression::Compression;
use ferry_wire::ProtocolVersion;

use crate::auth::{AuthProvider, PlainTextAuthProvider};
use crate::error::ConnError;
use crate::tls::TlsOptions;

/// Driver name announced in STARTUP (shown by `nodetool clientstats`).
pub const DRIVER_NAME: &str = "ferry";
/// Driver version announced in STARTUP.
pub const DRIVER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Stream ids a v3+ connection can use (the id is a signed short and
/// negative ids belong to the server).
pub const MAX_STREAM_IDS: usize = 32768;
/// Stream ids a v2 connection can use (a signed byte).
pub const MAX_STREAM_IDS_V2: usize = 128;

/// Which protocol versions a connection may use.
///
/// ```
/// use ferry_conn::VersionPolicy;
/// use ferry_wire::ProtocolVersion::*;
/// let p = VersionPolicy::default();
/// assert_eq!(p.highest(), V5);
/// assert_eq!(p.lowest(), V3);
/// assert_eq!(VersionPolicy::Pin(V4).lowest(), V4);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionPolicy {
    /// Start at `max` and step down, on rejection, no lower than `min`.
    Negotiate {
        /// The first version offered.
        max: ProtocolVersion,
        /// The floor; v3 by default (v2 only when asked for).
        min: ProtocolVersion,
    },
    /// Use exactly this version; a rejection is an error.
    Pin(ProtocolVersion),
}

impl Default for VersionPolicy {
    fn default() -> Self {
        Self::Negotiate {
            max: ProtocolVersion::V5,
            min: ProtocolVersion::V3,
        }
    }
}

impl VersionPolicy {
    /// The first version offered.
    pub fn highest(&self) -> ProtocolVersion {
        match *self {
            Self::Negotiate { max, .. } => max,
            Self::Pin(v) => v,
        }
    }

    /// The lowest version accepted.
    pub fn lowest(&self) -> ProtocolVersion {
        match *self {
            Self::Negotiate { min, .. } => min,
            Self::Pin(v) => v,
        }
    }
}

/// Everything needed to open a [`Connection`](crate::Connection).
///
/// Build one with [`ConnectionConfig::new`] and the `with_*` methods; every
/// field is public too.
///
/// ```
/// use std::time::Duration;
/// use ferry_conn::ConnectionConfig;
/// use ferry_wire::{compression::Compression, ProtocolVersion};
/// let config = ConnectionConfig::new("127.0.0.1:9042")
///     .with_credentials("admin", "hunter2")
///     .with_max_version(ProtocolVersion::V4)
///     .with_compression(Compression::Lz4)
///     .with_request_timeout(Duration::from_secs(5));
/// assert_eq!(config.versions.highest(), ProtocolVersion::V4);
/// assert!(config.validate().is_ok());
/// // The password never shows up in logs.
/// assert!(!format!("{config:?}").contains("hunter2"));
/// ```
#[derive(Clone)]
pub struct ConnectionConfig {
    /// `host:port` of the node (`[v6addr]:port` for IPv6).
    pub address: String,
    /// TLS settings; `None` for plain TCP.
    pub tls: Option<TlsOptions>,
    /// Credentials for servers that ask for authentication.
    pub auth: Option<Arc<dyn AuthProvider>>,
    /// Protocol versions allowed.
    pub versions: VersionPolicy,
    /// Compression to ask for (used only if the server supports it; v5 only
    /// supports LZ4).
    pub compression: Option<Compression>,
    /// The `CQL_VERSION` STARTUP option.
    pub cql_version: String,
    /// The `DRIVER_NAME` STARTUP option.
    pub driver_name: String,
    /// The `DRIVER_VERSION` STARTUP option.
    pub driver_version: String,
    /// Whether to send OPTIONS before STARTUP to learn what the server
    /// supports (compression algorithms, CQL versions).
    pub probe_options: bool,
    /// Keyspace to `USE` once connected.
    pub keyspace: Option<String>,
    /// Requests allowed in flight at once; further requests wait.
    pub max_in_flight: usize,
    /// Cap on stream ids used (at most 32768 for v3+, 128 for v2). When all
    /// are taken, requests wait for one to free up.
    pub max_stream_ids: usize,
    /// Stream ids left reserved by timed-out requests before the connection
    /// gives up on the server and closes.
    pub max_orphaned_ids: usize,
    /// Time allowed for each request, from the call until its response.
    pub request_timeout: Duration,
    /// Time allowed for TCP connect plus the TLS handshake, and for each
    /// message exchange of the CQL handshake.
    pub connect_timeout: Duration,
    /// Send an OPTIONS heartbeat when nothing was read for this long; a
    /// failed heartbeat closes the connection. `None` disables it.
    pub heartbeat_interval: Option<Duration>,
    /// Events buffered per subscriber before the oldest are dropped.
    pub event_buffer: usize,
}

impl fmt::Debug for ConnectionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionConfig")
            .field("address", &self.address)
            .field("tls", &self.tls)
            .field("auth", &self.auth)
            .field("versions", &self.versions)
            .field("compression", &self.compression)
            .field("cql_version", &self.cql_version)
            .field("probe_options", &self.probe_options)
            .field("keyspace", &self.keyspace)
            .field("max_in_flight", &self.max_in_flight)
            .field("max_stream_ids", &self.max_stream_ids)
            .field("request_timeout", &self.request_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("heartbeat_interval", &self.heartbeat_interval)
            .finish_non_exhaustive()
    }
}

impl ConnectionConfig {
    /// Defaults for `address`: no TLS, no credentials, versions v5 down to
    /// v3, no compression, 1024 requests in flight, 12 s request timeout,
    /// 5 s connect timeout, 30 s heartbeat.
    pub fn new(address: impl Into<String>) -> Self {
        Self {
            address: address.into(),
            tls: None,
            auth: None,
            versions: VersionPolicy::default(),
            compression: None,
            cql_version: "3.0.0".to_owned(),
            driver_name: DRIVER_NAME.to_owned(),
            driver_version: DRIVER_VERSION.to_owned(),
            probe_options: true,
            keyspace: None,
            max_in_flight: 1024,
            max_stream_ids: MAX_STREAM_IDS,
            max_orphaned_ids: 1024,
            request_timeout: Duration::from_secs(12),
            connect_timeout: Duration::from_secs(5),
            heartbeat_interval: Some(Duration::from_secs(30)),
            event_buffer: 256,
        }
    }

    /// Uses TLS.
    #[must_use]
    pub fn with_tls(mut self, tls: TlsOptions) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Authenticates with SASL PLAIN (Cassandra's `PasswordAuthenticator`).
    #[must_use]
    pub fn with_credentials(
        mut self,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        self.auth = Some(Arc::new(PlainTextAuthProvider::new(username, password)));
        self
    }

    /// Authenticates with a custom provider.
    #[must_use]
    pub fn with_auth(mut self, provider: Arc<dyn AuthProvider>) -> Self {
        self.auth = Some(provider);
        self
    }

    /// Offers at most `max` (and steps down to the current floor).
    #[must_use]
    pub fn with_max_version(mut self, max: ProtocolVersion) -> Self {
        let min = self.versions.lowest().min(max);
        self.versions = VersionPolicy::Negotiate { max, min };
        self
    }

    /// Steps down no lower than `min` (use `V2` to allow protocol v2).
    #[must_use]
    pub fn with_min_version(mut self, min: ProtocolVersion) -> Self {
        let max = self.versions.highest().max(min);
        self.versions = VersionPolicy::Negotiate { max, min };
        self
    }

    /// Uses exactly `version`.
    #[must_use]
    pub fn with_pinned_version(mut self, version: ProtocolVersion) -> Self {
        self.versions = VersionPolicy::Pin(version);
        self
    }

    /// Asks for compression.
    #[must_use]
    pub fn with_compression(mut self, compression: Compression) -> Self {
        self.compression = Some(compression);
        self
    }

    /// `USE`s `keyspace` once connected.
    #[must_use]
    pub fn with_keyspace(mut self, keyspace: impl Into<String>) -> Self {
        self.keyspace = Some(keyspace.into());
        self
    }

    /// Sets the in-flight request bound.
    #[must_use]
    pub fn with_max_in_flight(mut self, max: usize) -> Self {
        self.max_in_flight = max;
        self
    }

    /// Caps the stream ids used.
    #[must_use]
    pub fn with_max_stream_ids(mut self, max: usize) -> Self {
        self.max_stream_ids = max;
        self
    }

    /// Sets the per-request timeout.
    #[must_use]
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Sets the connect (and per handshake step) timeout.
    #[must_use]
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets or disables the idle heartbeat.
    #[must_use]
    pub fn with_heartbeat(mut self, interval: Option<Duration>) -> Self {
        self.heartbeat_interval = interval;
        self
    }

    /// Skips (or restores) the OPTIONS probe before STARTUP.
    #[must_use]
    pub fn with_options_probe(mut self, probe: bool) -> Self {
        self.probe_options = probe;
        self
    }

    /// Stream ids usable at `version`: the configured cap, bounded by what
    /// the version's header can carry.
    pub fn stream_ids_for(&self, version: ProtocolVersion) -> usize {
        let limit = if version.has_short_stream_ids() {
            MAX_STREAM_IDS_V2
        } else {
            MAX_STREAM_IDS
        };
        self.max_stream_ids.clamp(1, limit)
    }

    /// Checks the settings that would otherwise fail later in odd ways.
    pub fn validate(&self) -> Result<(), ConnError> {
        let bad = |m: &str| Err(ConnError::Config(m.to_owned()));
        if let VersionPolicy::Negotiate { max, min } = self.versions {
            if min > max {
                return Err(ConnError::Config(format!(
                    "min_version {min} is above max_version {max}"
                )));
            }
        }
        if self.max_in_flight == 0 {
            return bad("max_in_flight must be at least 1");
        }
        if self.max_stream_ids == 0 {
            return bad("max_stream_ids must be at least 1");
        }
        if self.request_timeout.is_zero() || self.connect_timeout.is_zero() {
            return bad("timeouts must be longer than zero");
        }
        if self.heartbeat_interval.is_some_and(|d| d.is_zero()) {
            return bad("heartbeat_interval must be longer than zero (or None to disable)");
        }
        if self.event_buffer == 0 {
            return bad("event_buffer must be at least 1");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_caps_stream_ids_at_128() {
        let c = ConnectionConfig::new("x:1");
        assert_eq!(c.stream_ids_for(ProtocolVersion::V2), 128);
        assert_eq!(c.stream_ids_for(ProtocolVersion::V4), 32768);
        let c = c.with_max_stream_ids(10);
        assert_eq!(c.stream_ids_for(ProtocolVersion::V2), 10);
    }

    #[test]
    fn min_above_max_is_rejected() {
        let mut c = ConnectionConfig::new("x:1");
        c.versions = VersionPolicy::Negotiate {
            max: ProtocolVersion::V3,
            min: ProtocolVersion::V4,
        };
        assert!(matches!(c.validate(), Err(ConnError::Config(_))));
    }

    #[test]
    fn max_version_below_floor_lowers_the_floor() {
        let c = ConnectionConfig::new("x:1").with_max_version(ProtocolVersion::V2);
        assert_eq!(c.versions.lowest(), ProtocolVersion::V2);
    }
}
