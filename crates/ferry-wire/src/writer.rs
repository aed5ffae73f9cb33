//! Encoders for the protocol's notation types, writing into [`BytesMut`].
//!
//! The counterpart of [`crate::Reader`]. Functions whose field has a length
//! prefix return an [`EncodeError`] when the content does not fit it, rather
//! than silently truncating the length.

use std::net::{IpAddr, SocketAddr};

use bytes::{BufMut, BytesMut};

use crate::consistency::Consistency;
use crate::error::{EncodeError, EncodeResult};
use crate::reader::RawValue;

fn short_len(field: &'static str, len: usize) -> EncodeResult<u16> {
    u16::try_from(len).map_err(|_| EncodeError::TooLong {
        field,
        length: len,
        max: usize::from(u16::MAX),
    })
}

fn int_len(field: &'static str, len: usize) -> EncodeResult<i32> {
    i32::try_from(len).map_err(|_| EncodeError::TooLong {
        field,
        length: len,
        max: i32::MAX as usize,
    })
}

/// `[string]`.
///
/// ```
/// let mut buf = bytes::BytesMut::new();
/// ferry_wire::writer::put_string(&mut buf, "ks", "keyspace").unwrap();
/// assert_eq!(&buf[..], b"\x00\x02ks");
/// ```
pub fn put_string(buf: &mut BytesMut, s: &str, field: &'static str) -> EncodeResult<()> {
    buf.extend_from_slice(&(short_len(field, s.len())?).to_be_bytes());
    buf.extend_from_slice(s.as_bytes());
    Ok(())
}

/// `[long string]`.
pub fn put_long_string(buf: &mut BytesMut, s: &str, field: &'static str) -> EncodeResult<()> {
    put_long_string_bytes(buf, s.as_bytes(), field)
}

/// `[long string]` from raw bytes (already UTF-8).
pub fn put_long_string_bytes(
    buf: &mut BytesMut,
    s: &[u8],
    field: &'static str,
) -> EncodeResult<()> {
    buf.extend_from_slice(&(int_len(field, s.len())?).to_be_bytes());
    buf.extend_from_slice(s);
    Ok(())
}

/// `[bytes]`; `None` is written as null (length -1).
pub fn put_bytes(buf: &mut BytesMut, b: Option<&[u8]>, field: &'static str) -> EncodeResult<()> {
    match b {
        None => buf.put_i32(-1),
        Some(b) => {
            buf.extend_from_slice(&(int_len(field, b.len())?).to_be_bytes());
            buf.extend_from_slice(b);
        }
    }
    Ok(())
}

/// `[value]`: bytes, null (-1) or unset (-2).
pub fn put_value(buf: &mut BytesMut, v: &RawValue, field: &'static str) -> EncodeResult<()> {
    match v {
        RawValue::Null => buf.put_i32(-1),
        RawValue::Unset => buf.put_i32(-2),
        RawValue::Bytes(b) => put_bytes(buf, Some(b), field)?,
    }
    Ok(())
}

/// `[short bytes]`.
pub fn put_short_bytes(buf: &mut BytesMut, b: &[u8], field: &'static str) -> EncodeResult<()> {
    buf.extend_from_slice(&(short_len(field, b.len())?).to_be_bytes());
    buf.extend_from_slice(b);
    Ok(())
}

/// `[string list]`.
pub fn put_string_list<S: AsRef<str>>(
    buf: &mut BytesMut,
    list: &[S],
    field: &'static str,
) -> EncodeResult<()> {
    buf.extend_from_slice(&(short_len(field, list.len())?).to_be_bytes());
    for s in list {
        put_string(buf, s.as_ref(), field)?;
    }
    Ok(())
}

/// `[string map]` from ordered pairs.
pub fn put_string_map(
    buf: &mut BytesMut,
    pairs: &[(String, String)],
    field: &'static str,
) -> EncodeResult<()> {
    buf.extend_from_slice(&(short_len(field, pairs.len())?).to_be_bytes());
    for (k, v) in pairs {
        put_string(buf, k, field)?;
        put_string(buf, v, field)?;
    }
    Ok(())
}

