//! Counters and gauges, rendered in the Prometheus text format.
//!
//! Hand-rolled: a handful of atomics and one `render` function, no
//! registry. Names start with `ferry_proxy_`.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// What a request was, for the request counters.
///
/// ```
/// use ferry_router::RequestKind;
/// assert_eq!(RequestKind::Write.label(), "write");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// OPTIONS, STARTUP, AUTH_RESPONSE.
    Handshake,
    /// Reads (SELECT, LIST ...).
    Read,
    /// Data writes (INSERT, UPDATE, DELETE, TRUNCATE, unknown statements).
    Write,
    /// BATCH.
    Batch,
    /// Schema changes.
    Schema,
    /// USE.
    Use,
    /// PREPARE.
    Prepare,
    /// REGISTER.
    Register,
    /// Access control and anything else that goes to the source only.
    Other,
}

impl RequestKind {
    const ALL: [RequestKind; 9] = [
        Self::Handshake,
        Self::Read,
        Self::Write,
        Self::Batch,
        Self::Schema,
        Self::Use,
        Self::Prepare,
        Self::Register,
        Self::Other,
    ];

    /// The `kind` label value.
    pub fn label(self) -> &'static str {
        match self {
            Self::Handshake => "handshake",
            Self::Read => "read",
            Self::Write => "write",
            Self::Batch => "batch",
            Self::Schema => "schema",
            Self::Use => "use",
            Self::Prepare => "prepare",
            Self::Register => "register",
            Self::Other => "other",
        }
    }
}

/// Which cluster a request went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cluster {
    /// The source.
    Source,
    /// The target.
    Target,
}

impl Cluster {
    /// The `cluster` label value.
    pub fn label(self) -> &'static str {
        match self {
            Self::Source => "source",
            Self::Target => "target",
        }
    }
}

/// The proxy's counters. Cheap to update from any task.
///
/// ```
/// use ferry_router::{Cluster, Metrics, RequestKind};
/// let m = Metrics::default();
/// m.request(RequestKind::Write, Cluster::Source);
/// assert_eq!(m.requests(RequestKind::Write, Cluster::Source), 1);
/// ```
#[derive(Debug, Default)]
pub struct Metrics {
    requests: [[AtomicU64; 2]; RequestKind::ALL.len()],
    /// Target writes applied (first try or after retries).
    pub target_writes_ok: AtomicU64,
    /// Target write attempts that failed and were retried.
    pub target_retries: AtomicU64,
    /// Target writes that failed for good (then logged).
    pub target_failures: AtomicU64,
    /// Target writes not sent because the source refused the request
    /// (syntax, invalid, unauthorized...): the target would refuse it too.
    pub target_skipped: AtomicU64,
    /// Writes appended to the failed-write log.
    pub failed_log_records: AtomicU64,
    /// Appends to the failed-write log that failed (disk full...). Each
    /// one is also logged at ERROR level with the write's details.
    pub failed_log_errors: AtomicU64,
    /// Writes spilled to the log because the queue was full.
    pub queue_spills: AtomicU64,
    /// EXECUTEs answered with UNPREPARED because the id was unknown.
    pub prepared_misses: AtomicU64,
    /// Client connections accepted.
    pub connections_total: AtomicU64,
    /// Client connections open.
    pub connections_open: AtomicI64,
    /// Client connections closed for bytes that are not the protocol.
    pub client_protocol_errors: AtomicU64,
    /// Reads mirrored to the target (`--mirror-reads`).
    pub mirrored_reads: crate::mirror_reads::MirroredReadMetrics,
}

/// Gauges read from other components at render time.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Gauges {
    /// Target writes queued or in flight.
    pub queue_depth: u64,
    /// The queue's bound.
    pub queue_capacity: u64,
    /// Age of the oldest pending target write, in seconds (0 if none).
    pub oldest_pending_seconds: f64,
    /// Failed-write log size in bytes.
    pub failed_log_bytes: u64,
    /// Prepared statements cached.
    pub prepared_entries: u64,
    /// Prepared statements evicted so far.
    pub prepared_evictions: u64,
}

impl Metrics {
    /// Counts one request of `kind` sent to `cluster`.
    pub fn request(&self, kind: RequestKind, cluster: Cluster) {
        self.slot(kind, cluster).fetch_add(1, Ordering::Relaxed);
    }

    /// The count for `kind` and `cluster`.
    pub fn requests(&self, kind: RequestKind, cluster: Cluster) -> u64 {
        self.slot(kind, cluster).load(Ordering::Relaxed)
    }

    fn slot(&self, kind: RequestKind, cluster: Cluster) -> &AtomicU64 {
        let k = RequestKind::ALL
            .iter()
            .position(|&x| x == kind)
            .unwrap_or(0);
        let c = match cluster {
            Cluster::Source => 0,
            Cluster::Target => 1,
        };
        &self.requests[k][c]
    }

