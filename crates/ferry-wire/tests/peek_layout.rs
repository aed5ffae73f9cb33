//! Hand-assembled request bodies (from the spec text) read by the peek API.

use bytes::{BufMut, Bytes, BytesMut};
use ferry_wire::frame::{FrameFlags, FrameHeader};
use ferry_wire::peek::{add_default_timestamp, peek_request, BatchChildRef, PeekedRequest};
use ferry_wire::{Consistency, DecodeErrorKind, Opcode, ProtocolVersion};

fn header(version: ProtocolVersion, opcode: Opcode, body: &[u8]) -> FrameHeader {
    FrameHeader::request(version, 1, opcode, body.len() as u32)
}

/// v4 QUERY with named values, page size, paging state and serial consistency.
fn v4_query_body(with_timestamp: bool) -> Bytes {
    let mut b = BytesMut::new();
    let q = b"UPDATE ks.t SET v = :v WHERE k = :k";
    b.put_i32(q.len() as i32);
    b.put_slice(q);
    b.put_u16(0x0006); // LOCAL_QUORUM
    let mut flags = 0x01 | 0x04 | 0x08 | 0x10 | 0x40;
    if with_timestamp {
        flags |= 0x20;
    }
    b.put_u8(flags);
    b.put_u16(2);
    b.put_u16(1);
    b.put_slice(b"v");
    b.put_i32(-2); // unset
    b.put_u16(1);
    b.put_slice(b"k");
    b.put_i32(4);
    b.put_i32(42);
    b.put_i32(5000); // page size
    b.put_i32(3);
    b.put_slice(&[9, 9, 9]); // paging state
    b.put_u16(0x0009); // LOCAL_SERIAL
    if with_timestamp {
        b.put_i64(77);
    }
    b.freeze()
}

#[test]
fn v4_query_fields_are_found() {
    let body = v4_query_body(false);
    let h = header(ProtocolVersion::V4, Opcode::Query, &body);
    let peek = peek_request(&h, &body).unwrap();
    let PeekedRequest::Query { text, params } = &peek.request else {
        panic!("not a query: {peek:?}");
    };
    assert_eq!(&text[..], b"UPDATE ks.t SET v = :v WHERE k = :k");
    assert_eq!(params.consistency, Consistency::LocalQuorum);
    assert_eq!(params.serial_consistency, Some(Consistency::LocalSerial));
    assert_eq!(params.value_count, 2);
    assert_eq!(params.timestamp, None);
    assert_eq!(params.timestamp_offset, body.len());
}

#[test]
fn adding_a_timestamp_equals_the_client_sending_one() {
    let body = v4_query_body(false);
    let h = header(ProtocolVersion::V4, Opcode::Query, &body);
    let peek = peek_request(&h, &body).unwrap();
    let (h2, b2) = add_default_timestamp(&h, &body, &peek, 77)
        .unwrap()
        .unwrap();
    assert_eq!(b2, v4_query_body(true));
    assert_eq!(h2.length as usize, b2.len());
    assert_eq!(h2.stream, h.stream);
    // A request that already has one is left alone.
    let peek2 = peek_request(&h2, &b2).unwrap();
    assert_eq!(peek2.params().unwrap().timestamp, Some(77));
    assert!(add_default_timestamp(&h2, &b2, &peek2, 99)
        .unwrap()
        .is_none());
}

