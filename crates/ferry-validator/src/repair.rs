//! Repair: writing what the target lacks, with the source's timestamps.
//!
//! A persistent missing or differing row is written to the target from the
//! source's current version (read by the re-check, with `WRITETIME()` and
//! `TTL()` of every single-cell column), one statement per group of columns
//! sharing a write timestamp and TTL, `USING TIMESTAMP` the source's
//! writetime and `TTL` the time the source's cell has left (`TTL 0` for a
//! cell without one, so the target's default TTL cannot add one). Missing
//! rows are `INSERT`ed (which writes the row marker too); differing columns
//! are `UPDATE`d.
//!
//! Because the source's timestamps are used, a newer write on the target —
//! or a newer tombstone — wins over the repair, as it would have won over
//! the original write: such rows are reported as *shadowed*, never forced.
//! Repair never deletes: rows only on the target, and cells the target has
//! where the source has none, are reported as not repairable. Counter
//! tables are not repaired (counters take no timestamps).
//!
//! Limits (Cassandra before 5.0 cannot read the timestamp of a non-frozen
//! collection's elements): non-frozen collections and UDTs are written with
//! the newest writetime of the row's other cells (the coordinator's clock
//! when there is none) and no TTL; a row with no value cells (only a
//! primary key) is inserted with the coordinator's clock.

use std::collections::BTreeMap;

use bytes::Bytes;
use ferry_conn::session::{QueryOptions, Values};
use ferry_wire::types::CqlValue;
use ferry_wire::RawValue;

use crate::compare::Scope;
use crate::error::{Side, ValidateError};
use crate::merge::{DifferenceKind, Found};
use crate::projection::ValueColumn;
use crate::report::{RepairNote, RepairStatus};
use crate::schema::quote;
use crate::table::TableContext;

/// What repairing one difference did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RepairResult {
    pub(crate) note: RepairNote,
    pub(crate) statements: u64,
    pub(crate) cells: u64,
}

impl RepairResult {
    fn not_repairable(detail: impl Into<String>) -> Self {
        Self {
            note: RepairNote {
                status: RepairStatus::NotRepairable,
                detail: Some(detail.into()),
            },
            statements: 0,
            cells: 0,
        }
    }
}

/// Columns written by one statement: same writetime (`None`: the
/// coordinator's clock) and TTL.
type Groups<'a> = BTreeMap<(Option<i64>, i32), Vec<(&'a ValueColumn, Bytes)>>;

impl TableContext {
    /// Repairs `found` (a persistent difference, as re-checked).
    pub(crate) async fn repair(&self, found: &Found) -> RepairResult {
        match self.try_repair(found).await {
            Ok(r) => r,
            Err(e) => RepairResult {
                note: RepairNote {
                    status: RepairStatus::Failed,
                    detail: Some(e.to_string()),
                },
                statements: 0,
                cells: 0,
            },
        }
    }

