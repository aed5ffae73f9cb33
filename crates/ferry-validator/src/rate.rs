//! A rate limit in rows per second, shared by every task reading one
//! cluster.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A token bucket: `rate` rows per second with bursts of up to one second's
/// worth. A task takes the rows it has just read; when that overdraws the
/// bucket it waits until the debt is paid back, so the long-run rate never
/// exceeds the limit however the rows arrive (pages of any size).
///
/// ```
/// # tokio_test_block_on(async {
/// use std::time::{Duration, Instant};
/// use ferry_validator::RateLimiter;
/// let limit = RateLimiter::new(1000);
/// let start = Instant::now();
/// limit.acquire(1000).await; // the initial burst
/// limit.acquire(500).await;  // half a second of debt
/// assert!(start.elapsed() >= Duration::from_millis(450));
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    state: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    available: f64,
    refilled_at: Instant,
}

impl RateLimiter {
    /// A limit of `per_second` rows per second (at least 1).
    pub fn new(per_second: u64) -> Self {
        let per_second = per_second.max(1) as f64;
        Self {
            per_second,
            state: Mutex::new(Bucket {
                available: per_second,
                refilled_at: Instant::now(),
            }),
        }
    }

    /// The limit, in rows per second.
    pub fn per_second(&self) -> f64 {
        self.per_second
    }

    /// Takes `rows` from the bucket, waiting as long as that overdraws it.
    pub async fn acquire(&self, rows: u64) {
        let wait = {
            let mut bucket = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let elapsed = now.duration_since(bucket.refilled_at).as_secs_f64();
            bucket.available = (bucket.available + elapsed * self.per_second).min(self.per_second);
            bucket.refilled_at = now;
            bucket.available -= rows as f64;
            if bucket.available < 0.0 {
                Duration::from_secs_f64(-bucket.available / self.per_second)
            } else {
                Duration::ZERO
            }
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}
