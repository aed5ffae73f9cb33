//! Zero-copy text for `ascii`, `text` and `varchar` values.
//!
//! A decoded string is a slice of the received frame: validating it as UTF-8
//! is the only work done, and reading it afterwards (`Deref<Target = str>`)
//! costs nothing. The storage is [`bytestring::ByteString`], which holds the
//! one `unsafe` "already validated" constructor so this crate can keep
//! `forbid(unsafe_code)`.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::str::Utf8Error;

use bytes::Bytes;
use bytestring::ByteString;

/// An immutable UTF-8 string backed by [`Bytes`].
///
/// Cloning it bumps a reference count; it never copies the text.
///
/// ```
/// use bytes::Bytes;
/// use ferry_wire::types::CqlText;
/// let cell = Bytes::from_static("héllo".as_bytes());
/// let text = CqlText::from_utf8(cell.clone()).unwrap();
/// assert_eq!(text, "héllo");
/// assert_eq!(text.len(), 6);
/// // Same buffer, no copy:
/// assert_eq!(text.as_bytes().as_ptr(), cell.as_ptr());
/// assert!(CqlText::from_utf8(Bytes::from_static(&[0xff])).is_err());
/// ```
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CqlText(ByteString);

impl CqlText {
    /// An empty string.
    pub const fn new() -> Self {
        Self(ByteString::new())
    }

    /// Wraps a static string without copying it.
    pub const fn from_static(s: &'static str) -> Self {
        Self(ByteString::from_static(s))
    }

    /// Validates `bytes` as UTF-8 and wraps them without copying.
    pub fn from_utf8(bytes: Bytes) -> Result<Self, Utf8Error> {
        ByteString::try_from(bytes).map(Self)
    }

    /// The text as `&str`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The underlying buffer.
    pub fn as_bytes(&self) -> &Bytes {
        self.0.as_bytes()
    }

    /// Gives back the underlying buffer.
    pub fn into_bytes(self) -> Bytes {
        self.0.into_bytes()
    }
}

impl Deref for CqlText {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for CqlText {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl AsRef<[u8]> for CqlText {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl Borrow<str> for CqlText {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl From<String> for CqlText {
    fn from(s: String) -> Self {
        Self(ByteString::from(s))
    }
}

impl From<&'static str> for CqlText {
    /// Wraps the static string without copying it.
    fn from(s: &'static str) -> Self {
        Self::from_static(s)
    }
}

impl From<CqlText> for String {
    fn from(t: CqlText) -> Self {
        t.as_str().to_owned()
    }
}

impl From<CqlText> for Bytes {
    fn from(t: CqlText) -> Self {
        t.into_bytes()
    }
}

impl TryFrom<Bytes> for CqlText {
    type Error = Utf8Error;

    fn try_from(bytes: Bytes) -> Result<Self, Utf8Error> {
        Self::from_utf8(bytes)
    }
}

impl PartialEq<str> for CqlText {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for CqlText {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for CqlText {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialEq<CqlText> for str {
    fn eq(&self, other: &CqlText) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<CqlText> for &str {
    fn eq(&self, other: &CqlText) -> bool {
        *self == other.as_str()
    }
}

impl fmt::Display for CqlText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for CqlText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_and_conversions() {
        let owned = CqlText::from(String::from("abc"));
        let fixed = CqlText::from("abc");
        assert_eq!(owned, fixed);
        assert_eq!(owned, "abc");
        assert_eq!("abc", owned);
        assert_eq!(owned, String::from("abc"));
        assert_ne!(owned, "abd");
        assert_eq!(owned.to_string(), "abc");
        assert_eq!(format!("{owned:?}"), "\"abc\"");
        assert_eq!(String::from(owned), "abc");
        assert!(CqlText::new().is_empty());
    }

    #[test]
    fn invalid_utf8_reports_position() {
        let err = CqlText::from_utf8(Bytes::from_static(b"ab\xc3")).unwrap_err();
        assert_eq!(err.valid_up_to(), 2);
    }
}
