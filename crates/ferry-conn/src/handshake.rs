//! Opening a connection: version negotiation, OPTIONS/STARTUP, SASL, and
//! the switch to v5 segments.
//!
//! Each protocol version is tried on a fresh TCP (and TLS) connection,
//! highest first. A version counts as rejected when the first answer is a
//! protocol error, a server error saying "Invalid or unsupported protocol
//! version" (Cassandra 2.1.0 answers v4+ that way), a frame in a version we
//! cannot read, or a closed connection. The next version tried is the
//! highest one the server says it supports (Cassandra 3+ lists them, as in
//! "supported versions are (3/v3, 4/v4, 5/v5-beta)", and answers in its own
//! version), else one lower, down to the configured floor.
//!
//! In v5, STARTUP and its answer (READY or AUTHENTICATE) are bare frames;
//! everything after, including the SASL exchange, travels in segments.

use std::net::SocketAddr;

use bytes::{Bytes, BytesMut};
use ferry_wire::compression::Compression;
use ferry_wire::frame::{Frame, FrameHeader};
use ferry_wire::request::{startup_options, AuthResponse, Options, Request, Startup};
use ferry_wire::response::{ErrorCode, ErrorResponse, Response, Supported};
use ferry_wire::{DecodeErrorKind, ProtocolVersion};

use crate::auth::AuthError;
use crate::config::ConnectionConfig;
use crate::connection::framing::{self, Framed, ReadError, SendError};
use crate::connection::ResponseFrame;
use crate::error::{ConnError, TlsError, VersionAttempt};
use crate::tls;
use crate::transport;

/// Outcome text for a version the server answered by hanging up.
pub(crate) const CLOSED_OUTCOME: &str = "server closed the connection without answering";

/// The message Cassandra 2.1.0 sends, as a server error, for a version it
/// does not speak.
const UNSUPPORTED_VERSION_MESSAGE: &str = "Invalid or unsupported protocol version";

/// SASL round trips allowed before we decide the server is looping.
const MAX_AUTH_ROUNDS: usize = 32;

/// A connection that finished its handshake.
pub(crate) struct Established {
    /// The stream, with framing already switched as negotiated.
    pub framed: Framed,
    /// The peer's socket address.
    pub peer: SocketAddr,
    /// The agreed version.
    pub version: ProtocolVersion,
    /// The agreed compression.
    pub compression: Option<Compression>,
    /// The server's SUPPORTED answer, if OPTIONS was sent.
    pub supported: Option<Supported>,
    /// Versions the server refused before this one.
    pub rejected: Vec<VersionAttempt>,
}

/// A version the server refused, and what it told us about the others.
#[derive(Debug)]
struct Rejection {
    outcome: String,
    /// Non-beta versions listed in the error message.
    listed: Vec<u8>,
    /// The version of the frame that carried the refusal.
    reply_version: Option<ProtocolVersion>,
}

/// How one attempt ended, if not with a connection.
enum AttemptError {
    Rejected(Rejection),
    Fatal(ConnError),
}

impl From<ConnError> for AttemptError {
    fn from(e: ConnError) -> Self {
        Self::Fatal(e)
    }
}

/// Connects, negotiating the version as described in the module docs.
pub(crate) async fn establish(config: &ConnectionConfig) -> Result<Established, ConnError> {
    config.validate()?;
    let floor = config.versions.lowest();
    let mut version = config.versions.highest();
    let mut rejected = Vec::new();
    loop {
        match attempt(config, version).await {
            Ok(mut established) => {
                established.rejected = rejected;
                return Ok(established);
            }
            Err(AttemptError::Fatal(e)) => return Err(e),
            Err(AttemptError::Rejected(rejection)) => {
                tracing::debug!(
                    address = %config.address,
                    %version,
                    outcome = %rejection.outcome,
                    "protocol version rejected"
                );
                let next = next_version(version, floor, &rejection);
                rejected.push(VersionAttempt {
                    version,
                    outcome: rejection.outcome,
                });
                match next {
                    Some(v) => version = v,
                    None => {
                        return Err(ConnError::Negotiation {
                            address: config.address.clone(),
                            attempts: rejected,
                        })
                    }
                }
            }
        }
    }
}

/// The version to try after `tried` was refused.
fn next_version(
    tried: ProtocolVersion,
    floor: ProtocolVersion,
    rejection: &Rejection,
) -> Option<ProtocolVersion> {
    let usable = |v: ProtocolVersion| v < tried && v >= floor;
    let listed = rejection
        .listed
        .iter()
        .filter_map(|&n| ProtocolVersion::from_number(n))
        .filter(|&v| usable(v))
        .max();
    listed
        .or(rejection.reply_version.filter(|&v| usable(v)))
        .or_else(|| {
            ProtocolVersion::from_number(tried.number().saturating_sub(1)).filter(|&v| usable(v))
        })
}

