//! A token bucket shared by every task of a copy: one per limit (rows/s
//! read from the source, rows/s written to the target, bytes/s read), so
//! the limit holds for the whole process whatever the concurrency.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A rate limit: `acquire(n)` waits until `n` units fit in the rate.
///
/// The bucket holds at most one second of units; a request larger than
/// what is available borrows from the future (the balance goes negative)
/// and waits for the debt to be repaid, so big requests (a whole page) are
/// never starved by small ones and the long-run rate is exact.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::time::Instant;
/// use ferry_copier::rate::RateLimiter;
/// let limiter = RateLimiter::new(1000.0); // units per second
/// let start = Instant::now();
/// limiter.acquire(1000).await; // the first second's burst
/// limiter.acquire(100).await;  // waits ~0.1 s
/// assert!(start.elapsed().as_millis() >= 90);
/// # }
/// ```
#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    state: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    available: f64,
    updated: Instant,
}

impl RateLimiter {
    /// A limiter of `per_second` units per second (at least 0.001).
    pub fn new(per_second: f64) -> Self {
        let rate = per_second.max(0.001);
        Self {
            rate,
            state: Mutex::new(Bucket {
                available: rate,
                updated: Instant::now(),
            }),
        }
    }

    /// The rate, per second.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// How long the caller must wait before using `units`; the units are
    /// taken from the bucket now.
    pub fn reserve(&self, units: u64) -> Duration {
        let mut bucket = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let elapsed = now.duration_since(bucket.updated).as_secs_f64();
        bucket.available = (bucket.available + elapsed * self.rate).min(self.rate);
        bucket.updated = now;
        bucket.available -= units as f64;
        if bucket.available >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-bucket.available / self.rate)
        }
    }

    /// Waits until `units` fit in the rate.
    pub async fn acquire(&self, units: u64) {
        let wait = self.reserve(units);
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// Waits on an optional limiter.
pub(crate) async fn acquire(limiter: Option<&RateLimiter>, units: u64) {
    if let Some(l) = limiter {
        l.acquire(units).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debt_grows_with_use_and_bounds_the_rate() {
        let l = RateLimiter::new(100.0);
        assert_eq!(l.reserve(100), Duration::ZERO, "one second of burst");
        let w = l.reserve(50);
        assert!((0.45..=0.51).contains(&w.as_secs_f64()), "{w:?}");
        let w = l.reserve(50);
        assert!((0.95..=1.01).contains(&w.as_secs_f64()), "{w:?}");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn long_run_rate_is_the_limit() {
        let l = RateLimiter::new(1000.0);
        let start = Instant::now();
        for _ in 0..30 {
            l.acquire(10).await;
        }
        // The first 1000 units are the burst; 300 more at 1000/s: ~0.3 s.
        l.acquire(1000).await;
        let waited = start.elapsed().as_secs_f64();
        assert!((0.28..=0.6).contains(&waited), "{waited}");
    }
}
