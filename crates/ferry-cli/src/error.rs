//! What can be wrong with the connection options. Every message names the
//! flag (or config key) and says what to do instead.

use std::path::PathBuf;

use crate::Side;

/// A connection option that cannot be used as given.
///
/// ```
/// use ferry_cli::{CliError, Side};
/// let e = CliError::TlsNeedsCa { side: Side::Source };
/// assert!(e.to_string().contains("--source-ca FILE"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// No host for a cluster whose hosts are a `--<side>` option.
    #[error("--{side} is required (contact points of the {side} cluster, or `{side}` in the config file)")]
    MissingHosts {
        /// The cluster.
        side: Side,
    },
    /// No host for a cluster given as a positional argument.
    #[error("the {} host is required ({} argument, or `{side}` in the config file)", side.upper(), match side { Side::Source => "first", Side::Target => "second" })]
    MissingPositionalHost {
        /// The cluster.
        side: Side,
    },
    /// `--<side>` holds only commas and spaces.
    #[error("--{side} names no host: give HOST or HOST:PORT, comma-separated")]
    NoHost {
        /// The cluster.
        side: Side,
    },
    /// The password file could not be read.
    #[error("cannot read --{side}-password-file {}: {source}", path.display())]
    PasswordFile {
        /// The cluster.
        side: Side,
        /// The file named.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A username without any password.
    #[error("--{side}-username needs a password: --{side}-password, {} or --{side}-password-file", side.env_var("PASSWORD"))]
    UsernameWithoutPassword {
        /// The cluster.
        side: Side,
    },
    /// A password without a username.
    #[error("a {side} password was given without --{side}-username (give the user too, or drop the password)")]
    PasswordWithoutUsername {
        /// The cluster.
        side: Side,
    },
    /// TLS is on by default for this program and no CA was given.
    #[error("TLS to the {side} cluster is on by default: give --{side}-ca FILE (the PEM CA that signed its nodes' certificates), or --disable-{side}-tls if its nodes do not use client encryption")]
    TlsNeedsCa {
        /// The cluster.
        side: Side,
    },
    /// Only one half of a client certificate.
    #[error("--{side}-cert and --{side}-key go together (the client certificate and its private key, PEM)")]
    CertWithoutKey {
        /// The cluster.
        side: Side,
    },
    /// A config file key holds a value of the wrong kind.
    #[error("config key `{key}`: expected {expected}")]
    BadKey {
        /// The key as written in the file.
        key: String,
        /// What it should hold.
        expected: &'static str,
    },
    /// The config file is not TOML, or a key of the program's own is
    /// unknown or of the wrong kind (the message names it).
    #[error("{0}")]
    Toml(#[from] toml::de::Error),
    /// Two spellings of one key in one file.
    #[error("config keys `{first}` and `{second}` set the same option: keep one")]
    DuplicateKey {
        /// The first spelling found.
        first: String,
        /// The other.
        second: String,
    },
}
