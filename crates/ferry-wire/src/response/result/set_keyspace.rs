//! The Set_keyspace result: the answer to a `USE` statement.

use bytes::BytesMut;

use crate::error::{DecodeResult, EncodeResult};
use crate::reader::Reader;
use crate::writer::put_string;

/// The keyspace a `USE` statement switched to.
///
/// ```
/// use ferry_wire::response::SetKeyspace;
/// let mut buf = bytes::BytesMut::new();
/// SetKeyspace { keyspace: "shop".into() }.encode(&mut buf).unwrap();
/// assert_eq!(&buf[..], b"\x00\x04shop");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SetKeyspace {
    /// The keyspace now in use.
    pub keyspace: String,
}

impl SetKeyspace {
    /// Decodes the result (after the result kind).
    pub fn decode(r: &mut Reader) -> DecodeResult<Self> {
        Ok(Self {
            keyspace: r.read_string("result.set_keyspace.keyspace")?,
        })
    }

    /// Encodes the result (after the result kind).
    pub fn encode(&self, buf: &mut BytesMut) -> EncodeResult<()> {
        put_string(buf, &self.keyspace, "result.set_keyspace.keyspace")
    }
}
