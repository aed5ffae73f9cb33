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
            StatementSummary::of(text).may_add_timestamp && add_using_timestamp(text, "0").is_some()
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
}
