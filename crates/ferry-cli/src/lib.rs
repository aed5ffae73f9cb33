//! The command-line pieces Ferry's programs share (`ferry-proxy`,
//! `ferry-copy`, `ferry-validate`): the connection flags of the source and
//! target clusters, defined once.
//!
//! - [`Profile`]: which of the flags a program has, their help headings,
//!   and whether TLS is on by default; [`Profile::args`] builds the clap
//!   arguments of both sides from one template (clap's derive cannot
//!   prefix a flattened struct with `source-`/`target-`).
//! - [`Clusters`]: both sides' [`ClusterOptions`], flattened into a
//!   program's clap derive struct with `#[command(flatten)]`.
//! - [`ClusterOptions::take_from_toml`] and [`ClusterOptions::or`]: the
//!   same options in a TOML config file, and the merge (a flag wins over
//!   the file, the file over the default).
//! - [`Cluster`]: the checks and defaults, passwords from the environment
//!   or a file (held as a [`Secret`], never printed), and the conversion
//!   into ferry-conn's `ConnectionConfig` and `SessionConfig`.
//!
//! Errors are [`CliError`]s, each naming the flag or key to fix.

mod cluster;
mod clusters;
mod error;
mod field;
mod file;
mod flags;
mod options;
mod profile;
mod secret;
mod side;

pub use cluster::{address, Cluster};
pub use clusters::Clusters;
pub use error::CliError;
pub use options::ClusterOptions;
pub use profile::{ClusterProfile, Headings, HostsArg, Profile, TlsDefault};
pub use secret::Secret;
pub use side::Side;
