//! The command line. Every option of the proxy can also be set in the TOML
//! file given with `--config`; a flag given on the command line wins.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use ferry_cli::{ClusterProfile, Clusters, Headings, HostsArg, Profile, Secret, Side, TlsDefault};

/// Ferry's dual-write proxy for live Cassandra migrations.
///
/// Point the application at the proxy instead of the SOURCE cluster. Every
/// request goes to SOURCE and the application gets SOURCE's answers; every
/// write (INSERT, UPDATE, DELETE, BATCH, TRUNCATE, schema changes) is also
/// applied to TARGET, with the same write timestamp, so both clusters hold
/// the same cells. Reads go to SOURCE only. For the cutover, --primary
/// target (or POST /primary?cluster=target on the metrics port) turns the
/// roles around: applications are served by TARGET and writes are mirrored
/// to SOURCE, so a rollback stays possible.
///
/// Example: ferry-proxy 10.0.0.1 10.0.1.1 --source-ca ca.pem --target-ca ca.pem
/// --failed-write-log /var/lib/ferry/failed.log --metrics-port 28000
#[derive(Debug, Parser)]
#[command(
    name = "ferry-proxy",
    version,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    /// Run something else than the proxy.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// The proxy's options.
    #[command(flatten)]
    pub proxy: ProxyArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply a failed-write log to the target (once it is healthy again).
    ///
    /// Each write is applied as it was logged, with its original write
    /// timestamp, so running a replay twice writes identical cells (except
    /// for counter updates, lightweight transactions and list writes,
    /// which are not idempotent: see --skip-non-idempotent). Exits with
    /// status 1 if any record could not be applied.
    Replay(Box<ReplayArgs>),
    /// Print a failed-write log as JSON lines (one record per line, the
    /// body in hex), to inspect it.
    Dump {
        /// The log file.
        log: PathBuf,
    },
}

