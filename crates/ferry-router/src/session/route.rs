//! Routing a request after the handshake: source only, or source and
//! target (with the same timestamp), and when the client gets its answer.

use std::sync::Arc;

use bytes::Bytes;
use ferry_wire::frame::{Frame, FrameFlags};
use ferry_wire::peek::{
    add_default_timestamp, peek_request, BatchChildRef, PeekedRequest, RequestPeek,
};
use ferry_wire::response::{ErrorCode, ErrorDetails, ErrorResponse};
use ferry_wire::Opcode;
use tokio::sync::oneshot;

use super::client::{wait_true, ClientConn, Close};
use super::source::{plain, remember_prepared};
use super::{ConnState, Pending};
use crate::config::WriteMode;
use crate::cql::{BatchType, CounterUpdate, StatementKind};
use crate::metrics::{Cluster, Metrics, RequestKind};
use crate::prepared::PreparedStatement;
use crate::responses::{error_frame, error_of, target_flags};
use crate::summary::{StatementClass, StatementSummary};
use crate::target::{TargetError, TargetLeg, TargetRequest};

/// The request kind a statement is counted as.
fn kind_of(summary: &StatementSummary) -> RequestKind {
    match (summary.kind, summary.class) {
        (StatementKind::Batch(_), _) => RequestKind::Batch,
        (_, StatementClass::Read) => RequestKind::Read,
        (_, StatementClass::Write) => RequestKind::Write,
        (_, StatementClass::Schema) => RequestKind::Schema,
        (_, StatementClass::Use) => RequestKind::Use,
        (_, StatementClass::AccessControl) => RequestKind::Other,
    }
}

/// A request, peeked.
struct Request {
    /// As received (body compressed if it was).
    raw: Frame,
    /// Body decompressed.
    plain: Frame,
    peek: RequestPeek,
}

impl ClientConn {
    /// Routes one request of a ready connection.
    pub(super) async fn route(&mut self, raw: Frame) -> Result<(), Close> {
        let Ok(plain) = raw.clone().decompress(self.state.compression()) else {
            // The source will answer what is wrong with it.
            return self.send_to_source(raw, RequestKind::Other).await;
        };
        let Ok(peek) = peek_request(&plain.header, &plain.body) else {
            return self.send_to_source(raw, RequestKind::Other).await;
        };
        let request = Request { raw, plain, peek };
        match &request.peek.request {
            PeekedRequest::Query { text, .. } => {
                let summary = StatementSummary::of_bytes(text);
                self.statement(request, summary, Vec::new()).await
            }
            PeekedRequest::Execute { id, .. } => {
                let Some(statement) = self.state.shared.prepared.get(id) else {
                    let id = id.clone();
                    return self.unprepared(&request.raw, id).await;
                };
                let summary = statement.summary.clone();
                self.statement(request, summary, vec![statement]).await
            }
            PeekedRequest::Batch {
                batch_type,
                children,
                ..
            } => match self.batch_summary(*batch_type, children) {
                Ok((summary, statements)) => self.statement(request, summary, statements).await,
                Err(unknown_id) => self.unprepared(&request.raw, unknown_id).await,
            },
            PeekedRequest::Prepare { text } => {
                let text = text.clone();
                self.prepare(request.raw, text).await
            }
            PeekedRequest::Other(Opcode::Register) => {
                self.send_to_source(request.raw, RequestKind::Register)
                    .await
            }
            PeekedRequest::Other(Opcode::Options | Opcode::Startup | Opcode::AuthResponse) => {
                self.send_to_source(request.raw, RequestKind::Handshake)
                    .await
            }
            PeekedRequest::Other(_) => self.send_to_source(request.raw, RequestKind::Other).await,
        }
    }

    /// What a BATCH is, from its children: a write, which may get a
    /// timestamp only if every child may (no LWT, no counter, no `USING
    /// TIMESTAMP`). Returns the id of a child the proxy does not know.
    fn batch_summary(
        &self,
        batch_type: u8,
        children: &[BatchChildRef],
    ) -> Result<(StatementSummary, Vec<Arc<PreparedStatement>>), Bytes> {
        let counter_batch = batch_type == 2;
        let mut summary = StatementSummary {
            kind: StatementKind::Batch(match batch_type {
                1 => BatchType::Unlogged,
                2 => BatchType::Counter,
                _ => BatchType::Logged,
            }),
            class: StatementClass::Write,
            may_add_timestamp: !counter_batch,
            is_conditional: false,
            is_counter: counter_batch,
            counter: if counter_batch {
                CounterUpdate::Yes
            } else {
                CounterUpdate::No
            },
            touches_lists: false,
            has_own_timestamp: false,
            keyspace: None,
            table: None,
        };
        let mut statements: Vec<Arc<PreparedStatement>> = Vec::new();
        for child in children {
            let child = match child {
                BatchChildRef::Query(text) => StatementSummary::of_bytes(text),
                BatchChildRef::Prepared(id) => {
                    let statement = self
                        .state
                        .shared
                        .prepared
                        .get(id)
                        .ok_or_else(|| id.clone())?;
                    let s = statement.summary.clone();
                    if !statements
                        .iter()
                        .any(|x| x.source_id == statement.source_id)
                    {
                        statements.push(statement);
                    }
                    s
                }
            };
            summary.may_add_timestamp &= child.may_add_timestamp;
            summary.is_conditional |= child.is_conditional;
            summary.is_counter |= child.is_counter;
            summary.has_own_timestamp |= child.has_own_timestamp;
            summary.touches_lists |= child.touches_lists;
        }
        Ok((summary, statements))
    }

