//! Request messages: round trips for every message and version, refusal of
//! what a version cannot carry, byte layouts assembled by hand from the spec
//! text, and decoding of arbitrary bytes without panics.

use bytes::{Bytes, BytesMut};
use ferry_wire::request::{
    AuthResponse, Batch, BatchStatement, BatchStatementKind, BatchType, BoundValues, Execute,
    Options, Prepare, Query, QueryParameters, QueryText, Register, Request, Startup,
};
use ferry_wire::{Consistency, EncodeError, Opcode, ProtocolVersion, RawValue, Reader};
use proptest::prelude::*;

use ProtocolVersion::{V2, V3, V4, V5};

// ---------------------------------------------------------------- helpers

fn encode(req: &Request, version: ProtocolVersion) -> Result<Bytes, EncodeError> {
    let mut buf = BytesMut::new();
    req.encode(&mut buf, version)?;
    Ok(buf.freeze())
}

fn decode(opcode: Opcode, body: &[u8], version: ProtocolVersion) -> Request {
    let mut r = Reader::new(Bytes::copy_from_slice(body));
    Request::decode(opcode, &mut r, version)
        .unwrap_or_else(|e| panic!("{} {version}: {e}", opcode.name()))
}

fn is_unsupported(r: Result<Bytes, EncodeError>) -> bool {
    matches!(r, Err(EncodeError::UnsupportedInVersion { .. }))
}

/// Flag bits the spec gives a field in QUERY/EXECUTE parameters for `version`
/// (written from the spec tables, independently of the crate's own mask).
fn query_field_bits(version: ProtocolVersion, has_values: bool) -> u32 {
    match version {
        V2 => 0x1f,
        V3 | V4 => 0x3f | if has_values { 0x40 } else { 0 },
        V5 => 0x1bf | if has_values { 0x40 } else { 0 },
    }
}

/// Flag bits the spec gives a field in BATCH for `version` (v3+).
fn batch_field_bits(version: ProtocolVersion) -> u32 {
    if version == V5 {
        0x1b0
    } else {
        0x30
    }
}

fn flags_width_mask(version: ProtocolVersion) -> u32 {
    if version == V5 {
        u32::MAX
    } else {
        0xff
    }
}

// ---------------------------------------------------------------- strategies

fn versions() -> impl Strategy<Value = ProtocolVersion> {
    prop::sample::select(ProtocolVersion::ALL.to_vec())
}

fn consistency() -> impl Strategy<Value = Consistency> {
    prop::sample::select(Consistency::ALL.to_vec())
}

fn blob(max: usize) -> impl Strategy<Value = Bytes> {
    prop::collection::vec(any::<u8>(), 0..max).prop_map(Bytes::from)
}

fn short_string() -> impl Strategy<Value = String> {
    "\\PC{0,12}"
}

fn query_text() -> impl Strategy<Value = QueryText> {
    "\\PC{0,40}".prop_map(QueryText::from)
}

fn raw_value(version: ProtocolVersion) -> BoxedStrategy<RawValue> {
    let basic = prop_oneof![Just(RawValue::Null), blob(12).prop_map(RawValue::Bytes),];
    if version >= V4 {
        prop_oneof![basic, Just(RawValue::Unset)].boxed()
    } else {
        basic.boxed()
    }
}

fn raw_values(version: ProtocolVersion) -> impl Strategy<Value = Vec<RawValue>> {
    prop::collection::vec(raw_value(version), 0..5)
}

fn bound_values(version: ProtocolVersion) -> BoxedStrategy<BoundValues> {
    let positional = raw_values(version).prop_map(BoundValues::Positional);
    if version >= V3 {
        let named = prop::collection::vec((short_string(), raw_value(version)), 0..4)
            .prop_map(BoundValues::Named);
        prop_oneof![positional, named].boxed()
    } else {
        positional.boxed()
    }
}

/// `Some` only when `allowed`.
fn opt_if<T: std::fmt::Debug + Clone + 'static>(
    allowed: bool,
    s: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<Option<T>> {
    if allowed {
        prop::option::of(s).boxed()
    } else {
        Just(None).boxed()
    }
}

