//! The proxy instances' tokens and host ids: computed, not stored, so
//! every instance given the same list agrees on all of them.

use std::net::SocketAddr;

/// The token of instance `index` of `count`, for the source's
/// `partitioner` (its class name from `system.local`), as the text
/// `system.local.tokens` holds.
///
/// The ring is split evenly, as Cassandra's documentation computes initial
/// tokens: Murmur3 `(2^64 / count) * index - 2^63`; Random
/// `(2^127 / count) * index`. Other partitioners get the Murmur3 tokens
/// (drivers then route without token awareness that matters: every
/// instance forwards to the same source).
///
/// ```
/// use ferry_router::topology::tokens_of;
/// let p = "org.apache.cassandra.dht.Murmur3Partitioner";
/// assert_eq!(tokens_of(0, 2, p), ["-9223372036854775808"]);
/// assert_eq!(tokens_of(1, 2, p), ["0"]);
/// assert_eq!(tokens_of(1, 2, "org.apache.cassandra.dht.RandomPartitioner"),
///            ["85070591730234615865843651857942052864"]);
/// ```
pub fn tokens_of(index: usize, count: usize, partitioner: &str) -> Vec<String> {
    let (count, index) = (count.max(1) as u128, index as u128);
    let token = if partitioner.ends_with("RandomPartitioner") {
        // 2^127 does not fit in an i128.
        ((1u128 << 127) / count * index).to_string()
    } else {
        let (count, index) = (count as i128, index as i128);
        // 2^64 / count fits in an i128; the result is within i64.
        (((1i128 << 64) / count) * index - (1i128 << 63)).to_string()
    };
    vec![token]
}

/// A stable host id for the instance at `address`: 16 bytes of a hash of
/// the address, marked as an RFC 4122 version 8 (custom) UUID.
///
/// ```
/// use ferry_router::topology::host_id_of;
/// let a = host_id_of(&"127.0.0.20:29042".parse().unwrap());
/// assert_eq!(a, host_id_of(&"127.0.0.20:29042".parse().unwrap()));
/// assert_ne!(a, host_id_of(&"127.0.0.21:29042".parse().unwrap()));
/// assert_eq!(a[6] >> 4, 8);
/// ```
pub fn host_id_of(address: &SocketAddr) -> [u8; 16] {
    let text = format!("ferry-proxy/{address}");
    let high = fnv1a(text.as_bytes(), 0xcbf2_9ce4_8422_2325);
    let low = fnv1a(text.as_bytes(), high ^ 0x9e37_79b9_7f4a_7c15);
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&high.to_be_bytes());
    id[8..].copy_from_slice(&low.to_be_bytes());
    id[6] = (id[6] & 0x0f) | 0x80;
    id[8] = (id[8] & 0x3f) | 0x80;
    id
}

/// FNV-1a, 64 bits, from `seed`: stable across builds and platforms
/// (std's hashers are not guaranteed to be).
pub(super) fn fnv1a(bytes: &[u8], seed: u64) -> u64 {
    bytes.iter().fold(seed, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_partitioner_tokens_are_positive_and_within_2_to_127() {
        let p = "org.apache.cassandra.dht.RandomPartitioner";
        let tokens: Vec<u128> = (0..3)
            .map(|i| tokens_of(i, 3, p)[0].parse().unwrap())
            .collect();
        assert_eq!(tokens[0], 0);
        assert!(tokens.windows(2).all(|w| w[1] > w[0]));
        assert!(tokens[2] < 1u128 << 127);
    }

    #[test]
    fn murmur3_tokens_split_the_ring_evenly() {
        let p = "org.apache.cassandra.dht.Murmur3Partitioner";
        let tokens: Vec<i128> = (0..4)
            .map(|i| tokens_of(i, 4, p)[0].parse().unwrap())
            .collect();
        assert_eq!(tokens[0], i128::from(i64::MIN));
        let steps: Vec<i128> = tokens.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(steps.iter().all(|s| *s == 1i128 << 62), "{steps:?}");
        // Three instances: every token is a valid i64.
        for i in 0..3 {
            tokens_of(i, 3, p)[0].parse::<i64>().unwrap();
        }
    }
}
