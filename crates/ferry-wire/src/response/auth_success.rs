//! The AUTH_SUCCESS response. Authentication succeeded; the token holds the server's final SASL data.

use bytes::{Bytes, BytesMut};

use crate::error::{DecodeResult, EncodeResult};
use crate::reader::Reader;
use crate::writer::put_bytes;

/// An AUTH_SUCCESS message: a single `[bytes]` token, which may be null.
///
/// ```
/// use ferry_wire::response::AuthSuccess;
/// let msg = AuthSuccess { token: None };
/// let mut buf = bytes::BytesMut::new();
/// msg.encode(&mut buf).unwrap();
/// assert_eq!(&buf[..], &[0xff, 0xff, 0xff, 0xff]); // null
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct AuthSuccess {
    /// The SASL token; `None` is a null `[bytes]`.
    pub token: Option<Bytes>,
}

impl AuthSuccess {
    /// Decodes an AUTH_SUCCESS body.
    pub fn decode(r: &mut Reader) -> DecodeResult<Self> {
        Ok(Self {
            token: r.read_bytes("auth_success.token")?,
        })
    }

    /// Encodes an AUTH_SUCCESS body.
    pub fn encode(&self, buf: &mut BytesMut) -> EncodeResult<()> {
        put_bytes(buf, self.token.as_deref(), "auth_success.token")
    }
}