fn query_parameters(version: ProtocolVersion) -> impl Strategy<Value = QueryParameters> {
    (
        (
            consistency(),
            prop::option::of(bound_values(version)),
            any::<bool>(),
            prop::option::of(any::<i32>()),
            prop::option::of(blob(20)),
            prop::option::of(consistency()),
        ),
        (
            opt_if(version >= V3, any::<i64>()),
            opt_if(version >= V5, short_string()),
            opt_if(version >= V5, any::<i32>()),
            any::<u32>(),
        ),
    )
        .prop_map(
            move |((c, values, skip, page, state, serial), (ts, ks, now, extra))| {
                let field_bits = query_field_bits(version, values.is_some());
                QueryParameters {
                    consistency: c,
                    values,
                    skip_metadata: skip,
                    page_size: page,
                    paging_state: state,
                    serial_consistency: serial,
                    default_timestamp: ts,
                    keyspace: ks,
                    now_in_seconds: now,
                    // Unknown bits only, and few of them: most messages have none.
                    extra_flags: if extra % 4 == 0 {
                        extra & !field_bits & flags_width_mask(version)
                    } else {
                        0
                    },
                }
            },
        )
}

fn batch(version: ProtocolVersion) -> impl Strategy<Value = Batch> {
    let statement = (
        prop_oneof![
            query_text().prop_map(BatchStatementKind::Query),
            blob(20).prop_map(BatchStatementKind::Prepared),
        ],
        raw_values(version),
    )
        .prop_map(|(kind, values)| BatchStatement {
            kind,
            values: BoundValues::Positional(values),
        });
    (
        prop::sample::select(vec![
            BatchType::Logged,
            BatchType::Unlogged,
            BatchType::Counter,
        ]),
        prop::collection::vec(statement, 0..4),
        consistency(),
        opt_if(version >= V3, consistency()),
        opt_if(version >= V3, any::<i64>()),
        opt_if(version >= V5, short_string()),
        opt_if(version >= V5, any::<i32>()),
        any::<u32>(),
    )
        .prop_map(
            move |(t, statements, c, serial, ts, ks, now, extra)| Batch {
                batch_type: t,
                statements,
                consistency: c,
                serial_consistency: serial,
                default_timestamp: ts,
                keyspace: ks,
                now_in_seconds: now,
                extra_flags: if version >= V3 && extra % 4 == 0 {
                    extra & !batch_field_bits(version) & flags_width_mask(version)
                } else {
                    0
                },
            },
        )
}

/// Any request that is legal in `version`.
fn request(version: ProtocolVersion) -> BoxedStrategy<Request> {
    let v5 = version >= V5;
    prop_oneof![
        prop::collection::vec((short_string(), short_string()), 0..4)
            .prop_map(|options| Request::Startup(Startup { options })),
        prop::option::of(blob(30)).prop_map(|token| Request::AuthResponse(AuthResponse { token })),
        Just(Request::Options(Options)),
        (query_text(), query_parameters(version))
            .prop_map(|(query, parameters)| Request::Query(Query { query, parameters })),
        (query_text(), opt_if(v5, short_string()), any::<u32>()).prop_map(
            move |(query, keyspace, extra)| Request::Prepare(Prepare {
                query,
                keyspace,
                extra_flags: if v5 && extra % 4 == 0 { extra & !1 } else { 0 },
            })
        ),
        (blob(20), opt_if(v5, blob(20)), query_parameters(version)).prop_map(
            move |(id, meta, parameters)| Request::Execute(Execute {
                id,
                // v5 requires the result metadata id.
                result_metadata_id: if v5 {
                    Some(meta.unwrap_or_default())
                } else {
                    None
                },
                parameters,
            })
        ),
        batch(version).prop_map(Request::Batch),
        prop::collection::vec(short_string(), 0..4)
            .prop_map(|events| Request::Register(Register { events })),
    ]
    .boxed()
}

fn versioned_request() -> impl Strategy<Value = (ProtocolVersion, Request)> {
    versions().prop_flat_map(|v| (Just(v), request(v)))
}

// ---------------------------------------------------------------- round trips

