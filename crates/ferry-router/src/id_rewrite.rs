//! Swapping prepared statement ids in a raw EXECUTE or BATCH body.
//!
//! The source and the target give the same statement different ids when
//! their versions hash differently (or after a re-prepare), so the proxy
//! rewrites the ids of every request it mirrors to the target. Ids are
//! `[short bytes]`, and the two ids may differ in length, so the body is
//! spliced: the bytes around each id are copied as they are, bound values
//! are never decoded or re-encoded.
//!
//! ```
//! use bytes::{BufMut, Bytes, BytesMut};
//! use ferry_router::id_rewrite::{locate_prepared_ids, splice_ids};
//! use ferry_wire::frame::FrameFlags;
//! use ferry_wire::{Opcode, ProtocolVersion};
//!
//! // EXECUTE id=AA BB, consistency ONE, no flags.
//! let body = Bytes::from_static(&[0, 2, 0xAA, 0xBB, 0, 1, 0]);
//! let slots = locate_prepared_ids(Opcode::Execute, ProtocolVersion::V4, FrameFlags::NONE, &body).unwrap();
//! assert_eq!(slots.len(), 1);
//! assert_eq!(&slots[0].id[..], &[0xAA, 0xBB]);
//! let out = splice_ids(&body, &slots, |_| Some(Bytes::from_static(&[1, 2, 3]))).unwrap();
//! assert_eq!(&out[..], &[0, 3, 1, 2, 3, 0, 1, 0]);
//! ```

use std::ops::Range;

use bytes::{BufMut, Bytes, BytesMut};
use ferry_wire::frame::FrameFlags;
use ferry_wire::{DecodeError, DecodeErrorKind, DecodeResult, EncodeError, Opcode};
use ferry_wire::{ProtocolVersion, Reader};

/// Which id a [`IdSlot`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    /// A prepared statement id (EXECUTE, or a BATCH child of kind 1).
    Statement,
    /// The v5 result metadata id that follows an EXECUTE's statement id.
    ResultMetadata,
}

/// One id in a body: where its `[short bytes]` sits (length prefix
/// included) and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdSlot {
    /// Byte range in the body, from the two length bytes to the id's end.
    pub range: Range<usize>,
    /// The id.
    pub id: Bytes,
    /// Statement id or result metadata id.
    pub kind: IdKind,
    /// For a BATCH, the child's index; 0 for EXECUTE.
    pub child: usize,
}

/// Finds every prepared id in an (uncompressed) EXECUTE or BATCH body, in
/// body order. Other opcodes have none. `flags` are the frame's header
/// flags (a custom payload precedes the message from v4 on).
///
/// Only the part of the body up to the last id is walked; values are
/// skipped by their length prefixes. Errors name the field and the offset
/// in the body.
pub fn locate_prepared_ids(
    opcode: Opcode,
    version: ProtocolVersion,
    flags: FrameFlags,
    body: &Bytes,
) -> DecodeResult<Vec<IdSlot>> {
    if !matches!(opcode, Opcode::Execute | Opcode::Batch) {
        return Ok(Vec::new());
    }
    let mut r = Reader::new(body.clone());
    if flags.contains(FrameFlags::CUSTOM_PAYLOAD) && version >= ProtocolVersion::V4 {
        r.read_bytes_map("custom_payload")?;
    }
    let mut slots = Vec::new();
    if opcode == Opcode::Execute {
        slots.push(read_slot(&mut r, "execute.id", IdKind::Statement, 0)?);
        if version >= ProtocolVersion::V5 {
            slots.push(read_slot(
                &mut r,
                "execute.result_metadata_id",
                IdKind::ResultMetadata,
                0,
            )?);
        }
        return Ok(slots);
    }
    r.read_u8("batch.type")?;
    let n = r.read_short("batch.query_count")?;
    for child in 0..usize::from(n) {
        let kind_offset = r.offset();
        match r.read_u8("batch.query.kind")? {
            0 => {
                r.read_long_string_bytes("batch.query.string")?;
            }
            1 => slots.push(read_slot(
                &mut r,
                "batch.query.id",
                IdKind::Statement,
                child,
            )?),
            k => {
                return Err(DecodeError::new(
                    "batch.query.kind",
                    kind_offset,
                    DecodeErrorKind::Invalid(format!("batch statement kind {k}, expected 0 or 1")),
                ))
            }
        }
        let values = r.read_short("batch.query.value_count")?;
        for _ in 0..values {
            skip_value(&mut r)?;
        }
    }
    Ok(slots)
}

