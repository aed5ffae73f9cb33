//! Command line and TOML configuration of `ferry-validate`.
//!
//! Every option can be given on the command line or in the `--config` TOML
//! file (same names, with `_` for `-`); the command line wins. Passwords can
//! also come from environment variables or files, so they need not appear
//! in `ps` output.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Parser;
use ferry_cli::{ClusterProfile, Clusters, Headings, HostsArg, Profile, TlsDefault};
use ferry_conn::session::SessionConfig;
use ferry_validator::{CompareOptions, Equality, TableRef, ValidatorConfig};
use ferry_wire::{Consistency, ProtocolVersion};
use serde::Deserialize;

/// Checks that a target Cassandra cluster holds what the source holds.
///
/// Scans the same token ranges on both clusters and merges the two sorted
/// streams, comparing every row column by column. Differences are read again
/// after a delay (writes in flight under live traffic resolve themselves),
/// and only those that persist are reported.
///
/// Exit code: 0 when the target holds what the source holds, 1 when
/// differences persist, 2 on errors (nothing or not everything could be
/// validated).
#[derive(Debug, Parser, Default)]
#[command(
    name = "ferry-validate",
    version,
    about,
    long_about,
    max_term_width = 100
)]
pub struct Cli {
    /// TOML file with any of the options below (snake_case names, e.g.
    /// `source = "10.0.0.1"`, `compare_ttl = true`, `table = ["ks.t"]`).
    /// Options given on the command line override it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    // ---- Connections ----
    /// The source and target clusters: hosts, ports, datacenters, logins
    /// and TLS (the flags every Ferry program shares; see ferry-cli).
    #[command(flatten)]
    pub clusters: Clusters<ValidateClusters>,
    /// Highest native protocol version to use (3, 4 or 5) [default: the highest both sides speak].
    #[arg(long, value_name = "N", help_heading = "Connections")]
    pub protocol_version: Option<u8>,
    /// Request timeout in seconds [default: 30].
    #[arg(long, value_name = "SECS", help_heading = "Connections")]
    pub request_timeout: Option<u64>,

