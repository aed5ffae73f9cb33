//! The peek fast path agrees with the full request decoder, and the
//! timestamp rewrite is exactly "the same request with a default timestamp".

use bytes::{Bytes, BytesMut};
use ferry_wire::frame::FrameHeader;
use ferry_wire::peek::{add_default_timestamp, peek_request, BatchChildRef, PeekedRequest};
use ferry_wire::request::{
    Batch, BatchStatement, BatchStatementKind, BatchType, BoundValues, Execute, Query,
    QueryParameters, Request,
};
use ferry_wire::{Consistency, ProtocolVersion, RawValue, Reader};
use proptest::prelude::*;

fn raw_value(version: ProtocolVersion) -> impl Strategy<Value = RawValue> {
    let unset_ok = version >= ProtocolVersion::V4;
    prop_oneof![
        Just(RawValue::Null),
        proptest::collection::vec(any::<u8>(), 0..12).prop_map(|v| RawValue::Bytes(Bytes::from(v))),
        Just(if unset_ok {
            RawValue::Unset
        } else {
            RawValue::Null
        }),
    ]
}

fn consistency() -> impl Strategy<Value = Consistency> {
    proptest::sample::select(Consistency::ALL.to_vec())
}

fn params(version: ProtocolVersion) -> impl Strategy<Value = QueryParameters> {
    let v5 = version >= ProtocolVersion::V5;
    (
        consistency(),
        proptest::option::of(proptest::collection::vec(raw_value(version), 0..5)),
        proptest::option::of(any::<i32>()),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..8)),
        proptest::option::of(prop_oneof![
            Just(Consistency::Serial),
            Just(Consistency::LocalSerial)
        ]),
        proptest::option::of(any::<i64>()),
        proptest::option::of("[a-z]{1,8}"),
        proptest::option::of(any::<i32>()),
        any::<bool>(),
    )
        .prop_map(
            move |(c, values, page, paging, serial, ts, ks, now, skip)| {
                let mut p = QueryParameters::new(c);
                p.values = values.map(BoundValues::Positional);
                p.page_size = page;
                p.paging_state = paging.map(Bytes::from);
                p.serial_consistency = serial;
                p.default_timestamp = ts;
                p.skip_metadata = skip;
                if v5 {
                    p.keyspace = ks;
                    p.now_in_seconds = now;
                }
                p
            },
        )
}

fn request(version: ProtocolVersion) -> impl Strategy<Value = Request> {
    let v5 = version >= ProtocolVersion::V5;
    let child = (
        any::<bool>(),
        proptest::collection::vec(any::<u8>(), 1..6),
        proptest::collection::vec(raw_value(version), 0..3),
    )
        .prop_map(|(is_query, raw, values)| BatchStatement {
            kind: if is_query {
                BatchStatementKind::Query("INSERT INTO t (k) VALUES (?)".into())
            } else {
                BatchStatementKind::Prepared(Bytes::from(raw))
            },
            values: BoundValues::Positional(values),
        });
    prop_oneof![
        ("[ -~]{0,40}", params(version)).prop_map(|(text, parameters)| {
            let mut q = Query::new(text, parameters.consistency);
            q.parameters = parameters;
            Request::Query(q)
        }),
        (
            proptest::collection::vec(any::<u8>(), 1..17),
            params(version)
        )
            .prop_map(move |(id, parameters)| Request::Execute(Execute {
                id: Bytes::from(id),
                result_metadata_id: v5.then(|| Bytes::from_static(&[1, 2])),
                parameters,
            })),
        (
            proptest::collection::vec(child, 0..4),
            consistency(),
            proptest::option::of(any::<i64>()),
        )
            .prop_map(move |(statements, c, ts)| {
                let mut b = Batch::new(BatchType::Unlogged, c);
                b.statements = statements;
                if version >= ProtocolVersion::V3 {
                    b.default_timestamp = ts;
                }
                Request::Batch(b)
            }),
    ]
}

fn frame(req: &Request, version: ProtocolVersion) -> (FrameHeader, Bytes) {
    let mut buf = BytesMut::new();
    req.encode(&mut buf, version)
        .expect("generated requests are legal");
    let header = FrameHeader::request(version, 9, req.opcode(), buf.len() as u32);
    (header, buf.freeze())
}

