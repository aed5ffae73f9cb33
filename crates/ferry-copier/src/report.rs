//! Progress output while a copy runs: a line redrawn in place on a
//! terminal, or a log line every few seconds otherwise (CI logs, `nohup`,
//! Kubernetes), both from [`CopyControl::stats`](crate::CopyControl::stats).

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use crate::stats::{human_bytes, human_duration, Snapshot};
use crate::CopyControl;

/// Where progress goes.
///
/// ```
/// use std::io::IsTerminal;
/// use ferry_copier::report::ProgressStyle;
/// let style = if std::io::stderr().is_terminal() { ProgressStyle::Terminal } else { ProgressStyle::Log };
/// assert_ne!(style, ProgressStyle::Quiet);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressStyle {
    /// One line on stderr, redrawn in place (`\r`), every second.
    Terminal,
    /// A `tracing` info line (target `ferry_copy::progress`) per interval.
    Log,
    /// Nothing.
    Quiet,
}

/// A running progress display; [`ProgressPrinter::finish`] ends it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::time::Duration;
/// use ferry_copier::report::{ProgressPrinter, ProgressStyle};
/// let control = ferry_copier::CopyControl::new();
/// let printer = ProgressPrinter::start(control.clone(), ProgressStyle::Log, Duration::from_secs(10));
/// // ... ferry_copier::copy(&source, &target, &options, control).await ...
/// printer.finish();
/// # }
/// ```
#[derive(Debug)]
pub struct ProgressPrinter {
    task: Option<tokio::task::JoinHandle<()>>,
    style: ProgressStyle,
}

impl ProgressPrinter {
    /// Starts printing `control`'s progress every `interval` (at most once a
    /// second on a terminal).
    pub fn start(control: Arc<CopyControl>, style: ProgressStyle, interval: Duration) -> Self {
        if style == ProgressStyle::Quiet {
            return Self { task: None, style };
        }
        let interval = match style {
            ProgressStyle::Terminal => Duration::from_secs(1),
            _ => interval.max(Duration::from_millis(100)),
        };
        let task = tokio::spawn(async move {
            let mut last: Option<Snapshot> = None;
            let mut rate = Rate::default();
            loop {
                tokio::time::sleep(interval).await;
                let Some(stats) = control.stats() else {
                    continue;
                };
                let now = stats.snapshot();
                rate.update(last.as_ref(), &now);
                last = Some(now);
                let line = progress_line(&now, &rate);
                match style {
                    ProgressStyle::Terminal => {
                        let mut err = std::io::stderr().lock();
                        let _ = write!(err, "\r\x1b[2K{line}");
                        let _ = err.flush();
                    }
                    _ => tracing::info!(target: "ferry_copy::progress", "{line}"),
                }
            }
        });
        Self {
            task: Some(task),
            style,
        }
    }

    /// Stops the display (ending the terminal line).
    pub fn finish(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            if self.style == ProgressStyle::Terminal {
                eprintln!();
            }
        }
    }
}

impl Drop for ProgressPrinter {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Recent rates, smoothed.
#[derive(Debug, Default, Clone, Copy)]
struct Rate {
    rows: f64,
    bytes: f64,
}

impl Rate {
    fn update(&mut self, last: Option<&Snapshot>, now: &Snapshot) {
        let (rows, bytes, secs) = match last {
            Some(l) => (
                now.rows.saturating_sub(l.rows) as f64,
                now.bytes.saturating_sub(l.bytes) as f64,
                (now.elapsed.saturating_sub(l.elapsed)).as_secs_f64(),
            ),
            None => (now.rows as f64, now.bytes as f64, now.elapsed.as_secs_f64()),
        };
        if secs <= 0.0 {
            return;
        }
        let (r, b) = (rows / secs, bytes / secs);
        // Exponential smoothing: steady numbers, still quick to follow.
        if last.is_none() {
            (self.rows, self.bytes) = (r, b);
        } else {
            self.rows = 0.7 * self.rows + 0.3 * r;
            self.bytes = 0.7 * self.bytes + 0.3 * b;
        }
    }
}

/// `ranges 12/64 (18.8%) | 1234567 rows | 45.3k rows/s | 12.1 MB/s | ETA 0:01:23`.
fn progress_line(s: &Snapshot, rate: &Rate) -> String {
    let percent = if s.ranges_total == 0 {
        100.0
    } else {
        s.ranges_done as f64 * 100.0 / s.ranges_total as f64
    };
    let eta = s.eta.map_or_else(|| "?".to_owned(), human_duration);
    let mut line = format!(
        "ranges {}/{} ({percent:.1}%) | {} rows, {} | {} rows/s | {}/s | ETA {eta}",
        s.ranges_done,
        s.ranges_total,
        s.rows,
        human_bytes(s.bytes),
        human_count(rate.rows),
        human_bytes(rate.bytes as u64),
    );
    if s.retries > 0 {
        line.push_str(&format!(" | {} retries", s.retries));
    }
    line
}

/// `45.3k`-style counts.
fn human_count(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_says_ranges_rows_rates_and_eta() {
        let s = Snapshot {
            elapsed: Duration::from_secs(10),
            rows: 453_000,
            bytes: 121_000_000,
            ranges_done: 12,
            ranges_total: 64,
            writes: 0,
            retries: 2,
            eta: Some(Duration::from_secs(83)),
        };
        let mut rate = Rate::default();
        rate.update(None, &s);
        assert_eq!(
            progress_line(&s, &rate),
            "ranges 12/64 (18.8%) | 453000 rows, 121.0 MB | 45.3k rows/s | 12.1 MB/s | ETA 0:01:23 | 2 retries"
        );
    }
}