    // ---- What ----
    /// Keyspace to validate (every table of it, unless --table is given).
    #[arg(
        long,
        short = 'k',
        value_name = "KS",
        help_heading = "What to validate"
    )]
    pub keyspace: Option<String>,
    /// A table: `ks.table`, or `table` of --keyspace. Repeatable.
    #[arg(
        long,
        short = 't',
        value_name = "TABLE",
        help_heading = "What to validate"
    )]
    pub table: Vec<String>,
    /// Validate only this token range, `START:END` meaning `(START, END]`
    /// (a range with START >= END wraps). Repeatable. Overrides the ring.
    #[arg(long, value_name = "START:END", help_heading = "What to validate")]
    pub token_range: Vec<String>,
    /// Validate only this percentage of the token ranges, chosen at random
    /// (e.g. `1` or `1%`) [default: all].
    #[arg(long, value_name = "PCT", help_heading = "What to validate")]
    pub sample: Option<String>,
    /// Seed of the --sample choice (the same seed picks the same ranges).
    #[arg(long, value_name = "N", help_heading = "What to validate")]
    pub sample_seed: Option<u64>,

    // ---- Comparison ----
    /// Also compare WRITETIME() of single-cell columns (exactly).
    #[arg(long, help_heading = "Comparison")]
    pub compare_writetime: bool,
    /// Also compare TTL() of single-cell columns (within --ttl-tolerance).
    #[arg(long, help_heading = "Comparison")]
    pub compare_ttl: bool,
    /// TTLs within this many seconds of each other are equal [default: 5].
    #[arg(long, value_name = "SECS", help_heading = "Comparison")]
    pub ttl_tolerance: Option<u32>,
    /// Decimals must have the same scale (1.0 differs from 1.00); by default
    /// they are compared numerically, as Cassandra orders them.
    #[arg(long, help_heading = "Comparison")]
    pub strict_decimals: bool,

    // ---- Live traffic ----
    /// Seconds after finding a difference to read it again on both sides;
    /// only differences still there are reported [default: 5].
    #[arg(long, value_name = "SECS", help_heading = "Live traffic")]
    pub recheck_delay: Option<f64>,
    /// Report every difference found, without re-reading it.
    #[arg(long, help_heading = "Live traffic")]
    pub no_recheck: bool,
    /// Re-check at most this many differences per table; more are reported
    /// as found [default: 100000].
    #[arg(long, value_name = "N", help_heading = "Live traffic")]
    pub max_rechecks: Option<u64>,

    // ---- Scanning ----
    /// Consistency level of reads (and repair writes) [default: LOCAL_QUORUM].
    #[arg(long, value_name = "LEVEL", help_heading = "Scanning")]
    pub consistency: Option<String>,
    /// Token ranges scanned at once [default: 8].
    #[arg(long, value_name = "N", help_heading = "Scanning")]
    pub parallel: Option<usize>,
    /// About how many pieces to cut the ring into [default: 8 × --parallel,
    /// at least one per vnode].
    #[arg(long, value_name = "N", help_heading = "Scanning")]
    pub splits: Option<usize>,
    /// Rows per page [default: 5000].
    #[arg(long, value_name = "N", help_heading = "Scanning")]
    pub page_size: Option<i32>,
    /// Most rows per second read from the source [default: unlimited].
    #[arg(long, value_name = "ROWS", help_heading = "Scanning")]
    pub source_rate: Option<u64>,
    /// Most rows per second read from the target [default: unlimited].
    #[arg(long, value_name = "ROWS", help_heading = "Scanning")]
    pub target_rate: Option<u64>,
    /// Rows of one partition that may wait for their match at once
    /// [default: 100000].
    #[arg(long, value_name = "N", help_heading = "Scanning")]
    pub max_unmatched_rows_per_partition: Option<usize>,

    // ---- Repair ----
    /// Write missing and differing rows to the target, with the source's
    /// write timestamps and TTLs; never deletes anything.
    #[arg(long, help_heading = "Repair")]
    pub repair: bool,

    // ---- Resume ----
    /// Checkpoint file: each completed token range is appended to it; a run
    /// given a file that already lists ranges (an interrupted run with the
    /// same plan) takes their results from it instead of validating them
    /// again. Delete the file to start afresh.
    #[arg(long, value_name = "FILE", help_heading = "Resume")]
    pub checkpoint: Option<PathBuf>,

    // ---- Report ----
    /// Differences described per table (all are counted) [default: 100].
    #[arg(long, value_name = "N", help_heading = "Report")]
    pub max_differences: Option<usize>,
    /// Longest value shown, in characters [default: 200].
    #[arg(long, value_name = "N", help_heading = "Report")]
    pub max_value_chars: Option<usize>,
    /// Write the full report as JSON to FILE.
    #[arg(long, value_name = "FILE", help_heading = "Report")]
    pub report_json: Option<PathBuf>,
    /// Write a JUnit XML report to FILE (one test case per table).
    #[arg(long, value_name = "FILE", help_heading = "Report")]
    pub junit: Option<PathBuf>,
    /// Progress line on stderr: auto (when it is a terminal), always, never.
    #[arg(long, value_name = "WHEN", help_heading = "Report")]
    pub progress: Option<String>,
    /// Print only the verdict line.
    #[arg(long, short = 'q', help_heading = "Report")]
    pub quiet: bool,
}

/// The `--config` file: the same options.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    protocol_version: Option<u8>,
    request_timeout: Option<u64>,
    keyspace: Option<String>,
    #[serde(default)]
    table: Vec<String>,
    #[serde(default)]
    token_range: Vec<String>,
    sample: Option<toml::Value>,
    sample_seed: Option<u64>,
    compare_writetime: Option<bool>,
    compare_ttl: Option<bool>,
    ttl_tolerance: Option<u32>,
    strict_decimals: Option<bool>,
    recheck_delay: Option<f64>,
    no_recheck: Option<bool>,
    max_rechecks: Option<u64>,
    consistency: Option<String>,
    parallel: Option<usize>,
    splits: Option<usize>,
    page_size: Option<i32>,
    source_rate: Option<u64>,
    target_rate: Option<u64>,
    max_unmatched_rows_per_partition: Option<usize>,
    repair: Option<bool>,
    checkpoint: Option<PathBuf>,
    max_differences: Option<usize>,
    max_value_chars: Option<usize>,
    report_json: Option<PathBuf>,
    junit: Option<PathBuf>,
    progress: Option<String>,
    quiet: Option<bool>,
}

macro_rules! merge_options {
    ($cli:ident, $file:ident, $($field:ident),*) => {
        $( if $cli.$field.is_none() { $cli.$field = $file.$field.take(); } )*
    };
}

macro_rules! merge_flags {
    ($cli:ident, $file:ident, $($field:ident),*) => {
        $( $cli.$field = $cli.$field || $file.$field.unwrap_or(false); )*
    };
}

