//! What can go wrong reading a schema.

use crate::session::SessionError;

/// Why a schema could not be read.
///
/// The messages name the keyspace or table; callers that talk to several
/// clusters add which one.
///
/// ```
/// use ferry_conn::schema::SchemaError;
/// let e = SchemaError::UnknownTable { keyspace: "shop".into(), table: "orders".into() };
/// assert_eq!(e.to_string(), "table shop.orders does not exist");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// The keyspace does not exist.
    #[error("keyspace {keyspace} does not exist")]
    UnknownKeyspace {
        /// The keyspace.
        keyspace: String,
    },
    /// The keyspace exists but not the table.
    #[error("table {keyspace}.{table} does not exist")]
    UnknownTable {
        /// The keyspace.
        keyspace: String,
        /// The table.
        table: String,
    },
    /// Reading the schema tables failed.
    #[error("cannot read the schema of {what}: {source}")]
    Request {
        /// What was being read (`shop.orders`, `keyspaces`, ...).
        what: String,
        /// The session's error.
        #[source]
        source: SessionError,
    },
    /// The schema tables hold something this reader does not understand (a
    /// type string that does not parse, a column without a kind).
    #[error("the schema of {what} cannot be used: {message}")]
    Invalid {
        /// The table.
        what: String,
        /// What is wrong.
        message: String,
    },
}
