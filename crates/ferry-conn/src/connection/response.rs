//! A response frame decoded into its message.

use ferry_wire::frame::{BodyExtras, Frame, FrameHeader};
use ferry_wire::response::Response;
use ferry_wire::DecodeResult;

/// A decoded response: the frame header, the tracing id / warnings /
/// custom payload that preceded the message, and the message.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use ferry_conn::ResponseFrame;
/// use ferry_wire::frame::{Frame, FrameHeader};
/// use ferry_wire::response::{Ready, Response};
/// use ferry_wire::{Opcode, ProtocolVersion};
/// let frame = Frame::new(
///     FrameHeader::response(ProtocolVersion::V4, 3, Opcode::Ready, 0),
///     Bytes::new(),
/// );
/// let decoded = ResponseFrame::decode(frame).unwrap();
/// assert_eq!(decoded.header.stream, 3);
/// assert_eq!(decoded.response, Response::Ready(Ready));
/// assert!(decoded.extras.warnings.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseFrame {
    /// The header as received (COMPRESSION flag cleared once decompressed).
    pub header: FrameHeader,
    /// What the header flags put in front of the message.
    pub extras: BodyExtras,
    /// The message.
    pub response: Response,
}

impl ResponseFrame {
    /// Decodes an (already decompressed) response frame. Bytes after the
    /// message are ignored, as the spec asks of clients.
    pub fn decode(frame: Frame) -> DecodeResult<Self> {
        let (extras, mut r) = BodyExtras::split(&frame.header, frame.body)?;
        let response = Response::decode(frame.header.opcode, &mut r, frame.header.version)?;
        Ok(Self {
            header: frame.header,
            extras,
            response,
        })
    }
}
