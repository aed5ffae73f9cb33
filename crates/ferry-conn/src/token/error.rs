//! Errors of the token ring module.

use super::{Partitioner, Token};

/// Why a token, key, ring or replication setting could not be built or used.
///
/// Everything here comes from data read off a cluster (partitioner class
/// names, token strings, replication maps), so every failure is a value, never
/// a panic.
///
/// ```
/// use ferry_conn::token::{Partitioner, TokenError};
///
/// let err = Partitioner::from_class_name("org.apache.cassandra.dht.ByteOrderedPartitioner")
///     .unwrap_err();
/// assert!(matches!(err, TokenError::UnsupportedPartitioner(_)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The cluster uses a partitioner other than Murmur3Partitioner and
    /// RandomPartitioner (e.g. ByteOrderedPartitioner), whose tokens Ferry
    /// cannot compute.
    #[error(
        "unsupported partitioner {0:?}: only org.apache.cassandra.dht.Murmur3Partitioner \
         and org.apache.cassandra.dht.RandomPartitioner are supported"
    )]
    UnsupportedPartitioner(String),

    /// A token's text or bytes are not a valid token of the partitioner.
    #[error("invalid {partitioner:?} token {input}: {reason}")]
    InvalidToken {
        /// The partitioner the token was read for.
        partitioner: Partitioner,
        /// The offending input, as text (bytes are shown in hex).
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// Tokens (or a token and a ring) of two different partitioners were mixed.
    #[error("token of {found:?} used where a {expected:?} token was expected")]
    PartitionerMismatch {
        /// The partitioner the operation works with.
        expected: Partitioner,
        /// The partitioner of the token handed in.
        found: Partitioner,
    },

    /// A partition key with no components.
    #[error("a partition key needs at least one component")]
    EmptyPartitionKey,

    /// A component of a composite partition key is longer than the 65535
    /// bytes its `[short]` length prefix can describe.
    #[error("partition key component {index} is {len} bytes long; composite key components are limited to 65535 bytes")]
    KeyComponentTooLong {
        /// Position of the component in the key (0-based).
        index: usize,
        /// Its length in bytes.
        len: usize,
    },

    /// A ring with no tokens at all: nothing owns anything.
    #[error("the token ring has no tokens")]
    EmptyRing,

    /// Two nodes (or one node twice) claim the same token.
    #[error("token {token} is claimed twice (by {first} and by {second})")]
    DuplicateToken {
        /// The token.
        token: Token,
        /// The first claimant (Debug rendering of its id).
        first: String,
        /// The second claimant (Debug rendering of its id).
        second: String,
    },

    /// The same node id appears twice in the node list.
    #[error("node {0} appears twice in the ring")]
    DuplicateNode(String),

    /// A keyspace's replication settings could not be understood.
    #[error("invalid replication settings: {0}")]
    InvalidReplication(String),

    /// The replication strategy does not place data by token
    /// (LocalStrategy) or is unknown to Ferry.
    #[error("replicas cannot be computed for replication strategy {0}")]
    UnsupportedStrategy(String),
}
