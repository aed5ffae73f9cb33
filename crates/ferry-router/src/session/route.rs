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
use super::source::{plain, prepared_for_client, remember_prepared};
use super::{ConnState, Pending};
use crate::config::WriteMode;
use crate::cql::{BatchType, CounterUpdate, PreparedRewrite, StatementKind};
use crate::metrics::{Cluster, Metrics, RequestKind};
use crate::prepared::PreparedStatement;
use crate::responses::{error_frame, error_of, target_flags};
use crate::summary::{StatementClass, StatementSummary};
use crate::target::{Statements, TargetError, TargetLeg, TargetRequest};
use crate::time_functions;
use crate::topology::{self, TopologyQuery};

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

/// The `<query_parameters>` flag of a request that carries a paging state.
const PAGING_STATE_FLAG: u32 = 0x08;

/// The `<query_parameters>` flag asking for rows without column metadata.
const SKIP_METADATA_FLAG: u32 = 0x02;

/// Whether `haystack` contains `needle` (lower-case ASCII), ignoring case.
fn contains_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// A request, peeked.
struct Request {
    /// As received (body compressed if it was).
    raw: Frame,
    /// Body decompressed.
    plain: Frame,
    peek: RequestPeek,
    /// The proxy's timestamp, when it is already in the body (protocol
    /// v2: a `USING TIMESTAMP` literal or marker value).
    timestamp: Option<i64>,
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
        let request = Request {
            raw,
            plain,
            peek,
            timestamp: None,
        };
        match &request.peek.request {
            PeekedRequest::Query { text, .. } => {
                if let Some(query) = self.topology_query(text, self.state.keyspace()) {
                    return self.answer_topology(request, query).await;
                }
                let summary = StatementSummary::of_bytes(text);
                let request = if summary.class == StatementClass::Write {
                    let request = self.query_with_literals(request);
                    self.query_with_timestamp(request, &summary)
                } else {
                    request
                };
                self.statement(request, &summary, Statements::None).await
            }
            PeekedRequest::Execute { id, .. } => {
                let Some(statement) = self.state.shared.prepared.get(id) else {
                    let id = id.clone();
                    return self.unprepared(&request.raw, id).await;
                };
                // In the keyspace it was prepared in (the driver may run it
                // on another connection).
                let keyspace = statement.keyspace.clone().or_else(|| self.state.keyspace());
                if let Some(query) = self.topology_query(statement.text.as_bytes(), keyspace) {
                    return self.answer_topology(request, query).await;
                }
                let request = match statement.time_markers() {
                    Some(markers) => self.execute_with_values(request, markers),
                    None => request,
                };
                // The summary is read where it is (an Arc clone, not a copy
                // of its strings per EXECUTE).
                let held = Arc::clone(&statement);
                self.statement(request, &held.summary, Statements::One(statement))
                    .await
            }
            PeekedRequest::Batch {
                batch_type,
                children,
                ..
            } => match self.batch_summary(*batch_type, children) {
                Ok((summary, statements)) => {
                    let request = self.batch_with_values(request);
                    self.statement(request, &summary, statements.into()).await
                }
                Err(unknown_id) => self.unprepared(&request.raw, unknown_id).await,
            },
            PeekedRequest::Prepare { text } => {
                if let Some(query) = self.topology_query(text, self.state.keyspace()) {
                    if query.preparable() {
                        return self.prepare_topology(request, query).await;
                    }
                }
                let text = text.clone();
                match self.prepare_with_markers(&request, &text) {
                    Some((request, text, markers)) => {
                        self.prepare(request.raw, text, Some(markers)).await
                    }
                    None => self.prepare(request.raw, text, None).await,
                }
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

    /// A request whose body changed (decompressed), peeked again and
    /// compressed again if the client's was. The original if the new body
    /// cannot be peeked (it always can: the proxy built it).
    fn rebuilt(&self, request: Request, body: Bytes) -> Request {
        let plain = Frame::new(request.plain.header, body);
        let Ok(peek) = peek_request(&plain.header, &plain.body) else {
            return request;
        };
        let mut raw = plain.clone();
        if request.raw.header.flags.contains(FrameFlags::COMPRESSION) {
            if let Some(c) = self.state.compression() {
                raw = raw.compress(c);
            }
        }
        Request {
            raw,
            plain,
            peek,
            timestamp: request.timestamp,
        }
    }

    /// The proxy's timestamp for a protocol v2 write (v2 has no default
    /// timestamp: it goes into the statement, see
    /// [`time_functions::v2_timestamp`]); `None` for v3+ and when writes
    /// are not mirrored.
    fn v2_timestamp(&self, request: &Request) -> Option<i64> {
        (request.plain.header.version == ferry_wire::ProtocolVersion::V2
            && self.state.shared.config.write_mode != WriteMode::Off)
            .then(|| self.state.shared.clock.next())
    }

    /// Protocol v2: a QUERY write that may get a timestamp gets `USING
    /// TIMESTAMP`, the same text for both clusters.
    fn query_with_timestamp(&self, request: Request, summary: &StatementSummary) -> Request {
        if !time_functions::v2_timestamp::may_stamp(summary) {
            return request;
        }
        let Some(ts) = self.v2_timestamp(&request) else {
            return request;
        };
        match self.with_query_text(&request, |t| {
            time_functions::v2_timestamp::with_timestamp_literal(t, ts)
        }) {
            Some(body) => Request {
                timestamp: Some(ts),
                ..self.rebuilt(request, body)
            },
            None => request,
        }
    }

    /// `--replace-time-functions`: a QUERY write with `now()`/`uuid()`
    /// replaced by literals, the same for both clusters.
    fn query_with_literals(&self, request: Request) -> Request {
        if !self.state.shared.config.replace_time_functions {
            return request;
        }
        match self.with_query_text(&request, |t| {
            time_functions::with_literals(t, &self.state.time_ids)
        }) {
            Some(body) => self.rebuilt(request, body),
            None => request,
        }
    }

    /// The body of QUERY `request` with its statement text rewritten by
    /// `rewrite`; `None` when it is no QUERY, its text is not UTF-8, or
    /// `rewrite` leaves it as it is.
    fn with_query_text(
        &self,
        request: &Request,
        rewrite: impl FnOnce(&str) -> Option<String>,
    ) -> Option<Bytes> {
        let PeekedRequest::Query { text, .. } = &request.peek.request else {
            return None;
        };
        let new_text = rewrite(std::str::from_utf8(text).ok()?)?;
        time_functions::replace_text(&request.plain.body, request.peek.message_offset, &new_text)
    }

    /// An EXECUTE of a statement whose `now()`/`uuid()` calls the proxy
    /// turned into markers: the client's values plus generated ones.
    /// With a `USING TIMESTAMP ?` marker (prepared over v2), the value is
    /// the proxy's timestamp.
    fn execute_with_values(&self, request: Request, markers: &PreparedRewrite<'_>) -> Request {
        let timestamp = markers.timestamp.map(|_| self.state.shared.clock.next());
        match time_functions::splice_execute(
            request.plain.header.version,
            &request.plain.body,
            request.peek.message_offset,
            markers,
            &self.state.time_ids,
            timestamp,
        ) {
            Some(body) => Request {
                timestamp,
                ..self.rebuilt(request, body)
            },
            None => request,
        }
    }

    /// `--replace-time-functions` in a BATCH: literals in its text
    /// children, generated values for its prepared children that need them.
    /// Protocol v2: the proxy's timestamp in every child (text: `USING
    /// TIMESTAMP`; prepared: its timestamp marker).
    fn batch_with_values(&self, request: Request) -> Request {
        let literals = self.state.shared.config.replace_time_functions;
        let timestamp = self.v2_timestamp(&request);
        if !literals && timestamp.is_none() {
            return request;
        }
        let prepared = &self.state.shared.prepared;
        let how = time_functions::BatchRewrite {
            literals,
            timestamp,
        };
        match time_functions::rewrite_batch(
            request.plain.header.version,
            &request.plain.body,
            request.peek.message_offset,
            |id| prepared.get(id),
            &self.state.time_ids,
            how,
        ) {
            Some(batch) => Request {
                timestamp: timestamp.filter(|_| batch.stamped),
                ..self.rebuilt(request, batch.body)
            },
            None => request,
        }
    }

    /// `--replace-time-functions`: a PREPARE of a write calling `now()` or
    /// `uuid()` becomes a PREPARE of the text with markers in their place
    /// (on both clusters); on a protocol v2 connection, a write that may
    /// get a timestamp gets a `USING TIMESTAMP ?` marker too. Returns the
    /// new request, its text and the markers; `None` to prepare the
    /// statement as it is.
    fn prepare_with_markers(
        &self,
        request: &Request,
        text: &[u8],
    ) -> Option<(Request, Bytes, PreparedRewrite<'static>)> {
        let summary = StatementSummary::of_bytes(text);
        if summary.class != StatementClass::Write {
            return None;
        }
        let calls = self.state.shared.config.replace_time_functions;
        let stamp = time_functions::v2_timestamp::may_stamp(&summary)
            && request.plain.header.version == ferry_wire::ProtocolVersion::V2
            && self.state.shared.config.write_mode != WriteMode::Off;
        if !calls && !stamp {
            return None;
        }
        let markers = time_functions::v2_timestamp::prepare_rewrite(
            std::str::from_utf8(text).ok()?,
            calls,
            stamp,
        )?;
        let body = time_functions::replace_text(
            &request.plain.body,
            request.peek.message_offset,
            &markers.text,
        )?;
        let new_text = Bytes::copy_from_slice(markers.text.as_bytes());
        let request = Request {
            raw: request.raw.clone(),
            plain: request.plain.clone(),
            peek: request.peek.clone(),
            timestamp: None,
        };
        Some((self.rebuilt(request, body), new_text, markers))
    }

    /// In topology-rewrite mode, the `system.local`/`peers`/`peers_v2`
    /// SELECT in `text` (run in `keyspace`), if it is one.
    fn topology_query(&self, text: &[u8], keyspace: Option<String>) -> Option<TopologyQuery> {
        self.state.shared.config.topology.as_ref()?;
        // Cheap test first: most statements name no system table.
        let in_system = keyspace.as_deref() == Some("system");
        if !in_system && !contains_ignore_case(text, b"system") {
            return None;
        }
        topology::recognize(std::str::from_utf8(text).ok()?, keyspace.as_deref())
    }

    /// Asks the source for its `system.local` row in place of a topology
    /// query, on the client's stream; the source reader then answers the
    /// client's query from it (see [`crate::topology`]).
    async fn answer_topology(
        &mut self,
        request: Request,
        mut query: TopologyQuery,
    ) -> Result<(), Close> {
        let stream = request.raw.header.stream;
        // The WHERE clause's bound values (QUERY with values, EXECUTE).
        query.values = topology::bound_values(&request.plain, request.peek.message_offset);
        let skip_metadata = request
            .peek
            .params()
            .is_some_and(|p| p.flags & SKIP_METADATA_FLAG != 0);
        let Some(frame) = topology::local_query_frame(request.plain.header.version, stream) else {
            return self.send_to_source(request.raw, RequestKind::Read).await;
        };
        self.state.pending().insert(
            stream,
            Pending::Topology {
                query,
                skip_metadata,
            },
        );
        self.send_to_source(frame, RequestKind::Read).await
    }

    /// A PREPARE of a topology query: answered by the proxy (an id of its
    /// own, remembered like any prepared statement, so its EXECUTEs are
    /// answered with the synthesized rows too).
    async fn prepare_topology(
        &mut self,
        request: Request,
        mut query: TopologyQuery,
    ) -> Result<(), Close> {
        let PeekedRequest::Prepare { text } = &request.peek.request else {
            return self.send_to_source(request.raw, RequestKind::Prepare).await;
        };
        let text = String::from_utf8_lossy(text).into_owned();
        let keyspace = self.state.keyspace();
        let id = topology::prepared_id(&text, keyspace.as_deref());
        self.state
            .shared
            .prepared
            .insert(Arc::new(PreparedStatement::new(
                id.clone(),
                &text,
                keyspace,
            )));
        query.prepare_id = Some(id);
        self.answer_topology(request, query).await
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
        // Only the children's flags matter: a prepared child's summary is
        // read in place, not copied.
        let mut fold = |child: &StatementSummary| {
            summary.may_add_timestamp &= child.may_add_timestamp;
            summary.is_conditional |= child.is_conditional;
            summary.is_counter |= child.is_counter;
            summary.has_own_timestamp |= child.has_own_timestamp;
            summary.touches_lists |= child.touches_lists;
        };
        for child in children {
            match child {
                BatchChildRef::Query(text) => fold(&StatementSummary::of_bytes(text)),
                BatchChildRef::Prepared(id) => {
                    let statement = self
                        .state
                        .shared
                        .prepared
                        .get(id)
                        .ok_or_else(|| id.clone())?;
                    fold(&statement.summary);
                    if !statements
                        .iter()
                        .any(|x| x.source_id == statement.source_id)
                    {
                        statements.push(statement);
                    }
                }
            }
        }
        Ok((summary, statements))
    }

    async fn statement(
        &mut self,
        request: Request,
        summary: &StatementSummary,
        statements: Statements,
    ) -> Result<(), Close> {
        let kind = kind_of(summary);
        match summary.class {
            StatementClass::Read => {
                if self.state.shared.config.mirror_reads {
                    self.mirror_read(&request, statements);
                }
                self.send_to_source(request.raw, kind).await
            }
            StatementClass::AccessControl => self.send_to_source(request.raw, kind).await,
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

    /// Hands a copy of a read to the target in the background
    /// (`--mirror-reads`). Only first pages: a paging state is the
    /// source's, and following pages warm nothing new.
    fn mirror_read(&self, request: &Request, statements: Statements) {
        let Some(leg) = self.state.target.get().cloned() else {
            return;
        };
        if request
            .peek
            .params()
            .is_some_and(|p| p.flags & PAGING_STATE_FLAG != 0)
        {
            return;
        }
        let target_request = TargetRequest {
            opcode: request.plain.header.opcode,
            flags: target_flags(request.plain.header.flags),
            version: request.plain.header.version,
            body: request.plain.body.clone(),
            statements,
            keyspace: self.state.keyspace(),
            timestamp: None,
            idempotent: true,
            after: 0,
            kind: RequestKind::Read,
        };
        let config = &self.state.shared.config;
        crate::mirror_reads::mirror_read(
            &self.state.shared.metrics,
            leg,
            target_request,
            config.mirror_reads_max_in_flight,
        );
    }

    /// A write: the same timestamp on both requests, then async (queue)
    /// or paired (answer after both).
    async fn write(
        &mut self,
        request: Request,
        summary: &StatementSummary,
        statements: Statements,
        kind: RequestKind,
    ) -> Result<(), Close> {
        let Request {
            raw,
            plain,
            peek,
            timestamp: in_text,
        } = request;
        let stream = raw.header.stream;
        let client_timestamp = peek.params().and_then(|p| p.timestamp);
        let mut to_source = raw;
        let mut target_body = plain.body.clone();
        // v2: the proxy's timestamp may already be in the statement.
        let mut timestamp = client_timestamp.or(in_text);
        if summary.may_add_timestamp && timestamp.is_none() {
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
        // Same timestamp on both clusters, no condition, no counter, no
        // list: applying it twice, or in another order than the source
        // did, gives the same cells (last write wins).
        let idempotent = timestamp.is_some()
            && !summary.is_counter
            && !summary.is_conditional
            && !summary.touches_lists;
        let target_request = TargetRequest {
            opcode: plain.header.opcode,
            flags: target_flags(plain.header.flags),
            version: plain.header.version,
            body: target_body,
            statements,
            keyspace: self.state.keyspace(),
            timestamp,
            idempotent,
            after: self
                .state
                .target
                .get()
                .map_or(0, |leg| leg.must_follow(!idempotent)),
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
        let queue = &self.state.shared.queue;
        let slot = match queue.try_reserve(self.arrived) {
            Some(slot) => Some(slot),
            None => {
                let mut shutdown = self.state.shared.shutdown.clone();
                tokio::select! {
                    slot = queue.reserve(self.arrived) => slot,
                    () = wait_true(&mut shutdown) => None,
                }
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
    async fn prepare(
        &mut self,
        raw: Frame,
        text: Bytes,
        time_markers: Option<PreparedRewrite<'static>>,
    ) -> Result<(), Close> {
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
                        time_markers,
                    },
                )
                .await
            }
            _ => {
                self.state.pending().insert(
                    stream,
                    Pending::Prepare {
                        text,
                        keyspace,
                        time_markers,
                    },
                );
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
        if let PairedTarget::Write {
            leg, schema: true, ..
        } = &target
        {
            if self.state.shared.config.write_mode == WriteMode::Async {
                let ticket = leg.ticket(true);
                let slot = self.state.shared.queue.track();
                self.send_to_source(to_source, kind).await?;
                spawn_async_schema(self.state.clone(), kind, rx, target, (ticket, slot));
                return Ok(());
            }
        }
        self.send_to_source(to_source, kind).await?;
        let state = self.state.clone();
        tokio::spawn(async move {
            state.metrics().request(kind, Cluster::Target);
            let timed_target = async {
                let sent = std::time::Instant::now();
                let outcome = target.run().await;
                state
                    .metrics()
                    .observe_cluster(kind, Cluster::Target, sent.elapsed());
                outcome
            };
            let (source, target_result) = tokio::join!(rx, timed_target);
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

/// How long an async-mode schema change waits for the target once the
/// source answered (`ProxyConfig::async_schema_wait`, default 5 s). Normally both answer and the client gets its answer
/// after both (so its next writes find the table on the target); but a
/// frozen target would hold the answer for the whole target timeout
/// (12 s), past drivers' own timeouts (Python: 10 s), and the
/// application would see an error for a change the source applied (seen
/// in the SIGSTOP test). After this wait the client gets the source's
/// answer and the target part goes on in the background: this
/// connection's later writes still wait for it on the target (it holds
/// an order ticket), and a failure is logged as for any async write.
/// Runs an async-mode schema change's target part and answers the client
/// (see `ProxyConfig::async_schema_wait`). `held` (its place in the connection's
/// order, and in the queue so a shutdown drain waits for it) is released
/// when the target part is done.
fn spawn_async_schema(
    state: Arc<ConnState>,
    kind: RequestKind,
    source: oneshot::Receiver<Frame>,
    target: PairedTarget,
    held: (crate::target::OrderTicket, crate::queue::QueueSlot),
) {
    tokio::spawn(async move {
        state.metrics().request(kind, Cluster::Target);
        let mut target_part = tokio::spawn(async move {
            let outcome = target.run().await;
            (target, outcome, held)
        });
        let Ok(source) = source.await else {
            return; // the source connection is gone, and so is the client's
        };
        let wait = state.shared.config.async_schema_wait;
        let done = match tokio::time::timeout(wait, &mut target_part).await {
            Ok(done) => done,
            Err(_) => {
                tracing::warn!(
                    connection = state.id,
                    "the target has not applied a schema change after {wait:?}; \
                     answering the client and finishing it in the background"
                );
                state.reply(source.clone()).await;
                if let Ok((target, outcome, _held)) = target_part.await {
                    // Async: the answer is the source's; this logs a failure.
                    settle(&state, source, target, outcome).await;
                }
                return;
            }
        };
        let answer = match done {
            Ok((target, outcome, _held)) => settle(&state, source, target, outcome).await,
            Err(_) => source, // the target part panicked: nothing to add
        };
        state.reply(answer).await;
    });
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
        time_markers: Option<PreparedRewrite<'static>>,
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
                ..
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
        (
            PairedTarget::Prepare {
                text,
                keyspace,
                time_markers,
                ..
            },
            TargetOutcome::Prepared(result),
        ) => {
            let client_answer = prepared_for_client(&source_plain, time_markers.as_ref());
            let statement = remember_prepared(state, &source_plain, &text, keyspace, time_markers);
            let source = client_answer.unwrap_or(source);
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