    async fn statement(
        &mut self,
        request: Request,
        summary: StatementSummary,
        statements: Vec<Arc<PreparedStatement>>,
    ) -> Result<(), Close> {
        let kind = kind_of(&summary);
        match summary.class {
            StatementClass::Read | StatementClass::AccessControl => {
                self.send_to_source(request.raw, kind).await
            }
            StatementClass::Use => {
                self.state
                    .pending()
                    .insert(request.raw.header.stream, Pending::UseKeyspace);
                self.send_to_source(request.raw, kind).await
            }
            // Pass-through (`--write-mode off`): relayed as sent, no
            // timestamp added, nothing mirrored.
            StatementClass::Write | StatementClass::Schema
                if self.state.shared.config.write_mode == WriteMode::Off =>
            {
                self.send_to_source(request.raw, kind).await
            }
            StatementClass::Write | StatementClass::Schema => {
                self.write(request, summary, statements, kind).await
            }
        }
    }

    /// A write: the same timestamp on both requests, then async (queue)
    /// or paired (answer after both).
    async fn write(
        &mut self,
        request: Request,
        summary: StatementSummary,
        statements: Vec<Arc<PreparedStatement>>,
        kind: RequestKind,
    ) -> Result<(), Close> {
        let Request { raw, plain, peek } = request;
        let stream = raw.header.stream;
        let client_timestamp = peek.params().and_then(|p| p.timestamp);
        let mut to_source = raw;
        let mut target_body = plain.body.clone();
        let mut timestamp = client_timestamp;
        if summary.may_add_timestamp && client_timestamp.is_none() {
            let ts = self.state.shared.clock.next();
            // None for v2 (no default timestamp there) and for requests
            // without parameters.
            if let Ok(Some((header, body))) =
                add_default_timestamp(&plain.header, &plain.body, &peek, ts)
            {
                let mut frame = Frame::new(header, body.clone());
                if to_source.header.flags.contains(FrameFlags::COMPRESSION) {
                    if let Some(c) = self.state.compression() {
                        frame = frame.compress(c);
                    }
                }
                to_source = frame;
                target_body = body;
                timestamp = Some(ts);
            }
        }
        let target_request = TargetRequest {
            opcode: plain.header.opcode,
            flags: target_flags(plain.header.flags),
            version: plain.header.version,
            body: target_body,
            statements,
            keyspace: self.state.keyspace(),
            timestamp,
            idempotent: timestamp.is_some()
                && !summary.is_counter
                && !summary.is_conditional
                && !summary.touches_lists,
            after: self.state.target.get().map_or(0, |leg| leg.handed_over()),
            kind,
        };
        let Some(leg) = self.state.target.get().cloned() else {
            return self.send_to_source(to_source, kind).await;
        };
        let schema = summary.class == StatementClass::Schema;
        if schema || self.state.shared.config.write_mode == WriteMode::Sync {
            return self
                .paired(
                    stream,
                    to_source,
                    kind,
                    PairedTarget::Write {
                        request: target_request,
                        leg,
                        schema,
                    },
                )
                .await;
        }
        // With backpressure this waits for room; a shutdown meanwhile
        // sends the write to the log instead.
        let slot = {
            let mut shutdown = self.state.shared.shutdown.clone();
            tokio::select! {
                slot = self.state.shared.queue.reserve() => slot,
                () = wait_true(&mut shutdown) => None,
            }
        };
        self.state.pending().insert(
            stream,
            Pending::Mirror {
                slot,
                request: target_request,
            },
        );
        self.send_to_source(to_source, kind).await
    }

    /// PREPARE: on the source; on the target in the background (async
    /// mode) or before answering (sync mode, for statements that are
    /// mirrored).
    async fn prepare(&mut self, raw: Frame, text: Bytes) -> Result<(), Close> {
        let keyspace = self.state.keyspace();
        let stream = raw.header.stream;
        let leg = self.state.target.get().cloned();
        let mirrored = StatementSummary::of_bytes(&text).class.goes_to_target();
        match leg {
            Some(leg) if mirrored && self.state.shared.config.write_mode == WriteMode::Sync => {
                self.paired(
                    stream,
                    raw,
                    RequestKind::Prepare,
                    PairedTarget::Prepare {
                        text,
                        keyspace,
                        leg,
                    },
                )
                .await
            }
            _ => {
                self.state
                    .pending()
                    .insert(stream, Pending::Prepare { text, keyspace });
                self.send_to_source(raw, RequestKind::Prepare).await
            }
        }
    }

