//! Which cluster is primary, and switching it at run time.
//!
//! The proxy keeps one routing direction ([`ProxyShared`]) per primary it
//! has used: its oriented settings, metrics, prepared-statement cache,
//! mirror queue and failed-write log (writes meant for the target and
//! writes meant for the source go to different logs, so each can be
//! replayed to the right cluster). The direction for the configured
//! primary is built at startup, the other one at the first switch to it
//! (or at startup too, if its log already exists, to report its records).
//!
//! A switch takes effect at once for new connections. Connections of the
//! old direction stop reading, wait for the answers to what they already
//! forwarded, and close; drivers reconnect and land on the new primary.
//! Mirror writes of the old direction still pending keep going (its queue
//! is not dropped), and every write carries a timestamp from the one
//! shared clock, so a later write through the new primary wins over an
//! older one still being mirrored.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::clock::TimestampClock;
use crate::config::ProxyConfig;
use crate::failed_log::FailedWriteLog;
use crate::health::Health;
use crate::metrics::{Cluster, Gauges, Metrics};
use crate::prepared::PreparedCache;
use crate::queue::{DrainReport, TargetQueue};
use crate::server::ProxyError;
use crate::shared::ProxyShared;
use crate::upstream::Dialer;

/// How long a switch waits for the old connections to close: their own
/// grace (5 s) plus a margin.
const SWITCH_WAIT: Duration = Duration::from_secs(7);

/// What a primary switch did.
///
/// ```
/// use std::time::Duration;
/// use ferry_router::{Cluster, SwitchReport};
/// let r = SwitchReport {
///     previous: Cluster::Source,
///     primary: Cluster::Target,
///     changed: true,
///     connections_closed: 3,
///     connections_still_open: 0,
///     duration: Duration::from_millis(12),
///     mirror_writes_pending: 0,
/// };
/// assert!(r.to_json().contains("\"primary\":\"target\""));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SwitchReport {
    /// The primary before.
    pub previous: Cluster,
    /// The primary now.
    pub primary: Cluster,
    /// False if `primary` already was the primary (nothing done).
    pub changed: bool,
    /// Client connections of the old primary that closed.
    pub connections_closed: i64,
    /// Old connections still open when the switch stopped waiting.
    pub connections_still_open: i64,
    /// From the request to the last old connection closed.
    pub duration: Duration,
    /// Writes of the old direction not yet applied on its mirror cluster
    /// (they are still retried, or logged).
    pub mirror_writes_pending: usize,
}

impl SwitchReport {
    /// The report as a JSON object (the admin endpoint's answer).
    pub fn to_json(&self) -> String {
        format!(
            "{{\"previous\":\"{}\",\"primary\":\"{}\",\"changed\":{},\"connections_closed\":{},\"connections_still_open\":{},\"switch_seconds\":{:.6},\"mirror_writes_pending\":{}}}",
            self.previous,
            self.primary,
            self.changed,
            self.connections_closed,
            self.connections_still_open,
            self.duration.as_secs_f64(),
            self.mirror_writes_pending
        )
    }
}

/// The directions, the current primary and the health of both clusters.
pub(crate) struct Switchboard {
    config: ProxyConfig,
    metrics: [Arc<Metrics>; 2],
    directions: [OnceLock<Arc<ProxyShared>>; 2],
    building: Mutex<()>,
    clock: Arc<TimestampClock>,
    next_connection_id: Arc<AtomicU64>,
    shutdown: watch::Receiver<bool>,
    current: watch::Sender<Cluster>,
    switching: tokio::sync::Mutex<()>,
    pub(crate) health: Arc<Health>,
}

fn index(c: Cluster) -> usize {
    match c {
        Cluster::Source => 0,
        Cluster::Target => 1,
    }
}

