//! State shared by a connection's handles and its reader, writer and
//! heartbeat tasks: the stream id table, the bounds, and how it closed.

use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use ferry_wire::compression::Compression;
use ferry_wire::frame::{Frame, FrameFlags, FrameHeader, MAX_FRAME_LEN};
use ferry_wire::response::{Event, Response};
use ferry_wire::{DecodeError, EncodeError, Opcode, ProtocolVersion};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{broadcast, mpsc, oneshot, watch, Notify, Semaphore, TryAcquireError};
use tokio::time::Instant;

use super::pending::{Arrival, Pending, Reply};
use super::ResponseFrame;
use crate::error::ConnError;

/// Why a connection closed.
#[derive(Debug, Clone)]
pub(crate) enum CloseReason {
    /// The server closed the stream.
    ServerClosed { mid_frame: bool },
    /// Reading or writing failed.
    Io(String),
    /// The server sent bytes that are not a frame; the stream is out of sync.
    Malformed(DecodeError),
    /// A heartbeat went unanswered or failed.
    HeartbeatFailed(String),
    /// Too many requests timed out without their late answers arriving.
    TooManyOrphans(usize),
    /// [`Connection::close`](crate::Connection::close) was called.
    Requested,
    /// Every handle was dropped.
    Dropped,
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ServerClosed { mid_frame: true } => {
                f.write_str("the server closed the connection in the middle of a frame")
            }
            Self::ServerClosed { mid_frame: false } => {
                f.write_str("the server closed the connection")
            }
            Self::Io(e) => write!(f, "I/O error: {e}"),
            Self::Malformed(e) => write!(f, "the server sent a malformed frame ({e})"),
            Self::HeartbeatFailed(e) => write!(
                f,
                "heartbeat failed ({e}); the server or the network stopped answering"
            ),
            Self::TooManyOrphans(n) => write!(
                f,
                "{n} requests timed out without a late answer; the server is not responding"
            ),
            Self::Requested => f.write_str("closed by the application"),
            Self::Dropped => f.write_str("every handle to it was dropped"),
        }
    }
}

/// The state behind a [`Connection`](crate::Connection).
pub(crate) struct Shared {
    pub(crate) address: String,
    pub(crate) peer: SocketAddr,
    pub(crate) version: ProtocolVersion,
    pub(crate) compression: Option<Compression>,
    pub(crate) request_timeout: Duration,
    max_orphans: usize,
    pending: Mutex<Pending>,
    /// Wakes the sweeper for a request due before its next look.
    sweep_now: Notify,
    /// Bounds requests in flight (`max_in_flight`).
    in_flight: Semaphore,
    /// One permit per free stream id, so waiting for an id is a queue, not
    /// a poll.
    free_ids: Semaphore,
    outgoing: mpsc::Sender<Frame>,
    close_reason: OnceLock<CloseReason>,
    shutdown: watch::Sender<bool>,
    events: broadcast::Sender<Event>,
    started: Instant,
    /// Milliseconds after `started` when a frame was last read.
    last_read_ms: AtomicU64,
}

/// Settings for [`Shared::new`].
pub(crate) struct SharedParts {
    pub address: String,
    pub peer: SocketAddr,
    pub version: ProtocolVersion,
    pub compression: Option<Compression>,
    pub request_timeout: Duration,
    pub max_in_flight: usize,
    pub stream_ids: usize,
    pub max_orphans: usize,
    pub event_buffer: usize,
}

impl Shared {
    /// The shared state and the receiving end of the outgoing queue.
    pub(crate) fn new(parts: SharedParts) -> (Self, mpsc::Receiver<Frame>) {
        let (outgoing, rx) = mpsc::channel(parts.max_in_flight.clamp(16, 4096));
        let started = Instant::now();
        let pending = Pending::new(parts.stream_ids, started + parts.request_timeout);
        let ids = pending.capacity();
        let shared = Self {
            address: parts.address,
            peer: parts.peer,
            version: parts.version,
            compression: parts.compression,
            request_timeout: parts.request_timeout,
            max_orphans: parts.max_orphans,
            pending: Mutex::new(pending),
            sweep_now: Notify::new(),
            in_flight: Semaphore::new(parts.max_in_flight.min(Semaphore::MAX_PERMITS)),
            free_ids: Semaphore::new(ids),
            outgoing,
            close_reason: OnceLock::new(),
            shutdown: watch::channel(false).0,
            events: broadcast::channel(parts.event_buffer).0,
            started,
            last_read_ms: AtomicU64::new(0),
        };
        (shared, rx)
    }

    fn pending(&self) -> MutexGuard<'_, Pending> {
        // A panic while holding the lock cannot leave the table half
        // updated in a way that matters more than losing the connection.
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A receiver that turns `true` when the connection closes.
    pub(crate) fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    /// A new event subscription.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// Why the connection closed, if it did.
    pub(crate) fn close_reason(&self) -> Option<&CloseReason> {
        self.close_reason.get()
    }

