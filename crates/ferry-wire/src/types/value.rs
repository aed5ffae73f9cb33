//! [`CqlValue`]: a typed CQL value, as decoded from (or encoded into) the
//! bytes of one cell.
//!
//! Decoding lives in `decode.rs`, encoding in `encode.rs`, the CQL-literal
//! rendering in `literal.rs`; this file holds the type and its equality.

use std::net::IpAddr;

use bytes::Bytes;

use super::decimal::Decimal;
use super::duration::CqlDuration;
use super::text::CqlText;
use super::varint::Varint;

/// One CQL value of any type.
///
/// Nulls: a null *cell* is not a `CqlValue` (callers use `Option<CqlValue>`,
/// see [`decode_cell`](super::decode_cell)); a null *element* inside a
/// collection, tuple or UDT is a `None` in the variant's vector.
///
/// Equality compares floats by their bits, so a `NaN` equals the same `NaN`
/// after a round trip (and `0.0 != -0.0`); with that rule equality is a true
/// equivalence and `CqlValue` is `Eq`.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use ferry_wire::types::{ColumnType, CqlValue};
/// use ferry_wire::ProtocolVersion;
/// let ty = ColumnType::List(Box::new(ColumnType::Varchar));
/// let v = CqlValue::List(vec![Some(CqlValue::Text("a".into())), None]);
/// let mut buf = BytesMut::new();
/// v.encode(&ty, &mut buf, ProtocolVersion::V4).unwrap();
/// let back = CqlValue::decode(&ty, &buf.freeze(), ProtocolVersion::V4).unwrap();
/// assert_eq!(back, v);
/// assert_eq!(v.cql_literal(), "['a', null]");
/// assert_eq!(CqlValue::Double(f64::NAN), CqlValue::Double(f64::NAN));
/// ```
#[derive(Debug, Clone)]
pub enum CqlValue {
    /// A zero-length value of a type whose values are otherwise never empty
    /// (int, uuid, timestamp, …). The spec allows these "for legacy
    /// compatibility" and keeps them distinct from null. Empty text and
    /// blobs are `Text("")`/`Blob(b"")`, not this.
    Empty,
    /// `ascii`: the text is known to be 7-bit.
    Ascii(CqlText),
    /// `bigint`.
    Bigint(i64),
    /// `blob`, zero-copy.
    Blob(Bytes),
    /// `boolean`.
    Boolean(bool),
    /// `counter`.
    Counter(i64),
    /// `decimal`.
    Decimal(Decimal),
    /// `double`.
    Double(f64),
    /// `float`.
    Float(f32),
    /// `int`.
    Int(i32),
    /// `text` / `varchar`, zero-copy.
    Text(CqlText),
    /// `timestamp`: milliseconds since the Unix epoch.
    Timestamp(i64),
    /// `uuid`, in wire (RFC 4122) byte order.
    Uuid([u8; 16]),
    /// `timeuuid`, in wire byte order.
    Timeuuid([u8; 16]),
    /// `varint`.
    Varint(Varint),
    /// `inet`.
    Inet(IpAddr),
    /// `date`: days with the Unix epoch at 2^31 (see
    /// [`date_time`](super::date_time)).
    Date(u32),
    /// `time`: nanoseconds since midnight, 0 to 86399999999999.
    Time(i64),
    /// `smallint`.
    Smallint(i16),
    /// `tinyint`.
    Tinyint(i8),
    /// `duration`.
    Duration(CqlDuration),
    /// `list<T>`; `None` is a null element.
    List(Vec<Option<CqlValue>>),
    /// `set<T>`, in the order it was serialized; `None` is a null element.
    Set(Vec<Option<CqlValue>>),
    /// `map<K, V>` as ordered pairs, in the order they were serialized.
    Map(Vec<(Option<CqlValue>, Option<CqlValue>)>),
    /// `tuple<…>`: one entry per serialized element (`None` = null). It may
    /// be shorter than the tuple type: trailing elements absent from the
    /// bytes are absent here too, which is not the same as null.
    Tuple(Vec<Option<CqlValue>>),
    /// A user-defined type value: `(field name, value)` per serialized field
    /// (`None` = null). A serialized UDT may carry fewer fields than its type
    /// (fields added by `ALTER TYPE` after the value was written); the missing
    /// trailing fields are absent here, distinct from null ones.
    Udt(Vec<(String, Option<CqlValue>)>),
    /// A value of a custom type, as raw bytes.
    Custom(Bytes),
}

