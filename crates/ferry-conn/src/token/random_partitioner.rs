//! RandomPartitioner hashing: the MD5 digest of the key, read as a signed
//! 128-bit big-endian integer (Java's `new BigInteger(byte[])`), made
//! non-negative with `abs()`.
//!
//! The result lies in `0..=2^127`: `abs(-2^127)` is `2^127`, which is why the
//! RandomPartitioner's maximum token is `2^127` and not `2^127 - 1`. The
//! partitioner's minimum token, `-1`, is below every hash, so like Murmur3's
//! minimum no key hashes to it (the empty key is given it by convention).

use md5::{Digest, Md5};

/// The largest RandomPartitioner token, `2^127`.
pub const MAX_VALUE: u128 = 1 << 127;

/// The RandomPartitioner token value of an already serialized partition key,
/// or `None` for the empty key (which gets the minimum token, `-1`).
///
/// ```
/// use ferry_conn::token::random_partitioner;
///
/// assert_eq!(
///     random_partitioner::token_value(b"123"),
///     Some(42767516990368493138776584305024125808)
/// );
/// assert_eq!(random_partitioner::token_value(b""), None);
/// ```
pub fn token_value(key: &[u8]) -> Option<u128> {
    if key.is_empty() {
        return None;
    }
    let digest: [u8; 16] = Md5::digest(key).into();
    Some(i128::from_be_bytes(digest).unsigned_abs())
}
