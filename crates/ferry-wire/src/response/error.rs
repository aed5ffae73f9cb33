//! The ERROR response: `<code><message>` (an `[int]` and a `[string]`), then
//! a payload that depends on the code and, for some codes, on the protocol
//! version.
//!
//! Codes that the message's protocol version does not define (a v5 code in
//! a v4 frame, a code from a newer server or a DSE extension) are kept with
//! their raw payload, so a proxy can forward them byte for byte.

use std::fmt;
use std::net::IpAddr;

use bytes::{BufMut, Bytes, BytesMut};

use crate::consistency::Consistency;
use crate::error::{DecodeResult, EncodeError, EncodeResult};
use crate::reader::Reader;
use crate::version::ProtocolVersion;
use crate::writer::{put_consistency, put_inetaddr, put_short_bytes, put_string, put_string_list};

/// An ERROR code. A newtype over the `[int]` rather than an enum so that
/// codes this crate does not know still have a value.
///
/// ```
/// use ferry_wire::response::ErrorCode;
/// use ferry_wire::ProtocolVersion;
/// assert_eq!(ErrorCode::UNAVAILABLE.0, 0x1000);
/// assert_eq!(ErrorCode::UNAVAILABLE.name(), Some("UNAVAILABLE"));
/// assert!(!ErrorCode::CAS_WRITE_UNKNOWN.is_defined_in(ProtocolVersion::V4));
/// assert_eq!(ErrorCode(0x7777).name(), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ErrorCode(pub i32);

impl ErrorCode {
    /// 0x0000: something unexpected happened on the server.
    pub const SERVER: Self = Self(0x0000);
    /// 0x000A: the client violated the protocol.
    pub const PROTOCOL: Self = Self(0x000A);
    /// 0x0100: authentication failed.
    pub const BAD_CREDENTIALS: Self = Self(0x0100);
    /// 0x1000: not enough replicas alive for the consistency level.
    pub const UNAVAILABLE: Self = Self(0x1000);
    /// 0x1001: the coordinator is overloaded.
    pub const OVERLOADED: Self = Self(0x1001);
    /// 0x1002: the coordinator is bootstrapping.
    pub const IS_BOOTSTRAPPING: Self = Self(0x1002);
    /// 0x1003: a truncation failed.
    pub const TRUNCATE: Self = Self(0x1003);
    /// 0x1100: a write timed out.
    pub const WRITE_TIMEOUT: Self = Self(0x1100);
    /// 0x1200: a read timed out.
    pub const READ_TIMEOUT: Self = Self(0x1200);
    /// 0x1300 (v4+): a read failed on replicas.
    pub const READ_FAILURE: Self = Self(0x1300);
    /// 0x1400 (v4+): a user-defined function failed.
    pub const FUNCTION_FAILURE: Self = Self(0x1400);
    /// 0x1500 (v4+): a write failed on replicas.
    pub const WRITE_FAILURE: Self = Self(0x1500);
    /// 0x1600 (v5): a write to CDC-tracked data failed (CDC space full).
    pub const CDC_WRITE_FAILURE: Self = Self(0x1600);
    /// 0x1700 (v5): a contended CAS write may or may not have been applied.
    pub const CAS_WRITE_UNKNOWN: Self = Self(0x1700);
    /// 0x2000: the query has a syntax error.
    pub const SYNTAX: Self = Self(0x2000);
    /// 0x2100: the user lacks a permission.
    pub const UNAUTHORIZED: Self = Self(0x2100);
    /// 0x2200: the query is syntactically correct but invalid.
    pub const INVALID: Self = Self(0x2200);
    /// 0x2300: the query is invalid because of the configuration.
    pub const CONFIG: Self = Self(0x2300);
    /// 0x2400: the keyspace or table already exists.
    pub const ALREADY_EXISTS: Self = Self(0x2400);
    /// 0x2500: the prepared statement id is unknown to this node.
    pub const UNPREPARED: Self = Self(0x2500);

