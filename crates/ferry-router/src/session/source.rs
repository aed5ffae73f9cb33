//! The source reader: the source's answers and events, back to the client,
//! with the handshake watched and pending requests settled on the way.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use ferry_wire::compression::Compression;
use ferry_wire::frame::Frame;
use ferry_wire::{Opcode, ProtocolVersion};
use tokio::io::ReadHalf;
use tokio::sync::mpsc;

use super::{ConnState, Pending};
use crate::config::WriteMode;
use crate::framing::{FrameReader, Mode, Outbound, ReadError};
use crate::metrics::{Cluster, Metrics, RequestKind};
use crate::prepared::PreparedStatement;
use crate::queue::QueueSlot;
use crate::responses::{
    error_of, is_definitive_refusal, prepared_result, set_keyspace, translate_version_error,
};
use crate::summary::StatementSummary;
use crate::target::{TargetLeg, TargetRequest};
use crate::upstream::BoxedStream;

/// Reads the source until it closes.
pub(super) async fn run(
    state: Arc<ConnState>,
    mut input: ReadHalf<BoxedStream>,
    to_source: mpsc::Sender<Outbound>,
) {
    let mut reader = FrameReader::new(state.shared.config.max_frame_len);
    loop {
        let frame = match reader.next(&mut input, None).await {
            Ok(frame) => frame,
            Err(ReadError::Eof { .. }) => break,
            Err(e) => {
                tracing::warn!(connection = state.id, error = ?e, "source connection failed");
                break;
            }
        };
        // The clock read once per answer, for the source's latency and
        // (when it goes straight back) the client's.
        let mut answered = None;
        if frame.header.stream >= 0 {
            let now = std::time::Instant::now();
            answered = Some(now);
            state.source_answered(frame.header.stream, now);
            let _ = state
                .in_flight
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        }
        if !state.ready.load(Ordering::Acquire) {
            handshake_answer(&state, &mut reader, &to_source, frame).await;
            continue;
        }
        if frame.header.stream < 0 {
            state.reply(frame).await; // an EVENT
            continue;
        }
        let pending = state.pending().remove(&frame.header.stream);
        match pending {
            None => state.reply_at(frame, answered).await,
            Some(Pending::Divert(tx)) => {
                if let Err(frame) = tx.send(frame) {
                    state.reply(frame).await;
                }
            }
            Some(Pending::Mirror { slot, request }) => {
                // Hand the write over before the client sees the answer:
                // what the client sends next must be ordered after it.
                let refused = source_refused(&state, &frame);
                mirror(&state, slot, request, refused);
                state.reply_at(frame, answered).await;
            }
            Some(Pending::Prepare {
                text,
                keyspace,
                time_markers,
            }) => {
                let plain = plain(&state, &frame);
                state
                    .reply(prepared_for_client(&plain, time_markers.as_ref()).unwrap_or(frame))
                    .await;
                if let Some(statement) =
                    remember_prepared(&state, &plain, &text, keyspace, time_markers)
                {
                    prepare_on_target_later(&state, statement);
                }
            }
            Some(Pending::Topology {
                query,
                skip_metadata,
            }) => {
                let answer = state.shared.config.topology.as_ref().and_then(|t| {
                    crate::topology::answer_frame(&query, skip_metadata, t, &plain(&state, &frame))
                });
                state.reply(answer.unwrap_or(frame)).await;
            }
            Some(Pending::UseKeyspace) => {
                if let Some(ks) = set_keyspace(&plain(&state, &frame)) {
                    state.set_keyspace(ks);
                }
                state.reply(frame).await;
            }
        }
    }
    // Writes the source never answered may or may not have been applied
    // there (like a timeout): mirror them, so the target is not behind.
    let leftovers: Vec<Pending> = state.pending().drain().map(|(_, p)| p).collect();
    for pending in leftovers {
        if let Pending::Mirror { slot, request } = pending {
            mirror(&state, slot, request, false);
        }
    }
    state.source_closed.send_replace(true);
}

/// The frame with its body decompressed (as is if that fails).
pub(super) fn plain(state: &ConnState, frame: &Frame) -> Frame {
    frame
        .clone()
        .decompress(state.compression())
        .unwrap_or_else(|_| frame.clone())
}

/// Whether the source's answer refuses the request outright.
fn source_refused(state: &ConnState, frame: &Frame) -> bool {
    frame.header.opcode == Opcode::Error
        && error_of(&plain(state, frame)).is_some_and(|e| is_definitive_refusal(&e))
}

