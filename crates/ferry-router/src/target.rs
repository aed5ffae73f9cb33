//! The target leg of one client connection: a ferry-conn [`Connection`]
//! with the proxy's own handshake, in the protocol version the client
//! negotiated with the source, and the requests mirrored on it.
//!
//! The connection is opened in the background when the client's handshake
//! ends, and again (lazily) whenever it is found closed. While the target
//! is down, connection attempts are not repeated more than once a second:
//! every pending write would otherwise wait its own connect timeout.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferry_conn::{ConnError, Connection, ConnectionConfig};
use ferry_wire::frame::{Frame, FrameFlags};
use ferry_wire::response::{ErrorCode, ErrorResponse};
use ferry_wire::{Opcode, ProtocolVersion};
use tokio::sync::oneshot;

use crate::failed_log::{FailedWrite, LoggedStatement};
use crate::id_rewrite::{locate_prepared_ids, splice_ids, IdKind};
use crate::metrics::RequestKind;
use crate::prepared::{PreparedStatement, TargetIds};
use crate::queue::MirrorSender;
use crate::responses::{error_of, is_retryable};

/// How long a failed connection attempt is remembered before the next one.
const RECONNECT_PAUSE: Duration = Duration::from_secs(1);

/// A request to mirror on the target, as the client sent it (body
/// uncompressed, timestamp added, the *source*'s prepared ids).
#[derive(Debug, Clone)]
pub(crate) struct TargetRequest {
    pub opcode: Opcode,
    pub flags: FrameFlags,
    pub version: ProtocolVersion,
    pub body: Bytes,
    /// The prepared statements behind the ids in `body`.
    pub statements: Statements,
    /// The client's keyspace when it sent the request.
    pub keyspace: Option<String>,
    /// The write timestamp in the body, if any.
    pub timestamp: Option<i64>,
    /// Whether applying it twice, or out of order with this connection's
    /// other order-insensitive writes, is harmless (see `Order`).
    pub idempotent: bool,
    /// Writes of this connection handed to the queue before this request
    /// arrived: its target copy waits until they are done (see `Order`).
    pub after: u64,
    /// For metrics.
    pub kind: RequestKind,
}

impl TargetRequest {
    /// The failed-write log record for this request.
    pub(crate) fn to_failed_write(&self, reason: String) -> FailedWrite {
        FailedWrite {
            logged_at_micros: crate::clock::now_micros(),
            write_timestamp: self.timestamp,
            version: self.version,
            opcode: self.opcode,
            flags: self.flags,
            keyspace: self.keyspace.clone(),
            idempotent: self.idempotent,
            reason,
            statements: self
                .statements
                .iter()
                .map(|s| LoggedStatement {
                    id: s.source_id.clone(),
                    text: s.text.to_string(),
                    keyspace: s.keyspace.clone(),
                })
                .collect(),
            body: self.body.clone(),
        }
    }
}

/// The prepared statements behind a request's ids: none (QUERY), one
/// (EXECUTE) or a BATCH's. The first two without a heap allocation (a
/// `vec![statement]` per EXECUTE was one). Reads as a slice.
#[derive(Debug, Clone, Default)]
pub(crate) enum Statements {
    /// A QUERY, or a BATCH of QUERY children.
    #[default]
    None,
    /// An EXECUTE.
    One(Arc<PreparedStatement>),
    /// A BATCH's prepared children, each once.
    Many(Vec<Arc<PreparedStatement>>),
}

impl std::ops::Deref for Statements {
    type Target = [Arc<PreparedStatement>];

    fn deref(&self) -> &Self::Target {
        match self {
            Self::None => &[],
            Self::One(s) => std::slice::from_ref(s),
            Self::Many(v) => v,
        }
    }
}

impl From<Vec<Arc<PreparedStatement>>> for Statements {
    fn from(v: Vec<Arc<PreparedStatement>>) -> Self {
        Self::Many(v)
    }
}

