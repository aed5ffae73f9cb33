//! # ferry-conn
//!
//! Ferry's client side: async connections to any CQL-protocol database
//! (protocol v3 to v5) and sessions over a whole cluster, built on
//! [`ferry_wire`] for the bytes, `tokio` for I/O and `rustls` for TLS.
//!
//! - [`Connection`]: one multiplexed connection to one node: version
//!   negotiation, SASL authentication, v5 segments, compression, stream id
//!   management with timeouts, backpressure, heartbeats and events;
//! - [`ConnectionConfig`], [`TlsOptions`], [`VersionPolicy`]: what it needs;
//! - [`Authenticator`], [`AuthProvider`], [`PlainTextAuthProvider`]: SASL;
//! - [`ConnError`]: everything that can fail, with what to do about it;
//! - [`token`]: partitioner hashing (Murmur3 with Cassandra's quirks,
//!   RandomPartitioner) and the token ring: ranges, replicas, splits.
//! - [`session`]: a whole cluster: discovery, per-node pools, token-aware
//!   routing, retries, prepared statements on every node, paged row
//!   streams and token range scans ([`Session`], [`SessionConfig`]).
//! - [`schema`]: table metadata from either schema layout (2.x and 3.0+):
//!   columns by role, CQL types ([`schema::SchemaReader`]).
//! - [`rate_limit`]: a token bucket shared by the tasks of a bulk job.
//!
//! ```no_run
//! # async fn demo() -> Result<(), ferry_conn::ConnError> {
//! use ferry_conn::{Connection, ConnectionConfig, TlsOptions};
//! use ferry_wire::Consistency;
//! let config = ConnectionConfig::new("10.0.0.1:9042")
//!     .with_credentials("migrator", "secret")
//!     .with_tls(TlsOptions::new("/etc/ferry/ca.pem"));
//! let conn = Connection::connect(&config).await?;
//! conn.query("CREATE KEYSPACE IF NOT EXISTS ks WITH replication = \
//!             {'class': 'SimpleStrategy', 'replication_factor': 1}", Consistency::One).await?;
//! # Ok(()) }
//! ```

mod auth;
mod config;
mod connection;
mod error;
mod handshake;
pub mod rate_limit;
pub mod schema;
pub mod session;
mod tls;
pub mod token;
mod transport;

pub use auth::{
    AuthError, AuthProvider, Authenticator, PlainTextAuthProvider, PlainTextAuthenticator,
};
pub use config::{
    ConnectionConfig, VersionPolicy, DRIVER_NAME, DRIVER_VERSION, MAX_STREAM_IDS, MAX_STREAM_IDS_V2,
};
pub use connection::{Connection, ResponseFrame, StreamIdHasher, StreamIdMap};
pub use error::{ConnError, TlsError, VersionAttempt};
pub use session::{QueryOptions, Session, SessionConfig, SessionError};
pub use tls::{ClientCertFiles, TlsOptions};
