//! Response messages: round trips per protocol version (generating only what
//! each version can carry), byte-exact checks against layouts assembled by
//! hand from the spec text, and never-panic checks on arbitrary bytes.

mod support;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bytes::{Bytes, BytesMut};
use ferry_wire::response::{
    AuthChallenge, AuthSuccess, Authenticate, ColumnSpec, ErrorCode, ErrorDetails, ErrorResponse,
    Event, Failures, Prepared, PreparedMetadata, Ready, Response, ResultResponse, Rows,
    RowsBuilder, RowsMetadata, SchemaChange, SchemaChangeTarget, SchemaChangeType, SetKeyspace,
    StatusChangeType, Supported, TableSpec, TopologyChangeType, WriteType,
};
use ferry_wire::types::ColumnType;
use ferry_wire::{Consistency, DecodeErrorKind, Opcode, ProtocolVersion, Reader};
use proptest::collection::vec;
use proptest::prelude::*;

const V2: ProtocolVersion = ProtocolVersion::V2;
const V3: ProtocolVersion = ProtocolVersion::V3;
const V4: ProtocolVersion = ProtocolVersion::V4;
const V5: ProtocolVersion = ProtocolVersion::V5;

const RESPONSE_OPCODES: [Opcode; 8] = [
    Opcode::Error,
    Opcode::Ready,
    Opcode::Authenticate,
    Opcode::Supported,
    Opcode::Result,
    Opcode::Event,
    Opcode::AuthChallenge,
    Opcode::AuthSuccess,
];

// ---------------------------------------------------------------- helpers

fn encode(msg: &Response, version: ProtocolVersion) -> Bytes {
    let mut buf = BytesMut::new();
    msg.encode(&mut buf, version)
        .unwrap_or_else(|e| panic!("encode {msg:?} in {version}: {e}"));
    buf.freeze()
}

fn decode(opcode: Opcode, body: &[u8], version: ProtocolVersion) -> Response {
    let mut r = Reader::new(Bytes::copy_from_slice(body));
    let msg = Response::decode(opcode, &mut r, version)
        .unwrap_or_else(|e| panic!("decode {} in {version}: {e}", opcode.name()));
    assert!(r.is_empty(), "{} byte(s) left unread", r.remaining());
    msg
}

/// Encode, decode, compare, and re-encode to the same bytes.
fn check_roundtrip(msg: &Response, version: ProtocolVersion) -> Result<(), TestCaseError> {
    let bytes = encode(msg, version);
    let back = decode(msg.opcode(), &bytes, version);
    prop_assert_eq!(&back, msg);
    prop_assert_eq!(encode(&back, version), bytes);
    Ok(())
}

/// Concatenates byte pieces, for hand-assembled bodies.
fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn string(s: &str) -> Vec<u8> {
    let mut out = (s.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(s.as_bytes());
    out
}

fn int(n: i32) -> [u8; 4] {
    n.to_be_bytes()
}

// ------------------------------------------------------------- strategies

fn version() -> impl Strategy<Value = ProtocolVersion> {
    prop::sample::select(ProtocolVersion::ALL.to_vec())
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![3 => "[a-z_][a-z0-9_]{0,7}", 1 => "\\PC{0,6}"]
}

fn blob(max: usize) -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..max).prop_map(Bytes::from)
}

fn consistency() -> impl Strategy<Value = Consistency> {
    prop::sample::select(Consistency::ALL.to_vec())
}

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|a| IpAddr::V4(Ipv4Addr::from(a))),
        any::<[u8; 16]>().prop_map(|a| IpAddr::V6(Ipv6Addr::from(a))),
    ]
}

fn socket() -> impl Strategy<Value = SocketAddr> {
    (ip(), any::<u16>()).prop_map(|(ip, port)| SocketAddr::new(ip, port))
}

/// A string that is none of the protocol's upper-case keywords.
fn unknown_word() -> impl Strategy<Value = String> {
    "X[A-Z_]{0,6}"
}

fn column_type(version: ProtocolVersion) -> BoxedStrategy<ColumnType> {
    let mut leaves = support::natives_up_to_v3();
    if version == V2 {
        leaves.push(ColumnType::Text);
    }
    if version >= V4 {
        leaves.extend(support::natives_added_in_v4());
    }
    if version >= V5 {
        leaves.push(ColumnType::Duration);
    }
    let leaf = prop_oneof![
        9 => prop::sample::select(leaves),
        1 => "[a-z.]{1,12}".prop_map(ColumnType::Custom),
    ];
    leaf.prop_recursive(3, 12, 3, move |inner| {
        let mut options = vec![
            inner
                .clone()
                .prop_map(|t| ColumnType::List(Box::new(t)))
                .boxed(),
            inner
                .clone()
                .prop_map(|t| ColumnType::Set(Box::new(t)))
                .boxed(),
            (inner.clone(), inner.clone())
                .prop_map(|(k, v)| ColumnType::Map(Box::new(k), Box::new(v)))
                .boxed(),
        ];
        if version >= V3 {
            options.push(vec(inner.clone(), 1..3).prop_map(ColumnType::Tuple).boxed());
            options.push(
                (name(), name(), vec((name(), inner), 0..3))
                    .prop_map(|(keyspace, name, fields)| ColumnType::Udt {
                        keyspace,
                        name,
                        fields,
                    })
                    .boxed(),
            );
        }
        prop::strategy::Union::new(options)
    })
    .boxed()
}

