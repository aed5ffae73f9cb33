//! A rate limit shared by every task of a bulk job (rows per second read
//! from a cluster, rows written, bytes read): one [`RateLimiter`] per limit,
//! shared through an `Arc`, so the limit holds for the whole process
//! whatever the concurrency.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A token bucket: `acquire(n)` waits until `n` units fit in the rate.
///
/// The bucket holds at most one second of units. A request larger than
/// what is available borrows from the future (the balance goes negative)
/// and waits until the debt is repaid, so big requests (a whole page of
/// rows) are never starved by small ones and the long-run rate is exact
/// however the units arrive.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::time::Duration;
/// use ferry_conn::rate_limit::RateLimiter;
/// let limiter = RateLimiter::new(1000.0); // units per second
/// assert_eq!(limiter.reserve(1000), Duration::ZERO); // the first second's burst
/// let wait = limiter.reserve(100); // a tenth of a second of debt
/// assert!(wait > Duration::from_millis(90) && wait <= Duration::from_millis(100));
/// limiter.acquire(0).await; // waits out the debt
/// # }
/// ```
#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    state: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    /// Units that may be taken now; negative while in debt.
    available: f64,
    updated: Instant,
}

impl RateLimiter {
    /// A limiter of `per_second` units per second (at least 0.001), whose
    /// bucket starts full.
    pub fn new(per_second: f64) -> Self {
        Self::starting_at(per_second, Instant::now())
    }

    fn starting_at(per_second: f64, now: Instant) -> Self {
        let rate = if per_second.is_finite() {
            per_second.max(0.001)
        } else {
            f64::MAX
        };
        Self {
            rate,
            state: Mutex::new(Bucket {
                available: rate,
                updated: now,
            }),
        }
    }

    /// The rate, in units per second.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// Takes `units` from the bucket now and returns how long the caller
    /// must wait before using them ([`Duration::ZERO`] if they fit).
    pub fn reserve(&self, units: u64) -> Duration {
        self.reserve_at(units, Instant::now())
    }

    fn reserve_at(&self, units: u64, now: Instant) -> Duration {
        // A poisoned lock only means another task panicked mid-update of
        // two floats; the bucket is still usable.
        let mut bucket = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(d: Duration) -> f64 {
        d.as_secs_f64()
    }

    #[test]
    fn burst_then_debt_then_refill() {
        let t0 = Instant::now();
        let l = RateLimiter::starting_at(100.0, t0);
        assert_eq!(l.reserve_at(100, t0), Duration::ZERO, "one second of burst");
        assert!((secs(l.reserve_at(50, t0)) - 0.5).abs() < 1e-9);
        assert!(
            (secs(l.reserve_at(50, t0)) - 1.0).abs() < 1e-9,
            "debts add up"
        );
        // 1.5 s later the debt (100) is paid and 50 units are back.
        let later = t0 + Duration::from_millis(1500);
        assert_eq!(l.reserve_at(50, later), Duration::ZERO);
        assert!((secs(l.reserve_at(1, later)) - 0.01).abs() < 1e-9);
    }

    #[test]
    fn the_bucket_holds_one_second_at_most() {
        let t0 = Instant::now();
        let l = RateLimiter::starting_at(10.0, t0);
        // An hour idle does not allow an hour's worth of burst.
        let later = t0 + Duration::from_secs(3600);
        assert_eq!(l.reserve_at(10, later), Duration::ZERO);
        assert!((secs(l.reserve_at(10, later)) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn long_run_rate_is_the_limit_whatever_the_request_sizes() {
        // 10,000 units in requests of 1 to 997 at 1,000/s: the last one
        // may start after 9 s (10 s of units minus the first second's
        // burst), whatever the mix of sizes.
        let t0 = Instant::now();
        let l = RateLimiter::starting_at(1000.0, t0);
        let mut now = t0;
        let mut taken = 0u64;
        let mut size = 1u64;
        while taken < 10_000 {
            let units = size.min(10_000 - taken);
            now += l.reserve_at(units, now);
            taken += units;
            size = size * 7 % 997 + 1;
        }
        assert!((secs(now - t0) - 9.0).abs() < 1e-6, "{:?}", now - t0);
    }

    #[test]
    fn clock_going_backwards_and_odd_rates_are_harmless() {
        let t0 = Instant::now() + Duration::from_secs(10);
        let l = RateLimiter::starting_at(5.0, t0);
        assert_eq!(l.reserve_at(5, t0 - Duration::from_secs(5)), Duration::ZERO);
        assert_eq!(RateLimiter::new(0.0).rate(), 0.001);
        assert_eq!(RateLimiter::new(f64::NAN).rate(), f64::MAX);
        assert_eq!(
            RateLimiter::new(f64::INFINITY).reserve(u64::MAX),
            Duration::ZERO
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn acquire_sleeps_at_least_the_debt() {
        let l = RateLimiter::new(1000.0);
        let start = std::time::Instant::now();
        l.acquire(1000).await;
        l.acquire(100).await;
        // A sleep is never shorter than asked (an upper bound would depend
        // on the machine's load).
        assert!(
            start.elapsed() >= Duration::from_millis(99),
            "{:?}",
            start.elapsed()
        );
    }
}