/// Why a target request failed.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum TargetError {
    /// The target answered with an ERROR.
    #[error("target refused: {0}")]
    Server(ErrorResponse),
    /// The request was not sent: no connection could be opened.
    #[error("target unreachable: {0}")]
    NotSent(String),
    /// The request was sent but no answer came (a timeout, a connection
    /// lost): it may or may not have been applied.
    #[error("no answer from the target: {0}")]
    Unavailable(String),
    /// The request could not be built (a body the proxy cannot walk).
    #[error("cannot build the target request: {0}")]
    Request(String),
}

impl TargetError {
    /// Whether another attempt may succeed and is safe: a write that is
    /// not idempotent (a counter, a list append...) is retried only when
    /// the failure proves it was not applied.
    pub(crate) fn is_retryable(&self, idempotent: bool) -> bool {
        match self {
            Self::NotSent(_) => true,
            Self::Server(e) => is_retryable(e) && (idempotent || was_not_applied(e)),
            Self::Unavailable(_) => idempotent,
            Self::Request(_) => false,
        }
    }

    fn from_conn(e: ConnError) -> Self {
        match e {
            ConnError::Server(e) => Self::Server(e),
            other => Self::Unavailable(other.to_string()),
        }
    }

    fn not_sent(e: ConnError) -> Self {
        match e {
            ConnError::Server(e) => Self::Server(e),
            other => Self::NotSent(other.to_string()),
        }
    }
}

/// The target side of one client connection.
pub(crate) struct TargetLeg {
    config: ConnectionConfig,
    state: Mutex<LegState>,
    connecting: tokio::sync::Mutex<()>,
    order: Mutex<Order>,
    /// The task running this leg's async writes, started with the first.
    mirror: std::sync::OnceLock<MirrorSender>,
}

/// The order of a connection's mirrored writes.
///
/// A client that waited for a write's answer before sending its next
/// request expects the first to be applied before the second (an
/// `INSERT ... IF NOT EXISTS` after an INSERT, a list append after the
/// INSERT of the list). Writes get a sequence number when they are handed
/// to the queue, which happens before the client sees the source's
/// answer; a new request records how many writes were handed over before
/// it arrived, and its target copy waits until all of those are done.
/// Writes the client sent without waiting for each other still run
/// concurrently.
///
/// Only *order-sensitive* writes need this: a write that carries a write
/// timestamp (the client's or the proxy's), is not conditional, not a
/// counter update and does not touch a list lands with the same timestamp
/// on both clusters, and last-write-wins makes the result the same in any
/// order. Such a write waits only for the order-sensitive writes handed
/// over before it arrived (an `INSERT ... IF NOT EXISTS`, a schema change),
/// so a pipelining client's ordinary writes flow to the target with the
/// client's own concurrency instead of one completed prefix at a time
/// (which held the target to a fraction of the source's rate when the
/// target was slower). An order-sensitive write still waits for every
/// write handed over before it.
#[derive(Debug, Default)]
struct Order {
    /// Sequence number of the next write handed over.
    next: u64,
    /// The writes up to the last order-sensitive one handed over: what an
    /// order-insensitive write waits for.
    barrier: u64,
    /// Done writes beyond the completed prefix.
    done: std::collections::BTreeSet<u64>,
    /// Every write below this number is done.
    prefix: u64,
    /// Writes waiting for the prefix to reach a count, by that count.
    /// Each is woken once, when its count is reached (a shared broadcast
    /// would wake every pending write on every completion).
    waiters: std::collections::BTreeMap<u64, Vec<oneshot::Sender<()>>>,
}

/// A mirrored write's place in its connection's order; marks it done
/// when dropped (applied, logged, or abandoned), so later writes never
/// wait forever.
pub(crate) struct OrderTicket {
    leg: Arc<TargetLeg>,
    seq: u64,
}

impl OrderTicket {
    /// The leg whose order this is.
    pub(crate) fn leg(&self) -> &Arc<TargetLeg> {
        &self.leg
    }
}

impl Drop for OrderTicket {
    fn drop(&mut self) {
        self.leg.complete(self.seq);
    }
}

