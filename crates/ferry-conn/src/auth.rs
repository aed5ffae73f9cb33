//! SASL authentication: the pluggable [`Authenticator`] and SASL PLAIN.
//!
//! When STARTUP is answered with AUTHENTICATE, the connection asks the
//! configured [`AuthProvider`] for a fresh [`Authenticator`] (one per
//! connection: SASL exchanges are stateful), sends its initial response,
//! feeds it every AUTH_CHALLENGE and finally the AUTH_SUCCESS token.

use std::fmt;

use bytes::Bytes;

/// Why an authenticator gave up; reported as [`ConnError::Auth`](crate::ConnError::Auth).
///
/// ```
/// use ferry_conn::AuthError;
/// let e = AuthError::new("unexpected challenge");
/// assert_eq!(e.to_string(), "unexpected challenge");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AuthError(pub String);

impl AuthError {
    /// An error with `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// One SASL exchange, for one connection.
///
/// ```
/// use bytes::Bytes;
/// use ferry_conn::{AuthError, Authenticator};
/// /// Answers every challenge with the same token.
/// struct Echo;
/// impl Authenticator for Echo {
///     fn initial_response(&mut self) -> Result<Option<Bytes>, AuthError> {
///         Ok(Some(Bytes::from_static(b"hello")))
///     }
///     fn evaluate_challenge(&mut self, _c: Option<&[u8]>) -> Result<Option<Bytes>, AuthError> {
///         Ok(Some(Bytes::from_static(b"again")))
///     }
/// }
/// let mut a = Echo;
/// assert_eq!(a.initial_response().unwrap().as_deref(), Some(&b"hello"[..]));
/// assert!(a.success(None).is_ok());
/// assert_eq!(a.identity(), "the configured credentials");
/// ```
pub trait Authenticator: Send {
    /// The token of the first AUTH_RESPONSE (`None` sends a null token).
    fn initial_response(&mut self) -> Result<Option<Bytes>, AuthError>;

    /// Answers an AUTH_CHALLENGE token.
    fn evaluate_challenge(&mut self, challenge: Option<&[u8]>) -> Result<Option<Bytes>, AuthError>;

    /// Sees the AUTH_SUCCESS token; an error here fails the connection.
    fn success(&mut self, _token: Option<&[u8]>) -> Result<(), AuthError> {
        Ok(())
    }

    /// Who is authenticating, for error messages ("user \"alice\"").
    fn identity(&self) -> String {
        "the configured credentials".to_owned()
    }
}

/// Makes an [`Authenticator`] for each new connection.
pub trait AuthProvider: fmt::Debug + Send + Sync {
    /// A fresh authenticator for a server whose AUTHENTICATE named
    /// `authenticator_class` (for example
    /// `org.apache.cassandra.auth.PasswordAuthenticator`).
    fn new_authenticator(
        &self,
        authenticator_class: &str,
    ) -> Result<Box<dyn Authenticator>, AuthError>;
}

/// Username and password sent with SASL PLAIN, which is what Cassandra's
/// `PasswordAuthenticator` (and DSE's and Scylla's) expect.
///
/// ```
/// use ferry_conn::{AuthProvider, PlainTextAuthProvider};
/// let p = PlainTextAuthProvider::new("alice", "s3cret");
/// let mut a = p.new_authenticator("org.apache.cassandra.auth.PasswordAuthenticator").unwrap();
/// assert_eq!(a.initial_response().unwrap().as_deref(), Some(&b"\0alice\0s3cret"[..]));
/// assert_eq!(a.identity(), "user \"alice\"");
/// assert!(!format!("{p:?}").contains("s3cret"));
/// ```
#[derive(Clone)]
pub struct PlainTextAuthProvider {
    username: String,
    password: String,
}

impl fmt::Debug for PlainTextAuthProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlainTextAuthProvider")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl PlainTextAuthProvider {
    /// Credentials for `username`.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            password: password.into(),
        }
    }

    /// The username.
    pub fn username(&self) -> &str {
        &self.username
    }
}

impl AuthProvider for PlainTextAuthProvider {
    fn new_authenticator(&self, _class: &str) -> Result<Box<dyn Authenticator>, AuthError> {
        // Any authenticator class gets SASL PLAIN: DSE and Scylla name their
        // own classes but accept the same token.
        Ok(Box::new(PlainTextAuthenticator {
            username: self.username.clone(),
            password: self.password.clone(),
        }))
    }
}

/// The SASL PLAIN exchange: one initial response, no challenges expected.
///
/// ```
/// use ferry_conn::{Authenticator, PlainTextAuthenticator};
/// let mut a = PlainTextAuthenticator::new("bob", "pw");
/// assert_eq!(a.initial_response().unwrap().as_deref(), Some(&b"\0bob\0pw"[..]));
/// // A server that challenges again gets the credentials again.
/// assert_eq!(a.evaluate_challenge(None).unwrap().as_deref(), Some(&b"\0bob\0pw"[..]));
/// ```
pub struct PlainTextAuthenticator {
    username: String,
    password: String,
}

impl PlainTextAuthenticator {
    /// An exchange for `username`.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            password: password.into(),
        }
    }

    fn token(&self) -> Option<Bytes> {
        ferry_wire::request::AuthResponse::sasl_plain(&self.username, &self.password).token
    }
}

impl Authenticator for PlainTextAuthenticator {
    fn initial_response(&mut self) -> Result<Option<Bytes>, AuthError> {
        Ok(self.token())
    }

    fn evaluate_challenge(
        &mut self,
        _challenge: Option<&[u8]>,
    ) -> Result<Option<Bytes>, AuthError> {
        // PLAIN has no challenges; some servers still send an empty one and
        // expect the credentials again.
        Ok(self.token())
    }

    fn identity(&self) -> String {
        format!("user {:?}", self.username)
    }
}