/// Options of the proxy itself (also the shape of the TOML file).
#[derive(Debug, Args, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProxyArgs {
    /// TOML file setting any of these options (keys are the long flag
    /// names with '_' for '-', e.g. write_mode = "sync"). Flags given on
    /// the command line win over the file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// The source and target clusters: hosts, ports, logins and TLS (the
    /// flags every Ferry program shares; see ferry-cli).
    #[command(flatten)]
    #[serde(skip)]
    pub clusters: Clusters<ProxyClusters>,

    /// Port the proxy listens on for applications [default: 29042].
    #[arg(long, value_name = "PORT")]
    pub proxy_port: Option<u16>,

    /// Address the proxy listens on [default: 127.0.0.1]. Use 0.0.0.0 (or
    /// a specific interface) for applications on other hosts, with
    /// --proxy-tls-cert/--proxy-tls-key (or --proxy-tls-pkcs12) unless the
    /// network is trusted.
    #[arg(long, value_name = "ADDRESS")]
    pub bind: Option<String>,

    /// PEM certificate chain the proxy presents to applications: with
    /// --proxy-tls-key, applications must connect with TLS [default: plain
    /// TCP]. For a PKCS#12 bundle use --proxy-tls-pkcs12 instead.
    #[arg(long, value_name = "PEM")]
    pub proxy_tls_cert: Option<PathBuf>,

    /// PEM private key of --proxy-tls-cert (PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "PEM")]
    pub proxy_tls_key: Option<PathBuf>,

    /// PKCS#12 file (.p12/.pfx, as `openssl pkcs12 -export`, Java's keytool
    /// and cloud consoles write it) holding the certificate chain and
    /// private key the proxy presents to applications, instead of
    /// --proxy-tls-cert and --proxy-tls-key: applications must connect
    /// with TLS. Its password: FERRY_PROXY_TLS_PKCS12_PASSWORD,
    /// --proxy-tls-pkcs12-password-file or --proxy-tls-pkcs12-password.
    #[arg(long, value_name = "FILE")]
    pub proxy_tls_pkcs12: Option<PathBuf>,

    /// Password of --proxy-tls-pkcs12 [default: empty]. Prefer
    /// FERRY_PROXY_TLS_PKCS12_PASSWORD or --proxy-tls-pkcs12-password-file:
    /// a command line is visible in `ps`.
    #[arg(
        long,
        value_name = "PASSWORD",
        env = "FERRY_PROXY_TLS_PKCS12_PASSWORD",
        hide_env_values = true,
        value_parser = secret_arg
    )]
    #[serde(deserialize_with = "secret_from_toml")]
    pub proxy_tls_pkcs12_password: Option<Secret>,

    /// File holding the password of --proxy-tls-pkcs12 (first line).
    #[arg(long, value_name = "FILE")]
    pub proxy_tls_pkcs12_password_file: Option<PathBuf>,

    /// PEM CA bundle: applications must present a client certificate
    /// signed by one of these CAs (needs --proxy-tls-cert and
    /// --proxy-tls-key, or --proxy-tls-pkcs12).
    #[arg(long, value_name = "PEM")]
    pub proxy_tls_client_ca: Option<PathBuf>,

    /// The cluster applications are relayed to (their handshake, reads and
    /// answers) [default: source]. The other one gets the mirrored writes.
    /// `target` is the cutover phase: the source stays in sync, so a
    /// rollback stays possible. Switch at run time without a restart with
    /// `curl -X POST 'http://127.0.0.1:METRICS_PORT/primary?cluster=target'`.
    #[arg(long, value_name = "CLUSTER")]
    pub primary: Option<String>,

    /// The failed-write log for writes mirrored to the source while the
    /// target is primary [default: the --failed-write-log path with
    /// `.to-source` before its extension]. Replay it to the source.
    #[arg(long, value_name = "PATH")]
    pub source_failed_write_log: Option<PathBuf>,

    /// How often /health/ready probes both clusters, in milliseconds
    /// [default: 2000].
    #[arg(long, value_name = "MS")]
    pub health_interval_ms: Option<u64>,

    /// Highest native protocol version applications may use (2 to 5)
    /// [default: 5, lowered to what both clusters support]. Drivers that
    /// offer more get a protocol error and step down.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(2..=5))]
    pub protocol_version: Option<u8>,

    /// CQL_VERSION the proxy sends in its own STARTUP to the target
    /// [default: 3.0.0] (applications' STARTUPs go to the source as sent).
    #[arg(long, value_name = "VERSION")]
    pub cql_version: Option<String>,

    /// When the application gets its answer for a write [default: async].
    /// async: as soon as the source answers; the target write goes through
    /// a bounded retry queue, then to the failed-write log if it keeps
    /// failing. sync: once both answered; a target failure is the
    /// application's error. Schema changes are always answered after both.
    /// off: mirror nothing (a pass-through relay to the source, no target
    /// connection; writes made meanwhile are not on the target), for
    /// measuring the proxy itself or pausing the mirroring.
    #[arg(long, value_name = "MODE")]
    pub write_mode: Option<String>,

    /// Target writes pending at once, queued or in flight [default: 10000].
    #[arg(long, value_name = "N")]
    pub queue_capacity: Option<usize>,

    /// What a write does when the queue is full [default: spill].
    /// spill: append it to the failed-write log (the application keeps its
    /// speed; replay the log later). backpressure: wait for room (the
    /// application slows down to the target's pace).
    #[arg(long, value_name = "POLICY")]
    pub full_queue: Option<String>,

    /// Retries of a failed target write before it is logged [default: 5],
    /// with a backoff from 100 ms doubling to 5 s.
    #[arg(long, value_name = "N")]
    pub max_retries: Option<u32>,

    /// The durable log of target writes that could not be applied
    /// [default: ./ferry-failed-writes.log]. Replay it with
    /// `ferry-proxy replay`.
    #[arg(long, value_name = "PATH")]
    pub failed_write_log: Option<PathBuf>,

    /// Prepared statements remembered (LRU) [default: 10000].
    #[arg(long, value_name = "N")]
    pub prepared_cache_size: Option<usize>,

    /// Timeout of one target request, in milliseconds [default: 12000].
    #[arg(long, value_name = "MS")]
    pub target_timeout_ms: Option<u64>,

    /// In async mode, how long (milliseconds) a schema change's answer
    /// waits for the target after the source answered; then the client
    /// gets the source's answer and the target finishes it in the
    /// background. Keep it below your drivers' request timeout
    /// [default: 5000].
    #[arg(long, value_name = "MS")]
    pub async_schema_wait_ms: Option<u64>,

    /// On shutdown, seconds to wait for pending target writes before the
    /// rest are spilled to the failed-write log [default: 30].
    #[arg(long, value_name = "SECONDS")]
    pub drain_timeout_secs: Option<u64>,

    /// Topology-rewrite mode: every proxy instance the applications use,
    /// as IP[:PORT],... (PORT defaults to --proxy-port; give every instance
    /// the same list). Answers to SELECTs on system.local, system.peers and
    /// system.peers_v2 then describe these instances instead of the source
    /// nodes, so drivers that discover the cluster connect to the proxies
    /// only. [default: off: the source's answers are relayed]
    #[arg(long, value_name = "ADDRESSES")]
    pub proxy_topology_addresses: Option<String>,

    /// This instance's position (from 0) in --proxy-topology-addresses
    /// [default: 0 when the list has one entry].
    #[arg(long, value_name = "N")]
    pub proxy_topology_index: Option<usize>,

    /// Also send each read to the target, in the background, to warm it up
    /// and measure its latency (ferry_proxy_mirrored_read_* metrics). The
    /// application still gets the source's answer, never delayed.
    #[arg(long)]
    pub mirror_reads: bool,

    /// Mirrored reads waiting for the target at once; further reads are
    /// not mirrored (counted in ferry_proxy_mirrored_reads_dropped_total)
    /// [default: 1024].
    #[arg(long, value_name = "N")]
    pub mirror_reads_max_in_flight: Option<usize>,

    /// Replace now() and uuid() in writes with values generated by the
    /// proxy (literals in queries, extra bound values in prepared
    /// statements, invisible to the application), so both clusters store
    /// the same ids. [default: off: each cluster evaluates them]
    #[arg(long)]
    pub replace_time_functions: bool,

    /// Serve the metrics and admin endpoint on http://127.0.0.1:PORT
    /// [default: off]: GET /metrics (Prometheus), GET /health/live, GET
    /// /health/ready (200 when both clusters answer, else 503 with a JSON
    /// reason), POST /primary?cluster=source|target (switch the primary).
    #[arg(long, value_name = "PORT")]
    pub metrics_port: Option<u16>,

    /// Address of the metrics endpoint [default: 127.0.0.1]. Anyone who
    /// can reach it can switch the primary: keep it local or firewalled.
    #[arg(long, value_name = "ADDRESS")]
    pub metrics_bind: Option<String>,

    /// Start without checking both clusters first (their versions and the
    /// protocol versions they share).
    #[arg(long)]
    pub skip_startup_check: bool,

    /// Log filter, e.g. info, debug, ferry_router=debug [default: info;
    /// RUST_LOG also works].
    #[arg(long, value_name = "FILTER")]
    pub log_level: Option<String>,
}

