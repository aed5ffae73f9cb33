//! Live progress of a validation, for a progress line.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Counters a running validation updates; read them with
/// [`Progress::snapshot`] from another task.
#[derive(Debug)]
pub struct Progress {
    started: Instant,
    table: Mutex<String>,
    table_started: Mutex<Instant>,
    source_rows: AtomicU64,
    target_rows: AtomicU64,
    differences: AtomicU64,
    ranges_total: AtomicU64,
    ranges_done: AtomicU64,
    /// Tokens of the table's ranges, total and done, as f64 bits (a range
    /// can hold up to 2^127 tokens).
    tokens: Mutex<(f64, f64)>,
}

impl Default for Progress {
    fn default() -> Self {
        Self {
            started: Instant::now(),
            table: Mutex::new(String::new()),
            table_started: Mutex::new(Instant::now()),
            source_rows: AtomicU64::new(0),
            target_rows: AtomicU64::new(0),
            differences: AtomicU64::new(0),
            ranges_total: AtomicU64::new(0),
            ranges_done: AtomicU64::new(0),
            tokens: Mutex::new((0.0, 0.0)),
        }
    }
}

/// A moment's view of a [`Progress`].
///
/// ```
/// use std::time::Duration;
/// use ferry_validator::ProgressSnapshot;
/// let s = ProgressSnapshot {
///     table: "shop.orders".into(),
///     ranges_done: 5, ranges_total: 20,
///     source_rows: 50_000, target_rows: 50_000, differences: 2,
///     fraction_done: 0.25,
///     table_elapsed: Duration::from_secs(10),
///     elapsed: Duration::from_secs(10),
/// };
/// assert_eq!(s.rows_per_second(), 5000.0);
/// assert_eq!(s.eta(), Some(Duration::from_secs(30)));
/// assert!(s.line().contains("ETA 30s"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ProgressSnapshot {
    /// The table being validated.
    pub table: String,
    /// Its ranges scanned.
    pub ranges_done: u64,
    /// Its ranges.
    pub ranges_total: u64,
    /// Source rows read in this table.
    pub source_rows: u64,
    /// Target rows read in this table.
    pub target_rows: u64,
    /// Differences found so far in this table (before re-checks).
    pub differences: u64,
    /// Fraction of the table's token space scanned.
    pub fraction_done: f64,
    /// Time spent on this table.
    pub table_elapsed: Duration,
    /// Time since the validation started.
    pub elapsed: Duration,
}

impl ProgressSnapshot {
    /// Source rows per second on this table.
    pub fn rows_per_second(&self) -> f64 {
        let secs = self.table_elapsed.as_secs_f64();
        if secs > 0.0 {
            self.source_rows as f64 / secs
        } else {
            0.0
        }
    }

    /// Time left on this table, from the token space left.
    pub fn eta(&self) -> Option<Duration> {
        if self.fraction_done <= 0.0 || self.fraction_done > 1.0 {
            return None;
        }
        let total = self.table_elapsed.as_secs_f64() / self.fraction_done;
        Some(
            Duration::from_secs_f64((total - self.table_elapsed.as_secs_f64()).max(0.0))
                .round_secs(),
        )
    }

    /// One line: table, ranges, percentage, rows and rate, differences, ETA.
    pub fn line(&self) -> String {
        let eta = self
            .eta()
            .map(|d| format!("ETA {}", human_duration(d)))
            .unwrap_or_else(|| "ETA ?".into());
        format!(
            "{} ranges {}/{} ({:.1}%) rows {} / {} ({:.0}/s) differences {} {}",
            self.table,
            self.ranges_done,
            self.ranges_total,
            self.fraction_done * 100.0,
            self.source_rows,
            self.target_rows,
            self.rows_per_second(),
            self.differences,
            eta
        )
    }
}

trait RoundSecs {
    fn round_secs(self) -> Self;
}

impl RoundSecs for Duration {
    fn round_secs(self) -> Self {
        Duration::from_secs(self.as_secs_f64().round() as u64)
    }
}

fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

impl Progress {
    /// A fresh progress.
    pub fn new() -> Self {
        Self::default()
    }

    /// A view of it now.
    pub fn snapshot(&self) -> ProgressSnapshot {
        let (total, done) = *self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        ProgressSnapshot {
            table: self.table.lock().unwrap_or_else(|e| e.into_inner()).clone(),
            ranges_done: self.ranges_done.load(Ordering::Relaxed),
            ranges_total: self.ranges_total.load(Ordering::Relaxed),
            source_rows: self.source_rows.load(Ordering::Relaxed),
            target_rows: self.target_rows.load(Ordering::Relaxed),
            differences: self.differences.load(Ordering::Relaxed),
            fraction_done: if total > 0.0 {
                (done / total).min(1.0)
            } else {
                0.0
            },
            table_elapsed: self
                .table_started
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .elapsed(),
            elapsed: self.started.elapsed(),
        }
    }

    pub(crate) fn start_table(&self, name: String, ranges: u64, tokens: f64) {
        *self.table.lock().unwrap_or_else(|e| e.into_inner()) = name;
        *self.table_started.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        *self.tokens.lock().unwrap_or_else(|e| e.into_inner()) = (tokens, 0.0);
        self.ranges_total.store(ranges, Ordering::Relaxed);
        self.ranges_done.store(0, Ordering::Relaxed);
        self.source_rows.store(0, Ordering::Relaxed);
        self.target_rows.store(0, Ordering::Relaxed);
        self.differences.store(0, Ordering::Relaxed);
    }

    pub(crate) fn add_rows(&self, source: bool, rows: u64) {
        let counter = if source {
            &self.source_rows
        } else {
            &self.target_rows
        };
        counter.fetch_add(rows, Ordering::Relaxed);
    }

    pub(crate) fn range_done(&self, tokens: f64, differences: u64) {
        self.ranges_done.fetch_add(1, Ordering::Relaxed);
        self.differences.fetch_add(differences, Ordering::Relaxed);
        self.tokens.lock().unwrap_or_else(|e| e.into_inner()).1 += tokens;
    }
}
