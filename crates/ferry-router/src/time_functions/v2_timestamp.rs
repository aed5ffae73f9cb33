//! Timestamps for protocol v2 writes.
//!
//! From v3 on the proxy gives a write without a client timestamp the
//! protocol's "default timestamp", the same in the source and the target
//! request. v2 requests have no such field, so each cluster would stamp
//! the write with its own clock: different `WRITETIME()`s, and a write
//! replayed from the failed-write log could overwrite a newer one. For v2
//! connections the timestamp goes into the statement text instead:
//!
//! - QUERY (and BATCH text children): `USING TIMESTAMP <µs>`
//!   ([`with_timestamp_literal`]);
//! - PREPARE: `USING TIMESTAMP ?` ([`prepare_rewrite`]), prepared on both
//!   clusters; the marker is hidden from the client like the `now()`
//!   markers, and each EXECUTE (or BATCH child) gets the proxy's timestamp
//!   as its value. The request body then carries the timestamp, so the
//!   failed-write log and `replay` keep it.
//!
//! Only statements that may get a timestamp (not LWT, not counter updates,
//! no `USING TIMESTAMP` of their own: [`StatementSummary::may_add_timestamp`])
//! are changed.

use ferry_wire::request::{BatchStatementKind, BatchType};

use crate::cql::{add_using_timestamp, MarkerStyle, PreparedRewrite};
use crate::prepared::PreparedStatement;
use crate::summary::StatementSummary;

/// Whether a statement may get the proxy's timestamp in its text: it may
/// get one at all, and neither it nor (text batch) any of its children
/// has its own `USING TIMESTAMP` (a batch-level one would then be refused:
/// "Timestamp must be set either on BATCH or individual statements").
pub(crate) fn may_stamp(summary: &StatementSummary) -> bool {
    summary.may_add_timestamp && !summary.has_own_timestamp
}

/// `text` with `USING TIMESTAMP ts`, or `None` if it has no place for one.
pub(crate) fn with_timestamp_literal(text: &str, ts: i64) -> Option<String> {
    add_using_timestamp(text, &ts.to_string()).map(|(text, _)| text)
}

/// The text to PREPARE in place of `text`: with markers for `now()` and
/// `uuid()` (`calls`, `--replace-time-functions`) and with a `USING
/// TIMESTAMP ?` marker (`timestamp`: a v2 connection, and a statement that
/// may get one). `None` to prepare `text` as it is.
pub(crate) fn prepare_rewrite(
    text: &str,
    calls: bool,
    timestamp: bool,
) -> Option<PreparedRewrite<'static>> {
    let with_calls = calls.then(|| super::with_markers(text)).flatten();
    if !timestamp {
        return with_calls;
    }
    let base = with_calls.unwrap_or_else(|| {
        // No calls replaced: the text itself, with its own markers counted.
        let rw = crate::cql::replace_calls_with_markers(text, MarkerStyle::Named, |_| false);
        PreparedRewrite {
            text: std::borrow::Cow::Owned(rw.text.into_owned()),
            inserted: Vec::new(),
            original_markers: rw.original_markers,
            timestamp: None,
        }
    });
    let fallback = (!base.inserted.is_empty()).then(|| base.clone());
    base.add_timestamp_marker().or(fallback)
}

