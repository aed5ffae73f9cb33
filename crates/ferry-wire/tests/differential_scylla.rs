//! Differential tests: ferry-wire against scylla-cql 2.0, an independent
//! implementation of the CQL native protocol v4.
//!
//! Each property runs the same random message or value through both codecs
//! and compares them field by field (never "the bytes look plausible").
//! What scylla-cql can do decides which directions are covered:
//!
//! | what                                  | ferry encodes, scylla decodes                | scylla encodes, ferry decodes                 |
//! |---------------------------------------|----------------------------------------------|-----------------------------------------------|
//! | QUERY, EXECUTE, BATCH, STARTUP         | scylla's request deserializers              | `SerializedRequest` whole frames (+ lz4/snappy) |
//! | PREPARE, REGISTER, AUTH_RESPONSE, OPTIONS | scylla has no deserializer: its primitive readers (`read_long_string`, ...) | `SerializedRequest` whole frames  |
//! | cell values (every v4 type, nested)   | `CqlValue::deserialize`                      | `SerializeValue for CqlValue`                 |
//! | RESULT Rows (metadata + rows)         | `Response::deserialize`, `rows_iter::<Row>`  | not possible: scylla-cql cannot serialize responses |
//! | ERROR, SUPPORTED, READY, AUTH_*, EVENT, RESULT Void/SetKeyspace/Prepared/SchemaChange | `Response::deserialize` | not possible (same reason) |
//!
//! Responses are handed to scylla-cql as whole frames: ferry-wire writes the
//! header, tracing id, warnings and custom payload and may compress the
//! body; scylla-cql reads the flags byte, decompresses and splits the body
//! extensions itself.
//!
//! Known differences, kept out of the generators on purpose (each is a
//! scylla-cql limitation or a deliberate choice of ours, not a disagreement
//! on the spec):
//! - scylla-cql's type parser has no case for id 0x000A (`text`): Cassandra
//!   only ever sends 0x000D (`varchar`), so result metadata here uses varchar.
//! - `duration` (0x0015) is a v5 type id: ferry-wire refuses to encode it for
//!   v4, so cells containing one are encoded with v5, whose cell layout is
//!   the v4 one; metadata never contains it.
//! - scylla-cql's `CqlValue` cannot hold null collection elements, has no
//!   custom types, and reads a zero-length tuple/UDT cell as `Empty` where we
//!   read an empty tuple/UDT (`seen_by_scylla` maps ours accordingly).
//! - scylla-cql rejects MOVED_NODE topology events, schema changes of an
//!   unknown target, named bound values and unknown flag bits.

mod support;

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use ferry_wire::compression::Compression;
use ferry_wire::frame::{BodyExtras, FrameDecoder, FrameFlags};
use ferry_wire::message::{RequestMessage, ResponseMessage};
use ferry_wire::request::{
    AuthResponse, Batch, BatchStatement, BatchStatementKind, BatchType, BoundValues, Execute,
    Options, Prepare, Query, QueryParameters, Register, Request, Startup,
};
use ferry_wire::response::{
    AuthChallenge, AuthSuccess, Authenticate, ColumnSpec, ErrorCode, ErrorDetails, ErrorResponse,
    Event, Failures, Prepared, PreparedMetadata, Ready, Response, ResultResponse, Rows,
    RowsBuilder, RowsMetadata, SchemaChange, SchemaChangeTarget, SchemaChangeType, SetKeyspace,
    StatusChangeType, Supported, TableSpec, TopologyChangeType, WriteType,
};
use ferry_wire::types::{ColumnType, CqlDuration, CqlValue, Decimal, Varint};
use ferry_wire::{Consistency, ProtocolVersion, RawValue};
use proptest::prelude::*;
use proptest::strategy::Union;

use scylla_cql::deserialize::value::DeserializeValue;
use scylla_cql::deserialize::FrameSlice;
use scylla_cql::frame::protocol_features::ProtocolFeatures;
use scylla_cql::frame::request as sreq;
use scylla_cql::frame::request::DeserializableRequest;
use scylla_cql::frame::response as sresp;
use scylla_cql::frame::response::result as sres;
use scylla_cql::frame::response::result::{CollectionType, ColumnType as SType, NativeType as N};
use scylla_cql::frame::types as stypes;
use scylla_cql::serialize::row::SerializedValues;
use scylla_cql::serialize::value::SerializeValue;
use scylla_cql::serialize::writers::WrittenCellProof;
use scylla_cql::serialize::{CellWriter, SerializationError};
use scylla_cql::value::{self as sval, CqlValue as SValue};
use support::arb_bytes;
use support::scylla::to_scylla_type;

const V4: ProtocolVersion = ProtocolVersion::V4;

fn features() -> ProtocolFeatures {
    ProtocolFeatures::default()
}

fn fail(what: impl std::fmt::Display) -> TestCaseError {
    TestCaseError::fail(what.to_string())
}

// ============================================================== types

/// Native types for cell values: everything both codecs know.
fn value_natives() -> Vec<ColumnType> {
    let mut types = metadata_natives();
    types.extend([ColumnType::Text, ColumnType::Duration]);
    types
}

/// Native types for result metadata: no `text` (0x000A, unknown to
/// scylla-cql; Cassandra sends 0x000D) and no `duration` (a v5 type id).
fn metadata_natives() -> Vec<ColumnType> {
    let mut types = support::natives_up_to_v3();
    types.extend(support::natives_added_in_v4());
    types
}

fn arb_name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,8}"
}

/// A type built from `natives`, nested at most `depth` levels. UDT field
/// names are unique (scylla-cql serializes UDT values by field name).
fn arb_type(natives: Vec<ColumnType>, depth: u32) -> BoxedStrategy<ColumnType> {
    let leaf = proptest::sample::select(natives.clone()).boxed();
    if depth == 0 {
        return leaf;
    }
    let inner = move || arb_type(natives.clone(), depth - 1);
    let mut options = vec![(5, leaf)];
    options.extend(support::collection_type_options(&inner));
    options.extend([
        (
            1,
            proptest::collection::vec(inner(), 1..4)
                .prop_map(ColumnType::Tuple)
                .boxed(),
        ),
        (
            1,
            (
                arb_name(),
                arb_name(),
                arb_name(),
                proptest::collection::vec(inner(), 1..4),
            )
                .prop_map(|(keyspace, name, prefix, types)| ColumnType::Udt {
                    keyspace,
                    name,
                    fields: types
                        .into_iter()
                        .enumerate()
                        .map(|(i, t)| (format!("{prefix}{i}"), t))
                        .collect(),
                })
                .boxed(),
        ),
    ]);
    Union::new_weighted(options).boxed()
}

fn contains_duration(ty: &ColumnType) -> bool {
    match ty {
        ColumnType::Duration => true,
        ColumnType::List(t) | ColumnType::Set(t) => contains_duration(t),
        ColumnType::Map(k, v) => contains_duration(k) || contains_duration(v),
        ColumnType::Tuple(ts) => ts.iter().any(contains_duration),
        ColumnType::Udt { fields, .. } => fields.iter().any(|(_, t)| contains_duration(t)),
        _ => false,
    }
}

/// The version ferry-wire encodes a cell with: v4, or v5 for anything with
/// a duration inside (same cell layout; ferry-wire only refuses the type id).
fn cell_version(ty: &ColumnType) -> ProtocolVersion {
    if contains_duration(ty) {
        ProtocolVersion::V5
    } else {
        V4
    }
}

/// scylla type (as parsed from result metadata) -> ferry type. scylla-cql
/// reads id 0x000D as its `Text`, so that maps to `Varchar`. Frozenness is
/// not on the wire and is ignored.
fn from_scylla_type(ty: &SType<'_>) -> ColumnType {
    match ty {
        SType::Native(n) => match n {
            N::Ascii => ColumnType::Ascii,
            N::BigInt => ColumnType::Bigint,
            N::Blob => ColumnType::Blob,
            N::Boolean => ColumnType::Boolean,
            N::Counter => ColumnType::Counter,
            N::Decimal => ColumnType::Decimal,
            N::Double => ColumnType::Double,
            N::Float => ColumnType::Float,
            N::Int => ColumnType::Int,
            N::Text => ColumnType::Varchar,
            N::Timestamp => ColumnType::Timestamp,
            N::Uuid => ColumnType::Uuid,
            N::Varint => ColumnType::Varint,
            N::Timeuuid => ColumnType::Timeuuid,
            N::Inet => ColumnType::Inet,
            N::Date => ColumnType::Date,
            N::Time => ColumnType::Time,
            N::SmallInt => ColumnType::Smallint,
            N::TinyInt => ColumnType::Tinyint,
            N::Duration => ColumnType::Duration,
            other => panic!("unexpected scylla native type {other:?}"),
        },
        SType::Collection { typ, .. } => match typ {
            CollectionType::List(t) => ColumnType::List(Box::new(from_scylla_type(t))),
            CollectionType::Set(t) => ColumnType::Set(Box::new(from_scylla_type(t))),
            CollectionType::Map(k, v) => {
                ColumnType::Map(Box::new(from_scylla_type(k)), Box::new(from_scylla_type(v)))
            }
            other => panic!("unexpected scylla collection {other:?}"),
        },
        SType::Tuple(ts) => ColumnType::Tuple(ts.iter().map(from_scylla_type).collect()),
        SType::UserDefinedType { definition, .. } => ColumnType::Udt {
            keyspace: definition.keyspace.to_string(),
            name: definition.name.to_string(),
            fields: definition
                .field_types
                .iter()
                .map(|(n, t)| (n.to_string(), from_scylla_type(t)))
                .collect(),
        },
        other => panic!("unexpected scylla type {other:?}"),
    }
}

// ============================================================== values