    /// Increments a counter field.
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition of every counter and `gauges`.
    pub fn render(&self, gauges: &Gauges) -> String {
        let mut out = String::with_capacity(4096);
        out.push_str(
            "# HELP ferry_proxy_requests_total Requests sent, by request kind and cluster.\n\
             # TYPE ferry_proxy_requests_total counter\n",
        );
        for kind in RequestKind::ALL {
            for cluster in [Cluster::Source, Cluster::Target] {
                let _ = writeln!(
                    out,
                    "ferry_proxy_requests_total{{kind=\"{}\",cluster=\"{}\"}} {}",
                    kind.label(),
                    cluster.label(),
                    self.requests(kind, cluster)
                );
            }
        }
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let counters: [(&str, &str, u64); 10] = [
            (
                "target_writes_ok_total",
                "Target writes applied.",
                load(&self.target_writes_ok),
            ),
            (
                "target_retries_total",
                "Target write attempts that failed and were retried.",
                load(&self.target_retries),
            ),
            (
                "target_failures_total",
                "Target writes that failed after their retries (then logged).",
                load(&self.target_failures),
            ),
            (
                "target_skipped_total",
                "Writes not mirrored because the source refused them.",
                load(&self.target_skipped),
            ),
            (
                "failed_write_log_records_total",
                "Records appended to the failed-write log.",
                load(&self.failed_log_records),
            ),
            (
                "failed_write_log_errors_total",
                "Appends to the failed-write log that failed.",
                load(&self.failed_log_errors),
            ),
            (
                "queue_spills_total",
                "Writes logged because the target queue was full.",
                load(&self.queue_spills),
            ),
            (
                "prepared_misses_total",
                "EXECUTEs of unknown ids answered with UNPREPARED.",
                load(&self.prepared_misses),
            ),
            (
                "client_connections_total",
                "Client connections accepted.",
                load(&self.connections_total),
            ),
            (
                "client_protocol_errors_total",
                "Client connections closed for malformed bytes.",
                load(&self.client_protocol_errors),
            ),
        ];
        for (name, help, value) in counters {
            let _ = write!(
                out,
                "# HELP ferry_proxy_{name} {help}\n# TYPE ferry_proxy_{name} counter\nferry_proxy_{name} {value}\n"
            );
        }
        let gauges: [(&str, &str, f64); 8] = [
            (
                "client_connections",
                "Client connections open.",
                self.connections_open.load(Ordering::Relaxed) as f64,
            ),
            (
                "target_queue_depth",
                "Target writes queued or in flight.",
                gauges.queue_depth as f64,
            ),
            (
                "target_queue_capacity",
                "Bound of the target queue.",
                gauges.queue_capacity as f64,
            ),
            (
                "target_oldest_pending_seconds",
                "Age of the oldest pending target write (the target's lag).",
                gauges.oldest_pending_seconds,
            ),
            (
                "failed_write_log_bytes",
                "Size of the failed-write log.",
                gauges.failed_log_bytes as f64,
            ),
            (
                "prepared_cache_entries",
                "Prepared statements cached.",
                gauges.prepared_entries as f64,
            ),
            (
                "prepared_cache_evictions",
                "Prepared statements evicted from the cache.",
                gauges.prepared_evictions as f64,
            ),
            ("up", "1 while the proxy runs.", 1.0),
        ];
        for (name, help, value) in gauges {
            let _ = write!(
                out,
                "# HELP ferry_proxy_{name} {help}\n# TYPE ferry_proxy_{name} gauge\nferry_proxy_{name} {value}\n"
            );
        }
        self.mirrored_reads.render_into(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_has_one_sample_per_kind_and_cluster_and_the_gauges() {
        let m = Metrics::default();
        m.request(RequestKind::Batch, Cluster::Target);
        m.request(RequestKind::Batch, Cluster::Target);
        Metrics::inc(&m.target_failures);
        let text = m.render(&Gauges {
            queue_depth: 7,
            oldest_pending_seconds: 1.5,
            ..Gauges::default()
        });
        assert!(text.contains("ferry_proxy_requests_total{kind=\"batch\",cluster=\"target\"} 2\n"));
        assert!(text.contains("ferry_proxy_requests_total{kind=\"read\",cluster=\"source\"} 0\n"));
        assert!(text.contains("ferry_proxy_target_failures_total 1\n"));
        assert!(text.contains("ferry_proxy_target_queue_depth 7\n"));
        assert!(text.contains("ferry_proxy_target_oldest_pending_seconds 1.5\n"));
        let samples = text
            .lines()
            .filter(|l| l.starts_with("ferry_proxy_requests_total"))
            .count();
        assert_eq!(samples, 18);
        // Every sample line is `name{labels} value` or `name value`.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let value = line.rsplit(' ').next().unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
    }
}