impl CqlValue {
    /// A short name of the variant ("int", "list", …), for error messages
    /// (values themselves are never put in errors: they may be large or
    /// sensitive).
    pub fn kind_name(&self) -> &'static str {
        match self {
            Self::Empty => "empty value",
            Self::Ascii(_) => "ascii",
            Self::Bigint(_) => "bigint",
            Self::Blob(_) => "blob",
            Self::Boolean(_) => "boolean",
            Self::Counter(_) => "counter",
            Self::Decimal(_) => "decimal",
            Self::Double(_) => "double",
            Self::Float(_) => "float",
            Self::Int(_) => "int",
            Self::Text(_) => "text",
            Self::Timestamp(_) => "timestamp",
            Self::Uuid(_) => "uuid",
            Self::Timeuuid(_) => "timeuuid",
            Self::Varint(_) => "varint",
            Self::Inet(_) => "inet",
            Self::Date(_) => "date",
            Self::Time(_) => "time",
            Self::Smallint(_) => "smallint",
            Self::Tinyint(_) => "tinyint",
            Self::Duration(_) => "duration",
            Self::List(_) => "list",
            Self::Set(_) => "set",
            Self::Map(_) => "map",
            Self::Tuple(_) => "tuple",
            Self::Udt(_) => "user-defined type value",
            Self::Custom(_) => "custom value",
        }
    }

    /// The text of an `ascii` or `text` value.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Self::Ascii(t) | Self::Text(t) => Some(t),
            _ => None,
        }
    }

    /// The bytes of a `blob` or custom value.
    pub fn as_blob(&self) -> Option<&Bytes> {
        match self {
            Self::Blob(b) | Self::Custom(b) => Some(b),
            _ => None,
        }
    }

    /// Any integer-valued scalar (bigint, counter, int, smallint, tinyint,
    /// timestamp, and varint when it fits) as `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Self::Bigint(v) | Self::Counter(v) | Self::Timestamp(v) => Some(*v),
            Self::Int(v) => Some(i64::from(*v)),
            Self::Smallint(v) => Some(i64::from(*v)),
            Self::Tinyint(v) => Some(i64::from(*v)),
            Self::Varint(v) => v.to_i64(),
            _ => None,
        }
    }
}

impl PartialEq for CqlValue {
    fn eq(&self, other: &Self) -> bool {
        use CqlValue::*;
        match (self, other) {
            (Empty, Empty) => true,
            (Ascii(a), Ascii(b)) | (Text(a), Text(b)) => a == b,
            (Bigint(a), Bigint(b)) | (Counter(a), Counter(b)) => a == b,
            (Timestamp(a), Timestamp(b)) | (Time(a), Time(b)) => a == b,
            (Blob(a), Blob(b)) | (Custom(a), Custom(b)) => a == b,
            (Boolean(a), Boolean(b)) => a == b,
            (Decimal(a), Decimal(b)) => a == b,
            // Bitwise, so NaN == NaN: see the type's documentation.
            (Double(a), Double(b)) => a.to_bits() == b.to_bits(),
            (Float(a), Float(b)) => a.to_bits() == b.to_bits(),
            (Int(a), Int(b)) => a == b,
            (Uuid(a), Uuid(b)) | (Timeuuid(a), Timeuuid(b)) => a == b,
            (Varint(a), Varint(b)) => a == b,
            (Inet(a), Inet(b)) => a == b,
            (Date(a), Date(b)) => a == b,
            (Smallint(a), Smallint(b)) => a == b,
            (Tinyint(a), Tinyint(b)) => a == b,
            (Duration(a), Duration(b)) => a == b,
            (List(a), List(b)) | (Set(a), Set(b)) | (Tuple(a), Tuple(b)) => a == b,
            (Map(a), Map(b)) => a == b,
            (Udt(a), Udt(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for CqlValue {}

impl From<&'static str> for CqlValue {
    /// A `text` value.
    fn from(s: &'static str) -> Self {
        Self::Text(CqlText::from(s))
    }
}

impl From<String> for CqlValue {
    /// A `text` value.
    fn from(s: String) -> Self {
        Self::Text(CqlText::from(s))
    }
}

impl From<i32> for CqlValue {
    /// An `int` value.
    fn from(v: i32) -> Self {
        Self::Int(v)
    }
}

impl From<i64> for CqlValue {
    /// A `bigint` value.
    fn from(v: i64) -> Self {
        Self::Bigint(v)
    }
}

impl From<bool> for CqlValue {
    /// A `boolean` value.
    fn from(v: bool) -> Self {
        Self::Boolean(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_equality_is_bitwise() {
        assert_eq!(CqlValue::Float(f32::NAN), CqlValue::Float(f32::NAN));
        assert_ne!(CqlValue::Double(0.0), CqlValue::Double(-0.0));
        assert_ne!(
            CqlValue::Double(f64::NAN),
            CqlValue::Double(f64::from_bits(f64::NAN.to_bits() ^ 1))
        );
        assert_ne!(CqlValue::Int(1), CqlValue::Bigint(1));
        assert_ne!(CqlValue::Uuid([0; 16]), CqlValue::Timeuuid([0; 16]));
    }

    #[test]
    fn nested_nan_compares_equal() {
        let a = CqlValue::List(vec![Some(CqlValue::Double(f64::NAN)), None]);
        assert_eq!(a.clone(), a);
    }

    #[test]
    fn enum_stays_small() {
        // Decoding 10k rows allocates nothing per scalar; keep the enum
        // itself from growing by accident (Option adds no space).
        assert!(std::mem::size_of::<CqlValue>() <= 48);
        assert_eq!(
            std::mem::size_of::<Option<CqlValue>>(),
            std::mem::size_of::<CqlValue>()
        );
    }
}