/// Where a generated value may be [`CqlValue::Empty`] (a zero-length cell).
#[derive(Clone, Copy, Debug)]
enum Empties {
    /// Wherever ferry-wire decodes a zero-length cell as `Empty` (every type
    /// but text, blob, tuple and UDT): for values scylla-cql only decodes.
    FerryDecodes,
    /// Also only where scylla-cql agrees to write one (not counter,
    /// duration, collections or UDTs): for values scylla-cql encodes.
    BothWrite,
}

fn empty_allowed(ty: &ColumnType, empties: Empties) -> bool {
    let ferry = !matches!(
        ty,
        ColumnType::Ascii
            | ColumnType::Text
            | ColumnType::Varchar
            | ColumnType::Blob
            | ColumnType::Custom(_)
            | ColumnType::Tuple(_)
            | ColumnType::Udt { .. }
    );
    let scylla_writes = !matches!(
        ty,
        ColumnType::Counter
            | ColumnType::Duration
            | ColumnType::List(_)
            | ColumnType::Set(_)
            | ColumnType::Map(_, _)
            | ColumnType::Udt { .. }
    );
    match empties {
        Empties::FerryDecodes => ferry,
        Empties::BothWrite => ferry && scylla_writes,
    }
}

fn arb_varint() -> impl Strategy<Value = Varint> {
    proptest::collection::vec(any::<u8>(), 1..20)
        .prop_map(|raw| Varint::from_signed_slice_be(&raw).expect("non-empty"))
}

/// A nullable element of a tuple or UDT.
fn arb_nullable(ty: &ColumnType, empties: Empties) -> BoxedStrategy<Option<CqlValue>> {
    prop_oneof![1 => Just(None), 4 => arb_value(ty, empties).prop_map(Some)].boxed()
}

/// A value of `ty`. Collection elements are never null (scylla-cql's
/// `CqlValue` cannot hold a null element); tuple and UDT elements may be,
/// and may be missing at the end.
fn arb_value(ty: &ColumnType, empties: Empties) -> BoxedStrategy<CqlValue> {
    let elem = |t: &ColumnType| arb_value(t, empties).prop_map(Some);
    let value: BoxedStrategy<CqlValue> = match ty {
        ColumnType::Duration => (0..=i32::MAX, 0..=i32::MAX, 0..=i64::MAX, any::<bool>())
            .prop_map(|(m, d, n, neg)| {
                CqlValue::Duration(if neg {
                    CqlDuration::new(-m, -d, -n)
                } else {
                    CqlDuration::new(m, d, n)
                })
            })
            .boxed(),
        ColumnType::List(t) => proptest::collection::vec(elem(t), 0..4)
            .prop_map(CqlValue::List)
            .boxed(),
        ColumnType::Set(t) => proptest::collection::vec(elem(t), 0..4)
            .prop_map(CqlValue::Set)
            .boxed(),
        ColumnType::Map(k, v) => proptest::collection::vec((elem(k), elem(v)), 0..4)
            .prop_map(CqlValue::Map)
            .boxed(),
        ColumnType::Tuple(types) => {
            support::arb_tuple_of(types.iter().map(|t| arb_nullable(t, empties)).collect())
        }
        ColumnType::Udt { fields, .. } => support::arb_udt_of(fields, |t| arb_nullable(t, empties)),
        ColumnType::Custom(_) => unreachable!("not generated"),
        native => support::arb_native_value(native, arb_varint),
    };
    if empty_allowed(ty, empties) {
        prop_oneof![1 => Just(CqlValue::Empty), 12 => value].boxed()
    } else {
        value
    }
}

fn arb_typed_value(empties: Empties) -> impl Strategy<Value = (ColumnType, CqlValue)> {
    arb_type(value_natives(), 3)
        .prop_flat_map(move |ty| arb_value(&ty, empties).prop_map(move |v| (ty.clone(), v)))
}

/// scylla value -> ferry value, checked against the ferry type the cell was
/// declared with: each scylla variant is accepted only for the types it
/// represents, so a scylla-cql decode into the wrong variant fails here.
///
/// | scylla `CqlValue`                 | ferry `CqlValue`                  | for ferry type      |
/// |-----------------------------------|-----------------------------------|---------------------|
/// | `Empty`                           | `Empty`                           | any                 |
/// | `Ascii(String)`                   | `Ascii(CqlText)`                  | ascii               |
/// | `Text(String)`                    | `Text(CqlText)`                   | text, varchar       |
/// | `Boolean(b)`                      | `Boolean(b)`                      | boolean             |
/// | `Blob(Vec<u8>)`                   | `Blob(Bytes)`                     | blob                |
/// | `Counter(Counter(i64))`           | `Counter(i64)`                    | counter             |
/// | `Decimal(CqlDecimal)`             | `Decimal { unscaled, scale }` (same digits, same scale) | decimal |
/// | `Date(CqlDate(u32))`              | `Date(u32)` (days, 2^31 = epoch)  | date                |
/// | `Double(f64)`, `Float(f32)`       | same, compared bit for bit        | double, float       |
/// | `Duration { months, days, nanoseconds }` | `Duration` (same three)    | duration            |
/// | `Int`, `BigInt`, `SmallInt`, `TinyInt` | `Int`, `Bigint`, `Smallint`, `Tinyint` | int, bigint, smallint, tinyint |
/// | `Timestamp(CqlTimestamp(i64))`    | `Timestamp(i64)` (ms since epoch) | timestamp           |
/// | `Time(CqlTime(i64))`              | `Time(i64)` (ns since midnight)   | time                |
/// | `Inet(IpAddr)`                    | `Inet(IpAddr)`                    | inet                |
/// | `Uuid(Uuid)`                      | `Uuid([u8; 16])`                  | uuid                |
/// | `Timeuuid(CqlTimeuuid)`           | `Timeuuid([u8; 16])`              | timeuuid            |
/// | `Varint(CqlVarint)`               | `Varint` (scylla keeps the bytes as sent, ours are minimal; equal as numbers) | varint |
/// | `List`/`Set(Vec<CqlValue>)`       | `List`/`Set(Vec<Some(_)>)`        | list, set           |
/// | `Map(Vec<(k, v)>)`                | `Map(Vec<(Some(k), Some(v))>)`, order kept | map        |
/// | `Tuple(Vec<Option<_>>)`           | `Tuple(Vec<Option<_>>)`           | tuple               |
/// | `UserDefinedType { keyspace, name, fields }` | `Udt(fields)` (keyspace, name and field names checked against the type) | UDT |
/// | `Vector(_)`                       | (not generated: no such type in ferry-wire) | —         |
fn from_scylla(v: SValue, ty: &ColumnType) -> Result<CqlValue, TestCaseError> {
    use ColumnType as T;
    let mismatch = |v: &SValue| fail(format!("scylla-cql gave {v:?} for a {ty}"));
    let elems = |items: Vec<SValue>, t: &ColumnType| -> Result<Vec<Option<CqlValue>>, _> {
        items
            .into_iter()
            .map(|i| from_scylla(i, t).map(Some))
            .collect()
    };
    Ok(match (v, ty) {
        (SValue::Empty, _) => CqlValue::Empty,
        (SValue::Ascii(s), T::Ascii) => CqlValue::Ascii(s.into()),
        (SValue::Text(s), T::Text | T::Varchar) => CqlValue::Text(s.into()),
        (SValue::Boolean(b), T::Boolean) => CqlValue::Boolean(b),
        (SValue::Blob(b), T::Blob) => CqlValue::Blob(b.into()),
        (SValue::Counter(c), T::Counter) => CqlValue::Counter(c.0),
        (SValue::Decimal(d), T::Decimal) => {
            let (raw, scale) = d.as_signed_be_bytes_slice_and_exponent();
            let unscaled =
                Varint::from_signed_slice_be(raw).ok_or_else(|| fail("empty decimal digits"))?;
            CqlValue::Decimal(Decimal::new(unscaled, scale))
        }
        (SValue::Date(d), T::Date) => CqlValue::Date(d.0),
        (SValue::Double(d), T::Double) => CqlValue::Double(d),
        (SValue::Float(f), T::Float) => CqlValue::Float(f),
        (SValue::Duration(d), T::Duration) => {
            CqlValue::Duration(CqlDuration::new(d.months, d.days, d.nanoseconds))
        }
        (SValue::Int(i), T::Int) => CqlValue::Int(i),
        (SValue::BigInt(i), T::Bigint) => CqlValue::Bigint(i),
        (SValue::SmallInt(i), T::Smallint) => CqlValue::Smallint(i),
        (SValue::TinyInt(i), T::Tinyint) => CqlValue::Tinyint(i),
        (SValue::Timestamp(t), T::Timestamp) => CqlValue::Timestamp(t.0),
        (SValue::Time(t), T::Time) => CqlValue::Time(t.0),
        (SValue::Inet(ip), T::Inet) => CqlValue::Inet(ip),
        (SValue::Uuid(u), T::Uuid) => CqlValue::Uuid(*u.as_bytes()),
        (SValue::Timeuuid(u), T::Timeuuid) => CqlValue::Timeuuid(*u.as_bytes()),
        (SValue::Varint(v), T::Varint) => CqlValue::Varint(
            Varint::from_signed_slice_be(v.as_signed_bytes_be_slice())
                .ok_or_else(|| fail("empty varint"))?,
        ),
        (SValue::List(items), T::List(t)) => CqlValue::List(elems(items, t)?),
        (SValue::Set(items), T::Set(t)) => CqlValue::Set(elems(items, t)?),
        (SValue::Map(pairs), T::Map(kt, vt)) => CqlValue::Map(
            pairs
                .into_iter()
                .map(|(k, v)| Ok((Some(from_scylla(k, kt)?), Some(from_scylla(v, vt)?))))
                .collect::<Result<_, TestCaseError>>()?,
        ),
        (SValue::Tuple(items), T::Tuple(types)) => {
            if items.len() > types.len() {
                return Err(fail(
                    "scylla-cql read more tuple elements than the type has",
                ));
            }
            CqlValue::Tuple(
                items
                    .into_iter()
                    .zip(types)
                    .map(|(i, t)| i.map(|i| from_scylla(i, t)).transpose())
                    .collect::<Result<_, _>>()?,
            )
        }
        (
            SValue::UserDefinedType {
                keyspace,
                name,
                fields,
            },
            T::Udt {
                keyspace: ks,
                name: n,
                fields: types,
            },
        ) => {
            prop_assert_eq!((&keyspace, &name), (ks, n));
            let names: Vec<&String> = fields.iter().map(|(n, _)| n).collect();
            let expected: Vec<&String> = types.iter().map(|(n, _)| n).take(names.len()).collect();
            prop_assert_eq!(names, expected);
            CqlValue::Udt(
                fields
                    .into_iter()
                    .zip(types)
                    .map(|((n, v), (_, t))| Ok((n, v.map(|v| from_scylla(v, t)).transpose()?)))
                    .collect::<Result<_, TestCaseError>>()?,
            )
        }
        (v, _) => return Err(mismatch(&v)),
    })
}

