//! The listener: accepting clients, and shutting down cleanly.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::client_tls::ClientTlsError;
use crate::config::ProxyConfig;
use crate::failed_log::LogError;
use crate::health::probe_forever;
use crate::metrics::{Cluster, Metrics, RequestKind};
use crate::queue::DrainReport;
use crate::session::{serve_client, ClientStream};
use crate::switchboard::{SwitchReport, Switchboard};
use crate::upstream::Dialer;

/// Longest a client's TLS handshake may take.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the proxy could not start.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// A setting is unusable.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The listening socket could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// What the OS said.
        #[source]
        source: io::Error,
    },
    /// The failed-write log cannot be opened (or is damaged).
    #[error(transparent)]
    FailedWriteLog(#[from] LogError),
    /// The source's TLS files are unusable.
    #[error("TLS settings of the source: {0}")]
    SourceTls(#[from] ferry_conn::TlsError),
    /// The target's TLS files are unusable.
    #[error("TLS settings of the target: {0}")]
    TargetTls(ferry_conn::TlsError),
    /// The client-side TLS files are unusable.
    #[error(transparent)]
    ClientTls(#[from] ClientTlsError),
}

/// A running proxy.
///
/// ```no_run
/// # async fn demo() -> Result<(), ferry_router::ProxyError> {
/// use ferry_router::{ClusterEndpoint, Proxy, ProxyConfig};
/// let config = ProxyConfig::new(
///     ClusterEndpoint::plain("127.0.0.8:9042"),
///     ClusterEndpoint::plain("127.0.0.9:9042"),
///     "failed-writes.log",
/// );
/// let proxy = Proxy::start(config).await?;
/// println!("clients connect to {}", proxy.local_addr());
/// // ... on SIGTERM:
/// let report = proxy.shutdown().await;
/// println!("{} pending target writes spilled to the log", report.drain.spilled);
/// # Ok(()) }
/// ```
pub struct Proxy {
    board: Arc<Switchboard>,
    local_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    accept: JoinHandle<()>,
    prober: JoinHandle<()>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        // The health probe exists only for this proxy (a dropped proxy
        // without shutdown keeps its listener task, as before).
        self.prober.abort();
    }
}

/// What [`Proxy::shutdown`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ShutdownReport {
    /// Client connections still open when the proxy stopped waiting.
    pub connections_left: i64,
    /// The target queue's drain.
    pub drain: DrainReport,
}

/// Read access to a running proxy's metrics and health, and the primary
/// switch (for the HTTP endpoint).
#[derive(Clone)]
pub struct MetricsHandle(Arc<Switchboard>);

impl std::fmt::Debug for MetricsHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsHandle").finish_non_exhaustive()
    }
}

impl MetricsHandle {
    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        Metrics::render_all(&self.0.metrics(), &self.0.gauges())
    }

    /// The counters of the connections relayed to the source (the
    /// default primary); see [`MetricsHandle::requests`] for both
    /// directions.
    pub fn counters(&self) -> &Metrics {
        self.0.metrics()[0]
    }

    /// Requests of `kind` sent to `cluster`, whichever was primary.
    pub fn requests(&self, kind: RequestKind, cluster: Cluster) -> u64 {
        self.0
            .metrics()
            .iter()
            .map(|m| m.requests(kind, cluster))
            .sum()
    }

    /// Mirrored writes queued or in flight (all directions).
    pub fn queue_depth(&self) -> usize {
        self.0.built().map(|d| d.queue.depth()).sum()
    }

    /// Records in the failed-write log(s).
    pub fn failed_log_records(&self) -> u64 {
        self.0.built().map(|d| d.queue.log.records()).sum()
    }

    /// Client connections open.
    pub fn connections_open(&self) -> i64 {
        self.0.connections_open()
    }

    /// The current primary.
    pub fn primary(&self) -> Cluster {
        self.0.primary()
    }

    /// `Ok` when the proxy can serve: both clusters answered the last
    /// health probe and it is not shutting down; otherwise why not.
    pub fn readiness(&self) -> Result<(), String> {
        if self.0.shutting_down() {
            return Err("the proxy is shutting down".to_owned());
        }
        let reasons: Vec<String> = [Cluster::Source, Cluster::Target]
            .into_iter()
            .filter_map(|c| {
                self.0
                    .health
                    .reason(c)
                    .map(|why| format!("{c} ({}): {why}", self.address(c)))
            })
            .collect();
        if reasons.is_empty() {
            Ok(())
        } else {
            Err(reasons.join("; "))
        }
    }

    fn address(&self, c: Cluster) -> &str {
        let config = self.0.config();
        match c {
            Cluster::Source => &config.source.address,
            Cluster::Target => &config.target.address,
        }
    }

    /// Makes `cluster` the primary (see [`Proxy::set_primary`]).
    pub async fn set_primary(&self, cluster: Cluster) -> Result<SwitchReport, ProxyError> {
        self.0.switch_to(cluster).await
    }
}

