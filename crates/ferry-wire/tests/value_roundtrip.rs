//! Property tests for CQL values: encode/decode round trips for every protocol
//! version over arbitrarily nested types, and decoders that never panic.

mod support;

use bytes::{Bytes, BytesMut};
use ferry_wire::types::{ColumnType, CqlDuration, CqlValue, Decimal, Varint};
use ferry_wire::{ProtocolVersion, Reader};
use proptest::prelude::*;
use proptest::strategy::Union;
use support::arb_bytes;

/// Native types that exist in `version`.
fn native_types(version: ProtocolVersion) -> Vec<ColumnType> {
    let mut types = vec![ColumnType::Custom("org.example.Raw".into())];
    // The v1-v3 natives in type-id order, with `text` (0x000A) in its
    // place between int (0x0009) and timestamp (0x000B).
    let natives = support::natives_up_to_v3();
    let (up_to_int, from_timestamp) = natives.split_at(9);
    types.extend_from_slice(up_to_int);
    types.push(ColumnType::Text);
    types.extend_from_slice(from_timestamp);
    if version >= ProtocolVersion::V4 {
        types.extend(support::natives_added_in_v4());
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
    let mut options = vec![(4, leaf)];
    options.extend(support::collection_type_options(inner));
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
        // Trailing elements may be absent from the bytes altogether.
        ColumnType::Tuple(types) => {
            support::arb_tuple_of(types.iter().map(|t| arb_element(t, true)).collect())
        }
        ColumnType::Udt { fields, .. } => support::arb_udt_of(fields, |t| arb_element(t, true)),
        native => support::arb_native_value(native, arb_varint),
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

/// Cross-check against an independent implementation: what we encode,
/// scylla-cql must decode to the same value (protocol v4 layout).
mod scylla_oracle {
    use super::*;
    use scylla_cql::deserialize::value::DeserializeValue;
    use scylla_cql::deserialize::FrameSlice;
    use scylla_cql::value::CqlValue as SValue;
    use support::scylla::to_scylla_type;

    fn contains_custom(ty: &ColumnType) -> bool {
        match ty {
            ColumnType::Custom(_) => true,
            ColumnType::List(t) | ColumnType::Set(t) => contains_custom(t),
            ColumnType::Map(k, v) => contains_custom(k) || contains_custom(v),
            ColumnType::Tuple(ts) => ts.iter().any(contains_custom),
            ColumnType::Udt { fields, .. } => fields.iter().any(|(_, t)| contains_custom(t)),
            _ => false,
        }
    }

    fn from_scylla(v: SValue) -> CqlValue {
        let opt = |v: Option<SValue>| v.map(from_scylla);
        match v {
            SValue::Empty => CqlValue::Empty,
            SValue::Ascii(s) => CqlValue::Ascii(s.into()),
            SValue::Text(s) => CqlValue::Text(s.into()),
            SValue::Boolean(b) => CqlValue::Boolean(b),
            SValue::Blob(b) => CqlValue::Blob(b.into()),
            SValue::Counter(c) => CqlValue::Counter(c.0),
            SValue::Decimal(d) => {
                let (raw, scale) = d.as_signed_be_bytes_slice_and_exponent();
                CqlValue::Decimal(Decimal::new(
                    Varint::from_signed_slice_be(raw).expect("non-empty"),
                    scale,
                ))
            }
            SValue::Date(d) => CqlValue::Date(d.0),
            SValue::Double(d) => CqlValue::Double(d),
            SValue::Float(f) => CqlValue::Float(f),
            SValue::Duration(d) => {
                CqlValue::Duration(CqlDuration::new(d.months, d.days, d.nanoseconds))
            }
            SValue::Int(i) => CqlValue::Int(i),
            SValue::BigInt(i) => CqlValue::Bigint(i),
            SValue::SmallInt(i) => CqlValue::Smallint(i),
            SValue::TinyInt(i) => CqlValue::Tinyint(i),
            SValue::Timestamp(t) => CqlValue::Timestamp(t.0),
            SValue::Time(t) => CqlValue::Time(t.0),
            SValue::Inet(ip) => CqlValue::Inet(ip),
            SValue::Uuid(u) => CqlValue::Uuid(*u.as_bytes()),
            SValue::Timeuuid(u) => CqlValue::Timeuuid(*u.as_bytes()),
            SValue::Varint(v) => CqlValue::Varint(
                Varint::from_signed_slice_be(v.as_signed_bytes_be_slice()).expect("non-empty"),
            ),
            SValue::List(items) => {
                CqlValue::List(items.into_iter().map(|i| Some(from_scylla(i))).collect())
            }
            SValue::Set(items) => {
                CqlValue::Set(items.into_iter().map(|i| Some(from_scylla(i))).collect())
            }
            SValue::Map(pairs) => CqlValue::Map(
                pairs
                    .into_iter()
                    .map(|(k, v)| (Some(from_scylla(k)), Some(from_scylla(v))))
                    .collect(),
            ),
            SValue::Tuple(items) => CqlValue::Tuple(items.into_iter().map(opt).collect()),
            SValue::UserDefinedType { fields, .. } => {
                CqlValue::Udt(fields.into_iter().map(|(n, v)| (n, opt(v))).collect())
            }
            other => panic!("unexpected scylla value {other:?}"),
        }
    }

    /// Removes null collection elements (scylla's `CqlValue` cannot hold
    /// them) at any depth.
    fn without_collection_nulls(v: CqlValue) -> CqlValue {
        let clean = |items: Vec<Option<CqlValue>>| {
            items
                .into_iter()
                .flatten()
                .map(|i| Some(without_collection_nulls(i)))
                .collect()
        };
        let keep = |v: Option<CqlValue>| v.map(without_collection_nulls);
        match v {
            CqlValue::List(items) => CqlValue::List(clean(items)),
            CqlValue::Set(items) => CqlValue::Set(clean(items)),
            CqlValue::Map(pairs) => CqlValue::Map(
                pairs
                    .into_iter()
                    .filter_map(|(k, v)| {
                        Some((
                            Some(without_collection_nulls(k?)),
                            Some(without_collection_nulls(v?)),
                        ))
                    })
                    .collect(),
            ),
            CqlValue::Tuple(items) => CqlValue::Tuple(items.into_iter().map(keep).collect()),
            CqlValue::Udt(fields) => {
                CqlValue::Udt(fields.into_iter().map(|(n, v)| (n, keep(v))).collect())
            }
            other => other,
        }
    }

    /// How scylla reports what we keep apart: a tuple or UDT missing
    /// trailing elements reads as padded with nulls, a zero-length one as
    /// empty.
    fn as_scylla_sees_it(v: &CqlValue, ty: &ColumnType) -> CqlValue {
        match (v, ty) {
            (CqlValue::Tuple(items), ColumnType::Tuple(types)) => {
                support::tuple_as_scylla_reads_it(items, types, as_scylla_sees_it)
            }
            (CqlValue::Udt(fields), ColumnType::Udt { .. }) if fields.is_empty() => CqlValue::Empty,
            (CqlValue::Udt(fields), ColumnType::Udt { fields: types, .. }) => {
                let mut out: Vec<_> = fields
                    .iter()
                    .zip(types)
                    .map(|((n, v), (_, t))| {
                        (n.clone(), v.as_ref().map(|v| as_scylla_sees_it(v, t)))
                    })
                    .collect();
                out.extend(
                    types
                        .iter()
                        .skip(fields.len())
                        .map(|(n, _)| (n.clone(), None)),
                );
                CqlValue::Udt(out)
            }
            (CqlValue::List(items), ColumnType::List(t)) => CqlValue::List(
                items
                    .iter()
                    .map(|i| i.as_ref().map(|i| as_scylla_sees_it(i, t)))
                    .collect(),
            ),
            (CqlValue::Set(items), ColumnType::Set(t)) => CqlValue::Set(
                items
                    .iter()
                    .map(|i| i.as_ref().map(|i| as_scylla_sees_it(i, t)))
                    .collect(),
            ),
            (CqlValue::Map(pairs), ColumnType::Map(kt, vt)) => CqlValue::Map(
                pairs
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.as_ref().map(|k| as_scylla_sees_it(k, kt)),
                            v.as_ref().map(|v| as_scylla_sees_it(v, vt)),
                        )
                    })
                    .collect(),
            ),
            (other, _) => other.clone(),
        }
    }

    fn arb_oracle_case() -> impl Strategy<Value = (ColumnType, CqlValue)> {
        arb_type(ProtocolVersion::V5, 3)
            .prop_filter("scylla-cql has no custom types", |t| !contains_custom(t))
            .prop_flat_map(|ty| {
                arb_value(&ty, true).prop_map(move |v| (ty.clone(), without_collection_nulls(v)))
            })
    }

    proptest! {
        #[test]
        fn scylla_cql_decodes_what_we_encode((ty, value) in arb_oracle_case()) {
            let cell = encode(&value, &ty, ProtocolVersion::V5);
            let sty = to_scylla_type(&ty);
            let theirs = SValue::deserialize(&sty, Some(FrameSlice::new(&cell)))
                .map_err(|e| TestCaseError::fail(format!("scylla-cql rejects {ty}: {e}")))?;
            prop_assert_eq!(from_scylla(theirs), as_scylla_sees_it(&value, &ty));
        }
    }
}
