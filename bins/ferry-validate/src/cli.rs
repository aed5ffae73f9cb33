//! Command line and TOML configuration of `ferry-validate`.
//!
//! Every option can be given on the command line or in the `--config` TOML
//! file (same names, with `_` for `-`); the command line wins. Passwords can
//! also come from environment variables or files, so they need not appear
//! in `ps` output.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Parser;
use ferry_conn::session::SessionConfig;
use ferry_conn::{ConnectionConfig, TlsOptions};
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
    /// Source contact points: HOST, HOST:PORT, comma-separated.
    #[arg(long, value_name = "HOSTS", help_heading = "Connections")]
    pub source: Option<String>,
    /// Target contact points: HOST, HOST:PORT, comma-separated.
    #[arg(long, value_name = "HOSTS", help_heading = "Connections")]
    pub target: Option<String>,
    /// Native protocol port of source hosts given without one [default: 9042].
    #[arg(long, value_name = "PORT", help_heading = "Connections")]
    pub source_port: Option<u16>,
    /// Native protocol port of target hosts given without one [default: 9042].
    #[arg(long, value_name = "PORT", help_heading = "Connections")]
    pub target_port: Option<u16>,
    /// Username on the source (PasswordAuthenticator).
    #[arg(
        long,
        value_name = "NAME",
        env = "FERRY_SOURCE_USERNAME",
        hide_env_values = true,
        help_heading = "Connections"
    )]
    pub source_username: Option<String>,
    /// Password on the source (prefer the environment variable or a file).
    #[arg(
        long,
        value_name = "PASSWORD",
        env = "FERRY_SOURCE_PASSWORD",
        hide_env_values = true,
        help_heading = "Connections"
    )]
    pub source_password: Option<String>,
    /// File holding the source password (trailing newline ignored).
    #[arg(long, value_name = "FILE", help_heading = "Connections")]
    pub source_password_file: Option<PathBuf>,
    /// Username on the target.
    #[arg(
        long,
        value_name = "NAME",
        env = "FERRY_TARGET_USERNAME",
        hide_env_values = true,
        help_heading = "Connections"
    )]
    pub target_username: Option<String>,
    /// Password on the target (prefer the environment variable or a file).
    #[arg(
        long,
        value_name = "PASSWORD",
        env = "FERRY_TARGET_PASSWORD",
        hide_env_values = true,
        help_heading = "Connections"
    )]
    pub target_password: Option<String>,
    /// File holding the target password (trailing newline ignored).
    #[arg(long, value_name = "FILE", help_heading = "Connections")]
    pub target_password_file: Option<PathBuf>,
    /// PEM CA bundle to verify the source's certificates: connects with TLS.
    #[arg(long, value_name = "FILE", help_heading = "Connections")]
    pub source_ca: Option<PathBuf>,
    /// PEM CA bundle to verify the target's certificates: connects with TLS.
    #[arg(long, value_name = "FILE", help_heading = "Connections")]
    pub target_ca: Option<PathBuf>,
    /// Client certificate (PEM) presented to the source; needs --source-client-key.
    #[arg(long, value_name = "FILE", help_heading = "Connections")]
    pub source_client_cert: Option<PathBuf>,
    /// Private key (PEM) of --source-client-cert.
    #[arg(long, value_name = "FILE", help_heading = "Connections")]
    pub source_client_key: Option<PathBuf>,
    /// Client certificate (PEM) presented to the target; needs --target-client-key.
    #[arg(long, value_name = "FILE", help_heading = "Connections")]
    pub target_client_cert: Option<PathBuf>,
    /// Private key (PEM) of --target-client-cert.
    #[arg(long, value_name = "FILE", help_heading = "Connections")]
    pub target_client_key: Option<PathBuf>,
    /// Name the source certificates must carry (default: the host dialled).
    #[arg(long, value_name = "NAME", help_heading = "Connections")]
    pub source_tls_server_name: Option<String>,
    /// Name the target certificates must carry (default: the host dialled).
    #[arg(long, value_name = "NAME", help_heading = "Connections")]
    pub target_tls_server_name: Option<String>,
    /// Plain text to the source even if a CA is configured.
    #[arg(long, help_heading = "Connections")]
    pub disable_source_tls: bool,
    /// Plain text to the target even if a CA is configured.
    #[arg(long, help_heading = "Connections")]
    pub disable_target_tls: bool,
    /// The source's datacenter to read from (default: every node alike).
    #[arg(long, value_name = "DC", help_heading = "Connections")]
    pub source_local_dc: Option<String>,
    /// The target's datacenter to read from (default: every node alike).
    #[arg(long, value_name = "DC", help_heading = "Connections")]
    pub target_local_dc: Option<String>,
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
    source: Option<String>,
    target: Option<String>,
    source_port: Option<u16>,
    target_port: Option<u16>,
    source_username: Option<String>,
    source_password: Option<String>,
    source_password_file: Option<PathBuf>,
    target_username: Option<String>,
    target_password: Option<String>,
    target_password_file: Option<PathBuf>,
    source_ca: Option<PathBuf>,
    target_ca: Option<PathBuf>,
    source_client_cert: Option<PathBuf>,
    source_client_key: Option<PathBuf>,
    target_client_cert: Option<PathBuf>,
    target_client_key: Option<PathBuf>,
    source_tls_server_name: Option<String>,
    target_tls_server_name: Option<String>,
    disable_source_tls: Option<bool>,
    disable_target_tls: Option<bool>,
    source_local_dc: Option<String>,
    target_local_dc: Option<String>,
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
        let mut file: FileConfig =
            toml::from_str(&text).with_context(|| format!("bad config file {}", path.display()))?;
        let cli = &mut self;
        merge_options!(
            cli,
            file,
            source,
            target,
            source_port,
            target_port,
            source_username,
            source_password,
            source_password_file,
            target_username,
            target_password,
            target_password_file,
            source_ca,
            target_ca,
            source_client_cert,
            source_client_key,
            target_client_cert,
            target_client_key,
            source_tls_server_name,
            target_tls_server_name,
            source_local_dc,
            target_local_dc,
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
            disable_source_tls,
            disable_target_tls,
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
        let s = match side {
            Side::Source => SideOptions {
                name: "source",
                hosts: self.source.as_deref(),
                port: self.source_port,
                username: self.source_username.as_deref(),
                password: self.source_password.as_deref(),
                password_file: self.source_password_file.as_deref(),
                ca: self.source_ca.as_deref(),
                client_cert: self.source_client_cert.as_deref(),
                client_key: self.source_client_key.as_deref(),
                server_name: self.source_tls_server_name.as_deref(),
                disable_tls: self.disable_source_tls,
                local_dc: self.source_local_dc.as_deref(),
            },
            Side::Target => SideOptions {
                name: "target",
                hosts: self.target.as_deref(),
                port: self.target_port,
                username: self.target_username.as_deref(),
                password: self.target_password.as_deref(),
                password_file: self.target_password_file.as_deref(),
                ca: self.target_ca.as_deref(),
                client_cert: self.target_client_cert.as_deref(),
                client_key: self.target_client_key.as_deref(),
                server_name: self.target_tls_server_name.as_deref(),
                disable_tls: self.disable_target_tls,
                local_dc: self.target_local_dc.as_deref(),
            },
        };
        let hosts: Vec<String> = s
            .hosts
            .with_context(|| format!("--{} is required", s.name))?
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .map(str::to_owned)
            .collect();
        if hosts.is_empty() {
            bail!("--{} names no host", s.name);
        }
        let mut connection = ConnectionConfig::new("")
            .with_request_timeout(Duration::from_secs(self.request_timeout.unwrap_or(30)))
            .with_connect_timeout(Duration::from_secs(10));
        if let Some(v) = self.protocol_version {
            let version = ProtocolVersion::from_number(v)
                .filter(|v| *v >= ProtocolVersion::V3)
                .with_context(|| format!("--protocol-version {v}: use 3, 4 or 5"))?;
            connection = connection.with_max_version(version);
        }
        let password = match (s.password, s.password_file) {
            (Some(p), _) => Some(p.to_owned()),
            (None, Some(file)) => Some(
                std::fs::read_to_string(file)
                    .with_context(|| {
                        format!(
                            "--{}-password-file {}: cannot read it",
                            s.name,
                            file.display()
                        )
                    })?
                    .trim_end_matches(['\r', '\n'])
                    .to_owned(),
            ),
            (None, None) => None,
        };
        match (s.username, password) {
            (Some(user), Some(password)) => connection = connection.with_credentials(user, password),
            (Some(_), None) => bail!("--{}-username needs a password (--{0}-password, FERRY_{1}_PASSWORD or --{0}-password-file)", s.name, s.name.to_uppercase()),
            (None, Some(_)) => bail!("a {} password needs --{0}-username", s.name),
            (None, None) => {}
        }
        if let (Some(ca), false) = (s.ca, s.disable_tls) {
            let mut tls = TlsOptions::new(ca);
            match (s.client_cert, s.client_key) {
                (Some(cert), Some(key)) => tls = tls.with_client_cert(cert, key),
                (None, None) => {}
                _ => bail!("--{0}-client-cert and --{0}-client-key go together", s.name),
            }
            if let Some(name) = s.server_name {
                tls = tls.with_server_name(name);
            }
            connection = connection.with_tls(tls);
        }
        let mut config = SessionConfig::new(hosts).with_connection(connection);
        if let Some(port) = s.port {
            config = config.with_port(port);
        }
        if let Some(dc) = s.local_dc {
            config = config.with_local_datacenter(dc);
        }
        Ok(config)
    }
}

/// Which cluster.
#[derive(Debug, Clone, Copy)]
pub enum Side {
    Source,
    Target,
}

struct SideOptions<'a> {
    name: &'static str,
    hosts: Option<&'a str>,
    port: Option<u16>,
    username: Option<&'a str>,
    password: Option<&'a str>,
    password_file: Option<&'a Path>,
    ca: Option<&'a Path>,
    client_cert: Option<&'a Path>,
    client_key: Option<&'a Path>,
    server_name: Option<&'a str>,
    disable_tls: bool,
    local_dc: Option<&'a str>,
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