/// `[string multimap]` from ordered pairs.
pub fn put_string_multimap(
    buf: &mut BytesMut,
    pairs: &[(String, Vec<String>)],
    field: &'static str,
) -> EncodeResult<()> {
    buf.extend_from_slice(&(short_len(field, pairs.len())?).to_be_bytes());
    for (k, v) in pairs {
        put_string(buf, k, field)?;
        put_string_list(buf, v, field)?;
    }
    Ok(())
}

/// `[bytes map]` from ordered pairs.
pub fn put_bytes_map<B: AsRef<[u8]>>(
    buf: &mut BytesMut,
    pairs: &[(String, Option<B>)],
    field: &'static str,
) -> EncodeResult<()> {
    buf.extend_from_slice(&(short_len(field, pairs.len())?).to_be_bytes());
    for (k, v) in pairs {
        put_string(buf, k, field)?;
        put_bytes(buf, v.as_ref().map(AsRef::as_ref), field)?;
    }
    Ok(())
}

/// `[uuid]`.
pub fn put_uuid(buf: &mut BytesMut, uuid: &[u8; 16]) {
    buf.extend_from_slice(uuid);
}

/// `[inetaddr]`.
pub fn put_inetaddr(buf: &mut BytesMut, ip: &IpAddr) {
    match ip {
        IpAddr::V4(a) => {
            buf.extend_from_slice(&[4u8]);
            buf.extend_from_slice(&a.octets());
        }
        IpAddr::V6(a) => {
            buf.extend_from_slice(&[16u8]);
            buf.extend_from_slice(&a.octets());
        }
    }
}

/// `[inet]`.
pub fn put_inet(buf: &mut BytesMut, addr: &SocketAddr) {
    put_inetaddr(buf, &addr.ip());
    buf.extend_from_slice(&(i32::from(addr.port())).to_be_bytes());
}

/// `[consistency]`.
pub fn put_consistency(buf: &mut BytesMut, c: Consistency) {
    buf.extend_from_slice(&(u16::from(c)).to_be_bytes());
}

/// `[unsigned vint]`.
pub fn put_unsigned_vint(buf: &mut BytesMut, v: u64) {
    // Number of extra bytes: the value needs 64 - lz bits; the first byte
    // carries 8 - n - 1 bits when n extra bytes follow (n = 8: all 8 bytes follow).
    let bits = 64 - v.leading_zeros() as usize;
    let mut extra = 0usize;
    while extra < 8 && bits > 7 * extra + 7 {
        extra += 1;
    }
    let total = extra + 1;
    let mut out = [0u8; 9];
    let mut rest = v;
    for i in (1..total).rev() {
        out[i] = rest as u8;
        rest >>= 8;
    }
    let prefix = (0xFF00u16 >> extra) as u8;
    out[0] = prefix | rest as u8;
    buf.extend_from_slice(&out[..total]);
}

/// `[vint]` (zig-zag).
pub fn put_vint(buf: &mut BytesMut, v: i64) {
    put_unsigned_vint(buf, ((v << 1) ^ (v >> 63)) as u64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_long_string_is_an_error_not_a_truncation() {
        let long = "x".repeat(70_000);
        let mut buf = BytesMut::new();
        let err = put_string(&mut buf, &long, "startup.options").unwrap_err();
        assert!(matches!(err, EncodeError::TooLong { length: 70_000, .. }));
    }

    #[test]
    fn unsigned_vint_matches_cassandra_layout() {
        // Cassandra's VIntCoding: 0..=127 in one byte; 128 -> 0x80 0x80.
        let mut buf = BytesMut::new();
        put_unsigned_vint(&mut buf, 127);
        put_unsigned_vint(&mut buf, 128);
        put_unsigned_vint(&mut buf, u64::MAX);
        assert_eq!(&buf[..3], &[0x7f, 0x80, 0x80]);
        assert_eq!(buf.len(), 3 + 9);
        assert_eq!(buf[3], 0xff);
    }
}