/// Column specs, either all in one global table or each with its own.
fn column_specs(
    version: ProtocolVersion,
    max: usize,
) -> impl Strategy<Value = (Option<TableSpec>, Vec<ColumnSpec>)> {
    let global = (name(), name(), vec((name(), column_type(version)), 0..max)).prop_map(
        |(ks, table, cols)| {
            let columns = cols
                .into_iter()
                .map(|(n, t)| ColumnSpec::new(ks.clone(), table.clone(), n, t))
                .collect();
            (Some(TableSpec::new(ks, table)), columns)
        },
    );
    let each = vec((name(), name(), name(), column_type(version)), 0..max).prop_map(|cols| {
        let columns = cols
            .into_iter()
            .map(|(ks, t, n, ty)| ColumnSpec::new(ks, t, n, ty))
            .collect();
        (None, columns)
    });
    prop_oneof![global, each]
}

/// Flag bits that no version defines for Rows metadata.
fn unknown_flags() -> impl Strategy<Value = u32> {
    prop_oneof![3 => Just(0u32), 1 => any::<u32>().prop_map(|f| f & !0xF)]
}

fn rows_metadata(version: ProtocolVersion) -> impl Strategy<Value = RowsMetadata> {
    let with_columns = column_specs(version, 4).prop_map(|(g, c)| RowsMetadata::with_columns(g, c));
    let without = (0usize..5, any::<bool>()).prop_map(|(n, global_bit)| {
        let mut m = RowsMetadata::without_columns(n);
        // Global_tables_spec next to No_metadata carries nothing but must survive.
        if global_bit {
            m.extra_flags |= RowsMetadata::GLOBAL_TABLES_SPEC;
        }
        m
    });
    (
        prop_oneof![with_columns, without],
        unknown_flags(),
        prop_oneof![
            2 => Just(None),
            2 => blob(12).prop_map(|b| Some(Some(b))),
            1 => Just(Some(None)), // Has_more_pages with a null paging state
        ],
        prop::option::of(blob(8)),
        any::<bool>(),
    )
        .prop_map(move |(mut m, extra, paging, new_id, mc_bit)| {
            m.extra_flags |= extra;
            match paging {
                None => {}
                Some(None) => m.extra_flags |= RowsMetadata::HAS_MORE_PAGES,
                Some(Some(state)) => m.paging_state = Some(state),
            }
            if version >= V5 {
                m.new_metadata_id = new_id;
            } else if mc_bit {
                // Before v5 the bit means nothing and is kept as is.
                m.extra_flags |= RowsMetadata::METADATA_CHANGED;
            }
            m
        })
}

type Cell = Option<Vec<u8>>;

fn rows(version: ProtocolVersion) -> impl Strategy<Value = (RowsMetadata, Vec<Vec<Cell>>)> {
    rows_metadata(version).prop_flat_map(|m| {
        let width = m.column_count;
        let cell = prop::option::weighted(0.8, vec(any::<u8>(), 0..10));
        (Just(m), vec(vec(cell, width..=width), 0..6))
    })
}

fn build_rows(metadata: RowsMetadata, data: &[Vec<Cell>]) -> Rows {
    let mut b = RowsBuilder::new(metadata);
    for row in data {
        b.push_row(row.iter().map(|c| c.as_deref())).unwrap();
    }
    b.build()
}

fn prepared(version: ProtocolVersion) -> impl Strategy<Value = Prepared> {
    (
        blob(16),
        blob(16),
        column_specs(version, 4),
        vec(any::<u16>(), 0..4),
        prop_oneof![3 => Just(0u32), 1 => any::<u32>().prop_map(|f| f & !0x7)],
        rows_metadata(version),
    )
        .prop_map(move |(id, rid, (global, columns), pk, extra, result)| {
            let mut metadata = PreparedMetadata::new(global, columns, Vec::new());
            if version >= V4 {
                metadata.pk_indexes = pk;
                metadata.extra_flags = extra;
            } else {
                metadata.extra_flags = extra & !0xF;
            }
            Prepared {
                id,
                result_metadata_id: (version >= V5).then_some(rid),
                metadata,
                result_metadata: result,
            }
        })
}