proptest! {
    /// decode(encode(x)) == x, and re-encoding gives the same bytes.
    #[test]
    fn every_request_round_trips_in_its_version((version, req) in versioned_request()) {
        let wire = encode(&req, version).expect("legal for the version");
        let back = decode(req.opcode(), &wire, version);
        prop_assert_eq!(&back, &req);
        prop_assert_eq!(encode(&back, version).unwrap(), wire);
    }

    /// A v5 request sent in an older version either is refused with
    /// UnsupportedInVersion, exactly when it uses something the older
    /// version lacks, or round-trips there.
    #[test]
    fn older_versions_refuse_what_they_cannot_carry(
        req in request(V5),
        target in prop::sample::select(vec![V2, V3, V4]),
    ) {
        let params_need = |p: &QueryParameters| -> ProtocolVersion {
            let unset = match &p.values {
                Some(BoundValues::Positional(v)) => v.contains(&RawValue::Unset),
                Some(BoundValues::Named(v)) => v.iter().any(|(_, v)| *v == RawValue::Unset),
                Some(BoundValues::Serialized(v)) => v.has_unset(),
                None => false,
            };
            if p.keyspace.is_some() || p.now_in_seconds.is_some() {
                V5
            } else if unset {
                V4
            } else if p.default_timestamp.is_some() || matches!(p.values, Some(BoundValues::Named(_))) {
                V3
            } else {
                V2
            }
        };
        // Extra (unknown-in-v5) flag bits may be legal bits in older versions
        // or not fit a byte: those give other errors, so leave them out here.
        let (req, needs) = match req {
            Request::Query(mut q) => {
                q.parameters.extra_flags = 0;
                let n = params_need(&q.parameters);
                (Request::Query(q), n)
            }
            Request::Execute(mut e) => {
                e.parameters.extra_flags = 0;
                // Every v5 EXECUTE carries a result metadata id.
                (Request::Execute(e), V5)
            }
            Request::Prepare(mut p) => {
                p.extra_flags = 0;
                let n = if p.keyspace.is_some() { V5 } else { V2 };
                (Request::Prepare(p), n)
            }
            Request::Batch(mut b) => {
                b.extra_flags = 0;
                let unset = b.statements.iter().any(|s| s.values.to_raw_values().contains(&RawValue::Unset));
                let n = if b.keyspace.is_some() || b.now_in_seconds.is_some() {
                    V5
                } else if unset {
                    V4
                } else if b.serial_consistency.is_some() || b.default_timestamp.is_some() {
                    V3
                } else {
                    V2
                };
                (Request::Batch(b), n)
            }
            other => (other, V2),
        };
        let result = encode(&req, target);
        if needs > target {
            prop_assert!(is_unsupported(result.clone()), "{:?} in {} gave {:?}", req, target, result);
        } else {
            let wire = result.expect("legal in the target version");
            prop_assert_eq!(decode(req.opcode(), &wire, target), req);
        }
    }
}

#[test]
fn specific_refusals() {
    // Unset values need v4.
    let mut q = Query::new("INSERT INTO t (k, v) VALUES (?, ?)", Consistency::One);
    q.parameters.values = Some(BoundValues::Positional(vec![
        RawValue::Null,
        RawValue::Unset,
    ]));
    assert!(is_unsupported(encode(&q.clone().into(), V3)));
    assert!(encode(&q.into(), V4).is_ok());

    // A per-query keyspace needs v5.
    let mut q = Query::new("SELECT * FROM t", Consistency::One);
    q.parameters.keyspace = Some("ks".into());
    assert!(is_unsupported(encode(&q.clone().into(), V4)));
    assert!(encode(&q.into(), V5).is_ok());

    // Named values and default timestamps need v3.
    let mut q = Query::new("SELECT * FROM t WHERE k = :k", Consistency::One);
    q.parameters.values = Some(BoundValues::Named(vec![("k".into(), RawValue::Null)]));
    assert!(is_unsupported(encode(&q.clone().into(), V2)));
    let mut b = Batch::new(BatchType::Logged, Consistency::One);
    b.default_timestamp = Some(1);
    assert!(is_unsupported(encode(&b.into(), V2)));

    // EXECUTE's result metadata id exists only in v5, and is required there.
    let mut e = Execute {
        id: Bytes::from_static(b"id"),
        result_metadata_id: None,
        parameters: QueryParameters::new(Consistency::One),
    };
    assert!(matches!(
        encode(&e.clone().into(), V5),
        Err(EncodeError::Invalid(_))
    ));
    e.result_metadata_id = Some(Bytes::from_static(b"m"));
    assert!(is_unsupported(encode(&e.into(), V4)));

    // A refused request leaves the buffer as it was.
    let mut q = Query::new("SELECT", Consistency::One);
    q.parameters.values = Some(BoundValues::Positional(vec![RawValue::Unset]));
    let mut buf = BytesMut::from(&b"head"[..]);
    assert!(Request::from(q).encode(&mut buf, V3).is_err());
    assert_eq!(&buf[..], b"head");

    // Flags above one byte cannot be sent before v5.
    let mut q = Query::new("x", Consistency::One);
    q.parameters.extra_flags = 0x200;
    assert!(encode(&q.clone().into(), V4).is_err());
    assert!(encode(&q.into(), V5).is_ok());
}

