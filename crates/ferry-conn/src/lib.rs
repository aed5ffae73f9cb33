//! # ferry-conn
//!
//! Ferry's client side: async connections to any CQL-protocol database
//! (protocol v3 to v5) and sessions over a whole cluster, built on
//! [`ferry_wire`] for the bytes, `tokio` for I/O and `rustls` for TLS.
//!
//! - [`token`]: partitioner hashing (Murmur3 with Cassandra's quirks,
//!   RandomPartitioner) and the token ring: ranges, replicas, splits.
pub mod token;
