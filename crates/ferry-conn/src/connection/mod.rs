//! One multiplexed connection to one node.
//!
//! After the handshake ([`crate::handshake`]) the stream is split: a writer
//! task drains a queue of request frames, a reader task hands each response
//! to the request waiting on its stream id, a sweeper task times out the
//! requests whose deadline passed, and (if configured) a heartbeat task
//! pings the server when the connection is idle. Callers only touch
//! the shared state: take an in-flight slot and a stream id, queue the
//! frame, wait for the answer.

pub(crate) mod framing;
mod heartbeat;
mod pending;
mod reader;
mod response;
mod shared;
mod stream_ids;
pub(crate) mod stream_map;
mod sweeper;
mod writer;

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use ferry_wire::compression::Compression;
use ferry_wire::frame::{Frame, FrameFlags};
use ferry_wire::request::{
    Batch, Execute, Options, Prepare, Query, QueryParameters, Register, Request,
};
use ferry_wire::response::{Event, Prepared, Response, ResultResponse, Supported};
use ferry_wire::{Consistency, EncodeError, Opcode, ProtocolVersion};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

pub use response::ResponseFrame;
pub use stream_map::{StreamIdHasher, StreamIdMap};

use crate::config::ConnectionConfig;
use crate::error::{ConnError, VersionAttempt};
use crate::handshake;
use shared::{CloseReason, Shared, SharedParts};

/// A connection to one node, with many requests in flight at once.
///
/// Cheap to clone: clones share the connection, which closes when the last
/// clone is dropped (or on [`Connection::close`]). Every request has a
/// timeout; a request that times out keeps its stream id reserved until the
/// server's late answer arrives, so that answer is never mistaken for
/// another request's.
///
/// ```no_run
/// # async fn demo() -> Result<(), ferry_conn::ConnError> {
/// use ferry_conn::{Connection, ConnectionConfig};
/// use ferry_wire::{response::ResultResponse, Consistency};
/// let conn = Connection::connect(&ConnectionConfig::new("127.0.0.1:9042")).await?;
/// println!("speaking {}", conn.protocol_version());
/// match conn.query("SELECT release_version FROM system.local", Consistency::One).await? {
///     ResultResponse::Rows(rows) => println!("{} row(s)", rows.row_count()),
///     other => println!("unexpected result kind {}", other.kind()),
/// }
/// conn.close().await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Connection {
    shared: Arc<Shared>,
    owner: Arc<Owner>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("address", &self.shared.address)
            .field("version", &self.shared.version)
            .field("compression", &self.shared.compression)
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

/// Closes the connection when the last handle goes away, and remembers
/// what the handshake learned.
struct Owner {
    shared: Arc<Shared>,
    supported: Option<Supported>,
    rejected: Vec<VersionAttempt>,
    writer: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Owner {
    fn drop(&mut self) {
        self.shared.close(CloseReason::Dropped);
    }
}

impl Connection {
    /// Connects, negotiates the protocol version, authenticates, and
    /// (if configured) switches to `config.keyspace`.
    pub async fn connect(config: &ConnectionConfig) -> Result<Connection, ConnError> {
        let established = handshake::establish(config).await?;
        let stream_ids = config.stream_ids_for(established.version);
        let (shared, queue) = Shared::new(SharedParts {
            address: config.address.clone(),
            peer: established.peer,
            version: established.version,
            compression: established.compression,
            request_timeout: config.request_timeout,
            max_in_flight: config.max_in_flight,
            stream_ids,
            max_orphans: config.max_orphaned_ids,
            event_buffer: config.event_buffer,
        });
        let shared = Arc::new(shared);
        shared.touch();
        let framed = established.framed;
        let (read_half, write_half) = tokio::io::split(framed.stream);
        tokio::spawn(reader::run(
            shared.clone(),
            read_half,
            framed.read_buf,
            framed.reader,
            shared.shutdown_signal(),
        ));
        let writer = tokio::spawn(writer::run(
            shared.clone(),
            write_half,
            framed.writer,
            queue,
            shared.shutdown_signal(),
        ));
        tokio::spawn(sweeper::run(shared.clone(), shared.shutdown_signal()));
        if let Some(interval) = config.heartbeat_interval {
            tokio::spawn(heartbeat::run(
                Arc::downgrade(&shared),
                interval,
                shared.shutdown_signal(),
            ));
        }
        let conn = Connection {
            owner: Arc::new(Owner {
                shared: shared.clone(),
                supported: established.supported,
                rejected: established.rejected,
                writer: std::sync::Mutex::new(Some(writer)),
            }),
            shared,
        };
        if let Some(keyspace) = &config.keyspace {
            conn.use_keyspace(keyspace).await?;
        }
        Ok(conn)
    }

