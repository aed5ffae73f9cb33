//! The connection options of one cluster, as given, and their merge.

use std::path::PathBuf;

use clap::ArgMatches;

use crate::field::Field;
use crate::{Secret, Side};

/// The connection options of one cluster, as given on the command line or
/// in a config file (nothing checked or defaulted yet: see
/// [`Cluster`](crate::Cluster) for that).
///
/// ```
/// use ferry_cli::ClusterOptions;
/// let cli = ClusterOptions { port: Some(9142), ..Default::default() };
/// let file = ClusterOptions { port: Some(1), disable_tls: true, ..Default::default() };
/// let merged = cli.or(file);
/// assert_eq!(merged.port, Some(9142)); // the command line wins
/// assert!(merged.disable_tls); // the file fills what it left out
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterOptions {
    /// `--source`: one host, or contact points `HOST[:PORT],...`.
    pub hosts: Option<String>,
    /// `--source-port`.
    pub port: Option<u16>,
    /// `--source-dc` (alias `--source-local-dc`).
    pub datacenter: Option<String>,
    /// `--source-username` / `FERRY_SOURCE_USERNAME`.
    pub username: Option<String>,
    /// `--source-password` / `FERRY_SOURCE_PASSWORD`.
    pub password: Option<Secret>,
    /// `--source-password-file`.
    pub password_file: Option<PathBuf>,
    /// `--disable-source-tls`.
    pub disable_tls: bool,
    /// `--source-ca`.
    pub ca: Option<PathBuf>,
    /// `--source-cert` (alias `--source-client-cert`).
    pub cert: Option<PathBuf>,
    /// `--source-key` (alias `--source-client-key`).
    pub key: Option<PathBuf>,
    /// `--source-skip-hostname-check`.
    pub skip_hostname_check: bool,
    /// `--source-tls-server-name`.
    pub tls_server_name: Option<String>,
}

impl ClusterOptions {
    /// The options of `side` from parsed arguments (flags this program
    /// does not define are left unset).
    pub fn from_matches(matches: &ArgMatches, side: Side) -> Self {
        let text = |f: Field| one::<String>(matches, f, side);
        let path = |f: Field| one::<PathBuf>(matches, f, side);
        let flag = |f: Field| one::<bool>(matches, f, side).unwrap_or(false);
        ClusterOptions {
            hosts: text(Field::Hosts),
            port: one::<u16>(matches, Field::Port, side),
            datacenter: text(Field::Datacenter),
            username: text(Field::Username),
            password: text(Field::Password).map(Secret::new),
            password_file: path(Field::PasswordFile),
            disable_tls: flag(Field::DisableTls),
            ca: path(Field::Ca),
            cert: path(Field::Cert),
            key: path(Field::Key),
            skip_hostname_check: flag(Field::SkipHostnameCheck),
            tls_server_name: text(Field::TlsServerName),
        }
    }

    /// `self` (the command line) with what it leaves out taken from
    /// `file`: a flag wins over the config file, a switch given in either
    /// is on.
    pub fn or(self, file: ClusterOptions) -> ClusterOptions {
        ClusterOptions {
            hosts: self.hosts.or(file.hosts),
            port: self.port.or(file.port),
            datacenter: self.datacenter.or(file.datacenter),
            username: self.username.or(file.username),
            password: self.password.or(file.password),
            password_file: self.password_file.or(file.password_file),
            disable_tls: self.disable_tls || file.disable_tls,
            ca: self.ca.or(file.ca),
            cert: self.cert.or(file.cert),
            key: self.key.or(file.key),
            skip_hostname_check: self.skip_hostname_check || file.skip_hostname_check,
            tls_server_name: self.tls_server_name.or(file.tls_server_name),
        }
    }
}

/// The value of a field's argument, if the program defines it and it was
/// given (or defaulted by clap from the environment).
fn one<T: Clone + Send + Sync + 'static>(
    matches: &ArgMatches,
    field: Field,
    side: Side,
) -> Option<T> {
    // An id the program did not define is an error here, not a panic.
    matches
        .try_get_one::<T>(&field.id(side))
        .ok()
        .flatten()
        .cloned()
}
