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
