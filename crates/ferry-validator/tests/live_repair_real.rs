//! Live writes during a validation, and repair, on real clusters.

mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferry_validator::{RepairStatus, Status};
use ferry_wire::types::CqlValue;
use futures::StreamExt;
use support::{bigint, int, text, with_clusters, Clusters};

async fn fill(
    clusters: &Arc<Clusters>,
    rows: impl Iterator<Item = (String, Vec<Option<CqlValue>>, bool, bool)>,
) {
    // (cql, values, on source, on target)
    futures::stream::iter(rows.map(|(cql, values, source, target)| {
        let clusters = clusters.clone();
        async move {
            if source {
                clusters.on_source(&cql, values.clone()).await;
            }
            if target {
                clusters.on_target(&cql, values).await;
            }
        }
    }))
    .buffer_unordered(32)
    .collect::<Vec<()>>()
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_in_flight_during_validation_are_not_persistent_differences() {
    with_clusters("validate_live", "source", 1, |clusters| async move {
        clusters
            .ddl("CREATE TABLE {ks}.l (k int PRIMARY KEY, v text)")
            .await;
        let insert = "INSERT INTO {ks}.l (k, v) VALUES (?, ?) USING TIMESTAMP ?";
        fill(
            &clusters,
            (0..3000).map(|k| {
                (
                    insert.to_owned(),
                    vec![int(k), text("initial"), bigint(1000)],
                    true,
                    true,
                )
            }),
        )
        .await;

        // Like a dual-writing proxy whose target leg lags 1.5 s: each write
        // reaches the source at once and the target 1.5 s later, with the
        // same timestamp. Updates of existing rows and new rows, spread over
        // the ring, for about 3 s.
        let written = Arc::new(AtomicU64::new(0));
        let writer = {
            let clusters = clusters.clone();
            let written = written.clone();
            tokio::spawn(async move {
                let mut lagging = Vec::new();
                for i in 0..40i32 {
                    for (k, v) in [
                        ((i * 7919) % 3000, format!("update {i}")),
                        (100_000 + i, format!("new {i}")),
                    ] {
                        let values = vec![int(k), text(&v), bigint(2000 + i64::from(i))];
                        clusters.on_source(insert, values.clone()).await;
                        written.fetch_add(1, Ordering::Relaxed);
                        let clusters = clusters.clone();
                        lagging.push(tokio::spawn(async move {
                            tokio::time::sleep(Duration::from_millis(1500)).await;
                            clusters.on_target(insert, values).await;
                        }));
                    }
                    tokio::time::sleep(Duration::from_millis(75)).await;
                }
                for w in lagging {
                    w.await.unwrap();
                }
            })
        };
        // Slow enough that the scan overlaps the writes.
        let mut config = clusters.config("l");
        config.source_rows_per_second = Some(1000);
        config.target_rows_per_second = Some(1000);
        config.recheck_delay = Some(Duration::from_secs(3));
        let report = clusters.validator(config).run().await;
        writer.await.unwrap();
        let t = &report.tables[0];
        let summary = report.summary(20);
        assert_eq!(written.load(Ordering::Relaxed), 80);
        assert_eq!(report.exit_code(), 0, "{summary}");
        assert_eq!(t.counts.persistent_differences(), 0, "{summary}");
        assert!(
            t.counts.resolved_on_recheck > 0,
            "the scan should have met writes in flight: {summary}"
        );
        assert!(t.duration_secs > 2.0, "{summary}");

        // Without the re-check the same situation reports differences: the
        // test is able to fail.
        let mut config = clusters.config("l");
        config.recheck_delay = None;
        clusters
            .on_source(insert, vec![int(5), text("in flight"), bigint(9000)])
            .await;
        let report = clusters.validator(config).run().await;
        assert_eq!(report.exit_code(), 1, "{}", report.summary(5));
        assert_eq!(report.tables[0].counts.differing, 1);
        assert_eq!(report.tables[0].counts.not_rechecked, 1);
    })
    .await;
}

const REPAIR_DDL: &str = "CREATE TABLE {ks}.r (k int, c int, st text static, v text, n int, \
     s set<text>, PRIMARY KEY (k, c))";
const REPAIR_INSERT: &str =
    "INSERT INTO {ks}.r (k, c, st, v, n, s) VALUES (?, ?, ?, ?, ?, ?) USING TIMESTAMP ? AND TTL ?";
const T: i64 = 1_700_000_000_000_000;

fn repair_row(k: i32, c: i32) -> Vec<Option<CqlValue>> {
    vec![
        int(k),
        int(c),
        text(&format!("st{k}")),
        text(&format!("v{k}.{c}")),
        int(k * 10 + c),
        Some(CqlValue::Set(vec![text("a"), text(&format!("s{c}"))])),
        bigint(T + i64::from(k * 10 + c)),
        // Some rows expire (in a day), the others not.
        int(if k % 2 == 0 { 86_400 } else { 0 }),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repair_then_validate_again_is_equal() {
    with_clusters("validate_repair", "source", 1, |clusters| async move {
        clusters.ddl(REPAIR_DDL).await;
        let rows = (0..20).flat_map(|k| (0..5).map(move |c| (k, c)));
        fill(
            &clusters,
            rows.map(|(k, c)| {
                // Missing on the target: partition 2 and row (4, 3).
                let on_target = k != 2 && (k, c) != (4, 3);
                (REPAIR_INSERT.to_owned(), repair_row(k, c), true, on_target)
            }),
        )
        .await;
        let newer = |k: i32, c: i32| bigint(T + i64::from(k * 10 + c) + 10);
        // Later writes that reached the source but not the target (lost
        // updates): a cell,
        clusters
            .on_source(
                "UPDATE {ks}.r USING TIMESTAMP ? SET v = ? WHERE k = ? AND c = ?",
                vec![newer(5, 1), text("fresh"), int(5), int(1)],
            )
            .await;
        // ... an element of a set (the set's timestamp cannot be read: the
        // repair uses the row's newest),
        clusters
            .on_source(
                "UPDATE {ks}.r USING TIMESTAMP ? SET s = s + ? WHERE k = ? AND c = ?",
                vec![
                    newer(6, 2),
                    Some(CqlValue::Set(vec![text("added")])),
                    int(6),
                    int(2),
                ],
            )
            .await;
        // ... the same value with another TTL,
        clusters
            .on_source(
                "UPDATE {ks}.r USING TIMESTAMP ? AND TTL 5000 SET n = ? WHERE k = ? AND c = ?",
                vec![newer(8, 0), int(80), int(8), int(0)],
            )
            .await;
        // ... a static column, overwritten later on the source.
        clusters
            .on_source(
                "UPDATE {ks}.r USING TIMESTAMP ? SET st = ? WHERE k = ?",
                vec![bigint(T + 500), text("new static"), int(9)],
            )
            .await;

        let mut config = clusters.config("r");
        config.compare.ttl = true;
        config.compare.writetime = true;
        config.compare.ttl_tolerance_secs = 30;
        config.repair = true;
        let first = clusters.validator(config.clone()).run().await;
        let t = &first.tables[0];
        let summary = first.summary(30);
        assert_eq!(first.exit_code(), 1, "{summary}");
        assert_eq!(t.counts.missing_on_target, 5 + 1, "{summary}");
        assert_eq!(t.counts.differing, 3, "{summary}");
        assert_eq!(t.counts.static_differing, 1, "{summary}");
        let repair = t.repair.clone().expect("repair counts");
        assert_eq!(repair.repaired, 10, "{summary}");
        assert_eq!(
            repair.shadowed + repair.not_repairable + repair.failed,
            0,
            "{summary}"
        );
        assert!(repair.cells_written >= 6 * 4 + 3, "{repair:?}");
        assert!(t
            .differences
            .iter()
            .all(|d| d.repair.as_ref().map(|r| r.status) == Some(RepairStatus::Repaired)));

        config.repair = false;
        let second = clusters.validator(config).run().await;
        assert_eq!(second.exit_code(), 0, "{}", second.summary(30));
        assert_eq!(second.tables[0].counts.matched, 100);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repair_reports_what_it_cannot_fix() {
    with_clusters(
        "validate_repair_limits",
        "source",
        1,
        |clusters| async move {
            clusters.ddl(REPAIR_DDL).await;
            fill(
                &clusters,
                (0..4).map(|k| (REPAIR_INSERT.to_owned(), repair_row(k, 0), true, true)),
            )
            .await;
            // A newer write on the target: the source's version must not win.
            clusters
                .on_target(
                    "UPDATE {ks}.r USING TIMESTAMP ? SET v = ? WHERE k = ? AND c = ?",
                    vec![bigint(T + 1_000_000), text("newer"), int(1), int(0)],
                )
                .await;
            // A row only on the target: never deleted.
            clusters.on_target(REPAIR_INSERT, repair_row(50, 0)).await;
            // A value the source does not have (deleted there): never deleted.
            clusters
                .on_source(
                    "DELETE n FROM {ks}.r USING TIMESTAMP ? WHERE k = ? AND c = ?",
                    vec![bigint(T + 100), int(3), int(0)],
                )
                .await;

            let mut config = clusters.config("r");
            config.repair = true;
            let report = clusters.validator(config.clone()).run().await;
            let t = &report.tables[0];
            let summary = report.summary(30);
            let status = |key: &str| {
                t.differences
                    .iter()
                    .find(|d| d.key_text() == key)
                    .and_then(|d| d.repair.as_ref())
                    .map(|r| r.status)
            };
            assert_eq!(
                status("k=1, c=0"),
                Some(RepairStatus::Shadowed),
                "{summary}"
            );
            assert_eq!(
                status("k=50, c=0"),
                Some(RepairStatus::NotRepairable),
                "{summary}"
            );
            assert_eq!(
                status("k=3, c=0"),
                Some(RepairStatus::NotRepairable),
                "{summary}"
            );
            let repair = t.repair.clone().unwrap();
            assert_eq!(
                (repair.repaired, repair.shadowed, repair.not_repairable),
                (0, 1, 2),
                "{summary}"
            );

            // Nothing was forced: the same three differences remain.
            config.repair = false;
            let again = clusters.validator(config).run().await;
            assert_eq!(again.status, Status::Different);
            assert_eq!(
                again.tables[0].counts.persistent_differences(),
                3,
                "{}",
                again.summary(10)
            );
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_validation_resumes_from_its_checkpoint() {
    with_clusters("validate_resume", "source", 1, |clusters| async move {
        clusters
            .ddl("CREATE TABLE {ks}.c (k int PRIMARY KEY, v text)")
            .await;
        let insert = "INSERT INTO {ks}.c (k, v) VALUES (?, ?) USING TIMESTAMP 7";
        fill(
            &clusters,
            (0..2000).map(|k| {
                (
                    insert.to_owned(),
                    vec![int(k), text("x")],
                    true,
                    k % 100 != 0,
                )
            }),
        )
        .await;
        let path = std::env::temp_dir().join(format!("{}.checkpoint", clusters.keyspace));
        let _ = std::fs::remove_file(&path);
        let mut config = clusters.config("c");
        config.checkpoint = Some(path.clone());
        config.splits = Some(64);

        // Interrupted: slow enough to be cut off after a second.
        let mut slow = config.clone();
        slow.source_rows_per_second = Some(500);
        slow.parallelism = 2;
        let validator = clusters.validator(slow);
        let cut = tokio::time::timeout(Duration::from_millis(2500), validator.run()).await;
        assert!(cut.is_err(), "the first run should have been interrupted");
        let lines = std::fs::read_to_string(&path).unwrap().lines().count();
        assert!(lines > 0, "some ranges completed before the interruption");

        // Resumed: the whole table, each row and difference exactly once.
        let report = clusters.validator(config.clone()).run().await;
        let t = &report.tables[0];
        let summary = report.summary(30);
        assert!(
            t.ranges_resumed > 0 && t.ranges_resumed < t.ranges_planned,
            "{summary}"
        );
        assert_eq!(t.ranges_scanned, t.ranges_planned);
        assert_eq!(t.counts.rows_compared, 2000, "{summary}");
        assert_eq!(t.counts.source_rows, 2000, "{summary}");
        assert_eq!(t.counts.missing_on_target, 20, "{summary}");
        assert_eq!(t.differences.len(), 20, "{summary}");
        assert!(t
            .notes
            .iter()
            .any(|n| n.contains("resumed from the checkpoint")));

        // A third run has nothing left to scan and reports the same.
        let again = clusters.validator(config).run().await;
        let t3 = &again.tables[0];
        assert_eq!(t3.ranges_resumed, t3.ranges_planned);
        assert_eq!(t3.counts, t.counts);
        assert_eq!(again.exit_code(), 1);
        std::fs::remove_file(&path).ok();
    })
    .await;
}