// ---------------------------------------------------------------- layouts from the spec text

/// Builds a frame body from parts, to keep the hand-assembled layouts readable.
fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn assert_layout(req: &Request, version: ProtocolVersion, wire: &[u8]) {
    assert_eq!(
        &encode(req, version).unwrap()[..],
        wire,
        "{} {version}",
        req.opcode().name()
    );
    assert_eq!(&decode(req.opcode(), wire, version), req);
}

#[test]
fn query_v4_with_values_page_size_serial_and_default_timestamp() {
    // v4 spec 4.1.4: <query><consistency><flags><n><value_i>...<result_page_size>
    //                [<paging_state>]<serial_consistency><timestamp>
    let wire = cat(&[
        b"\x00\x00\x00\x0a",                      // [long string] length 10
        b"SELECT ? ?",                            //
        b"\x00\x06",                              // consistency LOCAL_QUORUM
        &[0x01 | 0x04 | 0x10 | 0x20],             // flags: values, page size, serial, timestamp
        b"\x00\x02",                              // n = 2
        b"\x00\x00\x00\x01\x07",                  // [value] 1 byte
        b"\xff\xff\xff\xfe",                      // [value] unset
        b"\x00\x00\x13\x88",                      // page size 5000
        b"\x00\x09",                              // serial LOCAL_SERIAL
        &0x0005_f3c1_2d4e_8a00_i64.to_be_bytes(), // timestamp
    ]);
    let mut q = Query::new("SELECT ? ?", Consistency::LocalQuorum);
    q.parameters.values = Some(BoundValues::Positional(vec![
        RawValue::Bytes(Bytes::from_static(b"\x07")),
        RawValue::Unset,
    ]));
    q.parameters.page_size = Some(5000);
    q.parameters.serial_consistency = Some(Consistency::LocalSerial);
    q.parameters.default_timestamp = Some(0x0005_f3c1_2d4e_8a00);
    assert_layout(&q.into(), V4, &wire);
}

#[test]
fn query_v3_named_values_and_paging_state() {
    // v3 spec 4.1.4: with 0x40 each value is preceded by a [string] name.
    let wire = cat(&[
        b"\x00\x00\x00\x01q",
        b"\x00\x01",                     // ONE
        &[0x01 | 0x08 | 0x40],           // values, paging state, names
        b"\x00\x01",                     // n = 1
        b"\x00\x02id",                   // name "id"
        b"\xff\xff\xff\xff",             // null
        b"\x00\x00\x00\x03\xaa\xbb\xcc", // paging state
    ]);
    let mut q = Query::new("q", Consistency::One);
    q.parameters.values = Some(BoundValues::Named(vec![("id".into(), RawValue::Null)]));
    q.parameters.paging_state = Some(Bytes::from_static(b"\xaa\xbb\xcc"));
    assert_layout(&q.into(), V3, &wire);
}

#[test]
fn query_v2_skip_metadata() {
    // v2 spec 4.1.4: <consistency><flags>[<n><value_1>...][<result_page_size>]...
    let wire = cat(&[b"\x00\x00\x00\x01q", b"\x00\x04", &[0x02]]);
    let mut q = Query::new("q", Consistency::Quorum);
    q.parameters.skip_metadata = true;
    assert_layout(&q.into(), V2, &wire);
}

