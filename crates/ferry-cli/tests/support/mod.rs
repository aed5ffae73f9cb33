//! A program's command line using the shared flags, for the tests.
#![allow(missing_docs, dead_code)]

use clap::Parser;
use ferry_cli::{ClusterProfile, Clusters, Headings, HostsArg, Profile, Side, TlsDefault};

pub struct Copy;
impl ClusterProfile for Copy {
    const PROFILE: Profile = Profile {
        sides: &Side::BOTH,
        hosts: HostsArg::List,
        tls: TlsDefault::On,
        datacenter: true,
        headings: Headings {
            clusters: Some("Where"),
            auth: Some("Login"),
            tls: Some("Encryption"),
        },
        help: &[("target_username", "Target login, explained at length.")],
    };
}

#[derive(Debug, Parser)]
#[command(name = "tool")]
pub struct Cli {
    #[command(flatten)]
    pub clusters: Clusters<Copy>,
    #[arg(long)]
    pub keyspace: Option<String>,
}

pub fn parse(args: &[&str]) -> Cli {
    Cli::try_parse_from(std::iter::once("tool").chain(args.iter().copied())).unwrap()
}

/// The login of `side`, which the test expects to be complete.
pub fn login(cli: &Cli, side: ferry_cli::Side) -> (String, ferry_cli::Secret) {
    cli.clusters
        .cluster(side)
        .credentials()
        .unwrap()
        .expect("a username and a password")
}
