//! A zero-copy cursor over a buffer that decodes the protocol's notation
//! types (`[int]`, `[string]`, `[bytes]`, `[value]`, maps, lists, …).
//!
//! The cursor keeps a [`Bytes`] handle, so the blobs it hands out (`[bytes]`,
//! `[value]`, cells of a Rows result) are slices of the received frame, not
//! copies. The fixed-width reads are nom parsers over the remaining slice;
//! the cursor adds what nom does not keep: the absolute byte offset and the
//! name of the field, which every [`DecodeError`] carries.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bytes::Bytes;
use nom::number::complete as num;

use crate::consistency::Consistency;
use crate::error::{DecodeError, DecodeErrorKind, DecodeResult};

/// A `[value]` (or `[bytes]`) as it travels: bytes, null, or (v4+ bound
/// values only) unset.
///
/// ```
/// use ferry_wire::RawValue;
/// let v = RawValue::Bytes(bytes::Bytes::from_static(b"\x00\x00\x00\x01"));
/// assert_eq!(v.as_bytes().map(|b| b.len()), Some(4));
/// assert!(RawValue::Null.as_bytes().is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RawValue {
    /// Length -1: null.
    Null,
    /// Length -2: not set (the column keeps its value; v4+).
    Unset,
    /// The serialized value.
    Bytes(Bytes),
}

impl RawValue {
    /// The bytes, if this is neither null nor unset.
    pub fn as_bytes(&self) -> Option<&Bytes> {
        match self {
            Self::Bytes(b) => Some(b),
            _ => None,
        }
    }
}

/// Cursor over a received buffer. See the module documentation.
///
/// ```
/// use bytes::Bytes;
/// use ferry_wire::Reader;
/// let mut r = Reader::new(Bytes::from_static(b"\x00\x03abc\x00\x00\x00\x02hi"));
/// assert_eq!(r.read_string("name").unwrap(), "abc");
/// assert_eq!(r.read_bytes("blob").unwrap().unwrap().as_ref(), b"hi");
/// assert!(r.is_empty());
/// ```
#[derive(Debug, Clone)]
pub struct Reader {
    buf: Bytes,
    pos: usize,
    base: usize,
}

impl Reader {
    /// A cursor at the start of `buf`; offsets in errors count from 0.
    pub fn new(buf: Bytes) -> Self {
        Self::with_base_offset(buf, 0)
    }

    /// A cursor whose offsets in errors start at `base` (e.g. 9 for a frame
    /// body that follows a v4 header).
    pub fn with_base_offset(buf: Bytes, base: usize) -> Self {
        Self { buf, pos: 0, base }
    }

    /// Absolute offset of the next byte.
    pub fn offset(&self) -> usize {
        self.base + self.pos
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Whether everything was read.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The unread bytes, without consuming them.
    pub fn rest(&self) -> Bytes {
        self.buf.slice(self.pos..)
    }

    /// Builds an error for `field` at the current offset.
    pub fn error(&self, field: &'static str, kind: DecodeErrorKind) -> DecodeError {
        DecodeError::new(field, self.offset(), kind)
    }

    /// Fails with `TrailingBytes` if anything is left unread.
    pub fn finish(&self, field: &'static str) -> DecodeResult<()> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(self.error(field, DecodeErrorKind::TrailingBytes(n))),
        }
    }

    fn truncated(&self, field: &'static str, needed: usize) -> DecodeError {
        self.error(
            field,
            DecodeErrorKind::Truncated {
                needed: needed.saturating_sub(self.remaining()).max(1),
            },
        )
    }

    /// Runs a fixed-width nom parser over the unread bytes.
    fn fixed<T>(
        &mut self,
        field: &'static str,
        width: usize,
        parser: fn(&[u8]) -> nom::IResult<&[u8], T>,
    ) -> DecodeResult<T> {
        let input = self.buf.get(self.pos..).unwrap_or_default();
        match parser(input) {
            Ok((_, value)) => {
                self.pos += width;
                Ok(value)
            }
            Err(_) => Err(self.truncated(field, width)),
        }
    }

    /// `[byte]`.
    pub fn read_u8(&mut self, field: &'static str) -> DecodeResult<u8> {
        self.fixed(field, 1, |i| num::be_u8(i))
    }