    /// Every code the protocol defines (in some version), in code order.
    pub const ALL: [Self; 20] = [
        Self::SERVER,
        Self::PROTOCOL,
        Self::BAD_CREDENTIALS,
        Self::UNAVAILABLE,
        Self::OVERLOADED,
        Self::IS_BOOTSTRAPPING,
        Self::TRUNCATE,
        Self::WRITE_TIMEOUT,
        Self::READ_TIMEOUT,
        Self::READ_FAILURE,
        Self::FUNCTION_FAILURE,
        Self::WRITE_FAILURE,
        Self::CDC_WRITE_FAILURE,
        Self::CAS_WRITE_UNKNOWN,
        Self::SYNTAX,
        Self::UNAUTHORIZED,
        Self::INVALID,
        Self::CONFIG,
        Self::ALREADY_EXISTS,
        Self::UNPREPARED,
    ];

    /// The conventional name of a known code (as drivers and Cassandra name
    /// it), or `None`.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::SERVER => "SERVER_ERROR",
            Self::PROTOCOL => "PROTOCOL_ERROR",
            Self::BAD_CREDENTIALS => "BAD_CREDENTIALS",
            Self::UNAVAILABLE => "UNAVAILABLE",
            Self::OVERLOADED => "OVERLOADED",
            Self::IS_BOOTSTRAPPING => "IS_BOOTSTRAPPING",
            Self::TRUNCATE => "TRUNCATE_ERROR",
            Self::WRITE_TIMEOUT => "WRITE_TIMEOUT",
            Self::READ_TIMEOUT => "READ_TIMEOUT",
            Self::READ_FAILURE => "READ_FAILURE",
            Self::FUNCTION_FAILURE => "FUNCTION_FAILURE",
            Self::WRITE_FAILURE => "WRITE_FAILURE",
            Self::CDC_WRITE_FAILURE => "CDC_WRITE_FAILURE",
            Self::CAS_WRITE_UNKNOWN => "CAS_WRITE_UNKNOWN",
            Self::SYNTAX => "SYNTAX_ERROR",
            Self::UNAUTHORIZED => "UNAUTHORIZED",
            Self::INVALID => "INVALID",
            Self::CONFIG => "CONFIG_ERROR",
            Self::ALREADY_EXISTS => "ALREADY_EXISTS",
            Self::UNPREPARED => "UNPREPARED",
            _ => return None,
        })
    }

    /// The first protocol version that defines this code, or `None` for a
    /// code no version defines.
    pub fn since(self) -> Option<ProtocolVersion> {
        match self {
            Self::READ_FAILURE | Self::FUNCTION_FAILURE | Self::WRITE_FAILURE => {
                Some(ProtocolVersion::V4)
            }
            Self::CDC_WRITE_FAILURE | Self::CAS_WRITE_UNKNOWN => Some(ProtocolVersion::V5),
            c if c.name().is_some() => Some(ProtocolVersion::V2),
            _ => None,
        }
    }

    /// Whether `version` defines this code (and so its payload layout).
    pub fn is_defined_in(self, version: ProtocolVersion) -> bool {
        self.since().is_some_and(|since| version >= since)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name} (0x{:04X})", self.0),
            None => write!(f, "unknown error code 0x{:04X}", self.0),
        }
    }
}

/// The `<writeType>` of a write timeout or failure.
///
/// ```
/// use ferry_wire::response::WriteType;
/// assert_eq!(WriteType::from_name("CAS"), WriteType::Cas);
/// assert!(WriteType::Cas.is_cas());
/// assert_eq!(WriteType::from_name("NEW").as_str(), "NEW");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum WriteType {
    /// `SIMPLE`: a non-batched, non-counter write.
    Simple,
    /// `BATCH`: a logged batch (the batch log was written).
    Batch,
    /// `UNLOGGED_BATCH`.
    UnloggedBatch,
    /// `COUNTER`.
    Counter,
    /// `BATCH_LOG`: the write to the batch log itself.
    BatchLog,
    /// `CAS`: a lightweight transaction.
    Cas,
    /// `VIEW`: a materialized-view update.
    View,
    /// `CDC`: CDC space exhausted.
    Cdc,
    /// Any other string, kept as received.
    Other(String),
}

