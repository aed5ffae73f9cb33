//! Protocol versions and the version byte of a frame header.

use std::fmt;

/// A CQL native protocol version that ferry-wire can encode and decode.
///
/// ```
/// use ferry_wire::ProtocolVersion;
/// assert_eq!(ProtocolVersion::from_byte(0x84), Some((ProtocolVersion::V4, true)));
/// assert_eq!(ProtocolVersion::V3.request_byte(), 0x03);
/// assert!(ProtocolVersion::V5.uses_segments());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProtocolVersion {
    /// Protocol v2 (Cassandra 2.0): 8-byte header, one-byte stream id.
    V2 = 2,
    /// Protocol v3 (Cassandra 2.1+): 9-byte header, two-byte stream id.
    V3 = 3,
    /// Protocol v4 (Cassandra 2.2+).
    V4 = 4,
    /// Protocol v5 (Cassandra 4.0+): frames travel inside checksummed segments
    /// once the handshake is done.
    V5 = 5,
}

/// Bit set in the version byte of a response frame.
pub const RESPONSE_BIT: u8 = 0x80;

impl ProtocolVersion {
    /// Every version, oldest first.
    pub const ALL: [ProtocolVersion; 4] = [Self::V2, Self::V3, Self::V4, Self::V5];

    /// Parses a header's version byte into the version and whether the frame
    /// is a response. Returns `None` for versions this codec does not speak
    /// (v1, DSE versions such as 0x41/0x42, anything above v5).
    pub fn from_byte(byte: u8) -> Option<(Self, bool)> {
        let is_response = byte & RESPONSE_BIT != 0;
        Self::from_number(byte & !RESPONSE_BIT).map(|v| (v, is_response))
    }

    /// Maps a plain version number (2..=5) to a version.
    pub fn from_number(n: u8) -> Option<Self> {
        match n {
            2 => Some(Self::V2),
            3 => Some(Self::V3),
            4 => Some(Self::V4),
            5 => Some(Self::V5),
            _ => None,
        }
    }

    /// The plain version number.
    pub fn number(self) -> u8 {
        self as u8
    }

    /// Version byte of a request frame.
    pub fn request_byte(self) -> u8 {
        self as u8
    }

    /// Version byte of a response frame.
    pub fn response_byte(self) -> u8 {
        self as u8 | RESPONSE_BIT
    }

    /// Length of the frame header: 8 bytes in v2, 9 from v3 on.
    pub fn header_len(self) -> usize {
        if self == Self::V2 {
            8
        } else {
            9
        }
    }

    /// Whether the stream id is one byte (v2) rather than two.
    pub fn has_short_stream_ids(self) -> bool {
        self == Self::V2
    }

    /// Whether collections use `[int]` lengths (v3+) rather than `[short]` (v2).
    pub fn has_int_collection_lengths(self) -> bool {
        self >= Self::V3
    }

    /// Whether frames travel in v5 segments once the connection is ready.
    pub fn uses_segments(self) -> bool {
        self >= Self::V5
    }

    /// Whether query flags are an `[int]` (v5) rather than a `[byte]`.
    pub fn has_int_query_flags(self) -> bool {
        self >= Self::V5
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.number())
    }
}
