//! Property tests for CQL values: encode/decode round trips for every protocol
//! version over arbitrarily nested types, and decoders that never panic.

use std::net::IpAddr;

use bytes::{Bytes, BytesMut};
use ferry_wire::types::{ColumnType, CqlDuration, CqlText, CqlValue, Decimal, Varint};
use ferry_wire::{ProtocolVersion, Reader};
use proptest::prelude::*;
use proptest::strategy::Union;

/// Native types that exist in `version`.
fn native_types(version: ProtocolVersion) -> Vec<ColumnType> {
    let mut types = vec![
        ColumnType::Custom("org.example.Raw".into()),
        ColumnType::Ascii,
        ColumnType::Bigint,
        ColumnType::Blob,
        ColumnType::Boolean,
        ColumnType::Counter,
        ColumnType::Decimal,
        ColumnType::Double,
        ColumnType::Float,
        ColumnType::Int,
        ColumnType::Text,
        ColumnType::Timestamp,
        ColumnType::Uuid,
        ColumnType::Varchar,
        ColumnType::Varint,
        ColumnType::Timeuuid,
        ColumnType::Inet,
    ];
    if version >= ProtocolVersion::V4 {
        types.extend([
            ColumnType::Date,
            ColumnType::Time,
            ColumnType::Smallint,
            ColumnType::Tinyint,
        ]);
    }
    if version >= ProtocolVersion::V5 {
        types.push(ColumnType::Duration);
    }
    types
}

/// Types legal in `version`, nested at most `depth` levels.
fn arb_type(version: ProtocolVersion, depth: u32) -> BoxedStrategy<ColumnType> {
    let leaf = proptest::sample::select(native_types(version)).boxed();
    if depth == 0 {
        return leaf;
    }
    let inner = || arb_type(version, depth - 1);
    let mut options = vec![
        (4, leaf),
        (
            1,
            inner().prop_map(|t| ColumnType::List(Box::new(t))).boxed(),
        ),
        (
            1,
            inner().prop_map(|t| ColumnType::Set(Box::new(t))).boxed(),
        ),
        (
            1,
            (inner(), inner())
                .prop_map(|(k, v)| ColumnType::Map(Box::new(k), Box::new(v)))
                .boxed(),
        ),
    ];
    if version >= ProtocolVersion::V3 {
        options.push((
            1,
            proptest::collection::vec(inner(), 1..4)
                .prop_map(ColumnType::Tuple)
                .boxed(),
        ));
        options.push((
            1,
            proptest::collection::vec(("[a-zA-Z_][a-zA-Z0-9_]{0,6}", inner()), 1..4)
                .prop_map(|fields| ColumnType::Udt {
                    keyspace: "ks".into(),
                    name: "udt".into(),
                    fields,
                })
                .boxed(),
        ));
    }
    Union::new_weighted(options).boxed()
}

fn arb_bytes(max: usize) -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(any::<u8>(), 0..max).prop_map(Bytes::from)
}

fn arb_varint() -> impl Strategy<Value = Varint> {
    proptest::collection::vec(any::<u8>(), 1..24)
        .prop_map(|raw| Varint::from_signed_slice_be(&raw).expect("non-empty"))
}

fn arb_duration() -> impl Strategy<Value = CqlDuration> {
    (0..=i32::MAX, 0..=i32::MAX, 0..=i64::MAX, any::<bool>()).prop_map(|(m, d, n, negative)| {
        if negative {
            CqlDuration::new(-m, -d, -n)
        } else {
            CqlDuration::new(m, d, n)
        }
    })
}

/// An element of a collection, tuple or UDT: a value or (if allowed) null.
fn arb_element(ty: &ColumnType, nulls: bool) -> BoxedStrategy<Option<CqlValue>> {
    // Anything nested uses the v3 layout, where nulls are legal.
    let value = arb_value(ty, true).prop_map(Some);
    if nulls {
        prop_oneof![1 => Just(None), 6 => value].boxed()
    } else {
        value.boxed()
    }
}

