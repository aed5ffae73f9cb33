//! What a [`Session`](super::Session) needs to know before it connects.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ferry_wire::Consistency;

use super::retry::{DefaultRetryPolicy, RetryPolicy};
use super::SessionError;
use crate::config::ConnectionConfig;

/// The CQL native protocol port nodes listen on unless told otherwise.
pub const DEFAULT_PORT: u16 = 9042;

/// Maps the address a node advertises (its `rpc_address` /
/// `native_address` and port, as read from `system.peers`) to the address
/// Ferry should connect to. Needed when clients reach the nodes through NAT,
/// port forwarding or a proxy.
///
/// Any `Fn(SocketAddr) -> SocketAddr` closure is a translator.
///
/// ```
/// use std::net::SocketAddr;
/// use ferry_conn::session::AddressTranslator;
/// let via_proxy = |a: SocketAddr| -> SocketAddr { SocketAddr::new([10, 0, 0, 1].into(), a.port() + 10000) };
/// let translated = via_proxy.translate("192.168.1.5:9042".parse().unwrap());
/// assert_eq!(translated.to_string(), "10.0.0.1:19042");
/// ```
pub trait AddressTranslator: Send + Sync {
    /// The address to connect to for a node advertising `advertised`.
    fn translate(&self, advertised: SocketAddr) -> SocketAddr;
}

impl<F> AddressTranslator for F
where
    F: Fn(SocketAddr) -> SocketAddr + Send + Sync,
{
    fn translate(&self, advertised: SocketAddr) -> SocketAddr {
        self(advertised)
    }
}

/// Connects to nodes at the addresses they advertise.
///
/// ```
/// use ferry_conn::session::{AddressTranslator, IdentityTranslator};
/// let a = "10.1.2.3:9042".parse().unwrap();
/// assert_eq!(IdentityTranslator.translate(a), a);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct IdentityTranslator;

impl AddressTranslator for IdentityTranslator {
    fn translate(&self, advertised: SocketAddr) -> SocketAddr {
        advertised
    }
}

/// Everything a [`Session`](super::Session) needs.
///
/// Build one with [`SessionConfig::new`] and the `with_*` methods; every
/// field is public too. The `connection` template configures every
/// connection the session opens (TLS, credentials, versions, timeouts,
/// keyspace); its `address` is replaced by each node's.
///
/// ```
/// use std::time::Duration;
/// use ferry_conn::ConnectionConfig;
/// use ferry_conn::session::SessionConfig;
/// use ferry_wire::Consistency;
/// let config = SessionConfig::new(["10.0.0.1", "10.0.0.2:9142"])
///     .with_connection(ConnectionConfig::new("").with_request_timeout(Duration::from_secs(5)))
///     .with_local_datacenter("dc1")
///     .with_connections_per_node(2)
///     .with_consistency(Consistency::LocalQuorum)
///     .with_page_size(1000);
/// assert_eq!(config.contact_addresses(), ["10.0.0.1:9042", "10.0.0.2:9142"]);
/// assert!(config.validate().is_ok());
/// ```
#[derive(Clone)]
pub struct SessionConfig {
    /// Nodes to discover the cluster from: `host`, `host:port` or
    /// `[v6addr]:port`. They are tried in order until one answers.
    pub contact_points: Vec<String>,
    /// Port for contact points given without one, and for peers when the
    /// cluster does not say (`system.peers` has no port column;
    /// `system.peers_v2.native_port` does).
    pub port: u16,
    /// Template for every connection (its `address` is ignored).
    pub connection: ConnectionConfig,
    /// The datacenter to send requests to first. Without it every node is
    /// treated alike.
    pub local_datacenter: Option<String>,
    /// Whether requests may go to nodes of other datacenters when no node of
    /// the local one can serve them.
    pub allow_remote_datacenters: bool,
    /// Connections opened to each node (of the local datacenter, or every
    /// node when none is set).
    pub connections_per_node: usize,
    /// Connections opened to each node of a remote datacenter, opened the
    /// first time a request needs one.
    pub remote_connections_per_node: usize,
    /// Decides whether failed requests are retried.
    pub retry_policy: Arc<dyn RetryPolicy>,
    /// Consistency of requests that do not set their own.
    pub consistency: Consistency,
    /// Serial consistency of conditional requests that do not set their
    /// own; `None` leaves it to the server (SERIAL).
    pub serial_consistency: Option<Consistency>,
    /// Rows per page of requests that do not set their own.
    pub page_size: i32,
    /// Whether row streams fetch the next page while the current one is
    /// being consumed (at most one page ahead).
    pub prefetch_pages: bool,
    /// Whether requests without an explicit timestamp get one from the
    /// client (microseconds since the epoch, strictly increasing within the
    /// session) instead of the coordinator's clock.
    pub client_timestamps: bool,
    /// Maps advertised node addresses to the addresses to connect to.
    pub address_translator: Arc<dyn AddressTranslator>,
    /// How long a schema change waits for every node to agree on the new
    /// schema before returning (it returns anyway after that).
    pub schema_agreement_timeout: Duration,
    /// Whether to listen for server events (nodes joining, leaving, coming
    /// up; schema changes) and refresh the topology and caches on them.
    pub listen_for_events: bool,
}

