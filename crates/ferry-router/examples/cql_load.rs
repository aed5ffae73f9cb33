//! A CQL load generator for `scripts/bench-proxy.sh`: many requests in
//! flight on few connections, as drivers do, with prepared INSERTs and
//! some prepared point reads; reports throughput and latency percentiles.
//!
//! The same load runs against the source directly, through a plain TCP
//! forwarder, and through ferry-proxy, so only the address changes.
//!
//! ```text
//! cql_load --setup 127.0.0.8:9042 --setup 127.0.0.9:9042 --keyspace bench_x
//! cql_load --address 127.0.0.8:29042 --keyspace bench_x --label proxy \
//!     --connections 1 --in-flight 32 --warmup-secs 3 --duration-secs 15
//! ```
//!
//! - `--setup ADDR` (repeatable): create the keyspace and table there
//!   (`<ks>.load (k int PRIMARY KEY, a text, b bigint)`, RF 1), then go on
//!   (or stop, without `--address`).
//! - `--address ADDR`: where the load goes.
//! - `--in-flight N` requests at once, spread over `--connections C`
//!   connections (each in-flight slot is a task that sends its next request
//!   as soon as the previous one is answered).
//! - `--read-percent P`: that share of requests are prepared `SELECT`s of a
//!   key written earlier; the rest are prepared INSERTs of new keys.
//! - Timed runs: `--warmup-secs` (not counted) then `--duration-secs`
//!   (counted: requests started after the warm-up and answered before the
//!   end). Counted runs: `--requests N` (all counted, no warm-up), for
//!   instruction counts under callgrind.
//! - `--protocol V` pins the protocol version (3 for Cassandra 2.1).
//! - `--also-write ADDR`: the application writes both clusters itself, with
//!   no proxy: every INSERT also goes to ADDR, with the same client
//!   timestamp, and counts as answered when both clusters have answered
//!   (reads go to `--address` only). On one machine that holds both nodes
//!   this is the ceiling of any dual write: both nodes' work for each
//!   write, and nothing else.
//!
//! Prints one JSON object on stdout: the label, requests, seconds, op/s,
//! latency percentiles in microseconds, errors, and this process's CPU time.

use std::process::ExitCode;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferry_conn::{Connection, ConnectionConfig};
use ferry_wire::request::{BoundValues, QueryParameters};
use ferry_wire::response::Prepared;
use ferry_wire::{Consistency, ProtocolVersion, RawValue};

const USAGE: &str = "usage: cql_load [--setup ADDR]... [--address ADDR] --keyspace KS \
[--label NAME] [--connections 1] [--in-flight 32] [--read-percent 10] \
[--warmup-secs 3 --duration-secs 15 | --requests N] [--protocol 3] [--also-write ADDR]";

#[derive(Debug, Clone)]
struct Args {
    setup: Vec<String>,
    address: Option<String>,
    also_write: Option<String>,
    keyspace: String,
    label: String,
    connections: usize,
    in_flight: usize,
    read_percent: u32,
    warmup: Duration,
    duration: Duration,
    requests: Option<u64>,
    protocol: Option<ProtocolVersion>,
}

