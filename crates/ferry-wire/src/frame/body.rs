//! The flag-governed prefix of a frame body, before the message itself.
//!
//! A response body may start with, in this order: a tracing id `[uuid]`
//! (TRACING flag), warnings `[string list]` (WARNING flag, v4+) and a custom
//! payload `[bytes map]` (CUSTOM_PAYLOAD flag, v4+). A request body may only
//! start with a custom payload; a request's TRACING flag asks for tracing
//! and adds nothing to the body. In v2 and v3 the WARNING and CUSTOM_PAYLOAD
//! bits do not exist: they are kept in the header but not interpreted.

use bytes::{Bytes, BytesMut};

use super::header::{FrameFlags, FrameHeader};
use crate::error::{DecodeResult, EncodeError, EncodeResult};
use crate::reader::Reader;
use crate::version::ProtocolVersion;
use crate::writer;

const TRACING_FIELD: &str = "frame.tracing_id";
const WARNINGS_FIELD: &str = "frame.warnings";
const PAYLOAD_FIELD: &str = "frame.custom_payload";

/// Which prefix elements a header announces.
struct Announced {
    tracing_id: bool,
    warnings: bool,
    custom_payload: bool,
}

impl Announced {
    fn from(header: &FrameHeader) -> Self {
        let v4 = header.version >= ProtocolVersion::V4;
        let flags = header.flags;
        Self {
            tracing_id: header.is_response && flags.contains(FrameFlags::TRACING),
            warnings: v4 && header.is_response && flags.contains(FrameFlags::WARNING),
            custom_payload: v4 && flags.contains(FrameFlags::CUSTOM_PAYLOAD),
        }
    }
}

/// The optional elements that precede the message in a (decompressed) body.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use ferry_wire::frame::{BodyExtras, FrameFlags, FrameHeader};
/// use ferry_wire::{Opcode, ProtocolVersion};
/// let extras = BodyExtras {
///     tracing_id: Some([7; 16]),
///     warnings: vec!["slow".into()],
///     custom_payload: None,
/// };
/// let mut header = FrameHeader::response(ProtocolVersion::V4, 1, Opcode::Result, 0);
/// extras.apply_flags(&mut header);
/// assert!(header.flags.contains(FrameFlags::TRACING | FrameFlags::WARNING));
///
/// let mut body = BytesMut::new();
/// extras.encode(&header, &mut body).unwrap();
/// body.extend_from_slice(&[0, 0, 0, 1]); // RESULT kind Void
/// let (back, mut message) = BodyExtras::split(&header, body.freeze()).unwrap();
/// assert_eq!(back, extras);
/// assert_eq!(message.offset(), 9 + 16 + 8); // counted from the frame start
/// assert_eq!(message.read_int("result.kind").unwrap(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BodyExtras {
    /// Tracing session id (responses with the TRACING flag).
    pub tracing_id: Option<[u8; 16]>,
    /// Server warnings (responses with the WARNING flag, v4+).
    pub warnings: Vec<String>,
    /// Custom payload as ordered pairs (CUSTOM_PAYLOAD flag, v4+).
    pub custom_payload: Option<Vec<(String, Option<Bytes>)>>,
}

impl BodyExtras {
    /// Whether there is nothing to prepend.
    pub fn is_empty(&self) -> bool {
        self.tracing_id.is_none() && self.warnings.is_empty() && self.custom_payload.is_none()
    }

    /// Reads the elements announced by `header` from the start of `body`
    /// (already decompressed) and returns them with a [`Reader`] positioned
    /// at the message. Offsets, in errors and from the reader, count from
    /// the start of the frame (the header length is the base).
    pub fn split(header: &FrameHeader, body: Bytes) -> DecodeResult<(BodyExtras, Reader)> {
        let announced = Announced::from(header);
        let mut r = Reader::with_base_offset(body, header.encoded_len());
        let mut extras = BodyExtras::default();
        if announced.tracing_id {
            extras.tracing_id = Some(r.read_uuid(TRACING_FIELD)?);
        }
        if announced.warnings {
            extras.warnings = r.read_string_list(WARNINGS_FIELD)?;
        }
        if announced.custom_payload {
            extras.custom_payload = Some(r.read_bytes_map(PAYLOAD_FIELD)?);
        }
        Ok((extras, r))
    }

