//! A whole frame (called an *envelope* in protocol v5): header plus body.

use bytes::{Bytes, BytesMut};

use super::header::{FrameFlags, FrameHeader};
use crate::compression::Compression;
use crate::error::{DecodeError, DecodeErrorKind, DecodeResult, EncodeError, EncodeResult};
use crate::version::ProtocolVersion;

/// The spec's limit on a frame body: "currently a frame is limited to 256MB".
pub const MAX_FRAME_LEN: usize = 256 * 1024 * 1024;

/// Largest body the `[int]`-sized length field can announce.
const MAX_ENCODABLE_BODY: usize = i32::MAX as usize;

/// A frame: its header and its (possibly compressed) body.
///
/// The body is a [`Bytes`] slice of the received buffer, so decoding a frame
/// copies nothing. [`Frame::new`] keeps `header.length` equal to the body
/// length; [`Frame::encode`] always writes the real body length.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use ferry_wire::frame::{Frame, FrameHeader};
/// use ferry_wire::{Opcode, ProtocolVersion};
/// let header = FrameHeader::request(ProtocolVersion::V4, 3, Opcode::Query, 0);
/// let frame = Frame::new(header, Bytes::from_static(b"body"));
/// assert_eq!(frame.header.length, 4);
/// let mut buf = BytesMut::new();
/// frame.encode(&mut buf).unwrap();
/// assert_eq!(buf.len(), 9 + 4);
/// assert_eq!(&buf[9..], b"body");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The header; `length` matches `body.len()` for frames built by this crate.
    pub header: FrameHeader,
    /// The body as carried on the wire (compressed if the COMPRESSION flag is set).
    pub body: Bytes,
}

impl Frame {
    /// Builds a frame, setting `header.length` from the body. A body over
    /// 4 GiB (which [`Frame::encode`] would refuse anyway) saturates.
    pub fn new(mut header: FrameHeader, body: Bytes) -> Frame {
        header.length = u32::try_from(body.len()).unwrap_or(u32::MAX);
        Frame { header, body }
    }

    /// Number of bytes [`Frame::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        self.header.encoded_len() + self.body.len()
    }

    /// Appends header and body to `buf`. The length field is the actual body
    /// length, whatever `header.length` says.
    ///
    /// Errors if the body is longer than an `[int]` can announce.
    pub fn encode(&self, buf: &mut BytesMut) -> EncodeResult<()> {
        let header = self.header_for_encoding()?;
        buf.reserve(self.encoded_len());
        header.encode(buf);
        buf.extend_from_slice(&self.body);
        Ok(())
    }

    /// The header with its length field set to the body length, checked.
    pub(crate) fn header_for_encoding(&self) -> EncodeResult<FrameHeader> {
        let length = u32::try_from(self.body.len())
            .ok()
            .filter(|&l| l as usize <= MAX_ENCODABLE_BODY)
            .ok_or(EncodeError::TooLong {
                field: "header.length",
                length: self.body.len(),
                max: MAX_ENCODABLE_BODY,
            })?;
        Ok(FrameHeader {
            length,
            ..self.header
        })
    }

    /// Compresses the body and sets the COMPRESSION flag (v2-v4).
    ///
    /// Returns the frame unchanged if it is already compressed, if it is a v5
    /// envelope (v5 compresses segments; the envelope flag is ignored), or in
    /// the practically impossible case that the body is too large for the
    /// format: an uncompressed frame is always a valid frame.
    pub fn compress(self, compression: Compression) -> Frame {
        if self.header.version.uses_segments()
            || self.header.flags.contains(FrameFlags::COMPRESSION)
        {
            return self;
        }
        match compression.compress(&self.body) {
            Ok(body) => {
                let mut header = self.header;
                header.flags.set(FrameFlags::COMPRESSION, true);
                Frame::new(header, body)
            }
            Err(_) => self,
        }
    }

    /// Decompresses the body if the COMPRESSION flag is set, clearing the flag;
    /// the result is at most [`MAX_FRAME_LEN`] bytes.
    ///
    /// `negotiated` is the algorithm agreed in STARTUP. A compressed frame
    /// on a connection without compression is an error (field
    /// `header.flags`). v5 envelopes are returned as is: the flag is
    /// deprecated there and ignored.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use ferry_wire::compression::Compression;
    /// use ferry_wire::frame::{Frame, FrameFlags, FrameHeader};
    /// use ferry_wire::{Opcode, ProtocolVersion};
    /// let h = FrameHeader::response(ProtocolVersion::V4, 1, Opcode::Result, 0);
    /// let plain = Frame::new(h, Bytes::from(vec![0u8; 100]));
    /// let packed = plain.clone().compress(Compression::Lz4);
    /// assert!(packed.header.flags.contains(FrameFlags::COMPRESSION));
    /// assert!(packed.clone().decompress(None).is_err());
    /// assert_eq!(packed.decompress(Some(Compression::Lz4)).unwrap(), plain);
    /// ```
    pub fn decompress(self, negotiated: Option<Compression>) -> DecodeResult<Frame> {
        self.decompress_with_limit(negotiated, MAX_FRAME_LEN)
    }

    /// [`Frame::decompress`] with a custom limit on the decompressed size.
    pub fn decompress_with_limit(
        self,
        negotiated: Option<Compression>,
        max_len: usize,
    ) -> DecodeResult<Frame> {
        if self.header.version.uses_segments()
            || !self.header.flags.contains(FrameFlags::COMPRESSION)
        {
            return Ok(self);
        }
        let Some(compression) = negotiated else {
            return Err(DecodeError::new(
                "header.flags",
                1,
                DecodeErrorKind::Invalid(
                    "COMPRESSION flag set but no compression was negotiated in STARTUP".into(),
                ),
            ));
        };
        let body_offset = self.header.encoded_len();
        let body = compression
            .decompress(&self.body, max_len)
            .map_err(|e| e.shifted(body_offset))?;
        let mut header = self.header;
        header.flags.set(FrameFlags::COMPRESSION, false);
        Ok(Frame::new(header, body))
    }

    /// Shorthand for the frame's protocol version.
    pub fn version(&self) -> ProtocolVersion {
        self.header.version
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opcode::Opcode;

    #[test]
    fn encode_uses_actual_body_length() {
        let mut frame = Frame::new(
            FrameHeader::request(ProtocolVersion::V3, 1, Opcode::Options, 0),
            Bytes::from_static(b"xyz"),
        );
        frame.header.length = 999;
        let mut buf = BytesMut::new();
        frame.encode(&mut buf).unwrap();
        assert_eq!(&buf[5..9], &[0, 0, 0, 3]);
    }

    #[test]
    fn v5_envelopes_are_never_body_compressed() {
        let frame = Frame::new(
            FrameHeader::request(ProtocolVersion::V5, 1, Opcode::Query, 0),
            Bytes::from(vec![1u8; 64]),
        );
        let same = frame.clone().compress(Compression::Snappy);
        assert_eq!(same, frame);
    }

    #[test]
    fn decompress_error_offsets_count_from_frame_start() {
        let mut header = FrameHeader::response(ProtocolVersion::V4, 1, Opcode::Result, 0);
        header.flags = FrameFlags::COMPRESSION;
        let frame = Frame::new(header, Bytes::from_static(&[0, 0, 0, 10, 0xff]));
        let e = frame.decompress(Some(Compression::Lz4)).unwrap_err();
        assert!(matches!(e.kind, DecodeErrorKind::Decompression(_)), "{e}");
        assert_eq!(e.offset, 9 + 4);
    }
}