impl WriteType {
    /// The protocol string.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Simple => "SIMPLE",
            Self::Batch => "BATCH",
            Self::UnloggedBatch => "UNLOGGED_BATCH",
            Self::Counter => "COUNTER",
            Self::BatchLog => "BATCH_LOG",
            Self::Cas => "CAS",
            Self::View => "VIEW",
            Self::Cdc => "CDC",
            Self::Other(s) => s,
        }
    }

    /// The write type named by a protocol string.
    pub fn from_name(s: &str) -> Self {
        match s {
            "SIMPLE" => Self::Simple,
            "BATCH" => Self::Batch,
            "UNLOGGED_BATCH" => Self::UnloggedBatch,
            "COUNTER" => Self::Counter,
            "BATCH_LOG" => Self::BatchLog,
            "CAS" => Self::Cas,
            "VIEW" => Self::View,
            "CDC" => Self::Cdc,
            other => Self::Other(other.to_owned()),
        }
    }

    /// Whether this is `CAS` (in v5 a CAS write timeout carries contentions).
    pub fn is_cas(&self) -> bool {
        self.as_str() == "CAS"
    }

    fn decode(r: &mut Reader) -> DecodeResult<Self> {
        Ok(Self::from_name(&r.read_string("error.write_type")?))
    }

    fn encode(&self, buf: &mut BytesMut) -> EncodeResult<()> {
        put_string(buf, self.as_str(), "error.write_type")
    }
}

/// Which replicas failed, in a read or write failure: a count in v4, a map
/// from replica address to failure reason code in v5.
///
/// ```
/// use ferry_wire::response::Failures;
/// let reasons = Failures::Reasons(vec![("10.0.0.1".parse().unwrap(), 0x0001)]);
/// assert_eq!(reasons.count(), 1);
/// assert_eq!(Failures::Count(2).count(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Failures {
    /// v4 `<numfailures>`.
    Count(i32),
    /// v5 `<reasonmap>`, as ordered pairs.
    Reasons(Vec<(IpAddr, u16)>),
}

impl Failures {
    /// Number of failed replicas.
    pub fn count(&self) -> i64 {
        match self {
            Self::Count(n) => i64::from(*n),
            Self::Reasons(r) => i64::try_from(r.len()).unwrap_or(i64::MAX),
        }
    }

    fn decode(r: &mut Reader, version: ProtocolVersion) -> DecodeResult<Self> {
        if version < ProtocolVersion::V5 {
            return Ok(Self::Count(r.read_int("error.num_failures")?));
        }
        let n = r.read_length("error.reason_map")?;
        // An entry is at least 7 bytes ([inetaddr] of 4 + [short]).
        let mut reasons = Vec::with_capacity(n.min(r.remaining() / 7));
        for _ in 0..n {
            let addr = r.read_inetaddr("error.reason_map.endpoint")?;
            let code = r.read_short("error.reason_map.code")?;
            reasons.push((addr, code));
        }
        Ok(Self::Reasons(reasons))
    }

    /// v4 writes the count (a reason map's length); v5 needs the map.
    fn encode(&self, buf: &mut BytesMut, version: ProtocolVersion) -> EncodeResult<()> {
        match (self, version >= ProtocolVersion::V5) {
            (Self::Count(n), false) => buf.put_i32(*n),
            (Self::Reasons(reasons), false) => {
                super::put_count(buf, reasons.len(), "error.num_failures")?
            }
            (Self::Reasons(reasons), true) => {
                super::put_count(buf, reasons.len(), "error.reason_map")?;
                for (addr, code) in reasons {
                    put_inetaddr(buf, addr);
                    buf.put_u16(*code);
                }
            }
            (Self::Count(_), true) => {
                return Err(EncodeError::Invalid(
                    "a v5 read/write failure needs a reason map, not a failure count".into(),
                ))
            }
        }
        Ok(())
    }
}

