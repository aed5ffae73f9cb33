//! What a [`Proxy`](crate::Proxy) needs to know before it listens.
//!
//! The binary (`ferry-proxy`) builds a [`ProxyConfig`] from its command
//! line and TOML file; tests build one directly.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ferry_conn::TlsOptions;
use ferry_wire::ProtocolVersion;

use crate::metrics::Cluster;

/// When the client gets its answer for a write that also goes to the target.
///
/// ```
/// use ferry_router::WriteMode;
/// assert_eq!(WriteMode::default(), WriteMode::Async);
/// assert_eq!("sync".parse::<WriteMode>().unwrap(), WriteMode::Sync);
/// assert_eq!("off".parse::<WriteMode>().unwrap(), WriteMode::Off);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WriteMode {
    /// Answer as soon as the source answers; the target write goes through
    /// the bounded retry queue in the background, and to the failed-write
    /// log if it keeps failing. The target can never slow the client down
    /// (until the queue is full, see [`FullQueuePolicy`]).
    #[default]
    Async,
    /// Answer once both clusters answered; a target failure is reported to
    /// the client as the error (and the write is logged too).
    Sync,
    /// Mirror nothing: every request goes to the source only and no target
    /// connection is opened. A pass-through relay, for measuring the
    /// proxy's own cost (`scripts/bench-proxy.sh`) or for pausing the
    /// mirroring; writes made meanwhile are NOT on the target.
    Off,
}

impl std::str::FromStr for WriteMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "async" => Ok(Self::Async),
            "sync" => Ok(Self::Sync),
            "off" => Ok(Self::Off),
            other => Err(format!("write mode {other:?}: expected async, sync or off")),
        }
    }
}

impl fmt::Display for WriteMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Async => "async",
            Self::Sync => "sync",
            Self::Off => "off",
        })
    }
}

/// What an async-mode write does when the target queue is full.
///
/// The default is [`FullQueuePolicy::Spill`]: the proxy's first promise
/// is not to slow the application down because of the target.
///
/// ```
/// use ferry_router::FullQueuePolicy;
/// assert_eq!(FullQueuePolicy::default(), FullQueuePolicy::Spill);
/// assert_eq!("backpressure".parse::<FullQueuePolicy>().unwrap(), FullQueuePolicy::Backpressure);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FullQueuePolicy {
    /// Stop reading that client's requests until the queue has room: the
    /// client slows down to the target's pace, nothing is written to disk.
    Backpressure,
    /// Append the write to the failed-write log at once (replay it later):
    /// the client keeps its speed, the target falls behind on disk.
    #[default]
    Spill,
}

impl std::str::FromStr for FullQueuePolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "backpressure" => Ok(Self::Backpressure),
            "spill" => Ok(Self::Spill),
            other => Err(format!(
                "full-queue policy {other:?}: expected backpressure or spill"
            )),
        }
    }
}

impl fmt::Display for FullQueuePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Backpressure => "backpressure",
            Self::Spill => "spill",
        })
    }
}

/// A user name and password, never shown by `Debug`.
///
/// ```
/// use ferry_router::Credentials;
/// let c = Credentials::new("migrator", "hunter2");
/// assert_eq!(c.username(), "migrator");
/// assert!(!format!("{c:?}").contains("hunter2"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    username: String,
    password: String,
}

impl Credentials {
    /// Credentials for SASL PLAIN (`PasswordAuthenticator`).
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            password: password.into(),
        }
    }

    /// The user name.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The password.
    pub fn password(&self) -> &str {
        &self.password
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// How to reach one cluster (one node of it).
///
/// ```
/// use ferry_router::ClusterEndpoint;
/// let source = ClusterEndpoint::plain("10.0.0.1:9042");
/// assert!(source.tls.is_none());
/// ```
#[derive(Debug, Clone)]
pub struct ClusterEndpoint {
    /// `host:port`.
    pub address: String,
    /// TLS for this leg; `None` for plain TCP.
    pub tls: Option<TlsOptions>,
}

impl ClusterEndpoint {
    /// A plain-TCP endpoint.
    pub fn plain(address: impl Into<String>) -> Self {
        Self {
            address: address.into(),
            tls: None,
        }
    }

    /// A TLS endpoint.
    pub fn with_tls(address: impl Into<String>, tls: TlsOptions) -> Self {
        Self {
            address: address.into(),
            tls: Some(tls),
        }
    }

    /// The host part of the address (for TLS server names).
    pub(crate) fn host(&self) -> &str {
        host_of(&self.address)
    }
}

/// The host of `host:port` or `[v6]:port`.
pub(crate) fn host_of(address: &str) -> &str {
    if let Some(rest) = address.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match address.rsplit_once(':') {
        Some((host, _)) => host,
        None => address,
    }
}

/// How target writes are retried before they go to the failed-write log.
///
/// ```
/// use std::time::Duration;
/// use ferry_router::RetryPolicy;
/// let p = RetryPolicy::default();
/// assert_eq!(p.backoff(0), p.initial_backoff);
/// assert!(p.backoff(30) <= p.max_backoff);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts after the first one.
    pub max_retries: u32,
    /// Wait before the first retry; doubles each time.
    pub initial_backoff: Duration,
    /// Longest wait between two attempts.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// Wait before retry number `retry` (0 for the first retry).
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(20)).unwrap_or(u32::MAX);
        self.initial_backoff
            .checked_mul(factor)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff)
    }
}

