//! Every message a server sends: ERROR, READY, AUTHENTICATE, SUPPORTED,
//! RESULT, EVENT, AUTH_CHALLENGE and AUTH_SUCCESS, for protocol v2 to v5.
//!
//! Each message type decodes from a [`Reader`] positioned at the start of
//! the frame body and encodes into a [`BytesMut`]; [`Response`] dispatches
//! on the opcode. Decoders stop at the end of the message and leave any
//! trailing bytes unread: the spec asks clients to ignore extra data at the
//! end of a body, so whether it is an error is the caller's choice
//! (`Reader::finish`).

mod auth_challenge;
mod auth_success;
mod authenticate;
mod error;
mod event;
mod ready;
mod result;
mod supported;

pub use auth_challenge::AuthChallenge;
pub use auth_success::AuthSuccess;
pub use authenticate::Authenticate;
pub use error::{ErrorCode, ErrorDetails, ErrorResponse, Failures, WriteType};
pub use event::{event_type, Event, StatusChangeType, TopologyChangeType};
pub use ready::Ready;
pub use result::{
    kind as result_kind, Cells, ColumnSpec, Prepared, PreparedMetadata, RawCells, ResultResponse,
    RowIter, RowView, Rows, RowsBuilder, RowsMetadata, SchemaChange, SchemaChangeTarget,
    SchemaChangeType, SetKeyspace, TableSpec,
};
pub use supported::Supported;

use bytes::{BufMut, BytesMut};

use crate::error::{DecodeErrorKind, DecodeResult, EncodeError, EncodeResult};
use crate::opcode::Opcode;
use crate::reader::Reader;
use crate::version::ProtocolVersion;

/// Writes a non-negative count as an `[int]`.
pub(crate) fn put_count(buf: &mut BytesMut, count: usize, field: &'static str) -> EncodeResult<()> {
    let n = i32::try_from(count).map_err(|_| EncodeError::TooLong {
        field,
        length: count,
        max: i32::MAX as usize,
    })?;
    buf.put_i32(n);
    Ok(())
}

message_enum! {
    /// Any response message.
    ///
    /// ```
    /// use ferry_wire::response::{Response, Supported};
    /// use ferry_wire::{Opcode, ProtocolVersion, Reader};
    /// let msg = Response::Supported(Supported { options: vec![("COMPRESSION".into(), vec!["lz4".into()])] });
    /// let mut buf = bytes::BytesMut::new();
    /// msg.encode(&mut buf, ProtocolVersion::V4).unwrap();
    /// let back = Response::decode(msg.opcode(), &mut Reader::new(buf.freeze()), ProtocolVersion::V4).unwrap();
    /// assert_eq!(back, msg);
    /// assert!(Response::decode(Opcode::Query, &mut Reader::new(bytes::Bytes::new()), ProtocolVersion::V4).is_err());
    /// ```
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Response {
        /// ERROR.
        Error(ErrorResponse),
        /// READY.
        Ready(Ready),
        /// AUTHENTICATE.
        Authenticate(Authenticate),
        /// SUPPORTED.
        Supported(Supported),
        /// RESULT.
        Result(ResultResponse),
        /// EVENT.
        Event(Event),
        /// AUTH_CHALLENGE.
        AuthChallenge(AuthChallenge),
        /// AUTH_SUCCESS.
        AuthSuccess(AuthSuccess),
    }
}

impl Response {
    /// Decodes the body of a response frame with `opcode`. Request opcodes
    /// are an error (field `response.opcode`).
    pub fn decode(opcode: Opcode, r: &mut Reader, version: ProtocolVersion) -> DecodeResult<Self> {
        Ok(match opcode {
            Opcode::Error => Self::Error(ErrorResponse::decode(r, version)?),
            Opcode::Ready => Self::Ready(Ready::decode(r)?),
            Opcode::Authenticate => Self::Authenticate(Authenticate::decode(r)?),
            Opcode::Supported => Self::Supported(Supported::decode(r)?),
            Opcode::Result => Self::Result(ResultResponse::decode(r, version)?),
            Opcode::Event => Self::Event(Event::decode(r, version)?),
            Opcode::AuthChallenge => Self::AuthChallenge(AuthChallenge::decode(r)?),
            Opcode::AuthSuccess => Self::AuthSuccess(AuthSuccess::decode(r)?),
            request => {
                return Err(r.error(
                    "response.opcode",
                    DecodeErrorKind::Invalid(format!(
                        "{} is a request opcode, not a response",
                        request.name()
                    )),
                ))
            }
        })
    }

    /// Encodes the message body.
    pub fn encode(&self, buf: &mut BytesMut, version: ProtocolVersion) -> EncodeResult<()> {
        match self {
            Self::Error(m) => m.encode(buf, version),
            Self::Ready(m) => m.encode(buf),
            Self::Authenticate(m) => m.encode(buf),
            Self::Supported(m) => m.encode(buf),
            Self::Result(m) => m.encode(buf, version),
            Self::Event(m) => m.encode(buf, version),
            Self::AuthChallenge(m) => m.encode(buf),
            Self::AuthSuccess(m) => m.encode(buf),
        }
    }
}
