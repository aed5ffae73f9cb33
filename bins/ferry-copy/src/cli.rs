//! Command-line flags and the TOML config file: one struct for both, so
//! every flag is also a config key of the same name (`--source-port` is
//! `source-port = 9042`). A flag given on the command line wins over the
//! file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Parser;
use ferry_cli::{ClusterProfile, Clusters, Headings, HostsArg, Profile, TlsDefault};
use ferry_conn::session::SessionConfig;
use ferry_copier::filter::{parse_token_range, parse_writetime, JobFilters};
use ferry_copier::CopyOptions;
use ferry_wire::Consistency;
use serde::Deserialize;

/// Copies the existing rows of Cassandra tables from a source cluster to a
/// target cluster: the historical part of a live migration, run while the
/// dual-write proxy sends new writes to both clusters.
///
/// Rows are read by token range from replicas of the source and written to
/// the target with INSERT ... USING TIMESTAMP: by default one timestamp,
/// taken (in microseconds) when the job starts, so any write the proxy
/// makes after that wins over the copy. The job's progress is kept in a
/// local file, or with --progress-table in a table of the target cluster,
/// which lets several processes on several machines share one job; running
/// the same command again continues where it stopped. Filters: --token-range,
/// --written-after/--written-before, --columns; renames: --target-table,
/// --rename-column. See docs/bulk-copy.md.
#[derive(Debug, Default, Clone, Parser, Deserialize)]
#[command(name = "ferry-copy", version, max_term_width = 100)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Args {
    /// TOML file with any of these options (keys are the long flag names,
    /// e.g. `source = "10.0.0.1"`, `table = ["orders"]`); flags given on the
    /// command line win.
    #[arg(long, value_name = "FILE")]
    #[serde(skip)]
    pub config: Option<PathBuf>,

    /// The source and target clusters: hosts, ports, datacenters, logins
    /// and TLS (the flags every Ferry program shares; see ferry-cli).
    #[command(flatten)]
    #[serde(skip)]
    pub clusters: Clusters<CopyClusters>,

    // --- what ---
    /// Keyspace to copy (same name on both clusters).
    #[arg(long, short = 'k', value_name = "KS", help_heading = "What to copy")]
    pub keyspace: Option<String>,
    /// Table to copy; repeat for several; default: every table of the
    /// keyspace.
    #[arg(
        long = "table",
        short = 't',
        value_name = "TABLE",
        help_heading = "What to copy"
    )]
    #[serde(default, alias = "tables")]
    pub table: Vec<String>,
    /// Keep each cell's source writetime and remaining TTL (columns sharing
    /// them are written together) instead of the job's timestamp. Non-frozen
    /// collections still get the job's timestamp (Cassandra before 5.0
    /// cannot report their writetimes).
    #[arg(long, help_heading = "What to copy")]
    #[serde(default)]
    pub preserve_writetime: bool,
    /// The job's write timestamp in MICROseconds since the epoch, instead of
    /// the time the job starts. Only for a new job (a resumed one keeps its
    /// own). It must not be later than the moment the proxy started writing
    /// to both clusters.
    #[arg(long, value_name = "MICROS", help_heading = "What to copy")]
    pub job_timestamp: Option<i64>,
    /// Only tokens in (START, END] (decimal tokens of the source's
    /// partitioner; START > END wraps through the minimum). Splits and
    /// progress apply to this sub-range only.
    #[arg(
        long,
        value_name = "START:END",
        help_heading = "What to copy",
        allow_hyphen_values = true
    )]
    pub token_range: Option<String>,
    /// Only rows whose newest cell was written at or after TIME: an RFC 3339
    /// time (2026-11-21T10:00:00Z) or MICROseconds since the epoch (16-17
    /// digits, or any integer with a `us` suffix). Numbers that look like
    /// seconds or milliseconds are refused. Rows whose writetime cannot be
    /// read (key columns or non-frozen collections only) are copied.
    #[arg(long, value_name = "TIME", help_heading = "What to copy")]
    pub written_after: Option<String>,
    /// Only rows whose newest cell was written before TIME (same formats as
    /// --written-after).
    #[arg(long, value_name = "TIME", help_heading = "What to copy")]
    pub written_before: Option<String>,
    /// Copy only these non-key columns (key columns always are):
    /// `a,b,c`, or `TABLE:a,b,c` when several tables are copied; repeat for
    /// several tables.
    #[arg(long, value_name = "[TABLE:]COLUMNS", help_heading = "What to copy")]
    #[serde(default)]
    pub columns: Vec<String>,
    /// Write to another table: `KS.TABLE` (or `TABLE`, same keyspace) when
    /// one table is copied, or `SOURCE_TABLE=KS.TABLE`; repeat for several.
    #[arg(long, value_name = "[SRC=]KS.TABLE", help_heading = "What to copy")]
    #[serde(default)]
    pub target_table: Vec<String>,
    /// Write source column OLD as target column NEW: `OLD=NEW`, or
    /// `TABLE:OLD=NEW` when several tables are copied; repeat for several.
    #[arg(long, value_name = "[TABLE:]OLD=NEW", help_heading = "What to copy")]
    #[serde(default)]
    pub rename_column: Vec<String>,
    /// Read consistency [default: LOCAL_QUORUM].
    #[arg(long, value_name = "CL", help_heading = "What to copy")]
    pub consistency_read: Option<String>,
    /// Write consistency [default: LOCAL_QUORUM].
    #[arg(long, value_name = "CL", help_heading = "What to copy")]
    pub consistency_write: Option<String>,

    // --- throughput ---
    /// Token ranges to cut each table into [default: the larger of the
    /// source's primary range count and 32 × concurrency].
    #[arg(long, value_name = "N", help_heading = "Throughput")]
    pub splits: Option<usize>,
    /// Ranges scanned at the same time [default: 8].
    #[arg(long, value_name = "N", help_heading = "Throughput")]
    pub concurrency: Option<usize>,
    /// Write requests (statements or batches) in flight at the same time,
    /// all ranges together [default: 256].
    #[arg(long, value_name = "N", help_heading = "Throughput")]
    pub max_in_flight_writes: Option<usize>,
    /// Statements sent together as one UNLOGGED batch, at most: rows whose
    /// partitions one target node owns, sent to that node; 1 sends every
    /// statement alone [default: 20].
    #[arg(long, value_name = "N", help_heading = "Throughput")]
    pub batch_size: Option<usize>,
    /// Kilobytes of values in one batch, at most; Cassandra logs a warning
    /// for every batch over its batch_size_warn_threshold_in_kb (5 KiB by
    /// default, counting cell names and timestamps too) [default: 3].
    #[arg(long, value_name = "KB", help_heading = "Throughput")]
    pub max_batch_kb: Option<usize>,
    /// Rows per page of the range scans [default: 1000].
    #[arg(long, value_name = "ROWS", help_heading = "Throughput")]
    pub page_size: Option<i32>,
    /// At most this many rows per second, read from the source and written
    /// to the target (each cluster its own limit) [default: none].
    #[arg(long, value_name = "ROWS_PER_S", help_heading = "Throughput")]
    pub rate_limit: Option<f64>,
    /// Rows per second read from the source, at most (overrides
    /// --rate-limit for the source).
    #[arg(long, value_name = "ROWS_PER_S", help_heading = "Throughput")]
    pub source_rate_limit: Option<f64>,
    /// Rows per second written to the target, at most (overrides
    /// --rate-limit for the target).
    #[arg(long, value_name = "ROWS_PER_S", help_heading = "Throughput")]
    pub target_rate_limit: Option<f64>,
    /// Megabytes (10^6 bytes) of values per second read from the source, at
    /// most.
    #[arg(long, value_name = "MB_PER_S", help_heading = "Throughput")]
    pub source_mb_per_second: Option<f64>,
    /// Retries of a write or range scan that failed with a timeout,
    /// overload or lost connection, with backoff, before the copy stops
    /// [default: 10].
    #[arg(long, value_name = "N", help_heading = "Throughput")]
    pub max_retries: Option<u32>,
    /// Connections per node, each cluster [default: 2].
    #[arg(long, value_name = "N", help_heading = "Throughput")]
    pub connections_per_node: Option<usize>,
    /// Client-side timeout of one request, in seconds [default: 30].
    #[arg(long, value_name = "SECONDS", help_heading = "Throughput")]
    pub request_timeout: Option<f64>,

    // --- progress ---
    /// Progress file: where the job and the ranges done are recorded, so
    /// the same command continues after a crash or Ctrl-C [default:
    /// ./ferry-copy-<keyspace>[.<tables>].progress.jsonl].
    #[arg(long, value_name = "FILE", help_heading = "Progress")]
    pub progress: Option<PathBuf>,
    /// Keep progress in this table of the TARGET cluster (KS.TABLE, created
    /// if missing; the keyspace must exist) instead of the progress file:
    /// several ferry-copy processes, on any machines, started with the same
    /// options share the job by claiming its ranges with lightweight
    /// transactions.
    #[arg(long, value_name = "KS.TABLE", help_heading = "Progress")]
    pub progress_table: Option<String>,
    /// The job's name in the progress table; every process of one job must
    /// use the same [default: ferry-copy-<keyspace>[.<tables>]].
    #[arg(long, value_name = "NAME", help_heading = "Progress")]
    pub job_id: Option<String>,
    /// This process's name in the progress table [default: host name,
    /// process id and clock bits].
    #[arg(long, value_name = "NAME", help_heading = "Progress")]
    pub worker_id: Option<String>,
    /// Seconds a claimed range stays this process's without renewal (it is
    /// renewed 3 times per lease while copying): a dead process's ranges are
    /// claimed by others after this. Keep it well above the clock skew
    /// between machines [default: 60].
    #[arg(long, value_name = "SECONDS", help_heading = "Progress")]
    pub claim_lease: Option<f64>,
    /// Write the final summary as JSON to this file.
    #[arg(long, value_name = "FILE", help_heading = "Progress")]
    pub summary_json: Option<PathBuf>,
    /// Seconds between progress log lines when stderr is not a terminal
    /// [default: 10].
    #[arg(long, value_name = "SECONDS", help_heading = "Progress")]
    pub progress_interval: Option<f64>,
    /// No progress output (the summary is still printed).
    #[arg(long, help_heading = "Progress")]
    #[serde(default)]
    pub quiet: bool,
    /// Stop (as on Ctrl-C) after this many ranges: for testing resumes.
    #[arg(long, value_name = "N", hide = true)]
    pub stop_after_ranges: Option<usize>,
}

