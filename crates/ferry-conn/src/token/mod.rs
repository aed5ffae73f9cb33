//! Tokens and the token ring: pure computation, no I/O.
//!
//! - [`Partitioner`]: Murmur3Partitioner or RandomPartitioner, parsed from
//!   the class name in `system.local.partitioner`.
//! - [`Token`]: a token of either; [`Token::for_key`] computes a partition
//!   key's token exactly as Cassandra does ([`murmur3`] with Cassandra's
//!   signed-byte quirk, [`random_partitioner`] MD5), with composite keys
//!   serialized by [`serialize_partition_key`].
//! - [`TokenRange`]: `(start, end]` ranges, wrapping through the minimum token
//!   or not; [`TokenRange::unwrap`] and [`TokenRange::cql_bounds`] turn them
//!   into `token(pk) > a AND token(pk) <= b` scans, [`TokenRange::split`] cuts
//!   them into equal parts.
//! - [`TokenRing`]: the nodes' tokens sorted into primary ranges, owners and
//!   replicas under a [`ReplicationStrategy`] (parsed from the schema tables).
//!
//! ## The minimum token
//!
//! Each partitioner has a minimum token (`i64::MIN` for Murmur3, `-1` for
//! Random) that sorts before every other token and that no real key has:
//! Murmur3 turns a hash of `i64::MIN` into `i64::MAX`, MD5 hashes are made
//! non-negative, and only the empty key (which Cassandra refuses to store)
//! maps to it. It marks where the ring wraps: a range `(a, b]` with `a >= b`
//! goes from `a` up to the maximum token, through the minimum, then up to `b`.
//! Because no key has the minimum token, `token(pk) > min` reads everything up
//! to the upper bound, and scanning `(a, max]` then `(min, b]` reads a wrapping
//! range exactly.

mod error;
pub mod murmur3;
mod partition_key;
mod partitioner;
pub mod random_partitioner;
mod range;
mod replicas;
mod replication;
mod ring;
mod value;

pub use error::TokenError;
pub use partition_key::serialize_partition_key;
pub use partitioner::Partitioner;
pub use range::{CqlTokenBounds, TokenRange};
pub use replication::ReplicationStrategy;
pub use ring::{PrimaryRange, RingNode, TokenRing};
pub use value::Token;
