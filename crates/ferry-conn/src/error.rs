//! Errors of the connection layer.
//!
//! Every variant says what failed and, where there is one, what to do about
//! it: a wrong CA file, credentials the server rejected, a server that speaks
//! no protocol version in the allowed range.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use ferry_wire::response::{ErrorCode, ErrorResponse};
use ferry_wire::{DecodeError, EncodeError, ProtocolVersion};

/// Anything that can go wrong opening or using a [`Connection`](crate::Connection).
///
/// ```
/// use ferry_conn::ConnError;
/// use ferry_wire::response::{ErrorCode, ErrorResponse, ErrorDetails};
/// let e = ConnError::Server(ErrorResponse::new(ErrorDetails::Overloaded, "busy"));
/// assert_eq!(e.server_code(), Some(ErrorCode::OVERLOADED));
/// assert!(e.to_string().contains("busy"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnError {
    /// The TCP connection could not be opened.
    #[error(
        "cannot connect to {address}: {source} (check the address and port, and that the node \
         is up and accepts CQL clients on its native_transport_port)"
    )]
    Connect {
        /// The address we tried.
        address: String,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// An I/O error on an established connection.
    #[error("I/O error on the connection to {address}: {source}")]
    Io {
        /// The peer.
        address: String,
        /// What the OS (or TLS layer) said.
        #[source]
        source: std::io::Error,
    },
    /// TLS could not be set up (bad files, bad server name, failed handshake).
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The server sent bytes that are not a valid frame or message. The
    /// connection is closed: after a malformed frame the stream is out of sync.
    #[error("malformed response from the server: {0}")]
    Decode(#[from] DecodeError),
    /// A request could not be encoded for the connection's protocol version
    /// (for example a v5-only field on a v4 connection).
    #[error("cannot encode the request: {0}")]
    Encode(#[from] EncodeError),
    /// The server answered with an ERROR message.
    #[error("server error {0}")]
    Server(ErrorResponse),
    /// No response within the configured time.
    #[error("{what} timed out after {after:?}")]
    Timeout {
        /// What timed out ("request on stream 12", "connect to 10.0.0.1:9042", ...).
        what: String,
        /// The limit that was exceeded.
        after: Duration,
    },
    /// The connection is closed (by us, by the server, or after an error);
    /// open a new one.
    #[error("connection to {address} is closed: {reason}")]
    Closed {
        /// The peer.
        address: String,
        /// Why it closed.
        reason: String,
    },
    /// No protocol version in the allowed range was accepted by the server.
    #[error("{}", negotiation_message(address, attempts))]
    Negotiation {
        /// The server.
        address: String,
        /// Each version offered, highest first, with the server's answer.
        attempts: Vec<VersionAttempt>,
    },
    /// Authentication failed or could not be attempted.
    #[error("authentication with {address} failed: {message}")]
    Auth {
        /// The server.
        address: String,
        /// What happened and what to do next.
        message: String,
    },
    /// The server broke the protocol (an unexpected message, a reply on a
    /// stream we did not use, ...).
    #[error("protocol violation by {address}: {message}")]
    Protocol {
        /// The peer.
        address: String,
        /// What was unexpected.
        message: String,
    },
    /// The configuration is unusable.
    #[error("invalid connection configuration: {0}")]
    Config(String),
}

impl ConnError {
    /// The server's error code, if this is a [`ConnError::Server`].
    pub fn server_code(&self) -> Option<ErrorCode> {
        match self {
            Self::Server(e) => Some(e.code()),
            _ => None,
        }
    }

    /// Whether the connection this error came from can no longer be used.
    /// Server errors and timeouts leave the connection open.
    pub fn is_fatal(&self) -> bool {
        !matches!(
            self,
            Self::Server(_) | Self::Timeout { .. } | Self::Encode(_)
        )
    }
}

/// One protocol version offered during negotiation and the server's answer.
///
/// ```
/// use ferry_conn::VersionAttempt;
/// use ferry_wire::ProtocolVersion;
/// let a = VersionAttempt { version: ProtocolVersion::V5, outcome: "protocol error: beta".into() };
/// assert_eq!(a.to_string(), "v5 (protocol error: beta)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionAttempt {
    /// The version offered.
    pub version: ProtocolVersion,
    /// Why it was not accepted.
    pub outcome: String,
}

impl fmt::Display for VersionAttempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.version, self.outcome)
    }
}

fn negotiation_message(address: &str, attempts: &[VersionAttempt]) -> String {
    let tried = attempts
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let mut msg = format!(
        "no protocol version accepted by {address}; tried {tried}. Check that the server speaks \
         CQL, or widen the allowed versions (ConnectionConfig::with_min_version / with_max_version)"
    );
    let all_closed = !attempts.is_empty()
        && attempts
            .iter()
            .all(|a| a.outcome.contains(crate::handshake::CLOSED_OUTCOME));
    if all_closed {
        msg.push_str(
            "; the server closed every connection without answering, which is also what a \
             TLS-only server does to a plain-text client: configure TLS if it requires it",
        );
    }
    msg
}

/// TLS configuration and handshake failures.
///
/// ```
/// use ferry_conn::TlsError;
/// let e = TlsError::NoCertificates { path: "/etc/ferry/ca.pem".into() };
/// assert!(e.to_string().contains("/etc/ferry/ca.pem"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A certificate or key file could not be read.
    #[error("cannot read {what} file {path}: {source}")]
    ReadFile {
        /// Which file it was meant to be ("CA certificate", "client key", ...).
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// A file is not valid PEM, or an entry in it could not be parsed.
    #[error("cannot parse {what} file {path}: {message}")]
    Parse {
        /// Which file it was meant to be.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A certificate file holds no `CERTIFICATE` PEM block.
    #[error(
        "no certificate found in {path} (expected PEM blocks starting with \
         \"-----BEGIN CERTIFICATE-----\")"
    )]
    NoCertificates {
        /// The file.
        path: PathBuf,
    },
    /// A key file holds no private key PEM block.
    #[error(
        "no private key found in {path} (expected a PEM block such as \
         \"-----BEGIN PRIVATE KEY-----\", PKCS#8, PKCS#1 RSA or SEC1 EC)"
    )]
    NoPrivateKey {
        /// The file.
        path: PathBuf,
    },
    /// The name to verify the server certificate against is not a valid DNS
    /// name or IP address.
    #[error("invalid TLS server name {name:?}: {message}")]
    InvalidServerName {
        /// The name.
        name: String,
        /// Why it is invalid.
        message: String,
    },
    /// rustls refused the configuration (for example a key that does not
    /// match the client certificate).
    #[error("invalid TLS configuration: {0}")]
    Config(String),
    /// The TLS handshake failed.
    #[error("TLS handshake with {address} failed: {message}{hint}")]
    Handshake {
        /// The server.
        address: String,
        /// What rustls or the peer said.
        message: String,
        /// A suggestion, if we recognise the failure.
        hint: String,
    },
}
