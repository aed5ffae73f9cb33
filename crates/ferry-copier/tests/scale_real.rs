//! Several workers sharing one job through the progress table in the
//! target cluster, against real Cassandra 2.1 nodes.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use ferry_copier::progress_table::ProgressTable;
use ferry_copier::{CopyControl, CopyStatus};
use support::{assert_same_rows, copy_options, fill, session};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_share_one_job_and_do_each_range_exactly_once() {
    two_workers("target", 1).await;
}

/// The same with the 3-node `ring` as the target: the progress table's
/// lightweight transactions run Paxos over 3 replicas (RF 3, QUORUM).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_share_one_job_on_a_three_node_target() {
    two_workers("ring", 3).await;
}

/// The progress table of job "job" as worker `worker`, with a 2 s lease.
async fn open_lease_table(
    target: &ferry_conn::session::Session,
    table: &str,
    worker: &str,
) -> ProgressTable {
    ProgressTable::open(target, table, "job", worker, Duration::from_secs(2))
        .await
        .unwrap()
}

async fn two_workers(target_group: &str, rf: usize) {
    let (source, target, ks) =
        support::groups_and_keyspace("scale", "source", target_group, rf).await;
    // Each worker gets its own sessions, as two machines would.
    let source2 = session("source").await;
    let target2 = session(target_group).await;
    let name = ks.name.clone();
    ks.ddl_all(&format!(
        "CREATE TABLE {name}.t (k int, c int, v text, l list<int>, PRIMARY KEY (k, c))"
    ))
    .await;
    let n = 2000u32;
    fill(
        &source,
        |i| {
            format!(
                "INSERT INTO {name}.t (k, c, v, l) VALUES ({}, {}, 'v{i}', [{i}, 1])",
                i / 4,
                i % 4
            )
        },
        n,
    )
    .await;

    let progress_table = format!("{name}.ferry_progress");
    // Created once up front, as docs/bulk-copy.md advises for many workers.
    ProgressTable::open(
        &target,
        &progress_table,
        "setup",
        "setup",
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    let splits = 40;
    let options = |worker: &str| {
        let mut o = copy_options("scale", &name, &["t"]);
        o.splits = Some(splits);
        o.concurrency = 2;
        o.progress_table = Some(progress_table.clone());
        o.job_id = Some("job-1".into());
        o.worker_id = Some(worker.into());
        o.claim_lease = Duration::from_secs(20);
        // Slow enough that neither worker finishes alone before the other
        // starts claiming.
        o.source_rows_per_second = Some(1000.0);
        o
    };
    let (o1, o2) = (options("w1"), options("w2"));
    let (a, b) = tokio::join!(
        ferry_copier::copy(&source, &target, &o1, CopyControl::new()),
        ferry_copier::copy(&source2, &target2, &o2, CopyControl::new()),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    support::assert_complete(&a);
    support::assert_complete(&b);
    // One job timestamp for both: the first worker stored it, the other
    // read it back.
    assert_eq!(a.job_timestamp_micros, b.job_timestamp_micros);
    // The plan cuts about `splits` ranges from the source's primary
    // ranges, whose pieces each get a whole share: one or two more than
    // asked, depending on where a fresh node's random tokens fall. Both
    // workers must work from the same plan, whatever its length.
    let planned = a.ranges_total;
    assert_eq!(planned, b.ranges_total, "both workers use one stored plan");
    assert!(
        (splits as u64..=splits as u64 + 4).contains(&planned),
        "{planned} ranges planned for {splits} splits"
    );
    assert_eq!(a.ranges_copied + b.ranges_copied, planned);
    assert!(
        a.ranges_copied > 0 && b.ranges_copied > 0,
        "both workers copied ranges: {} and {}",
        a.ranges_copied,
        b.ranges_copied
    );
    assert_eq!(a.rows + b.rows, u64::from(n), "every row read exactly once");

    let table = ProgressTable::open(
        &target,
        &progress_table,
        "job-1",
        "reader",
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    let states = table.states("t", planned as usize).await.unwrap();
    assert_eq!(states.len() as u64, planned);
    let mut by = BTreeSet::new();
    for s in &states {
        assert!(s.done, "range {} not done", s.index);
        assert_eq!(s.claims, 1, "range {} claimed {} times", s.index, s.claims);
        by.insert(s.done_by.clone().unwrap());
    }
    assert_eq!(by, BTreeSet::from(["w1".to_owned(), "w2".to_owned()]));
    assert_eq!(states.iter().map(|s| s.rows).sum::<u64>(), u64::from(n));
    assert_eq!(
        assert_same_rows(&source, &target, &name, "t", 2).await,
        n as usize
    );

    // A third worker of the finished job finds nothing to do; a worker
    // with another job's options under the same id is refused.
    let c = ferry_copier::copy(&source, &target, &options("w3"), CopyControl::new())
        .await
        .unwrap();
    assert_eq!(c.status, CopyStatus::Complete);
    assert_eq!((c.ranges_copied, c.ranges_skipped), (0, planned));
    let mut other = options("w4");
    other.preserve_writetime = true;
    let e = ferry_copier::copy(&source, &target, &other, CopyControl::new())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("job \"job-1\"") && e.contains("preserve-writetime false instead of true"),
        "{e}"
    );
    // Copied cells carry the shared job timestamp.
    let wt = support::rows(
        &target,
        &format!("SELECT WRITETIME(v) FROM {name}.t LIMIT 5"),
    )
    .await;
    for row in wt {
        assert_eq!(
            row.values()[0].as_ref().and_then(|v| v.as_i64()),
            Some(a.job_timestamp_micros)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_workers_ranges_are_taken_over_after_the_lease() {
    let (source, target, ks) = support::source_and_target("scale_lease").await;
    let name = ks.name.clone();
    ks.ddl_all(&format!(
        "CREATE TABLE {name}.t (k int PRIMARY KEY, l list<int>)"
    ))
    .await;
    fill(
        &source,
        |i| format!("INSERT INTO {name}.t (k, l) VALUES ({i}, [{i}, 2])"),
        500,
    )
    .await;
    let progress_table = format!("{name}.progress");
    let dead = open_lease_table(&target, &progress_table, "dead").await;

    // A worker registers the job, claims two ranges, copies nothing and
    // "dies" (never renews, never finishes).
    let mut options = copy_options("scale_lease", &name, &["t"]);
    options.splits = Some(8);
    options.concurrency = 2;
    options.progress_table = Some(progress_table.clone());
    options.job_id = Some("job".into());
    options.worker_id = Some("dead".into());
    options.claim_lease = Duration::from_secs(2);
    options.stop_after_ranges = Some(1);
    let first = ferry_copier::copy(&source, &target, &options, CopyControl::new())
        .await
        .unwrap();
    assert_eq!(first.status, CopyStatus::Stopped);
    // The plan has at least one range per primary range of the ring.
    let total = first.ranges_total as usize;
    let plan_states = dead.states("t", total).await.unwrap();
    let done_first: Vec<_> = plan_states.iter().filter(|s| s.done).cloned().collect();
    assert!(
        !done_first.is_empty(),
        "{}\n{plan_states:?}",
        first.to_text()
    );
    let free: Vec<usize> = (0..total)
        .filter(|i| !plan_states.iter().any(|s| s.index == *i))
        .collect();
    assert!(free.len() >= 2, "{plan_states:?}");
    let range = |_i: usize| {
        ferry_conn::token::TokenRange::full_ring(ferry_conn::token::Partitioner::Murmur3)
    };
    for &i in &free[..2] {
        assert_eq!(
            dead.claim("t", i, &range(i)).await.unwrap(),
            ferry_copier::progress_table::Claim::Claimed { claims: 1 }
        );
    }
    // Another worker can't take them while the lease holds...
    let other = open_lease_table(&target, &progress_table, "alive").await;
    assert!(matches!(
        other.claim("t", free[0], &range(free[0])).await.unwrap(),
        ferry_copier::progress_table::Claim::Busy { .. }
    ));

    // ...and the dead worker, restarted under its name, takes its own
    // back at once (a pod restarted in place), with a new claim number.
    let restarted = open_lease_table(&target, &progress_table, "dead").await;
    assert_eq!(
        restarted
            .claim("t", free[1], &range(free[1]))
            .await
            .unwrap(),
        ferry_copier::progress_table::Claim::Claimed { claims: 2 }
    );
    // The old incarnation's claim is void.
    assert!(!dead.renew("t", free[1], 1).await.unwrap());

    // A new worker finishes the job after the lease.
    options.worker_id = Some("alive".into());
    options.stop_after_ranges = None;
    let second = ferry_copier::copy(&source, &target, &options, CopyControl::new())
        .await
        .unwrap();
    support::assert_complete(&second);
    let states = other.states("t", total).await.unwrap();
    assert_eq!(states.len(), total);
    assert!(states.iter().all(|s| s.done));
    for s in &states {
        if let Some(before) = done_first.iter().find(|d| d.index == s.index) {
            assert_eq!(s, before, "a range done before was touched again");
        } else if s.index == free[0] {
            assert_eq!(
                (s.claims, s.done_by.as_deref()),
                (2, Some("alive")),
                "taken over"
            );
        } else if s.index == free[1] {
            // Claimed twice by "dead", then taken over by "alive".
            assert_eq!(
                (s.claims, s.done_by.as_deref()),
                (3, Some("alive")),
                "taken over"
            );
        } else {
            assert_eq!(s.claims, 1);
        }
    }
    // The dead worker can no longer record its ranges.
    assert!(!dead.finish("t", free[0], 1, 0, 0).await.unwrap());
    // Complete, lists not duplicated.
    assert_eq!(assert_same_rows(&source, &target, &name, "t", 1).await, 500);
}
