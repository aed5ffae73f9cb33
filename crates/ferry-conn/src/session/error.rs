//! Errors of the session layer.

use std::net::SocketAddr;

use ferry_wire::response::ErrorCode;
use ferry_wire::{DecodeError, EncodeError};

use crate::error::ConnError;
use crate::token::TokenError;

/// Anything that can go wrong using a [`Session`](super::Session).
///
/// A request that failed on a node carries the node, the number of attempts
/// made (retries included) and the last error, so a caller can tell a
/// server's refusal ([`SessionError::server_code`]) from a cluster that could
/// not be reached at all ([`SessionError::NoConnection`]).
///
/// ```
/// use ferry_conn::{ConnError, session::SessionError};
/// use ferry_wire::response::{ErrorCode, ErrorDetails, ErrorResponse};
/// let e = SessionError::Request {
///     node: "127.0.0.1:9042".parse().unwrap(),
///     attempts: 3,
///     source: Box::new(ConnError::Server(ErrorResponse::new(ErrorDetails::Overloaded, "busy"))),
/// };
/// assert_eq!(e.server_code(), Some(ErrorCode::OVERLOADED));
/// assert!(e.to_string().contains("after 3 attempt(s)"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// A request failed on `node` and the retry policy gave up (or the error
    /// was not retryable).
    #[error("request to {node} failed after {attempts} attempt(s): {source}")]
    Request {
        /// The node that answered (or failed) last.
        node: SocketAddr,
        /// Attempts made, the first one included.
        attempts: u32,
        /// The last attempt's error.
        #[source]
        source: Box<ConnError>,
    },
    /// No node of the query plan had a usable connection.
    #[error(
        "no connection to any node could be used; tried: {}",
        describe_tried(tried)
    )]
    NoConnection {
        /// Each node tried, with why it could not be used.
        tried: Vec<(SocketAddr, String)>,
    },
    /// None of the contact points could be reached.
    #[error(
        "cannot connect to any contact point; tried: {}",
        describe_tried_text(tried)
    )]
    ContactPoints {
        /// Each contact point, with its error.
        tried: Vec<(String, ConnError)>,
    },
    /// The cluster's system tables could not be read or made no sense.
    #[error("cannot read the cluster topology from {node}: {message}")]
    Topology {
        /// The node whose system tables were read.
        node: SocketAddr,
        /// What went wrong.
        message: String,
    },
    /// Schema metadata (a keyspace's replication, a table's partition key)
    /// is missing or unreadable.
    #[error("schema metadata: {0}")]
    Schema(String),
    /// A token or token ring operation failed.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// Bound values do not fit the statement (wrong count, unknown name,
    /// a value that cannot be written as the column's type).
    #[error("cannot bind values: {0}")]
    Values(String),
    /// A value could not be encoded.
    #[error("cannot encode a value: {0}")]
    Encode(#[from] EncodeError),
    /// A result could not be decoded into rows.
    #[error("cannot decode a result: {0}")]
    Decode(#[from] DecodeError),
    /// The server answered with a result of an unexpected kind.
    #[error("unexpected result from {node}: {message}")]
    UnexpectedResult {
        /// The node.
        node: SocketAddr,
        /// What was expected and what came.
        message: String,
    },
    /// A background task of the session failed (a prefetch panicked or was
    /// cancelled by the runtime shutting down).
    #[error("session task failed: {0}")]
    Task(String),
    /// The session configuration is unusable.
    #[error("invalid session configuration: {0}")]
    Config(String),
}

impl SessionError {
    /// The server's error code, if the last attempt got an ERROR response.
    pub fn server_code(&self) -> Option<ErrorCode> {
        match self {
            Self::Request { source, .. } => source.server_code(),
            _ => None,
        }
    }

    /// The connection-layer error of the last attempt, if there was one.
    pub fn conn_error(&self) -> Option<&ConnError> {
        match self {
            Self::Request { source, .. } => Some(source),
            _ => None,
        }
    }
}

fn describe_tried(tried: &[(SocketAddr, String)]) -> String {
    if tried.is_empty() {
        return "no node (the query plan was empty)".to_owned();
    }
    tried
        .iter()
        .map(|(node, why)| format!("{node} ({why})"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn describe_tried_text(tried: &[(String, ConnError)]) -> String {
    if tried.is_empty() {
        return "none (the contact point list is empty)".to_owned();
    }
    tried
        .iter()
        .map(|(node, why)| format!("{node} ({why})"))
        .collect::<Vec<_>>()
        .join("; ")
}