/// Hands a write the source accepted (or may have applied) to the queue.
fn mirror(state: &ConnState, slot: Option<QueueSlot>, request: TargetRequest, refused: bool) {
    if refused {
        Metrics::inc(&state.metrics().target_skipped);
        return;
    }
    let queue = state.shared.queue.clone();
    match (slot, state.target.get()) {
        (Some(slot), Some(leg)) => queue.submit(slot, leg.clone(), request),
        (slot, _) => {
            // Queue full (spill policy), or no target leg: log it. The
            // append is a disk write; keep it off the source reader, but
            // tracked, so a shutdown waits for it.
            let slot = slot.unwrap_or_else(|| queue.track());
            tokio::spawn(async move {
                queue.spill(&request).await;
                drop(slot);
            });
        }
    }
}

/// The PREPARED answer the client gets when the proxy inserted markers
/// for `now()`/`uuid()`: without them (`None`: send the source's as is).
pub(super) fn prepared_for_client(
    answer: &Frame,
    time_markers: Option<&crate::cql::PreparedRewrite<'static>>,
) -> Option<Frame> {
    crate::time_functions::hide_markers(answer, time_markers?)
}

/// Records a prepared statement from the source's Prepared result.
pub(super) fn remember_prepared(
    state: &ConnState,
    answer: &Frame,
    text: &Bytes,
    keyspace: Option<String>,
    time_markers: Option<crate::cql::PreparedRewrite<'static>>,
) -> Option<Arc<PreparedStatement>> {
    let (id, bind_types) = prepared_result(answer)?;
    let text = String::from_utf8_lossy(text);
    let mut summary = StatementSummary::of(&text);
    summary.settle_with_bind_types(&bind_types);
    let statement = Arc::new(
        PreparedStatement::with_summary(id, &text, keyspace, summary)
            .with_time_markers(time_markers),
    );
    state.shared.prepared.insert(statement.clone());
    Some(statement)
}

/// Prepares a mirrored statement on the target in the background, so the
/// first EXECUTE finds the target id ready. (If it fails, the first
/// mirrored EXECUTE prepares it.) Reads are never run on the target, so
/// they are not prepared there.
fn prepare_on_target_later(state: &ConnState, statement: Arc<PreparedStatement>) {
    let Some(leg) = state.target.get().cloned() else {
        return;
    };
    if !statement.summary.class.goes_to_target() {
        return;
    }
    let metrics = state.shared.metrics.clone();
    tokio::spawn(async move {
        metrics.request(RequestKind::Prepare, Cluster::Target);
        match leg
            .prepare(&statement.text, statement.keyspace.as_deref())
            .await
        {
            Ok(ids) => statement.set_target_ids(ids),
            Err(e) => {
                tracing::debug!(error = %e, "target PREPARE failed; the first mirrored EXECUTE will retry it")
            }
        }
    });
}

/// An answer during the handshake: translated if it is Cassandra 2.1's
/// refusal of a version, and watched for the end of the handshake (and
/// v5's switch to segments).
async fn handshake_answer(
    state: &Arc<ConnState>,
    reader: &mut FrameReader,
    to_source: &mpsc::Sender<Outbound>,
    frame: Frame,
) {
    let version = frame.header.version;
    match frame.header.opcode {
        Opcode::Error => {
            let answer = translate_version_error(&plain(state, &frame)).unwrap_or(frame);
            state.reply(answer).await;
        }
        Opcode::Ready | Opcode::Authenticate => {
            let ready = frame.header.opcode == Opcode::Ready;
            let segments = if version.uses_segments() {
                let lz4 = state.compression() == Some(Compression::Lz4);
                // The client's next frame, and everything after, is in
                // segments: switch the readers now, the writers in band.
                reader.set_mode(Mode::segments(lz4));
                state.client_mode.set(Mode::segments(lz4));
                let _ = to_source.send(Outbound::Segments { lz4 }).await;
                Some(lz4)
            } else {
                None
            };
            if ready {
                became_ready(state, version);
            }
            state.reply(frame).await;
            if let Some(lz4) = segments {
                let _ = state.to_client.send(Outbound::Segments { lz4 }).await;
            }
        }
        Opcode::AuthSuccess => {
            became_ready(state, version);
            state.reply(frame).await;
        }
        _ => state.reply(frame).await,
    }
}

/// The handshake is done: open the target leg in the same version.
fn became_ready(state: &Arc<ConnState>, version: ProtocolVersion) {
    let credentials = {
        let mut hs = state.handshake();
        hs.version = Some(version);
        hs.credentials.clone()
    };
    // Pass-through mode opens no target connection at all.
    if state.shared.config.write_mode != WriteMode::Off {
        let config = state.shared.target_config(version, credentials);
        let leg = Arc::new(TargetLeg::new(config));
        if state.target.set(leg.clone()).is_ok() {
            tokio::spawn(async move { leg.warm_up().await });
        }
    }
    state.ready.store(true, Ordering::Release);
    tracing::debug!(connection = state.id, peer = %state.peer, %version, "client handshake done");
}