impl Cli {
    /// Fills options the command line left out from the `--config` file.
    pub fn merge_config_file(mut self) -> Result<Self> {
        let Some(path) = self.config.clone() else {
            return Ok(self);
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read the config file {}", path.display()))?;
        let (clusters, mut file) = Clusters::<ValidateClusters>::read_toml::<FileConfig>(&text)
            .with_context(|| format!("bad config file {}", path.display()))?;
        self.clusters = std::mem::take(&mut self.clusters).or(clusters);
        let cli = &mut self;
        merge_options!(
            cli,
            file,
            protocol_version,
            request_timeout,
            keyspace,
            sample_seed,
            ttl_tolerance,
            recheck_delay,
            max_rechecks,
            consistency,
            parallel,
            splits,
            page_size,
            source_rate,
            target_rate,
            max_unmatched_rows_per_partition,
            max_differences,
            max_value_chars,
            report_json,
            junit,
            progress,
            checkpoint
        );
        merge_flags!(
            cli,
            file,
            compare_writetime,
            compare_ttl,
            strict_decimals,
            no_recheck,
            repair,
            quiet
        );
        if cli.table.is_empty() {
            cli.table = std::mem::take(&mut file.table);
        }
        if cli.token_range.is_empty() {
            cli.token_range = std::mem::take(&mut file.token_range);
        }
        if cli.sample.is_none() {
            cli.sample = match file.sample.take() {
                None => None,
                Some(toml::Value::String(s)) => Some(s),
                Some(toml::Value::Integer(i)) => Some(i.to_string()),
                Some(toml::Value::Float(f)) => Some(f.to_string()),
                Some(other) => bail!("sample: expected a percentage, got {other}"),
            };
        }
        Ok(self)
    }

    /// The validation settings (token ranges are added once the source's
    /// partitioner is known).
    pub fn validator_config(&self) -> Result<ValidatorConfig> {
        let mut tables = Vec::new();
        for t in &self.table {
            tables.push(TableRef::parse(t, self.keyspace.as_deref())?);
        }
        if tables.is_empty() {
            match &self.keyspace {
                Some(ks) => tables.push(TableRef::keyspace(ks)),
                None => bail!("nothing to validate: give --keyspace and/or --table"),
            }
        }
        let mut config = ValidatorConfig::new(tables);
        if let Some(c) = &self.consistency {
            config.consistency = c
                .parse::<Consistency>()
                .map_err(|e| anyhow::anyhow!("--consistency: {e}"))?;
        }
        if let Some(n) = self.parallel {
            config.parallelism = n;
        }
        config.splits = self.splits;
        if let Some(n) = self.page_size {
            config.page_size = n;
        }
        config.source_rows_per_second = self.source_rate;
        config.target_rows_per_second = self.target_rate;
        if let Some(s) = &self.sample {
            config.sample_percent = Some(parse_percent(s)?);
        }
        if let Some(seed) = self.sample_seed {
            config.sample_seed = seed;
        }
        config.compare = CompareOptions {
            writetime: self.compare_writetime,
            ttl: self.compare_ttl,
            ttl_tolerance_secs: self.ttl_tolerance.unwrap_or(5),
            equality: Equality {
                strict_decimal_scale: self.strict_decimals,
            },
        };
        config.recheck_delay = if self.no_recheck {
            None
        } else {
            let secs = self.recheck_delay.unwrap_or(5.0);
            if !(secs.is_finite() && secs >= 0.0) {
                bail!("--recheck-delay must be a number of seconds");
            }
            Some(Duration::from_secs_f64(secs))
        };
        if let Some(n) = self.max_rechecks {
            config.max_rechecks = n;
        }
        if let Some(n) = self.max_differences {
            config.max_differences = n;
        }
        if let Some(n) = self.max_value_chars {
            config.max_value_chars = n;
        }
        if let Some(n) = self.max_unmatched_rows_per_partition {
            config.max_unmatched_rows_per_partition = n;
        }
        config.repair = self.repair;
        config.checkpoint = self.checkpoint.clone();
        config.validate()?;
        Ok(config)
    }

    /// The session settings of one side.
    pub fn session_config(&self, side: Side) -> Result<SessionConfig> {
        let mut config = self.clusters.cluster(side).session_config()?;
        let mut connection = config
            .connection
            .with_request_timeout(Duration::from_secs(self.request_timeout.unwrap_or(30)))
            .with_connect_timeout(Duration::from_secs(10));
        if let Some(v) = self.protocol_version {
            let version = ProtocolVersion::from_number(v)
                .filter(|v| *v >= ProtocolVersion::V3)
                .with_context(|| format!("--protocol-version {v}: use 3, 4 or 5"))?;
            connection = connection.with_max_version(version);
        }
        config.connection = connection;
        Ok(config)
    }
}

pub use ferry_cli::Side;

/// ferry-validate's connection flags: contact point lists, TLS when a CA
/// is given.
#[derive(Debug)]
pub struct ValidateClusters;

impl ClusterProfile for ValidateClusters {
    const PROFILE: Profile = Profile {
        sides: &Side::BOTH,
        hosts: HostsArg::List,
        tls: TlsDefault::WhenCaGiven,
        datacenter: true,
        headings: Headings {
            clusters: Some("Connections"),
            auth: Some("Connections"),
            tls: Some("Connections"),
        },
        help: &[],
    };
}

/// `1`, `1%`, `0.5 %` -> the percentage.
fn parse_percent(text: &str) -> Result<f64> {
    let number = text.trim().trim_end_matches('%').trim();
    let value: f64 = number
        .parse()
        .with_context(|| format!("--sample {text:?}: expected a percentage like 1 or 1%"))?;
    if !(value > 0.0 && value <= 100.0) {
        bail!("--sample {text:?}: must be more than 0 and at most 100");
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn percentages_parse() {
        assert_eq!(parse_percent("1%").unwrap(), 1.0);
        assert_eq!(parse_percent(" 0.5 % ").unwrap(), 0.5);
        assert!(parse_percent("0").is_err());
        assert!(parse_percent("150").is_err());
        assert!(parse_percent("x").is_err());
    }

    #[test]
    fn the_config_file_fills_what_the_command_line_leaves_out() {
        let dir = std::env::temp_dir().join(format!("ferry-validate-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("v.toml");
        std::fs::write(
            &file,
            "source = \"10.0.0.1\"\ntarget = \"10.1.0.1\"\nkeyspace = \"shop\"\ntable = [\"orders\"]\n\
             compare_ttl = true\nsample = \"5%\"\nparallel = 3\nconsistency = \"QUORUM\"\n",
        )
        .unwrap();
        let cli = Cli::parse_from([
            "ferry-validate",
            "--config",
            file.to_str().unwrap(),
            "--parallel",
            "6",
            "--target",
            "10.2.0.1",
        ])
        .merge_config_file()
        .unwrap();
        let config = cli.validator_config().unwrap();
        assert_eq!(config.parallelism, 6, "the command line wins");
        assert_eq!(config.sample_percent, Some(5.0));
        assert!(config.compare.ttl);
        assert_eq!(config.consistency, Consistency::Quorum);
        assert_eq!(config.tables, vec![TableRef::table("shop", "orders")]);
        assert_eq!(
            cli.session_config(Side::Target).unwrap().contact_points,
            ["10.2.0.1"]
        );
        assert_eq!(
            cli.session_config(Side::Source).unwrap().contact_points,
            ["10.0.0.1"]
        );

        std::fs::write(&file, "sourc = \"typo\"\n").unwrap();
        let err = Cli::parse_from(["ferry-validate", "--config", file.to_str().unwrap()])
            .merge_config_file()
            .unwrap_err();
        assert!(format!("{err:#}").contains("unknown field"), "{err:#}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn credentials_and_tls_options_are_checked() {
        let cli = Cli::parse_from([
            "ferry-validate",
            "--source",
            "a",
            "--source-username",
            "u",
            "-k",
            "ks",
        ]);
        assert!(
            cli.session_config(Side::Source).is_err(),
            "a username without a password"
        );
        let cli = Cli::parse_from([
            "ferry-validate",
            "--source",
            "a",
            "--source-ca",
            "/ca.pem",
            "--disable-source-tls",
            "-k",
            "ks",
        ]);
        assert!(cli
            .session_config(Side::Source)
            .unwrap()
            .connection
            .tls
            .is_none());
        let cli = Cli::parse_from([
            "ferry-validate",
            "--source",
            "a",
            "--source-ca",
            "/ca.pem",
            "-k",
            "ks",
        ]);
        assert!(cli
            .session_config(Side::Source)
            .unwrap()
            .connection
            .tls
            .is_some());
        let cli = Cli::parse_from(["ferry-validate", "--source", "a"]);
        assert!(cli.validator_config().is_err(), "nothing to validate");
    }
}
