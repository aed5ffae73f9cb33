//! The frame header: version, flags, stream id, opcode, body length.
//!
//! v2 headers are 8 bytes with a one-byte stream id; v3 and later are 9 bytes
//! with a two-byte stream id. Everything else is laid out the same.

use bytes::{BufMut, BytesMut};

use crate::error::{DecodeError, DecodeErrorKind, DecodeResult};
use crate::opcode::Opcode;
use crate::version::ProtocolVersion;

/// Header flags (the `flags` byte).
///
/// ```
/// use ferry_wire::frame::FrameFlags;
/// let f = FrameFlags::COMPRESSION | FrameFlags::TRACING;
/// assert!(f.contains(FrameFlags::TRACING));
/// assert!(!f.contains(FrameFlags::WARNING));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FrameFlags(pub u8);

impl FrameFlags {
    /// No flag set.
    pub const NONE: FrameFlags = FrameFlags(0);
    /// The body is compressed (v2-v4; in v5 compression is per segment).
    pub const COMPRESSION: FrameFlags = FrameFlags(0x01);
    /// Request: trace it. Response: body starts with a tracing `[uuid]`.
    pub const TRACING: FrameFlags = FrameFlags(0x02);
    /// Body starts with a custom payload `[bytes map]` (v4+).
    pub const CUSTOM_PAYLOAD: FrameFlags = FrameFlags(0x04);
    /// Response body starts with a `[string list]` of warnings (v4+).
    pub const WARNING: FrameFlags = FrameFlags(0x08);
    /// The client opted into a beta protocol version.
    pub const USE_BETA: FrameFlags = FrameFlags(0x10);

    /// Whether every bit of `other` is set.
    pub fn contains(self, other: FrameFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Sets or clears the bits of `other`.
    pub fn set(&mut self, other: FrameFlags, on: bool) {
        if on {
            self.0 |= other.0;
        } else {
            self.0 &= !other.0;
        }
    }
}

impl std::ops::BitOr for FrameFlags {
    type Output = FrameFlags;
    fn bitor(self, rhs: FrameFlags) -> FrameFlags {
        FrameFlags(self.0 | rhs.0)
    }
}

/// A decoded frame header.
///
/// ```
/// use ferry_wire::frame::{FrameFlags, FrameHeader};
/// use ferry_wire::{Opcode, ProtocolVersion};
/// let h = FrameHeader::request(ProtocolVersion::V4, 7, Opcode::Options, 0);
/// let mut buf = bytes::BytesMut::new();
/// h.encode(&mut buf);
/// assert_eq!(&buf[..], &[0x04, 0x00, 0x00, 0x07, 0x05, 0, 0, 0, 0]);
/// assert_eq!(FrameHeader::decode(&buf).unwrap(), h);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameHeader {
    /// Protocol version of the frame.
    pub version: ProtocolVersion,
    /// Whether the direction bit says "response".
    pub is_response: bool,
    /// Header flags.
    pub flags: FrameFlags,
    /// Stream id (one byte in v2, sign-extended here; -1 for events).
    pub stream: i16,
    /// Which message the body holds.
    pub opcode: Opcode,
    /// Length of the body that follows the header.
    pub length: u32,
}

impl FrameHeader {
    /// A request header with no flags.
    pub fn request(version: ProtocolVersion, stream: i16, opcode: Opcode, length: u32) -> Self {
        Self {
            version,
            is_response: false,
            flags: FrameFlags::NONE,
            stream,
            opcode,
            length,
        }
    }

    /// A response header with no flags.
    pub fn response(version: ProtocolVersion, stream: i16, opcode: Opcode, length: u32) -> Self {
        Self {
            is_response: true,
            ..Self::request(version, stream, opcode, length)
        }
    }

    /// Header length in bytes for this frame's version.
    pub fn encoded_len(&self) -> usize {
        self.version.header_len()
    }