impl Proxy {
    /// Opens the failed-write log, binds `config.listen` and starts
    /// accepting clients (over TLS if `config.client_tls` is set), and
    /// probing both clusters for `/health/ready`.
    pub async fn start(config: ProxyConfig) -> Result<Proxy, ProxyError> {
        config.validate().map_err(ProxyError::Config)?;
        let tls = match &config.client_tls {
            Some(t) => Some(t.acceptor()?),
            None => None,
        };
        let probes = [
            (
                Cluster::Source,
                Dialer::new(&config.source, config.connect_timeout)?,
            ),
            (
                Cluster::Target,
                Dialer::new(&config.target, config.connect_timeout)
                    .map_err(ProxyError::TargetTls)?,
            ),
        ];
        let (shutdown, shutdown_rx) = watch::channel(false);
        let board = Arc::new(Switchboard::new(config, shutdown_rx)?);
        let config = board.config();
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| ProxyError::Bind {
                    address: config.listen,
                    source,
                })?;
        let local_addr = listener.local_addr().map_err(|source| ProxyError::Bind {
            address: config.listen,
            source,
        })?;
        tracing::info!(
            listen = %local_addr,
            tls = tls.is_some(),
            source = %config.source.address,
            target = %config.target.address,
            primary = %config.primary,
            write_mode = %config.write_mode,
            max_protocol_version = %config.max_protocol_version,
            "ferry-proxy listening"
        );
        let prober = tokio::spawn(probe_forever(
            board.health.clone(),
            probes,
            config.health_probe_interval,
            config.connect_timeout,
        ));
        let accept = tokio::spawn(accept_loop(listener, board.clone(), tls));
        Ok(Proxy {
            board,
            local_addr,
            shutdown,
            accept,
            prober,
        })
    }

    /// The address clients connect to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The metrics.
    pub fn metrics(&self) -> MetricsHandle {
        MetricsHandle(self.board.clone())
    }

    /// Makes `cluster` the primary: new client connections are relayed
    /// to it at once (their handshake included) and writes are mirrored to
    /// the other cluster; connections relayed to the old primary stop
    /// reading, get the answers to what they sent, and are closed (drivers
    /// reconnect). Returns when they are closed (at most about 7 s).
    pub async fn set_primary(&self, cluster: Cluster) -> Result<SwitchReport, ProxyError> {
        self.board.switch_to(cluster).await
    }

    /// Stops accepting, lets open connections finish the requests they
    /// sent (a few seconds at most) and close, then waits for the target
    /// queue to drain; writes still pending after `drain_timeout` are
    /// spilled to the failed-write log.
    pub async fn shutdown(self) -> ShutdownReport {
        self.accept.abort();
        self.prober.abort();
        self.shutdown.send_replace(true);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while self.board.connections_open() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let connections_left = self.board.connections_open();
        let drain = self.board.drain(self.board.config().drain_timeout).await;
        tracing::info!(
            connections_left,
            spilled = drain.spilled,
            "ferry-proxy stopped"
        );
        ShutdownReport {
            connections_left,
            drain,
        }
    }
}

async fn accept_loop(listener: TcpListener, board: Arc<Switchboard>, tls: Option<TlsAcceptor>) {
    loop {
        match listener.accept().await {
            Ok((socket, peer)) => {
                let Some(shared) = board.current() else {
                    continue; // unreachable: the current direction is built first
                };
                match &tls {
                    None => {
                        tokio::spawn(serve_client(shared, ClientStream::Plain(socket), peer));
                    }
                    Some(acceptor) => {
                        tokio::spawn(accept_tls(acceptor.clone(), shared, socket, peer));
                    }
                }
            }
            Err(e) => {
                // EMFILE and friends: wait a little rather than spin.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// The TLS handshake of one client, off the accept loop (a slow or
/// plain-text client must not hold up the others). A failure closes only
/// that connection.
async fn accept_tls(
    acceptor: TlsAcceptor,
    shared: Arc<crate::shared::ProxyShared>,
    socket: TcpStream,
    peer: SocketAddr,
) {
    let _ = socket.set_nodelay(true);
    match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(socket)).await {
        Ok(Ok(stream)) => serve_client(shared, ClientStream::Tls(Box::new(stream)), peer).await,
        Ok(Err(e)) => {
            Metrics::inc(&shared.metrics.client_tls_errors);
            tracing::info!(%peer, error = %e, "client TLS handshake failed; connection closed");
        }
        Err(_) => {
            Metrics::inc(&shared.metrics.client_tls_errors);
            tracing::info!(%peer, "client TLS handshake timed out; connection closed");
        }
    }
}