fn schema_change(version: ProtocolVersion) -> BoxedStrategy<SchemaChange> {
    let change = prop_oneof![
        Just(SchemaChangeType::Created),
        Just(SchemaChangeType::Updated),
        Just(SchemaChangeType::Dropped),
        unknown_word().prop_map(SchemaChangeType::Other),
    ];
    let keyspace = name().prop_map(|keyspace| SchemaChangeTarget::Keyspace { keyspace });
    let table = (name(), "[a-z]{1,8}")
        .prop_map(|(keyspace, table)| SchemaChangeTarget::Table { keyspace, table });
    let mut targets = vec![keyspace.boxed(), table.boxed()];
    if version >= V3 {
        targets.push(
            (name(), name())
                .prop_map(|(keyspace, name)| SchemaChangeTarget::Type { keyspace, name })
                .boxed(),
        );
        targets.push(
            (unknown_word(), blob(10))
                .prop_map(|(target, options)| SchemaChangeTarget::Other { target, options })
                .boxed(),
        );
    }
    if version >= V4 {
        targets.push(
            (name(), name(), vec(name(), 0..3), any::<bool>())
                .prop_map(|(keyspace, name, arg_types, aggregate)| {
                    if aggregate {
                        SchemaChangeTarget::Aggregate {
                            keyspace,
                            name,
                            arg_types,
                        }
                    } else {
                        SchemaChangeTarget::Function {
                            keyspace,
                            name,
                            arg_types,
                        }
                    }
                })
                .boxed(),
        );
    }
    (change, prop::strategy::Union::new(targets))
        .prop_map(|(change, target)| SchemaChange { change, target })
        .boxed()
}

fn write_type() -> impl Strategy<Value = WriteType> {
    prop_oneof![
        prop::sample::select(support::known_write_types()),
        "x[a-z]{0,6}".prop_map(WriteType::Other),
    ]
}

fn failures(version: ProtocolVersion) -> BoxedStrategy<Failures> {
    if version >= V5 {
        vec((ip(), any::<u16>()), 0..4)
            .prop_map(Failures::Reasons)
            .boxed()
    } else {
        any::<i32>().prop_map(Failures::Count).boxed()
    }
}

/// Details for one error code, legal in `version`.
fn error_details(code: ErrorCode, version: ProtocolVersion) -> BoxedStrategy<ErrorDetails> {
    let cl = consistency();
    match code {
        ErrorCode::SERVER => Just(ErrorDetails::Server).boxed(),
        ErrorCode::PROTOCOL => Just(ErrorDetails::Protocol).boxed(),
        ErrorCode::BAD_CREDENTIALS => Just(ErrorDetails::BadCredentials).boxed(),
        ErrorCode::UNAVAILABLE => (cl, any::<i32>(), any::<i32>())
            .prop_map(|(consistency, required, alive)| ErrorDetails::Unavailable {
                consistency,
                required,
                alive,
            })
            .boxed(),
        ErrorCode::OVERLOADED => Just(ErrorDetails::Overloaded).boxed(),
        ErrorCode::IS_BOOTSTRAPPING => Just(ErrorDetails::IsBootstrapping).boxed(),
        ErrorCode::TRUNCATE => Just(ErrorDetails::Truncate).boxed(),
        ErrorCode::WRITE_TIMEOUT => (cl, any::<i32>(), any::<i32>(), write_type(), any::<u16>())
            .prop_map(move |(consistency, received, block_for, write_type, n)| {
                let contentions = (version >= V5 && write_type.is_cas()).then_some(n);
                ErrorDetails::WriteTimeout {
                    consistency,
                    received,
                    block_for,
                    write_type,
                    contentions,
                }
            })
            .boxed(),
        ErrorCode::READ_TIMEOUT => (cl, any::<i32>(), any::<i32>(), any::<u8>())
            .prop_map(|(consistency, received, block_for, data_present)| {
                ErrorDetails::ReadTimeout {
                    consistency,
                    received,
                    block_for,
                    data_present,
                }
            })
            .boxed(),
        ErrorCode::READ_FAILURE => (
            cl,
            any::<i32>(),
            any::<i32>(),
            failures(version),
            any::<u8>(),
        )
            .prop_map(
                |(consistency, received, block_for, failures, data_present)| {
                    ErrorDetails::ReadFailure {
                        consistency,
                        received,
                        block_for,
                        failures,
                        data_present,
                    }
                },
            )
            .boxed(),
        ErrorCode::FUNCTION_FAILURE => (name(), name(), vec(name(), 0..3))
            .prop_map(
                |(keyspace, function, arg_types)| ErrorDetails::FunctionFailure {
                    keyspace,
                    function,
                    arg_types,
                },
            )
            .boxed(),
        ErrorCode::WRITE_FAILURE => (
            cl,
            any::<i32>(),
            any::<i32>(),
            failures(version),
            write_type(),
        )
            .prop_map(|(consistency, received, block_for, failures, write_type)| {
                ErrorDetails::WriteFailure {
                    consistency,
                    received,
                    block_for,
                    failures,
                    write_type,
                }
            })
            .boxed(),
        ErrorCode::CDC_WRITE_FAILURE => Just(ErrorDetails::CdcWriteFailure).boxed(),
        ErrorCode::CAS_WRITE_UNKNOWN => (cl, any::<i32>(), any::<i32>())
            .prop_map(
                |(consistency, received, block_for)| ErrorDetails::CasWriteUnknown {
                    consistency,
                    received,
                    block_for,
                },
            )
            .boxed(),
        ErrorCode::SYNTAX => Just(ErrorDetails::Syntax).boxed(),
        ErrorCode::UNAUTHORIZED => Just(ErrorDetails::Unauthorized).boxed(),
        ErrorCode::INVALID => Just(ErrorDetails::Invalid).boxed(),
        ErrorCode::CONFIG => Just(ErrorDetails::Config).boxed(),
        ErrorCode::ALREADY_EXISTS => (name(), name())
            .prop_map(|(keyspace, table)| ErrorDetails::AlreadyExists { keyspace, table })
            .boxed(),
        ErrorCode::UNPREPARED => blob(16)
            .prop_map(|id| ErrorDetails::Unprepared { id })
            .boxed(),
        other => blob(16)
            .prop_map(move |payload| ErrorDetails::Other {
                code: other,
                payload,
            })
            .boxed(),
    }
}

