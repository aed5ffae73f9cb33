//! Both clusters' options as one clap `Args` type, to flatten into a
//! program's derive struct.

use std::fmt;
use std::marker::PhantomData;

use clap::{ArgMatches, Command, FromArgMatches};

use crate::{CliError, Cluster, ClusterOptions, ClusterProfile, Side};

/// The connection options of both clusters, with the flags of profile `P`.
///
/// ```
/// use clap::Parser;
/// use ferry_cli::{ClusterProfile, Clusters, Headings, HostsArg, Profile, Side, TlsDefault};
///
/// struct Tool;
/// impl ClusterProfile for Tool {
///     const PROFILE: Profile = Profile {
///         sides: &Side::BOTH,
///         hosts: HostsArg::List,
///         tls: TlsDefault::WhenCaGiven,
///         datacenter: true,
///         headings: Headings { clusters: Some("Clusters"), auth: None, tls: None },
///         help: &[],
///     };
/// }
///
/// #[derive(Parser)]
/// struct Cli {
///     #[command(flatten)]
///     clusters: Clusters<Tool>,
///     #[arg(long)]
///     keyspace: Option<String>,
/// }
///
/// let cli = Cli::parse_from(["tool", "--source", "a,b", "--target", "c", "--target-dc", "dc2"]);
/// let file: toml::Table = toml::from_str("source-port = 9142").unwrap();
/// let mut file = file;
/// let clusters = cli.clusters.or(Clusters::take_from_toml(&mut file).unwrap());
/// let source = clusters.cluster(Side::Source).session_config().unwrap();
/// assert_eq!(source.contact_addresses(), ["a:9142", "b:9142"]);
/// assert!(clusters.cluster(Side::Target).tls().unwrap().is_none());
/// ```
pub struct Clusters<P> {
    /// The source cluster's options.
    pub source: ClusterOptions,
    /// The target cluster's options.
    pub target: ClusterOptions,
    profile: PhantomData<fn() -> P>,
}

impl<P: ClusterProfile> Clusters<P> {
    /// The options of both clusters.
    pub fn new(source: ClusterOptions, target: ClusterOptions) -> Self {
        Clusters {
            source,
            target,
            profile: PhantomData,
        }
    }

    /// The options of one cluster.
    pub fn options(&self, side: Side) -> &ClusterOptions {
        match side {
            Side::Source => &self.source,
            Side::Target => &self.target,
        }
    }

    /// The options of one cluster, mutably.
    pub fn options_mut(&mut self, side: Side) -> &mut ClusterOptions {
        match side {
            Side::Source => &mut self.source,
            Side::Target => &mut self.target,
        }
    }

    /// One cluster, to turn into connection settings.
    pub fn cluster(&self, side: Side) -> Cluster<'_> {
        Cluster::new(side, &P::PROFILE, self.options(side))
    }

    /// `self` (the command line) over `file`: see [`ClusterOptions::or`].
    pub fn or(self, file: Clusters<P>) -> Self {
        Clusters::new(self.source.or(file.source), self.target.or(file.target))
    }

    /// Takes both clusters' keys out of a parsed config file; see
    /// [`ClusterOptions::take_from_toml`]. Keys of a side the profile
    /// does not have are left for the program to refuse.
    pub fn take_from_toml(file: &mut toml::Table) -> Result<Self, CliError> {
        let mut clusters = Clusters::default();
        for &side in P::PROFILE.sides {
            *clusters.options_mut(side) = ClusterOptions::take_from_toml(file, side, &P::PROFILE)?;
        }
        Ok(clusters)
    }
}

impl<P: ClusterProfile> Clusters<P> {
    /// Reads a whole config file: both clusters' keys, then the program's
    /// own options `T` from the rest (where `T` refuses unknown keys, a
    /// misspelt cluster key is refused too).
    ///
    /// ```
    /// # use ferry_cli::{ClusterProfile, Clusters, Headings, HostsArg, Profile, Side, TlsDefault};
    /// # struct Tool;
    /// # impl ClusterProfile for Tool {
    /// #     const PROFILE: Profile = Profile { sides: &Side::BOTH, hosts: HostsArg::List,
    /// #         tls: TlsDefault::On, datacenter: false,
    /// #         headings: Headings { clusters: None, auth: None, tls: None }, help: &[] };
    /// # }
    /// let (clusters, rest): (Clusters<Tool>, toml::Table) =
    ///     Clusters::read_toml("target = \"t1\"\nparallel = 4").unwrap();
    /// assert_eq!(clusters.target.hosts.as_deref(), Some("t1"));
    /// assert_eq!(rest["parallel"].as_integer(), Some(4));
    /// ```
    pub fn read_toml<T: serde::de::DeserializeOwned>(text: &str) -> Result<(Self, T), CliError> {
        let mut table: toml::Table = toml::from_str(text)?;
        let clusters = Clusters::take_from_toml(&mut table)?;
        Ok((clusters, table.try_into()?))
    }
}

impl<P> Default for Clusters<P> {
    fn default() -> Self {
        Clusters {
            source: ClusterOptions::default(),
            target: ClusterOptions::default(),
            profile: PhantomData,
        }
    }
}

impl<P> Clone for Clusters<P> {
    fn clone(&self) -> Self {
        Clusters {
            source: self.source.clone(),
            target: self.target.clone(),
            profile: PhantomData,
        }
    }
}

impl<P> fmt::Debug for Clusters<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Clusters")
            .field("source", &self.source)
            .field("target", &self.target)
            .finish()
    }
}

impl<P: ClusterProfile> FromArgMatches for Clusters<P> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        Ok(Clusters::new(
            ClusterOptions::from_matches(matches, Side::Source),
            ClusterOptions::from_matches(matches, Side::Target),
        ))
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        let given = Self::from_arg_matches(matches)?;
        *self = given.or(std::mem::take(self));
        Ok(())
    }
}

impl<P: ClusterProfile> clap::Args for Clusters<P> {
    fn augment_args(cmd: Command) -> Command {
        cmd.args(P::PROFILE.args())
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}