impl Switchboard {
    /// Builds the configured primary's direction (and the other one if
    /// its failed-write log exists).
    pub(crate) fn new(
        config: ProxyConfig,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Switchboard, ProxyError> {
        let primary = config.primary;
        let board = Switchboard {
            metrics: [
                Arc::new(Metrics::with_primary(Cluster::Source)),
                Arc::new(Metrics::with_primary(Cluster::Target)),
            ],
            directions: [OnceLock::new(), OnceLock::new()],
            building: Mutex::new(()),
            clock: Arc::new(TimestampClock::new()),
            next_connection_id: Arc::new(AtomicU64::new(0)),
            shutdown,
            current: watch::channel(primary).0,
            switching: tokio::sync::Mutex::new(()),
            health: Arc::new(Health::default()),
            config,
        };
        board.direction(primary)?;
        let other = primary.other();
        // The mirror of the other direction is `primary`.
        if board.config.failed_write_log_for(primary).exists() {
            board.direction(other)?;
        }
        Ok(board)
    }

    /// The settings as given (not oriented).
    pub(crate) fn config(&self) -> &ProxyConfig {
        &self.config
    }

    /// The direction relayed to `primary`, built if needed.
    pub(crate) fn direction(&self, primary: Cluster) -> Result<Arc<ProxyShared>, ProxyError> {
        let slot = &self.directions[index(primary)];
        if let Some(d) = slot.get() {
            return Ok(d.clone());
        }
        let _building = self.building.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(d) = slot.get() {
            return Ok(d.clone());
        }
        let built = Arc::new(self.build(primary)?);
        let _ = slot.set(built.clone());
        Ok(built)
    }

    fn build(&self, primary: Cluster) -> Result<ProxyShared, ProxyError> {
        let config = self.config.oriented(primary);
        let log = Arc::new(FailedWriteLog::open(&config.failed_write_log)?);
        if log.records() > 0 {
            tracing::warn!(
                log = %log.path().display(),
                records = log.records(),
                cluster = primary.other().label(),
                "the failed-write log holds writes this cluster has not applied; run `ferry-proxy replay` once it is healthy"
            );
        }
        // `config.source` is the primary: the target when it is primary.
        let source =
            Dialer::new(&config.source, config.connect_timeout).map_err(|e| match primary {
                Cluster::Source => ProxyError::SourceTls(e),
                Cluster::Target => ProxyError::TargetTls(e),
            })?;
        let metrics = self.metrics[index(primary)].clone();
        let queue = TargetQueue::new(
            config.queue_capacity,
            config.full_queue,
            config.retry,
            log,
            metrics.clone(),
        );
        Ok(ProxyShared {
            prepared: Arc::new(PreparedCache::new(config.prepared_cache_capacity)),
            primary,
            metrics,
            queue,
            clock: self.clock.clone(),
            source,
            shutdown: self.shutdown.clone(),
            current_primary: self.current.subscribe(),
            next_connection_id: self.next_connection_id.clone(),
            config,
        })
    }

    /// The current primary.
    pub(crate) fn primary(&self) -> Cluster {
        *self.current.borrow()
    }

    /// The direction new connections use.
    pub(crate) fn current(&self) -> Option<Arc<ProxyShared>> {
        self.directions[index(self.primary())].get().cloned()
    }

    /// The directions built so far.
    pub(crate) fn built(&self) -> impl Iterator<Item = &Arc<ProxyShared>> {
        self.directions.iter().filter_map(OnceLock::get)
    }

    /// Both directions' metrics, (source primary, target primary).
    pub(crate) fn metrics(&self) -> [&Metrics; 2] {
        [&self.metrics[0], &self.metrics[1]]
    }

    /// Client connections open, all directions.
    pub(crate) fn connections_open(&self) -> i64 {
        self.metrics
            .iter()
            .map(|m| m.connections_open.load(Ordering::Relaxed))
            .sum()
    }

    /// Whether the proxy is shutting down.
    pub(crate) fn shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Makes `to` the primary: new connections go there at once, the old
    /// ones close after their answers; returns once they have (or after
    /// [`SWITCH_WAIT`]).
    pub(crate) async fn switch_to(&self, to: Cluster) -> Result<SwitchReport, ProxyError> {
        let _one_at_a_time = self.switching.lock().await;
        let started = Instant::now();
        let previous = self.primary();
        let old = &self.metrics[index(previous)];
        let old_open = old.connections_open.load(Ordering::Relaxed);
        if previous != to {
            self.direction(to)?;
            self.current.send_replace(to);
            tracing::info!(
                from = previous.label(),
                to = to.label(),
                connections = old_open,
                "switching the primary cluster"
            );
            let deadline = started + SWITCH_WAIT;
            while old.connections_open.load(Ordering::Relaxed) > 0 && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        let still_open = old.connections_open.load(Ordering::Relaxed);
        let report = SwitchReport {
            previous,
            primary: to,
            changed: previous != to,
            connections_closed: if previous != to {
                old_open - still_open
            } else {
                0
            },
            connections_still_open: if previous != to { still_open } else { 0 },
            duration: started.elapsed(),
            mirror_writes_pending: self.directions[index(previous)]
                .get()
                .map_or(0, |d| d.queue.depth()),
        };
        if report.changed {
            tracing::info!(
                primary = to.label(),
                seconds = report.duration.as_secs_f64(),
                still_open,
                "primary switched"
            );
        }
        Ok(report)
    }

    /// The gauges for the metrics endpoint, all directions together.
    pub(crate) fn gauges(&self) -> Gauges {
        let mut g = Gauges {
            primary: self.primary(),
            cluster_up: self.health.both(),
            ..Gauges::default()
        };
        for d in self.built() {
            g.queue_depth += d.queue.depth() as u64;
            g.queue_capacity += d.queue.capacity() as u64;
            let oldest = d
                .queue
                .oldest_pending()
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0);
            g.oldest_pending_seconds = g.oldest_pending_seconds.max(oldest);
            g.failed_log_bytes += d.queue.log.size_bytes();
            g.failed_log_records += d.queue.log.records();
            g.prepared_entries += d.prepared.len() as u64;
            g.prepared_evictions += d.prepared.evictions();
        }
        g
    }

    /// Drains every direction's queue at once (see `TargetQueue::drain`).
    pub(crate) async fn drain(&self, timeout: Duration) -> DrainReport {
        let queues: Vec<Arc<TargetQueue>> = self.built().map(|d| d.queue.clone()).collect();
        let (first, second) = match queues.as_slice() {
            [] => {
                return DrainReport {
                    spilled: 0,
                    complete: true,
                }
            }
            [only] => (only.drain(timeout).await, None),
            [a, b, ..] => {
                let (x, y) = tokio::join!(a.drain(timeout), b.drain(timeout));
                (x, Some(y))
            }
        };
        match second {
            None => first,
            Some(second) => DrainReport {
                spilled: first.spilled + second.spilled,
                complete: first.complete && second.complete,
            },
        }
    }
}
