//! Passwords: kept out of `Debug` output and logs.

use std::fmt;

/// A password. Its `Debug` and `Display` print `***`, so a configuration
/// struct holding one can be logged or dumped without leaking it.
///
/// ```
/// use ferry_cli::Secret;
/// let s = Secret::new("hunter2");
/// assert_eq!(format!("{s:?}"), "Secret(***)");
/// assert_eq!(s.expose(), "hunter2");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a password.
    pub fn new(password: impl Into<String>) -> Self {
        Secret(password.into())
    }

    /// The password itself, for handing to the authenticator only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The first line of a password file's text (`\n` or `\r\n` ended):
    /// editors add a final newline that is not part of the password.
    pub fn from_file_text(text: &str) -> Self {
        Secret(text.lines().next().unwrap_or_default().to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}