/// The code of an ERROR and the payload that goes with it.
///
/// ```
/// use ferry_wire::response::{ErrorCode, ErrorDetails};
/// assert_eq!(ErrorDetails::Syntax.code(), ErrorCode::SYNTAX);
/// let unknown = ErrorDetails::Other { code: ErrorCode(0x7001), payload: bytes::Bytes::new() };
/// assert_eq!(unknown.code().0, 0x7001);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ErrorDetails {
    /// 0x0000.
    Server,
    /// 0x000A.
    Protocol,
    /// 0x0100.
    BadCredentials,
    /// 0x1000.
    Unavailable {
        /// Consistency level of the query.
        consistency: Consistency,
        /// Replicas that had to be alive.
        required: i32,
        /// Replicas known alive.
        alive: i32,
    },
    /// 0x1001.
    Overloaded,
    /// 0x1002.
    IsBootstrapping,
    /// 0x1003.
    Truncate,
    /// 0x1100.
    WriteTimeout {
        /// Consistency level of the query.
        consistency: Consistency,
        /// Replicas that acknowledged.
        received: i32,
        /// Acknowledgements needed.
        block_for: i32,
        /// What kind of write timed out.
        write_type: WriteType,
        /// v5, CAS writes only (required there): number of contentions.
        /// Not written otherwise.
        contentions: Option<u16>,
    },
    /// 0x1200.
    ReadTimeout {
        /// Consistency level of the query.
        consistency: Consistency,
        /// Replicas that answered.
        received: i32,
        /// Answers needed.
        block_for: i32,
        /// Non-zero if the replica asked for data answered (kept as the raw
        /// byte so it re-encodes exactly).
        data_present: u8,
    },
    /// 0x1300 (v4+).
    ReadFailure {
        /// Consistency level of the query.
        consistency: Consistency,
        /// Replicas that answered.
        received: i32,
        /// Answers needed.
        block_for: i32,
        /// Failed replicas.
        failures: Failures,
        /// Non-zero if the replica asked for data answered.
        data_present: u8,
    },
    /// 0x1400 (v4+).
    FunctionFailure {
        /// Keyspace of the function.
        keyspace: String,
        /// Function name.
        function: String,
        /// Argument types, as CQL type names.
        arg_types: Vec<String>,
    },
    /// 0x1500 (v4+).
    WriteFailure {
        /// Consistency level of the query.
        consistency: Consistency,
        /// Replicas that answered.
        received: i32,
        /// Answers needed.
        block_for: i32,
        /// Failed replicas.
        failures: Failures,
        /// What kind of write failed.
        write_type: WriteType,
    },
    /// 0x1600 (v5).
    CdcWriteFailure,
    /// 0x1700 (v5).
    CasWriteUnknown {
        /// Consistency level of the query.
        consistency: Consistency,
        /// Replicas that acknowledged.
        received: i32,
        /// Acknowledgements needed.
        block_for: i32,
    },
    /// 0x2000.
    Syntax,
    /// 0x2100.
    Unauthorized,
    /// 0x2200.
    Invalid,
    /// 0x2300.
    Config,
    /// 0x2400.
    AlreadyExists {
        /// The keyspace that exists, or that holds the table that exists.
        keyspace: String,
        /// The table that exists; empty for a keyspace.
        table: String,
    },
    /// 0x2500.
    Unprepared {
        /// The unknown statement id.
        id: Bytes,
    },
    /// A code the message's protocol version does not define, with the raw
    /// bytes after the message string.
    Other {
        /// The code.
        code: ErrorCode,
        /// Everything after `<message>`.
        payload: Bytes,
    },
}