impl Args {
    fn parse() -> Result<Args, String> {
        let mut a = Args {
            setup: Vec::new(),
            address: None,
            also_write: None,
            keyspace: String::new(),
            label: "load".into(),
            connections: 1,
            in_flight: 32,
            read_percent: 10,
            warmup: Duration::from_secs(3),
            duration: Duration::from_secs(15),
            requests: None,
            protocol: None,
        };
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            if flag == "-h" || flag == "--help" {
                return Err(String::new());
            }
            let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
            let num = |v: &str| -> Result<u64, String> {
                v.parse::<u64>()
                    .map_err(|e| format!("{flag} {v}: {e} (expected a whole number)"))
            };
            match flag.as_str() {
                "--setup" => a.setup.push(value),
                "--address" => a.address = Some(value),
                "--also-write" => a.also_write = Some(value),
                "--keyspace" => a.keyspace = value,
                "--label" => a.label = value,
                "--connections" => a.connections = num(&value)? as usize,
                "--in-flight" => a.in_flight = num(&value)? as usize,
                "--read-percent" => a.read_percent = num(&value)?.min(100) as u32,
                "--warmup-secs" => a.warmup = Duration::from_secs_f64(num(&value)? as f64),
                "--duration-secs" => a.duration = Duration::from_secs_f64(num(&value)? as f64),
                "--requests" => a.requests = Some(num(&value)?),
                "--protocol" => {
                    let n = num(&value)?;
                    a.protocol = Some(
                        ProtocolVersion::ALL
                            .iter()
                            .copied()
                            .find(|v| u64::from(v.number()) == n)
                            .ok_or_else(|| format!("--protocol {value}: expected 2 to 5"))?,
                    );
                }
                other => return Err(format!("unknown flag {other}")),
            }
        }
        if a.keyspace.is_empty() {
            return Err("--keyspace is required".into());
        }
        if a.connections == 0 || a.in_flight == 0 {
            return Err("--connections and --in-flight must be at least 1".into());
        }
        Ok(a)
    }

    fn config(&self, address: &str) -> ConnectionConfig {
        let config = ConnectionConfig::new(address).with_request_timeout(Duration::from_secs(30));
        match self.protocol {
            Some(v) => config.with_pinned_version(v),
            None => config,
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn setup(args: &Args, address: &str) -> Result<(), BoxError> {
    let conn = Connection::connect(&args.config(address)).await?;
    let ks = &args.keyspace;
    conn.query(
        &format!(
            "CREATE KEYSPACE IF NOT EXISTS {ks} WITH replication = \
             {{'class': 'SimpleStrategy', 'replication_factor': 1}}"
        ),
        Consistency::One,
    )
    .await?;
    conn.query(
        &format!("CREATE TABLE IF NOT EXISTS {ks}.load (k int PRIMARY KEY, a text, b bigint)"),
        Consistency::One,
    )
    .await?;
    conn.close().await;
    Ok(())
}

/// What the in-flight slots share.
struct Shared {
    started: Instant,
    /// Counted window, as offsets from `started` (timed runs).
    window: Option<(Duration, Duration)>,
    /// Requests left to start (counted runs).
    left: Option<AtomicU64>,
    /// The run's first key, and one past the highest key written so far
    /// (reads pick keys between the two).
    first_key: i64,
    written: AtomicI64,
    next_key: AtomicI64,
    errors: AtomicU64,
    read_percent: u32,
}

/// Latencies (µs) of one slot's counted requests, and how many were reads.
struct SlotResult {
    latencies: Vec<u32>,
    reads: u64,
    last_error: Option<String>,
}

fn int(v: i32) -> RawValue {
    RawValue::Bytes(Bytes::copy_from_slice(&v.to_be_bytes()))
}

fn params(values: Vec<RawValue>) -> QueryParameters {
    let mut p = QueryParameters::new(Consistency::One);
    p.values = Some(BoundValues::Positional(values));
    p
}

/// One connection's prepared statements; `second` is the connection to
/// the other cluster and its INSERT, with `--also-write`.
#[derive(Clone)]
struct Lane {
    conn: Connection,
    insert: Arc<Prepared>,
    select: Arc<Prepared>,
    second: Option<(Connection, Arc<Prepared>)>,
}

/// Microseconds since the Unix epoch: the client timestamp both clusters
/// get with `--also-write`, so they store the same writetime.
fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// One in-flight slot: sends a request, waits for it, sends the next.
async fn slot(lane: Lane, shared: Arc<Shared>, seed: u64) -> SlotResult {
    let Lane {
        conn,
        insert,
        select,
        second,
    } = lane;
    let mut rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = SlotResult {
        latencies: Vec::with_capacity(1 << 16),
        reads: 0,
        last_error: None,
    };
    let payload = "x".repeat(40);
    loop {
        if let Some(left) = &shared.left {
            if left
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_err()
            {
                break;
            }
        }
        let start = Instant::now();
        let offset = start - shared.started;
        if let Some((_, end)) = shared.window {
            if offset >= end {
                break;
            }
        }
        // xorshift: cheap, deterministic per slot.
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let written = shared.written.load(Ordering::Relaxed);
        let span = written - shared.first_key;
        let read = span > 0 && (rng % 100) < u64::from(shared.read_percent);
        let result = if read {
            let k = shared.first_key + (rng >> 8) as i64 % span;
            conn.execute(&select, params(vec![int(k as i32)])).await
        } else {
            let k = shared.next_key.fetch_add(1, Ordering::Relaxed);
            let values = vec![
                int(k as i32),
                RawValue::Bytes(Bytes::from(format!("{payload}-{k}"))),
                RawValue::Bytes(Bytes::copy_from_slice(&(k * 1000).to_be_bytes())),
            ];
            let r = match &second {
                None => conn.execute(&insert, params(values)).await,
                Some((other, other_insert)) => {
                    let mut first = params(values);
                    first.default_timestamp = Some(now_micros());
                    let copy = first.clone();
                    let (a, b) = tokio::join!(
                        conn.execute(&insert, first),
                        other.execute(other_insert, copy)
                    );
                    a.and(b)
                }
            };
            if r.is_ok() {
                shared.written.fetch_max(k + 1, Ordering::Relaxed);
            }
            r
        };
        let done = Instant::now();
        if let Err(e) = result {
            shared.errors.fetch_add(1, Ordering::Relaxed);
            out.last_error = Some(e.to_string());
            continue;
        }
        let counted = match shared.window {
            Some((from, end)) => offset >= from && done - shared.started <= end,
            None => true,
        };
        if counted {
            let us = (done - start).as_micros().min(u128::from(u32::MAX)) as u32;
            out.latencies.push(us);
            out.reads += u64::from(read);
        }
    }
    out
}

/// User + system CPU seconds of this process, from /proc/self/stat.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return f64::NAN;
    };
    // Fields after the command name (which is in parentheses).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    // utime, stime are fields 14 and 15 of the line: 11 and 12 after ')'.
    match (ticks(11), ticks(12)) {
        (Some(u), Some(s)) => (u + s) / 100.0,
        _ => f64::NAN,
    }
}