/// ferry value -> scylla value (the inverse of [`from_scylla`]); the UDT's
/// keyspace and name come from the type, which scylla-cql checks on write.
fn to_scylla(v: &CqlValue, ty: &ColumnType) -> SValue {
    use ColumnType as T;
    let elems = |items: &[Option<CqlValue>], t: &ColumnType| -> Vec<SValue> {
        items
            .iter()
            .map(|i| to_scylla(i.as_ref().expect("no null collection elements"), t))
            .collect()
    };
    match (v, ty) {
        (CqlValue::Empty, _) => SValue::Empty,
        (CqlValue::Ascii(s), _) => SValue::Ascii(s.to_string()),
        (CqlValue::Text(s), _) => SValue::Text(s.to_string()),
        (CqlValue::Boolean(b), _) => SValue::Boolean(*b),
        (CqlValue::Blob(b), _) => SValue::Blob(b.to_vec()),
        (CqlValue::Counter(c), _) => SValue::Counter(sval::Counter(*c)),
        (CqlValue::Decimal(d), _) => {
            SValue::Decimal(sval::CqlDecimal::from_signed_be_bytes_slice_and_exponent(
                d.unscaled.as_signed_bytes_be(),
                d.scale,
            ))
        }
        (CqlValue::Date(d), _) => SValue::Date(sval::CqlDate(*d)),
        (CqlValue::Double(d), _) => SValue::Double(*d),
        (CqlValue::Float(f), _) => SValue::Float(*f),
        (CqlValue::Duration(d), _) => SValue::Duration(sval::CqlDuration {
            months: d.months,
            days: d.days,
            nanoseconds: d.nanoseconds,
        }),
        (CqlValue::Int(i), _) => SValue::Int(*i),
        (CqlValue::Bigint(i), _) => SValue::BigInt(*i),
        (CqlValue::Smallint(i), _) => SValue::SmallInt(*i),
        (CqlValue::Tinyint(i), _) => SValue::TinyInt(*i),
        (CqlValue::Timestamp(t), _) => SValue::Timestamp(sval::CqlTimestamp(*t)),
        (CqlValue::Time(t), _) => SValue::Time(sval::CqlTime(*t)),
        (CqlValue::Inet(ip), _) => SValue::Inet(*ip),
        (CqlValue::Uuid(u), _) => SValue::Uuid(sval::CqlTimeuuid::from_bytes(*u).into()),
        (CqlValue::Timeuuid(u), _) => SValue::Timeuuid(sval::CqlTimeuuid::from_bytes(*u)),
        (CqlValue::Varint(v), _) => SValue::Varint(sval::CqlVarint::from_signed_bytes_be_slice(
            v.as_signed_bytes_be(),
        )),
        (CqlValue::List(items), T::List(t)) => SValue::List(elems(items, t)),
        (CqlValue::Set(items), T::Set(t)) => SValue::Set(elems(items, t)),
        (CqlValue::Map(pairs), T::Map(kt, vt)) => SValue::Map(
            pairs
                .iter()
                .map(|(k, v)| {
                    (
                        to_scylla(k.as_ref().expect("no null keys"), kt),
                        to_scylla(v.as_ref().expect("no null values"), vt),
                    )
                })
                .collect(),
        ),
        (CqlValue::Tuple(items), T::Tuple(types)) => SValue::Tuple(
            items
                .iter()
                .zip(types)
                .map(|(i, t)| i.as_ref().map(|i| to_scylla(i, t)))
                .collect(),
        ),
        (
            CqlValue::Udt(fields),
            T::Udt {
                keyspace,
                name,
                fields: types,
            },
        ) => SValue::UserDefinedType {
            keyspace: keyspace.clone(),
            name: name.clone(),
            fields: fields
                .iter()
                .zip(types)
                .map(|((n, v), (_, t))| (n.clone(), v.as_ref().map(|v| to_scylla(v, t))))
                .collect(),
        },
        (v, ty) => panic!("generator produced {v:?} for {ty}"),
    }
}

/// `v` with `f` applied to each element of a UDT (one per field of `ty`,
/// missing trailing fields as nulls), list, set or map; `None` for any
/// other value. The part [`seen_by_scylla`] and [`written_by_scylla`]
/// share: they differ on tuples and empty values only.
fn map_elements(
    v: &CqlValue,
    ty: &ColumnType,
    f: fn(&CqlValue, &ColumnType) -> CqlValue,
) -> Option<CqlValue> {
    let each = |items: &[Option<CqlValue>], t: &ColumnType| -> Vec<Option<CqlValue>> {
        items.iter().map(|i| i.as_ref().map(|i| f(i, t))).collect()
    };
    Some(match (v, ty) {
        (CqlValue::Udt(fields), ColumnType::Udt { fields: types, .. }) => CqlValue::Udt(
            types
                .iter()
                .enumerate()
                .map(|(i, (n, t))| {
                    let v = fields.get(i).and_then(|(_, v)| v.as_ref());
                    (n.clone(), v.map(|v| f(v, t)))
                })
                .collect(),
        ),
        (CqlValue::List(items), ColumnType::List(t)) => CqlValue::List(each(items, t)),
        (CqlValue::Set(items), ColumnType::Set(t)) => CqlValue::Set(each(items, t)),
        (CqlValue::Map(pairs), ColumnType::Map(kt, vt)) => CqlValue::Map(
            pairs
                .iter()
                .map(|(k, v)| (k.as_ref().map(|k| f(k, kt)), v.as_ref().map(|v| f(v, vt))))
                .collect(),
        ),
        _ => return None,
    })
}

/// What scylla-cql reports for a cell ferry-wire wrote from `v`: a
/// zero-length tuple or UDT is `Empty`, and tuples and UDTs missing trailing
/// elements read as padded with nulls.
fn seen_by_scylla(v: &CqlValue, ty: &ColumnType) -> CqlValue {
    match (v, ty) {
        (CqlValue::Tuple(items), ColumnType::Tuple(types)) => {
            support::tuple_as_scylla_reads_it(items, types, seen_by_scylla)
        }
        (CqlValue::Udt(fields), ColumnType::Udt { .. }) if fields.is_empty() => CqlValue::Empty,
        (other, _) => map_elements(other, ty, seen_by_scylla).unwrap_or_else(|| other.clone()),
    }
}

/// What ferry-wire reads from a cell scylla-cql wrote from `to_scylla(v)`:
/// scylla-cql writes every UDT field (null when the value lacks it); a
/// short tuple stays short.
fn written_by_scylla(v: &CqlValue, ty: &ColumnType) -> CqlValue {
    match (v, ty) {
        (CqlValue::Tuple(items), ColumnType::Tuple(types)) => CqlValue::Tuple(
            items
                .iter()
                .zip(types)
                .map(|(i, t)| i.as_ref().map(|i| written_by_scylla(i, t)))
                .collect(),
        ),
        (other, _) => map_elements(other, ty, written_by_scylla).unwrap_or_else(|| other.clone()),
    }
}

fn ferry_cell(v: &CqlValue, ty: &ColumnType) -> Bytes {
    let mut buf = BytesMut::new();
    v.encode(ty, &mut buf, cell_version(ty))
        .unwrap_or_else(|e| panic!("ferry-wire refuses {v:?} as {ty}: {e}"));
    buf.freeze()
}

proptest! {
    /// ferry-wire writes a cell, scylla-cql reads the same value.
    #[test]
    fn values_ferry_to_scylla((ty, value) in arb_typed_value(Empties::FerryDecodes)) {
        let cell = ferry_cell(&value, &ty);
        let sty = to_scylla_type(&ty);
        let theirs = SValue::deserialize(&sty, Some(FrameSlice::new(&cell)))
            .map_err(|e| fail(format!("scylla-cql rejects a {ty} cell: {e}")))?;
        prop_assert_eq!(from_scylla(theirs, &ty)?, seen_by_scylla(&value, &ty));
    }

    /// scylla-cql writes a cell, ferry-wire reads the same value, and
    /// ferry-wire would have written the very same bytes.
    #[test]
    fn values_scylla_to_ferry((ty, value) in arb_typed_value(Empties::BothWrite)) {
        let sty = to_scylla_type(&ty);
        let mut out = Vec::new();
        to_scylla(&value, &ty)
            .serialize(&sty, CellWriter::new_without_size(&mut out))
            .map_err(|e| fail(format!("scylla-cql refuses {value:?} as {ty}: {e}")))?;
        let cell = Bytes::from(out);
        let ours = CqlValue::decode(&ty, &cell, cell_version(&ty))
            .map_err(|e| fail(format!("ferry-wire rejects scylla's {ty} cell: {e}")))?;
        let expected = written_by_scylla(&value, &ty);
        prop_assert_eq!(&ours, &expected);
        prop_assert_eq!(ferry_cell(&expected, &ty), cell);
    }
}

// ============================================================== requests

fn s_consistency(c: Consistency) -> stypes::Consistency {
    stypes::Consistency::try_from(c as u16).expect("every ferry level exists in scylla-cql")
}

