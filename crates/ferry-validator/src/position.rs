//! Where a partition sits in the order Cassandra returns partitions in.

use std::cmp::Ordering;

use bytes::Bytes;
use ferry_conn::token::Token;

/// A partition's place in ring order: its token, then — for the (rare)
/// partitions whose keys hash to the same token — its serialized partition
/// key compared as unsigned bytes. This is Cassandra's `DecoratedKey`
/// order, the order a token range scan returns partitions in.
///
/// The key is the partition key as hashed: a single column's value bytes,
/// or the `CompositeType` form for a composite key
/// ([`serialize_partition_key`](ferry_conn::token::serialize_partition_key)).
///
/// ```
/// use bytes::Bytes;
/// use ferry_conn::token::Token;
/// use ferry_validator::PartitionPosition;
/// let at = |t: i64, k: &'static [u8]| PartitionPosition::new(Token::murmur3(t), Bytes::from_static(k));
/// assert!(at(-5, b"z") < at(3, b"a"));      // token first
/// assert!(at(3, b"a") < at(3, b"b"));       // then key bytes
/// assert!(at(3, b"\x7f") < at(3, b"\x80")); // unsigned
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PartitionPosition {
    /// The partition's token.
    pub token: Token,
    /// The serialized partition key.
    pub key: Bytes,
}

impl PartitionPosition {
    /// The position of the partition with this token and serialized key.
    pub fn new(token: Token, key: Bytes) -> Self {
        Self { token, key }
    }
}

impl Ord for PartitionPosition {
    fn cmp(&self, other: &Self) -> Ordering {
        // `Bytes` orders lexicographically by `u8`, i.e. unsigned, as
        // Cassandra's ByteBufferUtil.compareUnsigned does.
        self.token
            .cmp(&other.token)
            .then_with(|| self.key.cmp(&other.key))
    }
}

impl PartialOrd for PartitionPosition {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
