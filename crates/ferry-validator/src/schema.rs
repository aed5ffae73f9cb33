//! What the validator needs to know of a table: its columns by role
//! (partition key, clustering, static, regular), their types, and which of
//! them hold a single cell (so `WRITETIME()`/`TTL()` can be read).
//!
//! Roles and positions come from the schema tables (`system_schema.columns`
//! on Cassandra 3.0+, `system.schema_columns` before); types come from the
//! metadata of a prepared `SELECT *`, so they are exactly what the cells are
//! decoded with.
//!
//! The bulk copier (crates/ferry-copier) reads schemas too; the two should
//! be unified once both exist.

use ferry_conn::session::{QueryOptions, Row, Session};
use ferry_wire::response::ErrorCode;
use ferry_wire::types::{ColumnType, CqlValue};
use ferry_wire::Consistency;
use futures::TryStreamExt;

use crate::error::{Side, ValidateError};

/// The role of a column in its table.
///
/// ```
/// use ferry_validator::ColumnKind;
/// assert!(ColumnKind::PartitionKey.is_primary_key());
/// assert!(!ColumnKind::Static.is_primary_key());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnKind {
    /// Part of the partition key.
    PartitionKey,
    /// A clustering column.
    Clustering,
    /// A static column (one value per partition).
    Static,
    /// A regular column.
    Regular,
}

impl ColumnKind {
    /// Whether the column is part of the primary key.
    pub fn is_primary_key(self) -> bool {
        matches!(self, ColumnKind::PartitionKey | ColumnKind::Clustering)
    }
}

/// One column of a table.
///
/// ```
/// use ferry_validator::{ColumnDef, ColumnKind};
/// use ferry_wire::types::ColumnType;
/// let c = ColumnDef {
///     name: "tags".into(),
///     column_type: ColumnType::Set(Box::new(ColumnType::Varchar)),
///     kind: ColumnKind::Regular,
///     multi_cell: true,
/// };
/// assert!(!c.has_cell_metadata(), "no WRITETIME() on a non-frozen collection");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDef {
    /// The name, as the schema stores it (case-sensitive).
    pub name: String,
    /// Its type.
    pub column_type: ColumnType,
    /// Its role.
    pub kind: ColumnKind,
    /// Whether its value is stored as several cells (a non-frozen
    /// collection or UDT), whose `WRITETIME()`/`TTL()` cannot be read as one
    /// value.
    pub multi_cell: bool,
}

impl ColumnDef {
    /// Whether `WRITETIME(col)` and `TTL(col)` can be selected: a single-cell
    /// value column that is not a counter.
    pub fn has_cell_metadata(&self) -> bool {
        !self.kind.is_primary_key()
            && !self.multi_cell
            && !matches!(self.column_type, ColumnType::Counter)
    }
}

/// A table's columns by role.
///
/// ```
/// use ferry_validator::{ColumnDef, ColumnKind, TableSchema};
/// use ferry_wire::types::ColumnType;
/// let col = |name: &str, kind| ColumnDef {
///     name: name.into(), column_type: ColumnType::Int, kind, multi_cell: false,
/// };
/// let t = TableSchema {
///     keyspace: "shop".into(),
///     table: "orders".into(),
///     partition_key: vec![col("id", ColumnKind::PartitionKey)],
///     clustering: vec![col("line", ColumnKind::Clustering)],
///     statics: vec![],
///     regular: vec![col("qty", ColumnKind::Regular)],
/// };
/// assert_eq!(t.qualified_name(), "\"shop\".\"orders\"");
/// assert!(!t.is_counter_table());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSchema {
    /// The keyspace.
    pub keyspace: String,
    /// The table.
    pub table: String,
    /// Partition key columns, in key order.
    pub partition_key: Vec<ColumnDef>,
    /// Clustering columns, in clustering order.
    pub clustering: Vec<ColumnDef>,
    /// Static columns, by name.
    pub statics: Vec<ColumnDef>,
    /// Regular columns, by name.
    pub regular: Vec<ColumnDef>,
}

impl TableSchema {
    /// `"keyspace"."table"`, quoted for CQL.
    pub fn qualified_name(&self) -> String {
        format!(
            "{}.{}",
            quote_identifier(&self.keyspace),
            quote_identifier(&self.table)
        )
    }

    /// Whether the table holds counters (which can be compared but not
    /// repaired: a counter cannot be written with a timestamp).
    pub fn is_counter_table(&self) -> bool {
        self.value_columns()
            .any(|c| matches!(c.column_type, ColumnType::Counter))
    }

    /// Static then regular columns.
    pub fn value_columns(&self) -> impl Iterator<Item = &ColumnDef> {
        self.statics.iter().chain(&self.regular)
    }

    /// Partition key then clustering columns.
    pub fn primary_key(&self) -> impl Iterator<Item = &ColumnDef> {
        self.partition_key.iter().chain(&self.clustering)
    }
}

