//! Version-dependent wire helpers shared by the request messages: bound
//! values, query flags, strict nullable `[bytes]` and counts.
//!
//! These live here rather than in [`crate::reader`] / [`crate::writer`]
//! because they encode protocol *rules* (which version allows unset values,
//! how wide the flags are) rather than plain notation types.

use bytes::{Bytes, BytesMut};

use crate::error::{DecodeError, DecodeErrorKind, DecodeResult, EncodeError, EncodeResult};
use crate::reader::{RawValue, Reader};
use crate::version::ProtocolVersion;
use crate::writer::put_value;

/// Whether `[value]`s may be "unset" (length -2): v4 and later.
pub(crate) fn allows_unset_values(version: ProtocolVersion) -> bool {
    version >= ProtocolVersion::V4
}

/// Whether QUERY/EXECUTE/BATCH carry a default timestamp and QUERY/EXECUTE
/// named values: v3 and later.
pub(crate) fn allows_timestamp_and_names(version: ProtocolVersion) -> bool {
    version >= ProtocolVersion::V3
}

/// Whether requests carry a keyspace and a "now in seconds": v5 only.
pub(crate) fn allows_keyspace_and_now(version: ProtocolVersion) -> bool {
    version >= ProtocolVersion::V5
}

/// The error for a feature the version lacks.
pub(crate) fn unsupported(what: &'static str, version: ProtocolVersion) -> EncodeError {
    EncodeError::UnsupportedInVersion {
        what,
        version: version.number(),
    }
}

/// A bound value: `[bytes]` in v2/v3 (where only -1 means null), `[value]`
/// from v4 on (-1 null, -2 unset).
///
/// Cassandra reads any negative length as null before v4; we accept only -1
/// so that what we decode re-encodes to the same bytes, and reject -2 before
/// v4 because "unset" does not exist there.
pub(crate) fn read_bound_value(
    r: &mut Reader,
    version: ProtocolVersion,
    field: &'static str,
) -> DecodeResult<RawValue> {
    let start = r.offset();
    let value = r.read_value(field)?;
    if value == RawValue::Unset && !allows_unset_values(version) {
        return Err(DecodeError::new(
            field,
            start,
            DecodeErrorKind::Invalid(format!(
                "unset value (length -2) is only legal from protocol v4, not {version}"
            )),
        ));
    }
    Ok(value)
}

/// Writes a bound value; an unset value before v4 is an error.
pub(crate) fn put_bound_value(
    buf: &mut BytesMut,
    value: &RawValue,
    version: ProtocolVersion,
    field: &'static str,
) -> EncodeResult<()> {
    if *value == RawValue::Unset && !allows_unset_values(version) {
        return Err(unsupported("unset bound value", version));
    }
    put_value(buf, value, field)
}

/// Writes `<n>` and already serialized values in one copy; an unset value
/// before v4 is an error.
pub(crate) fn put_serialized(
    buf: &mut BytesMut,
    values: &crate::request::SerializedValues,
    version: ProtocolVersion,
    field: &'static str,
) -> EncodeResult<()> {
    if values.has_unset() && !allows_unset_values(version) {
        return Err(unsupported("unset bound value", version));
    }
    put_count(buf, values.len(), field)?;
    buf.extend_from_slice(values.as_bytes());
    Ok(())
}

/// A nullable `[bytes]` where only -1 means null (other negative lengths are
/// rejected, since they would not re-encode to the same bytes).
pub(crate) fn read_nullable_bytes(
    r: &mut Reader,
    field: &'static str,
) -> DecodeResult<Option<Bytes>> {
    let start = r.offset();
    match r.read_int(field)? {
        -1 => Ok(None),
        n if n < 0 => Err(DecodeError::new(
            field,
            start,
            DecodeErrorKind::NegativeLength(i64::from(n)),
        )),
        n => r.read_raw(n as usize, field).map(Some),
    }
}