fn with_timestamp(req: &Request, ts: i64) -> Request {
    let mut req = req.clone();
    match &mut req {
        Request::Query(q) => q.parameters.default_timestamp = Some(ts),
        Request::Execute(e) => e.parameters.default_timestamp = Some(ts),
        Request::Batch(b) => b.default_timestamp = Some(ts),
        _ => {}
    }
    req
}

fn check(version: ProtocolVersion, req: Request, ts: i64) -> Result<(), TestCaseError> {
    let (header, body) = frame(&req, version);
    let peek = peek_request(&header, &body).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let p = peek
        .params()
        .expect("query, execute and batch have parameters");
    match (&req, &peek.request) {
        (Request::Query(q), PeekedRequest::Query { text, .. }) => {
            prop_assert_eq!(&text[..], q.query.as_bytes());
            prop_assert_eq!(p.consistency, q.parameters.consistency);
            prop_assert_eq!(p.timestamp, q.parameters.default_timestamp);
            prop_assert_eq!(p.serial_consistency, q.parameters.serial_consistency);
            prop_assert_eq!(p.keyspace.clone(), q.parameters.keyspace.clone());
            prop_assert_eq!(
                p.value_count,
                q.parameters.values.as_ref().map_or(0, |v| v.len())
            );
        }
        (Request::Execute(e), PeekedRequest::Execute { id, .. }) => {
            prop_assert_eq!(id, &e.id);
            prop_assert_eq!(p.timestamp, e.parameters.default_timestamp);
        }
        (Request::Batch(b), PeekedRequest::Batch { children, .. }) => {
            prop_assert_eq!(children.len(), b.statements.len());
            for (c, s) in children.iter().zip(&b.statements) {
                match (c, &s.kind) {
                    (BatchChildRef::Query(t), BatchStatementKind::Query(q)) => {
                        prop_assert_eq!(&t[..], q.as_bytes())
                    }
                    (BatchChildRef::Prepared(a), BatchStatementKind::Prepared(b)) => {
                        prop_assert_eq!(a, b)
                    }
                    other => prop_assert!(false, "child kinds differ: {:?}", other),
                }
            }
            prop_assert_eq!(p.consistency, b.consistency);
            prop_assert_eq!(p.timestamp, b.default_timestamp);
        }
        other => prop_assert!(false, "peek saw another message: {:?}", other),
    }

    let rewritten = add_default_timestamp(&header, &body, &peek, ts)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let had_timestamp = p.timestamp.is_some();
    match rewritten {
        None => prop_assert!(had_timestamp || version < ProtocolVersion::V3),
        Some((h2, b2)) => {
            prop_assert!(!had_timestamp);
            prop_assert_eq!(h2.length as usize, b2.len());
            let mut r = Reader::new(b2.clone());
            let decoded = Request::decode(h2.opcode, &mut r, version)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(decoded, with_timestamp(&req, ts));
            // And byte for byte what an encoder would write for that request.
            let (_, expected) = frame(&with_timestamp(&req, ts), version);
            prop_assert_eq!(b2, expected);
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn peek_agrees_with_decoder_v3(req in request(ProtocolVersion::V3), ts in any::<i64>()) {
        check(ProtocolVersion::V3, req, ts)?;
    }

    #[test]
    fn peek_agrees_with_decoder_v4(req in request(ProtocolVersion::V4), ts in any::<i64>()) {
        check(ProtocolVersion::V4, req, ts)?;
    }

    #[test]
    fn peek_agrees_with_decoder_v5(req in request(ProtocolVersion::V5), ts in any::<i64>()) {
        check(ProtocolVersion::V5, req, ts)?;
    }

    #[test]
    fn peek_never_panics(data in proptest::collection::vec(any::<u8>(), 0..128), op in 0u8..0x11, v in 2u8..6) {
        let version = ProtocolVersion::from_number(v).unwrap();
        if let Ok(opcode) = ferry_wire::Opcode::try_from(op) {
            let header = FrameHeader::request(version, 0, opcode, data.len() as u32);
            let body = Bytes::from(data);
            if let Ok(peek) = peek_request(&header, &body) {
                let _ = add_default_timestamp(&header, &body, &peek, 1);
            }
        }
    }
}