/// `name` as a quoted CQL identifier (taken literally, case-sensitive).
///
/// ```
/// assert_eq!(ferry_validator::schema::quote_identifier(r#"a"b"#), r#""a""b""#);
/// ```
pub fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Which generation of schema tables a cluster has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// `system_schema.*` (Cassandra 3.0+).
    Modern,
    /// `system.schema_*` (Cassandra 2.x).
    Legacy,
}

impl Layout {
    fn guess(session: &Session) -> Layout {
        let release = session
            .nodes()
            .first()
            .and_then(|n| n.release_version.clone())
            .unwrap_or_default();
        if release.starts_with("1.") || release.starts_with("2.") {
            Layout::Legacy
        } else {
            Layout::Modern
        }
    }

    fn other(self) -> Layout {
        match self {
            Layout::Modern => Layout::Legacy,
            Layout::Legacy => Layout::Modern,
        }
    }

    fn columns_query(self) -> &'static str {
        match self {
            Layout::Modern => {
                "SELECT column_name, kind, position, type FROM system_schema.columns \
                 WHERE keyspace_name = ? AND table_name = ?"
            }
            Layout::Legacy => {
                "SELECT column_name, type, component_index, validator FROM system.schema_columns \
                 WHERE keyspace_name = ? AND columnfamily_name = ?"
            }
        }
    }

    fn tables_query(self) -> &'static str {
        match self {
            Layout::Modern => "SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?",
            Layout::Legacy => {
                "SELECT columnfamily_name FROM system.schema_columnfamilies WHERE keyspace_name = ?"
            }
        }
    }
}

/// Rows of a schema query, trying the other layout when the guessed one's
/// tables do not exist.
async fn schema_rows(
    session: &Session,
    side: Side,
    query: fn(Layout) -> &'static str,
    names: &[&str],
) -> Result<(Layout, Vec<Row>), ValidateError> {
    let first = Layout::guess(session);
    let run = |layout: Layout| {
        let values: Vec<CqlValue> = names
            .iter()
            .map(|n| CqlValue::from((*n).to_owned()))
            .collect();
        let options = QueryOptions::new()
            .with_consistency(Consistency::One)
            .idempotent(true);
        session
            .query_stream(query(layout), values, options)
            .try_collect::<Vec<Row>>()
    };
    match run(first).await {
        Ok(rows) => Ok((first, rows)),
        Err(e) if e.server_code() == Some(ErrorCode::INVALID) => {
            let other = first.other();
            let rows = run(other)
                .await
                .map_err(|e| ValidateError::session(side, e))?;
            Ok((other, rows))
        }
        Err(e) => Err(ValidateError::session(side, e)),
    }
}

fn text<'r>(row: &'r Row, column: &str) -> Option<&'r str> {
    row.by_name(column).and_then(CqlValue::as_text)
}

fn int(row: &Row, column: &str) -> Option<i64> {
    row.by_name(column).and_then(CqlValue::as_i64)
}

/// The tables of `keyspace`, sorted by name.
pub async fn list_tables(
    session: &Session,
    side: Side,
    keyspace: &str,
) -> Result<Vec<String>, ValidateError> {
    let (layout, rows) = schema_rows(session, side, Layout::tables_query, &[keyspace]).await?;
    let column = match layout {
        Layout::Modern => "table_name",
        Layout::Legacy => "columnfamily_name",
    };
    let mut tables: Vec<String> = rows
        .iter()
        .filter_map(|r| text(r, column).map(str::to_owned))
        .collect();
    tables.sort();
    tables.dedup();
    Ok(tables)
}

/// One column as the schema tables describe it.
struct SchemaColumn {
    name: String,
    kind: ColumnKind,
    position: i64,
    frozen: bool,
}

fn parse_column(layout: Layout, row: &Row) -> Option<SchemaColumn> {
    let name = text(row, "column_name")?.to_owned();
    match layout {
        Layout::Modern => {
            let kind = match text(row, "kind")? {
                "partition_key" => ColumnKind::PartitionKey,
                "clustering" => ColumnKind::Clustering,
                "static" => ColumnKind::Static,
                _ => ColumnKind::Regular,
            };
            let type_text = text(row, "type").unwrap_or_default();
            Some(SchemaColumn {
                name,
                kind,
                position: int(row, "position").unwrap_or(0),
                frozen: type_text.starts_with("frozen<"),
            })
        }
        Layout::Legacy => {
            let kind = match text(row, "type")? {
                "partition_key" => ColumnKind::PartitionKey,
                "clustering_key" => ColumnKind::Clustering,
                "static" => ColumnKind::Static,
                // "regular", "compact_value".
                _ => ColumnKind::Regular,
            };
            let validator = text(row, "validator").unwrap_or_default();
            Some(SchemaColumn {
                name,
                kind,
                // A single-column partition key has no component index.
                position: int(row, "component_index").unwrap_or(0),
                frozen: validator.starts_with("org.apache.cassandra.db.marshal.FrozenType("),
            })
        }
    }
}