/// The non-beta version numbers in a message such as
/// "Invalid or unsupported protocol version (6); supported versions are
/// (3/v3, 4/v4, 5/v5-beta)".
fn listed_versions(message: &str) -> Vec<u8> {
    let bytes = message.as_bytes();
    let mut found = Vec::new();
    let mut search = 0;
    while let Some(pos) = message.get(search..).and_then(|s| s.find("/v")) {
        let slash = search + pos;
        search = slash + 2;
        let digits_before = bytes[..slash]
            .iter()
            .rev()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let after = &bytes[slash + 2..];
        let digits_after = after.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits_before == 0 || digits_after == 0 {
            continue;
        }
        if after[digits_after..].starts_with(b"-beta") {
            continue;
        }
        if let Ok(n) = message[slash - digits_before..slash].parse::<u8>() {
            found.push(n);
        }
    }
    found
}

/// One try at `version` on a fresh connection.
async fn attempt(
    config: &ConnectionConfig,
    version: ProtocolVersion,
) -> Result<Established, AttemptError> {
    let (stream, peer) =
        transport::connect(&config.address, config.tls.as_ref(), config.connect_timeout).await?;
    let mut hs = Handshake {
        framed: Framed::new(stream),
        config,
        version,
        accepted: false,
    };
    let supported = if config.probe_options {
        match hs.exchange(Options.into()).await? {
            Response::Supported(s) => Some(s),
            other => return Err(hs.unexpected("OPTIONS", &other)),
        }
    } else {
        None
    };
    let compression = choose_compression(config, version, supported.as_ref());
    let mut startup = Startup::new(config.cql_version.clone());
    if let Some(c) = compression {
        startup = startup.with_option(startup_options::COMPRESSION, c.name());
    }
    startup = startup
        .with_option(startup_options::DRIVER_NAME, config.driver_name.clone())
        .with_option(
            startup_options::DRIVER_VERSION,
            config.driver_version.clone(),
        );
    let segments = version.uses_segments();
    if !segments {
        // Cassandra compresses READY itself once STARTUP asked for it.
        hs.framed.reader = framing::negotiated(false, compression).0;
    }
    let reply = hs.exchange(startup.into()).await?;
    // v5 switches to segments right after READY / AUTHENTICATE; v3-v4
    // start compressing what they send.
    let (reader, writer) = framing::negotiated(segments, compression);
    hs.framed.reader = reader;
    hs.framed.writer = writer;
    match reply {
        Response::Ready(_) => {}
        Response::Authenticate(a) => hs.authenticate(&a.authenticator).await?,
        other => return Err(hs.unexpected("STARTUP", &other)),
    }
    tracing::debug!(address = %config.address, %version, ?compression, "connection ready");
    Ok(Established {
        framed: hs.framed,
        peer,
        version,
        compression,
        supported,
        rejected: Vec::new(),
    })
}

/// The compression to ask for: the configured one, if the version can
/// carry it and the server (when asked) offers it.
fn choose_compression(
    config: &ConnectionConfig,
    version: ProtocolVersion,
    supported: Option<&Supported>,
) -> Option<Compression> {
    let wanted = config.compression?;
    if version.uses_segments() && wanted != Compression::Lz4 {
        tracing::warn!(
            address = %config.address,
            "protocol v5 only compresses with lz4; {} was requested, running uncompressed",
            wanted.name()
        );
        return None;
    }
    if let Some(supported) = supported {
        let offered = supported
            .get(startup_options::COMPRESSION)
            .unwrap_or_default();
        if !offered
            .iter()
            .any(|o| o.eq_ignore_ascii_case(wanted.name()))
        {
            tracing::warn!(
                address = %config.address,
                ?offered,
                "server does not offer {} compression; running uncompressed",
                wanted.name()
            );
            return None;
        }
    }
    Some(wanted)
}

/// State of one handshake attempt.
struct Handshake<'a> {
    framed: Framed,
    config: &'a ConnectionConfig,
    version: ProtocolVersion,
    /// Whether the server has answered at our version without refusing it.
    accepted: bool,
}

