//! The values the proxy puts in place of `now()` (a version 1, time-based
//! UUID) and `uuid()` (a version 4, random UUID).
//!
//! No UUID crate: the layouts are a few shifts (RFC 4122), and randomness
//! comes from std's randomly keyed SipHash (`RandomState`), which is
//! enough for ids that must be unique, not secret.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// 100 ns intervals from the Gregorian reform (1582-10-15, the v1 epoch)
/// to the Unix epoch.
const GREGORIAN_OFFSET: u64 = 0x01B2_1DD2_1381_4000;

/// Generates `timeuuid`s and random `uuid`s. One per client connection:
/// its random node id and clock sequence keep its `now()` values apart
/// from other connections' and other proxies'; within it, time-based ids
/// are strictly increasing.
///
/// ```
/// use ferry_router::TimeUuids;
/// let ids = TimeUuids::new();
/// let (a, b) = (ids.time_based(), ids.time_based());
/// assert_ne!(a, b);
/// assert_eq!(a[6] >> 4, 1); // version 1
/// assert_eq!(ids.random()[6] >> 4, 4); // version 4
/// ```
#[derive(Debug)]
pub struct TimeUuids {
    keys: RandomState,
    /// Multicast bit set: a random node id, not a MAC address (RFC 4122 4.5).
    node: [u8; 6],
    clock_seq: u16,
    /// Last timestamp handed out, in 100 ns since the v1 epoch.
    last_ticks: AtomicU64,
    counter: AtomicU64,
}

impl Default for TimeUuids {
    fn default() -> Self {
        Self::new()
    }
}

impl TimeUuids {
    /// A generator with a fresh random node id and clock sequence.
    pub fn new() -> Self {
        let keys = RandomState::new();
        let seed = hash(&keys, u64::MAX);
        let mut node = [0u8; 6];
        node.copy_from_slice(&seed.to_be_bytes()[..6]);
        node[0] |= 0x01;
        Self {
            keys,
            node,
            clock_seq: (seed & 0x3fff) as u16,
            last_ticks: AtomicU64::new(0),
            counter: AtomicU64::new(0),
        }
    }

    /// A version 1 UUID for now (`now()`): the current time, strictly after
    /// the previous one of this generator.
    pub fn time_based(&self) -> [u8; 16] {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_nanos() / 100).unwrap_or(u64::MAX))
            .unwrap_or(0)
            .saturating_add(GREGORIAN_OFFSET);
        let previous = self
            .last_ticks
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |last| {
                Some(now.max(last + 1))
            })
            .unwrap_or(now);
        let ticks = now.max(previous + 1) & 0x0fff_ffff_ffff_ffff;
        let mut id = [0u8; 16];
        id[0..4].copy_from_slice(&((ticks & 0xffff_ffff) as u32).to_be_bytes());
        id[4..6].copy_from_slice(&(((ticks >> 32) & 0xffff) as u16).to_be_bytes());
        id[6..8].copy_from_slice(&((((ticks >> 48) & 0x0fff) as u16) | 0x1000).to_be_bytes());
        id[8..10].copy_from_slice(&((self.clock_seq & 0x3fff) | 0x8000).to_be_bytes());
        id[10..16].copy_from_slice(&self.node);
        id
    }

    /// A version 4 (random) UUID (`uuid()`).
    pub fn random(&self) -> [u8; 16] {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&hash(&self.keys, n << 1).to_be_bytes());
        id[8..].copy_from_slice(&hash(&self.keys, (n << 1) | 1).to_be_bytes());
        id[6] = (id[6] & 0x0f) | 0x40;
        id[8] = (id[8] & 0x3f) | 0x80;
        id
    }
}

fn hash(keys: &RandomState, n: u64) -> u64 {
    let mut h = keys.build_hasher();
    h.write_u64(n);
    h.finish()
}

/// The 60-bit timestamp of a version 1 UUID, in 100 ns since 1582.
#[cfg(test)]
fn ticks_of(id: &[u8; 16]) -> u64 {
    let low = u64::from(u32::from_be_bytes([id[0], id[1], id[2], id[3]]));
    let mid = u64::from(u16::from_be_bytes([id[4], id[5]]));
    let high = u64::from(u16::from_be_bytes([id[6], id[7]]) & 0x0fff);
    (high << 48) | (mid << 32) | low
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_based_ids_increase_and_carry_the_current_time() {
        let ids = TimeUuids::new();
        let before = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
            / 100
            + GREGORIAN_OFFSET;
        let all: Vec<[u8; 16]> = (0..1000).map(|_| ids.time_based()).collect();
        let ticks: Vec<u64> = all.iter().map(ticks_of).collect();
        assert!(ticks.windows(2).all(|w| w[1] > w[0]));
        assert!(ticks[0] >= before && ticks[0] < before + 10_000_000_000);
        for id in &all {
            assert_eq!(id[6] >> 4, 1);
            assert_eq!(id[8] >> 6, 0b10);
            assert_eq!(id[10..], all[0][10..]);
        }
    }

    #[test]
    fn random_ids_are_version_4_and_distinct() {
        let ids = TimeUuids::new();
        let mut all: Vec<[u8; 16]> = (0..1000).map(|_| ids.random()).collect();
        assert!(all.iter().all(|id| id[6] >> 4 == 4 && id[8] >> 6 == 0b10));
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 1000);
        // Another generator: another node id.
        assert_ne!(TimeUuids::new().time_based()[10..], ids.time_based()[10..]);
    }
}