/// A value of type `ty`. `nulls`: whether the value's own elements may be
/// null (false only for the top level of a v2 collection).
fn arb_value(ty: &ColumnType, nulls: bool) -> BoxedStrategy<CqlValue> {
    let value: BoxedStrategy<CqlValue> = match ty {
        ColumnType::Custom(_) => arb_bytes(16).prop_map(CqlValue::Custom).boxed(),
        ColumnType::Ascii => "[\\x00-\\x7f]{0,12}"
            .prop_map(|s| CqlValue::Ascii(CqlText::from(s)))
            .boxed(),
        ColumnType::Text | ColumnType::Varchar => any::<String>()
            .prop_map(|s| CqlValue::Text(CqlText::from(s)))
            .boxed(),
        ColumnType::Blob => arb_bytes(16).prop_map(CqlValue::Blob).boxed(),
        ColumnType::Bigint => any::<i64>().prop_map(CqlValue::Bigint).boxed(),
        ColumnType::Counter => any::<i64>().prop_map(CqlValue::Counter).boxed(),
        ColumnType::Timestamp => any::<i64>().prop_map(CqlValue::Timestamp).boxed(),
        ColumnType::Boolean => any::<bool>().prop_map(CqlValue::Boolean).boxed(),
        // Any bit pattern, NaN payloads included: equality is bitwise.
        ColumnType::Double => any::<u64>()
            .prop_map(|b| CqlValue::Double(f64::from_bits(b)))
            .boxed(),
        ColumnType::Float => any::<u32>()
            .prop_map(|b| CqlValue::Float(f32::from_bits(b)))
            .boxed(),
        ColumnType::Int => any::<i32>().prop_map(CqlValue::Int).boxed(),
        ColumnType::Smallint => any::<i16>().prop_map(CqlValue::Smallint).boxed(),
        ColumnType::Tinyint => any::<i8>().prop_map(CqlValue::Tinyint).boxed(),
        ColumnType::Uuid => any::<[u8; 16]>().prop_map(CqlValue::Uuid).boxed(),
        ColumnType::Timeuuid => any::<[u8; 16]>().prop_map(CqlValue::Timeuuid).boxed(),
        ColumnType::Varint => arb_varint().prop_map(CqlValue::Varint).boxed(),
        ColumnType::Decimal => (arb_varint(), any::<i32>())
            .prop_map(|(u, s)| CqlValue::Decimal(Decimal::new(u, s)))
            .boxed(),
        ColumnType::Inet => prop_oneof![
            any::<[u8; 4]>().prop_map(|a| CqlValue::Inet(IpAddr::from(a))),
            any::<[u8; 16]>().prop_map(|a| CqlValue::Inet(IpAddr::from(a))),
        ]
        .boxed(),
        ColumnType::Date => any::<u32>().prop_map(CqlValue::Date).boxed(),
        ColumnType::Time => (0..=86_399_999_999_999i64).prop_map(CqlValue::Time).boxed(),
        ColumnType::Duration => arb_duration().prop_map(CqlValue::Duration).boxed(),
        ColumnType::List(t) => proptest::collection::vec(arb_element(t, nulls), 0..4)
            .prop_map(CqlValue::List)
            .boxed(),
        ColumnType::Set(t) => proptest::collection::vec(arb_element(t, nulls), 0..4)
            .prop_map(CqlValue::Set)
            .boxed(),
        ColumnType::Map(k, v) => {
            proptest::collection::vec((arb_element(k, nulls), arb_element(v, nulls)), 0..4)
                .prop_map(CqlValue::Map)
                .boxed()
        }
        ColumnType::Tuple(types) => {
            let n = types.len();
            let elements: Vec<_> = types.iter().map(|t| arb_element(t, true)).collect();
            // Trailing elements may be absent from the bytes altogether.
            (elements, 0..=n)
                .prop_map(|(mut items, keep)| {
                    items.truncate(keep);
                    CqlValue::Tuple(items)
                })
                .boxed()
        }
        ColumnType::Udt { fields, .. } => {
            let n = fields.len();
            let elements: Vec<_> = fields
                .iter()
                .map(|(name, t)| {
                    let name = name.clone();
                    arb_element(t, true).prop_map(move |v| (name.clone(), v))
                })
                .collect();
            (elements, 0..=n)
                .prop_map(|(mut fields, keep)| {
                    fields.truncate(keep);
                    CqlValue::Udt(fields)
                })
                .boxed()
        }
    };
    let may_be_empty = !matches!(
        ty,
        ColumnType::Ascii
            | ColumnType::Text
            | ColumnType::Varchar
            | ColumnType::Blob
            | ColumnType::Custom(_)
            | ColumnType::Tuple(_)
            | ColumnType::Udt { .. }
    );
    if may_be_empty {
        prop_oneof![1 => Just(CqlValue::Empty), 15 => value].boxed()
    } else {
        value
    }
}