fn percentile(sorted: &[u32], q: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

async fn run(args: Args) -> Result<(), BoxError> {
    for address in &args.setup {
        setup(&args, address)
            .await
            .map_err(|e| format!("setting up {address}: {e}"))?;
    }
    let Some(address) = args.address.clone() else {
        return Ok(());
    };
    let ks = &args.keyspace;
    let mut conns = Vec::with_capacity(args.connections);
    for _ in 0..args.connections {
        let conn = Connection::connect(&args.config(&address))
            .await
            .map_err(|e| format!("connecting to {address}: {e}"))?;
        let insert = conn
            .prepare(&format!("INSERT INTO {ks}.load (k, a, b) VALUES (?, ?, ?)"))
            .await?;
        let select = conn
            .prepare(&format!("SELECT k, a, b FROM {ks}.load WHERE k = ?"))
            .await?;
        let second = match &args.also_write {
            None => None,
            Some(other) => {
                let other_conn = Connection::connect(&args.config(other))
                    .await
                    .map_err(|e| format!("connecting to {other} (--also-write): {e}"))?;
                let other_insert = other_conn
                    .prepare(&format!("INSERT INTO {ks}.load (k, a, b) VALUES (?, ?, ?)"))
                    .await?;
                Some((other_conn, Arc::new(other_insert)))
            }
        };
        conns.push(Lane {
            conn,
            insert: Arc::new(insert),
            select: Arc::new(select),
            second,
        });
    }
    // Keys differ between runs of one keyspace, so each run inserts.
    let first_key = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
        % 1000)
        * 1_000_000;
    let shared = Arc::new(Shared {
        started: Instant::now(),
        window: match args.requests {
            Some(_) => None,
            None => Some((args.warmup, args.warmup + args.duration)),
        },
        left: args.requests.map(AtomicU64::new),
        first_key,
        written: AtomicI64::new(first_key),
        next_key: AtomicI64::new(first_key),
        errors: AtomicU64::new(0),
        read_percent: args.read_percent,
    });
    let cpu_before = cpu_seconds();
    let mut tasks = Vec::with_capacity(args.in_flight);
    for i in 0..args.in_flight {
        let lane = conns[i % conns.len()].clone();
        tasks.push(tokio::spawn(slot(lane, shared.clone(), i as u64 + 1)));
    }
    let mut latencies = Vec::new();
    let mut reads = 0;
    let mut last_error = None;
    for t in tasks {
        let r = t.await?;
        latencies.extend_from_slice(&r.latencies);
        reads += r.reads;
        last_error = last_error.or(r.last_error);
    }
    let elapsed = shared.started.elapsed();
    let cpu = cpu_seconds() - cpu_before;
    let seconds = match shared.window {
        Some((from, end)) => (end - from).as_secs_f64(),
        None => elapsed.as_secs_f64(),
    };
    latencies.sort_unstable();
    let n = latencies.len() as u64;
    let json = serde_json::json!({
        "label": args.label,
        "address": address,
        "also_write": args.also_write,
        "connections": args.connections,
        "in_flight": args.in_flight,
        "read_percent": args.read_percent,
        "requests": n,
        "reads": reads,
        "seconds": seconds,
        "ops_per_s": n as f64 / seconds,
        "p50_us": percentile(&latencies, 0.50),
        "p90_us": percentile(&latencies, 0.90),
        "p99_us": percentile(&latencies, 0.99),
        "p999_us": percentile(&latencies, 0.999),
        "max_us": latencies.last().copied().unwrap_or(0),
        "errors": shared.errors.load(Ordering::Relaxed),
        "last_error": last_error,
        "client_cpu_s": cpu,
    });
    println!("{json}");
    for lane in conns {
        lane.conn.close().await;
        if let Some((other, _)) = lane.second {
            other.close().await;
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = match Args::parse() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("cql_load: {e}");
            }
            eprintln!("{USAGE}");
            return if e.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            };
        }
    };
    // Two worker threads: the machine has two cores, and a client that
    // spreads over more only adds cross-thread wakeups.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cql_load: {e}");
            ExitCode::FAILURE
        }
    }
}
