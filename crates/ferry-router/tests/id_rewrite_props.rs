//! Prepared id splicing on generated EXECUTE and BATCH bodies: ids of any
//! length are swapped, everything else is kept byte for byte, and no body
//! makes the walk panic.

use bytes::{BufMut, Bytes, BytesMut};
use ferry_router::id_rewrite::{locate_prepared_ids, splice_ids, IdKind};
use ferry_wire::frame::FrameFlags;
use ferry_wire::{Opcode, ProtocolVersion};
use proptest::prelude::*;

/// A batch child: a query text or a prepared id, and its values
/// (`None` = null).
#[derive(Debug, Clone)]
enum Child {
    Query(String),
    Prepared(Vec<u8>),
}

fn batch_body(children: &[(Child, Vec<Option<Vec<u8>>>)]) -> Bytes {
    let mut b = BytesMut::new();
    b.put_u8(1);
    b.put_u16(children.len() as u16);
    for (child, values) in children {
        match child {
            Child::Query(q) => {
                b.put_u8(0);
                b.put_i32(q.len() as i32);
                b.put_slice(q.as_bytes());
            }
            Child::Prepared(id) => {
                b.put_u8(1);
                b.put_u16(id.len() as u16);
                b.put_slice(id);
            }
        }
        b.put_u16(values.len() as u16);
        for v in values {
            match v {
                Some(v) => {
                    b.put_i32(v.len() as i32);
                    b.put_slice(v);
                }
                None => b.put_i32(-1),
            }
        }
    }
    b.put_u16(0x0004); // QUORUM
    b.put_u8(0x20);
    b.put_i64(42);
    b.freeze()
}

fn child() -> impl Strategy<Value = (Child, Vec<Option<Vec<u8>>>)> {
    (
        prop_oneof![
            "[ -~]{0,40}".prop_map(Child::Query),
            prop::collection::vec(any::<u8>(), 0..40).prop_map(Child::Prepared),
        ],
        prop::collection::vec(
            proptest::option::of(prop::collection::vec(any::<u8>(), 0..20)),
            0..4,
        ),
    )
}

proptest! {
    #[test]
    fn batch_ids_are_swapped_and_nothing_else_changes(
        children in prop::collection::vec(child(), 0..6),
        new_ids in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 6),
    ) {
        let body = batch_body(&children);
        let slots = locate_prepared_ids(Opcode::Batch, ProtocolVersion::V4, FrameFlags::NONE, &body).unwrap();
        let prepared: Vec<usize> = children
            .iter()
            .enumerate()
            .filter(|(_, (c, _))| matches!(c, Child::Prepared(_)))
            .map(|(i, _)| i)
            .collect();
        prop_assert_eq!(slots.iter().map(|s| s.child).collect::<Vec<_>>(), prepared.clone());
        let out = splice_ids(&body, &slots, |s| Some(Bytes::from(new_ids[s.child].clone()))).unwrap();
        // The same batch, built with the new ids, is what we must get.
        let expected: Vec<_> = children
            .iter()
            .enumerate()
            .map(|(i, (c, v))| match c {
                Child::Prepared(_) => (Child::Prepared(new_ids[i].clone()), v.clone()),
                other => (other.clone(), v.clone()),
            })
            .collect();
        prop_assert_eq!(out, batch_body(&expected));
    }

    #[test]
    fn execute_ids_of_any_length(
        id in prop::collection::vec(any::<u8>(), 0..64),
        new in prop::collection::vec(any::<u8>(), 0..64),
        meta in prop::collection::vec(any::<u8>(), 0..20),
        rest in prop::collection::vec(any::<u8>(), 0..50),
        v5 in any::<bool>(),
    ) {
        let version = if v5 { ProtocolVersion::V5 } else { ProtocolVersion::V4 };
        let mut b = BytesMut::new();
        b.put_u16(id.len() as u16);
        b.put_slice(&id);
        if v5 {
            b.put_u16(meta.len() as u16);
            b.put_slice(&meta);
        }
        b.put_slice(&rest);
        let body = b.freeze();
        let slots = locate_prepared_ids(Opcode::Execute, version, FrameFlags::NONE, &body).unwrap();
        prop_assert_eq!(slots.len(), if v5 { 2 } else { 1 });
        let out = splice_ids(&body, &slots, |s| match s.kind {
            IdKind::Statement => Some(Bytes::from(new.clone())),
            IdKind::ResultMetadata => None,
        }).unwrap();
        let mut e = BytesMut::new();
        e.put_u16(new.len() as u16);
        e.put_slice(&new);
        if v5 {
            e.put_u16(meta.len() as u16);
            e.put_slice(&meta);
        }
        e.put_slice(&rest);
        prop_assert_eq!(out, e.freeze());
    }

    #[test]
    fn arbitrary_bodies_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..200),
        batch in any::<bool>(),
        flags in any::<u8>(),
        version in 2u8..=5,
    ) {
        let op = if batch { Opcode::Batch } else { Opcode::Execute };
        let body = Bytes::from(bytes);
        let v = ProtocolVersion::from_number(version).unwrap();
        if let Ok(slots) = locate_prepared_ids(op, v, FrameFlags(flags), &body) {
            let _ = splice_ids(&body, &slots, |_| Some(Bytes::from_static(b"new-id")));
        }
    }
}
