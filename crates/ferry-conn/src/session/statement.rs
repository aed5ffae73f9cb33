//! Per-request options, results, and batches.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use ferry_wire::request::BatchType;
use ferry_wire::response::{ColumnSpec, ResultResponse, Rows};
use ferry_wire::{Consistency, ProtocolVersion};

use super::prepared_cache::PreparedStatement;
use super::row::{decode_all, Row};
use super::values::Values;
use super::SessionError;
use crate::token::Token;

/// Options of one request. Unset fields take the session's defaults.
///
/// ```
/// use ferry_conn::session::QueryOptions;
/// use ferry_conn::token::Token;
/// use ferry_wire::Consistency;
/// let opts = QueryOptions::new()
///     .with_consistency(Consistency::Quorum)
///     .with_timestamp(1_700_000_000_000_000)
///     .with_routing_token(Token::murmur3(42))
///     .idempotent(true);
/// assert_eq!(opts.consistency, Some(Consistency::Quorum));
/// assert!(opts.idempotent);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryOptions {
    /// Consistency level; the session's default if `None`.
    pub consistency: Option<Consistency>,
    /// Serial consistency for conditional updates; the session's default if
    /// `None`.
    pub serial_consistency: Option<Consistency>,
    /// Write timestamp in microseconds since the epoch (`USING TIMESTAMP`
    /// for the whole request); else the session's client timestamp, if
    /// enabled, else the coordinator's clock.
    pub timestamp: Option<i64>,
    /// Rows per page; the session's default if `None`.
    pub page_size: Option<i32>,
    /// Resume a paged query where a previous result left off (single-page
    /// requests; streams manage this themselves).
    pub paging_state: Option<Bytes>,
    /// Route to the replicas of this token (e.g. for a token range scan).
    pub routing_token: Option<Token>,
    /// Route to the replicas of this partition key: its components'
    /// serialized values, in partition key order.
    pub routing_key: Option<Vec<Bytes>>,
    /// The keyspace whose replication places the key; else the prepared
    /// statement's, else the session's.
    pub keyspace: Option<String>,
    /// Whether the request may run more than once without harm; only
    /// idempotent requests are retried after a timeout or a lost
    /// connection. `false` unless set.
    pub idempotent: bool,
    /// Ask the coordinator to trace the request (the result carries the
    /// tracing session id).
    pub tracing: bool,
}

impl QueryOptions {
    /// All defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the consistency.
    #[must_use]
    pub fn with_consistency(mut self, consistency: Consistency) -> Self {
        self.consistency = Some(consistency);
        self
    }

    /// Sets the serial consistency.
    #[must_use]
    pub fn with_serial_consistency(mut self, consistency: Consistency) -> Self {
        self.serial_consistency = Some(consistency);
        self
    }

    /// Sets the write timestamp (microseconds).
    #[must_use]
    pub fn with_timestamp(mut self, micros: i64) -> Self {
        self.timestamp = Some(micros);
        self
    }

    /// Sets the page size.
    #[must_use]
    pub fn with_page_size(mut self, rows: i32) -> Self {
        self.page_size = Some(rows);
        self
    }

    /// Resumes from a paging state.
    #[must_use]
    pub fn with_paging_state(mut self, state: Bytes) -> Self {
        self.paging_state = Some(state);
        self
    }

    /// Routes to the replicas of `token`.
    #[must_use]
    pub fn with_routing_token(mut self, token: Token) -> Self {
        self.routing_token = Some(token);
        self
    }

    /// Routes to the replicas of this partition key.
    #[must_use]
    pub fn with_routing_key(mut self, components: Vec<Bytes>) -> Self {
        self.routing_key = Some(components);
        self
    }

    /// Names the keyspace used for routing.
    #[must_use]
    pub fn with_keyspace(mut self, keyspace: impl Into<String>) -> Self {
        self.keyspace = Some(keyspace.into());
        self
    }

    /// Marks the request idempotent (or not).
    #[must_use]
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }

    /// Turns tracing on or off.
    #[must_use]
    pub fn with_tracing(mut self, tracing: bool) -> Self {
        self.tracing = tracing;
        self
    }
}

/// The outcome of one request.
///
/// ```
/// use ferry_conn::session::QueryResult;
/// use ferry_wire::response::ResultResponse;
/// use ferry_wire::ProtocolVersion;
/// let r = QueryResult::new(ResultResponse::Void, "127.0.0.1:9042".parse().unwrap(), ProtocolVersion::V4);
/// assert!(r.rows().is_none());
/// assert!(r.into_rows().unwrap().is_empty());
/// ```
#[derive(Debug, Clone)]
pub struct QueryResult {
    /// The server's RESULT.
    pub result: ResultResponse,
    /// The node that answered.
    pub coordinator: SocketAddr,
    /// Attempts made, the successful one included.
    pub attempts: u32,
    /// Warnings the server attached (protocol v4+).
    pub warnings: Vec<String>,
    /// The tracing session id, if tracing was asked for.
    pub tracing_id: Option<[u8; 16]>,
    /// The protocol version of the connection that carried it.
    pub protocol_version: ProtocolVersion,
    /// Column specs to use when the rows came without them.
    pub(crate) fallback_columns: Option<Arc<[ColumnSpec]>>,
}

