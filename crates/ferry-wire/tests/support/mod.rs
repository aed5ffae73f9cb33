//! Generators shared by ferry-wire's property tests: the native column
//! types of each protocol version and strategies for their values.

// Each test binary uses a subset of these helpers.
#![allow(dead_code)]

pub mod scylla;

use std::net::IpAddr;

use bytes::Bytes;
use ferry_wire::types::{ColumnType, CqlText, CqlValue, Decimal, Varint};
use proptest::prelude::*;

/// The native types of protocol v1 to v3 in type-id order (0x0001 ascii
/// to 0x0010 inet), without `text` (0x000A): Cassandra sends `varchar`
/// (0x000D) for text columns, and only some tests want the alias.
pub fn natives_up_to_v3() -> Vec<ColumnType> {
    vec![
        ColumnType::Ascii,
        ColumnType::Bigint,
        ColumnType::Blob,
        ColumnType::Boolean,
        ColumnType::Counter,
        ColumnType::Decimal,
        ColumnType::Double,
        ColumnType::Float,
        ColumnType::Int,
        ColumnType::Timestamp,
        ColumnType::Uuid,
        ColumnType::Varchar,
        ColumnType::Varint,
        ColumnType::Timeuuid,
        ColumnType::Inet,
    ]
}

/// The native types protocol v4 added.
pub fn natives_added_in_v4() -> [ColumnType; 4] {
    [
        ColumnType::Date,
        ColumnType::Time,
        ColumnType::Smallint,
        ColumnType::Tinyint,
    ]
}

/// Up to `max - 1` arbitrary bytes.
pub fn arb_bytes(max: usize) -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(any::<u8>(), 0..max).prop_map(Bytes::from)
}

/// A value of the native type `ty` (ascii to time; not custom, duration
/// or anything nested), varints and decimals from `varint`. Panics on any
/// other type: callers match those first.
pub fn arb_native_value<V>(ty: &ColumnType, varint: impl Fn() -> V) -> BoxedStrategy<CqlValue>
where
    V: Strategy<Value = Varint> + 'static,
{
    match ty {
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
        ColumnType::Varint => varint().prop_map(CqlValue::Varint).boxed(),
        ColumnType::Decimal => (varint(), any::<i32>())
            .prop_map(|(u, s)| CqlValue::Decimal(Decimal::new(u, s)))
            .boxed(),
        ColumnType::Inet => prop_oneof![
            any::<[u8; 4]>().prop_map(|a| CqlValue::Inet(IpAddr::from(a))),
            any::<[u8; 16]>().prop_map(|a| CqlValue::Inet(IpAddr::from(a))),
        ]
        .boxed(),
        ColumnType::Date => any::<u32>().prop_map(CqlValue::Date).boxed(),
        ColumnType::Time => (0..=86_399_999_999_999i64).prop_map(CqlValue::Time).boxed(),
        other => panic!("not a native scalar type: {other:?}"),
    }
}

/// A tuple of the given element strategies, its trailing elements possibly
/// absent from the bytes altogether (0 to all of them kept).
pub fn arb_tuple_of(elements: Vec<BoxedStrategy<Option<CqlValue>>>) -> BoxedStrategy<CqlValue> {
    let n = elements.len();
    (elements, 0..=n)
        .prop_map(|(mut items, keep)| {
            items.truncate(keep);
            CqlValue::Tuple(items)
        })
        .boxed()
}

/// A UDT value with `fields`, each from `element(field type)`; trailing
/// fields possibly absent (0 to all of them kept).
pub fn arb_udt_of(
    fields: &[(String, ColumnType)],
    element: impl Fn(&ColumnType) -> BoxedStrategy<Option<CqlValue>>,
) -> BoxedStrategy<CqlValue> {
    let n = fields.len();
    let elements: Vec<_> = fields
        .iter()
        .map(|(name, t)| {
            let name = name.clone();
            element(t).prop_map(move |v| (name.clone(), v))
        })
        .collect();
    (elements, 0..=n)
        .prop_map(|(mut fields, keep)| {
            fields.truncate(keep);
            CqlValue::Udt(fields)
        })
        .boxed()
}

/// Every write type the protocol names.
pub fn known_write_types() -> Vec<ferry_wire::response::WriteType> {
    use ferry_wire::response::WriteType;
    vec![
        WriteType::Simple,
        WriteType::Batch,
        WriteType::UnloggedBatch,
        WriteType::Counter,
        WriteType::BatchLog,
        WriteType::Cas,
        WriteType::View,
        WriteType::Cdc,
    ]
}

/// How scylla-cql reads a tuple ferry-wire wrote from `items`: a
/// zero-length one as `Empty`, one missing trailing elements as padded
/// with nulls; each element through `f` (the caller's own view of nested
/// values).
pub fn tuple_as_scylla_reads_it(
    items: &[Option<CqlValue>],
    types: &[ColumnType],
    f: fn(&CqlValue, &ColumnType) -> CqlValue,
) -> CqlValue {
    if items.is_empty() {
        return CqlValue::Empty;
    }
    let mut out: Vec<_> = items
        .iter()
        .zip(types)
        .map(|(i, t)| i.as_ref().map(|i| f(i, t)))
        .collect();
    out.resize(types.len(), None);
    CqlValue::Tuple(out)
}

/// The weighted (1 each) list, set and map options of a nested-type
/// strategy, elements from `inner()`.
pub fn collection_type_options(
    inner: impl Fn() -> BoxedStrategy<ColumnType>,
) -> Vec<(u32, BoxedStrategy<ColumnType>)> {
    vec![
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
    ]
}