impl Handshake<'_> {
    fn address(&self) -> String {
        self.config.address.clone()
    }

    /// Sends `request` on stream 0 and reads the answer. ERROR answers are
    /// turned into a rejection or a fatal error here.
    async fn exchange(&mut self, request: Request) -> Result<Response, AttemptError> {
        let opcode = request.opcode();
        let mut body = BytesMut::new();
        request
            .encode(&mut body, self.version)
            .map_err(ConnError::Encode)?;
        let frame = Frame::new(
            FrameHeader::request(self.version, 0, opcode, 0),
            body.freeze(),
        );
        let limit = self.config.connect_timeout;
        let timed_out = || {
            AttemptError::Fatal(ConnError::Timeout {
                what: format!(
                    "{} during the handshake with {}",
                    opcode.name(),
                    self.config.address
                ),
                after: limit,
            })
        };
        match tokio::time::timeout(limit, self.framed.send(frame)).await {
            Err(_) => return Err(timed_out()),
            Ok(Err(SendError::Encode(e))) => return Err(ConnError::Encode(e).into()),
            Ok(Err(SendError::Io(e))) => return Err(self.io_failure(e)),
            Ok(Ok(())) => {}
        }
        let frame = match tokio::time::timeout(limit, self.framed.recv()).await {
            Err(_) => return Err(timed_out()),
            Ok(Ok(frame)) => frame,
            Ok(Err(ReadError::Eof { .. })) => return Err(self.closed()),
            Ok(Err(ReadError::Io(e))) => return Err(self.io_failure(e)),
            Ok(Err(ReadError::Decode(e))) => {
                if let (false, DecodeErrorKind::UnsupportedVersion(byte)) = (self.accepted, &e.kind)
                {
                    return Err(self.unknown_first_byte(*byte));
                }
                return Err(ConnError::Decode(e).into());
            }
        };
        let reply_version = frame.header.version;
        let decoded = ResponseFrame::decode(frame).map_err(ConnError::Decode)?;
        if let Response::Error(e) = decoded.response {
            return Err(self.refusal(e, reply_version));
        }
        if reply_version != self.version {
            // Only refusals are allowed to come back in another version.
            return Err(AttemptError::Rejected(Rejection {
                outcome: format!(
                    "server answered {} in protocol {reply_version}",
                    decoded.response.opcode().name()
                ),
                listed: Vec::new(),
                reply_version: Some(reply_version),
            }));
        }
        self.accepted = true;
        Ok(decoded.response)
    }

    /// Classifies an ERROR answer during the handshake.
    fn refusal(&self, e: ErrorResponse, reply_version: ProtocolVersion) -> AttemptError {
        let lower = e.message.to_ascii_lowercase();
        let about_version = lower.contains("protocol version") || lower.contains("beta");
        let rejected = match e.code() {
            ErrorCode::PROTOCOL => !self.accepted || about_version,
            ErrorCode::SERVER => e.message.contains(UNSUPPORTED_VERSION_MESSAGE),
            _ => false,
        };
        if rejected {
            AttemptError::Rejected(Rejection {
                outcome: e.to_string(),
                listed: listed_versions(&e.message),
                reply_version: Some(reply_version),
            })
        } else {
            AttemptError::Fatal(ConnError::Server(e))
        }
    }

    /// The server hung up: a refusal if it never accepted our version.
    fn closed(&self) -> AttemptError {
        if self.accepted {
            AttemptError::Fatal(ConnError::Closed {
                address: self.address(),
                reason: "server closed the connection during the handshake".into(),
            })
        } else {
            AttemptError::Rejected(Rejection {
                outcome: CLOSED_OUTCOME.into(),
                listed: Vec::new(),
                reply_version: None,
            })
        }
    }

    /// The first answer does not start with a CQL response version byte.
    fn unknown_first_byte(&self, byte: u8) -> AttemptError {
        let address = self.address();
        let fatal = |message: String| AttemptError::Fatal(ConnError::Protocol { address, message });
        match byte {
            // TLS record types: alert, handshake, ...
            0x14..=0x17 => fatal(format!(
                "the server answered with a TLS record (first byte 0x{byte:02x}): it expects \
                 TLS; configure it with ConnectionConfig::with_tls"
            )),
            b if b.is_ascii_alphabetic() => fatal(format!(
                "the server answered with text starting with {:?}, not a CQL frame: is this the \
                 CQL native transport port?",
                char::from(b)
            )),
            // Perhaps a version older than any we speak: let the caller
            // try a lower one.
            _ => AttemptError::Rejected(Rejection {
                outcome: format!("server answered in unknown protocol version 0x{byte:02x}"),
                listed: Vec::new(),
                reply_version: None,
            }),
        }
    }

    fn io_failure(&self, e: std::io::Error) -> AttemptError {
        if let Some(tls) = &self.config.tls {
            let message = e.to_string();
            if message.contains("alert") {
                // The server rejected us after the TLS handshake, e.g. for
                // a missing client certificate under TLS 1.3.
                return AttemptError::Fatal(ConnError::Tls(TlsError::Handshake {
                    address: self.address(),
                    hint: tls::handshake_hint(&message, tls),
                    message,
                }));
            }
        }
        use std::io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset, UnexpectedEof};
        if matches!(
            e.kind(),
            BrokenPipe | ConnectionAborted | ConnectionReset | UnexpectedEof
        ) {
            return self.closed();
        }
        AttemptError::Fatal(ConnError::Io {
            address: self.address(),
            source: e,
        })
    }

    fn unexpected(&self, request: &str, got: &Response) -> AttemptError {
        AttemptError::Fatal(ConnError::Protocol {
            address: self.address(),
            message: format!("unexpected {} in answer to {request}", got.opcode().name()),
        })
    }

    fn auth_error(&self, message: String) -> AttemptError {
        AttemptError::Fatal(ConnError::Auth {
            address: self.address(),
            message,
        })
    }

    /// The SASL exchange after AUTHENTICATE.
    async fn authenticate(&mut self, class: &str) -> Result<(), AttemptError> {
        let Some(provider) = self.config.auth.clone() else {
            return Err(self.auth_error(format!(
                "the server requires authentication ({class}) but no credentials are \
                 configured: set them with ConnectionConfig::with_credentials (or with_auth)"
            )));
        };
        let failed = |who: &str, e: AuthError| format!("authenticator for {who} failed: {e}");
        let mut authenticator = provider
            .new_authenticator(class)
            .map_err(|e| self.auth_error(failed(class, e)))?;
        let identity = authenticator.identity();
        let mut token: Option<Bytes> = authenticator
            .initial_response()
            .map_err(|e| self.auth_error(failed(&identity, e)))?;
        for _ in 0..MAX_AUTH_ROUNDS {
            let reply = match self.exchange(AuthResponse { token }.into()).await {
                Err(AttemptError::Fatal(ConnError::Server(e))) => {
                    return Err(self.auth_error(rejected_credentials(&identity, &e)))
                }
                other => other?,
            };
            match reply {
                Response::AuthChallenge(c) => {
                    token = authenticator
                        .evaluate_challenge(c.token.as_deref())
                        .map_err(|e| self.auth_error(failed(&identity, e)))?;
                }
                Response::AuthSuccess(s) => {
                    return authenticator
                        .success(s.token.as_deref())
                        .map_err(|e| self.auth_error(failed(&identity, e)));
                }
                other => return Err(self.unexpected("AUTH_RESPONSE", &other)),
            }
        }
        Err(self.auth_error(format!(
            "the server sent more than {MAX_AUTH_ROUNDS} challenges to {identity}; giving up"
        )))
    }
}

