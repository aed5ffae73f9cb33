//! One client connection: its source leg, its target leg, and the tasks
//! between them.
//!
//! ```text
//!            client reader ──frames──▶ source writer ──▶ SOURCE
//! CLIENT ──▶ (routes each request)                          │
//!    ▲             │ writes (copy, same timestamp)          │
//!    │             ▼                                        │
//!    │       target leg (ferry-conn) ──▶ TARGET             │
//!    │                                                      ▼
//! client writer ◀──frames── source reader (answers, events) ◀┘
//! ```
//!
//! The client's stream ids are used unchanged on its own source
//! connection, so the source's answers go back as they are. Requests whose
//! answer the proxy must see (a PREPARE, a USE, a topology query, a mirrored write, a request
//! answered only after the target too) leave a [`Pending`] entry under
//! their stream id; the source reader consults it for each answer.
//!
//! "Source" and "target" here are the connection's *primary* and
//! *mirror*: the [`ProxyShared`] a connection gets is oriented (see
//! `shared.rs`), so when the target is primary the same code relays to
//! the target and mirrors writes to the source.

mod client;
mod route;
mod source;
mod timings;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use bytes::Bytes;
use ferry_conn::StreamIdMap;
use ferry_wire::compression::Compression;
use ferry_wire::frame::Frame;
use ferry_wire::ProtocolVersion;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_rustls::server::TlsStream;

use self::timings::Timings;
use crate::config::Credentials;
use crate::framing::{queue_for_writer, run_writer, Outbound, SharedMode};
use crate::metrics::{Cluster, Metrics, RequestKind};
use crate::queue::QueueSlot;
use crate::shared::ProxyShared;
use crate::target::{TargetLeg, TargetRequest};

/// Frames queued for one client before its readers wait.
const CLIENT_QUEUE: usize = 1024;
/// Frames queued for one source connection before the client reader waits.
const SOURCE_QUEUE: usize = 1024;

/// What to do with the source's answer on a stream.
pub(crate) enum Pending {
    /// Hand it to a task that also waits for the target, and answers.
    Divert(oneshot::Sender<Frame>),
    /// Forward it; then mirror the write through the queue, unless the
    /// source refused the request. `slot` is `None` when the queue was
    /// full (spill policy): the write goes to the log instead.
    Mirror {
        slot: Option<QueueSlot>,
        request: TargetRequest,
    },
    /// Forward it; remember the prepared statement (and prepare it on the
    /// target in the background).
    Prepare {
        text: Bytes,
        keyspace: Option<String>,
        /// Markers the proxy put in place of `now()`/`uuid()`: hidden
        /// from the client's answer, filled in at each EXECUTE.
        time_markers: Option<crate::cql::PreparedRewrite<'static>>,
    },
    /// Forward it; note the keyspace of a Set_keyspace result.
    UseKeyspace,
    /// The source's `system.local` row, asked in place of a topology
    /// query: answer the client's query from it (topology-rewrite mode).
    Topology {
        query: crate::topology::TopologyQuery,
        /// The client asked for rows without column metadata.
        skip_metadata: bool,
    },
}

/// What the handshake learned.
#[derive(Default)]
pub(crate) struct Handshake {
    /// The version of the STARTUP that succeeded.
    pub(crate) version: Option<ProtocolVersion>,
    /// The client's SASL PLAIN credentials, if it sent some.
    pub(crate) credentials: Option<Credentials>,
}

/// State shared by a client connection's tasks.
pub(crate) struct ConnState {
    pub(crate) id: u64,
    pub(crate) peer: SocketAddr,
    pub(crate) shared: Arc<ProxyShared>,
    pub(crate) to_client: mpsc::Sender<Outbound>,
    /// The client reader's framing (switched to segments by the source reader).
    pub(crate) client_mode: SharedMode,
    /// Compression asked for in STARTUP: 0 none, 1 lz4, 2 snappy.
    compression: AtomicU8,
    pub(crate) handshake: Mutex<Handshake>,
    /// Set once READY or AUTH_SUCCESS went back to the client.
    pub(crate) ready: AtomicBool,
    pub(crate) pending: Mutex<StreamIdMap<Pending>>,
    pub(crate) target: OnceLock<Arc<TargetLeg>>,
    /// The client's keyspace (from the source's answers to USE).
    pub(crate) keyspace: Mutex<Option<String>>,
    /// Requests sent to the source and not answered yet.
    pub(crate) in_flight: AtomicUsize,
    /// Turns true when the source connection is gone.
    pub(crate) source_closed: watch::Sender<bool>,
    /// Values for `now()`/`uuid()` (`--replace-time-functions`).
    pub(crate) time_ids: crate::time_functions::TimeUuids,
    /// Arrival times of forwarded requests, for the latency histograms.
    timings: Timings,
    /// Forwarded requests whose answer has not gone back to the client
    /// yet (unlike `in_flight`, this includes answers that wait for the
    /// target in sync mode). A closing connection waits for it to be 0.
    pub(crate) owed: AtomicUsize,
}

