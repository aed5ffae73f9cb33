//! Everything that can stop a validation (as opposed to a *difference*,
//! which is a finding, not an error).

use std::fmt;

use ferry_conn::schema::SchemaError;
use ferry_conn::session::SessionError;
use ferry_conn::token::TokenError;
use ferry_wire::DecodeError;

/// Which cluster something happened on.
///
/// ```
/// use ferry_validator::Side;
/// assert_eq!(Side::Source.to_string(), "source");
/// assert_eq!(Side::Target.other(), Side::Source);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The cluster being migrated from (the reference).
    Source,
    /// The cluster being migrated to (the one checked).
    Target,
}

impl Side {
    /// The other cluster.
    pub fn other(self) -> Side {
        match self {
            Side::Source => Side::Target,
            Side::Target => Side::Source,
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Source => "source",
            Side::Target => "target",
        })
    }
}

/// Why a validation (or part of it) could not be carried out.
///
/// ```
/// use ferry_validator::ValidateError;
/// let e = ValidateError::Config("parallelism must be at least 1".into());
/// assert_eq!(e.to_string(), "invalid configuration: parallelism must be at least 1");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ValidateError {
    /// A request to one of the clusters failed (after the session's retries).
    #[error("{side}: {source}")]
    Session {
        /// The cluster.
        side: Side,
        /// What failed.
        #[source]
        source: SessionError,
    },
    /// A table's schema could not be read on one cluster (the table or
    /// keyspace does not exist there, the schema tables could not be read).
    #[error("{side}: {source}")]
    SchemaRead {
        /// The cluster.
        side: Side,
        /// What failed.
        #[source]
        source: SchemaError,
    },
    /// The table's schema is missing, unreadable, or differs between the
    /// clusters in a way that makes a row-by-row comparison meaningless
    /// (different primary keys).
    #[error("schema: {0}")]
    Schema(String),
    /// The configuration cannot be used.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A cell could not be decoded as its column's type.
    #[error("{side}: cannot decode a value of {column}: {source}")]
    Decode {
        /// The cluster that sent it.
        side: Side,
        /// The column.
        column: String,
        /// The decoder's error.
        #[source]
        source: DecodeError,
    },
    /// A token could not be read or a token operation failed.
    #[error("token: {0}")]
    Token(#[from] TokenError),
    /// A result row was not what the scan asked for (a null partition key,
    /// a missing token, rows out of ring order).
    #[error("{side}: unexpected result: {message}")]
    Protocol {
        /// The cluster.
        side: Side,
        /// What was wrong.
        message: String,
    },
    /// One partition held more unmatched rows than the configured cap: the
    /// two clusters return its rows in different orders (different
    /// clustering order?) or it differs wholesale.
    #[error(
        "partition {partition} has more than {cap} rows unmatched between source and target \
         (raise max_unmatched_rows_per_partition, or check that both tables have the same \
         clustering order)"
    )]
    PartitionTooDivergent {
        /// The partition key, as CQL literals.
        partition: String,
        /// The cap.
        cap: usize,
    },
    /// Reading or writing a local file (report, checkpoint) failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

impl ValidateError {
    /// Wraps a session error of `side`.
    pub fn session(side: Side, source: SessionError) -> Self {
        ValidateError::Session { side, source }
    }
}
