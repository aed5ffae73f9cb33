//! How one program presents the connection flags: which exist, under
//! which help headings, and whether TLS is on by default.

use crate::field::Field;
use crate::Side;

/// How the hosts of a cluster are given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostsArg {
    /// `--source HOSTS`: contact points, `HOST` or `HOST:PORT`,
    /// comma-separated (a session discovers the rest of the ring).
    List,
    /// `SOURCE TARGET` positional arguments: one host each.
    Positional,
    /// `--target HOST`, required: one host.
    RequiredSingle,
}

/// Whether a cluster connection uses TLS when no TLS flag is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsDefault {
    /// TLS is on; a CA is needed unless `--disable-<side>-tls` is given.
    On,
    /// TLS is on when a CA is given (and `--disable-<side>-tls` is not).
    WhenCaGiven,
}

/// Help headings of the three groups of connection flags (`None`: listed
/// with the program's other options).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Headings {
    /// Hosts, ports, datacenters.
    pub clusters: Option<&'static str>,
    /// Usernames and passwords.
    pub auth: Option<&'static str>,
    /// TLS flags.
    pub tls: Option<&'static str>,
}

/// One program's connection flags.
///
/// ```
/// use ferry_cli::{Headings, HostsArg, Profile, Side, TlsDefault};
/// const COPY: Profile = Profile {
///     sides: &Side::BOTH,
///     hosts: HostsArg::List,
///     tls: TlsDefault::On,
///     datacenter: true,
///     headings: Headings { clusters: Some("Clusters"), auth: None, tls: Some("TLS") },
///     help: &[],
/// };
/// assert_eq!(COPY.args().len(), 24);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Profile {
    /// The clusters the program connects to.
    pub sides: &'static [Side],
    /// How hosts are given.
    pub hosts: HostsArg,
    /// TLS without flags.
    pub tls: TlsDefault,
    /// Whether `--<side>-dc` exists (only where a session picks nodes).
    pub datacenter: bool,
    /// Help headings.
    pub headings: Headings,
    /// Help text replacing the standard one, by argument id (e.g.
    /// `target_username`), where the program gives a flag a meaning of
    /// its own worth explaining.
    pub help: &'static [(&'static str, &'static str)],
}

impl Profile {
    /// Whether the program has this option (its flag and config key).
    pub(crate) fn has(&self, field: Field) -> bool {
        field != Field::Datacenter || self.datacenter
    }

    /// The help override for `id`, if any.
    pub(crate) fn help_for(&self, id: &str) -> Option<&'static str> {
        self.help.iter().find(|(i, _)| *i == id).map(|(_, h)| *h)
    }
}

/// A program's [`Profile`] as a type, so that
/// [`Clusters`](crate::Clusters) can be flattened into a clap derive
/// struct.
///
/// ```
/// use ferry_cli::{ClusterProfile, Headings, HostsArg, Profile, Side, TlsDefault};
/// struct Mine;
/// impl ClusterProfile for Mine {
///     const PROFILE: Profile = Profile {
///         sides: &Side::BOTH,
///         hosts: HostsArg::List,
///         tls: TlsDefault::WhenCaGiven,
///         datacenter: false,
///         headings: Headings { clusters: None, auth: None, tls: None },
///         help: &[],
///     };
/// }
/// assert!(!Mine::PROFILE.datacenter);
/// ```
pub trait ClusterProfile {
    /// The flags.
    const PROFILE: Profile;
}