impl ErrorDetails {
    /// The error code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Server => ErrorCode::SERVER,
            Self::Protocol => ErrorCode::PROTOCOL,
            Self::BadCredentials => ErrorCode::BAD_CREDENTIALS,
            Self::Unavailable { .. } => ErrorCode::UNAVAILABLE,
            Self::Overloaded => ErrorCode::OVERLOADED,
            Self::IsBootstrapping => ErrorCode::IS_BOOTSTRAPPING,
            Self::Truncate => ErrorCode::TRUNCATE,
            Self::WriteTimeout { .. } => ErrorCode::WRITE_TIMEOUT,
            Self::ReadTimeout { .. } => ErrorCode::READ_TIMEOUT,
            Self::ReadFailure { .. } => ErrorCode::READ_FAILURE,
            Self::FunctionFailure { .. } => ErrorCode::FUNCTION_FAILURE,
            Self::WriteFailure { .. } => ErrorCode::WRITE_FAILURE,
            Self::CdcWriteFailure => ErrorCode::CDC_WRITE_FAILURE,
            Self::CasWriteUnknown { .. } => ErrorCode::CAS_WRITE_UNKNOWN,
            Self::Syntax => ErrorCode::SYNTAX,
            Self::Unauthorized => ErrorCode::UNAUTHORIZED,
            Self::Invalid => ErrorCode::INVALID,
            Self::Config => ErrorCode::CONFIG,
            Self::AlreadyExists { .. } => ErrorCode::ALREADY_EXISTS,
            Self::Unprepared { .. } => ErrorCode::UNPREPARED,
            Self::Other { code, .. } => *code,
        }
    }

    /// Decodes the payload of `code` (everything after `<message>`).
    pub fn decode(code: ErrorCode, r: &mut Reader, version: ProtocolVersion) -> DecodeResult<Self> {
        if !code.is_defined_in(version) {
            return Ok(Self::Other {
                code,
                payload: r.read_raw(r.remaining(), "error.payload")?,
            });
        }
        let cl = |r: &mut Reader| r.read_consistency("error.consistency");
        let int = |r: &mut Reader, field| r.read_int(field);
        Ok(match code {
            ErrorCode::SERVER => Self::Server,
            ErrorCode::PROTOCOL => Self::Protocol,
            ErrorCode::BAD_CREDENTIALS => Self::BadCredentials,
            ErrorCode::UNAVAILABLE => Self::Unavailable {
                consistency: cl(r)?,
                required: int(r, "error.required")?,
                alive: int(r, "error.alive")?,
            },
            ErrorCode::OVERLOADED => Self::Overloaded,
            ErrorCode::IS_BOOTSTRAPPING => Self::IsBootstrapping,
            ErrorCode::TRUNCATE => Self::Truncate,
            ErrorCode::WRITE_TIMEOUT => {
                let consistency = cl(r)?;
                let received = int(r, "error.received")?;
                let block_for = int(r, "error.block_for")?;
                let write_type = WriteType::decode(r)?;
                let contentions = if version >= ProtocolVersion::V5 && write_type.is_cas() {
                    Some(r.read_short("error.contentions")?)
                } else {
                    None
                };
                Self::WriteTimeout {
                    consistency,
                    received,
                    block_for,
                    write_type,
                    contentions,
                }
            }
            ErrorCode::READ_TIMEOUT => Self::ReadTimeout {
                consistency: cl(r)?,
                received: int(r, "error.received")?,
                block_for: int(r, "error.block_for")?,
                data_present: r.read_u8("error.data_present")?,
            },
            ErrorCode::READ_FAILURE => Self::ReadFailure {
                consistency: cl(r)?,
                received: int(r, "error.received")?,
                block_for: int(r, "error.block_for")?,
                failures: Failures::decode(r, version)?,
                data_present: r.read_u8("error.data_present")?,
            },
            ErrorCode::FUNCTION_FAILURE => Self::FunctionFailure {
                keyspace: r.read_string("error.keyspace")?,
                function: r.read_string("error.function")?,
                arg_types: r.read_string_list("error.arg_types")?,
            },
            ErrorCode::WRITE_FAILURE => Self::WriteFailure {
                consistency: cl(r)?,
                received: int(r, "error.received")?,
                block_for: int(r, "error.block_for")?,
                failures: Failures::decode(r, version)?,
                write_type: WriteType::decode(r)?,
            },
            ErrorCode::CDC_WRITE_FAILURE => Self::CdcWriteFailure,
            ErrorCode::CAS_WRITE_UNKNOWN => Self::CasWriteUnknown {
                consistency: cl(r)?,
                received: int(r, "error.received")?,
                block_for: int(r, "error.block_for")?,
            },
            ErrorCode::SYNTAX => Self::Syntax,
            ErrorCode::UNAUTHORIZED => Self::Unauthorized,
            ErrorCode::INVALID => Self::Invalid,
            ErrorCode::CONFIG => Self::Config,
            ErrorCode::ALREADY_EXISTS => Self::AlreadyExists {
                keyspace: r.read_string("error.keyspace")?,
                table: r.read_string("error.table")?,
            },
            ErrorCode::UNPREPARED => Self::Unprepared {
                id: r.read_short_bytes("error.id")?,
            },
            // `is_defined_in` only accepts the codes matched above.
            other => Self::Other {
                code: other,
                payload: r.read_raw(r.remaining(), "error.payload")?,
            },
        })
    }

    /// The `<cl><int><int>` that opens the payload of UNAVAILABLE (required,
    /// alive) and of the timeouts and failures (received, block_for): one
    /// wire layout, so one writer.
    fn consistency_and_counts(&self) -> Option<(Consistency, i32, i32)> {
        match *self {
            Self::Unavailable {
                consistency,
                required,
                alive,
            } => Some((consistency, required, alive)),
            Self::WriteTimeout {
                consistency,
                received,
                block_for,
                ..
            }
            | Self::ReadTimeout {
                consistency,
                received,
                block_for,
                ..
            }
            | Self::ReadFailure {
                consistency,
                received,
                block_for,
                ..
            }
            | Self::WriteFailure {
                consistency,
                received,
                block_for,
                ..
            }
            | Self::CasWriteUnknown {
                consistency,
                received,
                block_for,
            } => Some((consistency, received, block_for)),
            _ => None,
        }
    }

    /// Encodes the payload (everything after `<message>`). Fails for a code
    /// that `version` does not define (use [`ErrorDetails::Other`] to send
    /// one anyway) and for a v5 CAS write timeout without contentions.
    pub fn encode(&self, buf: &mut BytesMut, version: ProtocolVersion) -> EncodeResult<()> {
        let code = self.code();
        if !matches!(self, Self::Other { .. }) && !code.is_defined_in(version) {
            return Err(EncodeError::UnsupportedInVersion {
                what: code.name().unwrap_or("error code"),
                version: version.number(),
            });
        }
        if let Some((consistency, first, second)) = self.consistency_and_counts() {
            put_consistency(buf, consistency);
            buf.put_i32(first);
            buf.put_i32(second);
        }
        match self {
            // No payload, or none past the counts written above.
            Self::Server
            | Self::Protocol
            | Self::BadCredentials
            | Self::Unavailable { .. }
            | Self::Overloaded
            | Self::IsBootstrapping
            | Self::Truncate
            | Self::CdcWriteFailure
            | Self::CasWriteUnknown { .. }
            | Self::Syntax
            | Self::Unauthorized
            | Self::Invalid
            | Self::Config => {}
            Self::WriteTimeout {
                write_type,
                contentions,
                ..
            } => {
                write_type.encode(buf)?;
                if version >= ProtocolVersion::V5 && write_type.is_cas() {
                    let n = contentions.ok_or_else(|| {
                        EncodeError::Invalid(
                            "a v5 CAS write timeout needs its number of contentions".into(),
                        )
                    })?;
                    buf.put_u16(n);
                }
            }
            Self::ReadTimeout { data_present, .. } => buf.put_u8(*data_present),
            Self::ReadFailure {
                failures,
                data_present,
                ..
            } => {
                failures.encode(buf, version)?;
                buf.put_u8(*data_present);
            }
            Self::FunctionFailure {
                keyspace,
                function,
                arg_types,
            } => {
                put_string(buf, keyspace, "error.keyspace")?;
                put_string(buf, function, "error.function")?;
                put_string_list(buf, arg_types, "error.arg_types")?;
            }
            Self::WriteFailure {
                failures,
                write_type,
                ..
            } => {
                failures.encode(buf, version)?;
                write_type.encode(buf)?;
            }
            Self::AlreadyExists { keyspace, table } => {
                put_string(buf, keyspace, "error.keyspace")?;
                put_string(buf, table, "error.table")?;
            }
            Self::Unprepared { id } => put_short_bytes(buf, id, "error.id")?,
            Self::Other { payload, .. } => buf.put_slice(payload),
        }
        Ok(())
    }
}

