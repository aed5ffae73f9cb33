//! The listener: accepting clients, and shutting down cleanly.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::clock::TimestampClock;
use crate::config::ProxyConfig;
use crate::failed_log::{FailedWriteLog, LogError};
use crate::metrics::Metrics;
use crate::prepared::PreparedCache;
use crate::queue::{DrainReport, TargetQueue};
use crate::session::serve_client;
use crate::shared::ProxyShared;
use crate::upstream::Dialer;

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
    shared: Arc<ProxyShared>,
    local_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    accept: JoinHandle<()>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
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

/// Read access to a running proxy's metrics (for an HTTP endpoint).
#[derive(Clone)]
pub struct MetricsHandle(Arc<ProxyShared>);

impl std::fmt::Debug for MetricsHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsHandle").finish_non_exhaustive()
    }
}

impl MetricsHandle {
    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        self.0.metrics.render(&self.0.gauges())
    }

    /// The counters.
    pub fn counters(&self) -> &Metrics {
        &self.0.metrics
    }

    /// Target writes queued or in flight.
    pub fn queue_depth(&self) -> usize {
        self.0.queue.depth()
    }

    /// Records in the failed-write log.
    pub fn failed_log_records(&self) -> u64 {
        self.0.queue.log.records()
    }
}

impl Proxy {
    /// Opens the failed-write log, binds `config.listen` and starts
    /// accepting clients.
    pub async fn start(config: ProxyConfig) -> Result<Proxy, ProxyError> {
        config.validate().map_err(ProxyError::Config)?;
        let log = Arc::new(FailedWriteLog::open(&config.failed_write_log)?);
        if log.records() > 0 {
            tracing::warn!(
                log = %log.path().display(),
                records = log.records(),
                "the failed-write log holds writes the target has not applied; run `ferry-proxy replay` once the target is healthy"
            );
        }
        let source = Dialer::new(&config.source, config.connect_timeout)?;
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
        let metrics = Arc::new(Metrics::default());
        let queue = TargetQueue::new(
            config.queue_capacity,
            config.full_queue,
            config.retry,
            log,
            metrics.clone(),
        );
        let (shutdown, shutdown_rx) = watch::channel(false);
        let shared = Arc::new(ProxyShared {
            prepared: Arc::new(PreparedCache::new(config.prepared_cache_capacity)),
            config,
            metrics,
            queue,
            clock: TimestampClock::new(),
            source,
            shutdown: shutdown_rx,
            next_connection_id: AtomicU64::new(0),
        });
        tracing::info!(
            listen = %local_addr,
            source = %shared.config.source.address,
            target = %shared.config.target.address,
            write_mode = %shared.config.write_mode,
            max_protocol_version = %shared.config.max_protocol_version,
            "ferry-proxy listening"
        );
        let accept = tokio::spawn(accept_loop(listener, shared.clone()));
        Ok(Proxy {
            shared,
            local_addr,
            shutdown,
            accept,
        })
    }

    /// The address clients connect to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The metrics.
    pub fn metrics(&self) -> MetricsHandle {
        MetricsHandle(self.shared.clone())
    }

    /// Stops accepting, lets open connections finish the requests they
    /// sent (a few seconds at most) and close, then waits for the target
    /// queue to drain; writes still pending after `drain_timeout` are
    /// spilled to the failed-write log.
    pub async fn shutdown(self) -> ShutdownReport {
        self.accept.abort();
        self.shutdown.send_replace(true);
        let open = &self.shared.metrics.connections_open;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while open.load(Ordering::Relaxed) > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let connections_left = open.load(Ordering::Relaxed);
        let drain = self
            .shared
            .queue
            .drain(self.shared.config.drain_timeout)
            .await;
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

async fn accept_loop(listener: TcpListener, shared: Arc<ProxyShared>) {
    loop {
        match listener.accept().await {
            Ok((socket, peer)) => {
                tokio::spawn(serve_client(shared.clone(), socket, peer));
            }
            Err(e) => {
                // EMFILE and friends: wait a little rather than spin.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}