/// Everything the proxy needs.
///
/// ```
/// use ferry_router::{ClusterEndpoint, ProxyConfig};
/// let config = ProxyConfig::new(
///     ClusterEndpoint::plain("127.0.0.8:9042"),
///     ClusterEndpoint::plain("127.0.0.9:9042"),
///     "/var/lib/ferry/failed-writes.log",
/// );
/// assert_eq!(config.listen.port(), 29042);
/// assert!(config.validate().is_ok());
/// ```
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// Where clients connect (default `127.0.0.1:29042`; port 0 picks one).
    pub listen: SocketAddr,
    /// The source cluster: every request goes there, clients get its answers.
    pub source: ClusterEndpoint,
    /// The target cluster: writes are mirrored there.
    pub target: ClusterEndpoint,
    /// Credentials for the target leg. `None`: reuse the client's own
    /// SASL PLAIN credentials (captured from its AUTH_RESPONSE).
    pub target_credentials: Option<Credentials>,
    /// Highest protocol version clients may use; higher ones are refused
    /// with a protocol error so drivers step down. Set it to what the
    /// target supports too (the binary's startup check does).
    pub max_protocol_version: ProtocolVersion,
    /// `CQL_VERSION` the proxy announces on its own target connections.
    pub cql_version: String,
    /// Async or sync target writes.
    pub write_mode: WriteMode,
    /// Target writes pending at once (queued or in flight), per proxy.
    pub queue_capacity: usize,
    /// What to do when that is reached.
    pub full_queue: FullQueuePolicy,
    /// Retries of a failed target write.
    pub retry: RetryPolicy,
    /// The durable failed-write log (appended to, created if missing).
    pub failed_write_log: PathBuf,
    /// Prepared statements remembered (source id to target id and
    /// statement), least recently used evicted first.
    pub prepared_cache_capacity: usize,
    /// Timeout of one target request.
    pub target_request_timeout: Duration,
    /// In async mode, how long a schema change's answer waits for the
    /// target once the source answered. Normally both answer and the
    /// client's next writes find the table on the target; a frozen target
    /// would otherwise hold the answer for the whole target timeout, past
    /// drivers' own timeouts (Python: 10 s), and the application would see
    /// an error for a change the source applied. After this wait the
    /// client gets the source's answer and the target part goes on in the
    /// background (the connection's later writes still wait for it).
    pub async_schema_wait: Duration,
    /// Timeout of connecting to either cluster (TCP + TLS + handshake step).
    pub connect_timeout: Duration,
    /// Largest frame body accepted from a client or the source.
    pub max_frame_len: usize,
    /// On shutdown: how long to wait for pending target writes before the
    /// rest are spilled to the failed-write log.
    pub drain_timeout: Duration,
    /// Topology-rewrite mode: answers to `system.local` / `system.peers`
    /// / `system.peers_v2` describe these proxy instances instead of the
    /// source's nodes (`None`: relayed as the source answers).
    pub topology: Option<crate::topology::ProxyTopology>,
    /// Also send reads to the target, in the background, to warm it up
    /// and measure it (the client's answer never waits for them).
    pub mirror_reads: bool,
    /// Mirrored reads in flight at once, per proxy; more are dropped (and
    /// counted): they only warm the target.
    pub mirror_reads_max_in_flight: usize,
    /// Replace `now()` and `uuid()` in writes with values the proxy
    /// generates, so both clusters store the same ids.
    pub replace_time_functions: bool,
    /// TLS for the applications' connections to the proxy; `None`: plain
    /// TCP.
    pub client_tls: Option<ClientTls>,
    /// The cluster client connections are relayed to (their handshake and
    /// answers); the other one gets the mirrored writes. Switch it at run
    /// time with [`Proxy::set_primary`](crate::Proxy::set_primary).
    pub primary: Cluster,
    /// Credentials for the source leg while the source is the mirror
    /// (target primary). `None`: the client's own SASL PLAIN credentials.
    pub source_credentials: Option<Credentials>,
    /// The failed-write log of writes mirrored to the *source* (while the
    /// target is primary). `None`: `failed_write_log` with `.to-source`
    /// before its extension.
    pub source_failed_write_log: Option<PathBuf>,
    /// How often `/health/ready` probes both clusters.
    pub health_probe_interval: Duration,
}

