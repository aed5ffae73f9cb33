//! The SUPPORTED response: the STARTUP options the server accepts.

use bytes::BytesMut;

use crate::error::{DecodeResult, EncodeResult};
use crate::reader::Reader;
use crate::writer::put_string_multimap;

/// A SUPPORTED message: a `[string multimap]` from STARTUP option name to
/// the values the server accepts, kept in wire order.
///
/// ```
/// use ferry_wire::response::Supported;
/// let s = Supported { options: vec![
///     ("CQL_VERSION".into(), vec!["3.4.5".into()]),
///     ("COMPRESSION".into(), vec!["lz4".into(), "snappy".into()]),
/// ]};
/// assert_eq!(s.get("COMPRESSION").unwrap(), ["lz4", "snappy"]);
/// assert!(s.get("NOPE").is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Supported {
    /// Option name and accepted values, in wire order.
    pub options: Vec<(String, Vec<String>)>,
}

impl Supported {
    /// The values listed for `option` (the first entry if repeated).
    pub fn get(&self, option: &str) -> Option<&[String]> {
        self.options
            .iter()
            .find(|(k, _)| k == option)
            .map(|(_, v)| v.as_slice())
    }

    /// Decodes a SUPPORTED body.
    pub fn decode(r: &mut Reader) -> DecodeResult<Self> {
        Ok(Self {
            options: r.read_string_multimap("supported.options")?,
        })
    }

    /// Encodes a SUPPORTED body.
    pub fn encode(&self, buf: &mut BytesMut) -> EncodeResult<()> {
        put_string_multimap(buf, &self.options, "supported.options")
    }
}
