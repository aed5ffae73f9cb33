//! When each forwarded request arrived, by stream id, for the latency
//! histograms: a lock-free table (one atomic per stream id), so that the
//! client reader, the source reader and the answering task never wait for
//! each other.
//!
//! Stream ids go up to 32767; the table is allocated in chunks of 256 as
//! ids are first used (drivers use the low ids first), so a connection
//! that uses a few dozen streams holds a few KiB.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::metrics::RequestKind;

const CHUNK: usize = 256;
const CHUNKS: usize = (i16::MAX as usize + 1) / CHUNK;
/// Low bits of a slot: the request kind's index plus one (0: empty).
const KIND_BITS: u32 = 6;

type Chunk = [AtomicU64; CHUNK];

/// Arrival times by stream id.
pub(crate) struct Timings {
    epoch: Instant,
    chunks: Box<[OnceLock<Box<Chunk>>]>,
}

impl Timings {
    pub(crate) fn new() -> Self {
        Self {
            epoch: Instant::now(),
            chunks: (0..CHUNKS).map(|_| OnceLock::new()).collect(),
        }
    }

    fn slot(&self, stream: i16, create: bool) -> Option<&AtomicU64> {
        let stream = usize::try_from(stream).ok()?;
        let chunk = self.chunks.get(stream / CHUNK)?;
        let chunk = if create {
            chunk.get_or_init(|| Box::new(std::array::from_fn(|_| AtomicU64::new(0))))
        } else {
            chunk.get()?
        };
        chunk.get(stream % CHUNK)
    }

    /// A request of `kind` that arrived at `arrived` went out on `stream`.
    /// Returns whether the slot was free (false: the client reused a
    /// stream id before its answer, or it is an event stream).
    pub(crate) fn start(&self, stream: i16, kind: RequestKind, arrived: Instant) -> bool {
        let Some(slot) = self.slot(stream, true) else {
            return false;
        };
        let nanos = u64::try_from(arrived.saturating_duration_since(self.epoch).as_nanos())
            .unwrap_or(u64::MAX >> KIND_BITS);
        let kind = kind.index() as u64 + 1;
        slot.swap((nanos << KIND_BITS) | kind, Ordering::Relaxed) == 0
    }

    /// The kind and age at `now` of a slot's request.
    fn decode(&self, value: u64, now: Instant) -> Option<(RequestKind, Duration)> {
        let kind = value & ((1 << KIND_BITS) - 1);
        if kind == 0 {
            return None;
        }
        // One clock subtraction: both times as nanoseconds since `epoch`.
        let now = u64::try_from(now.saturating_duration_since(self.epoch).as_nanos())
            .unwrap_or(u64::MAX >> KIND_BITS);
        let age = Duration::from_nanos(now.saturating_sub(value >> KIND_BITS));
        Some((RequestKind::from_index(kind as usize - 1), age))
    }

    /// The kind and age at `now` of the request on `stream`, left in place.
    pub(crate) fn peek(&self, stream: i16, now: Instant) -> Option<(RequestKind, Duration)> {
        self.decode(self.slot(stream, false)?.load(Ordering::Relaxed), now)
    }

    /// The kind and age of the request on `stream`, which is answered; the
    /// clock is read (if `now` is not given) only when there is one.
    pub(crate) fn take(
        &self,
        stream: i16,
        now: Option<Instant>,
    ) -> Option<(RequestKind, Duration)> {
        let value = self.slot(stream, false)?.swap(0, Ordering::Relaxed);
        if value == 0 {
            return None;
        }
        self.decode(value, now.unwrap_or_else(Instant::now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_round_trip_and_empty_after_take() {
        let t = Timings::new();
        let arrived = Instant::now();
        assert!(t.peek(5, arrived).is_none());
        assert!(t.start(32767, RequestKind::Batch, arrived));
        assert!(t.start(5, RequestKind::Read, arrived));
        assert!(!t.start(5, RequestKind::Read, arrived), "already taken");
        let later = arrived + Duration::from_millis(3);
        assert_eq!(
            t.peek(5, later),
            Some((RequestKind::Read, Duration::from_millis(3)))
        );
        assert_eq!(t.take(32767, None).unwrap().0, RequestKind::Batch);
        assert!(t.take(32767, None).is_none());
        assert!(t.take(-1, Some(later)).is_none());
        assert!(!t.start(-1, RequestKind::Read, arrived)); // events: ignored
        assert!(t.chunks.iter().filter(|c| c.get().is_some()).count() == 2);
    }
}