#[test]
fn execute_v5_with_result_metadata_id_keyspace_and_now() {
    // v5 spec 4.1.6: <id><result_metadata_id><query_parameters>, flags an [int].
    let wire = cat(&[
        b"\x00\x02\x01\x02", // id
        b"\x00\x01\x09",     // result metadata id
        b"\x00\x0a",         // LOCAL_ONE
        b"\x00\x00\x01\x81", // values | keyspace | now_in_seconds
        b"\x00\x00",         // n = 0
        b"\x00\x03abc",      // keyspace
        b"\x65\x00\x00\x00", // now in seconds
    ]);
    let mut p = QueryParameters::new(Consistency::LocalOne);
    p.values = Some(BoundValues::Positional(vec![]));
    p.keyspace = Some("abc".into());
    p.now_in_seconds = Some(0x6500_0000);
    let e = Execute {
        id: Bytes::from_static(b"\x01\x02"),
        result_metadata_id: Some(Bytes::from_static(b"\x09")),
        parameters: p,
    };
    assert_layout(&e.into(), V5, &wire);
}

#[test]
fn execute_v2_has_no_result_metadata_id() {
    let wire = cat(&[b"\x00\x01\x7f", b"\x00\x05", &[0x00]]);
    let e = Execute {
        id: Bytes::from_static(b"\x7f"),
        result_metadata_id: None,
        parameters: QueryParameters::new(Consistency::All),
    };
    assert_layout(&e.into(), V2, &wire);
}

#[test]
fn batch_v5_every_option() {
    // v5 spec 4.1.7: <type><n><query_i>...<consistency><flags>[<serial_consistency>]
    //                [<timestamp>][<keyspace>][<now_in_seconds>], flags an [int].
    let wire = cat(&[
        &[2],        // COUNTER
        b"\x00\x02", // two children
        &[0],
        b"\x00\x00\x00\x01u",
        b"\x00\x00", // query "u", no values
        &[1],
        b"\x00\x01\x42",
        b"\x00\x01",
        b"\xff\xff\xff\xfe",    // prepared 0x42, unset
        b"\x00\x04",            // QUORUM
        b"\x00\x00\x01\xb0",    // serial|timestamp|keyspace|now
        b"\x00\x08",            // SERIAL
        &(-5i64).to_be_bytes(), // timestamp
        b"\x00\x02ks",          // keyspace
        b"\x00\x00\x00\x01",    // now
    ]);
    let mut b = Batch::new(BatchType::Counter, Consistency::Quorum);
    b.statements = vec![
        BatchStatement {
            kind: BatchStatementKind::Query("u".into()),
            values: BoundValues::Positional(vec![]),
        },
        BatchStatement {
            kind: BatchStatementKind::Prepared(Bytes::from_static(b"\x42")),
            values: BoundValues::Positional(vec![RawValue::Unset]),
        },
    ];
    b.serial_consistency = Some(Consistency::Serial);
    b.default_timestamp = Some(-5);
    b.keyspace = Some("ks".into());
    b.now_in_seconds = Some(1);
    assert_layout(&b.into(), V5, &wire);
}

#[test]
fn batch_v3_flags_are_a_byte() {
    let wire = cat(&[&[0], b"\x00\x00", b"\x00\x01", &[0x10], b"\x00\x09"]);
    let mut b = Batch::new(BatchType::Logged, Consistency::One);
    b.serial_consistency = Some(Consistency::LocalSerial);
    assert_layout(&b.into(), V3, &wire);
}