fn s_serial(c: Consistency) -> stypes::SerialConsistency {
    stypes::SerialConsistency::try_from(c as u16 as i16).expect("a serial level")
}

fn arb_consistency() -> impl Strategy<Value = Consistency> {
    proptest::sample::select(Consistency::ALL.to_vec())
}

/// scylla-cql insists that the serial consistency is a serial level.
fn arb_serial() -> impl Strategy<Value = Consistency> {
    proptest::sample::select(vec![Consistency::Serial, Consistency::LocalSerial])
}

fn arb_raw_value() -> impl Strategy<Value = RawValue> {
    prop_oneof![
        1 => Just(RawValue::Null),
        1 => Just(RawValue::Unset),
        4 => arb_bytes(12).prop_map(RawValue::Bytes),
    ]
}

fn arb_raw_values(max: usize) -> impl Strategy<Value = Vec<RawValue>> {
    proptest::collection::vec(arb_raw_value(), 0..max)
}

/// v4 parameters in scylla-cql's vocabulary: positional values only, no
/// unknown flags. `Some(empty list)` is allowed (scylla-cql then simply sees
/// no values).
fn arb_params() -> impl Strategy<Value = QueryParameters> {
    (
        arb_consistency(),
        proptest::option::of(arb_raw_values(5)),
        any::<bool>(),
        proptest::option::of(any::<i32>()),
        proptest::option::of(arb_bytes(12)),
        proptest::option::of(arb_serial()),
        proptest::option::of(any::<i64>()),
    )
        .prop_map(
            |(consistency, values, skip, page_size, paging_state, serial, timestamp)| {
                let mut p = QueryParameters::new(consistency);
                p.values = values.map(BoundValues::Positional);
                p.skip_metadata = skip;
                p.page_size = page_size;
                p.paging_state = paging_state;
                p.serial_consistency = serial;
                p.default_timestamp = timestamp;
                p
            },
        )
}

fn arb_statement_id() -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(any::<u8>(), 0..20).prop_map(Bytes::from)
}

fn arb_batch() -> impl Strategy<Value = Batch> {
    let statement = (
        prop_oneof![
            any::<String>().prop_map(|q| BatchStatementKind::Query(q.into())),
            arb_statement_id().prop_map(BatchStatementKind::Prepared),
        ],
        arb_raw_values(4),
    )
        .prop_map(|(kind, values)| BatchStatement {
            kind,
            values: BoundValues::Positional(values),
        });
    (
        proptest::sample::select(vec![
            BatchType::Logged,
            BatchType::Unlogged,
            BatchType::Counter,
        ]),
        proptest::collection::vec(statement, 0..4),
        arb_consistency(),
        proptest::option::of(arb_serial()),
        proptest::option::of(any::<i64>()),
    )
        .prop_map(|(ty, statements, consistency, serial, timestamp)| {
            let mut b = Batch::new(ty, consistency);
            b.statements = statements;
            b.serial_consistency = serial;
            b.default_timestamp = timestamp;
            b
        })
}

/// Every v4 request, in the subset of the protocol scylla-cql speaks.
fn arb_request() -> impl Strategy<Value = Request> {
    prop_oneof![
        3 => (any::<String>(), arb_params()).prop_map(|(q, parameters)| {
            Request::Query(Query { query: q.into(), parameters })
        }),
        3 => (arb_statement_id(), arb_params()).prop_map(|(id, parameters)| {
            Request::Execute(Execute { id, result_metadata_id: None, parameters })
        }),
        3 => arb_batch().prop_map(Request::Batch),
        1 => proptest::collection::hash_map("[A-Z_]{1,12}", "\\PC{0,12}", 0..5)
            .prop_map(|m| Request::Startup(Startup { options: m.into_iter().collect() })),
        1 => proptest::collection::vec(
            proptest::sample::select(vec!["TOPOLOGY_CHANGE", "STATUS_CHANGE", "SCHEMA_CHANGE"]),
            0..4,
        )
        .prop_map(|events| Request::Register(Register::new(events))),
        1 => any::<String>().prop_map(|q| Request::Prepare(Prepare::new(q))),
        1 => proptest::option::of(arb_bytes(24))
            .prop_map(|token| Request::AuthResponse(AuthResponse { token })),
        1 => Just(Request::Options(Options)),
    ]
}

fn raw_matches(ours: &RawValue, theirs: &stypes::RawValue<'_>) -> bool {
    match (ours, theirs) {
        (RawValue::Null, stypes::RawValue::Null) | (RawValue::Unset, stypes::RawValue::Unset) => {
            true
        }
        (RawValue::Bytes(a), stypes::RawValue::Value(b)) => a[..] == **b,
        _ => false,
    }
}

fn check_values(ours: &[RawValue], theirs: &SerializedValues) -> Result<(), TestCaseError> {
    let theirs: Vec<_> = theirs.iter().collect();
    prop_assert_eq!(ours.len(), theirs.len(), "value count");
    for (i, (o, t)) in ours.iter().zip(&theirs).enumerate() {
        prop_assert!(
            raw_matches(o, t),
            "value {}: ours {:?}, scylla {:?}",
            i,
            o,
            t
        );
    }
    Ok(())
}

fn positional(values: &Option<BoundValues>) -> &[RawValue] {
    match values {
        Some(BoundValues::Positional(v)) => v,
        None => &[],
        Some(BoundValues::Named(_) | BoundValues::Serialized(_)) => panic!("not generated"),
    }
}

fn check_params(
    ours: &QueryParameters,
    theirs: &sreq::query::QueryParameters<'_>,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(theirs.consistency, s_consistency(ours.consistency));
    prop_assert_eq!(
        theirs.serial_consistency,
        ours.serial_consistency.map(s_serial)
    );
    prop_assert_eq!(theirs.timestamp, ours.default_timestamp);
    prop_assert_eq!(theirs.page_size, ours.page_size);
    prop_assert_eq!(
        theirs.paging_state.as_bytes_slice().map(|s| s.to_vec()),
        ours.paging_state.as_ref().map(|s| s.to_vec())
    );
    prop_assert_eq!(theirs.skip_metadata, ours.skip_metadata);
    check_values(positional(&ours.values), &theirs.values)
}

/// Compresses a request body the way ferry-wire's frame layer does and
/// decompresses it with scylla-cql's code, or passes it through.
fn through_compression(body: Bytes, compression: Option<Compression>) -> Vec<u8> {
    match compression {
        None => body.to_vec(),
        Some(c) => {
            let packed = c.compress(&body).expect("small body");
            scylla_cql::frame::decompress(&packed, s_compression(c)).expect("scylla decompresses")
        }
    }
}

fn s_compression(c: Compression) -> scylla_cql::frame::Compression {
    match c {
        Compression::Lz4 => scylla_cql::frame::Compression::Lz4,
        Compression::Snappy => scylla_cql::frame::Compression::Snappy,
    }
}

fn arb_compression() -> impl Strategy<Value = Option<Compression>> {
    proptest::option::of(proptest::sample::select(vec![
        Compression::Lz4,
        Compression::Snappy,
    ]))
}

/// ferry-wire encodes `req`; scylla-cql decodes it (with its request
/// deserializer where it has one, with its primitive readers where not) and
/// every field is compared.
fn check_ferry_request_in_scylla(
    req: &Request,
    compression: Option<Compression>,
) -> Result<(), TestCaseError> {
    let mut body = BytesMut::new();
    req.encode(&mut body, V4).map_err(fail)?;
    let wire = through_compression(body.freeze(), compression);
    let mut input = &wire[..];
    let f = features();
    match req {
        Request::Query(q) => {
            let theirs = sreq::Query::deserialize_with_features(&mut input, &f).map_err(fail)?;
            prop_assert_eq!(&*theirs.contents, q.query.text());
            check_params(&q.parameters, &theirs.parameters)?;
        }
        Request::Execute(e) => {
            let theirs = sreq::execute::ExecuteV2::deserialize_with_features(&mut input, &f)
                .map_err(fail)?;
            prop_assert_eq!(theirs.id.as_ref(), &e.id[..]);
            prop_assert!(theirs.result_metadata_id.is_none());
            check_params(&e.parameters, &theirs.parameters)?;
        }
        Request::Batch(b) => {
            let theirs = sreq::Batch::<sreq::batch::BatchStatement, Vec<SerializedValues>>::deserialize_with_features(&mut input, &f)
                .map_err(fail)?;
            prop_assert_eq!(theirs.batch_type as u8, u8::from(b.batch_type));
            prop_assert_eq!(theirs.consistency, s_consistency(b.consistency));
            prop_assert_eq!(
                theirs.serial_consistency,
                b.serial_consistency.map(s_serial)
            );
            prop_assert_eq!(theirs.timestamp, b.default_timestamp);
            prop_assert_eq!(theirs.statements.len(), b.statements.len());
            prop_assert_eq!(theirs.values.len(), b.statements.len());
            for ((ours, stmt), values) in b
                .statements
                .iter()
                .zip(theirs.statements.iter())
                .zip(&theirs.values)
            {
                match (&ours.kind, stmt) {
                    (BatchStatementKind::Query(q), sreq::batch::BatchStatement::Query { text }) => {
                        prop_assert_eq!(q.text(), &**text)
                    }
                    (
                        BatchStatementKind::Prepared(id),
                        sreq::batch::BatchStatement::Prepared { id: theirs },
                    ) => {
                        prop_assert_eq!(&id[..], &**theirs)
                    }
                    (o, t) => {
                        return Err(fail(format!("statement kind: ours {o:?}, scylla {t:?}")))
                    }
                }
                check_values(&ours.values.to_raw_values(), values)?;
            }
        }
        Request::Startup(s) => {
            let theirs = sreq::Startup::deserialize_with_features(&mut input, &f).map_err(fail)?;
            let theirs: HashMap<String, String> = theirs
                .options
                .into_iter()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            let ours: HashMap<String, String> = s.options.iter().cloned().collect();
            prop_assert_eq!(theirs, ours);
        }
        // scylla-cql serializes but never deserializes these four: read
        // their bodies with its primitive readers.
        Request::Register(r) => {
            let events = stypes::read_string_list(&mut input).map_err(fail)?;
            for e in &events {
                let _: scylla_cql::frame::server_event_type::EventType = e.parse().map_err(fail)?;
            }
            prop_assert_eq!(&events, &r.events);
        }
        Request::Prepare(p) => {
            prop_assert_eq!(
                stypes::read_long_string(&mut input).map_err(fail)?,
                p.query.text()
            );
        }
        Request::AuthResponse(a) => {
            let token = stypes::read_bytes_opt(&mut input).map_err(fail)?;
            prop_assert_eq!(token, a.token.as_deref());
        }
        Request::Options(_) => {}
    }
    prop_assert!(
        input.is_empty(),
        "scylla-cql left {} bytes unread",
        input.len()
    );
    Ok(())
}