    /// A signed byte (tinyint).
    pub fn read_i8(&mut self, field: &'static str) -> DecodeResult<i8> {
        self.fixed(field, 1, |i| num::be_i8(i))
    }

    /// `[short]`: unsigned 16-bit.
    pub fn read_short(&mut self, field: &'static str) -> DecodeResult<u16> {
        self.fixed(field, 2, |i| num::be_u16(i))
    }

    /// Signed 16-bit.
    pub fn read_i16(&mut self, field: &'static str) -> DecodeResult<i16> {
        self.fixed(field, 2, |i| num::be_i16(i))
    }

    /// `[int]`: signed 32-bit.
    pub fn read_int(&mut self, field: &'static str) -> DecodeResult<i32> {
        self.fixed(field, 4, |i| num::be_i32(i))
    }

    /// Unsigned 32-bit (flags in v5).
    pub fn read_u32(&mut self, field: &'static str) -> DecodeResult<u32> {
        self.fixed(field, 4, |i| num::be_u32(i))
    }

    /// `[long]`: signed 64-bit.
    pub fn read_long(&mut self, field: &'static str) -> DecodeResult<i64> {
        self.fixed(field, 8, |i| num::be_i64(i))
    }

    /// An `[unsigned vint]` (v5 durations and v5 tuples of vints).
    pub fn read_unsigned_vint(&mut self, field: &'static str) -> DecodeResult<u64> {
        let start = self.offset();
        let first = self.read_u8(field)?;
        let extra = first.leading_ones() as usize;
        let mut value = if extra >= 8 {
            0
        } else {
            u64::from(first & (0xFFu8 >> extra))
        };
        for _ in 0..extra {
            let b = self.read_u8(field).map_err(|mut e| {
                e.offset = start;
                e
            })?;
            value = (value << 8) | u64::from(b);
        }
        Ok(value)
    }

    /// A `[vint]`: zig-zag encoded signed integer.
    pub fn read_vint(&mut self, field: &'static str) -> DecodeResult<i64> {
        let n = self.read_unsigned_vint(field)?;
        Ok(((n >> 1) as i64) ^ -((n & 1) as i64))
    }

    /// Exactly `len` raw bytes, zero-copy.
    pub fn read_raw(&mut self, len: usize, field: &'static str) -> DecodeResult<Bytes> {
        if self.remaining() < len {
            return Err(self.truncated(field, len));
        }
        let out = self.buf.slice(self.pos..self.pos + len);
        self.pos += len;
        Ok(out)
    }

    /// Skips `len` bytes.
    pub fn skip(&mut self, len: usize, field: &'static str) -> DecodeResult<()> {
        if self.remaining() < len {
            return Err(self.truncated(field, len));
        }
        self.pos += len;
        Ok(())
    }

    fn utf8(&self, raw: Bytes, field: &'static str, start: usize) -> DecodeResult<String> {
        String::from_utf8(raw.to_vec())
            .map_err(|_| DecodeError::new(field, start, DecodeErrorKind::InvalidUtf8))
    }

    /// `[string]`: `[short]` length then UTF-8.
    pub fn read_string(&mut self, field: &'static str) -> DecodeResult<String> {
        let start = self.offset();
        let len = self.read_short(field)?;
        let raw = self.read_raw(usize::from(len), field)?;
        self.utf8(raw, field, start)
    }

    /// `[long string]`: `[int]` length then UTF-8.
    pub fn read_long_string(&mut self, field: &'static str) -> DecodeResult<String> {
        let start = self.offset();
        let raw = self.read_long_string_bytes(field)?;
        self.utf8(raw, field, start)
    }

    /// `[long string]` left as (unchecked) bytes, zero-copy: for a proxy that
    /// only forwards the query text.
    pub fn read_long_string_bytes(&mut self, field: &'static str) -> DecodeResult<Bytes> {
        let len = self.read_length(field)?;
        self.read_raw(len, field)
    }

    /// An `[int]` length that must not be negative.
    pub fn read_length(&mut self, field: &'static str) -> DecodeResult<usize> {
        let start = self.offset();
        let n = self.read_int(field)?;
        usize::try_from(n).map_err(|_| {
            DecodeError::new(field, start, DecodeErrorKind::NegativeLength(i64::from(n)))
        })
    }