/// Whether a BATCH child may carry the batch's timestamp: a text child
/// that may get one and has a place for it, or a prepared child with the
/// proxy's timestamp marker. Never in a COUNTER batch.
pub(crate) fn batch_child_stampable(
    batch_type: BatchType,
    child: &BatchStatementKind,
    prepared: Option<&PreparedStatement>,
) -> bool {
    if batch_type == BatchType::Counter {
        return false;
    }
    match child {
        BatchStatementKind::Query(text) => {
            let text = text.text();
            may_stamp(&StatementSummary::of(text)) && add_using_timestamp(text, "0").is_some()
        }
        BatchStatementKind::Prepared(_) => prepared
            .and_then(PreparedStatement::time_markers)
            .is_some_and(|m| m.timestamp.is_some()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_go_where_the_grammar_wants_them() {
        assert_eq!(
            with_timestamp_literal("UPDATE t SET v = 1 WHERE k = 1", 42).unwrap(),
            "UPDATE t USING TIMESTAMP 42 SET v = 1 WHERE k = 1"
        );
        assert_eq!(with_timestamp_literal("TRUNCATE t", 42), None);
    }

    #[test]
    fn prepared_rewrites_combine_calls_and_timestamp() {
        let rw = prepare_rewrite("UPDATE t SET id = now(), v = ? WHERE k = ?", true, true).unwrap();
        assert_eq!(
            rw.text,
            "UPDATE t USING TIMESTAMP ? SET id = (timeuuid):ferry_now_0, v = ? WHERE k = ?"
        );
        assert_eq!(rw.timestamp, Some(0));
        assert_eq!(rw.inserted[0].index, 1);
        assert_eq!(rw.original_markers, 2);
        // The client's markers map back past both inserted ones.
        assert_eq!(rw.original_index(2), Some(0));
        assert_eq!(rw.original_index(3), Some(1));
        assert_eq!(rw.original_index(0), None);
        // Timestamp only.
        let rw = prepare_rewrite("INSERT INTO t (k, v) VALUES (?, ?)", false, true).unwrap();
        assert_eq!(
            rw.text,
            "INSERT INTO t (k, v) VALUES (?, ?) USING TIMESTAMP ?"
        );
        assert_eq!((rw.timestamp, rw.original_markers), (Some(2), 2));
        // Calls only (no place for a timestamp: calls kept).
        let rw = prepare_rewrite("INSERT INTO t (k) VALUES (now())", true, false).unwrap();
        assert_eq!(rw.timestamp, None);
        // Nothing to do.
        assert!(prepare_rewrite("INSERT INTO t (k) VALUES (?)", false, false).is_none());
        assert!(prepare_rewrite("TRUNCATE t", true, true).is_none());
    }

    use std::sync::Arc;

    use bytes::{Bytes, BytesMut};
    use ferry_wire::request::{Batch, BatchStatement, BoundValues, Execute, QueryParameters};
    use ferry_wire::{Consistency, ProtocolVersion, RawValue, Reader};

    use super::super::{rewrite_batch, splice_execute, BatchRewrite, TimeUuids};

    const V2: ProtocolVersion = ProtocolVersion::V2;

    fn value(s: &'static str) -> RawValue {
        RawValue::Bytes(Bytes::from_static(s.as_bytes()))
    }

    fn ts_value(ts: i64) -> RawValue {
        RawValue::Bytes(Bytes::copy_from_slice(&ts.to_be_bytes()))
    }

    #[test]
    fn lwt_counters_and_own_timestamps_are_never_stamped() {
        for text in [
            "INSERT INTO t (k) VALUES (1) IF NOT EXISTS",
            "UPDATE t SET v = 1 WHERE k = 1 IF v = 0",
            "DELETE FROM t WHERE k = 1 IF EXISTS",
            "UPDATE t SET c = c + 1 WHERE k = 1",
            "UPDATE t SET c = c + ? WHERE k = ?",
            "INSERT INTO t (k) VALUES (1) USING TIMESTAMP 5",
            "BEGIN COUNTER BATCH UPDATE t SET c = c + 1 WHERE k = 1; APPLY BATCH",
            "BEGIN BATCH INSERT INTO t (k) VALUES (1) USING TIMESTAMP 5; APPLY BATCH",
            "TRUNCATE t",
        ] {
            // The routing decision (route.rs stamps only these)...
            assert!(!may_stamp(&StatementSummary::of(text)), "{text}");
            // ... and the batch child test.
            let child = BatchStatementKind::Query(text.into());
            assert!(
                !batch_child_stampable(BatchType::Logged, &child, None),
                "{text}"
            );
        }
        let plain = BatchStatementKind::Query("INSERT INTO t (k) VALUES (1)".into());
        assert!(batch_child_stampable(BatchType::Logged, &plain, None));
        assert!(!batch_child_stampable(BatchType::Counter, &plain, None));
    }

    fn v2_execute(values: Vec<RawValue>) -> Bytes {
        let mut parameters = QueryParameters::new(Consistency::One);
        parameters.values = Some(BoundValues::Positional(values));
        let e = Execute {
            id: Bytes::from_static(b"id"),
            result_metadata_id: None,
            parameters,
        };
        let mut body = BytesMut::new();
        e.encode(&mut body, V2).unwrap();
        body.freeze()
    }

    #[test]
    fn v2_executes_get_the_timestamp_at_its_marker() {
        let ids = TimeUuids::new();
        // UPDATE: the USING clause comes first.
        let rw = prepare_rewrite("UPDATE t SET v = ? WHERE k = ?", false, true).unwrap();
        let body = v2_execute(vec![value("v"), value("k")]);
        let out = splice_execute(V2, &body, 0, &rw, &ids, Some(77)).unwrap();
        let e = Execute::decode(&mut Reader::new(out), V2).unwrap();
        assert_eq!(
            e.parameters.values.unwrap().to_raw_values(),
            [ts_value(77), value("v"), value("k")]
        );
        // INSERT with a TTL marker: after it.
        let rw = prepare_rewrite("INSERT INTO t (k) VALUES (?) USING TTL ?", false, true).unwrap();
        let body = v2_execute(vec![value("k"), value("ttl")]);
        let out = splice_execute(V2, &body, 0, &rw, &ids, Some(78)).unwrap();
        let e = Execute::decode(&mut Reader::new(out), V2).unwrap();
        assert_eq!(
            e.parameters.values.unwrap().to_raw_values(),
            [value("k"), value("ttl"), ts_value(78)]
        );
        // Without a timestamp the values cannot be completed.
        assert!(splice_execute(V2, &body, 0, &rw, &ids, None).is_none());
    }

    fn v2_batch(children: Vec<(BatchStatementKind, Vec<RawValue>)>) -> Bytes {
        let mut batch = Batch::new(BatchType::Logged, Consistency::One);
        for (kind, values) in children {
            batch.statements.push(BatchStatement {
                kind,
                values: BoundValues::Positional(values),
            });
        }
        let mut body = BytesMut::new();
        batch.encode(&mut body, V2).unwrap();
        body.freeze()
    }

    #[test]
    fn v2_batches_stamp_every_child_or_no_text_child() {
        let ids = TimeUuids::new();
        let text = "UPDATE t SET v = ? WHERE k = ?";
        let rw = prepare_rewrite(text, false, true).unwrap();
        let prepared = Arc::new(
            PreparedStatement::new(Bytes::from_static(b"p"), &rw.text, None)
                .with_time_markers(Some(rw)),
        );
        let lookup = |id: &Bytes| (id == &prepared.source_id).then(|| prepared.clone());
        let how = BatchRewrite {
            literals: false,
            timestamp: Some(99),
        };
        let prepared_child = (
            BatchStatementKind::Prepared(Bytes::from_static(b"p")),
            vec![value("v"), value("k")],
        );
        let body = v2_batch(vec![
            (
                BatchStatementKind::Query("DELETE FROM t WHERE k = 1".into()),
                vec![],
            ),
            prepared_child.clone(),
        ]);
        let out = rewrite_batch(V2, &body, 0, lookup, &ids, how).unwrap();
        assert!(out.stamped);
        let back = Batch::decode(&mut Reader::new(out.body), V2).unwrap();
        let BatchStatementKind::Query(q) = &back.statements[0].kind else {
            panic!("text child stays text");
        };
        assert_eq!(q.text(), "DELETE FROM t USING TIMESTAMP 99 WHERE k = 1");
        assert_eq!(
            back.statements[1].values.to_raw_values(),
            [ts_value(99), value("v"), value("k")]
        );
        // An LWT child: no literal for the text children, but the
        // prepared child's marker still needs its value.
        let lwt = "UPDATE t SET v = 1 WHERE k = 1 IF v = 0";
        let body = v2_batch(vec![
            (BatchStatementKind::Query(lwt.into()), vec![]),
            prepared_child,
        ]);
        let out = rewrite_batch(V2, &body, 0, lookup, &ids, how).unwrap();
        assert!(!out.stamped);
        let back = Batch::decode(&mut Reader::new(out.body), V2).unwrap();
        let BatchStatementKind::Query(q) = &back.statements[0].kind else {
            panic!("text child stays text");
        };
        assert_eq!(q.text(), lwt);
        assert_eq!(back.statements[1].values.to_raw_values().len(), 3);
    }
}