/// A bound value handed to scylla-cql as is (null, unset or raw bytes).
struct Raw<'a>(&'a RawValue);

impl SerializeValue for Raw<'_> {
    fn serialize<'b>(
        &self,
        _typ: &SType<'_>,
        writer: CellWriter<'b>,
    ) -> Result<WrittenCellProof<'b>, SerializationError> {
        Ok(match self.0 {
            RawValue::Null => writer.set_null(),
            RawValue::Unset => writer.set_unset(),
            RawValue::Bytes(b) => writer.set_value(b).expect("small value"),
        })
    }
}

fn s_values(values: &[RawValue]) -> SerializedValues {
    let mut out = SerializedValues::new();
    for v in values {
        out.add_value(&Raw(v), &SType::Native(N::Blob))
            .expect("fits");
    }
    out
}

fn s_params(p: &QueryParameters) -> sreq::query::QueryParameters<'static> {
    sreq::query::QueryParameters {
        consistency: s_consistency(p.consistency),
        serial_consistency: p.serial_consistency.map(s_serial),
        timestamp: p.default_timestamp,
        page_size: p.page_size,
        paging_state: match &p.paging_state {
            Some(s) => sreq::query::PagingState::new_from_raw_bytes(&s[..]),
            None => sreq::query::PagingState::start(),
        },
        skip_metadata: p.skip_metadata,
        values: Cow::Owned(s_values(positional(&p.values))),
    }
}

/// scylla-cql builds the whole frame for `req` (header, optional
/// compression and tracing flag).
fn scylla_request_frame(
    req: &Request,
    compression: Option<Compression>,
    tracing: bool,
    stream: i16,
) -> Vec<u8> {
    use scylla_cql::frame::SerializedRequest as S;
    let c = compression.map(s_compression);
    let mut frame = match req {
        Request::Query(q) => S::make(
            &sreq::Query {
                contents: Cow::Owned(q.query.text().to_owned()),
                parameters: s_params(&q.parameters),
            },
            c,
            tracing,
        ),
        Request::Execute(e) => S::make(
            &sreq::execute::ExecuteV2 {
                id: sres::cow_bytes::CowBytes::from(&e.id[..]),
                result_metadata_id: None,
                parameters: s_params(&e.parameters),
                tablet_version_block: None,
            },
            c,
            tracing,
        ),
        Request::Batch(b) => {
            let statements: Vec<sreq::batch::BatchStatement<'_>> = b
                .statements
                .iter()
                .map(|s| match &s.kind {
                    BatchStatementKind::Query(q) => sreq::batch::BatchStatement::Query {
                        text: Cow::Owned(q.text().to_owned()),
                    },
                    BatchStatementKind::Prepared(id) => sreq::batch::BatchStatement::Prepared {
                        id: Cow::Owned(id.to_vec()),
                    },
                })
                .collect();
            S::make(
                &sreq::Batch {
                    statements: Cow::Owned(statements),
                    batch_type: sreq::batch::BatchType::try_from(u8::from(b.batch_type))
                        .expect("batch type"),
                    consistency: s_consistency(b.consistency),
                    serial_consistency: b.serial_consistency.map(s_serial),
                    timestamp: b.default_timestamp,
                    values: b
                        .statements
                        .iter()
                        .map(|s| s_values(&s.values.to_raw_values()))
                        .collect::<Vec<_>>(),
                },
                c,
                tracing,
            )
        }
        Request::Startup(s) => S::make(
            &sreq::Startup {
                options: s
                    .options
                    .iter()
                    .map(|(k, v)| (Cow::Owned(k.clone()), Cow::Owned(v.clone())))
                    .collect(),
            },
            c,
            tracing,
        ),
        Request::Register(r) => S::make(
            &sreq::register::Register {
                event_types_to_register_for: r
                    .events
                    .iter()
                    .map(|e| e.parse().expect("known event"))
                    .collect(),
            },
            c,
            tracing,
        ),
        Request::Prepare(p) => S::make(
            &sreq::prepare::Prepare {
                query: p.query.text(),
            },
            c,
            tracing,
        ),
        Request::AuthResponse(a) => S::make(
            &sreq::auth_response::AuthResponse {
                response: a.token.as_ref().map(|t| t.to_vec()),
            },
            c,
            tracing,
        ),
        Request::Options(_) => S::make(&sreq::options::Options, c, tracing),
    }
    .expect("scylla-cql serializes");
    frame.set_stream(stream);
    frame.get_data().to_vec()
}

/// What ferry-wire decodes from scylla-cql's frame for `req`: scylla-cql
/// drops the values flag when there are no values, and STARTUP options
/// travel in its hash map's order.
fn as_scylla_sends(req: &Request, wire_startup_order: Option<&Startup>) -> Request {
    let params = |p: &QueryParameters| {
        let mut p = p.clone();
        p.values = p.values.filter(|v| !v.is_empty());
        p
    };
    match req {
        Request::Query(q) => Request::Query(Query {
            query: q.query.clone(),
            parameters: params(&q.parameters),
        }),
        Request::Execute(e) => Request::Execute(Execute {
            parameters: params(&e.parameters),
            ..e.clone()
        }),
        Request::Startup(s) => {
            let got = wire_startup_order.expect("decoded STARTUP");
            let mut ours = s.options.clone();
            let mut theirs = got.options.clone();
            ours.sort();
            theirs.sort();
            // Same set of pairs: the order is scylla-cql's to choose.
            if ours == theirs {
                Request::Startup(got.clone())
            } else {
                req.clone()
            }
        }
        other => other.clone(),
    }
}

proptest! {
    /// ferry-wire encodes a request (body possibly lz4/snappy compressed);
    /// scylla-cql decodes it to the same field values.
    #[test]
    fn requests_ferry_to_scylla(req in arb_request(), compression in arb_compression()) {
        check_ferry_request_in_scylla(&req, compression)?;
    }

    /// scylla-cql builds a whole request frame; ferry-wire splits it off the
    /// stream, decompresses it and decodes the same request. Uncompressed,
    /// ferry-wire re-encodes it to the very same bytes.
    #[test]
    fn requests_scylla_to_ferry(
        req in arb_request(),
        compression in arb_compression(),
        tracing in any::<bool>(),
        stream in 0i16..=i16::MAX,
    ) {
        let wire = scylla_request_frame(&req, compression, tracing, stream);
        let mut buf = BytesMut::from(&wire[..]);
        let frame = FrameDecoder::new()
            .decode(&mut buf)
            .map_err(fail)?
            .ok_or_else(|| fail("incomplete frame"))?;
        prop_assert!(buf.is_empty());
        prop_assert_eq!(frame.header.version, V4);
        prop_assert!(!frame.header.is_response);
        prop_assert_eq!(frame.header.stream, stream);
        prop_assert_eq!(frame.header.opcode, req.opcode());
        prop_assert_eq!(frame.header.flags.contains(FrameFlags::TRACING), tracing);
        prop_assert_eq!(frame.header.flags.contains(FrameFlags::COMPRESSION), compression.is_some());
        let frame = frame.decompress(compression).map_err(fail)?;
        let msg = RequestMessage::decode(&frame).map_err(fail)?;
        prop_assert_eq!(&msg.extras, &BodyExtras::default());
        let startup = match &msg.request {
            Request::Startup(s) => Some(s),
            _ => None,
        };
        prop_assert_eq!(&msg.request, &as_scylla_sends(&req, startup));
        if compression.is_none() {
            let mut again = BytesMut::new();
            msg.encode(&mut again).map_err(fail)?;
            prop_assert_eq!(&again[..], &wire[..]);
        }
    }
}

// ============================================================== responses

/// A response frame as ferry-wire writes it (with body extras, maybe
/// compressed), read back by scylla-cql: flags byte, its decompression,
/// its body-extension parser and its response deserializer.
struct ScyllaView {
    extensions: scylla_cql::frame::ResponseBodyWithExtensions,
    response: sresp::Response,
}

fn ferry_response_frame(
    msg: &ResponseMessage,
    compression: Option<Compression>,
) -> Result<Vec<u8>, TestCaseError> {
    let mut buf = BytesMut::new();
    msg.encode(&mut buf).map_err(fail)?;
    let frame = FrameDecoder::new()
        .decode(&mut buf)
        .map_err(fail)?
        .ok_or_else(|| fail("incomplete"))?;
    let frame = match compression {
        Some(c) => frame.compress(c),
        None => frame,
    };
    let mut out = BytesMut::new();
    frame.encode(&mut out).map_err(fail)?;
    Ok(out.to_vec())
}

