//! Write and full-table scan throughput of a ferry-conn [`Session`] against
//! a real node: the Rust half of `scripts/bench-conn.sh`, which runs the
//! Python driver (`scripts/lib/bench_conn.py`) on the same workload in the
//! same run and records both in `docs/benchmarks.md`.
//!
//! Workload (the Python side does exactly the same):
//! 1. `CREATE KEYSPACE IF NOT EXISTS <ks>` (SimpleStrategy, RF 1), then drop
//!    and create `<ks>.<table> (k int PRIMARY KEY, a text, b bigint,
//!    c double, d blob)`;
//! 2. WRITE: `--rows` prepared INSERTs, `--concurrency` in flight at once;
//! 3. SCAN, three ways, in this order, each counting the rows and summing
//!    `k` (both must match what was written, or the run fails), with pages
//!    of `--page-size` rows:
//!    - `single`: one paged `SELECT *`, rows decoded into [`Row`]s (the
//!      Python driver's usual path);
//!    - `range`: the full ring split into `--ranges` token ranges, read
//!      `--range-parallelism` at a time, rows decoded;
//!    - `range_raw`: the same, but the pages' cells read in place (no
//!      [`Row`] per row): what a copy job that forwards cells pays.
//!
//! Each phase reports its wall-clock time and the CPU time this process
//! spent in it (the node shares the machine, so the client's own cost is
//! better seen in CPU time than in rows per second).
//!
//! `--write-only` stops after the writes; `--scan-only` skips the table's
//! creation and the writes, and scans a table an earlier run wrote (with
//! the same `--rows`). `scripts/bench-conn.sh` runs the two halves
//! separately so the node can settle in between.
//!
//! Prints one JSON object on stdout; progress goes to stderr.
//!
//! ```text
//! cargo run --release -p ferry-conn --example bench_conn -- \
//!     --host 127.0.0.2 --keyspace bench_x --rows 200000
//! ```
//!
//! [`Row`]: ferry_conn::session::Row

use std::num::NonZeroUsize;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferry_conn::session::{QueryOptions, Row, Session, SessionConfig};
use ferry_conn::token::{Token, TokenRange};
use ferry_conn::ConnectionConfig;
use ferry_wire::types::CqlValue;
use ferry_wire::{Consistency, ProtocolVersion};
use futures::{StreamExt, TryStreamExt};
use serde_json::json;

/// Command-line settings.
#[derive(Debug, Clone)]
struct Args {
    host: String,
    port: u16,
    keyspace: String,
    table: String,
    rows: i32,
    concurrency: usize,
    page_size: i32,
    ranges: usize,
    range_parallelism: usize,
    connections: usize,
    drop_keyspace: bool,
    scan_only: bool,
    write_only: bool,
}

const USAGE: &str = "usage: bench_conn --host H --keyspace KS [--port 9042] [--table rust_rows] \
[--rows 200000] [--concurrency 256] [--page-size 5000] [--ranges 64] \
[--range-parallelism 8] [--connections 2] [--drop-keyspace] [--write-only | --scan-only]";

impl Args {
    fn parse() -> Result<Self, String> {
        let mut a = Args {
            host: String::new(),
            port: 9042,
            keyspace: String::new(),
            table: "rust_rows".into(),
            rows: 200_000,
            concurrency: 256,
            page_size: 5000,
            ranges: 64,
            range_parallelism: 8,
            connections: 2,
            drop_keyspace: false,
            scan_only: false,
            write_only: false,
        };
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            if flag == "--drop-keyspace" {
                a.drop_keyspace = true;
                continue;
            }
            if flag == "--scan-only" {
                a.scan_only = true;
                continue;
            }
            if flag == "--write-only" {
                a.write_only = true;
                continue;
            }
            let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
            let bad = |e: std::num::ParseIntError| format!("{flag} {value}: {e}");
            match flag.as_str() {
                "--host" => a.host = value,
                "--port" => a.port = value.parse().map_err(bad)?,
                "--keyspace" => a.keyspace = value,
                "--table" => a.table = value,
                "--rows" => a.rows = value.parse().map_err(bad)?,
                "--concurrency" => a.concurrency = value.parse().map_err(bad)?,
                "--page-size" => a.page_size = value.parse().map_err(bad)?,
                "--ranges" => a.ranges = value.parse().map_err(bad)?,
                "--range-parallelism" => a.range_parallelism = value.parse().map_err(bad)?,
                "--connections" => a.connections = value.parse().map_err(bad)?,
                other => return Err(format!("unknown flag {other}")),
            }
        }
        if a.host.is_empty() || a.keyspace.is_empty() {
            return Err("--host and --keyspace are required".into());
        }
        if a.rows < 1 || a.concurrency < 1 || a.page_size < 1 || a.range_parallelism < 1 {
            return Err(
                "--rows, --concurrency, --page-size, --range-parallelism must be > 0".into(),
            );
        }
        Ok(a)
    }
}

