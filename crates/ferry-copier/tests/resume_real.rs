//! Stopping and resuming a copy against real Cassandra 2.1 clusters, and a
//! 3-node source ring.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use ferry_conn::token::{Partitioner, Token};
use ferry_copier::progress::{ProgressFile, Record};
use ferry_copier::{CopyControl, CopyStatus};
use support::{assert_same_rows, copy_options, fill, rows, run_copy};

/// (table, index) → runs that recorded it.
fn ranges_by_run(records: &[Record]) -> BTreeMap<(String, usize), Vec<u32>> {
    let mut out: BTreeMap<(String, usize), Vec<u32>> = BTreeMap::new();
    for r in records {
        if let Record::Range {
            run, table, index, ..
        } = r
        {
            out.entry((table.clone(), *index)).or_default().push(*run);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_copy_resumes_without_redoing_finished_ranges() {
    let (source, target, ks) = support::source_and_target("resume").await;
    let name = ks.name.clone();
    ks.ddl_all(&format!(
        "CREATE TABLE {name}.a (k int, c int, v text, PRIMARY KEY (k, c))"
    ))
    .await;
    ks.ddl_all(&format!(
        "CREATE TABLE {name}.b (k text PRIMARY KEY, v int)"
    ))
    .await;
    fill(
        &source,
        |i| {
            format!(
                "INSERT INTO {name}.a (k, c, v) VALUES ({}, {}, 'v{i}')",
                i / 4,
                i % 4
            )
        },
        1200,
    )
    .await;
    fill(
        &source,
        |i| format!("INSERT INTO {name}.b (k, v) VALUES ('key{i}', {i})"),
        300,
    )
    .await;

    let mut options = copy_options("resume", &name, &[]);
    options.splits = Some(24);
    options.concurrency = 2;
    options.stop_after_ranges = Some(10);
    let first = run_copy(&source, &target, &options).await;
    assert_eq!(first.status, CopyStatus::Stopped, "{}", first.to_text());
    assert!(first.ranges_copied >= 10 && first.ranges_copied < first.ranges_total);
    let after_first = ProgressFile::read(&options.progress_file).unwrap();
    let done_first: BTreeSet<(String, usize)> = after_first.done.clone();
    assert_eq!(done_first.len() as u64, first.ranges_copied);
    assert_eq!(after_first.run, 1);

    // A different job on the same progress file is refused.
    let mut other = options.clone();
    other.preserve_writetime = true;
    let e = ferry_copier::copy(&source, &target, &other, CopyControl::new())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("belongs to another job") && e.contains("preserve-writetime"),
        "{e}"
    );

    // The same command again (the table list comes from the progress file).
    options.stop_after_ranges = None;
    let second = run_copy(&source, &target, &options).await;
    support::assert_complete(&second);
    assert_eq!(second.ranges_skipped, first.ranges_copied);
    assert_eq!(
        second.ranges_copied + second.ranges_skipped,
        second.ranges_total
    );
    assert_eq!(second.job_timestamp_micros, first.job_timestamp_micros);
    assert_eq!(second.run, 1);
    assert_eq!(
        first.rows + second.rows,
        1500,
        "each row read once over both runs"
    );

    let state = ProgressFile::read(&options.progress_file).unwrap();
    let by_run = ranges_by_run(&state.range_records);
    let planned: usize = state.plans.values().map(Vec::len).sum();
    assert_eq!(by_run.len(), planned, "every range recorded");
    for (range, runs) in &by_run {
        assert_eq!(runs.len(), 1, "{range:?} recorded by runs {runs:?}");
        let in_first = done_first.contains(range);
        assert_eq!(
            runs[0] == 0,
            in_first,
            "{range:?}: done before the stop iff recorded by run 0"
        );
    }
    assert_eq!(
        assert_same_rows(&source, &target, &name, "a", 2).await,
        1200
    );
    assert_eq!(assert_same_rows(&source, &target, &name, "b", 1).await, 300);

    // Once complete, running again copies nothing.
    let third = run_copy(&source, &target, &options).await;
    assert_eq!(third.status, CopyStatus::Complete);
    assert_eq!((third.ranges_copied, third.rows), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_three_node_source_ring_is_copied_exactly_once() {
    let (source, target, ks) = support::groups_and_keyspace("ring_copy", "ring", "target", 2).await;
    let ring = source.ring().expect("ring");
    assert_eq!(ring.nodes().len(), 3);
    let name = ks.name.clone();
    ks.ddl_all(&format!(
        "CREATE TABLE {name}.t (k bigint, c int, v text, PRIMARY KEY (k, c))"
    ))
    .await;
    // Keys whose tokens sit on the ring's own tokens and right after them
    // would be the first missed by an off-by-one; random-ish keys cover
    // the rest.
    let n = 3000u32;
    fill(
        &source,
        |i| {
            let k = u64::from(i).wrapping_mul(0x9E37_79B9_7F4A_7C15) as i64;
            format!(
                "INSERT INTO {name}.t (k, c, v) VALUES ({k}, {}, 'v{i}')",
                i % 3
            )
        },
        n,
    )
    .await;

    let mut options = copy_options("ring_copy", &name, &["t"]);
    options.splits = Some(200);
    options.concurrency = 6;
    let summary = run_copy(&source, &target, &options).await;
    support::assert_complete(&summary);
    assert_eq!(summary.rows, u64::from(n), "every row read exactly once");
    assert_eq!(
        assert_same_rows(&source, &target, &name, "t", 2).await,
        n as usize
    );

    // The plan covers the ring exactly once, and each range lies inside
    // one primary range of the source.
    let state = ProgressFile::read(&options.progress_file).unwrap();
    let mut plan = state.plans["t"].clone();
    assert!(plan.len() >= ring.ranges().len());
    plan.sort_by_key(|r| r.start());
    assert_eq!(plan[0].start(), Partitioner::Murmur3.min_token());
    assert_eq!(plan.last().unwrap().end(), Partitioner::Murmur3.max_token());
    for pair in plan.windows(2) {
        assert_eq!(pair[0].end(), pair[1].start());
    }
    for r in &plan {
        let primary = ring.range_containing(r.end()).unwrap();
        assert!(primary.range.start() == r.start() || primary.range.contains(r.start()));
    }
    // The rows each range recorded are exactly the rows whose token() it
    // holds (one row of SELECT token(k) per CQL row).
    let tokens = rows(&target, &format!("SELECT token(k) FROM {name}.t")).await;
    let mut per_range = vec![0u64; plan.len()];
    for row in tokens {
        let t = Token::murmur3(row.get(0).and_then(|v| v.as_i64()).unwrap());
        let i = plan
            .iter()
            .position(|r| r.contains(t))
            .expect("a range holds every token");
        per_range[i] += 1;
    }
    let recorded: BTreeMap<(String, String), u64> = state
        .range_records
        .iter()
        .filter_map(|r| match r {
            Record::Range {
                start, end, rows, ..
            } => Some(((start.clone(), end.clone()), *rows)),
            _ => None,
        })
        .collect();
    for (r, count) in plan.iter().zip(&per_range) {
        let key = (r.start().to_string(), r.end().to_string());
        assert_eq!(
            recorded[&key], *count,
            "{r}: rows recorded vs rows whose token it holds"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_limit_holds_for_the_whole_copy() {
    let (source, target, ks) = support::source_and_target("rate_limit").await;
    let name = ks.name.clone();
    support::int_table_t(&ks, &source, 900).await;
    let mut options = copy_options("rate_limit", &name, &["t"]);
    options.concurrency = 8;
    options.target_rows_per_second = Some(300.0);
    let summary = run_copy(&source, &target, &options).await;
    assert_eq!(summary.status, CopyStatus::Complete);
    // 300 rows of burst, then 600 more at 300/s: at least 2 s whatever
    // the concurrency.
    assert!(
        summary.elapsed_seconds >= 1.9,
        "{}",
        summary.elapsed_seconds
    );
    assert!(
        summary.rows_per_second <= 480.0,
        "{}",
        summary.rows_per_second
    );
    assert_eq!(assert_same_rows(&source, &target, &name, "t", 1).await, 900);
}
