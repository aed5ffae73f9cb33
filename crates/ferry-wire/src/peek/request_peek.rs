//! Reading a request frame's routing facts without decoding its values.

use bytes::Bytes;

use super::params_layout::{skip_value, ParamsLayout, ParamsOf};
use crate::error::{DecodeError, DecodeErrorKind, DecodeResult};
use crate::frame::{FrameFlags, FrameHeader};
use crate::opcode::Opcode;
use crate::reader::Reader;
use crate::version::ProtocolVersion;

/// One statement of a BATCH, by reference into the frame body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchChildRef {
    /// A CQL string (kind 0); the bytes are the query text.
    Query(Bytes),
    /// A prepared statement id (kind 1).
    Prepared(Bytes),
}

/// What a request frame asks for, as far as a router cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeekedRequest {
    /// QUERY: the CQL text (raw bytes, not UTF-8 checked) and its parameters.
    Query {
        /// The query text.
        text: Bytes,
        /// Parameters.
        params: ParamsLayout,
    },
    /// PREPARE: the CQL text.
    Prepare {
        /// The query text.
        text: Bytes,
    },
    /// EXECUTE: the prepared id and parameters.
    Execute {
        /// Prepared statement id.
        id: Bytes,
        /// v5 result metadata id.
        result_metadata_id: Option<Bytes>,
        /// Parameters.
        params: ParamsLayout,
    },
    /// BATCH: its type, statements and trailing parameters.
    Batch {
        /// 0 logged, 1 unlogged, 2 counter.
        batch_type: u8,
        /// The statements, in order.
        children: Vec<BatchChildRef>,
        /// Consistency, flags, timestamp.
        params: ParamsLayout,
    },
    /// STARTUP, OPTIONS, REGISTER, AUTH_RESPONSE: not looked into.
    Other(Opcode),
}

/// The result of [`peek_request`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestPeek {
    /// Offset in the body where the message starts (after a custom payload).
    pub message_offset: usize,
    /// What the request is.
    pub request: PeekedRequest,
}

impl RequestPeek {
    /// The parameters of a QUERY, EXECUTE or BATCH.
    pub fn params(&self) -> Option<&ParamsLayout> {
        match &self.request {
            PeekedRequest::Query { params, .. }
            | PeekedRequest::Execute { params, .. }
            | PeekedRequest::Batch { params, .. } => Some(params),
            _ => None,
        }
    }
}

/// Reads the routing facts of an (uncompressed) request frame body.
///
/// Error offsets count from the start of the frame (header included).
/// See the [module documentation](super) for an example.
pub fn peek_request(header: &FrameHeader, body: &Bytes) -> DecodeResult<RequestPeek> {
    let version = header.version;
    let base = header.encoded_len();
    if header.is_response {
        return Err(DecodeError::new(
            "header.version",
            0,
            DecodeErrorKind::Invalid("expected a request frame, found a response".into()),
        ));
    }
    if header.flags.contains(FrameFlags::COMPRESSION) {
        return Err(DecodeError::new(
            "header.flags",
            1,
            DecodeErrorKind::Invalid("peek needs the decompressed body".into()),
        ));
    }
    let mut r = Reader::with_base_offset(body.clone(), base);
    if header.flags.contains(FrameFlags::CUSTOM_PAYLOAD) && version >= ProtocolVersion::V4 {
        r.read_bytes_map("custom_payload")?;
    }
    let message_offset = r.offset() - base;
    let start = r.offset();
    let request = match header.opcode {
        Opcode::Query => {
            let text = r.read_long_string_bytes("query.query")?;
            let params = ParamsLayout::read(&mut r, version, start, ParamsOf::Query)?;
            PeekedRequest::Query { text, params }
        }
        Opcode::Prepare => PeekedRequest::Prepare {
            text: r.read_long_string_bytes("prepare.query")?,
        },
        Opcode::Execute => {
            let id = r.read_short_bytes("execute.id")?;
            let result_metadata_id = if version >= ProtocolVersion::V5 {
                Some(r.read_short_bytes("execute.result_metadata_id")?)
            } else {
                None
            };
            let params = ParamsLayout::read(&mut r, version, start, ParamsOf::Query)?;
            PeekedRequest::Execute {
                id,
                result_metadata_id,
                params,
            }
        }
        Opcode::Batch => read_batch(&mut r, version, start)?,
        other => PeekedRequest::Other(other),
    };
    let request = shift_offsets(request, message_offset);
    Ok(RequestPeek {
        message_offset,
        request,
    })
}

fn read_batch(
    r: &mut Reader,
    version: ProtocolVersion,
    start: usize,
) -> DecodeResult<PeekedRequest> {
    let batch_type = r.read_u8("batch.type")?;
    let n = r.read_short("batch.query_count")?;
    let mut children = Vec::with_capacity(usize::from(n).min(r.remaining() / 5));
    for _ in 0..n {
        let kind_offset = r.offset();
        let child = match r.read_u8("batch.query.kind")? {
            0 => BatchChildRef::Query(r.read_long_string_bytes("batch.query.string")?),
            1 => BatchChildRef::Prepared(r.read_short_bytes("batch.query.id")?),
            k => {
                return Err(DecodeError::new(
                    "batch.query.kind",
                    kind_offset,
                    DecodeErrorKind::Invalid(format!("batch statement kind {k}, expected 0 or 1")),
                ))
            }
        };
        let values = r.read_short("batch.query.value_count")?;
        for _ in 0..values {
            skip_value(r, "batch.query.value")?;
        }
        children.push(child);
    }
    let params = ParamsLayout::read(r, version, start, ParamsOf::Batch)?;
    Ok(PeekedRequest::Batch {
        batch_type,
        children,
        params,
    })
}

/// Layout offsets are measured from the message start; callers want them
/// from the body start, which differs when a custom payload precedes.
fn shift_offsets(mut request: PeekedRequest, by: usize) -> PeekedRequest {
    match &mut request {
        PeekedRequest::Query { params, .. }
        | PeekedRequest::Execute { params, .. }
        | PeekedRequest::Batch { params, .. } => {
            params.flags_offset += by;
            params.timestamp_offset += by;
        }
        _ => {}
    }
    request
}