#[derive(Default)]
struct LegState {
    connection: Option<Connection>,
    /// The keyspace the current connection is in.
    keyspace: Option<String>,
    last_failure: Option<(Instant, String)>,
}

impl std::fmt::Debug for TargetLeg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TargetLeg")
            .field("address", &self.config.address)
            .finish_non_exhaustive()
    }
}

impl TargetLeg {
    /// A leg that will connect with `config` (version pinned, credentials
    /// set by the caller).
    pub(crate) fn new(config: ConnectionConfig) -> Self {
        Self {
            config,
            state: Mutex::new(LegState::default()),
            connecting: tokio::sync::Mutex::new(()),
            order: Mutex::new(Order::default()),
            mirror: std::sync::OnceLock::new(),
        }
    }

    /// The sender to this leg's mirror driver, started by `start` the
    /// first time (see [`crate::queue::TargetQueue::submit`]).
    pub(crate) fn mirror_driver(&self, start: impl FnOnce() -> MirrorSender) -> &MirrorSender {
        self.mirror.get_or_init(start)
    }

    fn order(&self) -> MutexGuard<'_, Order> {
        self.order.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many handed-over writes a request arriving now must wait for:
    /// all of them if it is order-sensitive, else those up to the last
    /// order-sensitive one (see [`Order`]).
    pub(crate) fn must_follow(&self, order_sensitive: bool) -> u64 {
        let order = self.order();
        if order_sensitive {
            order.next
        } else {
            order.barrier
        }
    }

    /// Numbers a write handed to the queue; an order-sensitive one also
    /// becomes the point later writes wait for.
    pub(crate) fn ticket(self: &Arc<Self>, order_sensitive: bool) -> OrderTicket {
        let seq = {
            let mut order = self.order();
            order.next += 1;
            if order_sensitive {
                order.barrier = order.next;
            }
            order.next - 1
        };
        OrderTicket {
            leg: self.clone(),
            seq,
        }
    }

    fn complete(&self, seq: u64) {
        let mut woken = Vec::new();
        {
            let mut order = self.order();
            // Writes mostly finish in the order they were handed over:
            // then the prefix just moves on, without touching the set.
            if seq == order.prefix {
                order.prefix += 1;
            } else {
                order.done.insert(seq);
            }
            while !order.done.is_empty() {
                let prefix = order.prefix;
                if !order.done.remove(&prefix) {
                    break;
                }
                order.prefix = prefix + 1;
            }
            // Wake the writes waiting for a count the prefix reached (no
            // new map per completion, unlike `split_off`).
            let prefix = order.prefix;
            while let Some(entry) = order.waiters.first_entry() {
                if *entry.key() > prefix {
                    break;
                }
                woken.extend(entry.remove());
            }
        }
        for tx in woken {
            let _ = tx.send(());
        }
    }

    /// Waits until the first `count` handed-over writes are done.
    pub(crate) async fn wait_for(&self, count: u64) {
        let rx = {
            let mut order = self.order();
            if order.prefix >= count {
                return;
            }
            let (tx, rx) = oneshot::channel();
            order.waiters.entry(count).or_default().push(tx);
            rx
        };
        let _ = rx.await;
    }

    /// The count of writes done in order (for tests).
    #[cfg(test)]
    fn completed_prefix(&self) -> u64 {
        self.order().prefix
    }

    fn lock(&self) -> MutexGuard<'_, LegState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The open connection, switched to `keyspace` if one is given.
    ///
    /// The usual case (connection open, in the right keyspace) takes one
    /// lock and no allocation; connecting and switching keyspaces are
    /// boxed, so their large futures are not part of (and copied with)
    /// every mirrored write's future.
    async fn connection(&self, keyspace: Option<&str>) -> Result<Connection, TargetError> {
        let ready = {
            let state = self.lock();
            state
                .connection
                .as_ref()
                .filter(|c| !c.is_closed())
                .filter(|_| keyspace.is_none() || state.keyspace.as_deref() == keyspace)
                .cloned()
        };
        match ready {
            Some(conn) => Ok(conn),
            None => Box::pin(self.connection_slow(keyspace)).await,
        }
    }

