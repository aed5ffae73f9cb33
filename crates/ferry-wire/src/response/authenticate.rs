//! The AUTHENTICATE response: the server requires SASL authentication.

use bytes::BytesMut;

use crate::error::{DecodeResult, EncodeResult};
use crate::reader::Reader;
use crate::writer::put_string;

/// An AUTHENTICATE message: the Java class name of the server's
/// authenticator (`[string]`).
///
/// ```
/// use ferry_wire::response::Authenticate;
/// let auth = Authenticate { authenticator: "org.apache.cassandra.auth.PasswordAuthenticator".into() };
/// let mut buf = bytes::BytesMut::new();
/// auth.encode(&mut buf).unwrap();
/// assert_eq!(&buf[..2], &[0, 47]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Authenticate {
    /// Fully qualified class name of the `IAuthenticator` in use.
    pub authenticator: String,
}

impl Authenticate {
    /// Decodes an AUTHENTICATE body.
    pub fn decode(r: &mut Reader) -> DecodeResult<Self> {
        Ok(Self {
            authenticator: r.read_string("authenticate.authenticator")?,
        })
    }

    /// Encodes an AUTHENTICATE body.
    pub fn encode(&self, buf: &mut BytesMut) -> EncodeResult<()> {
        put_string(buf, &self.authenticator, "authenticate.authenticator")
    }
}
