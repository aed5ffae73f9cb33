//! From a source row to target INSERTs.
//!
//! The scan selects, in this order: the partition key columns, the
//! clustering columns, the static columns, the regular columns, then
//! `TTL(c)` of every column that has a single cell (not a non-frozen
//! collection), then, when writetimes are preserved, `WRITETIME(c)` of the
//! same columns. Cells are copied as the bytes the source sent (no
//! decoding, no re-encoding).
//!
//! Each row becomes one or more `INSERT ... USING TIMESTAMP ? AND TTL ?`:
//!
//! - columns are grouped by the (timestamp, TTL) they are written with:
//!   the job's timestamp by default, each cell's own writetime with
//!   `preserve_writetime`; each cell's remaining TTL (0 = none, which also
//!   keeps the target table's default TTL from applying to cells that had
//!   none);
//! - null cells are not written (no tombstones): left out of the column
//!   list on protocol v3 (one prepared statement per set of columns,
//!   cached), or bound as UNSET on v4+ (one statement per table and kind);
//! - static columns are written once per partition, with the partition
//!   key only; a partition that has only static values (the scan returns
//!   it as a row whose clustering columns are null) gets just that write;
//! - a row whose regular columns are all null is written with its key
//!   only, so that it exists on the target as on the source;
//! - non-frozen collections cannot report a writetime or TTL (before
//!   Cassandra 5.0): they get the job's timestamp and no TTL. Lists get it
//!   plus a small offset that grows with each redo of the same write, so
//!   the redo's collection tombstone (written at its timestamp − 1)
//!   deletes the elements of the earlier attempt instead of appending
//!   duplicates.

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;

use ferry_conn::session::{
    Batch, BatchEntry, BatchType, PreparedStatement, QueryOptions, Session, SessionError, Values,
};
use ferry_conn::token::Token;
use ferry_wire::request::SerializedValues;
use ferry_wire::RawValue;

use crate::batch::{PendingWrite, WriteGroup};
use crate::schema::{quote, ColumnKind, TableSchema};

/// Prepared INSERTs kept per table before falling back to unprepared
/// statements (only reachable with many distinct null patterns on v3).
const MAX_PREPARED: usize = 512;

/// How null cells are kept from becoming tombstones.
///
/// ```
/// use ferry_copier::writer::NullHandling;
/// use ferry_wire::ProtocolVersion;
/// let pick = |v: ProtocolVersion| if v >= ProtocolVersion::V4 { NullHandling::Unset } else { NullHandling::Omit };
/// assert_eq!(pick(ProtocolVersion::V3), NullHandling::Omit);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NullHandling {
    /// Bound as UNSET (protocol v4+).
    Unset,
    /// Left out of the statement (protocol v3, which has no UNSET).
    Omit,
}

/// A non-key column as the copy sees it.
#[derive(Debug, Clone)]
struct CopyColumn {
    name: String,
    is_static: bool,
    /// Position of its value among the selected cells.
    value: usize,
    /// Position of `TTL(c)`, if selected.
    ttl: Option<usize>,
    /// Position of `WRITETIME(c)`, if selected.
    writetime: Option<usize>,
    /// A non-frozen list (written with the redo offset).
    is_list: bool,
}

/// One INSERT to run: which columns, with which timestamp and TTL (see
/// [`TableWriter`] for how rows become these).
///
/// ```
/// let op = ferry_copier::writer::WriteOp { is_static: false, columns: vec![0, 2], timestamp: 1, ttl: 0, has_list: false };
/// assert_eq!(op.columns.len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOp {
    /// Static columns (partition key only) or a row (full primary key).
    pub is_static: bool,
    /// The columns written, as indexes of the table's non-key columns
    /// (statics then regulars, each by name).
    pub columns: Vec<usize>,
    /// `USING TIMESTAMP`, µs.
    pub timestamp: i64,
    /// `USING TTL`, s (0: none).
    pub ttl: i32,
    /// Whether it writes a non-frozen list: a retry of it must use a
    /// later timestamp, or the list would get the elements twice.
    pub has_list: bool,
}

/// A group of writes on its way to the target: built into one request on
/// the first attempt ([`TableWriter::write`]), sent again as it is on a
/// retry.
///
/// ```
/// let request = ferry_copier::writer::WriteRequest::new(Default::default());
/// assert_eq!(request.statements(), 0);
/// ```
#[derive(Debug)]
pub struct WriteRequest {
    /// Writes not yet in `batch` (all of them until the first attempt).
    pending: Vec<PendingWrite>,
    /// The request: one entry is sent as a lone statement.
    batch: Batch,
    /// Entries writing a non-frozen list, with their timestamp before any
    /// retry bump.
    lists: Vec<(usize, i64)>,
    token: Option<Token>,
    statements: usize,
}