    async fn try_repair(&self, found: &Found) -> Result<RepairResult, ValidateError> {
        if found.kind == DifferenceKind::ExtraOnTarget {
            return Ok(RepairResult::not_repairable(
                "rows only on the target are never deleted",
            ));
        }
        if self.projection.table.is_counter_table() {
            return Ok(RepairResult::not_repairable(
                "counters cannot be written with the source's timestamps",
            ));
        }
        let Some(source) = &found.source else {
            return Ok(RepairResult::not_repairable("the source has no such row"));
        };
        let p = &self.projection;
        let partition_level = self.is_partition_level(found);
        let differing = |c: &&ValueColumn| found.columns.iter().any(|d| d.column == c.def.name);
        let candidates: Vec<&ValueColumn> = match found.kind {
            DifferenceKind::MissingOnTarget if partition_level => p.statics.iter().collect(),
            DifferenceKind::MissingOnTarget => p.statics.iter().chain(&p.regular).collect(),
            DifferenceKind::Differs => p.regular.iter().filter(differing).collect(),
            DifferenceKind::StaticDiffers => p.statics.iter().filter(differing).collect(),
            DifferenceKind::ExtraOnTarget => Vec::new(),
        };
        let mut refused = Vec::new();
        let mut writes = Vec::new();
        for column in candidates {
            match source.value_bytes(column.index) {
                Some(value) => writes.push((column, value)),
                None => {
                    let target_has = found
                        .target
                        .as_ref()
                        .and_then(|t| t.value_bytes(column.index))
                        .is_some();
                    if target_has {
                        refused.push(column.def.name.clone());
                    }
                }
            }
        }
        let inserts_row = found.kind == DifferenceKind::MissingOnTarget && !partition_level;
        if writes.is_empty() && !inserts_row {
            return Ok(RepairResult::not_repairable(format!(
                "the source has no value for {} (repair never deletes)",
                refused.join(", ")
            )));
        }

        // The newest writetime of the row: the best guess for cells whose
        // own cannot be read.
        let row_writetime = p
            .statics
            .iter()
            .chain(&p.regular)
            .filter_map(|c| c.writetime)
            .filter_map(|i| self.int_cell(source, i))
            .max();
        let mut groups: Groups<'_> = BTreeMap::new();
        for (column, value) in writes {
            let key = match (column.writetime, column.ttl) {
                (Some(w), Some(t)) => (
                    self.int_cell(source, w).or(row_writetime),
                    self.int_cell(source, t)
                        .and_then(|t| i32::try_from(t).ok())
                        .unwrap_or(0),
                ),
                _ => (row_writetime, 0),
            };
            groups.entry(key).or_default().push((column, value));
        }

        let options = QueryOptions::new().with_consistency(self.config.consistency);
        let target = self.session(Side::Target);
        let mut statements = 0;
        let mut cells = 0;
        let key_cells = if partition_level {
            p.pk(source)
        } else {
            p.primary_key(source)
        };
        let key_columns: Vec<&str> = p
            .table
            .primary_key()
            .take(key_cells.len())
            .map(|c| c.name.as_str())
            .collect();
        let key_values: Vec<RawValue> = key_cells
            .iter()
            .map(|c| c.clone().map_or(RawValue::Null, RawValue::Bytes))
            .collect();
        if groups.is_empty() {
            // A row of nothing but its primary key.
            let cql = self.insert_cql(&key_columns, &[], None);
            let statement = target
                .prepare(&cql)
                .await
                .map_err(|e| ValidateError::session(Side::Target, e))?;
            target
                .execute(
                    &statement,
                    Values::Raw(key_values.clone()),
                    options.clone().idempotent(true),
                )
                .await
                .map_err(|e| ValidateError::session(Side::Target, e))?;
            statements += 1;
        }
        let written: Vec<String> = groups
            .values()
            .flatten()
            .map(|(c, _)| c.def.name.clone())
            .collect();
        for ((writetime, ttl), columns) in &groups {
            let names: Vec<&str> = columns.iter().map(|(c, _)| c.def.name.as_str()).collect();
            let mut using: Vec<RawValue> = Vec::new();
            if let Some(w) = writetime {
                using.push(RawValue::Bytes(Bytes::copy_from_slice(&w.to_be_bytes())));
            }
            using.push(RawValue::Bytes(Bytes::copy_from_slice(&ttl.to_be_bytes())));
            let values: Vec<RawValue> = columns
                .iter()
                .map(|(_, v)| RawValue::Bytes(v.clone()))
                .collect();
            let (cql, bound) = if inserts_row {
                let cql = self.insert_cql(&key_columns, &names, Some(writetime.is_some()));
                (cql, [key_values.clone(), values, using].concat())
            } else {
                let cql = self.update_cql(&key_columns, &names, writetime.is_some());
                (cql, [using, values, key_values.clone()].concat())
            };
            // A list written twice gets its elements twice (each element's
            // cell name is made at write time): not idempotent.
            let idempotent = !columns.iter().any(|(c, _)| c.def.ty.is_multi_cell_list());
            let statement = target
                .prepare(&cql)
                .await
                .map_err(|e| ValidateError::session(Side::Target, e))?;
            target
                .execute(
                    &statement,
                    Values::Raw(bound),
                    options.clone().idempotent(idempotent),
                )
                .await
                .map_err(|e| ValidateError::session(Side::Target, e))?;
            statements += 1;
            cells += columns.len() as u64;
        }

        // Did it take? Read the target again and compare what was written.
        let now_target = self.read_again(Side::Target, found).await?;
        let status = match &now_target {
            None => RepairStatus::Shadowed,
            Some(t) => {
                let scope = if partition_level {
                    Scope::Static
                } else {
                    Scope::Regular
                };
                let mut left = self.comparator.diff(scope, source, t)?;
                left.retain(|d| written.contains(&d.column));
                if left.is_empty() {
                    RepairStatus::Repaired
                } else {
                    RepairStatus::Shadowed
                }
            }
        };
        let mut detail = match status {
            RepairStatus::Shadowed => Some(
                "the target keeps newer data or a newer tombstone than the source's writetime"
                    .to_owned(),
            ),
            _ => None,
        };
        let status = if refused.is_empty() {
            status
        } else {
            detail = Some(format!(
                "{}the source has no value for {} (repair never deletes)",
                detail.map(|d| format!("{d}; ")).unwrap_or_default(),
                refused.join(", ")
            ));
            RepairStatus::NotRepairable
        };
        Ok(RepairResult {
            note: RepairNote { status, detail },
            statements,
            cells,
        })
    }

    /// A `bigint` or `int` cell of the source row as an integer.
    fn int_cell(&self, row: &crate::projection::ScanRow, index: usize) -> Option<i64> {
        self.comparator
            .decode(Side::Source, row, index)
            .ok()
            .flatten()
            .as_ref()
            .and_then(CqlValue::as_i64)
    }

    /// `INSERT INTO t (key..., columns...) VALUES (?...) [USING [TIMESTAMP ? AND] TTL ?]`;
    /// `timestamp`: `None` for no `USING` at all.
    fn insert_cql(&self, key: &[&str], columns: &[&str], timestamp: Option<bool>) -> String {
        let names: Vec<String> = key.iter().chain(columns).map(|c| quote(c)).collect();
        let markers = vec!["?"; names.len()].join(", ");
        let using = match timestamp {
            None => String::new(),
            Some(true) => " USING TIMESTAMP ? AND TTL ?".to_owned(),
            Some(false) => " USING TTL ?".to_owned(),
        };
        format!(
            "INSERT INTO {} ({}) VALUES ({markers}){using}",
            self.projection.table.cql_name(),
            names.join(", ")
        )
    }

    /// `UPDATE t USING [TIMESTAMP ? AND] TTL ? SET c = ?, ... WHERE key = ? AND ...`.
    fn update_cql(&self, key: &[&str], columns: &[&str], timestamp: bool) -> String {
        let set: Vec<String> = columns
            .iter()
            .map(|c| format!("{} = ?", quote(c)))
            .collect();
        let restrictions: Vec<String> = key.iter().map(|c| format!("{} = ?", quote(c))).collect();
        format!(
            "UPDATE {} USING {}TTL ? SET {} WHERE {}",
            self.projection.table.cql_name(),
            if timestamp { "TIMESTAMP ? AND " } else { "" },
            set.join(", "),
            restrictions.join(" AND ")
        )
    }
}
