//! Bound values: typed ([`CqlValue`]) or already serialized ([`RawValue`]),
//! positional or named, and how they become the bytes of a request.
//!
//! A prepared statement knows each bind marker's type, so typed values are
//! written as exactly that type. A plain QUERY has no such metadata: each
//! value is written as the type its variant implies (`Int` as `int`,
//! `Text` as `varchar`, a list as a list of its first non-null element's
//! type...), which the server then accepts if it fits the marker.

use bytes::{Bytes, BytesMut};
use ferry_wire::request::{BoundValues, SerializedValues};
use ferry_wire::response::ColumnSpec;
use ferry_wire::types::{ColumnType, CqlValue, Varint};
use ferry_wire::{ProtocolVersion, RawValue};

use super::SessionError;

/// Values bound to a statement's markers.
///
/// ```
/// use ferry_conn::session::Values;
/// use ferry_wire::types::CqlValue;
/// use ferry_wire::RawValue;
/// let typed: Values = vec![CqlValue::Int(1), CqlValue::from("a")].into();
/// assert_eq!(typed.len(), 2);
/// let raw: Values = vec![RawValue::Bytes(bytes::Bytes::from_static(&[0, 0, 0, 1]))].into();
/// assert!(matches!(raw, Values::Raw(_)));
/// assert!(Values::None.is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Values {
    /// No values.
    #[default]
    None,
    /// Typed values by position (`None` is null).
    Positional(Vec<Option<CqlValue>>),
    /// Typed values by bind marker name (`None` is null). For a prepared
    /// statement, markers without a value are sent as "unset" (protocol v4+).
    Named(Vec<(String, Option<CqlValue>)>),
    /// Already serialized values by position: sent as they are (the
    /// cheapest way to copy cells read from one cluster into another).
    Raw(Vec<RawValue>),
    /// Values already laid out for the wire, back to back: copied into
    /// the request in one go, with no per-value handle to clone or drop
    /// (a bulk copier writing cells it read elsewhere).
    Serialized(SerializedValues),
}

impl Values {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            Self::None => 0,
            Self::Positional(v) => v.len(),
            Self::Named(v) => v.len(),
            Self::Raw(v) => v.len(),
            Self::Serialized(v) => v.len(),
        }
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<Vec<CqlValue>> for Values {
    fn from(values: Vec<CqlValue>) -> Self {
        Self::Positional(values.into_iter().map(Some).collect())
    }
}

impl From<Vec<Option<CqlValue>>> for Values {
    fn from(values: Vec<Option<CqlValue>>) -> Self {
        Self::Positional(values)
    }
}

impl From<Vec<RawValue>> for Values {
    fn from(values: Vec<RawValue>) -> Self {
        Self::Raw(values)
    }
}

impl From<()> for Values {
    fn from((): ()) -> Self {
        Self::None
    }
}

/// The values of a plain QUERY, types inferred from the values.
pub(crate) fn encode_for_query(
    values: &Values,
    version: ProtocolVersion,
) -> Result<Option<BoundValues>, SessionError> {
    let mut buf = BytesMut::new();
    Ok(match values {
        Values::None => None,
        Values::Positional(vs) => Some(BoundValues::Positional(
            vs.iter()
                .map(|v| encode_inferred(v.as_ref(), &mut buf, version))
                .collect::<Result<_, _>>()?,
        )),
        Values::Named(vs) => Some(BoundValues::Named(
            vs.iter()
                .map(|(name, v)| {
                    Ok((
                        name.clone(),
                        encode_inferred(v.as_ref(), &mut buf, version)?,
                    ))
                })
                .collect::<Result<_, SessionError>>()?,
        )),
        Values::Raw(vs) => Some(BoundValues::Positional(vs.clone())),
        Values::Serialized(vs) => Some(BoundValues::Serialized(vs.clone())),
    })
}

/// The values of an EXECUTE (or a prepared batch child) as they go in the
/// request: [`Values::Serialized`] as they are (after checking their
/// count), anything else through [`encode_for_prepared`].
pub(crate) fn encode_bound_for_prepared(
    values: &Values,
    markers: &[ColumnSpec],
    version: ProtocolVersion,
) -> Result<BoundValues, SessionError> {
    match values {
        Values::Serialized(vs) => {
            check_marker_count(vs.len(), markers)?;
            Ok(BoundValues::Serialized(vs.clone()))
        }
        _ => encode_for_prepared(values, markers, version).map(BoundValues::Positional),
    }
}