fn scylla_reads_response(
    wire: &[u8],
    compression: Option<Compression>,
    cached: Option<&Arc<sres::ResultMetadata<'static>>>,
) -> Result<ScyllaView, TestCaseError> {
    prop_assert!(wire.len() >= 9);
    prop_assert_eq!(wire[0], 0x84, "v4 response version byte");
    let flags = wire[1];
    let length = u32::from_be_bytes([wire[5], wire[6], wire[7], wire[8]]) as usize;
    prop_assert_eq!(length, wire.len() - 9, "length field");
    let opcode = sresp::ResponseOpcode::try_from(wire[4]).map_err(fail)?;
    let extensions = scylla_cql::frame::parse_response_body_extensions(
        flags,
        compression.map(s_compression),
        Bytes::copy_from_slice(&wire[9..]),
    )
    .map_err(fail)?;
    let response =
        sresp::Response::deserialize(&features(), opcode, extensions.body.clone(), cached)
            .map_err(|e| fail(format!("scylla-cql rejects the {opcode:?} body: {e}")))?;
    Ok(ScyllaView {
        extensions,
        response,
    })
}

fn arb_extras() -> impl Strategy<Value = BodyExtras> {
    (
        proptest::option::of(any::<[u8; 16]>()),
        proptest::collection::vec("\\PC{0,16}", 0..3),
        proptest::option::of(proptest::collection::hash_map(
            "[a-z]{1,8}",
            arb_bytes(8),
            0..3,
        )),
    )
        .prop_map(|(tracing_id, warnings, payload)| BodyExtras {
            tracing_id,
            warnings,
            custom_payload: payload.map(|m| m.into_iter().map(|(k, v)| (k, Some(v))).collect()),
        })
}

fn check_extras(
    ours: &BodyExtras,
    theirs: &scylla_cql::frame::ResponseBodyWithExtensions,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(theirs.trace_id.map(|u| *u.as_bytes()), ours.tracing_id);
    prop_assert_eq!(&theirs.warnings, &ours.warnings);
    let payload: Option<HashMap<String, Bytes>> = ours.custom_payload.as_ref().map(|p| {
        p.iter()
            .map(|(k, v)| (k.clone(), v.clone().expect("not generated")))
            .collect()
    });
    prop_assert_eq!(&theirs.custom_payload, &payload);
    Ok(())
}

fn arb_table_spec() -> impl Strategy<Value = TableSpec> {
    (arb_name(), arb_name()).prop_map(|(k, t)| TableSpec::new(k, t))
}

/// Column specs over `types`, all in one table (global spec) or each in a
/// table of its own.
fn arb_columns(
    types: Vec<ColumnType>,
) -> impl Strategy<Value = (Option<TableSpec>, Vec<ColumnSpec>)> {
    let n = types.len();
    (
        any::<bool>(),
        arb_table_spec(),
        proptest::collection::vec((arb_table_spec(), "\\PC{0,10}"), n),
    )
        .prop_map(move |(global, table, specs)| {
            let columns = types
                .iter()
                .zip(specs)
                .map(|(ty, (own, name))| {
                    let t = if global { &table } else { &own };
                    ColumnSpec::new(&t.keyspace, &t.table, name, ty.clone())
                })
                .collect();
            (global.then_some(table), columns)
        })
}

fn check_column_specs(
    ours: &[ColumnSpec],
    theirs: &[sres::ColumnSpec<'_>],
) -> Result<(), TestCaseError> {
    prop_assert_eq!(ours.len(), theirs.len(), "column count");
    for (o, t) in ours.iter().zip(theirs) {
        prop_assert_eq!(t.name(), o.name.as_str());
        prop_assert_eq!(t.table_spec().ks_name(), o.keyspace.as_str());
        prop_assert_eq!(t.table_spec().table_name(), o.table.as_str());
        prop_assert_eq!(from_scylla_type(t.typ()), o.column_type.clone());
    }
    Ok(())
}

/// A Rows result: columns, rows of nullable cells, maybe a paging state.
#[derive(Debug, Clone)]
struct RowsCase {
    global: Option<TableSpec>,
    columns: Vec<ColumnSpec>,
    rows: Vec<Vec<Option<CqlValue>>>,
    paging_state: Option<Bytes>,
}

fn arb_rows_case() -> impl Strategy<Value = RowsCase> {
    proptest::collection::vec(arb_type(metadata_natives(), 2), 0..6)
        .prop_flat_map(|types| {
            let row = types
                .iter()
                .map(|t| {
                    prop_oneof![
                        1 => Just(None),
                        5 => arb_value(t, Empties::FerryDecodes).prop_map(Some),
                    ]
                })
                .collect::<Vec<_>>();
            (
                arb_columns(types),
                proptest::collection::vec(row, 0..5),
                proptest::option::of(arb_bytes(12)),
            )
        })
        .prop_map(|((global, columns), rows, paging_state)| RowsCase {
            global,
            columns,
            rows,
            paging_state,
        })
}

fn build_rows(case: &RowsCase, with_metadata: bool) -> Rows {
    let mut metadata = if with_metadata {
        RowsMetadata::with_columns(case.global.clone(), case.columns.clone())
    } else {
        RowsMetadata::without_columns(case.columns.len())
    };
    metadata.paging_state = case.paging_state.clone();
    let mut builder = RowsBuilder::new(metadata);
    for row in &case.rows {
        let cells: Vec<Option<Bytes>> = row
            .iter()
            .zip(&case.columns)
            .map(|(v, c)| v.as_ref().map(|v| ferry_cell(v, &c.column_type)))
            .collect();
        builder
            .push_row(cells.iter().map(|c| c.as_deref()))
            .expect("row fits");
    }
    builder.build()
}

/// scylla-cql's rows (metadata, paging state, every value) against the case.
fn check_scylla_rows(
    case: &RowsCase,
    view: &ScyllaView,
    expect_metadata_in_frame: bool,
) -> Result<Arc<sres::ResultMetadata<'static>>, TestCaseError> {
    let sresp::Response::Result(sres::Result::Rows((raw, paging))) = &view.response else {
        return Err(fail(format!("not Rows: {:?}", view.response)));
    };
    prop_assert_eq!(raw.no_metadata(), !expect_metadata_in_frame);
    match paging {
        sreq::query::PagingStateResponse::HasMorePages { state } => prop_assert_eq!(
            state.as_bytes_slice().map(|s| s.to_vec()),
            case.paging_state.as_ref().map(|s| s.to_vec())
        ),
        sreq::query::PagingStateResponse::NoMorePages => {
            prop_assert!(case.paging_state.is_none())
        }
    }
    let rows = raw.clone().deserialize_metadata().map_err(fail)?;
    prop_assert_eq!(rows.metadata().col_count(), case.columns.len());
    check_column_specs(&case.columns, rows.metadata().col_specs())?;
    prop_assert_eq!(rows.rows_count(), case.rows.len());
    let iter = rows.rows_iter::<sval::Row>().map_err(fail)?;
    let mut seen = 0;
    for (theirs, ours) in iter.zip(&case.rows) {
        let theirs = theirs.map_err(|e| fail(format!("scylla-cql row: {e}")))?;
        prop_assert_eq!(theirs.columns.len(), ours.len());
        for ((t, o), col) in theirs.columns.into_iter().zip(ours).zip(&case.columns) {
            let ty = &col.column_type;
            let got = t.map(|t| from_scylla(t, ty)).transpose()?;
            let want = o.as_ref().map(|o| seen_by_scylla(o, ty));
            prop_assert_eq!(got, want, "column {}", col.name);
        }
        seen += 1;
    }
    prop_assert_eq!(seen, case.rows.len());
    Ok(rows.metadata().clone().into_owned().into())
}

fn arb_error() -> impl Strategy<Value = ErrorResponse> {
    let cl = arb_consistency;
    let write_type = || {
        prop_oneof![
            proptest::sample::select(support::known_write_types()),
            "[A-Z_]{1,10}".prop_map(|s| WriteType::from_name(&s)),
        ]
    };
    // Codes no v4 message defines (v5-only ones included): both sides keep
    // just the code.
    let unknown_code = any::<i32>()
        .prop_filter("not a v4 code", |c| !ErrorCode(*c).is_defined_in(V4))
        .prop_map(ErrorCode);
    let details = prop_oneof![
        proptest::sample::select(vec![
            ErrorDetails::Server,
            ErrorDetails::Protocol,
            ErrorDetails::BadCredentials,
            ErrorDetails::Overloaded,
            ErrorDetails::IsBootstrapping,
            ErrorDetails::Truncate,
            ErrorDetails::Syntax,
            ErrorDetails::Unauthorized,
            ErrorDetails::Invalid,
            ErrorDetails::Config,
        ]),
        (cl(), any::<i32>(), any::<i32>()).prop_map(|(consistency, required, alive)| {
            ErrorDetails::Unavailable {
                consistency,
                required,
                alive,
            }
        }),
        (cl(), any::<i32>(), any::<i32>(), write_type()).prop_map(
            |(consistency, received, block_for, write_type)| {
                ErrorDetails::WriteTimeout {
                    consistency,
                    received,
                    block_for,
                    write_type,
                    contentions: None,
                }
            }
        ),
        (cl(), any::<i32>(), any::<i32>(), any::<u8>()).prop_map(
            |(consistency, received, block_for, data_present)| {
                ErrorDetails::ReadTimeout {
                    consistency,
                    received,
                    block_for,
                    data_present,
                }
            }
        ),
        (cl(), any::<i32>(), any::<i32>(), any::<i32>(), any::<u8>()).prop_map(
            |(consistency, received, block_for, n, data_present)| {
                ErrorDetails::ReadFailure {
                    consistency,
                    received,
                    block_for,
                    failures: Failures::Count(n),
                    data_present,
                }
            }
        ),
        (cl(), any::<i32>(), any::<i32>(), any::<i32>(), write_type()).prop_map(
            |(consistency, received, block_for, n, write_type)| {
                ErrorDetails::WriteFailure {
                    consistency,
                    received,
                    block_for,
                    failures: Failures::Count(n),
                    write_type,
                }
            }
        ),
        (
            arb_name(),
            arb_name(),
            proptest::collection::vec(arb_name(), 0..3)
        )
            .prop_map(|(keyspace, function, arg_types)| {
                ErrorDetails::FunctionFailure {
                    keyspace,
                    function,
                    arg_types,
                }
            }),
        (arb_name(), "[a-z]{0,8}")
            .prop_map(|(keyspace, table)| ErrorDetails::AlreadyExists { keyspace, table }),
        arb_statement_id().prop_map(|id| ErrorDetails::Unprepared { id }),
        (unknown_code, arb_bytes(8))
            .prop_map(|(code, payload)| ErrorDetails::Other { code, payload }),
    ];
    (details, "\\PC{0,30}").prop_map(|(details, message)| ErrorResponse::new(details, message))
}

