//! Encoding a [`CqlValue`] as the bytes of a cell of a given [`ColumnType`].
//!
//! The value is checked against the type as it is written: a mismatch is an
//! [`EncodeError::TypeMismatch`], never a silently wrong cell. Element lengths
//! are written as placeholders and patched once the element is written, so a
//! value is serialized in one pass without measuring it first.

use bytes::{BufMut, BytesMut};

use super::column_type::{ColumnType, MAX_TYPE_DEPTH};
use super::date_time::is_valid_time;
use super::layout::CollectionLengths;
use super::value::CqlValue;
use crate::error::{EncodeError, EncodeResult};
use crate::version::ProtocolVersion;
use crate::writer::put_vint;

impl CqlValue {
    /// Appends this value's cell bytes (no `[bytes]` length) as type `ty`.
    ///
    /// Fails with [`EncodeError::TypeMismatch`] if the value is not of type
    /// `ty`, [`EncodeError::UnsupportedInVersion`] if `ty` (or a null element
    /// of a top-level v2 collection) does not exist in `version`, and
    /// [`EncodeError::Invalid`] for values the type forbids (a `time` out of
    /// range, non-ASCII `ascii`, a duration with mixed signs). On error,
    /// `buf` is left as it was.
    ///
    /// String values coerce within their family: an `Ascii` value may be
    /// written as `text`/`varchar`, a `Text` value as `ascii` if it is ASCII.
    /// [`CqlValue::Empty`] encodes as zero bytes for any type.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use ferry_wire::types::{ColumnType, CqlValue};
    /// use ferry_wire::{EncodeError, ProtocolVersion};
    /// let mut buf = BytesMut::new();
    /// CqlValue::Smallint(-2).encode(&ColumnType::Smallint, &mut buf, ProtocolVersion::V4).unwrap();
    /// assert_eq!(&buf[..], &[0xff, 0xfe]);
    /// let err = CqlValue::Int(1).encode(&ColumnType::Bigint, &mut buf, ProtocolVersion::V4);
    /// assert!(matches!(err, Err(EncodeError::TypeMismatch { .. })));
    /// let err = CqlValue::Smallint(1).encode(&ColumnType::Smallint, &mut buf, ProtocolVersion::V3);
    /// assert!(matches!(err, Err(EncodeError::UnsupportedInVersion { .. })));
    /// assert_eq!(buf.len(), 2);
    /// ```
    pub fn encode(
        &self,
        ty: &ColumnType,
        buf: &mut BytesMut,
        version: ProtocolVersion,
    ) -> EncodeResult<()> {
        let start = buf.len();
        let result = check_type_version(ty, version, 0)
            .and_then(|()| encode_as(self, ty, buf, CollectionLengths::top_level(version), 0));
        if result.is_err() {
            buf.truncate(start);
        }
        result
    }

    /// Appends this value as a `[value]`: an `[int]` length then the cell
    /// bytes (as [`CqlValue::encode`]).
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use ferry_wire::types::{ColumnType, CqlValue};
    /// use ferry_wire::ProtocolVersion;
    /// let mut buf = BytesMut::new();
    /// CqlValue::Boolean(true).encode_value(&ColumnType::Boolean, &mut buf, ProtocolVersion::V4).unwrap();
    /// assert_eq!(&buf[..], &[0, 0, 0, 1, 1]);
    /// ```
    pub fn encode_value(
        &self,
        ty: &ColumnType,
        buf: &mut BytesMut,
        version: ProtocolVersion,
    ) -> EncodeResult<()> {
        let at = buf.len();
        buf.put_i32(0);
        let result = self
            .encode(ty, buf, version)
            .and_then(|()| patch_int_length(buf, at, "value"));
        if result.is_err() {
            buf.truncate(at);
        }
        result
    }
}