fn check_marker_count(n: usize, markers: &[ColumnSpec]) -> Result<(), SessionError> {
    if n == markers.len() {
        Ok(())
    } else {
        Err(SessionError::Values(format!(
            "the statement has {} bind marker(s) but {n} value(s) were given",
            markers.len()
        )))
    }
}

/// The values of an EXECUTE (or a prepared batch child), positional, typed
/// by the statement's bind markers.
pub(crate) fn encode_for_prepared(
    values: &Values,
    markers: &[ColumnSpec],
    version: ProtocolVersion,
) -> Result<Vec<RawValue>, SessionError> {
    let mut buf = BytesMut::new();
    let check_count = |n: usize| check_marker_count(n, markers);
    match values {
        Values::None => {
            check_count(0)?;
            Ok(Vec::new())
        }
        Values::Raw(vs) => {
            check_count(vs.len())?;
            Ok(vs.clone())
        }
        Values::Serialized(vs) => {
            check_count(vs.len())?;
            Ok(vs.to_raw_values())
        }
        Values::Positional(vs) => {
            check_count(vs.len())?;
            vs.iter()
                .zip(markers)
                .map(|(v, spec)| encode_typed(v.as_ref(), spec, &mut buf, version))
                .collect()
        }
        Values::Named(vs) => {
            for (name, _) in vs {
                if !markers.iter().any(|m| &m.name == name) {
                    return Err(SessionError::Values(format!(
                        "the statement has no bind marker named {name:?}"
                    )));
                }
            }
            markers
                .iter()
                .map(
                    |spec| match vs.iter().find(|(name, _)| *name == spec.name) {
                        Some((_, v)) => encode_typed(v.as_ref(), spec, &mut buf, version),
                        None if version >= ProtocolVersion::V4 => Ok(RawValue::Unset),
                        None => Err(SessionError::Values(format!(
                            "no value for bind marker {:?} (protocol {version} cannot leave \
                         values unset)",
                            spec.name
                        ))),
                    },
                )
                .collect()
        }
    }
}

/// The serialized partition key components at `pk_indexes`, if every one
/// is a non-null value.
pub(crate) fn routing_components(values: &[RawValue], pk_indexes: &[usize]) -> Option<Vec<Bytes>> {
    if pk_indexes.is_empty() {
        return None;
    }
    pk_indexes
        .iter()
        .map(|&i| match values.get(i)? {
            RawValue::Bytes(b) => Some(b.clone()),
            RawValue::Null | RawValue::Unset => None,
        })
        .collect()
}

/// [`routing_components`] of values in either positional form (named
/// values carry no positions: `None`).
pub(crate) fn bound_routing_components(
    values: &BoundValues,
    pk_indexes: &[usize],
) -> Option<Vec<Bytes>> {
    match values {
        BoundValues::Positional(v) => routing_components(v, pk_indexes),
        BoundValues::Serialized(v) if !pk_indexes.is_empty() => {
            routing_components(&v.to_raw_values(), pk_indexes)
        }
        _ => None,
    }
}

fn encode_typed(
    value: Option<&CqlValue>,
    spec: &ColumnSpec,
    buf: &mut BytesMut,
    version: ProtocolVersion,
) -> Result<RawValue, SessionError> {
    let Some(value) = value else {
        return Ok(RawValue::Null);
    };
    let coerced = coerce(value, &spec.column_type);
    let value = coerced.as_ref().unwrap_or(value);
    value
        .encode(&spec.column_type, buf, version)
        .map_err(|e| SessionError::Values(format!("bind marker {:?}: {e}", spec.name)))?;
    Ok(RawValue::Bytes(buf.split().freeze()))
}

fn encode_inferred(
    value: Option<&CqlValue>,
    buf: &mut BytesMut,
    version: ProtocolVersion,
) -> Result<RawValue, SessionError> {
    let Some(value) = value else {
        return Ok(RawValue::Null);
    };
    value
        .encode(&infer_type(value), buf, version)
        .map_err(|e| SessionError::Values(e.to_string()))?;
    Ok(RawValue::Bytes(buf.split().freeze()))
}