    async fn connection_slow(&self, keyspace: Option<&str>) -> Result<Connection, TargetError> {
        let conn = self.open_connection().await?;
        if let Some(ks) = keyspace {
            let current = self.lock().keyspace.clone();
            if current.as_deref() != Some(ks) {
                conn.use_keyspace(ks).await.map_err(TargetError::not_sent)?;
                self.lock().keyspace = Some(ks.to_owned());
            }
        }
        Ok(conn)
    }

    async fn open_connection(&self) -> Result<Connection, TargetError> {
        if let Some(c) = self.usable() {
            return Ok(c);
        }
        let _connecting = self.connecting.lock().await;
        if let Some(c) = self.usable() {
            return Ok(c);
        }
        if let Some((at, why)) = &self.lock().last_failure {
            if at.elapsed() < RECONNECT_PAUSE {
                return Err(TargetError::NotSent(why.clone()));
            }
        }
        match Connection::connect(&self.config).await {
            Ok(conn) => {
                let mut state = self.lock();
                state.connection = Some(conn.clone());
                state.keyspace = None;
                state.last_failure = None;
                tracing::debug!(target_address = %self.config.address, version = %conn.protocol_version(), "target connection open");
                Ok(conn)
            }
            Err(e) => {
                let why = e.to_string();
                tracing::warn!(target_address = %self.config.address, error = %why, "cannot connect to the target");
                self.lock().last_failure = Some((Instant::now(), why.clone()));
                Err(TargetError::NotSent(why))
            }
        }
    }

    fn usable(&self) -> Option<Connection> {
        let state = self.lock();
        state.connection.clone().filter(|c| !c.is_closed())
    }

    /// Opens the connection now (in the background after a handshake), so
    /// the first write does not wait for it.
    pub(crate) async fn warm_up(&self) {
        let _ = self.open_connection().await;
    }

    /// Sends `req` once. A target UNPREPARED is handled here: the
    /// statements are prepared again from their text and the request is
    /// sent a second time. Returns the target's (non-error) response.
    pub(crate) async fn send(&self, req: &TargetRequest) -> Result<Frame, TargetError> {
        let conn = self.connection(req.keyspace.as_deref()).await?;
        let mut reprepared = false;
        loop {
            let body = self.target_body(&conn, req).await?;
            let frame = conn
                .send_raw_with_flags(req.opcode, req.flags, body)
                .await
                .map_err(TargetError::from_conn)?;
            match error_of(&frame) {
                None => return Ok(frame),
                Some(e) if e.code() == ErrorCode::UNPREPARED && !reprepared => {
                    tracing::debug!("target forgot a prepared statement; preparing it again");
                    for s in req.statements.iter() {
                        s.clear_target_ids();
                    }
                    reprepared = true;
                }
                Some(e) => return Err(TargetError::Server(e)),
            }
        }
    }

    /// Prepares `text` on the target (in `keyspace`, if given).
    pub(crate) async fn prepare(
        &self,
        text: &str,
        keyspace: Option<&str>,
    ) -> Result<TargetIds, TargetError> {
        let conn = self.connection(keyspace).await?;
        prepare_on(&conn, text).await
    }