    /// Requests in flight (including orphaned ones).
    pub(crate) fn in_flight(&self) -> usize {
        self.pending().in_use()
    }

    /// Stream ids held by requests that timed out.
    pub(crate) fn orphans(&self) -> usize {
        self.pending().orphans()
    }

    /// Closes the connection: the first reason wins. Every waiting request
    /// fails, the tasks stop.
    pub(crate) fn close(&self, reason: CloseReason) {
        if self.close_reason.set(reason.clone()).is_err() {
            return;
        }
        match reason {
            CloseReason::Requested | CloseReason::Dropped => {
                tracing::debug!(address = %self.address, %reason, "connection closed");
            }
            _ => tracing::warn!(address = %self.address, %reason, "connection closed"),
        }
        self.in_flight.close();
        self.free_ids.close();
        self.shutdown.send_replace(true);
        self.pending().clear();
    }

    /// The error for a request made on a closed connection.
    pub(crate) fn closed_error(&self) -> ConnError {
        ConnError::Closed {
            address: self.address.clone(),
            reason: self
                .close_reason()
                .map_or_else(|| "closing".to_owned(), ToString::to_string),
        }
    }

    /// The error for a request in flight when the connection closed: a
    /// malformed frame is reported as such.
    fn in_flight_error(&self) -> ConnError {
        match self.close_reason() {
            Some(CloseReason::Malformed(e)) => ConnError::Decode(e.clone()),
            _ => self.closed_error(),
        }
    }

    /// Records that a frame was read (for the heartbeat).
    pub(crate) fn touch(&self) {
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_read_ms.store(ms, Ordering::Relaxed);
    }

