//! The connection options in a TOML config file: the same names as the
//! flags (`source_port`, or `source-port`), at the top level of the file.

use std::path::PathBuf;

use toml::{Table, Value};

use crate::field::Field;
use crate::{CliError, ClusterOptions, Profile, Secret, Side};

impl ClusterOptions {
    /// Takes the keys of `side` that `profile`'s program has out of a
    /// parsed config file, leaving the program's other keys for it to read
    /// (and to refuse if unknown).
    ///
    /// Every key is accepted in snake_case and in kebab-case.
    ///
    /// ```
    /// use ferry_cli::{ClusterOptions, Headings, HostsArg, Profile, Side, TlsDefault};
    /// const P: Profile = Profile {
    ///     sides: &Side::BOTH,
    ///     hosts: HostsArg::List,
    ///     tls: TlsDefault::On,
    ///     datacenter: false,
    ///     headings: Headings { clusters: None, auth: None, tls: None },
    ///     help: &[],
    /// };
    /// let mut file: toml::Table =
    ///     toml::from_str("source = \"10.0.0.1\"\nsource-port = 9142\nsource_dc = \"x\"").unwrap();
    /// let source = ClusterOptions::take_from_toml(&mut file, Side::Source, &P).unwrap();
    /// assert_eq!(source.port, Some(9142));
    /// // No datacenter option in this program: left for it to refuse.
    /// assert_eq!(file.len(), 1);
    /// ```
    pub fn take_from_toml(
        file: &mut Table,
        side: Side,
        profile: &Profile,
    ) -> Result<ClusterOptions, CliError> {
        let mut o = ClusterOptions::default();
        for field in Field::ALL.into_iter().filter(|&f| profile.has(f)) {
            let Some((key, value)) = take(file, field, side)? else {
                continue;
            };
            match field {
                Field::Hosts => o.hosts = Some(string(&key, value)?),
                Field::Port => o.port = Some(port(&key, value)?),
                Field::Datacenter => o.datacenter = Some(string(&key, value)?),
                Field::Username => o.username = Some(string(&key, value)?),
                Field::Password => o.password = Some(Secret::new(string(&key, value)?)),
                Field::PasswordFile => o.password_file = Some(path(&key, value)?),
                Field::DisableTls => o.disable_tls = boolean(&key, value)?,
                Field::Ca => o.ca = Some(path(&key, value)?),
                Field::Cert => o.cert = Some(path(&key, value)?),
                Field::Key => o.key = Some(path(&key, value)?),
                Field::SkipHostnameCheck => o.skip_hostname_check = boolean(&key, value)?,
                Field::TlsServerName => o.tls_server_name = Some(string(&key, value)?),
            }
        }
        Ok(o)
    }
}

/// Removes the one spelling of `field` the file uses, if any.
fn take(file: &mut Table, field: Field, side: Side) -> Result<Option<(String, Value)>, CliError> {
    let mut found: Option<(String, Value)> = None;
    for key in field.keys(side) {
        if let Some(value) = file.remove(&key) {
            if let Some((first, _)) = found {
                return Err(CliError::DuplicateKey { first, second: key });
            }
            found = Some((key, value));
        }
    }
    Ok(found)
}

fn string(key: &str, value: Value) -> Result<String, CliError> {
    match value {
        Value::String(s) => Ok(s),
        _ => Err(bad(key, "a string")),
    }
}

fn path(key: &str, value: Value) -> Result<PathBuf, CliError> {
    match value {
        Value::String(s) => Ok(PathBuf::from(s)),
        _ => Err(bad(key, "a file path (a string)")),
    }
}

fn boolean(key: &str, value: Value) -> Result<bool, CliError> {
    match value {
        Value::Boolean(b) => Ok(b),
        _ => Err(bad(key, "true or false")),
    }
}

fn port(key: &str, value: Value) -> Result<u16, CliError> {
    match value {
        Value::Integer(n) => u16::try_from(n).map_err(|_| bad(key, "a port number (0 to 65535)")),
        _ => Err(bad(key, "a port number (0 to 65535)")),
    }
}

fn bad(key: &str, expected: &'static str) -> CliError {
    CliError::BadKey {
        key: key.to_owned(),
        expected,
    }
}