/// TLS on the client side of the proxy: its certificate and key (PEM
/// files or one PKCS#12 file), and optionally the CA client certificates
/// must be signed by.
///
/// ```
/// use ferry_router::{ClientTls, ClientTlsIdentity};
/// let tls = ClientTls::new("/etc/ferry/proxy.pem", "/etc/ferry/proxy.key")
///     .requiring_client_certs("/etc/ferry/clients-ca.pem");
/// assert!(tls.client_ca.is_some());
/// let p12 = ClientTls::from_pkcs12("/etc/ferry/proxy.p12", "changeit");
/// assert!(matches!(p12.identity, ClientTlsIdentity::Pkcs12 { .. }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientTls {
    /// The certificate chain and private key the proxy presents.
    pub identity: ClientTlsIdentity,
    /// PEM CA bundle; when set, clients must present a certificate it signed.
    pub client_ca: Option<PathBuf>,
}

/// Where the proxy's certificate chain and private key come from. `Debug`
/// never shows the PKCS#12 password.
///
/// ```
/// use ferry_router::ClientTlsIdentity;
/// let id = ClientTlsIdentity::Pkcs12 {
///     file: "/etc/ferry/proxy.p12".into(),
///     password: "changeit".into(),
/// };
/// assert!(!format!("{id:?}").contains("changeit"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub enum ClientTlsIdentity {
    /// PEM files (`--proxy-tls-cert`, `--proxy-tls-key`).
    Pem {
        /// PEM certificate chain (leaf first).
        cert: PathBuf,
        /// PEM private key of that certificate (PKCS#8, PKCS#1 or SEC1).
        key: PathBuf,
    },
    /// One PKCS#12 (`.p12`/`.pfx`) file holding the key and its chain
    /// (`--proxy-tls-pkcs12`).
    Pkcs12 {
        /// The file.
        file: PathBuf,
        /// Its password (empty for none).
        password: String,
    },
}

impl fmt::Debug for ClientTlsIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pem { cert, key } => f
                .debug_struct("Pem")
                .field("cert", cert)
                .field("key", key)
                .finish(),
            Self::Pkcs12 { file, .. } => f
                .debug_struct("Pkcs12")
                .field("file", file)
                .field("password", &"<redacted>")
                .finish(),
        }
    }
}

impl ClientTls {
    /// A PEM certificate and key, no client certificates asked for.
    pub fn new(cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        Self {
            identity: ClientTlsIdentity::Pem {
                cert: cert.into(),
                key: key.into(),
            },
            client_ca: None,
        }
    }

    /// The certificate and key from a PKCS#12 file, no client
    /// certificates asked for.
    pub fn from_pkcs12(file: impl Into<PathBuf>, password: impl Into<String>) -> Self {
        Self {
            identity: ClientTlsIdentity::Pkcs12 {
                file: file.into(),
                password: password.into(),
            },
            client_ca: None,
        }
    }

    /// Requires client certificates signed by a CA in `ca`.
    pub fn requiring_client_certs(mut self, ca: impl Into<PathBuf>) -> Self {
        self.client_ca = Some(ca.into());
        self
    }
}

