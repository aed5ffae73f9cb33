//! Counters and gauges, rendered in the Prometheus text format.
//!
//! Hand-rolled: a handful of atomics and one `render` function, no
//! registry. Names start with `ferry_proxy_`. Recording is a few relaxed
//! atomic adds (it sits on every request's path); the cumulative bucket
//! sums Prometheus wants are computed at render time.
//!
//! A proxy keeps one [`Metrics`] per routing direction (source primary,
//! target primary), so the session code can always say "the relayed leg"
//! ([`Cluster::Source`]) and "the mirror" ([`Cluster::Target`]); an
//! instance made with [`Metrics::with_primary`]`(Cluster::Target)` files
//! those under the swapped names, and [`Metrics::render_all`] adds the
//! directions up.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

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

    /// Position in [`RequestKind::ALL`] (array index of its counters).
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// The kind at `index` (see [`RequestKind::index`]).
    pub(crate) fn from_index(index: usize) -> RequestKind {
        Self::ALL.get(index).copied().unwrap_or(Self::Other)
    }

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

/// Which cluster a request went to; also which one is the primary.
///
/// ```
/// use ferry_router::Cluster;
/// assert_eq!("target".parse::<Cluster>().unwrap(), Cluster::Target);
/// assert_eq!(Cluster::Source.other(), Cluster::Target);
/// assert_eq!(Cluster::default(), Cluster::Source);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Cluster {
    /// The source.
    #[default]
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

    /// The other cluster.
    pub fn other(self) -> Cluster {
        match self {
            Self::Source => Self::Target,
            Self::Target => Self::Source,
        }
    }

    fn index(self) -> usize {
        match self {
            Self::Source => 0,
            Self::Target => 1,
        }
    }
}

impl std::str::FromStr for Cluster {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "source" => Ok(Self::Source),
            "target" => Ok(Self::Target),
            other => Err(format!("cluster {other:?}: expected source or target")),
        }
    }
}

impl std::fmt::Display for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// Upper bounds of the latency buckets, in microseconds (100 µs to 10 s;
/// `+Inf` is implicit).
const BUCKET_BOUNDS_MICROS: [u64; 16] = [
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 2_500_000, 5_000_000, 10_000_000,
];

/// A latency histogram: one counter per bucket (not cumulative: one add
/// per observation), the sum in microseconds and the count.
///
/// ```
/// use std::time::Duration;
/// use ferry_router::Histogram;
/// let h = Histogram::default();
/// h.observe(Duration::from_micros(700));
/// h.observe(Duration::from_secs(60));
/// assert_eq!(h.count(), 2);
/// assert_eq!(h.cumulative()[3], 1); // le=0.001
/// assert_eq!(*h.cumulative().last().unwrap(), 2); // le=+Inf
/// ```
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKET_BOUNDS_MICROS.len() + 1],
    sum_micros: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    /// Records one duration.
    pub fn observe(&self, d: Duration) {
        let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        // Most requests land in the first few buckets: a forward scan is
        // as fast as a binary search here.
        let i = BUCKET_BOUNDS_MICROS
            .iter()
            .position(|&b| micros <= b)
            .unwrap_or(BUCKET_BOUNDS_MICROS.len());
        if let Some(b) = self.buckets.get(i) {
            b.fetch_add(1, Ordering::Relaxed);
        }
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// Cumulative counts per bucket (the last one is `+Inf`).
    pub fn cumulative(&self) -> Vec<u64> {
        let mut total = 0;
        self.buckets
            .iter()
            .map(|b| {
                total += b.load(Ordering::Relaxed);
                total
            })
            .collect()
    }

    /// Sum of the observations, in microseconds.
    pub fn sum_micros(&self) -> u64 {
        self.sum_micros.load(Ordering::Relaxed)
    }
}