#[test]
fn prepare_startup_register_auth_options() {
    let p = Prepare::new("SELECT 1");
    assert_layout(&p.clone().into(), V4, b"\x00\x00\x00\x08SELECT 1");
    assert_layout(&p.into(), V5, b"\x00\x00\x00\x08SELECT 1\x00\x00\x00\x00");

    let s = Startup::new("3.0.0").with_option("COMPRESSION", "lz4");
    let wire = cat(&[
        b"\x00\x02",
        b"\x00\x0bCQL_VERSION\x00\x053.0.0",
        b"\x00\x0bCOMPRESSION\x00\x03lz4",
    ]);
    assert_layout(&s.into(), V3, &wire);

    let r = Register::new(["TOPOLOGY_CHANGE"]);
    assert_layout(&r.into(), V4, b"\x00\x01\x00\x0fTOPOLOGY_CHANGE");

    let a = AuthResponse::sasl_plain("cassandra", "cassandra");
    assert_layout(&a.into(), V4, b"\x00\x00\x00\x14\x00cassandra\x00cassandra");

    assert_layout(&Request::Options(Options), V5, b"");
}

#[test]
fn unset_on_the_wire_is_refused_before_v4() {
    // BATCH: LOGGED, one prepared child "i" with one value of length -2, ONE, no flags.
    let batch = cat(&[
        &[0],
        b"\x00\x01",
        &[1],
        b"\x00\x01i",
        b"\x00\x01",
        b"\xff\xff\xff\xfe",
        b"\x00\x01",
        &[0],
    ]);
    // QUERY "q", ONE, flags VALUES, one value of length -2.
    let query = cat(&[
        b"\x00\x00\x00\x01q",
        b"\x00\x01",
        &[0x01],
        b"\x00\x01",
        b"\xff\xff\xff\xfe",
    ]);
    for (opcode, body, value_at) in [(Opcode::Batch, &batch, 9), (Opcode::Query, &query, 10)] {
        for version in [V3, V4] {
            let mut r = Reader::new(Bytes::copy_from_slice(body));
            let result = Request::decode(opcode, &mut r, version);
            if version == V3 {
                let e = result.unwrap_err();
                assert_eq!(e.offset, value_at, "{e}");
                assert!(e.field.ends_with(".values"), "{e}");
            } else {
                assert!(result.is_ok(), "{} v4: {result:?}", opcode.name());
            }
        }
    }
}

#[test]
fn trailing_bytes_and_response_opcodes_are_errors() {
    let mut r = Reader::with_base_offset(Bytes::from_static(b"\x00"), 9);
    let e = Request::decode(Opcode::Options, &mut r, V4).unwrap_err();
    assert_eq!((e.field, e.offset), ("request.body", 9));

    let mut r = Reader::new(Bytes::new());
    assert!(Request::decode(Opcode::Ready, &mut r, V4).is_err());
}

// ---------------------------------------------------------------- hostile input

const ALL_OPCODES: [u8; 16] = [
    0x00, 0x01, 0x02, 0x03, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x10,
];

