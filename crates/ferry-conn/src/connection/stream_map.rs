//! A map keyed by stream id, with a hash made for stream ids.
//!
//! The standard map hashes an `i16` with SipHash, which cost a few hundred
//! instructions per request in the proxy (an insert and a removal per
//! request, on each leg). Stream ids are not attacker-chosen keys worth
//! that: one id per request in flight, at most 32768 of them. A
//! multiplication by an odd constant spreads them over the hash's high
//! bits (which hashbrown uses as its tag) as well as its low ones.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A `HashMap` keyed by stream id ([`StreamIdHasher`]).
///
/// ```
/// use ferry_conn::StreamIdMap;
/// let mut waiting: StreamIdMap<&str> = StreamIdMap::default();
/// waiting.insert(7, "a PREPARE");
/// assert_eq!(waiting.remove(&7), Some("a PREPARE"));
/// ```
pub type StreamIdMap<V> = HashMap<i16, V, BuildHasherDefault<StreamIdHasher>>;

/// Hashes stream ids (and other small integers) with one multiplication.
///
/// ```
/// use std::hash::{BuildHasher, BuildHasherDefault};
/// use ferry_conn::StreamIdHasher;
/// let build = BuildHasherDefault::<StreamIdHasher>::default();
/// assert_ne!(build.hash_one(1i16), build.hash_one(2i16));
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct StreamIdHasher(u64);

/// 2^64 divided by the golden ratio, odd: consecutive ids land far apart.
const SPREAD: u64 = 0x9E37_79B9_7F4A_7C15;

impl Hasher for StreamIdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not used for stream ids; any key type still hashes correctly.
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(SPREAD);
        }
    }

    fn write_i16(&mut self, id: i16) {
        self.0 = (self.0 ^ u64::from(id as u16)).wrapping_mul(SPREAD);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stream_id_has_its_own_hash_and_high_bits_vary() {
        let build = BuildHasherDefault::<StreamIdHasher>::default();
        let hashes: std::collections::HashSet<u64> = (i16::MIN..=i16::MAX)
            .map(|id| std::hash::BuildHasher::hash_one(&build, id))
            .collect();
        assert_eq!(hashes.len(), 1 << 16);
        // hashbrown's tag is the top 7 bits: the first ids must not share it.
        let tags: std::collections::HashSet<u64> = (0i16..128)
            .map(|id| std::hash::BuildHasher::hash_one(&build, id) >> 57)
            .collect();
        assert!(tags.len() > 64, "{} distinct tags", tags.len());
    }
}