impl Args {
    /// The command line merged over the config file it names, if any.
    pub fn load() -> Result<Args> {
        let cli = Args::parse();
        match cli.config.clone() {
            Some(path) => {
                let file = Args::read_file(&path)?;
                Ok(cli.over(file))
            }
            None => Ok(cli),
        }
    }

    /// The options of a config file: the clusters' keys (see ferry-cli),
    /// then the rest, unknown keys refused.
    pub fn read_file(path: &Path) -> Result<Args> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        Args::from_toml(&text).with_context(|| format!("config file {}", path.display()))
    }

    fn from_toml(text: &str) -> Result<Args> {
        let (clusters, mut args): (_, Args) = Clusters::read_toml(text)?;
        args.clusters = clusters;
        Ok(args)
    }

    /// `self` (the command line) with unset options taken from `file`.
    pub fn over(self, file: Args) -> Args {
        macro_rules! merged {
            ($($opt:ident),* ; $($flag:ident),* ; $($list:ident),*) => {
                Args {
                    config: self.config,
                    clusters: self.clusters.or(file.clusters),
                    $($opt: self.$opt.or(file.$opt),)*
                    $($flag: self.$flag || file.$flag,)*
                    $($list: if self.$list.is_empty() { file.$list } else { self.$list },)*
                }
            };
        }
        merged!(
            keyspace, job_timestamp, consistency_read, consistency_write,
            splits, concurrency, max_in_flight_writes, batch_size, max_batch_kb, page_size, rate_limit,
            source_rate_limit, target_rate_limit, source_mb_per_second, max_retries,
            connections_per_node, request_timeout, progress, summary_json,
            progress_interval, stop_after_ranges, token_range, written_after, written_before,
            progress_table, job_id, worker_id, claim_lease;
            preserve_writetime, quiet;
            table, columns, target_table, rename_column
        )
    }

    /// The copy options.
    pub fn copy_options(&self) -> Result<CopyOptions> {
        let keyspace = self
            .keyspace
            .clone()
            .context("--keyspace is required (on the command line or in the config file)")?;
        let mut options = CopyOptions::new(keyspace);
        options.tables = self.table.clone();
        options.preserve_writetime = self.preserve_writetime;
        options.job_timestamp = self.job_timestamp;
        if let Some(cl) = &self.consistency_read {
            options.read_consistency = consistency(cl, "--consistency-read")?;
        }
        if let Some(cl) = &self.consistency_write {
            options.write_consistency = consistency(cl, "--consistency-write")?;
        }
        options.splits = self.splits;
        if let Some(n) = self.concurrency {
            options.concurrency = n;
        }
        if let Some(n) = self.max_in_flight_writes {
            options.max_in_flight_writes = n;
        }
        if let Some(n) = self.batch_size {
            options.batch_statements = n;
        }
        if let Some(kb) = self.max_batch_kb {
            options.batch_bytes = kb.saturating_mul(1024);
        }
        if let Some(n) = self.page_size {
            options.page_size = n;
        }
        options.source_rows_per_second = self.source_rate_limit.or(self.rate_limit);
        options.target_rows_per_second = self.target_rate_limit.or(self.rate_limit);
        options.source_bytes_per_second = self.source_mb_per_second.map(|mb| mb * 1e6);
        if let Some(n) = self.max_retries {
            options.max_retries = n;
        }
        if let Some(p) = &self.progress {
            options.progress_file = p.clone();
        }
        options.stop_after_ranges = self.stop_after_ranges;
        options.progress_table = self.progress_table.clone();
        options.job_id = self.job_id.clone();
        options.worker_id = self.worker_id.clone();
        if let Some(lease) = self.claim_lease {
            if !(1.0..=86_400.0).contains(&lease) {
                bail!("--claim-lease {lease}: give 1 to 86400 seconds");
            }
            options.claim_lease = Duration::from_secs_f64(lease);
        }
        options.filters = self.filters()?;
        options.validate()?;
        Ok(options)
    }

    /// The token range, writetime window, columns and renames.
    fn filters(&self) -> Result<JobFilters> {
        let mut f = JobFilters::default();
        if let Some(r) = &self.token_range {
            f.token_range =
                Some(parse_token_range(r).map_err(|e| anyhow::anyhow!("--token-range {e}"))?);
        }
        if let Some(t) = &self.written_after {
            f.written_after =
                Some(parse_writetime(t).map_err(|e| anyhow::anyhow!("--written-after {e}"))?);
        }
        if let Some(t) = &self.written_before {
            f.written_before =
                Some(parse_writetime(t).map_err(|e| anyhow::anyhow!("--written-before {e}"))?);
        }
        let only_table = |flag: &str, value: &str| -> Result<String> {
            match self.table.as_slice() {
                [one] => Ok(one.clone()),
                _ => bail!(
                    "{flag} {value:?}: say which table it is for (TABLE:... or SOURCE=...), since {} tables are copied",
                    if self.table.is_empty() { "all the keyspace's".to_owned() } else { self.table.len().to_string() }
                ),
            }
        };
        for value in &self.columns {
            let (table, list) = match value.split_once(':') {
                Some((t, l)) => (t.trim().to_owned(), l),
                None => (only_table("--columns", value)?, value.as_str()),
            };
            let names: Vec<String> = list
                .split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect();
            if names.is_empty() {
                bail!("--columns {value:?} names no column");
            }
            f.tables
                .entry(table)
                .or_default()
                .columns
                .get_or_insert_with(Vec::new)
                .extend(names);
        }
        for value in &self.target_table {
            let (table, target) = match value.split_once('=') {
                Some((t, target)) => (t.trim().to_owned(), target.trim()),
                None => (only_table("--target-table", value)?, value.trim()),
            };
            let (ks, name) = match target.split_once('.') {
                Some((ks, name)) => (Some(ks.to_owned()), name.to_owned()),
                None => (None, target.to_owned()),
            };
            if name.is_empty() || ks.as_deref() == Some("") {
                bail!("--target-table {value:?}: expected KS.TABLE, TABLE or SOURCE=KS.TABLE");
            }
            let m = f.tables.entry(table).or_default();
            m.target_keyspace = ks;
            m.target_table = Some(name);
        }
        for value in &self.rename_column {
            let (table, pair) = match value.split_once(':') {
                Some((t, p)) => (t.trim().to_owned(), p),
                None => (only_table("--rename-column", value)?, value.as_str()),
            };
            let Some((old, new)) = pair
                .split_once('=')
                .filter(|(o, n)| !o.trim().is_empty() && !n.trim().is_empty())
            else {
                bail!("--rename-column {value:?}: expected OLD=NEW or TABLE:OLD=NEW");
            };
            f.tables
                .entry(table)
                .or_default()
                .renames
                .insert(old.trim().to_owned(), new.trim().to_owned());
        }
        Ok(f)
    }

    /// The session configuration of one cluster.
    pub fn session_config(&self, side: Side) -> Result<SessionConfig> {
        let side = match side {
            Side::Source => ferry_cli::Side::Source,
            Side::Target => ferry_cli::Side::Target,
        };
        let mut config = self
            .clusters
            .cluster(side)
            .session_config()?
            .with_connections_per_node(self.connections_per_node.unwrap_or(2));
        let timeout = Duration::from_secs_f64(self.request_timeout.unwrap_or(30.0).max(0.1));
        config.connection = config
            .connection
            .with_request_timeout(timeout)
            .with_connect_timeout(Duration::from_secs(10));
        if side == ferry_cli::Side::Source {
            // The next page is fetched while the current one is written.
            config = config.with_prefetch(true);
        }
        Ok(config)
    }
}

