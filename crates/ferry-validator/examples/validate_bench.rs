//! Validation throughput against the real `source` and `target` groups.
//!
//! ```text
//! cargo run --release -p ferry-validator --example validate_bench -- [ROWS] [PARALLEL]
//! ```
//!
//! Loads ROWS rows (default 200,000; 10 per partition) into a fresh keyspace
//! on both clusters, measures the raw full-scan rate of each cluster (the
//! same ranges and parallelism, rows counted and dropped; each alone, then
//! both at once as a validation reads them), then validates
//! the table and prints rows/s, the ratio to the slower raw scan, and the
//! peak memory of the validation. Drops the keyspace at the end.

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
    session
        .query(
            cql,
            (),
            QueryOptions::new().with_consistency(Consistency::All),
        )
        .await
        .unwrap_or_else(|e| panic!("{cql}: {e}"));
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
                        // Touch every cell, as a consumer would.
                        let mut n = 0;
                        for row in page.rows().rows() {
                            n += row.unwrap().cells().count() / 5;
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
    let mut args = std::env::args().skip(1);
    let rows: i32 = args.next().map_or(200_000, |a| a.parse().expect("ROWS"));
    let parallel: usize = args.next().map_or(8, |a| a.parse().expect("PARALLEL"));
    let (s, t) = (NodeGroup::require("source"), NodeGroup::require("target"));
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
    let (source_rows, source_rate) = raw_scan(&source, &keyspace, &ranges, parallel).await;
    let (target_rows, target_rate) = raw_scan(&target, &keyspace, &ranges, parallel).await;
    assert_eq!(source_rows, rows as u64);
    assert_eq!(target_rows, rows as u64);
    let slower = source_rate.min(target_rate);
    // Both at once, as the validation reads them: on one machine the two
    // clusters compete for the same cores, so this is the fair baseline.
    let started = Instant::now();
    tokio::join!(
        raw_scan(&source, &keyspace, &ranges, parallel),
        raw_scan(&target, &keyspace, &ranges, parallel)
    );
    let together = rows as f64 / started.elapsed().as_secs_f64();

    // Peak memory from here on (Linux: writing 5 to clear_refs resets VmHWM).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = peak_rss_kib();
    let mut vconfig = ValidatorConfig::new(vec![TableRef::table(&keyspace, "b")]);
    vconfig.parallelism = parallel;
    let validator = Validator::new(source.clone(), target.clone(), vconfig).unwrap();
    let started = Instant::now();
    let report = validator.run().await;
    let secs = started.elapsed().as_secs_f64();
    let peak = peak_rss_kib();
    let t0 = &report.tables[0];
    assert_eq!(report.exit_code(), 0, "{}", report.summary(5));
    assert_eq!(t0.counts.matched, rows as u64);
    let rate = rows as f64 / secs;
    println!("rows per cluster:        {rows}");
    println!("ranges / parallelism:    {} / {parallel}", ranges.len());
    println!("raw scan, source:        {source_rate:.0} rows/s");
    println!("raw scan, target:        {target_rate:.0} rows/s");
    println!("raw scan, both at once:  {together:.0} rows/s (per cluster)");
    println!(
        "validation:              {rate:.0} rows/s ({secs:.2} s): {:.0}% of the slower raw scan alone, {:.0}% of both scanned at once",
        100.0 * rate / slower,
        100.0 * rate / together
    );
    println!(
        "peak RSS (VmHWM):        {} MiB before, {} MiB during validation",
        before.map_or("?".into(), |k| (k / 1024).to_string()),
        peak.map_or("?".into(), |k| (k / 1024).to_string())
    );
    for session in [&source, &target] {
        ddl(session, &format!("DROP KEYSPACE {keyspace}")).await;
    }
}
