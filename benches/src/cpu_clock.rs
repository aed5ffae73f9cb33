//! Timing by the benchmark thread's CPU time instead of the wall clock.
//!
//! The benchmarks share a 2-core machine with other jobs. Wall-clock time
//! counts the stretches where the benchmark thread sits waiting for a core,
//! which varies from second to second and from one library's run to the
//! other's. The thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`, user and
//! kernel) only counts time spent running. On an idle machine the two agree
//! for this single-threaded, CPU-bound work; on a busy one the CPU time is
//! still inflated by shared caches, but far less.

use std::time::Duration;

use cpu_time::ThreadTime;
use criterion::measurement::{Measurement, ValueFormatter, WallTime};

/// A criterion [`Measurement`] reading the current thread's CPU time.
#[derive(Debug, Clone, Copy, Default)]
pub struct ThreadCpuTime;

/// Values are durations, so wall-clock formatting (ns, µs, ms; bytes/s) fits.
static FORMAT_AS: WallTime = WallTime;

impl Measurement for ThreadCpuTime {
    type Intermediate = ThreadTime;
    type Value = Duration;

    fn start(&self) -> ThreadTime {
        ThreadTime::now()
    }

    fn end(&self, started: ThreadTime) -> Duration {
        started.elapsed()
    }

    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }

    fn zero(&self) -> Duration {
        Duration::ZERO
    }

    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        FORMAT_AS.formatter()
    }
}

/// A point in the current thread's CPU time.
#[derive(Debug, Clone, Copy)]
pub struct CpuInstant(ThreadTime);

impl CpuInstant {
    /// Now.
    pub fn now() -> Self {
        Self(ThreadTime::now())
    }

    /// CPU time this thread has run since `self`.
    pub fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hint::black_box;

    #[test]
    fn cpu_time_advances_with_work_not_with_sleep() {
        let start = CpuInstant::now();
        std::thread::sleep(Duration::from_millis(50));
        let slept = start.elapsed();
        let start = CpuInstant::now();
        let mut x = 0u64;
        let wall = std::time::Instant::now();
        while wall.elapsed() < Duration::from_millis(20) {
            x = black_box(x.wrapping_add(1));
        }
        let worked = start.elapsed();
        assert!(slept < Duration::from_millis(10), "{slept:?}");
        assert!(worked > Duration::from_millis(1), "{worked:?}");
        let m = ThreadCpuTime;
        assert_eq!(m.to_f64(&Duration::from_micros(3)), 3000.0);
    }
}
