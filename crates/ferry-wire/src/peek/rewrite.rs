//! Patching a request frame in place of re-encoding it.

use bytes::Bytes;

use super::request_peek::RequestPeek;
use crate::error::{EncodeError, EncodeResult};
use crate::frame::FrameHeader;
use crate::request::query_flags as QueryFlags;
use crate::version::ProtocolVersion;

/// Adds a default timestamp (microseconds since the epoch) to a QUERY,
/// EXECUTE or BATCH that carries none, so that the same write lands with the
/// same writetime on two clusters.
///
/// Returns `Ok(None)` when there is nothing to do: the request already has a
/// timestamp, is not a QUERY/EXECUTE/BATCH, or the protocol is v2 (which has
/// no default timestamp). The body is copied once around the eight inserted
/// bytes; nothing is re-serialized.
///
/// Deciding whether a statement *may* get a timestamp (not for lightweight
/// transactions or counters) is the router's job: this function only edits.
///
/// See the [module documentation](super) for an example.
pub fn add_default_timestamp(
    header: &FrameHeader,
    body: &Bytes,
    peek: &RequestPeek,
    timestamp_micros: i64,
) -> EncodeResult<Option<(FrameHeader, Bytes)>> {
    let Some(params) = peek.params() else {
        return Ok(None);
    };
    if params.has_timestamp() || header.version < ProtocolVersion::V3 {
        return Ok(None);
    }
    let flags_width = if header.version.has_int_query_flags() {
        4
    } else {
        1
    };
    let (flags_at, ts_at) = (params.flags_offset, params.timestamp_offset);
    let inconsistent = || EncodeError::Invalid("peek does not describe this body".into());
    let before_flags = body.get(..flags_at).ok_or_else(inconsistent)?;
    let between = body
        .get(flags_at + flags_width..ts_at)
        .ok_or_else(inconsistent)?;
    let after = body.get(ts_at..).ok_or_else(inconsistent)?;

    let new_flags = params.flags | QueryFlags::DEFAULT_TIMESTAMP;
    // A Vec of the exact size (its appends inline, unlike `BytesMut`'s
    // `put_*`, which were half this function's cost), turned into `Bytes`
    // without another allocation.
    let mut out = Vec::with_capacity(body.len() + 8);
    out.extend_from_slice(before_flags);
    if flags_width == 4 {
        out.extend_from_slice(&new_flags.to_be_bytes());
    } else {
        out.push(new_flags as u8);
    }
    out.extend_from_slice(between);
    out.extend_from_slice(&timestamp_micros.to_be_bytes());
    out.extend_from_slice(after);

    let length = u32::try_from(out.len()).map_err(|_| EncodeError::TooLong {
        field: "header.length",
        length: out.len(),
        max: u32::MAX as usize,
    })?;
    let new_header = FrameHeader { length, ..*header };
    Ok(Some((new_header, Bytes::from(out))))
}
