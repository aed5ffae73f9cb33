//! Write timestamps the proxy adds to writes that carry none.
//!
//! Cassandra resolves concurrent writes to a cell by timestamp. When the
//! proxy gives a write its timestamp, the same value goes to the source and
//! the target, so both store the same `WRITETIME()` and later comparisons
//! (and last-write-wins between a live write and the bulk copy) agree.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Microseconds since the Unix epoch, strictly increasing per clock.
///
/// Two writes through one proxy never get the same timestamp, even within
/// one microsecond or if the system clock steps back: each value is
/// `max(now, previous + 1)`. (Drivers do the same for client timestamps.)
///
/// ```
/// use ferry_router::TimestampClock;
/// let clock = TimestampClock::new();
/// let a = clock.next();
/// let b = clock.next();
/// assert!(b > a);
/// assert!(a > 1_600_000_000_000_000); // microseconds, not millis
/// ```
#[derive(Debug, Default)]
pub struct TimestampClock {
    last: AtomicI64,
}

impl TimestampClock {
    /// A clock that has handed out nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The next timestamp.
    pub fn next(&self) -> i64 {
        let now = now_micros();
        let mut prev = self.last.load(Ordering::Relaxed);
        loop {
            let candidate = now.max(prev.saturating_add(1));
            match self.last.compare_exchange_weak(
                prev,
                candidate,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return candidate,
                Err(actual) => prev = actual,
            }
        }
    }
}

/// The system clock in microseconds since the epoch (0 before 1970).
pub(crate) fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn concurrent_callers_never_share_a_value() {
        let clock = Arc::new(TimestampClock::new());
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let clock = clock.clone();
                std::thread::spawn(move || (0..10_000).map(|_| clock.next()).collect::<Vec<_>>())
            })
            .collect();
        let mut all: Vec<i64> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n);
    }

    #[test]
    fn a_clock_that_ran_ahead_keeps_increasing() {
        let clock = TimestampClock::new();
        let future = now_micros() + 60_000_000;
        clock.last.store(future, Ordering::Relaxed);
        assert_eq!(clock.next(), future + 1);
    }
}