/// A type legal in `version` (nesting depth up to 3) and a value of it.
fn arb_typed_value(version: ProtocolVersion) -> impl Strategy<Value = (ColumnType, CqlValue)> {
    arb_type(version, 3).prop_flat_map(move |ty| {
        let nulls = version >= ProtocolVersion::V3;
        arb_value(&ty, nulls).prop_map(move |v| (ty.clone(), v))
    })
}

fn encode(v: &CqlValue, ty: &ColumnType, version: ProtocolVersion) -> Bytes {
    let mut buf = BytesMut::new();
    v.encode(ty, &mut buf, version)
        .unwrap_or_else(|e| panic!("encoding {v:?} as {ty}: {e}"));
    buf.freeze()
}

fn check_round_trip(
    ty: &ColumnType,
    value: &CqlValue,
    version: ProtocolVersion,
) -> Result<(), TestCaseError> {
    let cell = encode(value, ty, version);
    let decoded = CqlValue::decode(ty, &cell, version)
        .map_err(|e| TestCaseError::fail(format!("decoding {ty}: {e}")))?;
    prop_assert_eq!(&decoded, value);
    // Byte-exact the other way round too.
    prop_assert_eq!(encode(&decoded, ty, version), cell.clone());
    // As a `[value]`, through the Reader.
    let mut buf = BytesMut::new();
    value.encode_value(ty, &mut buf, version).unwrap();
    let mut r = Reader::new(buf.freeze());
    let raw = r.read_value("value").unwrap();
    prop_assert_eq!(raw.as_bytes(), Some(&cell));
    prop_assert!(r.is_empty());
    // Rendering a literal never panics and is never empty.
    prop_assert!(!value.cql_literal_typed(ty).is_empty());
    Ok(())
}

proptest! {
    #[test]
    fn round_trip_v2((ty, value) in arb_typed_value(ProtocolVersion::V2)) {
        check_round_trip(&ty, &value, ProtocolVersion::V2)?;
    }

    #[test]
    fn round_trip_v3((ty, value) in arb_typed_value(ProtocolVersion::V3)) {
        check_round_trip(&ty, &value, ProtocolVersion::V3)?;
    }

    #[test]
    fn round_trip_v4((ty, value) in arb_typed_value(ProtocolVersion::V4)) {
        check_round_trip(&ty, &value, ProtocolVersion::V4)?;
    }

    #[test]
    fn round_trip_v5((ty, value) in arb_typed_value(ProtocolVersion::V5)) {
        check_round_trip(&ty, &value, ProtocolVersion::V5)?;
    }

    /// v2 and v3+ collections differ on the wire but carry the same value.
    #[test]
    fn v2_and_v3_layouts_differ_only_in_framing(
        (ty, value) in arb_typed_value(ProtocolVersion::V2)
    ) {
        let v2 = encode(&value, &ty, ProtocolVersion::V2);
        let v3 = encode(&value, &ty, ProtocolVersion::V3);
        let top_level_collection = matches!(
            (&ty, &value),
            (ColumnType::List(_) | ColumnType::Set(_) | ColumnType::Map(_, _), v)
                if *v != CqlValue::Empty
        );
        prop_assert_eq!(v2 != v3, top_level_collection);
        prop_assert_eq!(CqlValue::decode(&ty, &v3, ProtocolVersion::V3).unwrap(), value);
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(
        ty in arb_type(ProtocolVersion::V5, 3),
        cell in arb_bytes(64),
        version in proptest::sample::select(ProtocolVersion::ALL.to_vec()),
    ) {
        if let Ok(value) = CqlValue::decode(&ty, &cell, version) {
            let _ = value.cql_literal();
        }
    }

    /// Corrupting one byte of (or truncating) a valid cell: decoding must not
    /// panic, and whatever decodes must re-encode to something that decodes
    /// to the same value.
    #[test]
    fn decoding_corrupted_cells_never_panics(
        (ty, value) in arb_typed_value(ProtocolVersion::V4),
        position in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        truncate in any::<bool>(),
    ) {
        let v = ProtocolVersion::V4;
        let mut raw = encode(&value, &ty, v).to_vec();
        if !raw.is_empty() {
            let i = position.index(raw.len());
            if truncate {
                raw.truncate(i);
            } else {
                raw[i] = byte;
            }
        }
        if let Ok(decoded) = CqlValue::decode(&ty, &Bytes::from(raw), v) {
            let again = encode(&decoded, &ty, v);
            prop_assert_eq!(CqlValue::decode(&ty, &again, v).unwrap(), decoded);
        }
    }
}