/// Whether a value of `ty` in a column whose schema type is (not) frozen is
/// stored as several cells.
fn is_multi_cell(layout: Layout, ty: &ColumnType, frozen: bool) -> bool {
    match ty {
        ColumnType::List(_) | ColumnType::Set(_) | ColumnType::Map(..) => !frozen,
        // Cassandra 2.x only has frozen UDTs and tuples; 3.6+ may have
        // non-frozen UDTs, whose schema type then lacks `frozen<`.
        ColumnType::Udt { .. } => layout == Layout::Modern && !frozen,
        _ => false,
    }
}

/// Reads the schema of `keyspace.table` from `session`.
pub async fn read_table_schema(
    session: &Session,
    side: Side,
    keyspace: &str,
    table: &str,
) -> Result<TableSchema, ValidateError> {
    let (layout, rows) =
        schema_rows(session, side, Layout::columns_query, &[keyspace, table]).await?;
    let columns: Vec<SchemaColumn> = rows
        .iter()
        .filter_map(|r| parse_column(layout, r))
        .collect();
    if columns.is_empty() {
        return Err(ValidateError::Schema(format!(
            "table {keyspace}.{table} does not exist on the {side}"
        )));
    }
    let select = format!(
        "SELECT * FROM {}.{}",
        quote_identifier(keyspace),
        quote_identifier(table)
    );
    let prepared = session
        .prepare(&select)
        .await
        .map_err(|e| ValidateError::session(side, e))?;
    let specs = prepared.result_columns().ok_or_else(|| {
        ValidateError::Schema(format!(
            "the {side} did not describe the columns of {keyspace}.{table}"
        ))
    })?;
    let mut schema = TableSchema {
        keyspace: keyspace.to_owned(),
        table: table.to_owned(),
        partition_key: Vec::new(),
        clustering: Vec::new(),
        statics: Vec::new(),
        regular: Vec::new(),
    };
    let mut keyed: Vec<(i64, ColumnDef)> = Vec::new();
    for column in columns {
        // Compact tables may list an unnamed value column that `SELECT *`
        // does not return; only selectable columns can be compared.
        let Some(spec) = specs.iter().find(|s| s.name == column.name) else {
            continue;
        };
        let def = ColumnDef {
            multi_cell: is_multi_cell(layout, &spec.column_type, column.frozen),
            name: column.name,
            column_type: spec.column_type.clone(),
            kind: column.kind,
        };
        keyed.push((column.position, def));
    }
    keyed.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.name.cmp(&b.1.name)));
    for (_, def) in keyed {
        match def.kind {
            ColumnKind::PartitionKey => schema.partition_key.push(def),
            ColumnKind::Clustering => schema.clustering.push(def),
            ColumnKind::Static => schema.statics.push(def),
            ColumnKind::Regular => schema.regular.push(def),
        }
    }
    schema.statics.sort_by(|a, b| a.name.cmp(&b.name));
    schema.regular.sort_by(|a, b| a.name.cmp(&b.name));
    if schema.partition_key.is_empty() {
        return Err(ValidateError::Schema(format!(
            "{keyspace}.{table} on the {side} has no partition key columns"
        )));
    }
    Ok(schema)
}

/// The schema both clusters share, and notes on what they do not share.
///
/// The primary keys must be identical (names, types, order): otherwise rows
/// cannot be matched and this is an error. Value columns present on only one
/// side, or with different types, are left out of the comparison and noted.
pub fn common_schema(
    source: &TableSchema,
    target: &TableSchema,
) -> Result<(TableSchema, Vec<String>), ValidateError> {
    let key = |s: &TableSchema| -> Vec<(String, ColumnType)> {
        s.primary_key()
            .map(|c| (c.name.clone(), c.column_type.clone()))
            .collect()
    };
    if key(source) != key(target) || source.partition_key.len() != target.partition_key.len() {
        return Err(ValidateError::Schema(format!(
            "{}.{}: the primary keys differ (source {:?}, target {:?})",
            source.keyspace,
            source.table,
            key(source),
            key(target)
        )));
    }
    let mut notes = Vec::new();
    let mut common = source.clone();
    let keep = |columns: &[ColumnDef], notes: &mut Vec<String>| -> Vec<ColumnDef> {
        columns
            .iter()
            .filter(|c| {
                match target.value_columns().find(|t| t.name == c.name) {
                    None => {
                        notes.push(format!("column {} exists only on the source: not compared", c.name));
                        false
                    }
                    Some(t) if t.column_type != c.column_type || t.kind != c.kind => {
                        notes.push(format!(
                            "column {} has type {:?} on the source but {:?} on the target: not compared",
                            c.name, c.column_type, t.column_type
                        ));
                        false
                    }
                    Some(_) => true,
                }
            })
            .cloned()
            .collect()
    };
    common.statics = keep(&source.statics, &mut notes);
    common.regular = keep(&source.regular, &mut notes);
    for t in target.value_columns() {
        if !source.value_columns().any(|s| s.name == t.name) {
            notes.push(format!(
                "column {} exists only on the target: not compared",
                t.name
            ));
        }
    }
    Ok((common, notes))
}
