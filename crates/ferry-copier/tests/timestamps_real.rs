//! The copy's writetimes against real Cassandra 2.1 clusters: backdating
//! (the proxy's newer writes win), `preserve_writetime` (WRITETIME and TTL
//! as on the source), and lists redone without duplicates.

mod support;

use std::time::Instant;

use ferry_copier::progress::{unix_micros, ProgressFile};
use ferry_copier::CopyStatus;
use ferry_wire::types::CqlValue;
use support::{assert_same_rows, copy_options, exec, rows, run_copy, text};

fn int(v: &CqlValue) -> i64 {
    v.as_i64()
        .unwrap_or_else(|| panic!("not an integer: {v:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_made_on_the_target_after_the_job_started_are_not_overwritten() {
    let (source, target, ks) = support::source_and_target("backdating").await;
    let name = ks.name.clone();
    ks.ddl_all(&format!(
        "CREATE TABLE {name}.t (k int PRIMARY KEY, v text, w text, tags set<text>)"
    ))
    .await;
    for k in 0..200 {
        exec(
            &source,
            &format!("INSERT INTO {name}.t (k, v, w, tags) VALUES ({k}, 'old', 'old', {{'a'}})"),
        )
        .await;
    }

    // Start the job and stop it after a few ranges: the job's timestamp
    // is fixed, some rows are copied, most are not yet.
    let before = unix_micros();
    let mut options = copy_options("backdating", &name, &["t"]);
    options.splits = Some(64);
    options.concurrency = 1;
    options.stop_after_ranges = Some(4);
    let first = run_copy(&source, &target, &options).await;
    assert_eq!(first.status, CopyStatus::Stopped);
    // The unit pitfall: microseconds since the epoch, taken at the start.
    let job_ts = first.job_timestamp_micros;
    assert!(
        job_ts >= before && job_ts <= unix_micros(),
        "{before} <= {job_ts}"
    );
    let copied_before = rows(&target, &format!("SELECT k FROM {name}.t"))
        .await
        .len();
    assert!(
        copied_before > 0 && copied_before < 200,
        "{copied_before} rows after 4 ranges"
    );

    // "The proxy" writes to the target now (current timestamps, after the
    // job's): rows already copied and rows not copied yet.
    for k in (0..200).step_by(3) {
        exec(
            &target,
            &format!("UPDATE {name}.t SET v = 'new', tags = tags + {{'b'}} WHERE k = {k}"),
        )
        .await;
    }
    exec(&target, &format!("DELETE w FROM {name}.t WHERE k = 1")).await;
    exec(&target, &format!("DELETE FROM {name}.t WHERE k = 2")).await;

    options.stop_after_ranges = None;
    let second = run_copy(&source, &target, &options).await;
    support::assert_complete(&second);
    assert_eq!(
        second.job_timestamp_micros, job_ts,
        "the resumed job keeps its timestamp"
    );

    let target_rows = rows(
        &target,
        &format!("SELECT k, v, w, tags, WRITETIME(v), WRITETIME(w) FROM {name}.t"),
    )
    .await;
    // k = 2 was deleted after the job started: the copy does not bring it back.
    assert_eq!(target_rows.len(), 199);
    for row in &target_rows {
        let k = int(row.get(0).unwrap());
        assert_ne!(k, 2);
        if k % 3 == 0 {
            assert_eq!(row.get(1), Some(&text("new")), "k={k}: the newer write won");
            assert!(int(row.get(4).unwrap()) > job_ts);
            assert_eq!(
                row.get(3),
                Some(&CqlValue::Set(vec![Some(text("a")), Some(text("b"))])),
                "k={k}: set elements merge"
            );
        } else {
            assert_eq!(row.get(1), Some(&text("old")), "k={k}");
            assert_eq!(
                int(row.get(4).unwrap()),
                job_ts,
                "k={k}: written at the job's timestamp"
            );
        }
        if k == 1 {
            assert_eq!(row.get(2), None, "the newer deletion of w won");
        } else {
            assert_eq!(int(row.get(5).unwrap()), job_ts);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preserve_writetime_keeps_writetimes_and_ttls_per_cell() {
    let (source, target, ks) = support::source_and_target("preserve").await;
    let name = ks.name.clone();
    ks.ddl_all(&format!(
        "CREATE TABLE {name}.t (k int, c int, s int static, a text, b int, l list<int>, u frozen<tuple<int, text>>, \
         PRIMARY KEY (k, c))"
    ))
    .await;
    let base = 1_600_000_000_000_000i64;
    for k in 0..40i64 {
        for c in 0..3i64 {
            let ts = base + k * 1000 + c;
            exec(
                &source,
                &format!("INSERT INTO {name}.t (k, c, a, b, u) VALUES ({k}, {c}, 'a{k}', {c}, ({k}, 'u')) USING TIMESTAMP {ts}"),
            )
            .await;
            if c == 1 {
                // b gets its own writetime and a TTL.
                exec(
                    &source,
                    &format!("UPDATE {name}.t USING TIMESTAMP {} AND TTL 50000 SET b = 99 WHERE k = {k} AND c = {c}", ts + 500),
                )
                .await;
            }
            if c == 2 {
                exec(
                    &source,
                    &format!("UPDATE {name}.t SET l = [1, 2] WHERE k = {k} AND c = {c}"),
                )
                .await;
            }
        }
        exec(
            &source,
            &format!(
                "INSERT INTO {name}.t (k, s) VALUES ({k}, {k}) USING TIMESTAMP {} AND TTL 90000",
                base - k
            ),
        )
        .await;
    }
    // A static-only partition.
    exec(
        &source,
        &format!("INSERT INTO {name}.t (k, s) VALUES (1000, 1) USING TIMESTAMP 12345"),
    )
    .await;

    let mut options = copy_options("preserve", &name, &["t"]);
    options.preserve_writetime = true;
    let started = Instant::now();
    let summary = run_copy(&source, &target, &options).await;
    support::assert_complete(&summary);
    assert!(summary.preserve_writetime);
    assert_eq!(assert_same_rows(&source, &target, &name, "t", 2).await, 121);

    let cql = format!(
        "SELECT k, c, WRITETIME(s), TTL(s), WRITETIME(a), TTL(a), WRITETIME(b), TTL(b), WRITETIME(u), l FROM {name}.t"
    );
    let s = rows(&source, &cql).await;
    let t = rows(&target, &cql).await;
    let slack = started.elapsed().as_secs() as i64 + 2;
    assert_eq!(s.len(), t.len());
    for (srow, trow) in s.iter().zip(&t) {
        let key = (srow.get(0).cloned(), srow.get(1).cloned());
        assert_eq!(key, (trow.get(0).cloned(), trow.get(1).cloned()));
        for wt in [2, 4, 6, 8] {
            assert_eq!(srow.get(wt), trow.get(wt), "{key:?} writetime column {wt}");
        }
        for ttl in [3, 5, 7] {
            match (srow.get(ttl), trow.get(ttl)) {
                (None, None) => {}
                (Some(a), Some(b)) => {
                    let (a, b) = (int(a), int(b));
                    assert!(b <= a + 2 && b >= a - slack, "{key:?} TTL {b} vs {a}");
                }
                other => panic!("{key:?}: TTL presence differs {other:?}"),
            }
        }
    }
    // The list (no readable writetime) was written at the job's timestamp.
    let lists = rows(
        &target,
        &format!("SELECT k, l, WRITETIME(a) FROM {name}.t WHERE k = 3 AND c = 2"),
    )
    .await;
    assert_eq!(
        lists[0].get(1),
        Some(&CqlValue::List(vec![
            Some(CqlValue::Int(1)),
            Some(CqlValue::Int(2))
        ]))
    );
    assert_eq!(int(lists[0].get(2).unwrap()), base + 3002);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranges_redone_after_a_crash_do_not_duplicate_list_elements() {
    let (source, target, ks) = support::source_and_target("list_redo").await;
    let name = ks.name.clone();
    ks.ddl_all(&format!(
        "CREATE TABLE {name}.t (k int PRIMARY KEY, l list<text>, n int)"
    ))
    .await;
    for k in 0..100 {
        exec(
            &source,
            &format!("INSERT INTO {name}.t (k, l, n) VALUES ({k}, ['x', 'y', 'x'], {k})"),
        )
        .await;
    }
    let mut options = copy_options("list_redo", &name, &["t"]);
    options.splits = Some(8);
    let summary = run_copy(&source, &target, &options).await;
    assert_eq!(summary.status, CopyStatus::Complete);

    // As if the process had died before recording all but 3 ranges: keep
    // the job, plan, run and the first 3 range records only.
    let text_file = std::fs::read_to_string(&options.progress_file).unwrap();
    let kept: Vec<&str> = text_file
        .lines()
        .filter(|l| !l.contains("\"record\":\"range\""))
        .chain(
            text_file
                .lines()
                .filter(|l| l.contains("\"record\":\"range\""))
                .take(3),
        )
        .collect();
    std::fs::write(&options.progress_file, kept.join("\n") + "\n").unwrap();

    let redo = run_copy(&source, &target, &options).await;
    assert_eq!(redo.status, CopyStatus::Complete);
    let planned = summary.ranges_total;
    assert!(planned >= 8);
    assert_eq!(redo.ranges_copied, planned - 3);
    assert_eq!(redo.ranges_skipped, 3);
    assert_eq!(assert_same_rows(&source, &target, &name, "t", 1).await, 100);
    // Redone with a later timestamp: the redo's list replaced the first copy.
    let t = rows(&target, &format!("SELECT k, WRITETIME(n) FROM {name}.t")).await;
    assert!(t
        .iter()
        .all(|r| int(r.get(1).unwrap()) == summary.job_timestamp_micros));
    let state = ProgressFile::read(&options.progress_file).unwrap();
    assert_eq!(state.done.len() as u64, planned);
}