    /// Sets the flags that announce the elements present (for a response:
    /// TRACING if there is a tracing id; WARNING if there are warnings;
    /// CUSTOM_PAYLOAD if there is a payload). Never clears a flag, so a
    /// decoded header with an empty warning list keeps its WARNING bit.
    /// WARNING and CUSTOM_PAYLOAD are only set from v4 on.
    pub fn apply_flags(&self, header: &mut FrameHeader) {
        let v4 = header.version >= ProtocolVersion::V4;
        if header.is_response && self.tracing_id.is_some() {
            header.flags.set(FrameFlags::TRACING, true);
        }
        if v4 && header.is_response && !self.warnings.is_empty() {
            header.flags.set(FrameFlags::WARNING, true);
        }
        if v4 && self.custom_payload.is_some() {
            header.flags.set(FrameFlags::CUSTOM_PAYLOAD, true);
        }
    }

    /// Appends the elements that `header`'s flags announce, in protocol
    /// order (the inverse of [`BodyExtras::split`]). Elements the header does
    /// not announce are not written: call [`BodyExtras::apply_flags`] first.
    ///
    /// Errors if a flag announces a tracing id or custom payload that is
    /// `None`, or if a string or list is too long for its length prefix.
    pub fn encode(&self, header: &FrameHeader, buf: &mut BytesMut) -> EncodeResult<()> {
        let announced = Announced::from(header);
        if announced.tracing_id {
            let id = self
                .tracing_id
                .as_ref()
                .ok_or_else(|| missing("TRACING", TRACING_FIELD))?;
            writer::put_uuid(buf, id);
        }
        if announced.warnings {
            writer::put_string_list(buf, &self.warnings, WARNINGS_FIELD)?;
        }
        if announced.custom_payload {
            let payload = self
                .custom_payload
                .as_ref()
                .ok_or_else(|| missing("CUSTOM_PAYLOAD", PAYLOAD_FIELD))?;
            writer::put_bytes_map(buf, payload, PAYLOAD_FIELD)?;
        }
        Ok(())
    }
}

fn missing(flag: &str, field: &str) -> EncodeError {
    EncodeError::Invalid(format!("header has the {flag} flag but `{field}` is None"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::DecodeErrorKind;
    use crate::opcode::Opcode;

    #[test]
    fn request_tracing_flag_carries_no_uuid() {
        let mut h = FrameHeader::request(ProtocolVersion::V4, 1, Opcode::Query, 0);
        h.flags = FrameFlags::TRACING;
        let (extras, r) = BodyExtras::split(&h, Bytes::from_static(b"abcd")).unwrap();
        assert!(extras.is_empty());
        assert_eq!(r.remaining(), 4);
        assert_eq!(r.offset(), 9);
    }

    #[test]
    fn v3_ignores_warning_and_payload_bits() {
        let mut h = FrameHeader::response(ProtocolVersion::V3, 1, Opcode::Result, 0);
        h.flags = FrameFlags::WARNING | FrameFlags::CUSTOM_PAYLOAD;
        let (extras, r) = BodyExtras::split(&h, Bytes::from_static(&[0, 0, 0, 1])).unwrap();
        assert!(extras.is_empty());
        assert_eq!(r.remaining(), 4);
    }

    #[test]
    fn truncated_tracing_id_reports_frame_offset() {
        let mut h = FrameHeader::response(ProtocolVersion::V2, 1, Opcode::Result, 0);
        h.flags = FrameFlags::TRACING;
        let e = BodyExtras::split(&h, Bytes::from_static(&[1, 2, 3])).unwrap_err();
        assert_eq!(e.field, TRACING_FIELD);
        assert_eq!(e.offset, 8);
        assert!(matches!(e.kind, DecodeErrorKind::Truncated { .. }));
    }

    #[test]
    fn request_custom_payload_round_trips_in_order() {
        let mut h = FrameHeader::request(ProtocolVersion::V5, 1, Opcode::Execute, 0);
        let extras = BodyExtras {
            tracing_id: None,
            warnings: vec![],
            custom_payload: Some(vec![
                ("z".into(), Some(Bytes::from_static(b"1"))),
                ("a".into(), None),
            ]),
        };
        extras.apply_flags(&mut h);
        assert_eq!(h.flags, FrameFlags::CUSTOM_PAYLOAD);
        let mut buf = BytesMut::new();
        extras.encode(&h, &mut buf).unwrap();
        let (back, r) = BodyExtras::split(&h, buf.freeze()).unwrap();
        assert_eq!(back, extras);
        assert!(r.is_empty());
    }

    #[test]
    fn announced_but_missing_tracing_id_is_an_encode_error() {
        let mut h = FrameHeader::response(ProtocolVersion::V4, 1, Opcode::Result, 0);
        h.flags = FrameFlags::TRACING;
        assert!(BodyExtras::default()
            .encode(&h, &mut BytesMut::new())
            .is_err());
    }
}
