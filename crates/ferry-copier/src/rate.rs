//! The copy's rate limits: one shared token bucket per limit (rows/s
//! read from the source, rows/s written to the target, bytes/s read), so
//! the limit holds for the whole process whatever the concurrency. The
//! bucket itself is [`ferry_conn::rate_limit::RateLimiter`].

pub use ferry_conn::rate_limit::RateLimiter;

/// Waits on an optional limiter.
pub(crate) async fn acquire(limiter: Option<&RateLimiter>, units: u64) {
    if let Some(l) = limiter {
        l.acquire(units).await;
    }
}
