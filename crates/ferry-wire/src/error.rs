//! Typed decoding and encoding errors.
//!
//! Every decoding failure names the protocol field being read and the byte
//! offset (from the start of the buffer handed to the decoder) where it went
//! wrong, so a bad frame captured in production can be located with a hex dump.

use std::fmt;

/// Why a decode failed, without the location (see [`DecodeError`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The input ended before the field did.
    Truncated {
        /// How many more bytes the field needs.
        needed: usize,
    },
    /// A length prefix was negative where the protocol does not allow it.
    NegativeLength(i64),
    /// A `[string]` or `[long string]` was not valid UTF-8.
    InvalidUtf8,
    /// A frame's version byte names no protocol version this codec speaks.
    UnsupportedVersion(u8),
    /// An opcode byte that the protocol does not define.
    UnknownOpcode(u8),
    /// A consistency level value that the protocol does not define.
    UnknownConsistency(u16),
    /// A frame or segment length over the configured maximum.
    TooLarge {
        /// Length announced by the header.
        length: usize,
        /// Configured maximum.
        max: usize,
    },
    /// A checksum did not match (v5 segments).
    ChecksumMismatch {
        /// Checksum carried in the input.
        expected: u32,
        /// Checksum computed over the input.
        actual: u32,
    },
    /// Decompression failed or produced an unexpected length.
    Decompression(String),
    /// Bytes left over after a message or value was fully decoded.
    TrailingBytes(usize),
    /// A value that is well-formed bytes but not a legal protocol value
    /// (for example an unknown result kind).
    Invalid(String),
}

impl fmt::Display for DecodeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { needed } => {
                write!(f, "input ends early ({needed} more byte(s) needed)")
            }
            Self::NegativeLength(n) => write!(f, "negative length {n}"),
            Self::InvalidUtf8 => f.write_str("invalid UTF-8"),
            Self::UnsupportedVersion(v) => write!(
                f,
                "unsupported protocol version byte 0x{v:02x} (ferry-wire speaks v2 to v5)"
            ),
            Self::UnknownOpcode(o) => write!(f, "unknown opcode 0x{o:02x}"),
            Self::UnknownConsistency(c) => write!(f, "unknown consistency level 0x{c:04x}"),
            Self::TooLarge { length, max } => write!(
                f,
                "length {length} exceeds the configured maximum of {max} bytes"
            ),
            Self::ChecksumMismatch { expected, actual } => write!(
                f,
                "checksum mismatch (carried 0x{expected:08x}, computed 0x{actual:08x})"
            ),
            Self::Decompression(msg) => write!(f, "decompression failed: {msg}"),
            Self::TrailingBytes(n) => write!(f, "{n} unexpected trailing byte(s)"),
            Self::Invalid(msg) => f.write_str(msg),
        }
    }
}

/// A decoding failure: what went wrong, in which field, at which byte offset.
///
/// ```
/// use ferry_wire::Reader;
/// let mut r = Reader::new(bytes::Bytes::from_static(&[0x00]));
/// let err = r.read_short("query.consistency").unwrap_err();
/// assert_eq!(err.field, "query.consistency");
/// assert_eq!(err.offset, 0);
/// assert!(err.to_string().contains("query.consistency"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// The protocol field being decoded, e.g. `"query.flags"`.
    pub field: &'static str,
    /// Byte offset where the field starts (or where decoding stopped).
    pub offset: usize,
    /// What went wrong.
    pub kind: DecodeErrorKind,
}

impl DecodeError {
    /// Builds an error for `field` at `offset`.
    pub fn new(field: &'static str, offset: usize, kind: DecodeErrorKind) -> Self {
        Self {
            field,
            offset,
            kind,
        }
    }

    /// Returns the same error with its offset moved by `base` bytes: used when
    /// a sub-buffer (a frame body, a collection element) was decoded on its own.
    #[must_use]
    pub fn shifted(mut self, base: usize) -> Self {
        self.offset += base;
        self
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot decode `{}` at byte offset {}: {}",
            self.field, self.offset, self.kind
        )
    }
}

impl std::error::Error for DecodeError {}

/// An encoding failure: a value that the protocol cannot represent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A length does not fit the field's length prefix (e.g. a `[string]`
    /// longer than 65535 bytes, or a v2 collection with more than 65535 items).
    #[error("`{field}` is {length} long, over the protocol limit of {max}")]
    TooLong {
        /// The field being encoded.
        field: &'static str,
        /// Its length.
        length: usize,
        /// The largest length the field's prefix can carry.
        max: usize,
    },
    /// The message or value does not exist in the requested protocol version.
    #[error("`{what}` is not supported by protocol v{version}")]
    UnsupportedInVersion {
        /// What was being encoded.
        what: &'static str,
        /// The protocol version number.
        version: u8,
    },
    /// A value does not match the CQL type it is encoded as.
    #[error("cannot encode {value} as CQL type {cql_type}")]
    TypeMismatch {
        /// Short description of the value.
        value: String,
        /// The target CQL type.
        cql_type: String,
    },
    /// Anything else that makes the message unrepresentable.
    #[error("{0}")]
    Invalid(String),
}

/// Shorthand for decode results.
pub type DecodeResult<T> = Result<T, DecodeError>;
/// Shorthand for encode results.
pub type EncodeResult<T> = Result<T, EncodeError>;