/// Appends a possibly-null cell as a `[value]`: `None` is written as null
/// (length -1).
///
/// ```
/// use bytes::BytesMut;
/// use ferry_wire::types::{encode_cell, ColumnType};
/// use ferry_wire::ProtocolVersion;
/// let mut buf = BytesMut::new();
/// encode_cell(None, &ColumnType::Int, &mut buf, ProtocolVersion::V4).unwrap();
/// assert_eq!(&buf[..], &[0xff, 0xff, 0xff, 0xff]);
/// ```
pub fn encode_cell(
    value: Option<&CqlValue>,
    ty: &ColumnType,
    buf: &mut BytesMut,
    version: ProtocolVersion,
) -> EncodeResult<()> {
    match value {
        Some(v) => v.encode_value(ty, buf, version),
        None => {
            buf.put_i32(-1);
            Ok(())
        }
    }
}

fn too_deep() -> EncodeError {
    EncodeError::Invalid(format!("type nested deeper than {MAX_TYPE_DEPTH} levels"))
}

/// Fails if `ty`, or any type nested in it, is newer than `version`.
fn check_type_version(ty: &ColumnType, version: ProtocolVersion, depth: usize) -> EncodeResult<()> {
    if depth > MAX_TYPE_DEPTH {
        return Err(too_deep());
    }
    let (what, since) = match ty {
        ColumnType::Duration => ("duration", ProtocolVersion::V5),
        ColumnType::Date => ("date", ProtocolVersion::V4),
        ColumnType::Time => ("time", ProtocolVersion::V4),
        ColumnType::Smallint => ("smallint", ProtocolVersion::V4),
        ColumnType::Tinyint => ("tinyint", ProtocolVersion::V4),
        ColumnType::Tuple(_) => ("tuple", ProtocolVersion::V3),
        ColumnType::Udt { .. } => ("user-defined type", ProtocolVersion::V3),
        _ => ("", ProtocolVersion::V2),
    };
    if version < since {
        return Err(EncodeError::UnsupportedInVersion {
            what,
            version: version.number(),
        });
    }
    match ty {
        ColumnType::List(t) | ColumnType::Set(t) => check_type_version(t, version, depth + 1),
        ColumnType::Map(k, v) => {
            check_type_version(k, version, depth + 1)?;
            check_type_version(v, version, depth + 1)
        }
        ColumnType::Tuple(ts) => ts
            .iter()
            .try_for_each(|t| check_type_version(t, version, depth + 1)),
        ColumnType::Udt { fields, .. } => fields
            .iter()
            .try_for_each(|(_, t)| check_type_version(t, version, depth + 1)),
        _ => Ok(()),
    }
}

fn mismatch(value: &CqlValue, ty: &ColumnType) -> EncodeError {
    EncodeError::TypeMismatch {
        value: value.kind_name().to_owned(),
        cql_type: ty.to_string(),
    }
}

/// Overwrites the `[int]` placeholder at `at` with the length of what follows.
fn patch_int_length(buf: &mut BytesMut, at: usize, field: &'static str) -> EncodeResult<()> {
    let len = buf.len() - at - 4;
    let n = i32::try_from(len).map_err(|_| EncodeError::TooLong {
        field,
        length: len,
        max: i32::MAX as usize,
    })?;
    if let Some(slot) = buf.get_mut(at..at + 4) {
        slot.copy_from_slice(&n.to_be_bytes());
    }
    Ok(())
}

/// Overwrites the `[short]` placeholder at `at` with the length of what follows.
fn patch_short_length(buf: &mut BytesMut, at: usize, field: &'static str) -> EncodeResult<()> {
    let len = buf.len() - at - 2;
    let n = u16::try_from(len).map_err(|_| EncodeError::TooLong {
        field,
        length: len,
        max: usize::from(u16::MAX),
    })?;
    if let Some(slot) = buf.get_mut(at..at + 2) {
        slot.copy_from_slice(&n.to_be_bytes());
    }
    Ok(())
}

fn put_count(
    buf: &mut BytesMut,
    n: usize,
    lengths: CollectionLengths,
    field: &'static str,
) -> EncodeResult<()> {
    match lengths {
        CollectionLengths::Short => {
            buf.put_u16(u16::try_from(n).map_err(|_| EncodeError::TooLong {
                field,
                length: n,
                max: usize::from(u16::MAX),
            })?)
        }
        CollectionLengths::Int => {
            buf.put_i32(i32::try_from(n).map_err(|_| EncodeError::TooLong {
                field,
                length: n,
                max: i32::MAX as usize,
            })?)
        }
    }
    Ok(())
}