    /// `[bytes]`: `[int]` length then bytes; a length of -1 is null (`None`).
    ///
    /// The spec reads any negative length as null, but only -1 is accepted
    /// here (others are `NegativeLength`): a null is re-encoded as -1, so
    /// anything else would not round-trip byte for byte. Cassandra and the
    /// drivers only write -1.
    pub fn read_bytes(&mut self, field: &'static str) -> DecodeResult<Option<Bytes>> {
        let start = self.offset();
        match self.read_int(field)? {
            -1 => Ok(None),
            n if n < 0 => Err(DecodeError::new(
                field,
                start,
                DecodeErrorKind::NegativeLength(i64::from(n)),
            )),
            n => self.read_raw(n as usize, field).map(Some),
        }
    }

    /// `[value]`: like `[bytes]`, with -1 null and -2 unset.
    pub fn read_value(&mut self, field: &'static str) -> DecodeResult<RawValue> {
        let start = self.offset();
        match self.read_int(field)? {
            -1 => Ok(RawValue::Null),
            -2 => Ok(RawValue::Unset),
            n if n < 0 => Err(DecodeError::new(
                field,
                start,
                DecodeErrorKind::NegativeLength(i64::from(n)),
            )),
            n => self.read_raw(n as usize, field).map(RawValue::Bytes),
        }
    }

    /// `[short bytes]`: `[short]` length then bytes.
    pub fn read_short_bytes(&mut self, field: &'static str) -> DecodeResult<Bytes> {
        let len = self.read_short(field)?;
        self.read_raw(usize::from(len), field)
    }

    /// `[string list]`.
    pub fn read_string_list(&mut self, field: &'static str) -> DecodeResult<Vec<String>> {
        let n = self.read_short(field)?;
        let mut out = Vec::with_capacity(usize::from(n).min(self.remaining() / 2));
        for _ in 0..n {
            out.push(self.read_string(field)?);
        }
        Ok(out)
    }

    /// `[string map]`. Kept as ordered pairs so a frame re-encodes byte for byte.
    pub fn read_string_map(&mut self, field: &'static str) -> DecodeResult<Vec<(String, String)>> {
        let n = self.read_short(field)?;
        let mut out = Vec::with_capacity(usize::from(n).min(self.remaining() / 4));
        for _ in 0..n {
            let k = self.read_string(field)?;
            let v = self.read_string(field)?;
            out.push((k, v));
        }
        Ok(out)
    }

    /// `[string multimap]`, as ordered pairs.
    pub fn read_string_multimap(
        &mut self,
        field: &'static str,
    ) -> DecodeResult<Vec<(String, Vec<String>)>> {
        let n = self.read_short(field)?;
        let mut out = Vec::with_capacity(usize::from(n).min(self.remaining() / 4));
        for _ in 0..n {
            let k = self.read_string(field)?;
            let v = self.read_string_list(field)?;
            out.push((k, v));
        }
        Ok(out)
    }

    /// `[bytes map]` (custom payload), as ordered pairs.
    pub fn read_bytes_map(
        &mut self,
        field: &'static str,
    ) -> DecodeResult<Vec<(String, Option<Bytes>)>> {
        let n = self.read_short(field)?;
        let mut out = Vec::with_capacity(usize::from(n).min(self.remaining() / 6));
        for _ in 0..n {
            let k = self.read_string(field)?;
            let v = self.read_bytes(field)?;
            out.push((k, v));
        }
        Ok(out)
    }

    /// `[uuid]`: 16 bytes.
    pub fn read_uuid(&mut self, field: &'static str) -> DecodeResult<[u8; 16]> {
        let raw = self.read_raw(16, field)?;
        let mut out = [0u8; 16];
        out.copy_from_slice(&raw);
        Ok(out)
    }

    /// `[inetaddr]`: a one-byte length (4 or 16) then the address.
    pub fn read_inetaddr(&mut self, field: &'static str) -> DecodeResult<IpAddr> {
        let start = self.offset();
        let len = self.read_u8(field)?;
        let raw = self.read_raw(usize::from(len), field)?;
        ip_from_bytes(&raw).ok_or_else(|| {
            DecodeError::new(
                field,
                start,
                DecodeErrorKind::Invalid(format!("address length {len}, expected 4 or 16")),
            )
        })
    }

