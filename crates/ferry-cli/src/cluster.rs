//! From the merged options of one cluster to ferry-conn's configurations:
//! the defaults and the checks, each error naming the flag to fix.

use std::net::IpAddr;

use ferry_conn::session::{SessionConfig, DEFAULT_PORT};
use ferry_conn::{ConnectionConfig, TlsOptions};

use crate::{CliError, ClusterOptions, HostsArg, Profile, Secret, Side, TlsDefault};

/// One cluster's merged options, with the program's [`Profile`]: what the
/// program connects with.
///
/// ```
/// use ferry_cli::{Cluster, ClusterOptions, Headings, HostsArg, Profile, Side, TlsDefault};
/// const P: Profile = Profile {
///     sides: &Side::BOTH,
///     hosts: HostsArg::List,
///     tls: TlsDefault::On,
///     datacenter: true,
///     headings: Headings { clusters: None, auth: None, tls: None },
///     help: &[],
/// };
/// let options = ClusterOptions {
///     hosts: Some("10.0.0.1, 10.0.0.2:9142".into()),
///     port: Some(9043),
///     disable_tls: true,
///     ..Default::default()
/// };
/// let config = Cluster::new(Side::Source, &P, &options).session_config().unwrap();
/// assert_eq!(config.contact_addresses(), ["10.0.0.1:9043", "10.0.0.2:9142"]);
/// assert!(config.connection.tls.is_none());
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Cluster<'a> {
    side: Side,
    profile: &'a Profile,
    options: &'a ClusterOptions,
}

impl<'a> Cluster<'a> {
    /// The cluster `side`, as `profile`'s program configures it.
    pub fn new(side: Side, profile: &'a Profile, options: &'a ClusterOptions) -> Self {
        Cluster {
            side,
            profile,
            options,
        }
    }

    /// Which cluster.
    pub fn side(&self) -> Side {
        self.side
    }

    /// The options as merged.
    pub fn options(&self) -> &'a ClusterOptions {
        self.options
    }

    /// The hosts given: the contact points of a `--source HOSTS` list, or
    /// the one host.
    pub fn hosts(&self) -> Result<Vec<String>, CliError> {
        let side = self.side;
        let Some(text) = self.options.hosts.as_deref() else {
            return Err(match self.profile.hosts {
                HostsArg::Positional => CliError::MissingPositionalHost { side },
                _ => CliError::MissingHosts { side },
            });
        };
        if self.profile.hosts != HostsArg::List {
            return Ok(vec![text.to_owned()]);
        }
        let hosts: Vec<String> = text
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .map(str::to_owned)
            .collect();
        if hosts.is_empty() {
            return Err(CliError::NoHost { side });
        }
        Ok(hosts)
    }

    /// The port of hosts given without one.
    pub fn port(&self) -> u16 {
        self.options.port.unwrap_or(DEFAULT_PORT)
    }

    /// `host:port` of a one-host cluster (IPv6 literals in brackets).
    pub fn address(&self) -> Result<String, CliError> {
        let host = self.hosts()?.swap_remove(0);
        Ok(address(&host, self.port()))
    }

    /// The password: the flag or environment variable, else the first
    /// line of the password file.
    pub fn password(&self) -> Result<Option<Secret>, CliError> {
        if let Some(p) = &self.options.password {
            return Ok(Some(p.clone()));
        }
        let Some(path) = &self.options.password_file else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path).map_err(|source| CliError::PasswordFile {
            side: self.side,
            path: path.clone(),
            source,
        })?;
        Ok(Some(Secret::from_file_text(&text)))
    }

    /// The username and password, if a login is configured; both or
    /// neither must be given.
    pub fn credentials(&self) -> Result<Option<(String, Secret)>, CliError> {
        let side = self.side;
        match (&self.options.username, self.password()?) {
            (Some(user), Some(password)) => Ok(Some((user.clone(), password))),
            (Some(_), None) => Err(CliError::UsernameWithoutPassword { side }),
            (None, Some(_)) => Err(CliError::PasswordWithoutUsername { side }),
            (None, None) => Ok(None),
        }
    }

    /// The TLS settings, or `None` for plain connections. The files are
    /// not read here (see [`TlsOptions::client_config`]).
    pub fn tls(&self) -> Result<Option<TlsOptions>, CliError> {
        let o = self.options;
        let side = self.side;
        if o.disable_tls {
            return Ok(None);
        }
        let Some(ca) = &o.ca else {
            return match self.profile.tls {
                TlsDefault::On => Err(CliError::TlsNeedsCa { side }),
                TlsDefault::WhenCaGiven => Ok(None),
            };
        };
        let mut tls = TlsOptions::new(ca);
        match (&o.cert, &o.key) {
            (Some(cert), Some(key)) => tls = tls.with_client_cert(cert, key),
            (None, None) => {}
            _ => return Err(CliError::CertWithoutKey { side }),
        }
        if let Some(name) = &o.tls_server_name {
            tls = tls.with_server_name(name);
        }
        if o.skip_hostname_check {
            tls = tls.without_hostname_verification();
        }
        Ok(Some(tls))
    }

    /// A connection to `address` with this cluster's TLS and login.
    pub fn connection_config(&self, address: String) -> Result<ConnectionConfig, CliError> {
        let mut config = ConnectionConfig::new(address);
        if let Some(tls) = self.tls()? {
            config = config.with_tls(tls);
        }
        if let Some((user, password)) = self.credentials()? {
            config = config.with_credentials(user, password.expose());
        }
        Ok(config)
    }

    /// A session on this cluster's contact points, port and datacenter,
    /// its connections with this cluster's TLS and login.
    pub fn session_config(&self) -> Result<SessionConfig, CliError> {
        let hosts = self.hosts()?;
        let connection = self.connection_config(String::new())?;
        let mut config = SessionConfig::new(hosts)
            .with_connection(connection)
            .with_port(self.port());
        if let Some(dc) = &self.options.datacenter {
            config = config.with_local_datacenter(dc);
        }
        Ok(config)
    }
}

/// `host:port`, with brackets for IPv6 literals.
///
/// ```
/// assert_eq!(ferry_cli::address("::1", 9042), "[::1]:9042");
/// assert_eq!(ferry_cli::address("node1", 9042), "node1:9042");
/// ```
pub fn address(host: &str, port: u16) -> String {
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => format!("[{v6}]:{port}"),
        _ => format!("{host}:{port}"),
    }
}