fn check_error(ours: &ErrorResponse, theirs: &sresp::Error) -> Result<(), TestCaseError> {
    use sresp::error::DbError as D;
    prop_assert_eq!(&theirs.reason, &ours.message);
    prop_assert_eq!(theirs.error.code(&features()), ours.code().0);
    let wt = |w: &sresp::error::WriteType| w.as_str().to_owned();
    match (&ours.details, &theirs.error) {
        (
            ErrorDetails::Unavailable {
                consistency,
                required,
                alive,
            },
            D::Unavailable {
                consistency: c,
                required: r,
                alive: a,
            },
        ) => {
            prop_assert_eq!(
                (s_consistency(*consistency), *required, *alive),
                (*c, *r, *a)
            );
        }
        (
            ErrorDetails::WriteTimeout {
                consistency,
                received,
                block_for,
                write_type,
                ..
            },
            D::WriteTimeout {
                consistency: c,
                received: r,
                required: b,
                write_type: w,
            },
        ) => {
            prop_assert_eq!(
                (
                    s_consistency(*consistency),
                    *received,
                    *block_for,
                    write_type.as_str().to_owned()
                ),
                (*c, *r, *b, wt(w))
            );
        }
        (
            ErrorDetails::ReadTimeout {
                consistency,
                received,
                block_for,
                data_present,
            },
            D::ReadTimeout {
                consistency: c,
                received: r,
                required: b,
                data_present: d,
            },
        ) => {
            // The spec: data_present is "a single byte. If its value is 0, it
            // means the replica that was asked for data has not responded".
            prop_assert_eq!(
                (
                    s_consistency(*consistency),
                    *received,
                    *block_for,
                    *data_present != 0
                ),
                (*c, *r, *b, *d)
            );
        }
        (
            ErrorDetails::ReadFailure {
                consistency,
                received,
                block_for,
                failures,
                data_present,
            },
            D::ReadFailure {
                consistency: c,
                received: r,
                required: b,
                numfailures: n,
                data_present: d,
            },
        ) => {
            prop_assert_eq!(
                (
                    s_consistency(*consistency),
                    *received,
                    *block_for,
                    failures.count(),
                    *data_present != 0
                ),
                (*c, *r, *b, i64::from(*n), *d)
            );
        }
        (
            ErrorDetails::WriteFailure {
                consistency,
                received,
                block_for,
                failures,
                write_type,
            },
            D::WriteFailure {
                consistency: c,
                received: r,
                required: b,
                numfailures: n,
                write_type: w,
            },
        ) => {
            prop_assert_eq!(
                (
                    s_consistency(*consistency),
                    *received,
                    *block_for,
                    failures.count(),
                    write_type.as_str().to_owned()
                ),
                (*c, *r, *b, i64::from(*n), wt(w))
            );
        }
        (
            ErrorDetails::FunctionFailure {
                keyspace,
                function,
                arg_types,
            },
            D::FunctionFailure {
                keyspace: k,
                function: f,
                arg_types: a,
            },
        ) => {
            prop_assert_eq!((keyspace, function, arg_types), (k, f, a));
        }
        (
            ErrorDetails::AlreadyExists { keyspace, table },
            D::AlreadyExists {
                keyspace: k,
                table: t,
            },
        ) => {
            prop_assert_eq!((keyspace, table), (k, t));
        }
        (ErrorDetails::Unprepared { id }, D::Unprepared { statement_id }) => {
            prop_assert_eq!(id, statement_id);
        }
        (ErrorDetails::Other { .. }, D::Other(_)) => {}
        (
            ErrorDetails::Server
            | ErrorDetails::Protocol
            | ErrorDetails::BadCredentials
            | ErrorDetails::Overloaded
            | ErrorDetails::IsBootstrapping
            | ErrorDetails::Truncate
            | ErrorDetails::Syntax
            | ErrorDetails::Unauthorized
            | ErrorDetails::Invalid
            | ErrorDetails::Config,
            _,
        ) => {} // the code comparison above is the whole message
        (o, t) => return Err(fail(format!("ours {o:?}, scylla {t:?}"))),
    }
    Ok(())
}

fn arb_schema_change() -> impl Strategy<Value = SchemaChange> {
    let change = prop_oneof![
        Just(SchemaChangeType::Created),
        Just(SchemaChangeType::Updated),
        Just(SchemaChangeType::Dropped),
    ];
    let args = || proptest::collection::vec("[a-z<>]{1,12}", 0..3);
    let target = prop_oneof![
        arb_name().prop_map(|keyspace| SchemaChangeTarget::Keyspace { keyspace }),
        (arb_name(), arb_name())
            .prop_map(|(keyspace, table)| SchemaChangeTarget::Table { keyspace, table }),
        (arb_name(), arb_name())
            .prop_map(|(keyspace, name)| SchemaChangeTarget::Type { keyspace, name }),
        (arb_name(), arb_name(), args()).prop_map(|(keyspace, name, arg_types)| {
            SchemaChangeTarget::Function {
                keyspace,
                name,
                arg_types,
            }
        }),
        (arb_name(), arb_name(), args()).prop_map(|(keyspace, name, arg_types)| {
            SchemaChangeTarget::Aggregate {
                keyspace,
                name,
                arg_types,
            }
        }),
    ];
    (change, target).prop_map(|(change, target)| SchemaChange { change, target })
}

fn check_schema_change(
    ours: &SchemaChange,
    theirs: &sresp::event::SchemaChangeEvent,
) -> Result<(), TestCaseError> {
    use sresp::event::{SchemaChangeEvent as E, SchemaChangeType as C};
    let (change, ks, name, args, target) = match theirs {
        E::KeyspaceChange {
            change_type,
            keyspace_name,
        } => (change_type, keyspace_name, None, None, "KEYSPACE"),
        E::TableChange {
            change_type,
            keyspace_name,
            object_name,
        } => (change_type, keyspace_name, Some(object_name), None, "TABLE"),
        E::TypeChange {
            change_type,
            keyspace_name,
            type_name,
        } => (change_type, keyspace_name, Some(type_name), None, "TYPE"),
        E::FunctionChange {
            change_type,
            keyspace_name,
            function_name,
            arguments,
        } => (
            change_type,
            keyspace_name,
            Some(function_name),
            Some(arguments),
            "FUNCTION",
        ),
        E::AggregateChange {
            change_type,
            keyspace_name,
            aggregate_name,
            arguments,
        } => (
            change_type,
            keyspace_name,
            Some(aggregate_name),
            Some(arguments),
            "AGGREGATE",
        ),
    };
    let change = match change {
        C::Created => "CREATED",
        C::Updated => "UPDATED",
        C::Dropped => "DROPPED",
        C::Invalid => "?",
    };
    prop_assert_eq!(change, ours.change.as_str());
    prop_assert_eq!(target, ours.target.target_name());
    prop_assert_eq!(Some(ks.as_str()), ours.target.keyspace());
    let (our_name, our_args) = match &ours.target {
        SchemaChangeTarget::Keyspace { .. } => (None, None),
        SchemaChangeTarget::Table { table, .. } => (Some(table), None),
        SchemaChangeTarget::Type { name, .. } => (Some(name), None),
        SchemaChangeTarget::Function {
            name, arg_types, ..
        }
        | SchemaChangeTarget::Aggregate {
            name, arg_types, ..
        } => (Some(name), Some(arg_types)),
        SchemaChangeTarget::Other { .. } => return Err(fail("not generated")),
    };
    prop_assert_eq!(name, our_name);
    prop_assert_eq!(args, our_args);
    Ok(())
}

fn arb_prepared() -> impl Strategy<Value = Prepared> {
    (
        proptest::collection::vec(arb_type(metadata_natives(), 2), 0..5),
        proptest::collection::vec(arb_type(metadata_natives(), 2), 0..5),
    )
        .prop_flat_map(|(bind_types, result_types)| {
            let n = bind_types.len() as u16;
            (
                arb_statement_id(),
                arb_columns(bind_types),
                proptest::collection::vec(0..n.max(1), 0..=usize::from(n)),
                arb_columns(result_types),
                any::<bool>(),
            )
        })
        .prop_map(
            |(id, (bind_global, binds), pk, (res_global, results), no_metadata)| {
                let pk_indexes = if binds.is_empty() { vec![] } else { pk };
                Prepared {
                    id,
                    result_metadata_id: None,
                    metadata: PreparedMetadata::new(bind_global, binds, pk_indexes),
                    result_metadata: if no_metadata {
                        RowsMetadata::without_columns(results.len())
                    } else {
                        RowsMetadata::with_columns(res_global, results)
                    },
                }
            },
        )
}