    /// The body with the source's prepared ids swapped for the target's
    /// (preparing statements the target does not know yet).
    async fn target_body(
        &self,
        conn: &Connection,
        req: &TargetRequest,
    ) -> Result<Bytes, TargetError> {
        if req.statements.is_empty() {
            return Ok(req.body.clone());
        }
        // Clusters that derive ids from the statement text (Cassandra: an
        // MD5 of it) give the target the source's ids: the body is already
        // right. Before v5 a body carries statement ids only (v5 adds result
        // metadata ids, which are spliced as usual). The id pairs are
        // collected only once one differs (no allocation per write).
        let mut same_ids = req.version < ProtocolVersion::V5;
        let mut ids = Vec::new();
        for (n, s) in req.statements.iter().enumerate() {
            let target = match s.target_ids() {
                Some(t) => t,
                None => {
                    // Rare (first use, or after UNPREPARED): boxed, to
                    // keep the PREPARE future out of every write's future.
                    let t = Box::pin(prepare_on(conn, &s.text)).await?;
                    s.set_target_ids(t.clone());
                    t
                }
            };
            if same_ids {
                if s.source_id == target.id {
                    continue;
                }
                // The first that differs: the ones before it keep their
                // ids (before v5, so no result metadata ids to splice).
                same_ids = false;
                ids.reserve(req.statements.len());
                ids.extend(req.statements.iter().take(n).map(|earlier| {
                    let id = earlier.source_id.clone();
                    let kept = TargetIds {
                        id: id.clone(),
                        result_metadata_id: None,
                    };
                    (id, kept)
                }));
            }
            ids.push((s.source_id.clone(), target));
        }
        if same_ids {
            return Ok(req.body.clone());
        }
        let slots = locate_prepared_ids(req.opcode, req.version, req.flags, &req.body)
            .map_err(|e| TargetError::Request(e.to_string()))?;
        let mut last_statement: Option<TargetIds> = None;
        splice_ids(&req.body, &slots, |slot| match slot.kind {
            IdKind::Statement => {
                let found = ids
                    .iter()
                    .find(|(source, _)| *source == slot.id)
                    .map(|(_, t)| t.clone());
                last_statement = found.clone();
                found.map(|t| t.id)
            }
            IdKind::ResultMetadata => last_statement
                .as_ref()
                .and_then(|t| t.result_metadata_id.clone()),
        })
        .map_err(|e| TargetError::Request(e.to_string()))
    }
}

/// Errors that prove the coordinator did not apply the write.
fn was_not_applied(e: &ErrorResponse) -> bool {
    matches!(
        e.code(),
        ErrorCode::UNAVAILABLE | ErrorCode::OVERLOADED | ErrorCode::IS_BOOTSTRAPPING
    )
}

async fn prepare_on(conn: &Connection, text: &str) -> Result<TargetIds, TargetError> {
    // A failed PREPARE applies nothing: the write itself was not sent.
    let prepared = conn.prepare(text).await.map_err(TargetError::not_sent)?;
    Ok(TargetIds {
        id: prepared.id,
        result_metadata_id: prepared.result_metadata_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_insensitive_writes_wait_only_for_order_sensitive_ones() {
        let leg = Arc::new(TargetLeg::new(ConnectionConfig::new("127.0.0.1:1")));
        let _a = leg.ticket(false);
        let _b = leg.ticket(false);
        // Two timestamped writes in flight: a third need not wait for them,
        // an LWT must.
        assert_eq!(leg.must_follow(false), 0);
        assert_eq!(leg.must_follow(true), 2);
        let _lwt = leg.ticket(true);
        let _c = leg.ticket(false);
        // After the LWT, everything up to and including it comes first.
        assert_eq!(leg.must_follow(false), 3);
        assert_eq!(leg.must_follow(true), 4);
    }

    #[tokio::test]
    async fn a_write_waits_for_the_writes_handed_over_before_it_arrived() {
        let leg = Arc::new(TargetLeg::new(ConnectionConfig::new("127.0.0.1:1")));
        let first = leg.ticket(true);
        let second = leg.ticket(true);
        // A request arriving now depends on both.
        let after = leg.must_follow(true);
        assert_eq!(after, 2);
        let waiter = {
            let leg = leg.clone();
            tokio::spawn(async move { leg.wait_for(after).await })
        };
        // Done out of order: the second first. The prefix stays at 0.
        drop(second);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished());
        assert_eq!(leg.completed_prefix(), 0);
        drop(first);
        tokio::time::timeout(Duration::from_secs(1), waiter)
            .await
            .expect("released once both are done")
            .unwrap();
        assert_eq!(leg.completed_prefix(), 2);
        // Nothing handed over before: no wait at all.
        leg.wait_for(0).await;
    }
}
