//! A table's columns: partition key, clustering, static and regular, with
//! their types.

use super::CqlType;

/// What a column is in its table.
///
/// ```
/// use ferry_conn::schema::ColumnKind;
/// assert!(ColumnKind::Clustering { descending: true }.is_key());
/// assert_eq!(ColumnKind::Static.describe(), "static");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnKind {
    /// Part of the partition key.
    PartitionKey,
    /// A clustering column; `descending` for `CLUSTERING ORDER BY (c DESC)`.
    Clustering {
        /// Whether it sorts in descending order.
        descending: bool,
    },
    /// A static column (one value per partition).
    Static,
    /// A regular column.
    Regular,
}

impl ColumnKind {
    /// Whether the column is part of the primary key.
    pub fn is_key(self) -> bool {
        matches!(self, Self::PartitionKey | Self::Clustering { .. })
    }

    /// A short name for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Self::PartitionKey => "partition key",
            Self::Clustering { .. } => "clustering",
            Self::Static => "static",
            Self::Regular => "regular",
        }
    }
}

/// One column.
///
/// ```
/// use ferry_conn::schema::{ColumnDef, ColumnKind, CqlType, NativeType};
/// let c = ColumnDef { name: "Total".into(), kind: ColumnKind::Regular, ty: CqlType::Native(NativeType::Decimal) };
/// assert_eq!(c.ty.to_string(), "decimal");
/// assert!(c.has_cell_metadata());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDef {
    /// The name as the schema stores it (case-sensitive).
    pub name: String,
    /// Its role.
    pub kind: ColumnKind,
    /// Its type.
    pub ty: CqlType,
}

impl ColumnDef {
    /// Whether `WRITETIME(col)` and `TTL(col)` can be selected: a value
    /// column stored as one cell (not a key column, not a non-frozen
    /// collection or UDT, whose cells each have their own) and not a
    /// counter (which has no client timestamp).
    pub fn has_cell_metadata(&self) -> bool {
        !self.kind.is_key() && !self.ty.is_multi_cell() && !self.ty.is_counter()
    }
}

/// A table's schema, columns grouped by role; key columns in key order,
/// the others in name order (as Cassandra lists them for `SELECT *`).
///
/// ```
/// use ferry_conn::schema::{ColumnDef, ColumnKind, CqlType, NativeType, TableSchema};
/// let col = |name: &str, kind| ColumnDef { name: name.into(), kind, ty: CqlType::Native(NativeType::Int) };
/// let table = TableSchema::new("ks", "t", vec![
///     col("v", ColumnKind::Regular),
///     col("k", ColumnKind::PartitionKey),
///     col("c", ColumnKind::Clustering { descending: false }),
/// ]);
/// let names: Vec<&str> = table.columns().map(|c| c.name.as_str()).collect();
/// assert_eq!(names, ["k", "c", "v"]);
/// assert_eq!(table.qualified_name(), "ks.t");
/// assert_eq!(table.cql_name(), "\"ks\".\"t\"");
/// assert_eq!(table.primary_key().count(), table.key_len());
/// assert_eq!(table.value_columns().count(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSchema {
    /// Keyspace name.
    pub keyspace: String,
    /// Table name.
    pub table: String,
    /// Partition key columns, in key order.
    pub partition_key: Vec<ColumnDef>,
    /// Clustering columns, in clustering order.
    pub clustering: Vec<ColumnDef>,
    /// Static columns.
    pub statics: Vec<ColumnDef>,
    /// Regular columns.
    pub regulars: Vec<ColumnDef>,
}

impl TableSchema {
    /// Groups `columns` (key columns must already be in key order among
    /// themselves).
    pub fn new(keyspace: &str, table: &str, columns: Vec<ColumnDef>) -> Self {
        let mut schema = Self {
            keyspace: keyspace.to_owned(),
            table: table.to_owned(),
            partition_key: Vec::new(),
            clustering: Vec::new(),
            statics: Vec::new(),
            regulars: Vec::new(),
        };
        for column in columns {
            match column.kind {
                ColumnKind::PartitionKey => schema.partition_key.push(column),
                ColumnKind::Clustering { .. } => schema.clustering.push(column),
                ColumnKind::Static => schema.statics.push(column),
                ColumnKind::Regular => schema.regulars.push(column),
            }
        }
        schema.statics.sort_by(|a, b| a.name.cmp(&b.name));
        schema.regulars.sort_by(|a, b| a.name.cmp(&b.name));
        schema
    }

    /// `keyspace.table`, as written in messages.
    pub fn qualified_name(&self) -> String {
        format!("{}.{}", self.keyspace, self.table)
    }

    /// `"keyspace"."table"`, quoted for CQL statements (names are
    /// case-sensitive as the schema stores them).
    pub fn cql_name(&self) -> String {
        format!("{}.{}", quote(&self.keyspace), quote(&self.table))
    }

    /// The primary key: partition key then clustering columns.
    pub fn primary_key(&self) -> impl Iterator<Item = &ColumnDef> {
        self.partition_key.iter().chain(&self.clustering)
    }

    /// The value columns: static then regular.
    pub fn value_columns(&self) -> impl Iterator<Item = &ColumnDef> {
        self.statics.iter().chain(&self.regulars)
    }

    /// Every column: partition key, clustering, static, regular.
    pub fn columns(&self) -> impl Iterator<Item = &ColumnDef> {
        self.partition_key
            .iter()
            .chain(&self.clustering)
            .chain(&self.statics)
            .chain(&self.regulars)
    }

    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&ColumnDef> {
        self.columns().find(|c| c.name == name)
    }

    /// Whether the table has counter columns.
    pub fn is_counter_table(&self) -> bool {
        self.columns().any(|c| c.ty.is_counter())
    }

    /// Number of primary key columns.
    pub fn key_len(&self) -> usize {
        self.partition_key.len() + self.clustering.len()
    }
}

/// `name` as a CQL identifier: double-quoted, inner quotes doubled, so any
/// name the schema holds (case-sensitive) is read back as itself.
///
/// ```
/// assert_eq!(ferry_conn::schema::quote("MyCol"), "\"MyCol\"");
/// assert_eq!(ferry_conn::schema::quote("a\"b"), "\"a\"\"b\"");
/// ```
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