/// Any error legal in `version`: a defined code, or one the version does
/// not define (kept raw).
fn error(version: ProtocolVersion) -> impl Strategy<Value = ErrorResponse> {
    let defined: Vec<ErrorCode> = ErrorCode::ALL
        .into_iter()
        .filter(|c| c.is_defined_in(version))
        .collect();
    let undefined = any::<i32>()
        .prop_map(ErrorCode)
        .prop_filter("a code the version defines", move |c| {
            !c.is_defined_in(version)
        });
    let code = prop_oneof![4 => prop::sample::select(defined), 1 => undefined];
    (code, name()).prop_flat_map(move |(code, message)| {
        error_details(code, version).prop_map(move |d| ErrorResponse::new(d, message.clone()))
    })
}

fn event(version: ProtocolVersion) -> impl Strategy<Value = Event> {
    let topology = prop_oneof![
        Just(TopologyChangeType::NewNode),
        Just(TopologyChangeType::RemovedNode),
        Just(TopologyChangeType::MovedNode),
        unknown_word().prop_map(TopologyChangeType::Other),
    ];
    let status = prop_oneof![
        Just(StatusChangeType::Up),
        Just(StatusChangeType::Down),
        unknown_word().prop_map(StatusChangeType::Other),
    ];
    prop_oneof![
        (topology, socket()).prop_map(|(change, node)| Event::TopologyChange { change, node }),
        (status, socket()).prop_map(|(change, node)| Event::StatusChange { change, node }),
        schema_change(version).prop_map(Event::SchemaChange),
        (unknown_word(), blob(12)).prop_map(|(event_type, body)| Event::Other { event_type, body }),
    ]
}

fn result(version: ProtocolVersion) -> impl Strategy<Value = ResultResponse> {
    prop_oneof![
        Just(ResultResponse::Void),
        rows(version).prop_map(|(m, data)| ResultResponse::Rows(build_rows(m, &data))),
        name().prop_map(|keyspace| ResultResponse::SetKeyspace(SetKeyspace { keyspace })),
        prepared(version).prop_map(|p| ResultResponse::Prepared(Box::new(p))),
        schema_change(version).prop_map(ResultResponse::SchemaChange),
        ((6i32..), blob(12)).prop_map(|(kind, body)| ResultResponse::Other { kind, body }),
    ]
}

fn response(version: ProtocolVersion) -> impl Strategy<Value = Response> {
    prop_oneof![
        error(version).prop_map(Response::Error),
        Just(Response::Ready(Ready)),
        "[a-zA-Z.]{0,40}"
            .prop_map(|authenticator| { Response::Authenticate(Authenticate { authenticator }) }),
        vec((name(), vec(name(), 0..3)), 0..4)
            .prop_map(|options| Response::Supported(Supported { options })),
        result(version).prop_map(Response::Result),
        event(version).prop_map(Response::Event),
        prop::option::of(blob(20))
            .prop_map(|token| Response::AuthChallenge(AuthChallenge { token })),
        prop::option::of(blob(20)).prop_map(|token| Response::AuthSuccess(AuthSuccess { token })),
    ]
}

fn version_and<S: Strategy, F: Fn(ProtocolVersion) -> S>(
    f: F,
) -> impl Strategy<Value = (ProtocolVersion, S::Value)> {
    version().prop_flat_map(move |v| (Just(v), f(v)))
}

// ------------------------------------------------------------- round trips

proptest! {
    #[test]
    fn any_response_roundtrips((v, msg) in version_and(response)) {
        check_roundtrip(&msg, v)?;
    }

    #[test]
    fn errors_roundtrip((v, err) in version_and(error)) {
        check_roundtrip(&Response::Error(err), v)?;
    }

    #[test]
    fn events_roundtrip((v, ev) in version_and(event)) {
        check_roundtrip(&Response::Event(ev), v)?;
    }

    #[test]
    fn prepared_roundtrips((v, p) in version_and(prepared)) {
        check_roundtrip(&Response::Result(ResultResponse::Prepared(Box::new(p))), v)?;
    }

    #[test]
    fn schema_change_results_roundtrip((v, c) in version_and(schema_change)) {
        check_roundtrip(&Response::Result(ResultResponse::SchemaChange(c)), v)?;
    }

    /// Rows round trip, and iteration hands back exactly the cells built.
    #[test]
    fn rows_roundtrip_and_iterate((v, (meta, data)) in version_and(rows)) {
        let rows = build_rows(meta, &data);
        let msg = Response::Result(ResultResponse::Rows(rows));
        check_roundtrip(&msg, v)?;
        let bytes = encode(&msg, v);
        let Response::Result(ResultResponse::Rows(decoded)) = decode(Opcode::Result, &bytes, v) else {
            return Err(TestCaseError::fail("not a Rows result"));
        };
        prop_assert_eq!(decoded.row_count(), data.len());
        let mut seen = Vec::new();
        for row in decoded.rows() {
            let row = row.map_err(|e| TestCaseError::fail(e.to_string()))?;
            let raw: Vec<Cell> = row.raw_cells().map(|c| c.map(<[u8]>::to_vec)).collect();
            let owned: Vec<Cell> = row.cells().map(|c| c.map(|b| b.to_vec())).collect();
            prop_assert_eq!(&raw, &owned);
            seen.push(raw);
        }
        prop_assert_eq!(seen, data);
    }
}