/// The row with key `k`: the same values as `bench_conn.py` writes.
fn row_values(k: i32) -> Vec<CqlValue> {
    let mut blob = [0u8; 32];
    for (i, byte) in blob.iter_mut().enumerate() {
        // Wrapping on purpose: any deterministic filler will do.
        *byte = (k as u32).wrapping_mul(31).wrapping_add(i as u32) as u8;
    }
    vec![
        CqlValue::Int(k),
        CqlValue::from(format!("row-{k:08}-payload")),
        CqlValue::Bigint(i64::from(k) * 1000),
        CqlValue::Double(f64::from(k) * 0.5),
        CqlValue::Blob(Bytes::copy_from_slice(&blob)),
    ]
}

/// Rows seen and the sum of their keys: equal to what was written only if
/// every row came back exactly once (barring a very unlikely coincidence).
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct Tally {
    rows: u64,
    key_sum: i64,
}

impl Tally {
    fn expected(n: i32) -> Self {
        let n64 = i64::from(n);
        Tally {
            rows: n as u64,
            key_sum: n64 * (n64 - 1) / 2,
        }
    }

    fn add(&mut self, other: Tally) {
        self.rows += other.rows;
        self.key_sum += other.key_sum;
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn key_of(row: &Row) -> Result<i32, BoxError> {
    match row.by_name("k") {
        Some(CqlValue::Int(k)) => Ok(*k),
        other => Err(format!("row without an int key: {other:?}").into()),
    }
}

/// Counts a stream of decoded rows. The key is found by name once per
/// stream (the column order of `SELECT *` is the server's).
async fn tally_rows(
    mut rows: impl futures::Stream<Item = Result<Row, ferry_conn::SessionError>> + Unpin,
) -> Result<Tally, BoxError> {
    let mut t = Tally::default();
    let mut k_index = None;
    while let Some(row) = rows.try_next().await? {
        let k = match k_index {
            Some(i) => match row.get(i) {
                Some(CqlValue::Int(k)) => *k,
                other => return Err(format!("row without an int key: {other:?}").into()),
            },
            None => {
                k_index = row.index_of("k");
                key_of(&row)?
            }
        };
        t.rows += 1;
        t.key_sum += i64::from(k);
    }
    Ok(t)
}

/// Counts pages without decoding rows: the key cell is read in place.
async fn tally_pages(mut pages: ferry_conn::session::PageStream) -> Result<Tally, BoxError> {
    let mut t = Tally::default();
    while let Some(page) = pages.try_next().await? {
        let k_index = page
            .columns()
            .iter()
            .position(|c| c.name == "k")
            .ok_or("no column k")?;
        for row in page.rows().rows() {
            let cell = row?
                .raw_cells()
                .nth(k_index)
                .flatten()
                .ok_or("null or missing key")?;
            let bytes: [u8; 4] = cell.try_into().map_err(|_| "key is not 4 bytes")?;
            t.rows += 1;
            t.key_sum += i64::from(i32::from_be_bytes(bytes));
        }
    }
    Ok(t)
}

/// This process's CPU time (user + system) so far: the sum of its threads'
/// run time in `/proc/self/task/*/schedstat` (nanoseconds), or else
/// `/proc/self/stat` (clock ticks of 1/100 s: `USER_HZ` is 100 on Linux).
/// Threads that exit take their time with them in the first form; the
/// runtime's workers live as long as the process, and they do the work.
fn process_cpu() -> Option<Duration> {
    let threads = std::fs::read_dir("/proc/self/task").ok()?;
    let mut nanos = 0u64;
    for thread in threads {
        let path = thread.ok()?.path().join("schedstat");
        let Some(run) = std::fs::read_to_string(path)
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        else {
            return process_cpu_ticks();
        };
        nanos += run;
    }
    Some(Duration::from_nanos(nanos))
}

fn process_cpu_ticks() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may hold spaces: count from after its ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of the line (utime, stime) are 11 and 12 after ')'.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// Wall-clock and CPU time since a phase started.
struct Stopwatch {
    wall: Instant,
    cpu: Option<Duration>,
}

impl Stopwatch {
    fn start() -> Self {
        Self {
            wall: Instant::now(),
            cpu: process_cpu(),
        }
    }

    /// The phase's figures, `rows` having been written or read.
    fn finish(&self, rows: u64) -> serde_json::Value {
        let secs = self.wall.elapsed().as_secs_f64();
        let cpu = match (self.cpu, process_cpu()) {
            (Some(a), Some(b)) => Some(b.saturating_sub(a).as_secs_f64()),
            _ => None,
        };
        json!({
            "rows": rows,
            "seconds": secs,
            "rows_per_sec": rows as f64 / secs,
            "client_cpu_seconds": cpu,
        })
    }
}

fn check(what: &str, got: Tally, want: Tally) -> Result<(), BoxError> {
    if got != want {
        return Err(format!(
            "{what}: read {} rows (key sum {}), expected {} (key sum {})",
            got.rows, got.key_sum, want.rows, want.key_sum
        )
        .into());
    }
    eprintln!("[bench_conn] {what}: {} rows verified", got.rows);
    Ok(())
}

/// Peak resident set size of this process in KiB (`VmHWM`), if readable.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

async fn run(args: Args) -> Result<serde_json::Value, BoxError> {
    let config = SessionConfig::new([format!("{}:{}", args.host, args.port)])
        .with_connection(
            ConnectionConfig::new("")
                .with_pinned_version(ProtocolVersion::V3)
                .with_request_timeout(Duration::from_secs(60))
                .with_connect_timeout(Duration::from_secs(10)),
        )
        .with_connections_per_node(args.connections)
        .with_consistency(Consistency::One)
        .with_page_size(args.page_size);
    let session = Session::connect(config.clone()).await?;
    let (ks, table) = (&args.keyspace, &args.table);
    let ddl = QueryOptions::new().with_consistency(Consistency::All);
    session
        .query(
            &format!(
                "CREATE KEYSPACE IF NOT EXISTS {ks} WITH replication = \
                 {{'class': 'SimpleStrategy', 'replication_factor': 1}}"
            ),
            (),
            ddl.clone(),
        )
        .await?;
    let mut results = serde_json::Map::new();
    if !args.scan_only {
        session
            .query(
                &format!("DROP TABLE IF EXISTS {ks}.{table}"),
                (),
                ddl.clone(),
            )
            .await?;
        session
            .query(
                &format!(
                    "CREATE TABLE {ks}.{table} (k int PRIMARY KEY, a text, b bigint, c double, d blob)"
                ),
                (),
                ddl.clone(),
            )
            .await?;
        let insert = session
            .prepare(&format!(
                "INSERT INTO {ks}.{table} (k, a, b, c, d) VALUES (?, ?, ?, ?, ?)"
            ))
            .await?;
        // WRITE: a bounded number of executes in flight, driven by one task
        // (the futures only encode and wait; the connections' own tasks do the
        // I/O on the other worker threads).
        eprintln!(
            "[bench_conn] writing {} rows, {} in flight",
            args.rows, args.concurrency
        );
        let clock = Stopwatch::start();
        futures::stream::iter(0..args.rows)
            .map(|k| {
                let (session, insert) = (&session, &insert);
                async move {
                    session
                        .execute(insert, row_values(k), QueryOptions::new().idempotent(true))
                        .await
                }
            })
            .buffer_unordered(args.concurrency)
            .try_for_each(|_| async { Ok(()) })
            .await?;
        results.insert("write".into(), clock.finish(args.rows as u64));
    }

    if !args.write_only {
        let want = Tally::expected(args.rows);
        let partitioner = session.partitioner().ok_or("no computable partitioner")?;
        let ranges = TokenRange::full_ring(partitioner)
            .split(NonZeroUsize::new(args.ranges).ok_or("--ranges must be > 0")?);

        // SCAN with one paged SELECT *.
        eprintln!(
            "[bench_conn] scan single: SELECT * in pages of {}",
            args.page_size
        );
        let clock = Stopwatch::start();
        let total = tally_rows(session.query_stream(
            &format!("SELECT * FROM {ks}.{table}"),
            (),
            QueryOptions::new(),
        ))
        .await?;
        check("single", total, want)?;
        results.insert("single".into(), clock.finish(total.rows));

        // Untimed: the first scan reads the table's partition key from the
        // schema and prepares the range statement (cached by the session
        // afterwards), as the Python side prepares its statement before timing.
        if let Some(first) = ranges[0].start().murmur3_value() {
            let tiny = TokenRange::new(
                Token::murmur3(first),
                Token::murmur3(first.saturating_add(1)),
            )?;
            session
                .scan_range(ks, table, &[], &tiny, QueryOptions::new())
                .await?
                .try_collect::<Vec<_>>()
                .await?;
        }

        // SCAN by token ranges, each range a spawned task so rows are decoded
        // on every worker thread.
        for raw in [false, true] {
            let name = if raw { "range_raw" } else { "range" };
            eprintln!(
                "[bench_conn] scan {name}: {} ranges, {} at a time",
                ranges.len(),
                args.range_parallelism
            );
            let clock = Stopwatch::start();
            let tallies: Vec<Tally> = futures::stream::iter(ranges.iter().cloned())
                .map(|range| {
                    let session = session.clone();
                    let (ks, table) = (ks.clone(), table.clone());
                    tokio::spawn(async move {
                        if raw {
                            let pages = session
                                .scan_range_pages(&ks, &table, &[], &range, QueryOptions::new())
                                .await?;
                            tally_pages(pages).await
                        } else {
                            let rows = session
                                .scan_range(&ks, &table, &[], &range, QueryOptions::new())
                                .await?;
                            tally_rows(rows).await
                        }
                    })
                })
                .buffer_unordered(args.range_parallelism)
                .map(|joined| joined.map_err(BoxError::from).and_then(|t| t))
                .try_collect()
                .await?;
            let mut total = Tally::default();
            tallies.into_iter().for_each(|t| total.add(t));
            check(name, total, want)?;
            results.insert(name.into(), clock.finish(total.rows));
        }
    }

    if args.drop_keyspace {
        session
            .query(&format!("DROP KEYSPACE {ks}"), (), ddl)
            .await?;
    }
    session.close().await;

    Ok(json!({
        "client": "ferry-conn",
        "rows": args.rows,
        "concurrency": args.concurrency,
        "page_size": args.page_size,
        "ranges": args.ranges,
        "range_parallelism": args.range_parallelism,
        "connections_per_node": args.connections,
        "protocol_version": 3,
        "worker_threads": tokio::runtime::Handle::current().metrics().num_workers(),
        "results": results,
        "peak_rss_kib": peak_rss_kib(),
    }))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match Args::parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("bench_conn: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    // On a worker thread: the main thread would be woken through a futex
    // for every response, while workers wake each other's tasks cheaply.
    let outcome = match tokio::spawn(run(args)).await {
        Ok(outcome) => outcome,
        Err(e) => Err(BoxError::from(e)),
    };
    match outcome {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench_conn: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}
