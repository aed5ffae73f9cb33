//! AUTH_RESPONSE (opcode 0x0F): a SASL token from the client.

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{DecodeResult, EncodeResult};
use crate::reader::Reader;
use crate::request::wire::read_nullable_bytes;
use crate::writer::put_bytes;

/// An AUTH_RESPONSE request: one `[bytes]` token, the same in every version.
///
/// The token's meaning belongs to the server's authenticator; the common
/// `PasswordAuthenticator` expects SASL PLAIN, built by [`AuthResponse::sasl_plain`].
///
/// ```
/// use ferry_wire::request::AuthResponse;
/// let a = AuthResponse::sasl_plain("cassandra", "secret");
/// assert_eq!(a.token.as_deref(), Some(&b"\0cassandra\0secret"[..]));
/// assert_eq!(a.sasl_plain_credentials(), Some(("cassandra", "secret")));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthResponse {
    /// The token; `None` is a null `[bytes]` (length -1), which the spec
    /// leaves to the authenticator to allow.
    pub token: Option<Bytes>,
}

impl AuthResponse {
    /// A response carrying `token`.
    pub fn new(token: impl Into<Bytes>) -> Self {
        Self {
            token: Some(token.into()),
        }
    }

    /// A SASL PLAIN initial response (RFC 4616) with an empty authorization
    /// identity: `\0user\0password`.
    pub fn sasl_plain(user: &str, password: &str) -> Self {
        let mut token = BytesMut::with_capacity(2 + user.len() + password.len());
        token.put_u8(0);
        token.put_slice(user.as_bytes());
        token.put_u8(0);
        token.put_slice(password.as_bytes());
        Self::new(token.freeze())
    }

    /// The user and password of a SASL PLAIN token (`authzid\0user\0password`,
    /// the authorization identity ignored), if the token has that shape and
    /// both parts are UTF-8.
    pub fn sasl_plain_credentials(&self) -> Option<(&str, &str)> {
        let token = self.token.as_deref()?;
        let mut parts = token.splitn(3, |b| *b == 0);
        let _authzid = parts.next()?;
        let user = std::str::from_utf8(parts.next()?).ok()?;
        let password = std::str::from_utf8(parts.next()?).ok()?;
        Some((user, password))
    }

    /// Reads the body.
    pub fn decode(r: &mut Reader) -> DecodeResult<Self> {
        Ok(Self {
            token: read_nullable_bytes(r, "auth_response.token")?,
        })
    }

    /// Writes the body.
    pub fn encode(&self, buf: &mut BytesMut) -> EncodeResult<()> {
        put_bytes(buf, self.token.as_deref(), "auth_response.token")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_a_single_bytes() {
        let a = AuthResponse::sasl_plain("u", "p");
        let mut buf = BytesMut::new();
        a.encode(&mut buf).unwrap();
        assert_eq!(&buf[..], b"\x00\x00\x00\x04\x00u\x00p");
        let back = AuthResponse::decode(&mut Reader::new(buf.freeze())).unwrap();
        assert_eq!(back, a);
    }

    #[test]
    fn null_token_round_trips() {
        let mut buf = BytesMut::new();
        AuthResponse::default().encode(&mut buf).unwrap();
        assert_eq!(&buf[..], &[0xff; 4]);
        let back = AuthResponse::decode(&mut Reader::new(buf.freeze())).unwrap();
        assert_eq!(back.token, None);
        assert_eq!(back.sasl_plain_credentials(), None);
    }

    #[test]
    fn credentials_need_two_separators() {
        assert_eq!(
            AuthResponse::new(&b"\0user"[..]).sasl_plain_credentials(),
            None
        );
        assert_eq!(
            AuthResponse::new(&b"admin\0u\0p\0q"[..]).sasl_plain_credentials(),
            Some(("u", "p\0q"))
        );
    }
}