/// The message for an ERROR answer to AUTH_RESPONSE.
fn rejected_credentials(identity: &str, e: &ErrorResponse) -> String {
    if e.code() == ErrorCode::BAD_CREDENTIALS {
        format!(
            "bad credentials for {identity}: the server said \"{}\"; check the username and \
             password",
            e.message
        )
    } else {
        format!("the server refused {identity}: {e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ProtocolVersion::*;

    fn rejection(message: &str, reply: Option<ProtocolVersion>) -> Rejection {
        Rejection {
            outcome: String::new(),
            listed: listed_versions(message),
            reply_version: reply,
        }
    }

    #[test]
    fn listed_versions_skip_beta() {
        assert_eq!(
            listed_versions(
                "Invalid or unsupported protocol version (6); supported versions are \
                 (3/v3, 4/v4, 5/v5-beta)"
            ),
            vec![3, 4]
        );
        assert_eq!(
            listed_versions("Beta version of server used (5/v5-beta)"),
            Vec::<u8>::new()
        );
        assert!(listed_versions("Invalid or unsupported protocol version: 5").is_empty());
        assert!(listed_versions("/v/v3 x/v 12/v").is_empty());
    }

    #[test]
    fn next_version_prefers_listed_then_reply_then_one_lower() {
        let listed = rejection("supported versions are (3/v3, 4/v4, 5/v5-beta)", Some(V5));
        assert_eq!(next_version(V5, V3, &listed), Some(V4));
        let only_v3 = rejection("supported versions are (3/v3)", Some(V4));
        assert_eq!(next_version(V5, V3, &only_v3), Some(V3));
        let reply_v3 = rejection("Invalid or unsupported protocol version: 5", Some(V3));
        assert_eq!(next_version(V5, V3, &reply_v3), Some(V3));
        let nothing = rejection("closed", None);
        assert_eq!(next_version(V5, V3, &nothing), Some(V4));
        assert_eq!(next_version(V3, V3, &nothing), None);
        assert_eq!(next_version(V3, V2, &nothing), Some(V2));
    }

    #[test]
    fn hints_below_the_floor_are_ignored() {
        let r = rejection("supported versions are (2/v2)", Some(V2));
        assert_eq!(next_version(V4, V3, &r), Some(V3));
        assert_eq!(next_version(V3, V3, &r), None);
    }
}