/// Adds up the same histogram of several [`Metrics`] and writes its samples.
fn write_histogram(out: &mut String, name: &str, labels: &str, parts: &[&Histogram]) {
    let mut cumulative = vec![0u64; BUCKET_BOUNDS_MICROS.len() + 1];
    let (mut sum, mut count) = (0u64, 0u64);
    for h in parts {
        for (total, c) in cumulative.iter_mut().zip(h.cumulative()) {
            *total += c;
        }
        sum += h.sum_micros();
        count += h.count();
    }
    for (i, c) in cumulative.iter().enumerate() {
        let le = match BUCKET_BOUNDS_MICROS.get(i) {
            Some(&b) => format!("{}", b as f64 / 1e6),
            None => "+Inf".to_owned(),
        };
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{le}\"}} {c}");
    }
    let _ = writeln!(out, "{name}_sum{{{labels}}} {}", sum as f64 / 1e6);
    let _ = writeln!(out, "{name}_count{{{labels}}} {count}");
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
    /// Set for the target-primary direction: what the session code calls
    /// the source leg is the target (see the module docs).
    swapped: bool,
    requests: [[AtomicU64; 2]; RequestKind::ALL.len()],
    /// Latency of each cluster's answers, by cluster and request kind,
    /// from the request's arrival at the proxy.
    cluster_latency: [[Histogram; RequestKind::ALL.len()]; 2],
    /// Latency the client sees (arrival of the request at the proxy to
    /// its answer leaving), by request kind.
    client_latency: [Histogram; RequestKind::ALL.len()],
    /// Client TLS handshakes that failed (plain text on a TLS port, a
    /// refused client certificate...).
    pub client_tls_errors: AtomicU64,
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
    /// Records in the failed-write log (including those found at startup).
    pub failed_log_records: u64,
    /// Prepared statements cached.
    pub prepared_entries: u64,
    /// Prepared statements evicted so far.
    pub prepared_evictions: u64,
    /// The cluster new client connections are relayed to.
    pub primary: Cluster,
    /// Whether the last health probe reached each cluster (source, target).
    pub cluster_up: [bool; 2],
}

impl Metrics {
    /// Metrics of the routing direction whose relayed leg goes to
    /// `primary`: with [`Cluster::Target`], what is recorded as
    /// [`Cluster::Source`] (the relayed leg) is filed under the target
    /// and the other way round.
    ///
    /// ```
    /// use ferry_router::{Cluster, Metrics, RequestKind};
    /// let m = Metrics::with_primary(Cluster::Target);
    /// m.request(RequestKind::Read, Cluster::Source); // the relayed leg
    /// assert_eq!(m.requests(RequestKind::Read, Cluster::Target), 1);
    /// ```
    pub fn with_primary(primary: Cluster) -> Metrics {
        Metrics {
            swapped: primary == Cluster::Target,
            ..Metrics::default()
        }
    }

    /// The cluster a leg of this direction goes to.
    fn actual(&self, leg: Cluster) -> Cluster {
        if self.swapped {
            leg.other()
        } else {
            leg
        }
    }

    /// Counts one request of `kind` sent to `cluster` (the relayed leg
    /// is [`Cluster::Source`], the mirror [`Cluster::Target`]).
    pub fn request(&self, kind: RequestKind, cluster: Cluster) {
        self.slot(kind, self.actual(cluster))
            .fetch_add(1, Ordering::Relaxed);
    }

    /// The count for `kind` and `cluster` (actual cluster names).
    pub fn requests(&self, kind: RequestKind, cluster: Cluster) -> u64 {
        self.slot(kind, cluster).load(Ordering::Relaxed)
    }

    /// Records how long `cluster` (as in [`Metrics::request`]) took to
    /// answer a request of `kind`.
    pub fn observe_cluster(&self, kind: RequestKind, cluster: Cluster, d: Duration) {
        let c = self.actual(cluster).index();
        if let Some(h) = self
            .cluster_latency
            .get(c)
            .and_then(|k| k.get(kind.index()))
        {
            h.observe(d);
        }
    }

    /// Records the latency a client saw for a request of `kind`.
    pub fn observe_client(&self, kind: RequestKind, d: Duration) {
        if let Some(h) = self.client_latency.get(kind.index()) {
            h.observe(d);
        }
    }

    /// The latency histogram of `cluster` (actual name) for `kind`.
    pub fn cluster_latency(&self, kind: RequestKind, cluster: Cluster) -> &Histogram {
        &self.cluster_latency[cluster.index()][kind.index()]
    }

    /// The client-observed latency histogram for `kind`.
    pub fn client_latency(&self, kind: RequestKind) -> &Histogram {
        &self.client_latency[kind.index()]
    }

    fn slot(&self, kind: RequestKind, cluster: Cluster) -> &AtomicU64 {
        &self.requests[kind.index()][cluster.index()]
    }

    /// Increments a counter field.
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition of every counter and `gauges`.
    pub fn render(&self, gauges: &Gauges) -> String {
        Self::render_all(&[self], gauges)
    }