/// Every code, in every version that defines it, round-trips as itself; in
/// the versions that do not, it decodes as `Other` with its payload intact.
#[test]
fn every_error_code_in_every_version() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    for v in ProtocolVersion::ALL {
        for code in ErrorCode::ALL {
            if !code.is_defined_in(v) {
                let err = ErrorResponse::new(
                    ErrorDetails::Other {
                        code,
                        payload: Bytes::from_static(b"\x00\x01\x02"),
                    },
                    "m",
                );
                let bytes = encode(&Response::Error(err.clone()), v);
                assert_eq!(decode(Opcode::Error, &bytes, v), Response::Error(err));
                continue;
            }
            for _ in 0..16 {
                let details = error_details(code, v)
                    .new_tree(&mut runner)
                    .unwrap()
                    .current();
                assert_eq!(details.code(), code);
                let msg = Response::Error(ErrorResponse::new(details, "boom"));
                check_roundtrip(&msg, v).unwrap();
            }
        }
    }
}

#[test]
fn codes_by_version_follow_the_specs() {
    let v4_only = [
        ErrorCode::READ_FAILURE,
        ErrorCode::FUNCTION_FAILURE,
        ErrorCode::WRITE_FAILURE,
    ];
    let v5_only = [ErrorCode::CDC_WRITE_FAILURE, ErrorCode::CAS_WRITE_UNKNOWN];
    for code in ErrorCode::ALL {
        let since = if v4_only.contains(&code) {
            V4
        } else if v5_only.contains(&code) {
            V5
        } else {
            V2
        };
        for v in ProtocolVersion::ALL {
            assert_eq!(code.is_defined_in(v), v >= since, "{code} in {v}");
        }
    }
    // Encoding a code the version lacks is refused rather than mislabelled.
    let err = ErrorResponse::new(ErrorDetails::CdcWriteFailure, "cdc");
    assert!(err.encode(&mut BytesMut::new(), V4).is_err());
}

// ------------------------------------------------- hand-assembled from the spec

/// Spec §9 (v4): 0x1000 Unavailable: `<cl><required><alive>`.
#[test]
fn unavailable_error_bytes() {
    let body = cat(&[
        &int(0x1000),
        &string("Cannot achieve consistency level QUORUM"),
        &[0x00, 0x04], // QUORUM
        &int(3),       // required
        &int(1),       // alive
    ]);
    let expected = Response::Error(ErrorResponse::new(
        ErrorDetails::Unavailable {
            consistency: Consistency::Quorum,
            required: 3,
            alive: 1,
        },
        "Cannot achieve consistency level QUORUM",
    ));
    for v in ProtocolVersion::ALL {
        assert_eq!(decode(Opcode::Error, &body, v), expected);
        assert_eq!(encode(&expected, v), body);
    }
}

/// v4 §4.2.5.2: Rows with Global_tables_spec, two columns and two rows, the
/// second row holding a null.
#[test]
fn v4_rows_with_global_spec_and_a_null_cell() {
    let body = cat(&[
        &int(0x0002),     // kind: Rows
        &int(0x0001),     // flags: Global_tables_spec
        &int(2),          // columns_count
        &string("ks"),    // global keyspace
        &string("users"), // global table
        &string("id"),    // col 1 name
        &[0x00, 0x09],    // int
        &string("name"),  // col 2 name
        &[0x00, 0x0D],    // varchar
        &int(2),          // rows_count
        &int(4),          // row 1, cell 1
        &[0, 0, 0, 7],
        &int(3), // row 1, cell 2
        b"ann",
        &int(4), // row 2, cell 1
        &[0, 0, 0, 9],
        &int(-1), // row 2, cell 2: null
    ]);
    let Response::Result(ResultResponse::Rows(rows)) = decode(Opcode::Result, &body, V4) else {
        panic!("expected Rows");
    };
    let meta = rows.metadata();
    assert_eq!(meta.global_table_spec, Some(TableSpec::new("ks", "users")));
    let cols = meta.columns.as_ref().unwrap();
    assert_eq!(
        cols[0],
        ColumnSpec::new("ks", "users", "id", ColumnType::Int)
    );
    assert_eq!(
        cols[1],
        ColumnSpec::new("ks", "users", "name", ColumnType::Varchar)
    );
    assert_eq!(rows.row_count(), 2);
    let all: Vec<Vec<Option<Bytes>>> = rows.rows().map(|r| r.unwrap().cells().collect()).collect();
    assert_eq!(
        all,
        vec![
            vec![
                Some(Bytes::from_static(&[0, 0, 0, 7])),
                Some(Bytes::from_static(b"ann"))
            ],
            vec![Some(Bytes::from_static(&[0, 0, 0, 9])), None],
        ]
    );

    // The same result built by hand encodes to the same bytes.
    let meta = RowsMetadata::with_columns(
        Some(TableSpec::new("ks", "users")),
        vec![
            ColumnSpec::new("ks", "users", "id", ColumnType::Int),
            ColumnSpec::new("ks", "users", "name", ColumnType::Varchar),
        ],
    );
    let mut b = RowsBuilder::new(meta);
    b.push_row([Some(&[0, 0, 0, 7][..]), Some(b"ann")]).unwrap();
    b.push_row([Some(&[0, 0, 0, 9][..]), None]).unwrap();
    let built = Response::Result(ResultResponse::Rows(b.build()));
    assert_eq!(encode(&built, V4), body);
}

