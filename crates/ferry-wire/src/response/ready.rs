//! The READY response: the connection is ready for queries. Empty body.

use bytes::BytesMut;

use crate::error::{DecodeResult, EncodeResult};
use crate::reader::Reader;

/// A READY message (empty body).
///
/// ```
/// use ferry_wire::response::Ready;
/// let mut buf = bytes::BytesMut::new();
/// Ready.encode(&mut buf).unwrap();
/// assert!(buf.is_empty());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Ready;

impl Ready {
    /// Decodes a READY body: there is nothing to read.
    pub fn decode(_r: &mut Reader) -> DecodeResult<Self> {
        Ok(Self)
    }

    /// Encodes a READY body: nothing.
    pub fn encode(&self, _buf: &mut BytesMut) -> EncodeResult<()> {
        Ok(())
    }
}