/// An ERROR message.
///
/// ```
/// use ferry_wire::response::{ErrorCode, ErrorDetails, ErrorResponse};
/// use ferry_wire::{Consistency, ProtocolVersion, Reader};
/// let err = ErrorResponse::new(
///     ErrorDetails::Unavailable { consistency: Consistency::Quorum, required: 2, alive: 1 },
///     "Cannot achieve consistency level QUORUM",
/// );
/// let mut buf = bytes::BytesMut::new();
/// err.encode(&mut buf, ProtocolVersion::V4).unwrap();
/// let back = ErrorResponse::decode(&mut Reader::new(buf.freeze()), ProtocolVersion::V4).unwrap();
/// assert_eq!(back.code(), ErrorCode::UNAVAILABLE);
/// assert_eq!(back, err);
/// assert!(ErrorResponse::protocol_error("bad frame").is_protocol_error());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ErrorResponse {
    /// The human-readable message.
    pub message: String,
    /// The code and its payload.
    pub details: ErrorDetails,
}

impl ErrorResponse {
    /// An error with `details` and `message`.
    pub fn new(details: ErrorDetails, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            details,
        }
    }

    /// A protocol error (0x000A): what a server answers to a message that
    /// breaks the protocol, and what a client gets when it offers a protocol
    /// version the server does not speak.
    pub fn protocol_error(message: impl Into<String>) -> Self {
        Self::new(ErrorDetails::Protocol, message)
    }

    /// A server error (0x0000).
    pub fn server_error(message: impl Into<String>) -> Self {
        Self::new(ErrorDetails::Server, message)
    }

    /// The error code.
    pub fn code(&self) -> ErrorCode {
        self.details.code()
    }

    /// Whether this is a protocol error (0x000A).
    pub fn is_protocol_error(&self) -> bool {
        self.code() == ErrorCode::PROTOCOL
    }

    /// Decodes an ERROR body.
    pub fn decode(r: &mut Reader, version: ProtocolVersion) -> DecodeResult<Self> {
        let code = ErrorCode(r.read_int("error.code")?);
        let message = r.read_string("error.message")?;
        let details = ErrorDetails::decode(code, r, version)?;
        Ok(Self { message, details })
    }

    /// Encodes an ERROR body.
    pub fn encode(&self, buf: &mut BytesMut, version: ProtocolVersion) -> EncodeResult<()> {
        buf.put_i32(self.code().0);
        put_string(buf, &self.message, "error.message")?;
        self.details.encode(buf, version)
    }
}

impl fmt::Display for ErrorResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.message)
    }
}

impl std::error::Error for ErrorResponse {}