/// Cells are slices of the received buffer, not copies.
#[test]
fn rows_cells_are_zero_copy() {
    let meta = RowsMetadata::without_columns(1);
    let mut b = RowsBuilder::new(meta);
    b.push_row([Some(&b"payload"[..])]).unwrap();
    let mut buf = BytesMut::new();
    ResultResponse::Rows(b.build())
        .encode(&mut buf, V4)
        .unwrap();
    let frame = buf.freeze();
    let range = frame.as_ptr() as usize..frame.as_ptr() as usize + frame.len();
    let Response::Result(ResultResponse::Rows(rows)) =
        Response::decode(Opcode::Result, &mut Reader::new(frame.clone()), V4).unwrap()
    else {
        panic!("expected Rows");
    };
    let row = rows.rows().next().unwrap().unwrap();
    let cell = row.cells().next().unwrap().unwrap();
    assert_eq!(&cell[..], b"payload");
    assert!(range.contains(&(cell.as_ptr() as usize)));
    let raw = row.raw_cells().next().unwrap().unwrap();
    assert!(range.contains(&(raw.as_ptr() as usize)));
}

/// A truncated Rows result fails at decode time, naming the cell's offset.
#[test]
fn truncated_rows_fail_at_decode_with_offset() {
    let body = cat(&[
        &int(0x0002),
        &int(0x0004), // No_metadata
        &int(2),      // columns
        &int(1),      // rows
        &int(2),
        b"ab",
        &int(5), // second cell announces 5 bytes
        b"abc",
    ]);
    let mut r = Reader::new(Bytes::from(body));
    let err = Response::decode(Opcode::Result, &mut r, V4).unwrap_err();
    assert_eq!(err.field, "result.rows.cell");
    assert_eq!(err.offset, 4 + 4 + 4 + 4 + 6);
    assert_eq!(err.kind, DecodeErrorKind::Truncated { needed: 2 });

    // Too few bytes for even the cell lengths is caught before walking.
    let body = cat(&[&int(2), &int(4), &int(3), &int(1_000_000)]);
    let err =
        Response::decode(Opcode::Result, &mut Reader::new(Bytes::from(body)), V4).unwrap_err();
    assert!(
        matches!(err.kind, DecodeErrorKind::Truncated { .. }),
        "{err}"
    );
}

/// v4 §4.2.5.4: Prepared with `<pk_count>` and `<pk_index>`es.
#[test]
fn v4_prepared_with_pk_indexes() {
    let body = cat(&[
        &int(0x0004),              // kind: Prepared
        &[0x00, 0x02, 0xCA, 0xFE], // id
        &int(0x0001),              // flags: Global_tables_spec
        &int(2),                   // columns_count
        &int(2),                   // pk_count
        &[0x00, 0x01, 0x00, 0x00], // pk indexes 1, 0
        &string("ks"),
        &string("t"),
        &string("b"),
        &[0x00, 0x09], // int
        &string("a"),
        &[0x00, 0x02], // bigint
        &int(0x0004),  // result metadata: No_metadata
        &int(0),       // 0 columns
    ]);
    let expected = Prepared {
        id: Bytes::from_static(&[0xCA, 0xFE]),
        result_metadata_id: None,
        metadata: PreparedMetadata::new(
            Some(TableSpec::new("ks", "t")),
            vec![
                ColumnSpec::new("ks", "t", "b", ColumnType::Int),
                ColumnSpec::new("ks", "t", "a", ColumnType::Bigint),
            ],
            vec![1, 0],
        ),
        result_metadata: RowsMetadata::without_columns(0),
    };
    let expected = Response::Result(ResultResponse::Prepared(Box::new(expected)));
    assert_eq!(decode(Opcode::Result, &body, V4), expected);
    assert_eq!(encode(&expected, V4), body);
}

/// v5 §4.2.5.4: the `<result_metadata_id>` follows the id.
#[test]
fn v5_prepared_has_result_metadata_id() {
    let body = cat(&[
        &int(0x0004),
        &[0x00, 0x01, 0xAA], // id
        &[0x00, 0x01, 0xBB], // result_metadata_id
        &int(0),             // flags
        &int(0),             // no bind markers
        &int(0),             // pk_count
        &int(0x0004),        // result metadata: No_metadata
        &int(0),
    ]);
    let Response::Result(ResultResponse::Prepared(p)) = decode(Opcode::Result, &body, V5) else {
        panic!("expected Prepared");
    };
    assert_eq!(p.result_metadata_id.as_deref(), Some(&[0xBB][..]));
    assert_eq!(&p.id[..], &[0xAA]);
}