impl WriteRequest {
    /// The request of `group`.
    pub fn new(group: WriteGroup) -> Self {
        Self {
            statements: group.writes.len(),
            pending: group.writes,
            batch: Batch::new(BatchType::Unlogged),
            lists: Vec::new(),
            token: group.token,
        }
    }

    /// Number of statements.
    pub fn statements(&self) -> usize {
        self.statements
    }

    /// Whether a statement writes a non-frozen list (a retry must then use
    /// a later timestamp).
    pub fn has_list(&self) -> bool {
        !self.lists.is_empty() || self.pending.iter().any(|(op, _)| op.has_list)
    }
}

/// Statement cache key: kind and columns.
type StatementKey = (bool, ColumnSet);

/// A set of non-key columns, as the cache key of its INSERT: a bit mask
/// for the first 128 columns (no allocation per lookup), a list beyond.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum ColumnSet {
    Mask(u128),
    List(Vec<usize>),
}

impl ColumnSet {
    /// `columns` must be in ascending order (as [`TableWriter::ops`] and
    /// the UNSET statements list them), so the mask names one list.
    fn of(columns: &[usize]) -> Self {
        if columns.iter().all(|&c| c < 128) {
            Self::Mask(columns.iter().fold(0, |m, &c| m | 1u128 << c))
        } else {
            Self::List(columns.to_vec())
        }
    }
}

/// Copies the rows of one table: the scan statement and the INSERTs.
///
/// ```
/// use bytes::Bytes;
/// use ferry_copier::schema::{ColumnDef, ColumnKind, CqlType, NativeType, TableSchema};
/// use ferry_copier::writer::{NullHandling, TableWriter};
/// let int = CqlType::Native(NativeType::Int);
/// let schema = TableSchema::new("ks", "t", vec![
///     ColumnDef { name: "k".into(), kind: ColumnKind::PartitionKey, ty: int.clone() },
///     ColumnDef { name: "a".into(), kind: ColumnKind::Regular, ty: int.clone() },
///     ColumnDef { name: "b".into(), kind: ColumnKind::Regular, ty: int },
/// ]);
/// let writer = TableWriter::new(schema, false, NullHandling::Omit);
/// assert_eq!(
///     writer.select_cql(),
///     r#"SELECT "k", "a", "b", TTL("a"), TTL("b") FROM "ks"."t" WHERE token("k") > ? AND token("k") <= ?"#
/// );
/// // k = 1, a = 2, b = null, no TTLs: one INSERT of k and a.
/// let int = |v: i32| Some(Bytes::copy_from_slice(&v.to_be_bytes()));
/// let ops = writer.ops(&[int(1), int(2), None, None, None], true, 1_700_000_000_000_000, 0);
/// assert_eq!(ops.len(), 1);
/// assert_eq!((ops[0].columns.as_slice(), ops[0].timestamp, ops[0].ttl), (&[0][..], 1_700_000_000_000_000, 0));
/// ```
#[derive(Debug)]
pub struct TableWriter {
    schema: TableSchema,
    columns: Vec<CopyColumn>,
    selected: usize,
    pk_len: usize,
    key_len: usize,
    preserve_writetime: bool,
    nulls: NullHandling,
    statements: Mutex<HashMap<StatementKey, PreparedStatement>>,
    /// Where INSERTs go when the target table or columns are renamed.
    target: Option<TargetNames>,
}

/// The target keyspace, table and column names of a renamed copy.
#[derive(Debug, Clone)]
struct TargetNames {
    keyspace: String,
    table: String,
    /// Source column name → target name (absent: same name).
    columns: HashMap<String, String>,
}

impl TableWriter {
    /// A writer for `schema` (which must have no counter column).
    pub fn new(schema: TableSchema, preserve_writetime: bool, nulls: NullHandling) -> Self {
        Self::build(schema, preserve_writetime, nulls, preserve_writetime)
    }

    /// Like [`TableWriter::new`], but the scan also selects `WRITETIME(c)`
    /// of every single-cell column even when writetimes are not preserved,
    /// so that [`TableWriter::newest_writetime`] can filter rows.
    pub fn new_selecting_writetimes(
        schema: TableSchema,
        preserve_writetime: bool,
        nulls: NullHandling,
    ) -> Self {
        Self::build(schema, preserve_writetime, nulls, true)
    }