impl QueryResult {
    /// A result with no extras, as if answered at the first attempt.
    pub fn new(result: ResultResponse, coordinator: SocketAddr, version: ProtocolVersion) -> Self {
        Self {
            result,
            coordinator,
            attempts: 1,
            warnings: Vec::new(),
            tracing_id: None,
            protocol_version: version,
            fallback_columns: None,
        }
    }

    /// The rows, if the result is a Rows result.
    pub fn rows(&self) -> Option<&Rows> {
        match &self.result {
            ResultResponse::Rows(rows) => Some(rows),
            _ => None,
        }
    }

    /// The paging state to fetch the next page with, if more rows remain.
    pub fn paging_state(&self) -> Option<&Bytes> {
        self.rows().and_then(|r| r.metadata().paging_state.as_ref())
    }

    /// The rows, decoded; empty for results that are not rows.
    pub fn into_rows(self) -> Result<Vec<Row>, SessionError> {
        let version = self.protocol_version;
        let fallback = self.fallback_columns;
        match self.result {
            ResultResponse::Rows(rows) => {
                let columns = columns_of(&rows, fallback)?;
                Ok(decode_all(rows, columns, version)?)
            }
            _ => Ok(Vec::new()),
        }
    }
}

/// The column specs of `rows`, or `fallback` when the server skipped them.
pub(crate) fn columns_of(
    rows: &Rows,
    fallback: Option<Arc<[ColumnSpec]>>,
) -> Result<Arc<[ColumnSpec]>, SessionError> {
    match (&rows.metadata().columns, fallback) {
        (Some(columns), _) => Ok(columns.clone().into()),
        (None, Some(columns)) if columns.len() == rows.column_count() => Ok(columns),
        _ => Err(SessionError::Values(
            "the rows came without column metadata and none is known".into(),
        )),
    }
}

/// One statement of a [`Batch`].
///
/// ```
/// use ferry_conn::session::{Batch, BatchEntry, BatchType};
/// let mut batch = Batch::new(BatchType::Logged);
/// batch.add_query("DELETE FROM ks.t WHERE k = 1", ());
/// assert!(matches!(&batch.entries[0], BatchEntry::Query { cql, .. } if cql.starts_with("DELETE")));
/// ```
#[derive(Debug, Clone)]
pub enum BatchEntry {
    /// A CQL statement with its values (types inferred).
    Query {
        /// The statement.
        cql: String,
        /// Its values.
        values: Values,
    },
    /// A prepared statement with its values.
    Prepared {
        /// The statement.
        statement: PreparedStatement,
        /// Its values.
        values: Values,
    },
}

/// Statements applied together in one BATCH request.
///
/// The batch is routed like its first prepared statement whose partition
/// key is bound (batches of one partition are the ones worth sending).
///
/// ```
/// use ferry_conn::session::Batch;
/// use ferry_wire::request::BatchType;
/// use ferry_wire::types::CqlValue;
/// let mut batch = Batch::new(BatchType::Unlogged);
/// batch.add_query("INSERT INTO ks.t (k, v) VALUES (?, ?)", vec![CqlValue::Int(1), CqlValue::Int(2)]);
/// assert_eq!(batch.len(), 1);
/// ```
#[derive(Debug, Clone)]
pub struct Batch {
    /// Logged, unlogged or counter.
    pub batch_type: BatchType,
    /// The statements, in order.
    pub entries: Vec<BatchEntry>,
}

impl Batch {
    /// An empty batch.
    pub fn new(batch_type: BatchType) -> Self {
        Self {
            batch_type,
            entries: Vec::new(),
        }
    }

    /// Adds a CQL statement.
    pub fn add_query(&mut self, cql: impl Into<String>, values: impl Into<Values>) -> &mut Self {
        self.entries.push(BatchEntry::Query {
            cql: cql.into(),
            values: values.into(),
        });
        self
    }

    /// Adds a prepared statement.
    pub fn add_prepared(
        &mut self,
        statement: &PreparedStatement,
        values: impl Into<Values>,
    ) -> &mut Self {
        self.entries.push(BatchEntry::Prepared {
            statement: statement.clone(),
            values: values.into(),
        });
        self
    }

    /// Number of statements.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Client-side write timestamps: microseconds since the epoch, strictly
/// increasing across calls even if the clock stalls or steps back, so two
/// writes of one session never tie.
#[derive(Debug, Default)]
pub(crate) struct TimestampGenerator {
    last: AtomicI64,
}

impl TimestampGenerator {
    /// The next timestamp.
    pub(crate) fn next(&self) -> i64 {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
        let mut last = self.last.load(Ordering::Relaxed);
        loop {
            let next = now.max(last.saturating_add(1));
            match self
                .last
                .compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return next,
                Err(seen) => last = seen,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_strictly_increase() {
        let g = TimestampGenerator::default();
        let mut prev = g.next();
        assert!(prev > 1_600_000_000_000_000, "microseconds since the epoch");
        for _ in 0..10_000 {
            let t = g.next();
            assert!(t > prev);
            prev = t;
        }
    }
}
