//! The AUTH_CHALLENGE response. A SASL challenge from the server, answered with AUTH_RESPONSE.

use bytes::{Bytes, BytesMut};

use crate::error::{DecodeResult, EncodeResult};
use crate::reader::Reader;
use crate::writer::put_bytes;

/// An AUTH_CHALLENGE message: a single `[bytes]` token, which may be null.
///
/// ```
/// use ferry_wire::response::AuthChallenge;
/// let msg = AuthChallenge { token: None };
/// let mut buf = bytes::BytesMut::new();
/// msg.encode(&mut buf).unwrap();
/// assert_eq!(&buf[..], &[0xff, 0xff, 0xff, 0xff]); // null
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct AuthChallenge {
    /// The SASL token; `None` is a null `[bytes]`.
    pub token: Option<Bytes>,
}

impl AuthChallenge {
    /// Decodes an AUTH_CHALLENGE body.
    pub fn decode(r: &mut Reader) -> DecodeResult<Self> {
        Ok(Self {
            token: r.read_bytes("auth_challenge.token")?,
        })
    }

    /// Encodes an AUTH_CHALLENGE body.
    pub fn encode(&self, buf: &mut BytesMut) -> EncodeResult<()> {
        put_bytes(buf, self.token.as_deref(), "auth_challenge.token")
    }
}