/// An accepted client connection.
pub(crate) enum ClientStream {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS (`--proxy-tls-cert`).
    Tls(Box<TlsStream<TcpStream>>),
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl ConnState {
    pub(crate) fn compression(&self) -> Option<Compression> {
        match self.compression.load(Ordering::Relaxed) {
            1 => Some(Compression::Lz4),
            2 => Some(Compression::Snappy),
            _ => None,
        }
    }

    pub(crate) fn set_compression(&self, c: Option<Compression>) {
        let v = match c {
            None => 0,
            Some(Compression::Lz4) => 1,
            Some(Compression::Snappy) => 2,
        };
        self.compression.store(v, Ordering::Relaxed);
    }

    pub(crate) fn keyspace(&self) -> Option<String> {
        lock(&self.keyspace).clone()
    }

    pub(crate) fn set_keyspace(&self, ks: String) {
        *lock(&self.keyspace) = Some(ks);
    }

    pub(crate) fn handshake(&self) -> MutexGuard<'_, Handshake> {
        lock(&self.handshake)
    }

    pub(crate) fn pending(&self) -> MutexGuard<'_, StreamIdMap<Pending>> {
        lock(&self.pending)
    }

    pub(crate) fn metrics(&self) -> &Metrics {
        &self.shared.metrics
    }

    /// Sends a frame to the client (waits if its queue is full).
    pub(crate) async fn reply(&self, frame: Frame) {
        self.reply_at(frame, None).await;
    }

    /// [`ConnState::reply`] for an answer the source gave at `answered`
    /// (the clock read once for both of its latencies).
    pub(crate) async fn reply_at(&self, frame: Frame, answered: Option<std::time::Instant>) {
        if frame.header.stream >= 0 {
            if let Some((kind, elapsed)) = self.timings.take(frame.header.stream, answered) {
                self.shared.metrics.observe_client(kind, elapsed);
                let _ = self
                    .owed
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
            }
        }
        let _ = queue_for_writer(&self.to_client, Outbound::Frame(frame)).await;
    }

    /// Notes a request forwarded on `stream` (it arrived at `arrived`).
    pub(crate) fn forwarded(&self, stream: i16, kind: RequestKind, arrived: std::time::Instant) {
        if self.timings.start(stream, kind, arrived) {
            self.owed.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Notes the source's answer on `stream`, read at `now` (for its
    /// latency histogram).
    pub(crate) fn source_answered(&self, stream: i16, now: std::time::Instant) {
        if let Some((kind, elapsed)) = self.timings.peek(stream, now) {
            self.shared
                .metrics
                .observe_cluster(kind, Cluster::Source, elapsed);
        }
    }
}

/// Serves one accepted client connection until it closes.
pub(crate) async fn serve_client(shared: Arc<ProxyShared>, socket: ClientStream, peer: SocketAddr) {
    let id = shared.next_connection_id.fetch_add(1, Ordering::Relaxed);
    let metrics = shared.metrics.clone();
    Metrics::inc(&metrics.connections_total);
    metrics.connections_open.fetch_add(1, Ordering::Relaxed);
    let (to_client, client_queue) = mpsc::channel(CLIENT_QUEUE);
    let state = Arc::new(ConnState {
        id,
        peer,
        shared,
        to_client,
        client_mode: SharedMode::default(),
        compression: AtomicU8::new(0),
        handshake: Mutex::new(Handshake::default()),
        ready: AtomicBool::new(false),
        pending: Mutex::new(StreamIdMap::default()),
        target: OnceLock::new(),
        keyspace: Mutex::new(None),
        in_flight: AtomicUsize::new(0),
        source_closed: watch::channel(false).0,
        time_ids: crate::time_functions::TimeUuids::new(),
        timings: Timings::new(),
        owed: AtomicUsize::new(0),
    });
    tracing::debug!(connection = id, %peer, "client connected");
    // Plain TCP keeps tokio's lock-free owned halves; TLS needs a split.
    let writer = match socket {
        ClientStream::Plain(socket) => {
            let _ = socket.set_nodelay(true);
            let (read_half, write_half) = socket.into_split();
            let writer = tokio::spawn(run_writer(write_half, client_queue));
            client::ClientConn::new(state.clone()).run(read_half).await;
            writer
        }
        ClientStream::Tls(stream) => {
            let (read_half, write_half) = tokio::io::split(*stream);
            let writer = tokio::spawn(run_writer(write_half, client_queue));
            client::ClientConn::new(state.clone()).run(read_half).await;
            writer
        }
    };
    let _ = state.to_client.send(Outbound::Close).await;
    drop(state);
    let _ = writer.await;
    metrics.connections_open.fetch_sub(1, Ordering::Relaxed);
    tracing::debug!(connection = id, %peer, "client disconnected");
}