/// v3 §4.2.6: SCHEMA_CHANGE event `<change_type><target><options>`.
#[test]
fn v3_schema_change_event() {
    let body = cat(&[
        &string("SCHEMA_CHANGE"),
        &string("UPDATED"),
        &string("TYPE"),
        &string("ks"),
        &string("address"),
    ]);
    let expected = Response::Event(Event::SchemaChange(SchemaChange {
        change: SchemaChangeType::Updated,
        target: SchemaChangeTarget::Type {
            keyspace: "ks".into(),
            name: "address".into(),
        },
    }));
    assert_eq!(decode(Opcode::Event, &body, V3), expected);
    assert_eq!(encode(&expected, V3), body);

    // The same change cannot be said in v2, which only knows keyspaces and tables.
    assert!(expected.encode(&mut BytesMut::new(), V2).is_err());
}

/// v2 §4.2.6: SCHEMA_CHANGE is `<change><keyspace><table>`, table empty for a keyspace.
#[test]
fn v2_schema_change_event() {
    let body = cat(&[
        &string("SCHEMA_CHANGE"),
        &string("DROPPED"),
        &string("ks"),
        &string(""),
    ]);
    let expected = Response::Event(Event::SchemaChange(SchemaChange {
        change: SchemaChangeType::Dropped,
        target: SchemaChangeTarget::Keyspace {
            keyspace: "ks".into(),
        },
    }));
    assert_eq!(decode(Opcode::Event, &body, V2), expected);
    assert_eq!(encode(&expected, V2), body);
}

/// v4 §4.2.6: FUNCTION targets carry a `[string list]` of argument types.
#[test]
fn v4_function_schema_change_result() {
    let body = cat(&[
        &int(0x0005),
        &string("CREATED"),
        &string("FUNCTION"),
        &string("ks"),
        &string("f"),
        &[0x00, 0x02],
        &string("int"),
        &string("text"),
    ]);
    let expected = Response::Result(ResultResponse::SchemaChange(SchemaChange {
        change: SchemaChangeType::Created,
        target: SchemaChangeTarget::Function {
            keyspace: "ks".into(),
            name: "f".into(),
            arg_types: vec!["int".into(), "text".into()],
        },
    }));
    assert_eq!(decode(Opcode::Result, &body, V4), expected);
    assert_eq!(encode(&expected, V4), body);
}

/// v5 §8: Read_failure carries a reason map instead of a failure count.
#[test]
fn read_failure_v4_count_and_v5_reason_map() {
    let v4 = cat(&[
        &int(0x1300),
        &string("rf"),
        &[0x00, 0x01], // ONE
        &int(0),
        &int(1),
        &int(1), // numfailures
        &[0x00], // data_present
    ]);
    let Response::Error(e) = decode(Opcode::Error, &v4, V4) else {
        panic!()
    };
    assert!(matches!(
        e.details,
        ErrorDetails::ReadFailure {
            failures: Failures::Count(1),
            data_present: 0,
            ..
        }
    ));

    let v5 = cat(&[
        &int(0x1300),
        &string("rf"),
        &[0x00, 0x01],
        &int(0),
        &int(1),
        &int(1), // reason map: 1 entry
        &[4, 127, 0, 0, 1],
        &[0x00, 0x06], // 127.0.0.1 -> 6
        &[0x01],
    ]);
    let Response::Error(e) = decode(Opcode::Error, &v5, V5) else {
        panic!()
    };
    let ErrorDetails::ReadFailure {
        failures: Failures::Reasons(reasons),
        data_present: 1,
        ..
    } = &e.details
    else {
        panic!("{e:?}")
    };
    assert_eq!(reasons, &[(IpAddr::V4(Ipv4Addr::LOCALHOST), 6)]);
    assert_eq!(encode(&Response::Error(e), V5), v5);
}

/// v5 §8: a CAS write timeout ends with `<contentions>`; v4 has none.
#[test]
fn cas_write_timeout_contentions_only_in_v5() {
    let head = cat(&[
        &int(0x1100),
        &string("wt"),
        &[0x00, 0x08], // SERIAL
        &int(0),
        &int(2),
        &string("CAS"),
    ]);
    let v5 = cat(&[&head, &[0x00, 0x03]]);
    let Response::Error(e) = decode(Opcode::Error, &v5, V5) else {
        panic!()
    };
    assert!(matches!(
        e.details,
        ErrorDetails::WriteTimeout {
            write_type: WriteType::Cas,
            contentions: Some(3),
            ..
        }
    ));
    let Response::Error(e) = decode(Opcode::Error, &head, V4) else {
        panic!()
    };
    assert!(matches!(
        e.details,
        ErrorDetails::WriteTimeout {
            contentions: None,
            ..
        }
    ));
}

