//! STARTUP (opcode 0x01): the options that open a connection.

use bytes::BytesMut;

use crate::error::{DecodeResult, EncodeResult};
use crate::reader::Reader;
use crate::writer::put_string_map;

/// Option key: the CQL version (mandatory; "3.0.0" in practice).
pub const CQL_VERSION: &str = "CQL_VERSION";
/// Option key: body compression algorithm ("lz4", "snappy").
pub const COMPRESSION: &str = "COMPRESSION";
/// Option key: free-form driver name, shown by `nodetool clientstats`.
pub const DRIVER_NAME: &str = "DRIVER_NAME";
/// Option key: free-form driver version.
pub const DRIVER_VERSION: &str = "DRIVER_VERSION";
/// Option key: "1" asks for an error instead of back-pressure when overloaded.
pub const THROW_ON_OVERLOAD: &str = "THROW_ON_OVERLOAD";
/// Option key: "true" disables the compact-storage view of tables.
pub const NO_COMPACT: &str = "NO_COMPACT";

/// A STARTUP request: a `[string map]` of options, in every version.
///
/// The options are kept as ordered pairs (not a map) so the message
/// re-encodes byte for byte, duplicates and order included.
///
/// ```
/// use ferry_wire::request::Startup;
/// use ferry_wire::ProtocolVersion;
/// let s = Startup::new("3.0.0").with_option("COMPRESSION", "lz4");
/// assert_eq!(s.cql_version(), Some("3.0.0"));
/// assert_eq!(s.compression(), Some("lz4"));
/// let mut buf = bytes::BytesMut::new();
/// s.encode(&mut buf).unwrap();
/// let mut r = ferry_wire::Reader::new(buf.freeze());
/// assert_eq!(Startup::decode(&mut r).unwrap(), s);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Startup {
    /// The options, in wire order.
    pub options: Vec<(String, String)>,
}

impl Startup {
    /// A STARTUP carrying only `CQL_VERSION`.
    pub fn new(cql_version: impl Into<String>) -> Self {
        Self {
            options: vec![(CQL_VERSION.to_owned(), cql_version.into())],
        }
    }

    /// Appends an option.
    #[must_use]
    pub fn with_option(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.options.push((key.into(), value.into()));
        self
    }

    /// The value of the first option named `key`, if any.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The requested CQL version.
    pub fn cql_version(&self) -> Option<&str> {
        self.get(CQL_VERSION)
    }

    /// The requested compression algorithm, if any.
    pub fn compression(&self) -> Option<&str> {
        self.get(COMPRESSION)
    }

    /// The driver name the client announced, if any.
    pub fn driver_name(&self) -> Option<&str> {
        self.get(DRIVER_NAME)
    }

    /// The driver version the client announced, if any.
    pub fn driver_version(&self) -> Option<&str> {
        self.get(DRIVER_VERSION)
    }

    /// Reads the body.
    pub fn decode(r: &mut Reader) -> DecodeResult<Self> {
        Ok(Self {
            options: r.read_string_map("startup.options")?,
        })
    }

    /// Writes the body.
    pub fn encode(&self, buf: &mut BytesMut) -> EncodeResult<()> {
        put_string_map(buf, &self.options, "startup.options")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn layout_matches_spec_string_map() {
        // [short] 1, [string] "CQL_VERSION", [string] "3.0.0"
        let wire: &[u8] = b"\x00\x01\x00\x0bCQL_VERSION\x00\x053.0.0";
        let s = Startup::decode(&mut Reader::new(Bytes::from_static(wire))).unwrap();
        assert_eq!(s.cql_version(), Some("3.0.0"));
        assert_eq!(s.compression(), None);
        let mut buf = BytesMut::new();
        s.encode(&mut buf).unwrap();
        assert_eq!(&buf[..], wire);
    }

    #[test]
    fn first_duplicate_wins_and_order_is_kept() {
        let s = Startup::default()
            .with_option(COMPRESSION, "snappy")
            .with_option(COMPRESSION, "lz4");
        assert_eq!(s.compression(), Some("snappy"));
        assert_eq!(s.options[1].1, "lz4");
    }
}
