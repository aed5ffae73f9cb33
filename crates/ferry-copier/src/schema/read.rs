//! Reading table schemas: `ferry_conn::schema::SchemaReader` (shared with
//! the validator), with the cluster's side added to every error so a
//! message says whether the source or the target lacks the table.

use ferry_conn::schema::SchemaError;
use ferry_conn::session::Session;

use super::TableSchema;
use crate::error::{CopyError, Side};

/// Reads keyspaces, tables and table schemas of one side of the copy.
///
/// ```no_run
/// # async fn demo(session: &ferry_conn::session::Session) -> Result<(), ferry_copier::CopyError> {
/// use ferry_copier::schema::SchemaReader;
/// use ferry_copier::Side;
/// let reader = SchemaReader::new(session, Side::Source);
/// for table in reader.tables("shop").await? {
///     let schema = reader.table("shop", &table).await?;
///     println!("{}: {} columns", schema.qualified_name(), schema.columns().count());
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct SchemaReader<'a> {
    inner: ferry_conn::schema::SchemaReader<'a>,
    side: Side,
}

impl<'a> SchemaReader<'a> {
    /// A reader of `session`'s schema, which is the `side` cluster.
    pub fn new(session: &'a Session, side: Side) -> Self {
        Self {
            inner: ferry_conn::schema::SchemaReader::new(session),
            side,
        }
    }

    /// Whether `keyspace` exists.
    pub async fn keyspace_exists(&self, keyspace: &str) -> Result<bool, CopyError> {
        self.inner
            .keyspace_exists(keyspace)
            .await
            .map_err(|e| self.error(e))
    }

    /// The tables of `keyspace`, sorted by name; fails if the keyspace does
    /// not exist.
    pub async fn tables(&self, keyspace: &str) -> Result<Vec<String>, CopyError> {
        self.inner.tables(keyspace).await.map_err(|e| self.error(e))
    }

    /// The schema of `keyspace.table`; fails with
    /// [`CopyError::UnknownTable`] (or `UnknownKeyspace`) if it does not
    /// exist.
    pub async fn table(&self, keyspace: &str, table: &str) -> Result<TableSchema, CopyError> {
        self.inner
            .table(keyspace, table)
            .await
            .map_err(|e| self.error(e))
    }

    /// The copier's error for a schema error on this side.
    fn error(&self, e: SchemaError) -> CopyError {
        let side = self.side;
        match e {
            SchemaError::UnknownKeyspace { keyspace } => {
                CopyError::UnknownKeyspace { side, keyspace }
            }
            SchemaError::UnknownTable { keyspace, table } => CopyError::UnknownTable {
                side,
                keyspace,
                table,
            },
            SchemaError::Request { what, source } => CopyError::Request {
                side,
                what: format!("reading the schema of {what}"),
                source,
            },
            SchemaError::Invalid { what, message } => CopyError::Schema {
                side,
                what,
                message,
            },
            other => CopyError::Schema {
                side,
                what: "the schema".into(),
                message: other.to_string(),
            },
        }
    }
}