    /// Writes to `keyspace.table` on the target, naming each source column
    /// `c` as `columns[c]` (or `c` when absent) in the INSERTs.
    pub fn with_target(
        mut self,
        keyspace: impl Into<String>,
        table: impl Into<String>,
        columns: HashMap<String, String>,
    ) -> Self {
        self.target = Some(TargetNames {
            keyspace: keyspace.into(),
            table: table.into(),
            columns,
        });
        self
    }

    fn build(
        schema: TableSchema,
        preserve_writetime: bool,
        nulls: NullHandling,
        select_writetimes: bool,
    ) -> Self {
        let pk_len = schema.partition_key.len();
        let key_len = schema.key_len();
        let non_key: Vec<(String, bool, bool, bool)> = schema
            .statics
            .iter()
            .chain(&schema.regulars)
            .map(|c| {
                (
                    c.name.clone(),
                    c.kind == ColumnKind::Static,
                    !c.ty.is_multi_cell(),
                    c.ty.is_multi_cell_list(),
                )
            })
            .collect();
        let mut next = key_len + non_key.len();
        let mut columns: Vec<CopyColumn> = non_key
            .iter()
            .enumerate()
            .map(|(i, (name, is_static, _, is_list))| CopyColumn {
                name: name.clone(),
                is_static: *is_static,
                value: key_len + i,
                ttl: None,
                writetime: None,
                is_list: *is_list,
            })
            .collect();
        for (column, (_, _, single_cell, _)) in columns.iter_mut().zip(&non_key) {
            if *single_cell {
                column.ttl = Some(next);
                next += 1;
            }
        }
        if select_writetimes {
            for (column, (_, _, single_cell, _)) in columns.iter_mut().zip(&non_key) {
                if *single_cell {
                    column.writetime = Some(next);
                    next += 1;
                }
            }
        }
        Self {
            schema,
            columns,
            selected: next,
            pk_len,
            key_len,
            preserve_writetime,
            nulls,
            statements: Mutex::new(HashMap::new()),
            target: None,
        }
    }

    /// The newest `WRITETIME()` among the row's non-null single-cell
    /// columns: regular ones, or static ones for a row that holds only a
    /// partition's static values. `None` if the scan does not select
    /// writetimes or the row has no such cell (only key columns or
    /// non-frozen collections).
    pub fn newest_writetime<C: AsRef<[u8]>>(&self, cells: &[Option<C>]) -> Option<i64> {
        let static_only = self.is_static_only(cells);
        self.columns
            .iter()
            .filter(|c| c.is_static == static_only)
            .filter(|c| cells.get(c.value).is_some_and(Option::is_some))
            .filter_map(|c| cells.get(c.writetime?)?.as_ref())
            .filter_map(|b| <[u8; 8]>::try_from(b.as_ref()).ok())
            .map(i64::from_be_bytes)
            .max()
    }

    /// The table.
    pub fn schema(&self) -> &TableSchema {
        &self.schema
    }

    /// Number of selected cells per scanned row.
    pub fn selected_len(&self) -> usize {
        self.selected
    }

    /// Number of partition key cells (at the start of each row).
    pub fn partition_key_len(&self) -> usize {
        self.pk_len
    }

    /// Number of cells holding values (key and non-key columns), before
    /// the TTL and writetime cells.
    pub fn value_len(&self) -> usize {
        self.key_len + self.columns.len()
    }

