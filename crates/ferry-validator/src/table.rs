//! Everything needed to validate one table, shared by its range scans and
//! re-checks: the statements, the comparator, the rate limits.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ferry_conn::session::{PreparedStatement, QueryOptions, Session, Values};
use ferry_conn::token::TokenRange;
use ferry_wire::RawValue;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};

use crate::compare::{RowComparator, Scope};
use crate::config::ValidatorConfig;
use crate::error::{Side, ValidateError};
use crate::merge::{merge_range, DifferenceKind, Found, MergeLimits, RangeResult};
use crate::progress::Progress;
use crate::projection::{Projection, ScanRow};
use crate::report::{ColumnDifference, DifferenceRecord, KeyPart};
use ferry_conn::rate_limit::RateLimiter;

/// Statements of one table on one cluster.
#[derive(Debug, Clone)]
pub(crate) struct Statements {
    pub(crate) scan: PreparedStatement,
    pub(crate) row: PreparedStatement,
    pub(crate) partition: PreparedStatement,
}

impl Statements {
    async fn prepare(session: &Session, side: Side, p: &Projection) -> Result<Self, ValidateError> {
        let prepare = |cql: String| async move {
            session
                .prepare(&cql)
                .await
                .map_err(|e| ValidateError::session(side, e))
        };
        Ok(Self {
            scan: prepare(p.scan_cql()).await?,
            row: prepare(p.row_cql()).await?,
            partition: prepare(p.partition_cql()).await?,
        })
    }
}

/// One table's validation context.
pub(crate) struct TableContext {
    pub(crate) sessions: [Session; 2],
    pub(crate) statements: [Statements; 2],
    pub(crate) limiters: [Option<Arc<RateLimiter>>; 2],
    pub(crate) projection: Arc<Projection>,
    pub(crate) comparator: RowComparator,
    pub(crate) config: Arc<ValidatorConfig>,
    pub(crate) progress: Arc<Progress>,
}

fn index(side: Side) -> usize {
    match side {
        Side::Source => 0,
        Side::Target => 1,
    }
}

impl TableContext {
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn new(
        source: Session,
        target: Session,
        projection: Projection,
        config: Arc<ValidatorConfig>,
        limiters: [Option<Arc<RateLimiter>>; 2],
        progress: Arc<Progress>,
    ) -> Result<Self, ValidateError> {
        let statements = [
            Statements::prepare(&source, Side::Source, &projection).await?,
            Statements::prepare(&target, Side::Target, &projection).await?,
        ];
        let projection = Arc::new(projection);
        let comparator = RowComparator::new(
            projection.clone(),
            config.compare,
            source.protocol_version(),
            target.protocol_version(),
        );
        Ok(Self {
            sessions: [source, target],
            statements,
            limiters,
            projection,
            comparator,
            config,
            progress,
        })
    }

    pub(crate) fn session(&self, side: Side) -> &Session {
        &self.sessions[index(side)]
    }

    fn read_options(&self) -> QueryOptions {
        QueryOptions::new()
            .with_consistency(self.config.consistency)
            .with_page_size(self.config.page_size)
            .with_keyspace(self.projection.table.keyspace.clone())
            .idempotent(true)
    }