    /// The Prometheus text exposition of `parts` added up (one [`Metrics`]
    /// per routing direction) and of `gauges`.
    pub fn render_all(parts: &[&Metrics], gauges: &Gauges) -> String {
        let mut out = String::with_capacity(16 * 1024);
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
                    parts.iter().map(|m| m.requests(kind, cluster)).sum::<u64>()
                );
            }
        }
        let load = |field: fn(&Metrics) -> &AtomicU64| -> u64 {
            parts.iter().map(|m| field(m).load(Ordering::Relaxed)).sum()
        };
        let counters: [(&str, &str, u64); 11] = [
            (
                "target_writes_ok_total",
                "Target writes applied.",
                load(|m| &m.target_writes_ok),
            ),
            (
                "target_retries_total",
                "Target write attempts that failed and were retried.",
                load(|m| &m.target_retries),
            ),
            (
                "target_failures_total",
                "Target writes that failed after their retries (then logged).",
                load(|m| &m.target_failures),
            ),
            (
                "target_skipped_total",
                "Writes not mirrored because the source refused them.",
                load(|m| &m.target_skipped),
            ),
            (
                "failed_write_log_records_total",
                "Records appended to the failed-write log.",
                load(|m| &m.failed_log_records),
            ),
            (
                "failed_write_log_errors_total",
                "Appends to the failed-write log that failed.",
                load(|m| &m.failed_log_errors),
            ),
            (
                "queue_spills_total",
                "Writes logged because the target queue was full.",
                load(|m| &m.queue_spills),
            ),
            (
                "prepared_misses_total",
                "EXECUTEs of unknown ids answered with UNPREPARED.",
                load(|m| &m.prepared_misses),
            ),
            (
                "client_connections_total",
                "Client connections accepted.",
                load(|m| &m.connections_total),
            ),
            (
                "client_tls_errors_total",
                "Client TLS handshakes that failed.",
                load(|m| &m.client_tls_errors),
            ),
            (
                "client_protocol_errors_total",
                "Client connections closed for malformed bytes.",
                load(|m| &m.client_protocol_errors),
            ),
        ];
        for (name, help, value) in counters {
            let _ = write!(
                out,
                "# HELP ferry_proxy_{name} {help}\n# TYPE ferry_proxy_{name} counter\nferry_proxy_{name} {value}\n"
            );
        }
        let open: i64 = parts
            .iter()
            .map(|m| m.connections_open.load(Ordering::Relaxed))
            .sum();
        let gauge_lines: [(&str, &str, f64); 9] = [
            (
                "client_connections",
                "Client connections open.",
                open as f64,
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
                "failed_write_log_records",
                "Records in the failed-write log(s), including those found at startup.",
                gauges.failed_log_records as f64,
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
        for (name, help, value) in gauge_lines {
            let _ = write!(
                out,
                "# HELP ferry_proxy_{name} {help}\n# TYPE ferry_proxy_{name} gauge\nferry_proxy_{name} {value}\n"
            );
        }
        let mirrored: Vec<_> = parts.iter().map(|m| &m.mirrored_reads).collect();
        crate::mirror_reads::MirroredReadMetrics::render_into(&mirrored, &mut out);
        let per_cluster: [(&str, &str, [bool; 2]); 2] = [
            (
                "primary",
                "1 for the cluster new client connections are relayed to.",
                [
                    gauges.primary == Cluster::Source,
                    gauges.primary == Cluster::Target,
                ],
            ),
            (
                "cluster_up",
                "1 if the last health probe reached the cluster.",
                gauges.cluster_up,
            ),
        ];
        for (name, help, values) in per_cluster {
            let _ = writeln!(
                out,
                "# HELP ferry_proxy_{name} {help}\n# TYPE ferry_proxy_{name} gauge"
            );
            for cluster in [Cluster::Source, Cluster::Target] {
                let v = u8::from(values[cluster.index()]);
                let _ = writeln!(
                    out,
                    "ferry_proxy_{name}{{cluster=\"{}\"}} {v}",
                    cluster.label()
                );
            }
        }
        out.push_str(
            "# HELP ferry_proxy_cluster_latency_seconds Time from a request's arrival at the proxy to each cluster's answer.\n\
             # TYPE ferry_proxy_cluster_latency_seconds histogram\n",
        );
        for cluster in [Cluster::Source, Cluster::Target] {
            for kind in RequestKind::ALL {
                let hs: Vec<&Histogram> = parts
                    .iter()
                    .map(|m| m.cluster_latency(kind, cluster))
                    .collect();
                if hs.iter().all(|h| h.count() == 0) {
                    continue; // most kind x cluster pairs never happen
                }
                let labels = format!("cluster=\"{}\",kind=\"{}\"", cluster.label(), kind.label());
                write_histogram(
                    &mut out,
                    "ferry_proxy_cluster_latency_seconds",
                    &labels,
                    &hs,
                );
            }
        }
        out.push_str(
            "# HELP ferry_proxy_client_latency_seconds Time from a request's arrival at the proxy to its answer to the client (end to end).\n\
             # TYPE ferry_proxy_client_latency_seconds histogram\n",
        );
        for kind in RequestKind::ALL {
            let hs: Vec<&Histogram> = parts.iter().map(|m| m.client_latency(kind)).collect();
            if hs.iter().all(|h| h.count() == 0) {
                continue;
            }
            let labels = format!("kind=\"{}\"", kind.label());
            write_histogram(&mut out, "ferry_proxy_client_latency_seconds", &labels, &hs);
        }
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
        assert!(text.contains("ferry_proxy_primary{cluster=\"source\"} 1\n"));
        // Every sample line is `name{labels} value` or `name value`.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let value = line.rsplit(' ').next().unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
    }
}

