//! Whole messages: a frame's header, its body extras (tracing id, warnings,
//! custom payload) and the typed request or response, decoded and encoded
//! in one step.
//!
//! This is the convenient layer for clients and tests. The proxy's hot path
//! uses [`crate::peek`] instead and never decodes what it only forwards.
//!
//! ```
//! use bytes::BytesMut;
//! use ferry_wire::message::{RequestMessage, ResponseMessage};
//! use ferry_wire::request::{Options, Request};
//! use ferry_wire::response::{Ready, Response};
//! use ferry_wire::frame::FrameDecoder;
//! use ferry_wire::ProtocolVersion;
//!
//! let req = RequestMessage::new(ProtocolVersion::V4, 5, Request::Options(Options));
//! let mut wire = BytesMut::new();
//! req.encode(&mut wire).unwrap();
//! let frame = FrameDecoder::new().decode(&mut wire).unwrap().unwrap();
//! assert_eq!(RequestMessage::decode(&frame).unwrap(), req);
//!
//! let resp = ResponseMessage::new(ProtocolVersion::V4, 5, Response::Ready(Ready));
//! assert!(resp.header.is_response);
//! ```

use bytes::BytesMut;

use crate::error::{DecodeResult, EncodeError, EncodeResult};
use crate::frame::{BodyExtras, Frame, FrameFlags, FrameHeader};
use crate::request::Request;
use crate::response::Response;
use crate::version::ProtocolVersion;

/// A request with its frame header and body extras.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestMessage {
    /// The header; its `length` is recomputed on encode.
    pub header: FrameHeader,
    /// Custom payload (v4+).
    pub extras: BodyExtras,
    /// The request.
    pub request: Request,
}

/// A response with its frame header and body extras.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseMessage {
    /// The header; its `length` is recomputed on encode.
    pub header: FrameHeader,
    /// Tracing id, warnings, custom payload.
    pub extras: BodyExtras,
    /// The response.
    pub response: Response,
}

impl RequestMessage {
    /// A request on `stream` with no flags and no extras.
    pub fn new(version: ProtocolVersion, stream: i16, request: Request) -> Self {
        Self {
            header: FrameHeader::request(version, stream, request.opcode(), 0),
            extras: BodyExtras::default(),
            request,
        }
    }

    /// Decodes an uncompressed request frame (see [`Frame::decompress`]).
    pub fn decode(frame: &Frame) -> DecodeResult<Self> {
        let (extras, mut r) = BodyExtras::split(&frame.header, frame.body.clone())?;
        let request = Request::decode(frame.header.opcode, &mut r, frame.header.version)?;
        Ok(Self {
            header: frame.header,
            extras,
            request,
        })
    }

    /// Appends the whole frame (header, extras, request) to `buf`.
    pub fn encode(&self, buf: &mut BytesMut) -> EncodeResult<()> {
        encode_frame(self.header, &self.extras, buf, |body, v| {
            self.request.encode(body, v)
        })
    }
}

impl ResponseMessage {
    /// A response on `stream` with no flags and no extras.
    pub fn new(version: ProtocolVersion, stream: i16, response: Response) -> Self {
        Self {
            header: FrameHeader::response(version, stream, response.opcode(), 0),
            extras: BodyExtras::default(),
            response,
        }
    }

    /// Decodes an uncompressed response frame (see [`Frame::decompress`]).
    pub fn decode(frame: &Frame) -> DecodeResult<Self> {
        let (extras, mut r) = BodyExtras::split(&frame.header, frame.body.clone())?;
        let response = Response::decode(frame.header.opcode, &mut r, frame.header.version)?;
        Ok(Self {
            header: frame.header,
            extras,
            response,
        })
    }

    /// Appends the whole frame (header, extras, response) to `buf`.
    pub fn encode(&self, buf: &mut BytesMut) -> EncodeResult<()> {
        encode_frame(self.header, &self.extras, buf, |body, v| {
            self.response.encode(body, v)
        })
    }
}