/// A code unknown to the version keeps its payload so a proxy can forward it.
#[test]
fn unknown_error_code_is_forwarded_exactly() {
    let body = cat(&[
        &int(0x1700),
        &string("cas?"),
        &[0x00, 0x04],
        &int(1),
        &int(2),
    ]);
    let msg = decode(Opcode::Error, &body, V4);
    let Response::Error(e) = &msg else { panic!() };
    assert_eq!(e.code(), ErrorCode::CAS_WRITE_UNKNOWN);
    assert!(matches!(e.details, ErrorDetails::Other { .. }));
    assert_eq!(encode(&msg, V4), body);
    // In v5 the same bytes are a CAS_WRITE_UNKNOWN.
    let Response::Error(e) = decode(Opcode::Error, &body, V5) else {
        panic!()
    };
    assert!(matches!(
        e.details,
        ErrorDetails::CasWriteUnknown {
            received: 1,
            block_for: 2,
            ..
        }
    ));
}

#[test]
fn protocol_error_helper() {
    let err = ErrorResponse::protocol_error("Invalid or unsupported protocol version (66)");
    assert!(err.is_protocol_error());
    assert!(!ErrorResponse::server_error("x").is_protocol_error());
    let bytes = encode(&Response::Error(err), V4);
    assert_eq!(&bytes[..4], &[0, 0, 0, 0x0A]);
}

/// Rows metadata v5: `[<paging_state>][<new_metadata_id>]` in that order.
#[test]
fn v5_rows_metadata_changed_and_paging_state() {
    let body = cat(&[
        &int(0x0002),
        &int(0x0002 | 0x0004 | 0x0008), // Has_more_pages | No_metadata | Metadata_changed
        &int(1),
        &int(2),
        b"ps",
        &[0x00, 0x01, 0x42], // new_metadata_id
        &int(0),             // no rows
    ]);
    let Response::Result(ResultResponse::Rows(rows)) = decode(Opcode::Result, &body, V5) else {
        panic!()
    };
    let m = rows.metadata();
    assert_eq!(m.paging_state.as_deref(), Some(&b"ps"[..]));
    assert_eq!(m.new_metadata_id.as_deref(), Some(&[0x42][..]));
    assert!(m.columns.is_none());
    assert!(m.has_more_pages());
    assert_eq!(
        encode(&Response::Result(ResultResponse::Rows(rows)), V5),
        body
    );
}

#[test]
fn request_opcodes_are_rejected() {
    for op in [
        Opcode::Startup,
        Opcode::Query,
        Opcode::Execute,
        Opcode::Options,
    ] {
        let err = Response::decode(op, &mut Reader::new(Bytes::new()), V4).unwrap_err();
        assert_eq!(err.field, "response.opcode");
    }
}

// ------------------------------------------------------------ never panics

proptest! {
    #[test]
    fn decoding_arbitrary_bytes_never_panics(
        body in vec(any::<u8>(), 0..200),
        op in prop::sample::select(RESPONSE_OPCODES.to_vec()),
        v in version(),
    ) {
        let mut r = Reader::new(Bytes::from(body));
        if let Ok(msg) = Response::decode(op, &mut r, v) {
            let _ = msg.encode(&mut BytesMut::new(), v);
            if let Response::Result(ResultResponse::Rows(rows)) = msg {
                for row in rows.rows().take(64) {
                    // Decode validated every cell, so iteration cannot fail.
                    let row = row.map_err(|e| TestCaseError::fail(e.to_string()))?;
                    prop_assert_eq!(row.cells().count(), row.raw_cells().count());
                }
            }
        }
    }

    /// Arbitrary bytes after a Rows kind, biased towards plausible headers.
    #[test]
    fn rows_on_arbitrary_bytes_never_panic(
        flags in prop_oneof![Just(0u32), Just(4), any::<u32>()],
        cols in prop_oneof![0i32..4, any::<i32>()],
        tail in vec(any::<u8>(), 0..120),
        v in version(),
    ) {
        let body = cat(&[&int(2), &flags.to_be_bytes(), &int(cols), &tail]);
        if let Ok(Response::Result(ResultResponse::Rows(rows))) =
            Response::decode(Opcode::Result, &mut Reader::new(Bytes::from(body)), v)
        {
            for row in rows.rows().take(64) {
                let row = row.map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(row.cells().count(), rows.column_count());
            }
        }
    }

    /// Valid Rows cut short or with a byte changed: an error or a result, never a panic.
    #[test]
    fn mutated_rows_never_panic(
        (v, (meta, data)) in version_and(rows),
        cut in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let msg = Response::Result(ResultResponse::Rows(build_rows(meta, &data)));
        let bytes = encode(&msg, v).to_vec();
        let mut mutated = bytes.clone();
        let i = flip.index(mutated.len());
        mutated[i] = byte;
        let truncated = &bytes[..cut.index(bytes.len())];
        for body in [mutated, truncated.to_vec()] {
            if let Ok(Response::Result(ResultResponse::Rows(rows))) =
                Response::decode(Opcode::Result, &mut Reader::new(Bytes::from(body)), v)
            {
                for row in rows.rows().take(64) {
                    let row = row.map_err(|e| TestCaseError::fail(e.to_string()))?;
                    let _ = row.cells().count();
                }
            }
        }
    }
}
