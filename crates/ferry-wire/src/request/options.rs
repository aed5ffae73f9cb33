//! OPTIONS (opcode 0x05): asks which STARTUP options the server supports.

use bytes::BytesMut;

use crate::error::{DecodeResult, EncodeResult};
use crate::reader::Reader;

/// An OPTIONS request. Its body is empty in every version.
///
/// ```
/// use ferry_wire::request::Options;
/// let mut buf = bytes::BytesMut::new();
/// Options.encode(&mut buf).unwrap();
/// assert!(buf.is_empty());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options;

impl Options {
    /// Reads the (empty) body; trailing bytes are left to the caller.
    pub fn decode(_r: &mut Reader) -> DecodeResult<Self> {
        Ok(Self)
    }

    /// Writes the (empty) body.
    pub fn encode(&self, _buf: &mut BytesMut) -> EncodeResult<()> {
        Ok(())
    }
}