impl fmt::Debug for SessionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionConfig")
            .field("contact_points", &self.contact_points)
            .field("port", &self.port)
            .field("connection", &self.connection)
            .field("local_datacenter", &self.local_datacenter)
            .field("allow_remote_datacenters", &self.allow_remote_datacenters)
            .field("connections_per_node", &self.connections_per_node)
            .field(
                "remote_connections_per_node",
                &self.remote_connections_per_node,
            )
            .field("retry_policy", &self.retry_policy)
            .field("consistency", &self.consistency)
            .field("serial_consistency", &self.serial_consistency)
            .field("page_size", &self.page_size)
            .field("prefetch_pages", &self.prefetch_pages)
            .field("client_timestamps", &self.client_timestamps)
            .field("schema_agreement_timeout", &self.schema_agreement_timeout)
            .field("listen_for_events", &self.listen_for_events)
            .finish_non_exhaustive()
    }
}

impl SessionConfig {
    /// Defaults for these contact points: port 9042, the default
    /// [`ConnectionConfig`], no local datacenter, 2 connections per node
    /// (1 per remote node), [`DefaultRetryPolicy`], LOCAL_QUORUM, pages of
    /// 5000 rows, no prefetch, server-side timestamps, 10 s for schema
    /// agreement, listening for events.
    pub fn new<I, S>(contact_points: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            contact_points: contact_points.into_iter().map(Into::into).collect(),
            port: DEFAULT_PORT,
            connection: ConnectionConfig::new(""),
            local_datacenter: None,
            allow_remote_datacenters: true,
            connections_per_node: 2,
            remote_connections_per_node: 1,
            retry_policy: Arc::new(DefaultRetryPolicy::default()),
            consistency: Consistency::LocalQuorum,
            serial_consistency: None,
            page_size: 5000,
            prefetch_pages: false,
            client_timestamps: false,
            address_translator: Arc::new(IdentityTranslator),
            schema_agreement_timeout: Duration::from_secs(10),
            listen_for_events: true,
        }
    }

    /// Sets the connection template.
    #[must_use]
    pub fn with_connection(mut self, connection: ConnectionConfig) -> Self {
        self.connection = connection;
        self
    }

    /// Sets the default port.
    #[must_use]
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Prefers the nodes of `datacenter`.
    #[must_use]
    pub fn with_local_datacenter(mut self, datacenter: impl Into<String>) -> Self {
        self.local_datacenter = Some(datacenter.into());
        self
    }

    /// Allows (or forbids) falling back to other datacenters.
    #[must_use]
    pub fn with_remote_datacenters(mut self, allow: bool) -> Self {
        self.allow_remote_datacenters = allow;
        self
    }

    /// Sets the connections per (local) node.
    #[must_use]
    pub fn with_connections_per_node(mut self, n: usize) -> Self {
        self.connections_per_node = n;
        self
    }

    /// Sets the retry policy.
    #[must_use]
    pub fn with_retry_policy(mut self, policy: Arc<dyn RetryPolicy>) -> Self {
        self.retry_policy = policy;
        self
    }

    /// Sets the default consistency.
    #[must_use]
    pub fn with_consistency(mut self, consistency: Consistency) -> Self {
        self.consistency = consistency;
        self
    }

    /// Sets the default serial consistency.
    #[must_use]
    pub fn with_serial_consistency(mut self, consistency: Consistency) -> Self {
        self.serial_consistency = Some(consistency);
        self
    }

    /// Sets the default page size.
    #[must_use]
    pub fn with_page_size(mut self, rows: i32) -> Self {
        self.page_size = rows;
        self
    }

    /// Turns page prefetching on or off.
    #[must_use]
    pub fn with_prefetch(mut self, prefetch: bool) -> Self {
        self.prefetch_pages = prefetch;
        self
    }

    /// Turns client-side timestamps on or off.
    #[must_use]
    pub fn with_client_timestamps(mut self, on: bool) -> Self {
        self.client_timestamps = on;
        self
    }

    /// Sets how long schema changes wait for agreement.
    #[must_use]
    pub fn with_schema_agreement_timeout(mut self, timeout: Duration) -> Self {
        self.schema_agreement_timeout = timeout;
        self
    }

    /// Turns listening for server events on or off.
    #[must_use]
    pub fn with_events(mut self, listen: bool) -> Self {
        self.listen_for_events = listen;
        self
    }

    /// Sets the address translator.
    #[must_use]
    pub fn with_address_translator(mut self, translator: Arc<dyn AddressTranslator>) -> Self {
        self.address_translator = translator;
        self
    }

    /// The contact points as `host:port`, the default port filled in.
    pub fn contact_addresses(&self) -> Vec<String> {
        self.contact_points
            .iter()
            .map(|c| with_default_port(c.trim(), self.port))
            .collect()
    }

    /// Checks the settings that would otherwise fail later in odd ways.
    pub fn validate(&self) -> Result<(), SessionError> {
        let bad = |m: &str| Err(SessionError::Config(m.to_owned()));
        if self.contact_points.iter().all(|c| c.trim().is_empty()) {
            return bad("at least one contact point is needed");
        }
        if self.connections_per_node == 0 || self.remote_connections_per_node == 0 {
            return bad("connections per node must be at least 1");
        }
        if self.page_size <= 0 {
            return bad("page_size must be at least 1");
        }
        self.connection
            .validate()
            .map_err(|e| SessionError::Config(e.to_string()))
    }
}