    /// Decodes a header from the start of `buf`.
    ///
    /// Errors: `Truncated` if `buf` is shorter than the header,
    /// `UnsupportedVersion` (offset 0) for a version byte outside v2-v5,
    /// `UnknownOpcode` at the opcode's offset.
    pub fn decode(buf: &[u8]) -> DecodeResult<FrameHeader> {
        let first = *buf.first().ok_or(DecodeError::new(
            "header.version",
            0,
            DecodeErrorKind::Truncated { needed: 1 },
        ))?;
        let (version, is_response) = ProtocolVersion::from_byte(first).ok_or(DecodeError::new(
            "header.version",
            0,
            DecodeErrorKind::UnsupportedVersion(first),
        ))?;
        let hlen = version.header_len();
        if buf.len() < hlen {
            return Err(DecodeError::new(
                "header",
                buf.len(),
                DecodeErrorKind::Truncated {
                    needed: hlen - buf.len(),
                },
            ));
        }
        let h = buf.get(..hlen).unwrap_or_default();
        let flags = FrameFlags(h[1]);
        let (stream, rest) = if version.has_short_stream_ids() {
            (i16::from(h[2] as i8), &h[3..])
        } else {
            (i16::from_be_bytes([h[2], h[3]]), &h[4..])
        };
        let opcode_offset = hlen - 5;
        let opcode = Opcode::try_from(rest[0]).map_err(|e| e.shifted(opcode_offset))?;
        let length = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]);
        Ok(FrameHeader {
            version,
            is_response,
            flags,
            stream,
            opcode,
            length,
        })
    }

    /// Appends the encoded header to `buf`.
    ///
    /// The header is staged on the stack and copied in one go: the same
    /// bytes as [`FrameHeader::encode_to`], without an out-of-line
    /// `BytesMut` write per field (`put_slice` is not inlined in `bytes`
    /// 1.x), which was a tenth of a relayed request's instructions.
    pub fn encode(&self, buf: &mut BytesMut) {
        let (staged, len) = self.staged();
        buf.extend_from_slice(staged.get(..len).unwrap_or_default());
    }

    /// The encoded header in a stack array, and its length (8 or 9),
    /// byte by byte (no `BufMut` bookkeeping per field).
    fn staged(&self) -> ([u8; 9], usize) {
        let first = if self.is_response {
            self.version.response_byte()
        } else {
            self.version.request_byte()
        };
        let [l0, l1, l2, l3] = self.length.to_be_bytes();
        let op = self.opcode as u8;
        if self.version.has_short_stream_ids() {
            let s = self.stream as i8 as u8;
            ([first, self.flags.0, s, op, l0, l1, l2, l3, 0], 8)
        } else {
            let [s0, s1] = self.stream.to_be_bytes();
            ([first, self.flags.0, s0, s1, op, l0, l1, l2, l3], 9)
        }
    }

    /// Writes the encoded header into any [`BufMut`], e.g. a stack array
    /// (`&mut [u8]`), so callers that assemble bytes piecemeal (v5 segments)
    /// need no temporary allocation.
    pub fn encode_to<B: BufMut>(&self, buf: &mut B) {
        buf.put_u8(if self.is_response {
            self.version.response_byte()
        } else {
            self.version.request_byte()
        });
        buf.put_u8(self.flags.0);
        if self.version.has_short_stream_ids() {
            buf.put_i8(self.stream as i8);
        } else {
            buf.put_i16(self.stream);
        }
        buf.put_u8(self.opcode as u8);
        buf.put_u32(self.length);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_header_is_eight_bytes_with_signed_stream() {
        let h = FrameHeader::response(ProtocolVersion::V2, -1, Opcode::Event, 3);
        let mut buf = BytesMut::new();
        h.encode(&mut buf);
        assert_eq!(&buf[..], &[0x82, 0, 0xff, 0x0c, 0, 0, 0, 3]);
        assert_eq!(FrameHeader::decode(&buf).unwrap(), h);
    }

    #[test]
    fn dse_version_probe_is_a_typed_error() {
        let e = FrameHeader::decode(&[0x42, 0, 0, 0, 5, 0, 0, 0, 0]).unwrap_err();
        assert_eq!(e.kind, DecodeErrorKind::UnsupportedVersion(0x42));
        assert_eq!(e.offset, 0);
    }

    #[test]
    fn unknown_opcode_offset_points_at_opcode() {
        let e = FrameHeader::decode(&[0x04, 0, 0, 1, 0x04, 0, 0, 0, 0]).unwrap_err();
        assert_eq!(e.offset, 4);
        let e = FrameHeader::decode(&[0x02, 0, 1, 0x04, 0, 0, 0, 0]).unwrap_err();
        assert_eq!(e.offset, 3);
    }

    #[test]
    fn short_buffer_is_truncated() {
        let e = FrameHeader::decode(&[0x04, 0, 0]).unwrap_err();
        assert_eq!(e.kind, DecodeErrorKind::Truncated { needed: 6 });
    }

    #[test]
    fn staged_encoding_is_the_field_by_field_encoding() {
        for version in ProtocolVersion::ALL {
            for stream in [0, 1, 127, -1, 300, i16::MAX] {
                let mut h = FrameHeader::request(version, stream, Opcode::Execute, 77);
                h.flags = FrameFlags(0x0a);
                let mut staged = BytesMut::new();
                h.encode(&mut staged);
                let mut fields = Vec::new();
                h.encode_to(&mut fields);
                assert_eq!(&staged[..], &fields[..], "{version} stream {stream}");
                assert_eq!(staged.len(), h.encoded_len());
            }
        }
    }
}