pub use ferry_copier::Side;

/// ferry-copy's connection flags: contact point lists, TLS on by default.
#[derive(Debug)]
pub struct CopyClusters;

impl ClusterProfile for CopyClusters {
    const PROFILE: Profile = Profile {
        sides: &ferry_cli::Side::BOTH,
        hosts: HostsArg::List,
        tls: TlsDefault::On,
        datacenter: true,
        headings: Headings {
            clusters: Some("Clusters"),
            auth: Some("Authentication"),
            tls: Some("TLS"),
        },
        help: &[],
    };
}

fn consistency(text: &str, flag: &str) -> Result<Consistency> {
    text.parse::<Consistency>()
        .map_err(|_| anyhow::anyhow!("{flag}: {text:?} is not a consistency level (ONE, LOCAL_ONE, QUORUM, LOCAL_QUORUM, ALL, ...)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Args {
        Args::try_parse_from(std::iter::once("ferry-copy").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn the_command_line_wins_over_the_file() {
        let cli = parse(&["--source", "a", "--concurrency", "3", "-t", "x"]);
        let file = Args::from_toml(
            r#"
            source = "file-source"
            target = "file-target"
            concurrency = 9
            table = ["y", "z"]
            disable-target-tls = true
            keyspace = "ks"
            "#,
        )
        .unwrap();
        let merged = cli.over(file);
        assert_eq!(merged.clusters.source.hosts.as_deref(), Some("a"));
        assert_eq!(merged.clusters.target.hosts.as_deref(), Some("file-target"));
        assert_eq!(merged.concurrency, Some(3));
        assert_eq!(merged.table, ["x"]);
        assert!(merged.clusters.target.disable_tls);
        assert_eq!(merged.copy_options().unwrap().keyspace, "ks");
    }

    #[test]
    fn unknown_config_keys_are_errors() {
        assert!(Args::from_toml("sourcee = \"x\"").is_err());
    }

    #[test]
    fn tls_is_on_unless_disabled_and_needs_a_ca() {
        let args = parse(&["--source", "h1,h2:9142", "-k", "ks"]);
        let e = args.session_config(Side::Source).unwrap_err().to_string();
        assert!(
            e.contains("--source-ca") && e.contains("--disable-source-tls"),
            "{e}"
        );
        let args = parse(&[
            "--source",
            "h1,h2:9142",
            "--disable-source-tls",
            "--source-port",
            "7",
        ]);
        let c = args.session_config(Side::Source).unwrap();
        assert_eq!(c.contact_addresses(), ["h1:7", "h2:9142"]);
        assert!(c.connection.tls.is_none());
        let args = parse(&["--target", "h", "--target-ca", "/ca.pem"]);
        assert!(args
            .session_config(Side::Target)
            .unwrap()
            .connection
            .tls
            .is_some());
    }

    #[test]
    fn options_from_flags() {
        let args = parse(&[
            "-k",
            "ks",
            "--rate-limit",
            "100",
            "--target-rate-limit",
            "50",
            "--consistency-read",
            "one",
            "--preserve-writetime",
            "--source-mb-per-second",
            "2",
        ]);
        let o = args.copy_options().unwrap();
        assert_eq!(o.source_rows_per_second, Some(100.0));
        assert_eq!(o.target_rows_per_second, Some(50.0));
        assert_eq!(o.source_bytes_per_second, Some(2e6));
        assert_eq!(o.read_consistency, Consistency::One);
        assert_eq!(o.write_consistency, Consistency::LocalQuorum);
        assert!(o.preserve_writetime);
        assert!(parse(&["-k", "ks", "--consistency-write", "most"])
            .copy_options()
            .is_err());
        assert!(parse(&[])
            .copy_options()
            .unwrap_err()
            .to_string()
            .contains("--keyspace"));
    }

    #[test]
    fn filters_from_flags() {
        let o = parse(&[
            "-k",
            "ks",
            "-t",
            "a",
            "--token-range",
            "-100:200",
            "--written-after",
            "2026-01-01T00:00:00Z",
            "--columns",
            "x,y",
            "--target-table",
            "ks2.b",
            "--rename-column",
            "x=xx",
        ])
        .copy_options()
        .unwrap();
        assert_eq!(o.filters.token_range, Some(("-100".into(), "200".into())));
        assert_eq!(o.filters.written_after, Some(1_767_225_600_000_000));
        let m = &o.filters.tables["a"];
        assert_eq!(
            m.columns.as_deref(),
            Some(&["x".to_owned(), "y".to_owned()][..])
        );
        assert_eq!(
            (m.target_keyspace.as_deref(), m.target_table.as_deref()),
            (Some("ks2"), Some("b"))
        );
        assert_eq!(m.renames["x"], "xx");
        let e = parse(&["-k", "ks", "--columns", "x"])
            .copy_options()
            .unwrap_err()
            .to_string();
        assert!(e.contains("say which table"), "{e}");
        let e = parse(&["-k", "ks", "--written-before", "1700000000"])
            .copy_options()
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("--written-before") && e.contains("seconds"),
            "{e}"
        );
        let o = parse(&[
            "-k",
            "ks",
            "--columns",
            "t1:a",
            "--target-table",
            "t1=t9",
            "--claim-lease",
            "5",
            "--progress-table",
            "ks.p",
        ])
        .copy_options()
        .unwrap();
        assert_eq!(o.filters.tables["t1"].target_table.as_deref(), Some("t9"));
        assert_eq!(o.claim_lease, Duration::from_secs(5));
        assert_eq!(o.progress_table.as_deref(), Some("ks.p"));
    }

    /// The config of the Kubernetes example only uses real options.
    #[test]
    fn the_kubernetes_example_config_is_valid() {
        let yaml = include_str!("../../../deploy/kubernetes/ferry-copy-job.yaml");
        let start = yaml.find("ferry-copy.toml: |\n").expect("the config block") + 19;
        let toml_text: String = yaml[start..]
            .lines()
            .take_while(|l| l.starts_with("    ") || l.trim().is_empty())
            .map(|l| format!("{}\n", l.trim_start()))
            .collect();
        let file = Args::from_toml(&toml_text).unwrap_or_else(|e| panic!("{e}\n{toml_text}"));
        let merged = parse(&["--worker-id", "pod-0"]).over(file);
        let options = merged.copy_options().unwrap();
        assert_eq!(
            options.progress_table.as_deref(),
            Some("ferry.copy_progress")
        );
        assert_eq!(options.job_id.as_deref(), Some("shop-2026-11"));
        assert_eq!(options.worker_id.as_deref(), Some("pod-0"));
        assert_eq!(options.tables, ["orders", "customers"]);
        assert!(yaml.contains("completionMode: Indexed"));
    }

    #[test]
    fn credentials_need_both_halves() {
        let e = parse(&[
            "--source",
            "h",
            "--disable-source-tls",
            "--source-username",
            "u",
        ])
        .session_config(Side::Source)
        .unwrap_err()
        .to_string();
        assert!(e.contains("needs a password"), "{e}");
    }
}