/// Writes header + extras + message, patching the length once the body is
/// known; leaves `buf` as it was on error.
fn encode_frame(
    mut header: FrameHeader,
    extras: &BodyExtras,
    buf: &mut BytesMut,
    message: impl FnOnce(&mut BytesMut, ProtocolVersion) -> EncodeResult<()>,
) -> EncodeResult<()> {
    extras.apply_flags(&mut header);
    // The body is built uncompressed; compression is applied to frames. In
    // v5 the envelope flag is deprecated and ignored (segments carry the
    // compression), so it is kept as received for an exact round trip.
    if !header.version.uses_segments() {
        header.flags.set(FrameFlags::COMPRESSION, false);
    }
    let start = buf.len();
    let hlen = header.encoded_len();
    buf.resize(start + hlen, 0);
    let result = extras
        .encode(&header, buf)
        .and_then(|()| message(buf, header.version))
        .and_then(|()| {
            let len = buf.len() - start - hlen;
            u32::try_from(len).map_err(|_| EncodeError::TooLong {
                field: "header.length",
                length: len,
                max: u32::MAX as usize,
            })
        });
    match result {
        Ok(length) => {
            header.length = length;
            let mut head = BytesMut::with_capacity(hlen);
            header.encode(&mut head);
            buf[start..start + hlen].copy_from_slice(&head);
            Ok(())
        }
        Err(e) => {
            buf.truncate(start);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::FrameDecoder;
    use crate::request::{Query, Startup};
    use crate::response::{ErrorResponse, Ready, Response};
    use crate::Consistency;

    fn roundtrip_request(msg: &RequestMessage) -> RequestMessage {
        let mut buf = BytesMut::new();
        msg.encode(&mut buf).unwrap();
        let frame = FrameDecoder::new().decode(&mut buf).unwrap().unwrap();
        assert!(buf.is_empty(), "encode wrote exactly one frame");
        RequestMessage::decode(&frame).unwrap()
    }

    #[test]
    fn custom_payload_sets_flag_and_round_trips() {
        let mut msg = RequestMessage::new(
            ProtocolVersion::V4,
            1,
            Request::Query(Query::new("SELECT 1", Consistency::One)),
        );
        msg.extras.custom_payload = Some(vec![("k".into(), Some(bytes::Bytes::from_static(b"v")))]);
        let back = roundtrip_request(&msg);
        assert!(back.header.flags.contains(FrameFlags::CUSTOM_PAYLOAD));
        assert_eq!(back.extras, msg.extras);
        assert_eq!(back.request, msg.request);
    }

    #[test]
    fn v2_header_and_stream() {
        let msg = RequestMessage::new(
            ProtocolVersion::V2,
            -3,
            Request::Startup(Startup::new("3.0.0")),
        );
        let back = roundtrip_request(&msg);
        assert_eq!(back.header.stream, -3);
        assert_eq!(back.header.version, ProtocolVersion::V2);
    }

    #[test]
    fn response_with_warnings_and_tracing() {
        let mut msg = ResponseMessage::new(
            ProtocolVersion::V4,
            9,
            Response::Error(ErrorResponse::server_error("boom")),
        );
        msg.extras.tracing_id = Some([7; 16]);
        msg.extras.warnings = vec!["careful".into()];
        let mut buf = BytesMut::new();
        msg.encode(&mut buf).unwrap();
        let frame = FrameDecoder::new().decode(&mut buf).unwrap().unwrap();
        let back = ResponseMessage::decode(&frame).unwrap();
        assert_eq!(back.extras, msg.extras);
        assert_eq!(back.response, msg.response);
        assert_eq!(back.header.length as usize, frame.body.len());
    }

    #[test]
    fn v5_envelope_keeps_its_ignored_compression_flag() {
        // Found by the message_decode fuzz target: a v5 READY with flag
        // 0x01 re-encoded without it. v5 ignores the flag, so it must
        // survive a decode/encode round trip like any other flag.
        let wire: &[u8] = &[0x85, 0x01, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00];
        let frame = FrameDecoder::new()
            .decode(&mut BytesMut::from(wire))
            .unwrap()
            .unwrap();
        let msg = ResponseMessage::decode(&frame).unwrap();
        let mut again = BytesMut::new();
        msg.encode(&mut again).unwrap();
        assert_eq!(&again[..], wire);
        // Before v5 the flag describes the body, which encode writes
        // uncompressed, so it is cleared.
        let mut v4 = ResponseMessage::new(ProtocolVersion::V4, 0, Response::Ready(Ready));
        v4.header.flags = FrameFlags::COMPRESSION;
        let mut out = BytesMut::new();
        v4.encode(&mut out).unwrap();
        assert_eq!(out[1], 0x00);
    }

    #[test]
    fn failed_encode_leaves_buffer_unchanged() {
        // Unset values do not exist in v3.
        let mut q = Query::new("INSERT", Consistency::One);
        q.parameters.values = Some(crate::request::BoundValues::Positional(vec![
            crate::RawValue::Unset,
        ]));
        let msg = RequestMessage::new(ProtocolVersion::V3, 1, Request::Query(q));
        let mut buf = BytesMut::from(&b"xy"[..]);
        assert!(msg.encode(&mut buf).is_err());
        assert_eq!(&buf[..], b"xy");
    }
}
