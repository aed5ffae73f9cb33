//! Counters of a running copy, their snapshots for progress output, and
//! the final summary.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

/// Counters of one table.
#[derive(Debug)]
pub struct TableStats {
    /// The table name.
    pub name: String,
    /// Ranges in its plan.
    pub ranges_total: u64,
    /// Ranges done by earlier runs.
    pub ranges_done_before: u64,
    /// Rows copied by earlier runs.
    pub rows_before: u64,
    /// Bytes copied by earlier runs.
    pub bytes_before: u64,
    /// Ranges finished by this run.
    pub ranges_done: AtomicU64,
    /// Rows read by this run (counted as they are read; a range's rows are
    /// only known to be written when the range is done).
    pub rows: AtomicU64,
    /// Bytes of cell values read by this run.
    pub bytes: AtomicU64,
}

/// Counters of the whole run, shared by its tasks.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use ferry_copier::stats::{CopyStats, TableStats};
/// let stats = CopyStats::new(vec![TableStats {
///     name: "t".into(), ranges_total: 4, ranges_done_before: 1, rows_before: 0, bytes_before: 0,
///     ranges_done: AtomicU64::new(0), rows: AtomicU64::new(0), bytes: AtomicU64::new(0),
/// }]);
/// stats.tables[0].ranges_done.fetch_add(1, Ordering::Relaxed);
/// assert_eq!(stats.snapshot().ranges_done, 2);
/// ```
#[derive(Debug)]
pub struct CopyStats {
    started: Instant,
    /// Per table, in copy order.
    pub tables: Vec<TableStats>,
    /// Statements written to the target.
    pub writes: AtomicU64,
    /// Attempts retried (writes and range scans).
    pub retries: AtomicU64,
}

impl CopyStats {
    /// Counters starting now.
    pub fn new(tables: Vec<TableStats>) -> Self {
        Self {
            started: Instant::now(),
            tables,
            writes: AtomicU64::new(0),
            retries: AtomicU64::new(0),
        }
    }

    /// A consistent-enough reading of the counters.
    pub fn snapshot(&self) -> Snapshot {
        let sum = |f: &dyn Fn(&TableStats) -> u64| self.tables.iter().map(f).sum::<u64>();
        let ranges_done_now = sum(&|t| t.ranges_done.load(Ordering::Relaxed));
        let ranges_before = sum(&|t| t.ranges_done_before);
        let ranges_total = sum(&|t| t.ranges_total);
        let elapsed = self.started.elapsed();
        let remaining = ranges_total.saturating_sub(ranges_before + ranges_done_now);
        let eta = if remaining == 0 {
            Some(Duration::ZERO)
        } else if ranges_done_now == 0 {
            None
        } else {
            Some(elapsed.mul_f64(remaining as f64 / ranges_done_now as f64))
        };
        Snapshot {
            elapsed,
            rows: sum(&|t| t.rows.load(Ordering::Relaxed)),
            bytes: sum(&|t| t.bytes.load(Ordering::Relaxed)),
            ranges_done: ranges_before + ranges_done_now,
            ranges_total,
            writes: self.writes.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            eta,
        }
    }
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Snapshot {
    /// Time since the run started.
    pub elapsed: Duration,
    /// Rows read by this run.
    pub rows: u64,
    /// Bytes of values read by this run.
    pub bytes: u64,
    /// Ranges done, earlier runs included.
    pub ranges_done: u64,
    /// Ranges in the job.
    pub ranges_total: u64,
    /// Statements written.
    pub writes: u64,
    /// Retried attempts.
    pub retries: u64,
    /// Estimated time left (from this run's pace over ranges); `None`
    /// until a range is done.
    pub eta: Option<Duration>,
}

/// How a run ended.
///
/// ```
/// let json = serde_json::to_string(&ferry_copier::CopyStatus::Complete).unwrap();
/// assert_eq!(json, "\"complete\"");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CopyStatus {
    /// Every range of the job is done.
    Complete,
    /// Stopped on request (Ctrl-C, a range limit) before the end; run the
    /// same command again to continue.
    Stopped,
    /// A range failed for good; run the same command again to retry.
    Failed,
}