fn read_slot(
    r: &mut Reader,
    field: &'static str,
    kind: IdKind,
    child: usize,
) -> DecodeResult<IdSlot> {
    let start = r.offset();
    let id = r.read_short_bytes(field)?;
    Ok(IdSlot {
        range: start..r.offset(),
        id,
        kind,
        child,
    })
}

/// Skips one `[value]` (v2's `[bytes]` has the same shape): a length, then
/// that many bytes; -1 is null and -2 unset, with no bytes.
fn skip_value(r: &mut Reader) -> DecodeResult<()> {
    const FIELD: &str = "batch.query.value";
    let start = r.offset();
    match r.read_int(FIELD)? {
        n if n >= 0 => r.skip(n as usize, FIELD),
        -1 | -2 => Ok(()),
        n => Err(DecodeError::new(
            FIELD,
            start,
            DecodeErrorKind::NegativeLength(i64::from(n)),
        )),
    }
}

/// Rebuilds `body` with the ids that `replace` maps to new values; `None`
/// (or the same id) keeps a slot as it is. Returns the body itself (no
/// copy) when nothing changes.
///
/// `slots` must come from [`locate_prepared_ids`] on this very body (in
/// order, non-overlapping); anything else is reported as an error rather
/// than producing a corrupt body.
pub fn splice_ids<F>(body: &Bytes, slots: &[IdSlot], mut replace: F) -> Result<Bytes, EncodeError>
where
    F: FnMut(&IdSlot) -> Option<Bytes>,
{
    let replacements: Vec<Option<Bytes>> = slots
        .iter()
        .map(|slot| replace(slot).filter(|new| *new != slot.id))
        .collect();
    if replacements.iter().all(Option::is_none) {
        return Ok(body.clone());
    }
    let grown: usize = replacements.iter().flatten().map(Bytes::len).sum();
    let mut out = BytesMut::with_capacity(body.len().saturating_add(grown));
    let mut copied = 0;
    for (slot, new) in slots.iter().zip(replacements) {
        let Some(new) = new else { continue };
        let before = body
            .get(copied..slot.range.start)
            .ok_or_else(|| EncodeError::Invalid("id slots out of order for this body".into()))?;
        let len = u16::try_from(new.len()).map_err(|_| EncodeError::TooLong {
            field: "prepared id",
            length: new.len(),
            max: usize::from(u16::MAX),
        })?;
        if slot.range.end > body.len() {
            return Err(EncodeError::Invalid("id slot beyond the body".into()));
        }
        out.put_slice(before);
        out.put_u16(len);
        out.put_slice(&new);
        copied = slot.range.end;
    }
    let rest = body
        .get(copied..)
        .ok_or_else(|| EncodeError::Invalid("id slots beyond the body".into()))?;
    out.put_slice(rest);
    Ok(out.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn short_bytes(buf: &mut BytesMut, b: &[u8]) {
        buf.put_u16(b.len() as u16);
        buf.put_slice(b);
    }

    /// A BATCH with a query child, two prepared children with values (one
    /// null, one unset), and the trailing consistency/flags.
    fn batch_body(custom_payload: bool) -> Bytes {
        let mut b = BytesMut::new();
        if custom_payload {
            b.put_u16(1);
            b.put_u16(1);
            b.put_slice(b"k");
            b.put_i32(2);
            b.put_slice(b"vv");
        }
        b.put_u8(0); // logged
        b.put_u16(3);
        b.put_u8(0);
        b.put_i32(5);
        b.put_slice(b"query");
        b.put_u16(0);
        b.put_u8(1);
        short_bytes(&mut b, &[1; 16]);
        b.put_u16(2);
        b.put_i32(3);
        b.put_slice(b"abc");
        b.put_i32(-1);
        b.put_u8(1);
        short_bytes(&mut b, &[2; 16]);
        b.put_u16(1);
        b.put_i32(-2);
        b.put_u16(1); // consistency ONE
        b.put_u8(0); // flags
        b.freeze()
    }

    #[test]
    fn batch_children_ids_are_found_and_spliced_with_other_lengths() {
        for payload in [false, true] {
            let body = batch_body(payload);
            let flags = if payload {
                FrameFlags::CUSTOM_PAYLOAD
            } else {
                FrameFlags::NONE
            };
            let slots =
                locate_prepared_ids(Opcode::Batch, ProtocolVersion::V4, flags, &body).unwrap();
            assert_eq!(slots.len(), 2);
            assert_eq!((slots[0].child, slots[1].child), (1, 2));
            assert_eq!(&slots[0].id[..], &[1; 16]);
            assert_eq!(&slots[1].id[..], &[2; 16]);
            // First id grows to 20 bytes, second shrinks to 4.
            let out = splice_ids(&body, &slots, |s| {
                Some(Bytes::from(if s.child == 1 {
                    vec![9; 20]
                } else {
                    vec![8; 4]
                }))
            })
            .unwrap();
            assert_eq!(out.len(), body.len() + 4 - 12);
            let again =
                locate_prepared_ids(Opcode::Batch, ProtocolVersion::V4, flags, &out).unwrap();
            assert_eq!(&again[0].id[..], &[9; 20]);
            assert_eq!(&again[1].id[..], &[8; 4]);
            // Everything but the ids is byte-identical: put the old ids back.
            let back = splice_ids(&out, &again, |s| {
                Some(Bytes::from(if s.child == 1 {
                    vec![1; 16]
                } else {
                    vec![2; 16]
                }))
            })
            .unwrap();
            assert_eq!(back, body);
        }
    }

    #[test]
    fn v5_execute_has_two_ids() {
        let mut b = BytesMut::new();
        short_bytes(&mut b, b"stmt");
        short_bytes(&mut b, b"meta");
        b.put_u16(1);
        b.put_u32(0);
        let body = b.freeze();
        let slots = locate_prepared_ids(
            Opcode::Execute,
            ProtocolVersion::V5,
            FrameFlags::NONE,
            &body,
        )
        .unwrap();
        assert_eq!(slots.len(), 2);
        assert_eq!(slots[1].kind, IdKind::ResultMetadata);
        let out = splice_ids(&body, &slots, |s| match s.kind {
            IdKind::Statement => None,
            IdKind::ResultMetadata => Some(Bytes::from_static(b"M")),
        })
        .unwrap();
        assert_eq!(&out[..], b"\x00\x04stmt\x00\x01M\x00\x01\x00\x00\x00\x00");
    }

    #[test]
    fn unchanged_ids_do_not_copy() {
        let body = batch_body(false);
        let slots =
            locate_prepared_ids(Opcode::Batch, ProtocolVersion::V3, FrameFlags::NONE, &body)
                .unwrap();
        let out = splice_ids(&body, &slots, |s| Some(s.id.clone())).unwrap();
        assert_eq!(out.as_ptr(), body.as_ptr());
    }

    #[test]
    fn truncated_bodies_are_errors_with_offsets() {
        let body = batch_body(false);
        for cut in 0..body.len() - 3 {
            let short = body.slice(..cut);
            let r =
                locate_prepared_ids(Opcode::Batch, ProtocolVersion::V4, FrameFlags::NONE, &short);
            // The walk stops after the last child's values: cuts in the
            // trailing consistency/flags (last 3 bytes) are not its business.
            let e = r.unwrap_err();
            assert!(e.offset <= cut, "offset {} beyond cut {cut}", e.offset);
        }
    }

    #[test]
    fn foreign_slots_are_refused() {
        let body = Bytes::from_static(&[0, 1, 7]);
        let slot = IdSlot {
            range: 2..9,
            id: Bytes::from_static(&[7]),
            kind: IdKind::Statement,
            child: 0,
        };
        assert!(splice_ids(&body, &[slot], |_| Some(Bytes::from_static(&[1]))).is_err());
    }
}
