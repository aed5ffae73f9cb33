//! Cassandra's flavour of MurmurHash3 (x64, 128-bit), as used by
//! `org.apache.cassandra.dht.Murmur3Partitioner`.
//!
//! Cassandra's `MurmurHash.hash3_x64_128` is a Java port of Austin Appleby's
//! `MurmurHash3_x64_128` with one quirk that every client must reproduce to
//! route correctly: the 1 to 15 trailing bytes that do not fill a 16-byte
//! block are read as *signed* Java bytes. `(long) key.get(i) << n` sign-extends
//! a byte >= 0x80 to 64 bits before shifting, so its high one-bits are XORed
//! over the positions of the bytes above it. The reference C code reads them as
//! unsigned, so the two disagree on any key whose tail holds such a byte.
//! Whole 16-byte blocks are read unsigned (`& 0xff`) in both, so they agree
//! there.
//!
//! The token of a key is the first 64-bit half of the hash (seed 0), except
//! that the empty key gets the minimum token and a hash equal to `i64::MIN` is
//! moved to `i64::MAX`: the minimum token is reserved so that the range
//! `(MIN, x]` means "everything up to x".

/// First mixing constant of MurmurHash3 x64 128.
const C1: u64 = 0x87c3_7b91_1142_53d5;
/// Second mixing constant of MurmurHash3 x64 128.
const C2: u64 = 0x4cf5_ad43_2745_937f;

/// Cassandra's `MurmurHash.hash3_x64_128(key, 0, key.length, seed)`: both
/// 64-bit halves of the hash, as unsigned bit patterns (`h1`, `h2`).
///
/// ```
/// use ferry_conn::token::murmur3;
///
/// // The first half, read as a signed long, is the key's token.
/// let (h1, _h2) = murmur3::hash_x64_128(b"123", 0);
/// assert_eq!(h1 as i64, -7468325962851647638);
/// ```
pub fn hash_x64_128(key: &[u8], seed: u64) -> (u64, u64) {
    let mut h1 = seed;
    let mut h2 = seed;

    let mut blocks = key.chunks_exact(16);
    for block in &mut blocks {
        let (lo, hi) = block.split_at(8);
        h1 ^= mix_k1(le_u64(lo));
        h1 = h1
            .rotate_left(27)
            .wrapping_add(h2)
            .wrapping_mul(5)
            .wrapping_add(0x52dc_e729);
        h2 ^= mix_k2(le_u64(hi));
        h2 = h2
            .rotate_left(31)
            .wrapping_add(h1)
            .wrapping_mul(5)
            .wrapping_add(0x3849_5ab5);
    }

    let tail = blocks.remainder();
    if !tail.is_empty() {
        let (lo, hi) = tail.split_at(tail.len().min(8));
        if !hi.is_empty() {
            h2 ^= mix_k2(signed_tail_word(hi));
        }
        h1 ^= mix_k1(signed_tail_word(lo));
    }

    // Java XORs the int length into the longs; key lengths never reach 2^31.
    let len = key.len() as u64;
    h1 ^= len;
    h2 ^= len;
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    h1 = fmix64(h1);
    h2 = fmix64(h2);
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    (h1, h2)
}

/// The Murmur3Partitioner token of an already serialized partition key
/// (see [`crate::token::serialize_partition_key`] for composite keys).
///
/// ```
/// use ferry_conn::token::murmur3;
///
/// // An int partition key 1 is hashed as its 4 big-endian bytes.
/// assert_eq!(murmur3::token(&1i32.to_be_bytes()), -4069959284402364209);
/// // The empty key is the minimum token, which no other key can have.
/// assert_eq!(murmur3::token(b""), i64::MIN);
/// ```
pub fn token(key: &[u8]) -> i64 {
    if key.is_empty() {
        return i64::MIN;
    }
    let (h1, _) = hash_x64_128(key, 0);
    // Cassandra keeps i64::MIN for the empty key only (Murmur3Partitioner.normalize).
    match h1 as i64 {
        i64::MIN => i64::MAX,
        t => t,
    }
}

/// Little-endian word of a full 8-byte half block (bytes read unsigned).
fn le_u64(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .rev()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
}

/// The tail word as Cassandra builds it: each byte sign-extended to 64 bits,
/// shifted to its position and XORed in (Java's `k ^= (long) key[i] << 8*i`).
fn signed_tail_word(bytes: &[u8]) -> u64 {
    bytes.iter().enumerate().fold(0u64, |acc, (i, &b)| {
        let sign_extended = i64::from(b as i8) as u64;
        acc ^ (sign_extended << (8 * i))
    })
}

/// Mixes a first-half word before it is XORed into `h1`.
fn mix_k1(k1: u64) -> u64 {
    k1.wrapping_mul(C1).rotate_left(31).wrapping_mul(C2)
}

/// Mixes a second-half word before it is XORed into `h2`.
fn mix_k2(k2: u64) -> u64 {
    k2.wrapping_mul(C2).rotate_left(33).wrapping_mul(C1)
}

/// MurmurHash3's 64-bit finalizer (avalanche).
fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^= k >> 33;
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_bytes_below_0x80_match_unsigned_reading() {
        // Without high bytes the sign extension is a no-op.
        assert_eq!(signed_tail_word(&[1, 2, 3]), 0x0003_0201);
    }

    #[test]
    fn tail_bytes_from_0x80_sign_extend_over_higher_bytes() {
        // 0xFE sign-extends to 0xFFFF_FFFF_FFFF_FFFE, flipping every byte above it.
        assert_eq!(signed_tail_word(&[0xFE]), 0xFFFF_FFFF_FFFF_FFFE);
        assert_eq!(signed_tail_word(&[0xFE, 0x01]), 0xFFFF_FFFF_FFFF_FEFE);
    }
}