/// Writes one length-prefixed element of a collection, tuple or UDT.
fn put_element(
    buf: &mut BytesMut,
    value: Option<&CqlValue>,
    ty: &ColumnType,
    lengths: CollectionLengths,
    depth: usize,
    field: &'static str,
) -> EncodeResult<()> {
    let Some(value) = value else {
        return match lengths {
            CollectionLengths::Int => {
                buf.put_i32(-1);
                Ok(())
            }
            // `[short]` lengths are unsigned: v2 has no null elements.
            CollectionLengths::Short => Err(EncodeError::UnsupportedInVersion {
                what: "null collection element",
                version: 2,
            }),
        };
    };
    let at = buf.len();
    match lengths {
        CollectionLengths::Int => {
            buf.put_i32(0);
            encode_as(value, ty, buf, CollectionLengths::Int, depth + 1)?;
            patch_int_length(buf, at, field)
        }
        CollectionLengths::Short => {
            buf.put_u16(0);
            encode_as(value, ty, buf, CollectionLengths::Int, depth + 1)?;
            patch_short_length(buf, at, field)
        }
    }
}

fn encode_as(
    value: &CqlValue,
    ty: &ColumnType,
    buf: &mut BytesMut,
    lengths: CollectionLengths,
    depth: usize,
) -> EncodeResult<()> {
    if depth > MAX_TYPE_DEPTH {
        return Err(too_deep());
    }
    use ColumnType as T;
    use CqlValue as V;
    match (value, ty) {
        (V::Empty, _) => {}
        (V::Ascii(s) | V::Text(s), T::Ascii) => {
            if !s.is_ascii() {
                return Err(EncodeError::Invalid(
                    "an ascii value contains non-ASCII characters".into(),
                ));
            }
            buf.put_slice(s.as_bytes());
        }
        (V::Ascii(s) | V::Text(s), T::Text | T::Varchar) => buf.put_slice(s.as_bytes()),
        (V::Blob(b), T::Blob | T::Custom(_)) | (V::Custom(b), T::Custom(_)) => buf.put_slice(b),
        (V::Boolean(b), T::Boolean) => buf.put_u8(u8::from(*b)),
        (V::Bigint(v), T::Bigint) | (V::Counter(v), T::Counter) => buf.put_i64(*v),
        (V::Timestamp(v), T::Timestamp) => buf.put_i64(*v),
        (V::Int(v), T::Int) => buf.put_i32(*v),
        (V::Smallint(v), T::Smallint) => buf.put_i16(*v),
        (V::Tinyint(v), T::Tinyint) => buf.put_i8(*v),
        (V::Float(v), T::Float) => buf.put_f32(*v),
        (V::Double(v), T::Double) => buf.put_f64(*v),
        (V::Date(v), T::Date) => buf.put_u32(*v),
        (V::Time(v), T::Time) => {
            if !is_valid_time(*v) {
                return Err(EncodeError::Invalid(format!(
                    "time {v} is outside 0..=86399999999999 nanoseconds"
                )));
            }
            buf.put_i64(*v);
        }
        (V::Uuid(u), T::Uuid) | (V::Timeuuid(u), T::Timeuuid) => buf.put_slice(u),
        (V::Inet(ip), T::Inet) => match ip {
            std::net::IpAddr::V4(a) => buf.put_slice(&a.octets()),
            std::net::IpAddr::V6(a) => buf.put_slice(&a.octets()),
        },
        (V::Varint(v), T::Varint) => buf.put_slice(v.as_signed_bytes_be()),
        (V::Decimal(d), T::Decimal) => {
            buf.put_i32(d.scale);
            buf.put_slice(d.unscaled.as_signed_bytes_be());
        }
        (V::Duration(d), T::Duration) => {
            if !d.is_valid() {
                return Err(EncodeError::Invalid(
                    "duration components have different signs".into(),
                ));
            }
            put_vint(buf, i64::from(d.months));
            put_vint(buf, i64::from(d.days));
            put_vint(buf, d.nanoseconds);
        }
        (V::List(items), T::List(elem)) | (V::Set(items), T::Set(elem)) => {
            let field = if matches!(ty, T::List(_)) {
                "value.list"
            } else {
                "value.set"
            };
            put_count(buf, items.len(), lengths, field)?;
            for item in items {
                put_element(buf, item.as_ref(), elem, lengths, depth, field)?;
            }
        }
        (V::Map(pairs), T::Map(kt, vt)) => {
            put_count(buf, pairs.len(), lengths, "value.map")?;
            for (k, v) in pairs {
                put_element(buf, k.as_ref(), kt, lengths, depth, "value.map")?;
                put_element(buf, v.as_ref(), vt, lengths, depth, "value.map")?;
            }
        }
        (V::Tuple(items), T::Tuple(types)) => {
            if items.len() > types.len() {
                return Err(EncodeError::TypeMismatch {
                    value: format!("tuple of {} elements", items.len()),
                    cql_type: ty.to_string(),
                });
            }
            for (item, t) in items.iter().zip(types) {
                put_element(
                    buf,
                    item.as_ref(),
                    t,
                    CollectionLengths::Int,
                    depth,
                    "value.tuple",
                )?;
            }
        }
        (V::Udt(values), T::Udt { fields, .. }) => {
            if values.len() > fields.len() {
                return Err(EncodeError::TypeMismatch {
                    value: format!("user-defined type value with {} fields", values.len()),
                    cql_type: ty.to_string(),
                });
            }
            for ((name, v), (type_name, t)) in values.iter().zip(fields) {
                if name != type_name {
                    return Err(EncodeError::TypeMismatch {
                        value: format!(
                            "user-defined type value with field `{name}` where `{type_name}` belongs"
                        ),
                        cql_type: ty.to_string(),
                    });
                }
                put_element(
                    buf,
                    v.as_ref(),
                    t,
                    CollectionLengths::Int,
                    depth,
                    "value.udt",
                )?;
            }
        }
        _ => return Err(mismatch(value, ty)),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{CqlDuration, CqlText};

    const V4: ProtocolVersion = ProtocolVersion::V4;

    fn encode(v: &CqlValue, ty: &ColumnType, version: ProtocolVersion) -> EncodeResult<Vec<u8>> {
        let mut buf = BytesMut::new();
        v.encode(ty, &mut buf, version).map(|()| buf.to_vec())
    }

    fn udt_type() -> ColumnType {
        ColumnType::Udt {
            keyspace: "ks".into(),
            name: "addr".into(),
            fields: vec![
                ("street".into(), ColumnType::Varchar),
                ("no".into(), ColumnType::Int),
            ],
        }
    }

    #[test]
    fn mismatches_are_reported_with_both_sides() {
        let err = encode(&CqlValue::Int(1), &ColumnType::Bigint, V4).unwrap_err();
        assert_eq!(
            err,
            EncodeError::TypeMismatch {
                value: "int".into(),
                cql_type: "bigint".into()
            }
        );
        let set_type = ColumnType::Set(Box::new(ColumnType::Int));
        assert!(matches!(
            encode(&CqlValue::List(vec![]), &set_type, V4),
            Err(EncodeError::TypeMismatch { .. })
        ));
        // A nested mismatch is found too.
        let list = CqlValue::List(vec![Some(CqlValue::Bigint(1))]);
        let err = encode(&list, &ColumnType::List(Box::new(ColumnType::Int)), V4).unwrap_err();
        assert!(matches!(err, EncodeError::TypeMismatch { ref cql_type, .. } if cql_type == "int"));
        assert!(matches!(
            encode(&CqlValue::Uuid([0; 16]), &ColumnType::Timeuuid, V4),
            Err(EncodeError::TypeMismatch { .. })
        ));
    }

    #[test]
    fn udt_fields_must_follow_the_type() {
        let ok = CqlValue::Udt(vec![("street".into(), Some("Main".into()))]);
        assert_eq!(
            encode(&ok, &udt_type(), V4).unwrap(),
            [0, 0, 0, 4, b'M', b'a', b'i', b'n']
        );
        let wrong = CqlValue::Udt(vec![("no".into(), Some(CqlValue::Int(1)))]);
        assert!(matches!(
            encode(&wrong, &udt_type(), V4),
            Err(EncodeError::TypeMismatch { .. })
        ));
        let too_many = CqlValue::Tuple(vec![None, None]);
        assert!(matches!(
            encode(&too_many, &ColumnType::Tuple(vec![ColumnType::Int]), V4),
            Err(EncodeError::TypeMismatch { .. })
        ));
    }

    #[test]
    fn string_family_coerces_within_ascii() {
        let ascii = CqlValue::Ascii(CqlText::from("hi"));
        assert_eq!(encode(&ascii, &ColumnType::Varchar, V4).unwrap(), b"hi");
        let text = CqlValue::Text(CqlText::from("hi"));
        assert_eq!(encode(&text, &ColumnType::Ascii, V4).unwrap(), b"hi");
        let accented = CqlValue::Text(CqlText::from("hé"));
        assert!(matches!(
            encode(&accented, &ColumnType::Ascii, V4),
            Err(EncodeError::Invalid(_))
        ));
    }

    #[test]
    fn values_the_type_forbids() {
        assert!(matches!(
            encode(&CqlValue::Time(-1), &ColumnType::Time, V4),
            Err(EncodeError::Invalid(_))
        ));
        let mixed = CqlValue::Duration(CqlDuration::new(1, -1, 0));
        assert!(matches!(
            encode(&mixed, &ColumnType::Duration, ProtocolVersion::V5),
            Err(EncodeError::Invalid(_))
        ));
    }

    #[test]
    fn version_gates() {
        let ty = ColumnType::List(Box::new(ColumnType::Tinyint));
        let err = encode(&CqlValue::List(vec![]), &ty, ProtocolVersion::V3).unwrap_err();
        assert_eq!(
            err,
            EncodeError::UnsupportedInVersion {
                what: "tinyint",
                version: 3
            }
        );
        let nulls = CqlValue::List(vec![None]);
        let ints = ColumnType::List(Box::new(ColumnType::Int));
        assert!(matches!(
            encode(&nulls, &ints, ProtocolVersion::V2),
            Err(EncodeError::UnsupportedInVersion { version: 2, .. })
        ));
        assert_eq!(
            encode(&nulls, &ints, ProtocolVersion::V3).unwrap(),
            [0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff]
        );
    }

    #[test]
    fn v2_element_over_64k_is_too_long() {
        let big = CqlValue::Blob(bytes::Bytes::from(vec![0u8; 70_000]));
        let ty = ColumnType::List(Box::new(ColumnType::Blob));
        let err = encode(&CqlValue::List(vec![Some(big)]), &ty, ProtocolVersion::V2).unwrap_err();
        assert!(matches!(err, EncodeError::TooLong { length: 70_000, .. }));
    }

    #[test]
    fn failed_encodes_leave_the_buffer_alone() {
        let mut buf = BytesMut::from(&b"keep"[..]);
        let list = CqlValue::List(vec![Some(CqlValue::Int(1)), Some(CqlValue::Bigint(2))]);
        let ty = ColumnType::List(Box::new(ColumnType::Int));
        assert!(list.encode_value(&ty, &mut buf, V4).is_err());
        assert_eq!(&buf[..], b"keep");
    }

    #[test]
    fn value_and_cell_helpers_write_lengths() {
        let mut buf = BytesMut::new();
        encode_cell(Some(&CqlValue::Empty), &ColumnType::Int, &mut buf, V4).unwrap();
        encode_cell(Some(&CqlValue::Int(7)), &ColumnType::Int, &mut buf, V4).unwrap();
        assert_eq!(&buf[..], &[0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 7]);
    }
}