    /// The scan statement, `token(pk) > ? AND token(pk) <= ?`.
    pub fn select_cql(&self) -> String {
        let mut selected: Vec<String> = self.schema.columns().map(|c| quote(&c.name)).collect();
        for c in &self.columns {
            if c.ttl.is_some() {
                selected.push(format!("TTL({})", quote(&c.name)));
            }
        }
        for c in &self.columns {
            if c.writetime.is_some() {
                selected.push(format!("WRITETIME({})", quote(&c.name)));
            }
        }
        let key = self
            .schema
            .partition_key
            .iter()
            .map(|c| quote(&c.name))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "SELECT {} FROM {}.{} WHERE token({key}) > ? AND token({key}) <= ?",
            selected.join(", "),
            quote(&self.schema.keyspace),
            quote(&self.schema.table),
        )
    }

    /// The INSERT of `columns` (all non-key columns of the kind when nulls
    /// are UNSET).
    fn insert_cql(&self, is_static: bool, columns: &[usize]) -> String {
        let key = if is_static { self.pk_len } else { self.key_len };
        let name = |n: &str| {
            let renamed = self.target.as_ref().and_then(|t| t.columns.get(n));
            quote(renamed.map_or(n, String::as_str))
        };
        let mut names: Vec<String> = self
            .schema
            .columns()
            .take(key)
            .map(|c| name(&c.name))
            .collect();
        names.extend(columns.iter().map(|&i| name(&self.columns[i].name)));
        let markers = vec!["?"; names.len()].join(", ");
        let (keyspace, table) = match &self.target {
            Some(t) => (&t.keyspace, &t.table),
            None => (&self.schema.keyspace, &self.schema.table),
        };
        format!(
            "INSERT INTO {}.{} ({}) VALUES ({markers}) USING TIMESTAMP ? AND TTL ?",
            quote(keyspace),
            quote(table),
            names.join(", "),
        )
    }

    /// Whether a scanned row (its cells) holds only a partition's static
    /// values (its clustering cells are null).
    pub fn is_static_only<C: AsRef<[u8]>>(&self, cells: &[Option<C>]) -> bool {
        self.key_len > self.pk_len
            && cells
                .get(self.pk_len..self.key_len)
                .is_some_and(|ck| ck.iter().all(Option::is_none))
    }

    /// The writes of one scanned row. `statics` says whether this row is
    /// the first of its partition (static columns are written then).
    /// `job_timestamp` is the default writetime, `list_offset` the redo
    /// offset added to the timestamp of list writes.
    pub fn ops<C: AsRef<[u8]>>(
        &self,
        cells: &[Option<C>],
        statics: bool,
        job_timestamp: i64,
        list_offset: i64,
    ) -> Vec<WriteOp> {
        let mut ops: Vec<WriteOp> = Vec::with_capacity(1);
        let static_only = self.is_static_only(cells);
        let mut row_has_values = false;
        for (index, column) in self.columns.iter().enumerate() {
            if column.is_static && !statics {
                continue;
            }
            if cells.get(column.value).and_then(Option::as_ref).is_none() {
                continue;
            }
            if !column.is_static {
                if static_only {
                    continue;
                }
                row_has_values = true;
            }
            let (timestamp, ttl) = self.time_of(column, cells, job_timestamp, list_offset);
            let is_list = column.is_list;
            match ops.iter_mut().find(|op| {
                op.is_static == column.is_static && op.timestamp == timestamp && op.ttl == ttl
            }) {
                Some(op) => {
                    op.columns.push(index);
                    op.has_list |= is_list;
                }
                None => ops.push(WriteOp {
                    is_static: column.is_static,
                    columns: {
                        let mut columns = Vec::with_capacity(self.columns.len() - index);
                        columns.push(index);
                        columns
                    },
                    timestamp,
                    ttl,
                    has_list: is_list,
                }),
            }
        }
        if !static_only && !row_has_values {
            ops.push(WriteOp {
                is_static: false,
                columns: Vec::new(),
                timestamp: job_timestamp,
                ttl: 0,
                has_list: false,
            });
        }
        ops
    }

    /// The timestamp and TTL a column's cell is written with.
    fn time_of<C: AsRef<[u8]>>(
        &self,
        column: &CopyColumn,
        cells: &[Option<C>],
        job_timestamp: i64,
        list_offset: i64,
    ) -> (i64, i32) {
        let cell = |i: Option<usize>| i.and_then(|i| cells.get(i)).and_then(Option::as_ref);
        let ttl = cell(column.ttl)
            .and_then(|b| <[u8; 4]>::try_from(b.as_ref()).ok())
            .map(i32::from_be_bytes)
            // TTL() is the remaining time in whole seconds: a cell about
            // to expire reads 0, which written back would mean "no TTL".
            .map_or(0, |t| t.max(1));
        let timestamp = if column.is_list {
            job_timestamp.saturating_add(list_offset)
        } else if self.preserve_writetime {
            cell(column.writetime)
                .and_then(|b| <[u8; 8]>::try_from(b.as_ref()).ok())
                .map_or(job_timestamp, i64::from_be_bytes)
        } else {
            job_timestamp
        };
        (timestamp, ttl)
    }

    /// The statement for `op` and its values. Prepares it on first use.
    pub async fn statement(
        &self,
        target: &Session,
        op: &WriteOp,
    ) -> Result<(Option<PreparedStatement>, String), SessionError> {
        let unset_columns = || -> Vec<usize> {
            (0..self.columns.len())
                .filter(|&i| self.columns[i].is_static == op.is_static)
                .collect()
        };
        let key = match self.nulls {
            NullHandling::Omit => (op.is_static, ColumnSet::of(&op.columns)),
            // One statement per kind: the key needs no columns.
            NullHandling::Unset => (op.is_static, ColumnSet::Mask(0)),
        };
        if let Some(s) = self.lock().get(&key) {
            return Ok((Some(s.clone()), String::new()));
        }
        let cql = match self.nulls {
            NullHandling::Omit => self.insert_cql(op.is_static, &op.columns),
            NullHandling::Unset => self.insert_cql(op.is_static, &unset_columns()),
        };
        if self.lock().len() >= MAX_PREPARED {
            return Ok((None, cql));
        }
        let prepared = target.prepare(&cql).await?;
        self.lock().insert(key, prepared.clone());
        Ok((Some(prepared), cql))
    }

    /// Runs a group of writes on the target: one statement alone, several
    /// as an UNLOGGED batch (see [`crate::batch`]), routed by the group's
    /// token (or, without one, by the first statement's key). `list_bump`
    /// is added to the timestamp of writes with a list (retries, see
    /// [`WriteOp::has_list`]). The request is built once and kept in
    /// `request`, so a retry sends it again without rebuilding it.
    pub async fn write(
        &self,
        target: &Session,
        request: &mut WriteRequest,
        list_bump: i64,
        options: QueryOptions,
    ) -> Result<(), SessionError> {
        let options = match request.token {
            Some(token) => options.with_routing_token(token),
            None => options,
        };
        if request.batch.is_empty() {
            // Statements first (the only step that can fail before
            // sending): the values move into the batch only once all are
            // known, so a failed prepare loses nothing.
            let mut statements = Vec::with_capacity(request.pending.len());
            for (op, _) in &request.pending {
                statements.push(self.statement(target, op).await?);
            }
            for (index, ((op, values), (statement, cql))) in
                request.pending.drain(..).zip(statements).enumerate()
            {
                if op.has_list {
                    request.lists.push((index, op.timestamp));
                }
                let values = Values::Serialized(values);
                match statement {
                    Some(s) => request.batch.add_prepared(&s, values),
                    None => request.batch.add_query(cql, values),
                };
            }
        }
        // A retry writes its lists one microsecond later or more.
        for &(index, timestamp) in request.lists.iter().filter(|_| list_bump != 0) {
            if let Some(BatchEntry::Prepared { values, .. } | BatchEntry::Query { values, .. }) =
                request.batch.entries.get_mut(index)
            {
                if let Values::Serialized(v) = values {
                    *v = with_timestamp(v, timestamp.saturating_add(list_bump));
                }
            }
        }
        match request.batch.entries.as_slice() {
            [BatchEntry::Prepared { statement, values }] => {
                target.execute(statement, values.clone(), options).await?;
            }
            [BatchEntry::Query { cql, values }] => {
                target.query(cql, values.clone(), options).await?;
            }
            _ => {
                target.batch(&request.batch, options).await?;
            }
        }
        Ok(())
    }

    /// The bound values of `op` laid out for the wire: key, columns,
    /// timestamp, TTL, copied straight from the scanned cells (what a
    /// write sends; the same values as [`TableWriter::values`]).
    pub fn serialized_values<C: AsRef<[u8]>>(
        &self,
        op: &WriteOp,
        cells: &[Option<C>],
    ) -> SerializedValues {
        let key = if op.is_static {
            self.pk_len
        } else {
            self.key_len
        };
        let cell = |i: usize| cells.get(i).and_then(Option::as_ref).map(AsRef::as_ref);
        let mut size = 24;
        for i in 0..key {
            size += 4 + cell(i).map_or(0, <[u8]>::len);
        }
        for &c in &op.columns {
            size += 4 + self
                .columns
                .get(c)
                .and_then(|c| cell(c.value))
                .map_or(0, <[u8]>::len);
        }
        let mut out = SerializedValues::with_capacity(size);
        // A cell longer than 2 GiB cannot have come from a [bytes] cell,
        // and a statement has far fewer than 65,535 values: pushes cannot fail.
        for i in 0..key {
            let _ = out.push_cell(cell(i));
        }
        match self.nulls {
            NullHandling::Omit => {
                for &c in &op.columns {
                    let _ = out.push_cell(self.columns.get(c).and_then(|c| cell(c.value)));
                }
            }
            NullHandling::Unset => {
                for (i, column) in self.columns.iter().enumerate() {
                    if column.is_static != op.is_static {
                        continue;
                    }
                    let _ = if op.columns.binary_search(&i).is_ok() {
                        out.push_cell(cell(column.value))
                    } else {
                        out.push(&RawValue::Unset)
                    };
                }
            }
        }
        let _ = out.push_cell(Some(&op.timestamp.to_be_bytes()));
        let _ = out.push_cell(Some(&op.ttl.to_be_bytes()));
        out
    }

    /// The bound values of `op`: key, columns, timestamp, TTL.
    pub fn values(&self, op: &WriteOp, cells: &[Option<Bytes>]) -> Values {
        let key = if op.is_static {
            self.pk_len
        } else {
            self.key_len
        };
        let mut values: Vec<RawValue> = Vec::with_capacity(key + self.columns.len() + 2);
        values.extend((0..key).map(|i| cell(cells, i)));
        match self.nulls {
            NullHandling::Omit => {
                values.extend(
                    op.columns
                        .iter()
                        .map(|&i| cell(cells, self.columns.get(i).map_or(usize::MAX, |c| c.value))),
                );
            }
            NullHandling::Unset => {
                for (i, column) in self.columns.iter().enumerate() {
                    if column.is_static != op.is_static {
                        continue;
                    }
                    values.push(if op.columns.contains(&i) {
                        cell(cells, column.value)
                    } else {
                        RawValue::Unset
                    });
                }
            }
        }
        values.push(RawValue::Bytes(Bytes::copy_from_slice(
            &op.timestamp.to_be_bytes(),
        )));
        values.push(RawValue::Bytes(Bytes::copy_from_slice(
            &op.ttl.to_be_bytes(),
        )));
        Values::Raw(values)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<StatementKey, PreparedStatement>> {
        self.statements.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// `values` (as [`TableWriter::serialized_values`] lays them out) with
/// their timestamp, the next to last value, replaced by `timestamp`.
fn with_timestamp(values: &SerializedValues, timestamp: i64) -> SerializedValues {
    let mut raw = values.to_raw_values();
    if let Some(at) = raw.len().checked_sub(2) {
        raw[at] = RawValue::Bytes(Bytes::copy_from_slice(&timestamp.to_be_bytes()));
    }
    SerializedValues::from(raw.as_slice())
}

/// Cell `index` of a row as a bound value (null if absent).
fn cell(cells: &[Option<Bytes>], index: usize) -> RawValue {
    cells.get(index).map_or(RawValue::Null, raw)
}

fn raw(cell: &Option<Bytes>) -> RawValue {
    match cell {
        Some(b) => RawValue::Bytes(b.clone()),
        None => RawValue::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{ColumnDef, CqlType, NativeType};

    fn col(name: &str, kind: ColumnKind, ty: CqlType) -> ColumnDef {
        ColumnDef {
            name: name.into(),
            kind,
            ty,
        }
    }

    fn int() -> CqlType {
        CqlType::Native(NativeType::Int)
    }

    fn list() -> CqlType {
        CqlType::List {
            element: Box::new(int()),
            frozen: false,
        }
    }

    /// k | c | s (static) | a, b, l (list)
    fn schema() -> TableSchema {
        TableSchema::new(
            "ks",
            "T",
            vec![
                col("k", ColumnKind::PartitionKey, int()),
                col("c", ColumnKind::Clustering { descending: false }, int()),
                col("s", ColumnKind::Static, int()),
                col("a", ColumnKind::Regular, int()),
                col("b", ColumnKind::Regular, int()),
                col("l", ColumnKind::Regular, list()),
            ],
        )
    }

    fn b(v: i64) -> Option<Bytes> {
        Some(Bytes::copy_from_slice(&v.to_be_bytes()))
    }

    fn ttl(v: i32) -> Option<Bytes> {
        Some(Bytes::copy_from_slice(&v.to_be_bytes()))
    }

    const T: i64 = 1_000_000;

    #[test]
    fn select_lists_values_then_ttls_then_writetimes() {
        let w = TableWriter::new(schema(), true, NullHandling::Omit);
        assert_eq!(
            w.select_cql(),
            r#"SELECT "k", "c", "s", "a", "b", "l", TTL("s"), TTL("a"), TTL("b"), WRITETIME("s"), WRITETIME("a"), WRITETIME("b") FROM "ks"."T" WHERE token("k") > ? AND token("k") <= ?"#
        );
        assert_eq!(w.selected_len(), 12);
        let w = TableWriter::new(schema(), false, NullHandling::Omit);
        assert_eq!(w.selected_len(), 9);
        assert_eq!(
            w.insert_cql(false, &[1, 3]),
            r#"INSERT INTO "ks"."T" ("k", "c", "a", "l") VALUES (?, ?, ?, ?) USING TIMESTAMP ? AND TTL ?"#
        );
        assert_eq!(
            w.insert_cql(true, &[0]),
            r#"INSERT INTO "ks"."T" ("k", "s") VALUES (?, ?) USING TIMESTAMP ? AND TTL ?"#
        );
    }

    #[test]
    fn backdated_rows_group_by_ttl_and_skip_nulls() {
        let w = TableWriter::new(schema(), false, NullHandling::Omit);
        // k c s a b l | ttl(s) ttl(a) ttl(b)
        let cells = vec![b(1), b(2), b(3), b(4), None, b(9), None, ttl(60), None];
        let ops = w.ops(&cells, true, T, 0);
        assert_eq!(
            ops,
            vec![
                WriteOp {
                    is_static: true,
                    columns: vec![0],
                    timestamp: T,
                    ttl: 0,
                    has_list: false
                },
                WriteOp {
                    is_static: false,
                    columns: vec![1],
                    timestamp: T,
                    ttl: 60,
                    has_list: false
                },
                WriteOp {
                    is_static: false,
                    columns: vec![3],
                    timestamp: T,
                    ttl: 0,
                    has_list: true
                },
            ]
        );
        // Not the partition's first row: no static write.
        assert_eq!(w.ops(&cells, false, T, 0).len(), 2);
        // The list is written later on a redo.
        let redo = w.ops(&cells, false, T, 5);
        assert_eq!(
            redo[1],
            WriteOp {
                is_static: false,
                columns: vec![3],
                timestamp: T + 5,
                ttl: 0,
                has_list: true
            }
        );
    }

    #[test]
    fn static_only_partitions_and_key_only_rows() {
        let w = TableWriter::new(schema(), false, NullHandling::Omit);
        let static_only = vec![b(1), None, b(3), None, None, None, None, None, None];
        assert!(w.is_static_only(&static_only));
        assert_eq!(
            w.ops(&static_only, true, T, 0),
            vec![WriteOp {
                is_static: true,
                columns: vec![0],
                timestamp: T,
                ttl: 0,
                has_list: false
            }]
        );
        let key_only = vec![b(1), b(2), None, None, None, None, None, None, None];
        assert_eq!(
            w.ops(&key_only, true, T, 0),
            vec![WriteOp {
                is_static: false,
                columns: vec![],
                timestamp: T,
                ttl: 0,
                has_list: false
            }]
        );
    }

    #[test]
    fn preserved_writetimes_group_cells_and_ignore_those_of_nulls() {
        let w = TableWriter::new(schema(), true, NullHandling::Omit);
        // k c s a b l | ttl(s,a,b) | wt(s,a,b)
        let cells = vec![
            b(1),
            b(2),
            b(3),
            b(4),
            b(5),
            None,
            None,
            ttl(0),
            None,
            b(77),
            b(500),
            b(500),
        ];
        let ops = w.ops(&cells, true, T, 0);
        assert_eq!(
            ops,
            vec![
                WriteOp {
                    is_static: true,
                    columns: vec![0],
                    timestamp: 77,
                    ttl: 0,
                    has_list: false
                },
                // TTL() read as 0 (about to expire) is written as 1, not "none".
                WriteOp {
                    is_static: false,
                    columns: vec![1],
                    timestamp: 500,
                    ttl: 1,
                    has_list: false
                },
                WriteOp {
                    is_static: false,
                    columns: vec![2],
                    timestamp: 500,
                    ttl: 0,
                    has_list: false
                },
            ]
        );
        // A null cell's WRITETIME() (2.1.0 can report a stale one) is not used.
        let mut nulls = cells.clone();
        nulls[3] = None;
        nulls[4] = None;
        let ops = w.ops(&nulls, false, T, 0);
        assert_eq!(
            ops,
            vec![WriteOp {
                is_static: false,
                columns: vec![],
                timestamp: T,
                ttl: 0,
                has_list: false
            }]
        );
    }

    #[test]
    fn renamed_targets_and_newest_writetimes() {
        let renames = HashMap::from([("a".to_owned(), "alpha".to_owned())]);
        let w = TableWriter::new_selecting_writetimes(schema(), false, NullHandling::Omit)
            .with_target("ks2", "T2", renames);
        assert_eq!(
            w.insert_cql(false, &[1, 2]),
            r#"INSERT INTO "ks2"."T2" ("k", "c", "alpha", "b") VALUES (?, ?, ?, ?) USING TIMESTAMP ? AND TTL ?"#
        );
        assert!(w.select_cql().contains(r#"WRITETIME("a")"#));
        // k c s a b l | ttl(s,a,b) | wt(s,a,b)
        let mut cells = vec![b(1), b(2), b(3), b(4), None, None, None, None, None];
        cells.extend([b(900), b(500), b(700)]);
        // b is null: its writetime is ignored; the static's is not the row's.
        assert_eq!(w.newest_writetime(&cells), Some(500));
        // Backdated: the writetimes are read, not used.
        assert_eq!(w.ops(&cells, false, T, 0)[0].timestamp, T);
        cells[3] = None;
        assert_eq!(w.newest_writetime(&cells), None);
        cells[1] = None; // static-only: the static's writetime
        assert_eq!(w.newest_writetime(&cells), Some(900));
    }

    #[test]
    fn serialized_values_are_the_bound_values_laid_out() {
        let cells = vec![b(1), b(2), b(3), b(4), None, b(9), None, None, None];
        let raw_cells: Vec<Option<&[u8]>> = cells.iter().map(|c| c.as_deref()).collect();
        for nulls in [NullHandling::Omit, NullHandling::Unset] {
            let w = TableWriter::new(schema(), false, nulls);
            for op in w.ops(&cells, true, T, 3) {
                let Values::Raw(want) = w.values(&op, &cells) else {
                    panic!()
                };
                // From Bytes cells and from cells read in place alike.
                assert_eq!(w.serialized_values(&op, &cells).to_raw_values(), want);
                assert_eq!(w.serialized_values(&op, &raw_cells).to_raw_values(), want);
            }
        }
        let w = TableWriter::new(schema(), false, NullHandling::Omit);
        let op = &w.ops(&cells, false, T, 0)[0];
        let moved = with_timestamp(&w.serialized_values(op, &cells), T + 7).to_raw_values();
        let mut want = w.serialized_values(op, &cells).to_raw_values();
        let at = want.len() - 2;
        want[at] = RawValue::Bytes(Bytes::copy_from_slice(&(T + 7).to_be_bytes()));
        assert_eq!(moved, want, "only the timestamp changes");
    }

    #[test]
    fn statement_keys_name_one_column_list() {
        assert_eq!(ColumnSet::of(&[0, 2]), ColumnSet::Mask(0b101));
        assert_ne!(ColumnSet::of(&[0, 2]), ColumnSet::of(&[2]));
        assert_eq!(ColumnSet::of(&[]), ColumnSet::Mask(0));
        assert_eq!(ColumnSet::of(&[1, 200]), ColumnSet::List(vec![1, 200]));
    }

    #[test]
    fn values_omit_or_unset_nulls() {
        let cells = vec![b(1), b(2), b(3), b(4), None, b(9), None, None, None];
        let op = WriteOp {
            is_static: false,
            columns: vec![1, 3],
            timestamp: T,
            ttl: 7,
            has_list: false,
        };
        let omit = TableWriter::new(schema(), false, NullHandling::Omit);
        let Values::Raw(v) = omit.values(&op, &cells) else {
            panic!()
        };
        assert_eq!(v.len(), 2 + 2 + 2);
        assert_eq!(
            v[4],
            RawValue::Bytes(Bytes::copy_from_slice(&T.to_be_bytes()))
        );
        assert_eq!(
            v[5],
            RawValue::Bytes(Bytes::copy_from_slice(&7i32.to_be_bytes()))
        );
        let unset = TableWriter::new(schema(), false, NullHandling::Unset);
        let Values::Raw(v) = unset.values(&op, &cells) else {
            panic!()
        };
        // k c a b l ts ttl: b is UNSET.
        assert_eq!(v.len(), 7);
        assert_eq!(v[3], RawValue::Unset);
        assert_eq!(v[2], raw(&b(4)));
    }
}