fn check_prepared(ours: &Prepared, theirs: &sres::Prepared) -> Result<(), TestCaseError> {
    prop_assert_eq!(&theirs.id[..], &ours.id[..]);
    let pm = &theirs.prepared_metadata;
    prop_assert_eq!(pm.flags & 1 != 0, ours.metadata.global_table_spec.is_some());
    prop_assert_eq!(pm.col_count, ours.metadata.columns.len());
    // scylla-cql sorts the indexes by bind marker and remembers the order
    // they came in as `sequence`: undo that.
    let mut pk: Vec<_> = pm
        .pk_indexes
        .iter()
        .map(|p| (p.sequence, p.index))
        .collect();
    pk.sort();
    prop_assert_eq!(
        pk.into_iter().map(|(_, i)| i).collect::<Vec<_>>(),
        ours.metadata.pk_indexes.clone()
    );
    check_column_specs(&ours.metadata.columns, &pm.col_specs)?;
    let rm = &theirs.result_metadata;
    match &ours.result_metadata.columns {
        Some(columns) => {
            prop_assert_eq!(rm.col_count(), columns.len());
            check_column_specs(columns, rm.col_specs())?;
        }
        None => {
            prop_assert_eq!(rm.col_count(), ours.result_metadata.column_count);
            prop_assert!(rm.col_specs().is_empty());
        }
    }
    Ok(())
}

fn arb_inet() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<u16>()).prop_map(|(a, p)| SocketAddr::new(IpAddr::from(a), p)),
        (any::<[u8; 16]>(), any::<u16>()).prop_map(|(a, p)| SocketAddr::new(IpAddr::from(a), p)),
    ]
}

/// Every response except Rows (tested on its own below), in scylla-cql's
/// vocabulary.
fn arb_response() -> impl Strategy<Value = Response> {
    prop_oneof![
        4 => arb_error().prop_map(Response::Error),
        1 => Just(Response::Ready(Ready)),
        1 => "\\PC{0,40}".prop_map(|authenticator| Response::Authenticate(Authenticate { authenticator })),
        1 => proptest::option::of(arb_bytes(20)).prop_map(|token| Response::AuthChallenge(AuthChallenge { token })),
        1 => proptest::option::of(arb_bytes(20)).prop_map(|token| Response::AuthSuccess(AuthSuccess { token })),
        1 => proptest::collection::hash_map("[A-Z_]{1,12}", proptest::collection::vec("\\PC{0,8}", 0..3), 0..4)
            .prop_map(|m| Response::Supported(Supported { options: m.into_iter().collect() })),
        1 => Just(Response::Result(ResultResponse::Void)),
        1 => "\\PC{0,20}".prop_map(|keyspace| Response::Result(ResultResponse::SetKeyspace(SetKeyspace { keyspace }))),
        2 => arb_schema_change().prop_map(|c| Response::Result(ResultResponse::SchemaChange(c))),
        3 => arb_prepared().prop_map(|p| Response::Result(ResultResponse::Prepared(Box::new(p)))),
        2 => arb_schema_change().prop_map(|c| Response::Event(Event::SchemaChange(c))),
        1 => (prop_oneof![Just(TopologyChangeType::NewNode), Just(TopologyChangeType::RemovedNode)], arb_inet())
            .prop_map(|(change, node)| Response::Event(Event::TopologyChange { change, node })),
        1 => (prop_oneof![Just(StatusChangeType::Up), Just(StatusChangeType::Down)], arb_inet())
            .prop_map(|(change, node)| Response::Event(Event::StatusChange { change, node })),
    ]
}

fn check_response(ours: &Response, theirs: &sresp::Response) -> Result<(), TestCaseError> {
    use sresp::event::{Event as SE, StatusChangeEvent as SS, TopologyChangeEvent as ST};
    use sresp::Response as R;
    match (ours, theirs) {
        (Response::Error(o), R::Error(t)) => check_error(o, t)?,
        (Response::Ready(_), R::Ready) => {}
        (Response::Authenticate(o), R::Authenticate(t)) => {
            prop_assert_eq!(&t.authenticator_name, &o.authenticator)
        }
        (Response::AuthChallenge(o), R::AuthChallenge(t)) => {
            prop_assert_eq!(t.authenticate_message.as_deref(), o.token.as_deref())
        }
        (Response::AuthSuccess(o), R::AuthSuccess(t)) => {
            prop_assert_eq!(t.success_message.as_deref(), o.token.as_deref())
        }
        (Response::Supported(o), R::Supported(t)) => {
            let ours: HashMap<String, Vec<String>> = o.options.iter().cloned().collect();
            prop_assert_eq!(&t.options, &ours);
        }
        (Response::Result(ResultResponse::Void), R::Result(sres::Result::Void)) => {}
        (
            Response::Result(ResultResponse::SetKeyspace(o)),
            R::Result(sres::Result::SetKeyspace(t)),
        ) => {
            prop_assert_eq!(&t.keyspace_name, &o.keyspace)
        }
        (
            Response::Result(ResultResponse::SchemaChange(o)),
            R::Result(sres::Result::SchemaChange(t)),
        ) => check_schema_change(o, &t.event)?,
        (Response::Result(ResultResponse::Prepared(o)), R::Result(sres::Result::Prepared(t))) => {
            check_prepared(o, t)?
        }
        (Response::Event(Event::SchemaChange(o)), R::Event(SE::SchemaChange(t))) => {
            check_schema_change(o, t)?
        }
        (
            Response::Event(Event::TopologyChange { change, node }),
            R::Event(SE::TopologyChange(t)),
        ) => {
            let (c, n) = match t {
                ST::NewNode(n) => ("NEW_NODE", n),
                ST::RemovedNode(n) => ("REMOVED_NODE", n),
            };
            prop_assert_eq!((c, n), (change.as_str(), node));
        }
        (Response::Event(Event::StatusChange { change, node }), R::Event(SE::StatusChange(t))) => {
            let (c, n) = match t {
                SS::Up(n) => ("UP", n),
                SS::Down(n) => ("DOWN", n),
            };
            prop_assert_eq!((c, n), (change.as_str(), node));
        }
        (o, t) => return Err(fail(format!("ours {o:?}, scylla {t:?}"))),
    }
    Ok(())
}

proptest! {
    /// ferry-wire writes a response frame (extras, maybe compressed);
    /// scylla-cql reads the same message.
    #[test]
    fn responses_ferry_to_scylla(
        response in arb_response(),
        extras in arb_extras(),
        compression in arb_compression(),
        stream in any::<i16>(),
    ) {
        let mut msg = ResponseMessage::new(V4, stream, response);
        msg.extras = extras;
        let wire = ferry_response_frame(&msg, compression)?;
        prop_assert_eq!(i16::from_be_bytes([wire[2], wire[3]]), stream);
        let view = scylla_reads_response(&wire, compression, None)?;
        check_extras(&msg.extras, &view.extensions)?;
        check_response(&msg.response, &view.response)?;
    }

    /// ferry-wire writes a RESULT Rows frame from random columns (nested
    /// collections, tuples, UDTs, nulls, empties); scylla-cql reads the
    /// metadata, the paging state and every value. The same rows sent
    /// without metadata (skip_metadata) read the same with the metadata
    /// scylla-cql cached from the first.
    #[test]
    fn rows_ferry_to_scylla(
        case in arb_rows_case(),
        extras in arb_extras(),
        compression in arb_compression(),
    ) {
        let rows = build_rows(&case, true);
        // Three-way: ferry-wire's own reading agrees with the case too.
        for (row, want) in rows.rows().zip(&case.rows) {
            let row = row.map_err(fail)?;
            let got: Vec<Option<CqlValue>> = row
                .cells()
                .zip(&case.columns)
                .map(|(c, col)| c.map(|c| CqlValue::decode(&col.column_type, &c, V4)).transpose())
                .collect::<Result<_, _>>()
                .map_err(fail)?;
            prop_assert_eq!(&got, want);
        }
        let mut msg = ResponseMessage::new(V4, 1, Response::Result(ResultResponse::Rows(rows)));
        msg.extras = extras;
        let wire = ferry_response_frame(&msg, compression)?;
        let view = scylla_reads_response(&wire, compression, None)?;
        check_extras(&msg.extras, &view.extensions)?;
        let cached = check_scylla_rows(&case, &view, true)?;

        let bare = ResponseMessage::new(V4, 2, Response::Result(ResultResponse::Rows(build_rows(&case, false))));
        let wire = ferry_response_frame(&bare, None)?;
        let view = scylla_reads_response(&wire, None, Some(&cached))?;
        check_scylla_rows(&case, &view, false)?;
    }
}

#[test]
fn scylla_cql_reads_a_hand_checked_rows_frame() {
    // One fixed case, so a failure here names a concrete frame: a global
    // table spec, a varchar and a frozen<list<int>> column, two rows (the
    // second with a null and an empty list).
    let case = RowsCase {
        global: Some(TableSpec::new("ks", "t")),
        columns: vec![
            ColumnSpec::new("ks", "t", "name", ColumnType::Varchar),
            ColumnSpec::new(
                "ks",
                "t",
                "nums",
                ColumnType::List(Box::new(ColumnType::Int)),
            ),
        ],
        rows: vec![
            vec![
                Some(CqlValue::from("a")),
                Some(CqlValue::List(vec![
                    Some(CqlValue::Int(1)),
                    Some(CqlValue::Int(-2)),
                ])),
            ],
            vec![None, Some(CqlValue::List(vec![]))],
        ],
        paging_state: None,
    };
    let msg = ResponseMessage::new(
        V4,
        0,
        Response::Result(ResultResponse::Rows(build_rows(&case, true))),
    );
    let wire = ferry_response_frame(&msg, None).unwrap();
    let view = scylla_reads_response(&wire, None, None).unwrap();
    check_scylla_rows(&case, &view, true).unwrap();
    // And the rows scylla-cql reads are literally these.
    let sresp::Response::Result(sres::Result::Rows((raw, _))) = view.response else {
        panic!("not rows");
    };
    let rows = raw.deserialize_metadata().unwrap();
    let got: Vec<Vec<Option<SValue>>> = rows
        .rows_iter::<sval::Row>()
        .unwrap()
        .map(|r| r.unwrap().columns)
        .collect();
    assert_eq!(
        got,
        vec![
            vec![
                Some(SValue::Text("a".into())),
                Some(SValue::List(vec![SValue::Int(1), SValue::Int(-2)]))
            ],
            vec![None, Some(SValue::List(vec![]))],
        ]
    );
}