    /// The rows of `range` on `side`, in ring order, fetched page by page
    /// (rate-limited, counted in the progress).
    fn scan(
        &self,
        side: Side,
        range: TokenRange,
    ) -> BoxStream<'static, Result<ScanRow, ValidateError>> {
        let session = self.session(side).clone();
        let statement = self.statements[index(side)].scan.clone();
        let options = self.read_options();
        let limiter = self.limiters[index(side)].clone();
        let progress = self.progress.clone();
        let projection = self.projection.clone();
        let pages = futures::stream::iter(range.cql_bounds()).flat_map(move |bounds| {
            session.execute_pages(
                &statement,
                Values::Raw(vec![
                    RawValue::Bytes(bounds.lower_exclusive.to_cql_bytes().into()),
                    RawValue::Bytes(bounds.upper_inclusive.to_cql_bytes().into()),
                ]),
                options.clone().with_routing_token(bounds.upper_inclusive),
            )
        });
        pages
            .then(move |page| {
                let limiter = limiter.clone();
                let progress = progress.clone();
                let projection = projection.clone();
                async move {
                    let page = page.map_err(|e| ValidateError::session(side, e))?;
                    let rows = page.len() as u64;
                    if let Some(limiter) = limiter {
                        limiter.acquire(rows).await;
                    }
                    progress.add_rows(side == Side::Source, rows);
                    projection.rows(side, page.rows())
                }
            })
            .map_ok(|rows| futures::stream::iter(rows.into_iter().map(Ok)))
            .try_flatten()
            .boxed()
    }

    /// Merges `range` of both clusters, trying again (from scratch) after a
    /// failed request.
    pub(crate) async fn scan_range(
        self: Arc<Self>,
        range: TokenRange,
    ) -> Result<RangeResult, ValidateError> {
        let limits = MergeLimits {
            max_unmatched_rows_per_partition: self.config.max_unmatched_rows_per_partition,
            max_found: self.config.max_kept_per_range,
        };
        let mut attempt = 1;
        loop {
            let result = merge_range(
                self.scan(Side::Source, range),
                self.scan(Side::Target, range),
                &self.comparator,
                limits,
            )
            .await;
            match result {
                Err(e @ ValidateError::Session { .. }) if attempt < self.config.range_attempts => {
                    tracing::warn!(range = %range, attempt, error = %e, "range failed; trying again");
                    tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// Whether `found` is about a partition's static columns (read by
    /// partition key alone) rather than a clustering row.
    pub(crate) fn is_partition_level(&self, found: &Found) -> bool {
        found.kind == DifferenceKind::StaticDiffers
            || found
                .any_row()
                .is_some_and(|r| self.projection.is_static_only(r))
    }

    /// Reads the row (or partition) of `found` again on `side`.
    pub(crate) async fn read_again(
        &self,
        side: Side,
        found: &Found,
    ) -> Result<Option<ScanRow>, ValidateError> {
        let Some(row) = found.any_row() else {
            return Ok(None);
        };
        let partition_level = self.is_partition_level(found);
        let statements = &self.statements[index(side)];
        let (statement, cells) = if partition_level {
            (&statements.partition, self.projection.pk(row))
        } else {
            (&statements.row, self.projection.primary_key(row))
        };
        let values: Vec<RawValue> = cells
            .iter()
            .map(|c| c.clone().map_or(RawValue::Null, RawValue::Bytes))
            .collect();
        if let Some(limiter) = &self.limiters[index(side)] {
            limiter.acquire(1).await;
        }
        let result = self
            .session(side)
            .execute(statement, Values::Raw(values), self.read_options())
            .await
            .map_err(|e| ValidateError::session(side, e))?;
        let Some(rows) = result.rows() else {
            return Ok(None);
        };
        Ok(self.projection.rows(side, rows)?.into_iter().next())
    }

    /// Reads `found` again on both sides: `None` if it is gone (the two
    /// sides agree now), else the difference as it stands.
    pub(crate) async fn recheck(&self, found: &Found) -> Result<Option<Found>, ValidateError> {
        let (source, target) = tokio::join!(
            self.read_again(Side::Source, found),
            self.read_again(Side::Target, found)
        );
        self.classify(self.is_partition_level(found), source?, target?)
    }

    /// What two versions of a row (or partition) amount to.
    pub(crate) fn classify(
        &self,
        partition_level: bool,
        source: Option<ScanRow>,
        target: Option<ScanRow>,
    ) -> Result<Option<Found>, ValidateError> {
        let (kind, columns) = match (&source, &target) {
            (None, None) => return Ok(None),
            (Some(_), None) => (DifferenceKind::MissingOnTarget, Vec::new()),
            (None, Some(_)) => (DifferenceKind::ExtraOnTarget, Vec::new()),
            (Some(s), Some(t)) => {
                let scope = if partition_level {
                    Scope::Static
                } else {
                    Scope::Regular
                };
                let columns = self.comparator.diff(scope, s, t)?;
                if columns.is_empty() {
                    return Ok(None);
                }
                let kind = if partition_level {
                    DifferenceKind::StaticDiffers
                } else {
                    DifferenceKind::Differs
                };
                (kind, columns)
            }
        };
        Ok(Some(Found {
            kind,
            source,
            target,
            columns,
            found_at: std::time::Instant::now(),
        }))
    }

    /// The report entry of a persistent difference.
    pub(crate) fn describe(&self, found: &Found, rechecked: bool) -> DifferenceRecord {
        let p = &self.projection;
        let max = self.config.max_value_chars;
        let mut primary_key = Vec::new();
        let mut token = String::new();
        if let Some(row) = found.any_row() {
            token = row.position.token.to_string();
            let side = if found.source.is_some() {
                Side::Source
            } else {
                Side::Target
            };
            let columns = if self.is_partition_level(found) {
                p.pk_len
            } else {
                p.pk_len + p.ck_len
            };
            for (i, column) in p.table.primary_key().take(columns).enumerate() {
                let value = match self.comparator.decode(side, row, i) {
                    Ok(Some(v)) => v.cql_literal_typed(&p.types[i]),
                    Ok(None) => "null".to_owned(),
                    Err(_) => hex(row.value_bytes(i)),
                };
                primary_key.push(KeyPart {
                    column: column.name.clone(),
                    value: truncate(value, max),
                });
            }
        }
        let columns = found
            .columns
            .iter()
            .map(|d| {
                let ty = p
                    .table
                    .value_columns()
                    .find(|c| c.name == d.column)
                    .map(|c| c.ty.to_column_type());
                let literal = |v: &Option<ferry_wire::types::CqlValue>| {
                    v.as_ref().map(|v| {
                        let text = match (&ty, d.aspect) {
                            (Some(ty), crate::compare::Aspect::Value) => v.cql_literal_typed(ty),
                            _ => v.cql_literal(),
                        };
                        truncate(text, max)
                    })
                };
                ColumnDifference {
                    column: d.column.clone(),
                    aspect: d.aspect,
                    source: literal(&d.source),
                    target: literal(&d.target),
                }
            })
            .collect();
        DifferenceRecord {
            kind: found.kind,
            token,
            primary_key,
            columns,
            rechecked,
            repair: None,
        }
    }
}

fn hex(bytes: Option<Bytes>) -> String {
    match bytes {
        None => "null".into(),
        Some(b) => {
            let mut s = String::from("0x");
            for byte in b.iter() {
                s.push_str(&format!("{byte:02x}"));
            }
            s
        }
    }
}

/// `text` cut to `max` characters, with a marker saying how long it was.
fn truncate(text: String, max: usize) -> String {
    let count = text.chars().count();
    if count <= max {
        return text;
    }
    let mut cut: String = text.chars().take(max).collect();
    cut.push_str(&format!("… ({count} chars)"));
    cut
}