impl ProxyConfig {
    /// Defaults for everything but the clusters and the log path: listen
    /// on 127.0.0.1:29042, protocol up to v5, async writes, queue of 10,000
    /// spilling to the log when full, 5 retries from 100 ms to 5 s, 10,000 prepared
    /// statements, 12 s target requests, 5 s connects, 30 s drain; no
    /// topology rewrite, no mirrored reads (1,024 in flight when on), no
    /// `now()`/`uuid()` replacement.
    pub fn new(
        source: ClusterEndpoint,
        target: ClusterEndpoint,
        failed_write_log: impl Into<PathBuf>,
    ) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 29042)),
            source,
            target,
            target_credentials: None,
            max_protocol_version: ProtocolVersion::V5,
            cql_version: "3.0.0".to_owned(),
            write_mode: WriteMode::Async,
            queue_capacity: 10_000,
            full_queue: FullQueuePolicy::Spill,
            retry: RetryPolicy::default(),
            failed_write_log: failed_write_log.into(),
            prepared_cache_capacity: 10_000,
            target_request_timeout: Duration::from_secs(12),
            async_schema_wait: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            max_frame_len: ferry_wire::frame::MAX_FRAME_LEN,
            drain_timeout: Duration::from_secs(30),
            topology: None,
            mirror_reads: false,
            mirror_reads_max_in_flight: 1024,
            replace_time_functions: false,
            client_tls: None,
            primary: Cluster::Source,
            source_credentials: None,
            source_failed_write_log: None,
            health_probe_interval: Duration::from_secs(2),
        }
    }

    /// The failed-write log of writes meant for `cluster`.
    ///
    /// ```
    /// use std::path::Path;
    /// use ferry_router::{Cluster, ClusterEndpoint, ProxyConfig};
    /// let c = ProxyConfig::new(ClusterEndpoint::plain("a:9042"), ClusterEndpoint::plain("b:9042"), "/var/ferry/failed.log");
    /// assert_eq!(c.failed_write_log_for(Cluster::Target), Path::new("/var/ferry/failed.log"));
    /// assert_eq!(c.failed_write_log_for(Cluster::Source), Path::new("/var/ferry/failed.to-source.log"));
    /// ```
    pub fn failed_write_log_for(&self, cluster: Cluster) -> PathBuf {
        match cluster {
            Cluster::Target => self.failed_write_log.clone(),
            Cluster::Source => self.source_failed_write_log.clone().unwrap_or_else(|| {
                let log = &self.failed_write_log;
                let stem = log
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "ferry-failed-writes".to_owned());
                let name = match log.extension() {
                    Some(ext) => format!("{stem}.to-source.{}", ext.to_string_lossy()),
                    None => format!("{stem}.to-source"),
                };
                log.with_file_name(name)
            }),
        }
    }

    /// This configuration as seen by the session code when `primary` is
    /// the relayed cluster: `source` is then the primary's endpoint,
    /// `target` the mirror's, with the mirror's credentials and log.
    pub(crate) fn oriented(&self, primary: Cluster) -> ProxyConfig {
        let mut c = self.clone();
        if primary == Cluster::Target {
            std::mem::swap(&mut c.source, &mut c.target);
            c.target_credentials = self.source_credentials.clone();
            c.source_credentials = self.target_credentials.clone();
            c.failed_write_log = self.failed_write_log_for(Cluster::Source);
        }
        c.primary = primary;
        c
    }

    /// Checks the settings that would otherwise fail later in odd ways.
    pub fn validate(&self) -> Result<(), String> {
        if self.queue_capacity == 0 {
            return Err("queue_capacity must be at least 1".into());
        }
        if self.prepared_cache_capacity == 0 {
            return Err("prepared_cache_capacity must be at least 1".into());
        }
        if self.target_request_timeout.is_zero() || self.connect_timeout.is_zero() {
            return Err("timeouts must be longer than zero".into());
        }
        if self.source.address.is_empty() || self.target.address.is_empty() {
            return Err("source and target addresses are required".into());
        }
        if self.mirror_reads && self.mirror_reads_max_in_flight == 0 {
            return Err("mirror_reads_max_in_flight must be at least 1".into());
        }
        if let Some(topology) = &self.topology {
            topology.validate()?;
        }
        if self.health_probe_interval.is_zero() {
            return Err("health_probe_interval must be longer than zero".into());
        }
        if self.failed_write_log_for(Cluster::Source) == self.failed_write_log {
            return Err(
                "the failed-write logs for the source and the target must be different files"
                    .into(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_of_handles_v6_and_missing_port() {
        assert_eq!(host_of("10.0.0.1:9042"), "10.0.0.1");
        assert_eq!(host_of("[::1]:9042"), "::1");
        assert_eq!(host_of("node1"), "node1");
    }

    #[test]
    fn orienting_for_the_target_swaps_legs_credentials_and_logs() {
        let mut c = ProxyConfig::new(
            ClusterEndpoint::plain("s:9042"),
            ClusterEndpoint::plain("t:9042"),
            "/x/failed.log",
        );
        c.target_credentials = Some(Credentials::new("tu", "tp"));
        c.source_credentials = Some(Credentials::new("su", "sp"));
        let same = c.oriented(Cluster::Source);
        assert_eq!(same.source.address, "s:9042");
        assert_eq!(same.target_credentials.as_ref().unwrap().username(), "tu");
        let swapped = c.oriented(Cluster::Target);
        assert_eq!(swapped.source.address, "t:9042");
        assert_eq!(swapped.target.address, "s:9042");
        assert_eq!(
            swapped.target_credentials.as_ref().unwrap().username(),
            "su"
        );
        assert_eq!(
            swapped.failed_write_log,
            PathBuf::from("/x/failed.to-source.log")
        );
        assert_eq!(swapped.primary, Cluster::Target);
    }

    #[test]
    fn backoff_doubles_then_caps() {
        let p = RetryPolicy {
            max_retries: 9,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(700),
        };
        let waits: Vec<_> = (0..5).map(|i| p.backoff(i).as_millis()).collect();
        assert_eq!(waits, vec![100, 200, 400, 700, 700]);
        assert_eq!(p.backoff(u32::MAX), Duration::from_millis(700));
    }
}