/// Query/batch flags: a `[byte]` up to v4, an `[int]` in v5.
pub(crate) fn read_flags(
    r: &mut Reader,
    version: ProtocolVersion,
    field: &'static str,
) -> DecodeResult<u32> {
    if version.has_int_query_flags() {
        r.read_u32(field)
    } else {
        r.read_u8(field).map(u32::from)
    }
}

/// Writes query/batch flags; bits above 0xFF cannot be sent before v5.
pub(crate) fn put_flags(
    buf: &mut BytesMut,
    flags: u32,
    version: ProtocolVersion,
    field: &'static str,
) -> EncodeResult<()> {
    if version.has_int_query_flags() {
        buf.extend_from_slice(&flags.to_be_bytes());
        return Ok(());
    }
    let byte = u8::try_from(flags).map_err(|_| {
        EncodeError::Invalid(format!(
            "`{field}` 0x{flags:x} does not fit the one-byte flags of protocol {version}"
        ))
    })?;
    buf.extend_from_slice(&byte.to_be_bytes());
    Ok(())
}

/// A `[short]` element count.
pub(crate) fn put_count(buf: &mut BytesMut, count: usize, field: &'static str) -> EncodeResult<()> {
    let n = u16::try_from(count).map_err(|_| EncodeError::TooLong {
        field,
        length: count,
        max: usize::from(u16::MAX),
    })?;
    buf.extend_from_slice(&n.to_be_bytes());
    Ok(())
}

/// Capacity for a vector of `count` items read from the wire, each at least
/// `min_item_len` bytes: never more than the remaining input could hold, so
/// a hostile count cannot make us allocate.
pub(crate) fn bounded_capacity(r: &Reader, count: usize, min_item_len: usize) -> usize {
    count.min(r.remaining() / min_item_len.max(1))
}

/// Fails when `extra` (flag bits kept verbatim) overlaps bits that this
/// encoder derives from fields: sending both would change the layout.
pub(crate) fn check_extra_flags(
    extra: u32,
    derived_mask: u32,
    field: &'static str,
) -> EncodeResult<()> {
    let overlap = extra & derived_mask;
    if overlap != 0 {
        return Err(EncodeError::Invalid(format!(
            "`{field}`: extra flag bits 0x{overlap:x} are derived from fields in this version; set the field instead"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(b: &'static [u8]) -> Reader {
        Reader::new(Bytes::from_static(b))
    }

    #[test]
    fn unset_is_rejected_before_v4_and_accepted_after() {
        let bytes: &[u8] = &[0xff, 0xff, 0xff, 0xfe];
        let e = read_bound_value(&mut reader(bytes), ProtocolVersion::V3, "v").unwrap_err();
        assert!(matches!(e.kind, DecodeErrorKind::Invalid(_)));
        assert_eq!(
            read_bound_value(&mut reader(bytes), ProtocolVersion::V4, "v").unwrap(),
            RawValue::Unset
        );
        let mut buf = BytesMut::new();
        assert!(matches!(
            put_bound_value(&mut buf, &RawValue::Unset, ProtocolVersion::V2, "v"),
            Err(EncodeError::UnsupportedInVersion { version: 2, .. })
        ));
    }

    #[test]
    fn flags_width_depends_on_version() {
        let mut buf = BytesMut::new();
        put_flags(&mut buf, 0x25, ProtocolVersion::V4, "f").unwrap();
        put_flags(&mut buf, 0x125, ProtocolVersion::V5, "f").unwrap();
        assert_eq!(&buf[..], &[0x25, 0, 0, 0x01, 0x25]);
        assert!(put_flags(&mut buf, 0x100, ProtocolVersion::V4, "f").is_err());
    }

    #[test]
    fn nullable_bytes_only_accepts_minus_one() {
        assert_eq!(
            read_nullable_bytes(&mut reader(&[0xff, 0xff, 0xff, 0xff]), "b").unwrap(),
            None
        );
        let e = read_nullable_bytes(&mut reader(&[0xff, 0xff, 0xff, 0xfe]), "b").unwrap_err();
        assert_eq!(e.kind, DecodeErrorKind::NegativeLength(-2));
    }
}
