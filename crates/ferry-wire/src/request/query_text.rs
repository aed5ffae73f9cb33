//! CQL query text kept as a slice of the received frame.
//!
//! A proxy forwards far more queries than it reads, so the `[long string]`
//! of QUERY, PREPARE and BATCH is not copied into a `String`: it stays a
//! [`Bytes`] slice, checked once for UTF-8 when decoded.

use std::fmt;

use bytes::{Bytes, BytesMut};

use crate::error::{DecodeError, DecodeErrorKind, DecodeResult, EncodeResult};
use crate::reader::Reader;
use crate::writer::put_long_string_bytes;

/// The text of a CQL statement: UTF-8 bytes shared with the frame they came from.
///
/// ```
/// use ferry_wire::request::QueryText;
/// let q = QueryText::from("SELECT * FROM ks.t");
/// assert_eq!(q.text(), "SELECT * FROM ks.t");
/// assert_eq!(q.len(), 18);
/// assert!(QueryText::from_utf8(bytes::Bytes::from_static(b"\xff")).is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct QueryText(Bytes);

impl QueryText {
    /// Wraps bytes after checking they are UTF-8; does not copy them.
    pub fn from_utf8(bytes: Bytes) -> Result<Self, std::str::Utf8Error> {
        std::str::from_utf8(&bytes)?;
        Ok(Self(bytes))
    }

    /// The statement text.
    ///
    /// The bytes were checked when the value was built; they are checked
    /// again here (a fast, allocation-free scan) because the crate forbids
    /// the `unsafe` unchecked conversion.
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The UTF-8 bytes, shared with the original frame.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Reads a `[long string]`.
    pub fn decode(r: &mut Reader, field: &'static str) -> DecodeResult<Self> {
        let start = r.offset();
        let raw = r.read_long_string_bytes(field)?;
        Self::from_utf8(raw)
            .map_err(|_| DecodeError::new(field, start, DecodeErrorKind::InvalidUtf8))
    }

    /// Writes a `[long string]`.
    pub fn encode(&self, buf: &mut BytesMut, field: &'static str) -> EncodeResult<()> {
        put_long_string_bytes(buf, &self.0, field)
    }
}

impl From<&str> for QueryText {
    fn from(s: &str) -> Self {
        Self(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl From<String> for QueryText {
    fn from(s: String) -> Self {
        Self(Bytes::from(s))
    }
}

impl fmt::Debug for QueryText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.text(), f)
    }
}

impl fmt::Display for QueryText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_is_zero_copy_and_checks_utf8() {
        let frame = Bytes::from_static(b"\x00\x00\x00\x03abc");
        let q = QueryText::decode(&mut Reader::new(frame.clone()), "query.query").unwrap();
        assert_eq!(q.text(), "abc");
        // Same memory as the frame: the slice starts 4 bytes in.
        assert_eq!(q.as_bytes().as_ptr(), frame[4..].as_ptr());

        let bad = Bytes::from_static(b"\x00\x00\x00\x01\xc3");
        let e =
            QueryText::decode(&mut Reader::with_base_offset(bad, 9), "query.query").unwrap_err();
        assert_eq!(
            (e.field, e.offset, e.kind),
            ("query.query", 9, DecodeErrorKind::InvalidUtf8)
        );
    }
}