/// Lossless conversions between integer types, so `Int(5)` binds to a
/// `bigint` marker and `Bigint(1)` to a `counter` one.
fn coerce(value: &CqlValue, ty: &ColumnType) -> Option<CqlValue> {
    let wide = match value {
        CqlValue::Tinyint(v) => i64::from(*v),
        CqlValue::Smallint(v) => i64::from(*v),
        CqlValue::Int(v) => i64::from(*v),
        CqlValue::Bigint(v) | CqlValue::Counter(v) => *v,
        _ => return None,
    };
    match ty {
        ColumnType::Bigint if !matches!(value, CqlValue::Bigint(_)) => Some(CqlValue::Bigint(wide)),
        ColumnType::Counter if !matches!(value, CqlValue::Counter(_)) => {
            Some(CqlValue::Counter(wide))
        }
        ColumnType::Varint => varint_of(wide).map(CqlValue::Varint),
        _ => None,
    }
}

/// `v` as a (minimal, see [`Varint`]) two's complement varint.
fn varint_of(v: i64) -> Option<Varint> {
    Varint::from_signed_slice_be(&v.to_be_bytes())
}

/// The type a value is written as when nothing says otherwise.
pub(crate) fn infer_type(value: &CqlValue) -> ColumnType {
    use ColumnType as T;
    use CqlValue as V;
    let first_type =
        |items: &[Option<CqlValue>]| items.iter().flatten().next().map_or(T::Blob, infer_type);
    match value {
        // Zero bytes whatever the type.
        V::Empty => T::Blob,
        V::Ascii(_) => T::Ascii,
        V::Bigint(_) => T::Bigint,
        V::Blob(_) => T::Blob,
        V::Boolean(_) => T::Boolean,
        V::Counter(_) => T::Counter,
        V::Decimal(_) => T::Decimal,
        V::Double(_) => T::Double,
        V::Float(_) => T::Float,
        V::Int(_) => T::Int,
        V::Text(_) => T::Varchar,
        V::Timestamp(_) => T::Timestamp,
        V::Uuid(_) => T::Uuid,
        V::Timeuuid(_) => T::Timeuuid,
        V::Varint(_) => T::Varint,
        V::Inet(_) => T::Inet,
        V::Date(_) => T::Date,
        V::Time(_) => T::Time,
        V::Smallint(_) => T::Smallint,
        V::Tinyint(_) => T::Tinyint,
        V::Duration(_) => T::Duration,
        V::List(items) => T::List(Box::new(first_type(items))),
        V::Set(items) => T::Set(Box::new(first_type(items))),
        V::Map(pairs) => {
            let key = pairs.iter().find_map(|(k, _)| k.as_ref());
            let val = pairs.iter().find_map(|(_, v)| v.as_ref());
            T::Map(
                Box::new(key.map_or(T::Blob, infer_type)),
                Box::new(val.map_or(T::Blob, infer_type)),
            )
        }
        V::Tuple(items) => T::Tuple(
            items
                .iter()
                .map(|v| v.as_ref().map_or(T::Blob, infer_type))
                .collect(),
        ),
        V::Udt(fields) => T::Udt {
            keyspace: String::new(),
            name: String::new(),
            fields: fields
                .iter()
                .map(|(name, v)| (name.clone(), v.as_ref().map_or(T::Blob, infer_type)))
                .collect(),
        },
        V::Custom(_) => T::Custom(String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes_of(v: &RawValue) -> &[u8] {
        match v {
            RawValue::Bytes(b) => b,
            _ => panic!("expected bytes, got {v:?}"),
        }
    }

    #[test]
    fn query_values_are_written_as_their_natural_types() {
        let values = Values::Positional(vec![
            Some(CqlValue::Int(1)),
            Some(CqlValue::from("ab")),
            None,
            Some(CqlValue::List(vec![None, Some(CqlValue::Bigint(2))])),
        ]);
        let Some(BoundValues::Positional(raw)) =
            encode_for_query(&values, ProtocolVersion::V4).unwrap()
        else {
            panic!("positional values expected");
        };
        assert_eq!(bytes_of(&raw[0]), [0, 0, 0, 1]);
        assert_eq!(bytes_of(&raw[1]), b"ab");
        assert_eq!(raw[2], RawValue::Null);
        // A list of two bigints, the first null.
        let list = [
            &[0, 0, 0, 2][..],
            &[0xff, 0xff, 0xff, 0xff],
            &[0, 0, 0, 8],
            &[0, 0, 0, 0, 0, 0, 0, 2],
        ]
        .concat();
        assert_eq!(bytes_of(&raw[3]), list);
    }

    #[test]
    fn prepared_values_follow_the_marker_types_and_coerce_integers() {
        let markers = [
            ColumnSpec::new("ks", "t", "a", ColumnType::Bigint),
            ColumnSpec::new("ks", "t", "b", ColumnType::Varint),
            ColumnSpec::new("ks", "t", "c", ColumnType::Counter),
        ];
        let values = Values::Positional(vec![
            Some(CqlValue::Int(-2)),
            Some(CqlValue::Int(-129)),
            Some(CqlValue::Bigint(3)),
        ]);
        let raw = encode_for_prepared(&values, &markers, ProtocolVersion::V4).unwrap();
        assert_eq!(bytes_of(&raw[0]), (-2i64).to_be_bytes());
        assert_eq!(bytes_of(&raw[1]), [0xff, 0x7f]);
        assert_eq!(bytes_of(&raw[2]), 3i64.to_be_bytes());
    }

    #[test]
    fn minimal_varints() {
        for (v, want) in [
            (0i64, &[0u8][..]),
            (127, &[0x7f]),
            (128, &[0, 0x80]),
            (-1, &[0xff]),
            (-128, &[0x80]),
            (-129, &[0xff, 0x7f]),
            (i64::MIN, &[0x80, 0, 0, 0, 0, 0, 0, 0]),
        ] {
            assert_eq!(varint_of(v).unwrap().as_signed_bytes_be(), want, "{v}");
        }
    }

    #[test]
    fn wrong_count_and_unknown_names_are_errors() {
        let markers = [ColumnSpec::new("ks", "t", "a", ColumnType::Int)];
        let two: Values = vec![CqlValue::Int(1), CqlValue::Int(2)].into();
        assert!(encode_for_prepared(&two, &markers, ProtocolVersion::V4).is_err());
        let named = Values::Named(vec![("zz".into(), None)]);
        assert!(encode_for_prepared(&named, &markers, ProtocolVersion::V4).is_err());
        let mismatch: Values = vec![CqlValue::from("x")].into();
        assert!(encode_for_prepared(&mismatch, &markers, ProtocolVersion::V4).is_err());
    }

    #[test]
    fn named_values_leave_missing_markers_unset_from_v4() {
        let markers = [
            ColumnSpec::new("ks", "t", "a", ColumnType::Int),
            ColumnSpec::new("ks", "t", "b", ColumnType::Int),
        ];
        let named = Values::Named(vec![("b".into(), Some(CqlValue::Int(5)))]);
        let raw = encode_for_prepared(&named, &markers, ProtocolVersion::V4).unwrap();
        assert_eq!(raw[0], RawValue::Unset);
        assert_eq!(bytes_of(&raw[1]), [0, 0, 0, 5]);
        assert!(encode_for_prepared(&named, &markers, ProtocolVersion::V3).is_err());
    }

    #[test]
    fn serialized_values_are_sent_as_they_are() {
        let markers = [
            ColumnSpec::new("ks", "t", "a", ColumnType::Int),
            ColumnSpec::new("ks", "t", "b", ColumnType::Int),
        ];
        let mut sv = SerializedValues::new();
        sv.push_cell(Some(&[0, 0, 0, 1])).unwrap();
        sv.push_cell(None).unwrap();
        let values = Values::Serialized(sv.clone());
        assert_eq!(values.len(), 2);
        let bound = encode_bound_for_prepared(&values, &markers, ProtocolVersion::V3).unwrap();
        assert_eq!(bound, BoundValues::Serialized(sv.clone()));
        assert_eq!(
            bound_routing_components(&bound, &[0]).unwrap(),
            [Bytes::from_static(&[0, 0, 0, 1])]
        );
        assert!(
            bound_routing_components(&bound, &[1]).is_none(),
            "null key part"
        );
        let raw = encode_for_prepared(&values, &markers, ProtocolVersion::V3).unwrap();
        assert_eq!(raw[1], RawValue::Null);
        assert!(encode_bound_for_prepared(&values, &markers[..1], ProtocolVersion::V3).is_err());
        assert_eq!(
            encode_for_query(&values, ProtocolVersion::V3).unwrap(),
            Some(BoundValues::Serialized(sv))
        );
    }

    #[test]
    fn routing_components_need_every_key_part() {
        let v = vec![
            RawValue::Bytes(Bytes::from_static(b"a")),
            RawValue::Null,
            RawValue::Bytes(Bytes::from_static(b"c")),
        ];
        assert_eq!(
            routing_components(&v, &[2, 0]).unwrap(),
            [Bytes::from_static(b"c"), Bytes::from_static(b"a")]
        );
        assert!(routing_components(&v, &[0, 1]).is_none());
        assert!(routing_components(&v, &[5]).is_none());
        assert!(routing_components(&v, &[]).is_none());
    }
}