/// One table in the summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableSummary {
    /// `keyspace.table`.
    pub table: String,
    /// Rows copied by this run.
    pub rows: u64,
    /// Bytes of values copied by this run.
    pub bytes: u64,
    /// Rows copied by this run and earlier ones (from the progress file).
    pub rows_all_runs: u64,
    /// Ranges done (all runs).
    pub ranges_done: u64,
    /// Ranges in the plan.
    pub ranges_total: u64,
}

/// What a run did: printed at the end and written as JSON on request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CopySummary {
    /// How it ended.
    pub status: CopyStatus,
    /// The keyspace.
    pub keyspace: String,
    /// Per table.
    pub tables: Vec<TableSummary>,
    /// Rows copied by this run.
    pub rows: u64,
    /// Bytes of values copied by this run.
    pub bytes: u64,
    /// Wall time of this run.
    pub elapsed_seconds: f64,
    /// `rows / elapsed_seconds`.
    pub rows_per_second: f64,
    /// `bytes / elapsed_seconds / 10^6`.
    pub megabytes_per_second: f64,
    /// Ranges in the job.
    pub ranges_total: u64,
    /// Ranges done (all runs).
    pub ranges_done: u64,
    /// Ranges this run found already done and skipped.
    pub ranges_skipped: u64,
    /// Ranges this run copied.
    pub ranges_copied: u64,
    /// Rows read but not copied: outside the writetime window.
    pub rows_filtered: u64,
    /// Statements written by this run.
    pub writes: u64,
    /// Attempts retried by this run.
    pub retries: u64,
    /// Errors that failed ranges (empty unless `status` is `failed`).
    pub errors: Vec<String>,
    /// Harmless differences found (schemas...).
    pub warnings: Vec<String>,
    /// The job's write timestamp (µs since the epoch).
    pub job_timestamp_micros: i64,
    /// Whether source writetimes were preserved.
    pub preserve_writetime: bool,
    /// This run's number (0 for the first).
    pub run: u32,
    /// The progress file.
    pub progress_file: String,
}

impl CopySummary {
    /// A few human-readable lines.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "{}: {} rows, {} in {} ({:.0} rows/s, {:.2} MB/s); ranges {}/{} done ({} this run, {} skipped as already done); {} writes, {} retries",
            match self.status {
                CopyStatus::Complete => "copy complete",
                CopyStatus::Stopped => "copy stopped (run the same command again to continue)",
                CopyStatus::Failed => "copy FAILED (run the same command again to retry the failed ranges)",
            },
            self.rows,
            human_bytes(self.bytes),
            human_duration(Duration::from_secs_f64(self.elapsed_seconds)),
            self.rows_per_second,
            self.megabytes_per_second,
            self.ranges_done,
            self.ranges_total,
            self.ranges_copied,
            self.ranges_skipped,
            self.writes,
            self.retries,
        );
        if self.rows_filtered > 0 {
            out.push_str(&format!(
                "; {} rows outside the writetime window not copied",
                self.rows_filtered
            ));
        }
        for t in &self.tables {
            out.push_str(&format!(
                "\n  {}: {} rows this run ({} in all runs), ranges {}/{}",
                t.table, t.rows, t.rows_all_runs, t.ranges_done, t.ranges_total
            ));
        }
        for e in &self.errors {
            out.push_str(&format!("\n  error: {e}"));
        }
        out
    }
}

/// `12.3 MB`-style sizes (powers of 1000).
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// `1:02:03`-style durations.
pub fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn humane_units() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(12_345_678), "12.3 MB");
        assert_eq!(human_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(human_duration(Duration::from_secs(3723)), "1:02:03");
    }

    #[test]
    fn eta_follows_this_runs_pace() {
        let table = |total, before| TableStats {
            name: "t".into(),
            ranges_total: total,
            ranges_done_before: before,
            rows_before: 0,
            bytes_before: 0,
            ranges_done: AtomicU64::new(0),
            rows: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        };
        let stats = CopyStats::new(vec![table(10, 4), table(10, 0)]);
        let s = stats.snapshot();
        assert_eq!((s.ranges_done, s.ranges_total, s.eta), (4, 20, None));
        stats.tables[1].ranges_done.store(4, Ordering::Relaxed);
        let s = stats.snapshot();
        assert_eq!(s.ranges_done, 8);
        // 12 left at the pace of 4 per elapsed: 3 × elapsed.
        let eta = s.eta.unwrap().as_secs_f64();
        assert!(eta >= 0.0 && eta <= 3.0 * s.elapsed.as_secs_f64() + 0.01);
    }
}