    /// Sends to the source and the target at once; the client gets its
    /// answer when both answered (see [`settle`]).
    async fn paired(
        &mut self,
        stream: i16,
        to_source: Frame,
        kind: RequestKind,
        target: PairedTarget,
    ) -> Result<(), Close> {
        let (tx, rx) = oneshot::channel();
        self.state.pending().insert(stream, Pending::Divert(tx));
        self.send_to_source(to_source, kind).await?;
        let state = self.state.clone();
        tokio::spawn(async move {
            state.metrics().request(kind, Cluster::Target);
            let (source, target_result) = tokio::join!(rx, target.run());
            let Ok(source) = source else {
                return; // the source connection is gone, and so is the client's
            };
            let answer = settle(&state, source, target, target_result).await;
            state.reply(answer).await;
        });
        Ok(())
    }

    /// Answers an EXECUTE (or BATCH child) id the proxy does not know, so
    /// the driver prepares the statement again, through the proxy.
    async fn unprepared(&self, raw: &Frame, id: Bytes) -> Result<(), Close> {
        Metrics::inc(&self.state.metrics().prepared_misses);
        let e = ErrorResponse::new(
            ErrorDetails::Unprepared { id },
            "ferry-proxy: unknown prepared statement id; prepare it again",
        );
        self.state
            .reply(error_frame(raw.header.version, raw.header.stream, &e))
            .await;
        Ok(())
    }
}

/// The target half of a paired request.
enum PairedTarget {
    Write {
        request: TargetRequest,
        leg: Arc<TargetLeg>,
        schema: bool,
    },
    Prepare {
        text: Bytes,
        keyspace: Option<String>,
        leg: Arc<TargetLeg>,
    },
}

/// What the target said.
enum TargetOutcome {
    Written(Result<Frame, TargetError>),
    Prepared(Result<crate::prepared::TargetIds, TargetError>),
}

impl PairedTarget {
    async fn run(&self) -> TargetOutcome {
        match self {
            Self::Write { request, leg, .. } => {
                leg.wait_for(request.after).await;
                TargetOutcome::Written(leg.send(request).await)
            }
            Self::Prepare {
                text,
                keyspace,
                leg,
            } => {
                let text = String::from_utf8_lossy(text);
                TargetOutcome::Prepared(leg.prepare(&text, keyspace.as_deref()).await)
            }
        }
    }
}

/// The answer for the client once both clusters answered: the source's,
/// unless the source succeeded, the target failed, and the client must
/// hear about it (sync mode). A failed target write is also logged.
async fn settle(
    state: &ConnState,
    source: Frame,
    target: PairedTarget,
    outcome: TargetOutcome,
) -> Frame {
    let source_plain = plain(state, &source);
    let source_failed = error_of(&source_plain).is_some();
    let sync = state.shared.config.write_mode == WriteMode::Sync;
    let (version, stream) = (source.header.version, source.header.stream);
    match (target, outcome) {
        (PairedTarget::Prepare { text, keyspace, .. }, TargetOutcome::Prepared(result)) => {
            let statement = remember_prepared(state, &source_plain, &text, keyspace);
            match (statement, result) {
                (Some(statement), Ok(ids)) => {
                    statement.set_target_ids(ids);
                    source
                }
                (Some(_), Err(e)) if sync => {
                    Metrics::inc(&state.metrics().target_failures);
                    error_frame(version, stream, &for_client(&e))
                }
                _ => source,
            }
        }
        (
            PairedTarget::Write {
                request, schema, ..
            },
            TargetOutcome::Written(result),
        ) => match result {
            _ if source_failed => source,
            Ok(_) => {
                Metrics::inc(&state.metrics().target_writes_ok);
                source
            }
            Err(TargetError::Server(e)) if schema && e.code() == ErrorCode::ALREADY_EXISTS => {
                source
            }
            Err(e) => {
                Metrics::inc(&state.metrics().target_failures);
                tracing::warn!(connection = state.id, error = %e, "target write failed");
                state.shared.queue.log_write(&request, e.to_string()).await;
                if sync {
                    error_frame(version, stream, &for_client(&e))
                } else {
                    source
                }
            }
        },
        // run() pairs each target with its own outcome kind.
        (_, _) => source,
    }
}

/// The error a sync-mode client gets for a target failure: the target's
/// own error (so driver retry policies see its code), or a server error.
fn for_client(e: &TargetError) -> ErrorResponse {
    match e {
        TargetError::Server(e) => ErrorResponse::new(
            e.details.clone(),
            format!("ferry-proxy: the target cluster refused: {}", e.message),
        ),
        other => ErrorResponse::server_error(format!(
            "ferry-proxy: applied on the source but not on the target: {other}"
        )),
    }
}