#[test]
fn v5_execute_with_keyspace_and_int_flags() {
    let mut b = BytesMut::new();
    b.put_u16(2);
    b.put_slice(&[0xAB, 0xCD]); // id
    b.put_u16(1);
    b.put_slice(&[0xEF]); // result metadata id
    b.put_u16(0x0001);
    b.put_u32(0x80 | 0x100); // keyspace + now_in_seconds
    b.put_u16(2);
    b.put_slice(b"ks");
    b.put_i32(1234);
    let body = b.freeze();
    let h = header(ProtocolVersion::V5, Opcode::Execute, &body);
    let peek = peek_request(&h, &body).unwrap();
    let PeekedRequest::Execute {
        id,
        result_metadata_id,
        params,
    } = &peek.request
    else {
        panic!("not an execute");
    };
    assert_eq!(&id[..], &[0xAB, 0xCD]);
    assert_eq!(result_metadata_id.as_deref(), Some(&[0xEF][..]));
    assert_eq!(params.keyspace.as_deref(), Some("ks"));
    // The timestamp goes before the keyspace in v5.
    let (_, b2) = add_default_timestamp(&h, &body, &peek, -5)
        .unwrap()
        .unwrap();
    let mut expected = BytesMut::new();
    expected.put_slice(&body[..9]); // ids (7 bytes) + consistency
    expected.put_u32(0x80 | 0x100 | 0x20);
    expected.put_i64(-5);
    expected.put_slice(&body[13..]);
    assert_eq!(b2, expected.freeze());
}

#[test]
fn v3_batch_children_and_custom_payload_v4() {
    let mut m = BytesMut::new();
    m.put_u8(1); // unlogged
    m.put_u16(2);
    m.put_u8(0);
    m.put_i32(8);
    m.put_slice(b"INSERT 1");
    m.put_u16(1);
    m.put_i32(-1); // null value
    m.put_u8(1);
    m.put_u16(1);
    m.put_u8(7); // prepared id
    m.put_u16(0);
    m.put_u16(0x0004); // QUORUM
    m.put_u8(0);
    let msg = m.freeze();

    let h = header(ProtocolVersion::V3, Opcode::Batch, &msg);
    let peek = peek_request(&h, &msg).unwrap();
    let PeekedRequest::Batch {
        batch_type,
        children,
        params,
    } = &peek.request
    else {
        panic!("not a batch");
    };
    assert_eq!(*batch_type, 1);
    assert_eq!(
        children,
        &vec![
            BatchChildRef::Query(Bytes::from_static(b"INSERT 1")),
            BatchChildRef::Prepared(Bytes::from_static(&[7])),
        ]
    );
    assert_eq!(params.consistency, Consistency::Quorum);

    // Same batch in v4 behind a custom payload {"a": 0x01}.
    let mut b = BytesMut::new();
    b.put_u16(1);
    b.put_u16(1);
    b.put_slice(b"a");
    b.put_i32(1);
    b.put_u8(1);
    let prefix = b.len();
    b.put_slice(&msg);
    let body = b.freeze();
    let mut h4 = header(ProtocolVersion::V4, Opcode::Batch, &body);
    h4.flags = FrameFlags::CUSTOM_PAYLOAD;
    let peek4 = peek_request(&h4, &body).unwrap();
    assert_eq!(peek4.message_offset, prefix);
    let (_, b2) = add_default_timestamp(&h4, &body, &peek4, 1)
        .unwrap()
        .unwrap();
    assert_eq!(&b2[..prefix], &body[..prefix]);
    let again = peek_request(&h4, &b2).unwrap();
    assert_eq!(again.params().unwrap().timestamp, Some(1));
}

#[test]
fn v2_gets_no_timestamp_and_truncation_names_offset() {
    let mut b = BytesMut::new();
    b.put_i32(4);
    b.put_slice(b"SELE");
    b.put_u16(1);
    b.put_u8(0);
    let body = b.freeze();
    let h = header(ProtocolVersion::V2, Opcode::Query, &body);
    let peek = peek_request(&h, &body).unwrap();
    assert!(add_default_timestamp(&h, &body, &peek, 1)
        .unwrap()
        .is_none());

    let cut = body.slice(..9);
    let err = peek_request(&h, &cut).unwrap_err();
    assert_eq!(err.field, "query_parameters.consistency");
    // 8-byte v2 header + 8 bytes of query string.
    assert_eq!(err.offset, 16);
    assert!(matches!(err.kind, DecodeErrorKind::Truncated { .. }));
}