/// A password flag's value, held as a [`Secret`] so it is never printed.
fn secret_arg(value: &str) -> Result<Secret, std::convert::Infallible> {
    Ok(Secret::new(value))
}

/// A password key of the TOML file, held as a [`Secret`].
fn secret_from_toml<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
    let value: Option<String> = serde::Deserialize::deserialize(d)?;
    Ok(value.map(Secret::new))
}

/// Options of `replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The failed-write log.
    pub log: PathBuf,

    /// The target cluster: host, port, login and TLS.
    #[command(flatten)]
    pub clusters: Clusters<ReplayClusters>,

    /// Skip records that are not idempotent (counter updates, lightweight
    /// transactions, list writes, writes without a timestamp, DDL), e.g.
    /// when replaying a log a second time.
    #[arg(long)]
    pub skip_non_idempotent: bool,

    /// Log filter [default: info].
    #[arg(long, value_name = "FILTER")]
    pub log_level: Option<String>,
}

/// The proxy's connection flags: one host per cluster (`SOURCE TARGET`),
/// TLS on by default, and the proxy's own meaning of the logins.
#[derive(Debug)]
pub struct ProxyClusters;

impl ClusterProfile for ProxyClusters {
    const PROFILE: Profile = Profile {
        sides: &Side::BOTH,
        hosts: HostsArg::Positional,
        tls: TlsDefault::On,
        datacenter: false,
        headings: NO_HEADINGS,
        help: &[
            (
                "target_username",
                "User for the target while it is the mirror (the default). Without it, the proxy \
                 logs in to the target with the credentials each application connection sends the \
                 source. (While the target is primary, applications log in to it themselves.)",
            ),
            (
                "source_username",
                "User for the source, for the startup check and for mirroring writes to it while \
                 the target is primary (only needed if the source requires authentication and \
                 applications' own credentials should not be reused; while the source is primary, \
                 applications' credentials are relayed to it as they are).",
            ),
        ],
    };
}

/// `replay`'s connection flags: the target only, `--target HOST`.
#[derive(Debug)]
pub struct ReplayClusters;

impl ClusterProfile for ReplayClusters {
    const PROFILE: Profile = Profile {
        sides: &[Side::Target],
        hosts: HostsArg::RequiredSingle,
        tls: TlsDefault::On,
        datacenter: false,
        headings: NO_HEADINGS,
        help: &[],
    };
}

const NO_HEADINGS: Headings = Headings {
    clusters: None,
    auth: None,
    tls: None,
};
