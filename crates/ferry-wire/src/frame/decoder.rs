//! Streaming frame decoder: cuts whole frames off a growing receive buffer.

use bytes::{Buf, BytesMut};

use super::envelope::{Frame, MAX_FRAME_LEN};
use super::header::FrameHeader;
use crate::error::{DecodeError, DecodeErrorKind, DecodeResult};
use crate::version::ProtocolVersion;

/// Size of the header-plus-body length field at the end of a header.
const LENGTH_FIELD_LEN: usize = 4;

/// Where the frame at the start of `buf` ends.
///
/// Returns `Ok(None)` while the header is incomplete, otherwise the decoded
/// header and the total frame length (header + body), which may exceed
/// `buf.len()`. Header errors (unsupported version, unknown opcode) and a
/// body over `max_frame_len` are reported as soon as the header is in, so a
/// peer cannot make us buffer 256 MiB before we notice.
pub(crate) fn frame_extent(
    buf: &[u8],
    max_frame_len: usize,
) -> DecodeResult<Option<(FrameHeader, usize)>> {
    let Some(&first) = buf.first() else {
        return Ok(None);
    };
    let (version, _) = ProtocolVersion::from_byte(first).ok_or(DecodeError::new(
        "header.version",
        0,
        DecodeErrorKind::UnsupportedVersion(first),
    ))?;
    let header_len = version.header_len();
    if buf.len() < header_len {
        return Ok(None);
    }
    let header = FrameHeader::decode(buf)?;
    let body_len = header.length as usize;
    let too_large = || {
        DecodeError::new(
            "header.length",
            header_len - LENGTH_FIELD_LEN,
            DecodeErrorKind::TooLarge {
                length: body_len,
                max: max_frame_len,
            },
        )
    };
    if body_len > max_frame_len {
        return Err(too_large());
    }
    let total = header_len.checked_add(body_len).ok_or_else(too_large)?;
    Ok(Some((header, total)))
}

/// Decodes unsegmented frames (v2 to v4, and v5 before the handshake ends)
/// from a receive buffer.
///
/// Call [`FrameDecoder::decode`] after each read; it returns `Ok(None)` until
/// a whole frame is buffered, then splits it off the buffer without copying.
/// Error offsets count from the start of the frame being decoded (the start
/// of the buffer). After an error the stream is out of sync: close it.
///
/// ```
/// use bytes::BytesMut;
/// use ferry_wire::frame::FrameDecoder;
/// use ferry_wire::Opcode;
/// let mut decoder = FrameDecoder::new();
/// let mut buf = BytesMut::from(&[0x84, 0, 0, 7, 0x02, 0, 0, 0][..]);
/// assert!(decoder.decode(&mut buf).unwrap().is_none());
/// buf.extend_from_slice(&[0, 0x84]); // rest of READY, then the next frame begins
/// let frame = decoder.decode(&mut buf).unwrap().unwrap();
/// assert_eq!(frame.header.opcode, Opcode::Ready);
/// assert_eq!(frame.header.stream, 7);
/// assert_eq!(&buf[..], &[0x84]);
/// ```
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    max_frame_len: usize,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameDecoder {
    /// A decoder that accepts bodies up to [`MAX_FRAME_LEN`] (256 MiB).
    pub fn new() -> Self {
        Self::with_max_frame_len(MAX_FRAME_LEN)
    }

    /// A decoder that rejects bodies over `max_frame_len` bytes.
    pub fn with_max_frame_len(max_frame_len: usize) -> Self {
        Self { max_frame_len }
    }

    /// The configured body length limit.
    pub fn max_frame_len(&self) -> usize {
        self.max_frame_len
    }

    /// Splits the next whole frame off `buf`, or returns `Ok(None)` (leaving
    /// `buf` untouched) if it is not all there yet.
    ///
    /// Errors: `UnsupportedVersion` (see
    /// [`peek_stream_for_unsupported`](super::peek_stream_for_unsupported) to
    /// answer it), `UnknownOpcode`, `TooLarge` (field `header.length`).
    pub fn decode(&mut self, buf: &mut BytesMut) -> DecodeResult<Option<Frame>> {
        let Some((header, total)) = frame_extent(buf, self.max_frame_len)? else {
            return Ok(None);
        };
        if buf.len() < total {
            return Ok(None);
        }
        // Skip the header and cut the body off: one reference to the
        // buffer taken, where cutting the frame and then splitting its
        // header off took two and dropped one.
        buf.advance(header.encoded_len());
        let body = buf.split_to(total - header.encoded_len()).freeze();
        Ok(Some(Frame { header, body }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opcode::Opcode;
    use bytes::Bytes;

    #[test]
    fn too_large_names_the_length_field_before_the_body_arrives() {
        let mut d = FrameDecoder::with_max_frame_len(100);
        let mut buf = BytesMut::from(&[0x04, 0, 0, 1, 0x07, 0, 0, 0, 101][..]);
        let e = d.decode(&mut buf).unwrap_err();
        assert_eq!(e.field, "header.length");
        assert_eq!(e.offset, 5);
        assert_eq!(
            e.kind,
            DecodeErrorKind::TooLarge {
                length: 101,
                max: 100
            }
        );
    }

    #[test]
    fn v2_frames_use_the_eight_byte_header() {
        let frame = Frame::new(
            FrameHeader::response(ProtocolVersion::V2, -1, Opcode::Event, 0),
            Bytes::from_static(b"evt"),
        );
        let mut buf = BytesMut::new();
        frame.encode(&mut buf).unwrap();
        assert_eq!(buf.len(), 8 + 3);
        let got = FrameDecoder::new().decode(&mut buf).unwrap().unwrap();
        assert_eq!(got, frame);
        assert!(buf.is_empty());
    }

    #[test]
    fn empty_buffer_is_not_an_error() {
        assert!(FrameDecoder::new()
            .decode(&mut BytesMut::new())
            .unwrap()
            .is_none());
    }
}
