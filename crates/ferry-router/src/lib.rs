//! # ferry-router
//!
//! Ferry's dual-write proxy. Applications connect to it as if it were
//! their Cassandra cluster; it relays every request to the **source**
//! cluster and answers with the source's response, and mirrors the writes
//! to the **target** cluster, with the same write timestamp, so both
//! clusters hold the same cells.
//!
//! - [`Proxy`] / [`ProxyConfig`]: the listener and its settings
//!   ([`WriteMode`], [`FullQueuePolicy`], [`RetryPolicy`], [`Credentials`],
//!   [`ClusterEndpoint`], [`ClientTls`] for TLS on the client side).
//! - The primary: the cluster clients are relayed to ([`Cluster::Source`]
//!   by default); [`Proxy::set_primary`] (or `POST /primary` on the admin
//!   endpoint) swaps the roles at run time for the cutover, and says how
//!   long it took ([`SwitchReport`]).
//! - One client connection = one source connection (a raw relay of the
//!   client's frames, handshake included, with the client's stream ids)
//!   plus one target connection (ferry-conn, the proxy's own handshake, in
//!   the version the client negotiated). See the `session` module docs.
//! - [`cql`]: the statement classifier (read or write, LWT, counter,
//!   `USING TIMESTAMP`...), digested into a [`StatementSummary`].
//! - [`TimestampClock`]: the timestamps added to writes that carry none.
//! - [`PreparedCache`]: source prepared ids → statement and target ids (LRU).
//! - [`id_rewrite`]: swapping prepared ids in a raw EXECUTE/BATCH body.
//! - [`failed_log`] and [`replay`]: the durable log of target writes that
//!   could not be applied, and applying it later.
//! - [`startup_check`]: both clusters' versions before listening.
//! - [`Metrics`], [`Histogram`], [`serve_metrics`]: Prometheus text
//!   endpoint with latency histograms, `/health/live`, `/health/ready`
//!   (both clusters probed) and the primary switch.
//! - [`topology`]: answering `system.local`/`system.peers` with the proxy
//!   instances ([`ProxyTopology`]).
//! - Mirrored reads ([`MirroredReadMetrics`]) and `now()`/`uuid()`
//!   replacement: options of [`ProxyConfig`].
//!
//! ```
//! use ferry_router::cql::classify;
//! let info = classify("INSERT INTO ks.users (id, name) VALUES (?, ?)");
//! assert!(info.is_write);
//! assert!(info.may_add_timestamp());
//! ```
#![forbid(unsafe_code)]

mod client_tls;
mod clock;
mod config;
pub mod cql;
pub mod failed_log;
mod framing;
mod health;
pub mod id_rewrite;
mod metrics;
mod metrics_http;
mod mirror_reads;
mod pkcs12;
mod prepared;
mod queue;
pub mod replay;
mod responses;
mod server;
mod session;
mod shared;
pub mod startup_check;
mod summary;
mod switchboard;
mod target;
mod time_functions;
pub mod topology;
mod upstream;

pub use client_tls::ClientTlsError;
pub use clock::TimestampClock;
pub use config::{
    ClientTls, ClientTlsIdentity, ClusterEndpoint, Credentials, FullQueuePolicy, ProxyConfig,
    RetryPolicy, WriteMode,
};
pub use metrics::{Cluster, Gauges, Histogram, Metrics, RequestKind};
pub use metrics_http::serve_metrics;
pub use mirror_reads::MirroredReadMetrics;
pub use pkcs12::Pkcs12Problem;
pub use prepared::{PreparedCache, PreparedStatement, TargetIds};
pub use queue::DrainReport;
pub use server::{MetricsHandle, Proxy, ProxyError, ShutdownReport};
pub use summary::{StatementClass, StatementSummary};
pub use switchboard::SwitchReport;
pub use time_functions::TimeUuids;
pub use topology::{ProxyTopology, TopologyError};