/// `host:port` for `host`, `host:port`, `v6addr`, `[v6addr]` or `[v6addr]:port`.
fn with_default_port(contact: &str, port: u16) -> String {
    if contact.parse::<SocketAddr>().is_ok() {
        return contact.to_owned();
    }
    if contact.parse::<std::net::Ipv6Addr>().is_ok() {
        return format!("[{contact}]:{port}");
    }
    if contact.starts_with('[') && contact.ends_with(']') {
        return format!("{contact}:{port}");
    }
    match contact.rsplit_once(':') {
        Some((host, p)) if !host.contains(':') && p.parse::<u16>().is_ok() => contact.to_owned(),
        _ => format!("{contact}:{port}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_points_get_the_default_port() {
        let cases = [
            ("10.0.0.1", "10.0.0.1:9042"),
            ("10.0.0.1:7000", "10.0.0.1:7000"),
            ("localhost", "localhost:9042"),
            ("db.example:19042", "db.example:19042"),
            ("::1", "[::1]:9042"),
            ("[::1]", "[::1]:9042"),
            ("[::1]:9999", "[::1]:9999"),
        ];
        for (input, want) in cases {
            assert_eq!(with_default_port(input, 9042), want, "{input}");
        }
    }

    #[test]
    fn empty_contact_points_are_rejected() {
        assert!(SessionConfig::new(Vec::<String>::new()).validate().is_err());
        assert!(SessionConfig::new([" "]).validate().is_err());
        assert!(SessionConfig::new(["a"])
            .with_page_size(0)
            .validate()
            .is_err());
    }
}