    /// The configured address (`host:port`).
    pub fn address(&self) -> &str {
        &self.shared.address
    }

    /// The peer's socket address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.shared.peer
    }

    /// The negotiated protocol version.
    pub fn protocol_version(&self) -> ProtocolVersion {
        self.shared.version
    }

    /// The negotiated compression, if any.
    pub fn compression(&self) -> Option<Compression> {
        self.shared.compression
    }

    /// What the server answered to OPTIONS during the handshake (if
    /// `probe_options` was on).
    pub fn supported(&self) -> Option<&Supported> {
        self.owner.supported.as_ref()
    }

    /// Versions the server refused before the one in use, highest first.
    pub fn rejected_versions(&self) -> &[VersionAttempt] {
        &self.owner.rejected
    }

    /// Stream ids in use, including those held by timed-out requests.
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight()
    }

    /// Stream ids held by requests that timed out and whose late answers
    /// have not arrived.
    pub fn orphaned_ids(&self) -> usize {
        self.shared.orphans()
    }

    /// Whether the connection is closed.
    pub fn is_closed(&self) -> bool {
        self.shared.close_reason().is_some()
    }

    /// Why the connection closed, if it did.
    pub fn close_reason(&self) -> Option<String> {
        self.shared.close_reason().map(ToString::to_string)
    }

    /// Waits until the connection closes, for whatever reason.
    pub async fn closed(&self) {
        let mut signal = self.shared.shutdown_signal();
        let _ = signal.wait_for(|closed| *closed).await;
    }

    /// Closes the connection: requests in flight fail with
    /// [`ConnError::Closed`], queued writes are dropped, and the stream is
    /// shut down (with a TLS close_notify).
    pub async fn close(&self) {
        self.shared.close(CloseReason::Requested);
        let writer = self
            .owner
            .writer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(writer) = writer {
            let _ = writer.await;
        }
    }

    /// Sends a raw request body and returns the raw response frame (body
    /// decompressed). ERROR responses are returned as frames, not errors.
    pub async fn send_raw(&self, opcode: Opcode, body: Bytes) -> Result<Frame, ConnError> {
        self.send_raw_with_flags(opcode, FrameFlags::NONE, body)
            .await
    }

    /// [`Connection::send_raw`] with header flags (TRACING, CUSTOM_PAYLOAD
    /// with the payload at the start of `body`, ...). The COMPRESSION flag
    /// is ignored: compression is negotiated per connection.
    pub async fn send_raw_with_flags(
        &self,
        opcode: Opcode,
        flags: FrameFlags,
        body: Bytes,
    ) -> Result<Frame, ConnError> {
        self.shared.round_trip(opcode, flags, body).await
    }

    /// Sends a request and decodes the response. An ERROR response is
    /// returned as [`ConnError::Server`].
    pub async fn send(&self, request: impl Into<Request>) -> Result<ResponseFrame, ConnError> {
        let request = request.into();
        let mut body = BytesMut::new();
        request.encode(&mut body, self.shared.version)?;
        let frame = self.send_raw(request.opcode(), body.freeze()).await?;
        let decoded = ResponseFrame::decode(frame)?;
        match decoded.response {
            Response::Error(e) => Err(ConnError::Server(e)),
            _ => Ok(decoded),
        }
    }

    /// Runs a CQL statement without bound values.
    pub async fn query(
        &self,
        cql: &str,
        consistency: Consistency,
    ) -> Result<ResultResponse, ConnError> {
        self.query_with(Query::new(cql.to_owned(), consistency))
            .await
    }

    /// Runs a QUERY with full parameters (values, paging, ...).
    pub async fn query_with(&self, query: Query) -> Result<ResultResponse, ConnError> {
        let reply = self.send(query).await?;
        self.expect_result(reply.response, "QUERY")
    }

    /// Prepares a statement.
    pub async fn prepare(&self, cql: &str) -> Result<Prepared, ConnError> {
        let reply = self.send(Prepare::new(cql.to_owned())).await?;
        match self.expect_result(reply.response, "PREPARE")? {
            ResultResponse::Prepared(p) => Ok(*p),
            other => Err(self.protocol_error(format!(
                "PREPARE answered with result kind {} instead of Prepared",
                other.kind()
            ))),
        }
    }

    /// Executes a prepared statement (the v5 result metadata id is taken
    /// from `prepared`).
    pub async fn execute(
        &self,
        prepared: &Prepared,
        parameters: QueryParameters,
    ) -> Result<ResultResponse, ConnError> {
        let result_metadata_id = if self.shared.version.uses_segments() {
            Some(prepared.result_metadata_id.clone().ok_or_else(|| {
                ConnError::Encode(EncodeError::Invalid(
                    "EXECUTE in protocol v5 needs the result metadata id of the Prepared \
                     result, which this one lacks (was it prepared on a v4 connection?)"
                        .into(),
                ))
            })?)
        } else {
            None
        };
        let reply = self
            .send(Execute {
                id: prepared.id.clone(),
                result_metadata_id,
                parameters,
            })
            .await?;
        self.expect_result(reply.response, "EXECUTE")
    }

    /// Runs a BATCH.
    pub async fn batch(&self, batch: Batch) -> Result<ResultResponse, ConnError> {
        let reply = self.send(batch).await?;
        self.expect_result(reply.response, "BATCH")
    }

    /// Switches the connection to `keyspace` (`USE`). The name is taken
    /// literally (case-sensitive); quote it yourself only if it already
    /// carries CQL double quotes.
    pub async fn use_keyspace(&self, keyspace: &str) -> Result<(), ConnError> {
        let quoted = if keyspace.len() >= 2 && keyspace.starts_with('"') && keyspace.ends_with('"')
        {
            keyspace.to_owned()
        } else {
            format!("\"{}\"", keyspace.replace('"', "\"\""))
        };
        match self
            .query(&format!("USE {quoted}"), Consistency::One)
            .await?
        {
            ResultResponse::SetKeyspace(_) => Ok(()),
            other => Err(self.protocol_error(format!(
                "USE answered with result kind {} instead of Set_keyspace",
                other.kind()
            ))),
        }
    }

    /// Asks the server which STARTUP options it supports.
    pub async fn options(&self) -> Result<Supported, ConnError> {
        match self.send(Options).await?.response {
            Response::Supported(s) => Ok(s),
            other => {
                Err(self.protocol_error(format!("OPTIONS answered with {}", other.opcode().name())))
            }
        }
    }

    /// Subscribes to server events (see `ferry_wire::request::event_types`)
    /// and returns a receiver of them. Each call returns a new receiver; a
    /// receiver that falls behind by more than `event_buffer` events skips
    /// the oldest (`RecvError::Lagged`).
    pub async fn register<I, S>(
        &self,
        event_types: I,
    ) -> Result<broadcast::Receiver<Event>, ConnError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        // Subscribe first so no event sent right after READY is missed.
        let events = self.shared.subscribe();
        match self.send(Register::new(event_types)).await?.response {
            Response::Ready(_) => Ok(events),
            other => {
                Err(self
                    .protocol_error(format!("REGISTER answered with {}", other.opcode().name())))
            }
        }
    }

    /// A new receiver of the events this connection gets (only after a
    /// [`Connection::register`], on this or another handle).
    pub fn subscribe_events(&self) -> broadcast::Receiver<Event> {
        self.shared.subscribe()
    }

    fn expect_result(
        &self,
        response: Response,
        request: &str,
    ) -> Result<ResultResponse, ConnError> {
        match response {
            Response::Result(r) => Ok(r),
            other => Err(self.protocol_error(format!(
                "{request} answered with {} instead of RESULT",
                other.opcode().name()
            ))),
        }
    }

    fn protocol_error(&self, message: String) -> ConnError {
        ConnError::Protocol {
            address: self.shared.address.clone(),
            message,
        }
    }
}