    /// `[inet]`: an `[inetaddr]` then an `[int]` port.
    pub fn read_inet(&mut self, field: &'static str) -> DecodeResult<SocketAddr> {
        let ip = self.read_inetaddr(field)?;
        let start = self.offset();
        let port = self.read_int(field)?;
        let port = u16::try_from(port).map_err(|_| {
            DecodeError::new(
                field,
                start,
                DecodeErrorKind::Invalid(format!("port {port} out of range")),
            )
        })?;
        Ok(SocketAddr::new(ip, port))
    }

    /// `[consistency]`.
    pub fn read_consistency(&mut self, field: &'static str) -> DecodeResult<Consistency> {
        let start = self.offset();
        let raw = self.read_short(field)?;
        Consistency::try_from(raw)
            .map_err(|v| DecodeError::new(field, start, DecodeErrorKind::UnknownConsistency(v)))
    }
}

/// An IPv4 (4 bytes) or IPv6 (16 bytes) address from raw bytes.
pub fn ip_from_bytes(raw: &[u8]) -> Option<IpAddr> {
    match raw.len() {
        4 => {
            let mut a = [0u8; 4];
            a.copy_from_slice(raw);
            Some(IpAddr::V4(Ipv4Addr::from(a)))
        }
        16 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(raw);
            Some(IpAddr::V6(Ipv6Addr::from(a)))
        }
        _ => None,
    }
}

/// Collects ordered pairs into a map, for callers that want lookups.
pub fn pairs_to_map<V: Clone>(pairs: &[(String, V)]) -> HashMap<String, V> {
    pairs.iter().cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_null_is_only_minus_one() {
        // Found by the message_decode fuzz target: an AUTH_CHALLENGE token
        // of length 0xf0000000 decoded as null and re-encoded as -1.
        let mut r = Reader::with_base_offset(Bytes::from_static(&[0xff; 4]), 9);
        assert_eq!(r.read_bytes("token").unwrap(), None);
        let mut r = Reader::with_base_offset(Bytes::from_static(&[0xf0, 0, 0, 0]), 9);
        let e = r.read_bytes("token").unwrap_err();
        assert_eq!((e.field, e.offset), ("token", 9));
        assert_eq!(e.kind, DecodeErrorKind::NegativeLength(-0x1000_0000));
    }

    #[test]
    fn truncated_int_names_field_and_offset() {
        let mut r = Reader::with_base_offset(Bytes::from_static(&[0, 1, 2]), 9);
        let e = r.read_int("result.kind").unwrap_err();
        assert_eq!(e.offset, 9);
        assert_eq!(e.field, "result.kind");
        assert_eq!(e.kind, DecodeErrorKind::Truncated { needed: 1 });
    }

    #[test]
    fn value_null_unset_and_negative() {
        let mut r = Reader::new(Bytes::from_static(&[
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xfd,
        ]));
        assert_eq!(r.read_value("v").unwrap(), RawValue::Null);
        assert_eq!(r.read_value("v").unwrap(), RawValue::Unset);
        let e = r.read_value("v").unwrap_err();
        assert_eq!(e.offset, 8);
        assert_eq!(e.kind, DecodeErrorKind::NegativeLength(-3));
    }

    #[test]
    fn vint_roundtrip_edges() {
        for v in [0i64, 1, -1, 63, -64, 64, i64::MAX, i64::MIN, 1 << 40] {
            let mut buf = bytes::BytesMut::new();
            crate::writer::put_vint(&mut buf, v);
            let mut r = Reader::new(buf.freeze());
            assert_eq!(r.read_vint("v").unwrap(), v);
            assert!(r.is_empty());
        }
    }

    #[test]
    fn bad_utf8_is_an_error() {
        let mut r = Reader::new(Bytes::from_static(&[0, 2, 0xff, 0xfe]));
        assert_eq!(
            r.read_string("s").unwrap_err().kind,
            DecodeErrorKind::InvalidUtf8
        );
    }
}