    /// How long since a frame was last read.
    pub(crate) fn idle_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_read_ms.load(Ordering::Relaxed));
        self.started.elapsed().saturating_sub(last)
    }

    /// Hands a received frame to whoever waits for it.
    pub(crate) fn dispatch(&self, frame: Frame) {
        let stream = frame.header.stream;
        if stream < 0 {
            self.deliver_event(frame);
            return;
        }
        let arrival = self.pending().arrive(stream);
        match arrival {
            Arrival::Waiting(reply) => {
                self.free_ids.add_permits(1);
                // The caller may have given up a moment ago; nothing to do then.
                let _ = reply.send(Reply::Answer(frame));
            }
            Arrival::Orphaned => {
                self.free_ids.add_permits(1);
                tracing::debug!(address = %self.address, stream, "late response to a timed-out request");
            }
            Arrival::Unknown => {
                tracing::warn!(
                    address = %self.address,
                    stream,
                    opcode = frame.header.opcode.name(),
                    "response on a stream id no request uses; ignored"
                );
            }
        }
    }

    fn deliver_event(&self, frame: Frame) {
        let opcode = frame.header.opcode;
        match ResponseFrame::decode(frame) {
            Ok(ResponseFrame {
                response: Response::Event(event),
                ..
            }) => {
                // No subscriber is fine: nobody asked for events.
                let _ = self.events.send(event);
            }
            Ok(_) => tracing::warn!(
                address = %self.address,
                opcode = opcode.name(),
                "server-initiated frame that is not an EVENT; ignored"
            ),
            Err(e) => {
                tracing::warn!(address = %self.address, error = %e, "malformed EVENT; ignored")
            }
        }
    }

    /// Sends one request frame and waits for its response, within the
    /// request timeout (which also covers waiting for an in-flight slot and
    /// a stream id).
    pub(crate) async fn round_trip(
        &self,
        opcode: Opcode,
        flags: FrameFlags,
        body: Bytes,
    ) -> Result<Frame, ConnError> {
        if self.close_reason().is_some() {
            return Err(self.closed_error());
        }
        if body.len() > MAX_FRAME_LEN {
            return Err(ConnError::Encode(EncodeError::TooLong {
                field: "header.length",
                length: body.len(),
                max: MAX_FRAME_LEN,
            }));
        }
        let limit = self.request_timeout;
        let deadline = Instant::now() + limit;
        let timeout = |what: String| ConnError::Timeout { what, after: limit };

        // The fast paths (a slot, an id and room in the writer's queue are
        // usually free) skip building a timer for each wait: a request's
        // timers were a large share of the proxy's per-write cost. The slow
        // paths are boxed so their timers are not part of (and copied
        // with) every request's future.
        let _slot = match self.in_flight.try_acquire() {
            Ok(slot) => slot,
            Err(TryAcquireError::Closed) => return Err(self.closed_error()),
            Err(TryAcquireError::NoPermits) => {
                let waited =
                    Box::pin(tokio::time::timeout_at(deadline, self.in_flight.acquire())).await;
                waited
                    .map_err(|_| {
                        timeout(format!(
                            "{} waiting for an in-flight slot on {} (max_in_flight outstanding)",
                            opcode.name(),
                            self.address
                        ))
                    })?
                    .map_err(|_| self.closed_error())?
            }
        };
        let id_permit = match self.free_ids.try_acquire() {
            Ok(permit) => permit,
            Err(TryAcquireError::Closed) => return Err(self.closed_error()),
            Err(TryAcquireError::NoPermits) => {
                Box::pin(tokio::time::timeout_at(deadline, self.free_ids.acquire()))
                    .await
                    .map_err(|_| {
                        timeout(format!(
                            "{} waiting for a free stream id on {}",
                            opcode.name(),
                            self.address
                        ))
                    })?
                    .map_err(|_| self.closed_error())?
            }
        };
        // The permit comes back when the id is freed (see `dispatch`).
        id_permit.forget();

        let (reply, response) = oneshot::channel();
        // The deadline is kept with the request; the sweeper enforces it.
        let registered = self.pending().register(reply, deadline);
        let Some(registered) = registered else {
            // Permits track free ids, so this means the connection closed
            // (and cleared the table) in between.
            return Err(self.closed_error());
        };
        if registered.wake_sweeper {
            self.sweep_now.notify_one();
        }
        let (id, serial) = (registered.id, registered.serial);
        let mut guard = RequestGuard {
            shared: self,
            id,
            serial,
            sent: false,
            answered: false,
        };
        // `close` sets the reason before clearing the table: if it is not set
        // now, our slot is in the table and a later close will wake us.
        if self.close_reason().is_some() {
            return Err(self.closed_error());
        }
        let mut header = FrameHeader::request(self.version, id, opcode, 0);
        // Compression is the connection's business, not the caller's.
        header.flags = FrameFlags(flags.0 & !FrameFlags::COMPRESSION.0);
        let frame = Frame::new(header, body);

        let permit = match self.outgoing.try_reserve() {
            Ok(permit) => permit,
            Err(TrySendError::Closed(())) => return Err(self.closed_error()),
            Err(TrySendError::Full(())) => {
                Box::pin(tokio::time::timeout_at(deadline, self.outgoing.reserve()))
                    .await
                    .map_err(|_| {
                        timeout(format!(
                            "{} waiting to be written to {}",
                            opcode.name(),
                            self.address
                        ))
                    })?
                    .map_err(|_| self.closed_error())?
            }
        };
        permit.send(frame);
        guard.sent = true;

        // No timer here: the sweeper orphans the id at the deadline.
        let reply = response.await;
        guard.answered = true;
        match reply {
            Ok(Reply::Answer(frame)) => Ok(frame),
            Ok(Reply::TimedOut) => Err(timeout(format!(
                "{} on stream {id} to {} (the id stays reserved until a late answer arrives)",
                opcode.name(),
                self.address
            ))),
            Err(_) => Err(self.in_flight_error()),
        }
    }

    /// Times out the requests whose deadline passed (their ids stay
    /// orphaned until their late answers arrive) and returns when to look
    /// again. Closes the connection if that leaves too many orphans.
    pub(crate) fn sweep(&self) -> Instant {
        let now = Instant::now();
        // Nothing waiting: a request registered from now on is due no
        // earlier than a whole timeout from now.
        let (expired, next, orphans) = {
            let mut pending = self.pending();
            let (expired, next) = pending.expire(now, now + self.request_timeout);
            (expired, next, pending.orphans())
        };
        if expired.is_empty() {
            return next;
        }
        for reply in expired {
            let _ = reply.send(Reply::TimedOut);
        }
        if orphans > self.max_orphans {
            self.close(CloseReason::TooManyOrphans(orphans));
        }
        next
    }

    /// Waits until a request due before the sweeper's next look arrives.
    pub(crate) async fn sweep_requested(&self) {
        self.sweep_now.notified().await;
    }

    /// A sent request's caller stopped waiting.
    fn orphan(&self, id: i16, serial: u64) {
        let orphans = {
            let mut pending = self.pending();
            if !pending.orphan(id, serial) {
                return;
            }
            pending.orphans()
        };
        if orphans > self.max_orphans {
            self.close(CloseReason::TooManyOrphans(orphans));
        }
    }

    /// An unsent request's caller stopped waiting.
    fn cancel_unsent(&self, id: i16, serial: u64) {
        if self.pending().cancel_unsent(id, serial) {
            self.free_ids.add_permits(1);
        }
    }
}

/// Cleans up a request whose caller stops waiting for any reason: a
/// timeout, or the caller's future being dropped.
struct RequestGuard<'a> {
    shared: &'a Shared,
    id: i16,
    serial: u64,
    sent: bool,
    answered: bool,
}

impl Drop for RequestGuard<'_> {
    fn drop(&mut self) {
        if self.answered {
            return;
        }
        if self.sent {
            self.shared.orphan(self.id, self.serial);
        } else {
            self.shared.cancel_unsent(self.id, self.serial);
        }
    }
}