/// Decodes `body`; whatever is accepted must re-encode to the same bytes.
fn decode_is_total_and_exact(opcode: Opcode, body: &[u8], version: ProtocolVersion) {
    let mut r = Reader::new(Bytes::copy_from_slice(body));
    if let Ok(req) = Request::decode(opcode, &mut r, version) {
        let again = encode(&req, version).expect("a decoded request re-encodes");
        assert_eq!(&again[..], body, "{} {version}", opcode.name());
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(
        opcode in prop::sample::select(ALL_OPCODES.to_vec()),
        version in versions(),
        body in prop::collection::vec(any::<u8>(), 0..96),
    ) {
        let opcode = Opcode::try_from(opcode).unwrap();
        decode_is_total_and_exact(opcode, &body, version);
    }

    /// Valid messages with a byte changed or cut short: much closer to the
    /// decoders' edge cases than uniform noise.
    #[test]
    fn mutated_messages_never_panic(
        (version, req) in versioned_request(),
        decode_version in versions(),
        position in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        cut in any::<bool>(),
    ) {
        let mut body = encode(&req, version).unwrap().to_vec();
        if !body.is_empty() {
            let i = position.index(body.len());
            if cut {
                body.truncate(i);
            } else {
                body[i] = byte;
            }
        }
        decode_is_total_and_exact(req.opcode(), &body, decode_version);
    }
}

// ---------------------------------------------------------------- independent oracle (v4)

/// Bends a v4 request into what scylla-cql's v4 request codec accepts and
/// re-emits unchanged: no named values, no unknown flags, serial levels only
/// for the serial consistency, and no "values flag with zero values" or
/// empty paging state (which scylla-cql folds away).
fn scylla_compatible(req: Request) -> Request {
    fn params(p: &mut QueryParameters) {
        p.extra_flags = 0;
        p.values = match p.values.take() {
            Some(BoundValues::Named(v)) => Some(BoundValues::Positional(
                v.into_iter().map(|(_, v)| v).collect(),
            )),
            other => other,
        }
        .filter(|v| !v.is_empty());
        p.paging_state = p.paging_state.take().filter(|s| !s.is_empty());
        p.serial_consistency = p.serial_consistency.map(serial_only);
    }
    fn serial_only(c: Consistency) -> Consistency {
        if c == Consistency::LocalSerial {
            c
        } else {
            Consistency::Serial
        }
    }
    match req {
        Request::Query(mut q) => {
            params(&mut q.parameters);
            Request::Query(q)
        }
        Request::Execute(mut e) => {
            params(&mut e.parameters);
            Request::Execute(e)
        }
        Request::Batch(mut b) => {
            b.extra_flags = 0;
            b.serial_consistency = b.serial_consistency.map(serial_only);
            Request::Batch(b)
        }
        other => other,
    }
}

/// Decodes `wire` with scylla-cql and serializes it back.
fn scylla_reencode(opcode: Opcode, wire: &[u8]) -> Option<Vec<u8>> {
    use scylla_cql::frame::protocol_features::ProtocolFeatures;
    use scylla_cql::frame::request::{self as sr, DeserializableRequest, SerializableRequest};
    let features = ProtocolFeatures::default();
    let mut input = wire;
    let mut out = Vec::new();
    match opcode {
        Opcode::Query => sr::Query::deserialize_with_features(&mut input, &features)
            .unwrap()
            .serialize(&mut out),
        Opcode::Execute => sr::execute::ExecuteV2::deserialize_with_features(&mut input, &features)
            .unwrap()
            .serialize(&mut out),
        Opcode::Batch => sr::Batch::<sr::batch::BatchStatement, Vec<_>>::deserialize_with_features(
            &mut input, &features,
        )
        .unwrap()
        .serialize(&mut out),
        _ => return None,
    }
    .unwrap();
    assert!(input.is_empty(), "scylla-cql left {} bytes", input.len());
    Some(out)
}

proptest! {
    /// scylla-cql (an independent v4 implementation) reads our QUERY,
    /// EXECUTE and BATCH bodies and writes back the very same bytes.
    #[test]
    fn scylla_cql_agrees_on_v4_layouts(req in request(V4).prop_map(scylla_compatible)) {
        let wire = encode(&req, V4).unwrap();
        if let Some(theirs) = scylla_reencode(req.opcode(), &wire) {
            prop_assert_eq!(&theirs[..], &wire[..]);
        }
    }
}

/// Serialized values are only a faster way to write the same bytes.
fn serialized_twin(req: &Request) -> Request {
    let to_serialized = |v: &BoundValues| match v {
        BoundValues::Positional(values) => {
            BoundValues::Serialized(ferry_wire::request::SerializedValues::from(&values[..]))
        }
        other => other.clone(),
    };
    let mut req = req.clone();
    match &mut req {
        Request::Query(q) => q.parameters.values = q.parameters.values.as_ref().map(to_serialized),
        Request::Execute(e) => {
            e.parameters.values = e.parameters.values.as_ref().map(to_serialized)
        }
        Request::Batch(b) => {
            for s in &mut b.statements {
                s.values = to_serialized(&s.values);
            }
        }
        _ => {}
    }
    req
}

proptest! {
    #[test]
    fn serialized_values_encode_like_positional_ones(
        req in request(V5),
        version in prop::sample::select(vec![V2, V3, V4, V5]),
    ) {
        let mut positional = BytesMut::new();
        let mut serialized = BytesMut::new();
        let a = req.encode(&mut positional, version);
        let b = serialized_twin(&req).encode(&mut serialized, version);
        prop_assert_eq!(a.is_ok(), b.is_ok(), "{:?} vs {:?}", a, b);
        prop_assert_eq!(positional, serialized);
    }
}