#[cfg(test)]
mod histogram_tests {
    use super::*;

    #[test]
    fn kinds_index_their_own_slots() {
        for (i, kind) in RequestKind::ALL.iter().enumerate() {
            assert_eq!(kind.index(), i);
            assert_eq!(RequestKind::from_index(i), *kind);
        }
    }

    #[test]
    fn histograms_are_cumulative_and_directions_add_up() {
        let by_source = Metrics::default();
        let by_target = Metrics::with_primary(Cluster::Target);
        by_source.observe_cluster(
            RequestKind::Write,
            Cluster::Source,
            Duration::from_micros(80),
        );
        by_source.observe_cluster(
            RequestKind::Write,
            Cluster::Source,
            Duration::from_millis(3),
        );
        // The relayed leg of the target-primary direction is the target.
        by_target.observe_cluster(
            RequestKind::Write,
            Cluster::Source,
            Duration::from_millis(3),
        );
        by_target.observe_cluster(
            RequestKind::Write,
            Cluster::Target,
            Duration::from_micros(80),
        );
        by_source.observe_cluster(RequestKind::Write, Cluster::Source, Duration::from_secs(20));
        by_source.observe_client(RequestKind::Read, Duration::from_micros(300));
        let text = Metrics::render_all(&[&by_source, &by_target], &Gauges::default());
        let name = "ferry_proxy_cluster_latency_seconds";
        for (labels, expected) in [
            ("cluster=\"source\",kind=\"write\",le=\"0.0001\"", 2),
            ("cluster=\"source\",kind=\"write\",le=\"0.0025\"", 2),
            ("cluster=\"source\",kind=\"write\",le=\"0.005\"", 3),
            ("cluster=\"source\",kind=\"write\",le=\"+Inf\"", 4),
            ("cluster=\"target\",kind=\"write\",le=\"0.005\"", 1),
            ("cluster=\"target\",kind=\"write\",le=\"+Inf\"", 1),
            // The mirror of the target-primary direction is the source.
            ("cluster=\"source\",kind=\"write\",le=\"10\"", 3),
        ] {
            let line = format!("{name}_bucket{{{labels}}} {expected}\n");
            assert!(text.contains(&line), "{line} missing in\n{text}");
        }
        assert!(text.contains(
            "ferry_proxy_cluster_latency_seconds_count{cluster=\"source\",kind=\"write\"} 4\n"
        ));
        assert!(text.contains(
            "ferry_proxy_cluster_latency_seconds_sum{cluster=\"source\",kind=\"write\"} 20.00316\n"
        ));
        assert!(text.contains(
            "ferry_proxy_client_latency_seconds_bucket{kind=\"read\",le=\"0.0005\"} 1\n"
        ));
        assert!(
            !text.contains("kind=\"batch\",le="),
            "unused series are left out"
        );
        // Buckets never decrease.
        let mut last = 0;
        for line in text.lines().filter(|l| {
            l.starts_with("ferry_proxy_cluster_latency_seconds_bucket{cluster=\"source\"")
        }) {
            let v: u64 = line.rsplit(' ').next().unwrap().parse().unwrap();
            assert!(v >= last, "{line}");
            last = v;
        }
    }
}
