//! Interleaved timing of two functions, for ratios that survive a busy
//! machine.
//!
//! Criterion times one function after the other; when the machine is shared
//! (other jobs compiling), load that comes and goes between the two skews
//! their ratio badly: two passes a few minutes apart gave 1.2 and 2.7 for
//! the same pair. Here the two functions alternate in short batches (A B,
//! then B A, ...), each round yields one ratio from two batches run back to
//! back, and the median round is reported. A burst of load hits a few
//! rounds, not one side. Batches are timed in thread CPU time, like the
//! criterion runs (see [`crate::cpu_clock`]); the budget is wall-clock.

use std::time::{Duration, Instant};

use crate::cpu_clock::CpuInstant;

/// Outcome of [`paired`]: per-iteration times and the ratio `b / a`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Paired {
    /// Median per-iteration time of A over the rounds, in nanoseconds.
    pub a_ns: f64,
    /// Median per-iteration time of B over the rounds, in nanoseconds.
    pub b_ns: f64,
    /// Median over rounds of (B's batch time / A's batch time).
    pub ratio: f64,
    /// First quartile of the per-round ratios.
    pub ratio_q1: f64,
    /// Third quartile of the per-round ratios.
    pub ratio_q3: f64,
    /// Rounds run.
    pub rounds: usize,
    /// Iterations of each function per batch.
    pub iters: u64,
}

impl Paired {
    /// One line of JSON (no dependency needed for this much).
    pub fn to_json(&self, group: &str) -> String {
        format!(
            "{{\"group\":\"{group}\",\"a_ns\":{},\"b_ns\":{},\"ratio\":{},\"ratio_q1\":{},\"ratio_q3\":{},\"rounds\":{},\"iters\":{}}}",
            self.a_ns, self.b_ns, self.ratio, self.ratio_q1, self.ratio_q3, self.rounds, self.iters
        )
    }
}

/// The `q` quantile (0..=1) of `values`, by the nearest-rank method on a
/// sorted copy; `NaN` for no values.
pub fn quantile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = (q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank]
}

/// CPU time of `iters` runs of `f` (see [`crate::cpu_clock`]).
fn time_batch(f: &mut impl FnMut(), iters: u64) -> Duration {
    let start = CpuInstant::now();
    for _ in 0..iters {
        f();
    }
    start.elapsed()
}

/// Times `a` and `b` (each closure runs one iteration) interleaved for
/// about `budget`, in batches of equal iteration counts sized so that the
/// faster-to-calibrate `a` batch takes about `batch` long.
pub fn paired(
    mut a: impl FnMut(),
    mut b: impl FnMut(),
    budget: Duration,
    batch: Duration,
) -> Paired {
    // Warm both up (caches, allocator, branch predictors) and size a batch.
    let mut iters = 1u64;
    loop {
        time_batch(&mut b, iters);
        if time_batch(&mut a, iters) >= batch || iters >= 1 << 30 {
            break;
        }
        iters *= 2;
    }
    let started = Instant::now();
    let (mut ratios, mut a_ns, mut b_ns) = (Vec::new(), Vec::new(), Vec::new());
    let mut round = 0usize;
    while started.elapsed() < budget || round < 10 {
        // Alternate which side goes first, so neither always runs warmer.
        let (ta, tb) = if round % 2 == 0 {
            let ta = time_batch(&mut a, iters);
            (ta, time_batch(&mut b, iters))
        } else {
            let tb = time_batch(&mut b, iters);
            (time_batch(&mut a, iters), tb)
        };
        let (ta, tb) = (ta.as_secs_f64(), tb.as_secs_f64());
        if ta > 0.0 {
            ratios.push(tb / ta);
        }
        a_ns.push(ta * 1e9 / iters as f64);
        b_ns.push(tb * 1e9 / iters as f64);
        round += 1;
    }
    Paired {
        a_ns: quantile(&a_ns, 0.5),
        b_ns: quantile(&b_ns, 0.5),
        ratio: quantile(&ratios, 0.5),
        ratio_q1: quantile(&ratios, 0.25),
        ratio_q3: quantile(&ratios, 0.75),
        rounds: round,
        iters,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hint::black_box;

    #[test]
    fn quantiles_by_nearest_rank() {
        let v = [5.0, 1.0, 3.0, 2.0, 4.0];
        assert_eq!(quantile(&v, 0.5), 3.0);
        assert_eq!(quantile(&v, 0.0), 1.0);
        assert_eq!(quantile(&v, 1.0), 5.0);
        assert_eq!(quantile(&v, 0.25), 2.0);
        assert!(quantile(&[], 0.5).is_nan());
    }

    fn spin(n: u64) -> u64 {
        (0..n).fold(0u64, |acc, i| {
            black_box(acc.wrapping_mul(31).wrapping_add(i))
        })
    }

    #[test]
    fn a_function_doing_four_times_the_work_is_about_four_times_slower() {
        let p = paired(
            || {
                black_box(spin(black_box(2_000)));
            },
            || {
                black_box(spin(black_box(8_000)));
            },
            Duration::from_millis(300),
            Duration::from_micros(500),
        );
        // Loose bounds: the test machine is shared, and tests run in parallel.
        assert!(p.ratio > 2.0 && p.ratio < 8.0, "{p:?}");
        assert!(p.ratio_q1 <= p.ratio && p.ratio <= p.ratio_q3);
        assert!(p.rounds >= 10 && p.b_ns > p.a_ns);
        assert!(p.to_json("g").starts_with("{\"group\":\"g\",\"a_ns\":"));
    }
}
