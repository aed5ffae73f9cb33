//! Mirrored reads (`--mirror-reads`): a copy of each read goes to the
//! target in the background, to warm its caches before the cutover and to
//! compare its latency with the source's.
//!
//! The client's answer is always the source's and never waits for the
//! target. A mirrored read is only worth something while it is cheap, so
//! the number in flight is bounded per proxy: above the bound a read is not
//! mirrored, and counted as dropped (unlike target *writes*, which are
//! never dropped).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::metrics::{Cluster, Metrics, RequestKind};
use crate::target::{TargetLeg, TargetRequest};

/// Counters of the mirrored reads, part of [`Metrics`].
///
/// ```
/// use std::time::Duration;
/// use ferry_router::MirroredReadMetrics;
/// let m = MirroredReadMetrics::default();
/// m.record(Duration::from_millis(3), true);
/// m.record(Duration::from_millis(5), false);
/// assert_eq!(m.completed(), 2);
/// assert_eq!(m.errors(), 1);
/// assert_eq!(m.latency_micros_total(), 8_000);
/// ```
#[derive(Debug, Default)]
pub struct MirroredReadMetrics {
    in_flight: AtomicU64,
    completed: AtomicU64,
    errors: AtomicU64,
    dropped: AtomicU64,
    latency_micros: AtomicU64,
}

impl MirroredReadMetrics {
    /// Records one mirrored read that finished after `latency`; `ok` is
    /// false if the target answered with an error or did not answer.
    pub fn record(&self, latency: Duration, ok: bool) {
        self.completed.fetch_add(1, Ordering::Relaxed);
        if !ok {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.latency_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// Mirrored reads answered (or failed) so far.
    pub fn completed(&self) -> u64 {
        self.completed.load(Ordering::Relaxed)
    }

    /// Mirrored reads that failed (error answer, timeout, no connection).
    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    /// Reads not mirrored because too many were in flight.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Mirrored reads in flight now.
    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Sum of the latencies of the completed ones, in microseconds (with
    /// [`completed`](Self::completed): the mean).
    pub fn latency_micros_total(&self) -> u64 {
        self.latency_micros.load(Ordering::Relaxed)
    }

    /// Takes an in-flight slot if fewer than `max` are in flight; counts a
    /// drop otherwise.
    fn try_start(&self, max: usize) -> bool {
        let max = u64::try_from(max).unwrap_or(u64::MAX);
        let taken = self
            .in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |n| {
                (n < max).then_some(n + 1)
            })
            .is_ok();
        if !taken {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        taken
    }

    fn finish(&self) {
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
    }

    /// Appends the Prometheus text of `parts` (one per routing direction),
    /// added up, to `out`.
    pub fn render_into(parts: &[&MirroredReadMetrics], out: &mut String) {
        let sum = |f: fn(&MirroredReadMetrics) -> u64| parts.iter().map(|m| f(m)).sum::<u64>();
        let lines: [(&str, &str, &str, f64); 5] = [
            (
                "mirrored_reads_total",
                "counter",
                "Reads mirrored to the target that finished.",
                sum(Self::completed) as f64,
            ),
            (
                "mirrored_read_errors_total",
                "counter",
                "Mirrored reads the target failed (error, timeout, no connection).",
                sum(Self::errors) as f64,
            ),
            (
                "mirrored_reads_dropped_total",
                "counter",
                "Reads not mirrored because too many were in flight.",
                sum(Self::dropped) as f64,
            ),
            (
                "mirrored_read_latency_seconds_total",
                "counter",
                "Sum of the target latencies of mirrored reads (divide by mirrored_reads_total).",
                sum(Self::latency_micros_total) as f64 / 1e6,
            ),
            (
                "mirrored_reads_in_flight",
                "gauge",
                "Mirrored reads waiting for the target.",
                sum(Self::in_flight) as f64,
            ),
        ];
        for (name, kind, help, value) in lines {
            let _ = write!(
                out,
                "# HELP ferry_proxy_{name} {help}\n# TYPE ferry_proxy_{name} {kind}\nferry_proxy_{name} {value}\n"
            );
        }
    }
}

/// Sends `request` (a read, as the client sent it to the source) to the
/// target in the background, unless `max_in_flight` mirrored reads are
/// already waiting. Never blocks.
pub(crate) fn mirror_read(
    metrics: &Arc<Metrics>,
    leg: Arc<TargetLeg>,
    request: TargetRequest,
    max_in_flight: usize,
) {
    if !metrics.mirrored_reads.try_start(max_in_flight) {
        return;
    }
    let metrics = metrics.clone();
    tokio::spawn(async move {
        metrics.request(RequestKind::Read, Cluster::Target);
        let started = Instant::now();
        let result = leg.send(&request).await;
        metrics
            .mirrored_reads
            .record(started.elapsed(), result.is_ok());
        if let Err(e) = result {
            tracing::debug!(error = %e, "mirrored read failed on the target");
        }
        metrics.mirrored_reads.finish();
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_bounded_and_drops_counted() {
        let m = MirroredReadMetrics::default();
        assert!(m.try_start(2));
        assert!(m.try_start(2));
        assert!(!m.try_start(2));
        assert_eq!((m.in_flight(), m.dropped()), (2, 1));
        m.finish();
        assert!(m.try_start(2));
        assert_eq!(m.dropped(), 1);
    }

    #[test]
    fn renders_counters_and_latency_in_seconds() {
        let m = MirroredReadMetrics::default();
        m.record(Duration::from_millis(1500), true);
        m.record(Duration::from_millis(500), false);
        let mut out = String::new();
        MirroredReadMetrics::render_into(&[&m], &mut out);
        assert!(
            out.contains("ferry_proxy_mirrored_reads_total 2\n"),
            "{out}"
        );
        assert!(out.contains("ferry_proxy_mirrored_read_errors_total 1\n"));
        assert!(out.contains("ferry_proxy_mirrored_read_latency_seconds_total 2\n"));
        assert!(out.contains("# TYPE ferry_proxy_mirrored_reads_in_flight gauge\n"));
    }
}
