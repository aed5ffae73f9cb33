//! Everything that can stop a copy, each naming what is wrong.

use std::path::PathBuf;

use ferry_conn::session::SessionError;

/// Which cluster an error is about.
///
/// ```
/// assert_eq!(ferry_copier::Side::Target.to_string(), "target");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The cluster copied from.
    Source,
    /// The cluster copied to.
    Target,
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Source => "source",
            Self::Target => "target",
        })
    }
}

/// Why a copy could not start or did not finish.
///
/// ```
/// use ferry_copier::{CopyError, Side};
/// let e = CopyError::MissingColumn { keyspace: "shop".into(), table: "orders".into(), column: "total".into() };
/// assert_eq!(e.to_string(), "target table shop.orders has no column \"total\" (the source table has it)");
/// let e = CopyError::UnknownTable { side: Side::Source, keyspace: "shop".into(), table: "nope".into() };
/// assert!(e.to_string().contains("shop.nope"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CopyError {
    /// The session to a cluster could not be opened (unreachable, refused
    /// login, TLS failure...).
    #[error("cannot connect to the {side} cluster ({contact}): {source}")]
    Connect {
        /// Which cluster.
        side: Side,
        /// The contact points tried.
        contact: String,
        /// Why.
        #[source]
        source: SessionError,
    },
    /// The keyspace does not exist on a cluster.
    #[error("keyspace {keyspace} does not exist on the {side} cluster")]
    UnknownKeyspace {
        /// Which cluster.
        side: Side,
        /// The keyspace.
        keyspace: String,
    },
    /// The table does not exist on a cluster.
    #[error("table {keyspace}.{table} does not exist on the {side} cluster")]
    UnknownTable {
        /// Which cluster.
        side: Side,
        /// The keyspace.
        keyspace: String,
        /// The table.
        table: String,
    },
    /// The keyspace has no tables to copy.
    #[error("keyspace {keyspace} on the source cluster has no tables")]
    NoTables {
        /// The keyspace.
        keyspace: String,
    },
    /// A source column is missing from the target table.
    #[error("target table {keyspace}.{table} has no column {column:?} (the source table has it)")]
    MissingColumn {
        /// The keyspace.
        keyspace: String,
        /// The table.
        table: String,
        /// The column.
        column: String,
    },
    /// A renamed column is missing from the target table.
    #[error(
        "target table {keyspace}.{table} has no column {column:?} (source column {source_column} is renamed to it by --rename-column {rename})"
    )]
    MissingRenamedColumn {
        /// The target keyspace.
        keyspace: String,
        /// The target table.
        table: String,
        /// The target column name.
        column: String,
        /// `ks.table.column` on the source.
        source_column: String,
        /// The rename, `old=new`.
        rename: String,
    },
    /// A column's type differs between source and target.
    #[error(
        "column {column:?} of {keyspace}.{table} is {source_type} on the source but {target_type} on the target"
    )]
    TypeMismatch {
        /// The keyspace.
        keyspace: String,
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// Its source type (CQL).
        source_type: String,
        /// Its target type (CQL).
        target_type: String,
    },
    /// The primary keys (or a column's role) differ.
    #[error("{keyspace}.{table}: {message}")]
    KeyMismatch {
        /// The keyspace.
        keyspace: String,
        /// The table.
        table: String,
        /// What differs.
        message: String,
    },
    /// The table is a counter table, which Ferry does not copy.
    #[error(
        "{keyspace}.{table} is a counter table (column {column:?}); ferry-copy refuses counter tables: \
         counter updates cannot carry USING TIMESTAMP, so copied values could not be backdated \
         under the proxy's writes, and an increment retried after a timeout would count twice. \
         Copy it with the application stopped, or leave it out with --table"
    )]
    CounterTable {
        /// The keyspace.
        keyspace: String,
        /// The table.
        table: String,
        /// A counter column.
        column: String,
    },
    /// The schema tables could not be read or parsed.
    #[error("cannot read the schema of {what} on the {side} cluster: {message}")]
    Schema {
        /// Which cluster.
        side: Side,
        /// What was being read.
        what: String,
        /// Why.
        message: String,
    },
    /// The source cluster's partitioner is not one Ferry can scan by token.
    #[error("the source cluster's partitioner {0} is not supported (Murmur3Partitioner and RandomPartitioner are)")]
    UnsupportedPartitioner(String),
    /// A request failed for good.
    #[error("{what} on the {side} cluster failed: {source}")]
    Request {
        /// Which cluster.
        side: Side,
        /// What was being done.
        what: String,
        /// Why.
        #[source]
        source: SessionError,
    },
    /// The progress file could not be read or written.
    #[error("progress file {path}: {message}")]
    Progress {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The options make no sense.
    #[error("invalid options: {0}")]
    Options(String),
}
