//! Validation against real Cassandra 2.1 clusters: the `source` and
//! `target` groups (separate single-node clusters).

mod support;

use std::collections::BTreeSet;

use ferry_validator::{Aspect, Equality, Status};
use ferry_wire::types::{CqlValue, Decimal, Varint};
use support::{bigint, int, text, with_clusters, Clusters};

const TYPES_DDL: &str = "CREATE TYPE {ks}.addr (street text, no int)";
const TABLE_DDL: &str = "CREATE TABLE {ks}.t (k int, c int, st text static, txt text, d double, \
     f float, dec decimal, vi varint, b boolean, ts timestamp, u uuid, tags set<text>, \
     attrs map<int, text>, nums list<int>, tup frozen<tuple<int, text>>, addr frozen<addr>, \
     PRIMARY KEY (k, c))";
const INSERT: &str = "INSERT INTO {ks}.t (k, c, st, txt, d, f, dec, vi, b, ts, u, tags, attrs, \
     nums, tup, addr) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?";

const BASE_TS: i64 = 1_600_000_000_000_000;

fn ts_of(k: i32, c: i32) -> i64 {
    BASE_TS + i64::from(k) * 1000 + i64::from(c)
}

/// The values of row (k, c): every column set, deterministically.
fn row(k: i32, c: i32) -> Vec<Option<CqlValue>> {
    let n = k * 100 + c;
    let mut uuid = [0u8; 16];
    uuid[..4].copy_from_slice(&n.to_be_bytes());
    uuid[6] = 0x40;
    uuid[8] = 0x80;
    vec![
        int(k),
        int(c),
        text(&format!("static {k}")),
        text(&format!("row {k}/{c}")),
        // NaN on some rows: equal to itself across clusters.
        Some(CqlValue::Double(if c == 0 {
            f64::NAN
        } else {
            f64::from(n) / 3.0
        })),
        Some(CqlValue::Float(n as f32 * 0.5)),
        Some(CqlValue::Decimal(Decimal::new(
            Varint::from(i64::from(n) * 10),
            1,
        ))),
        Some(CqlValue::Varint(Varint::from(i64::from(n) << 40))),
        Some(CqlValue::Boolean(n % 2 == 0)),
        Some(CqlValue::Timestamp(1_500_000_000_000 + i64::from(n))),
        Some(CqlValue::Uuid(uuid)),
        Some(CqlValue::Set(vec![text("a"), text(&format!("t{n}"))])),
        Some(CqlValue::Map(vec![
            (int(1), text("one")),
            (int(n), text("n")),
        ])),
        Some(CqlValue::List(vec![int(n), int(n), int(0)])),
        Some(CqlValue::Tuple(vec![int(n), text("x")])),
        Some(CqlValue::Udt(vec![
            ("street".into(), text("main")),
            ("no".into(), int(n)),
        ])),
        bigint(ts_of(k, c)),
    ]
}

async fn create(clusters: &Clusters) {
    clusters.ddl(TYPES_DDL).await;
    clusters.ddl(TABLE_DDL).await;
}

/// Writes rows (k, c) for k in `partitions`, c in 0..`rows` to both clusters.
async fn fill_both(clusters: &Clusters, partitions: std::ops::Range<i32>, rows: i32) {
    let mut writes = Vec::new();
    for k in partitions {
        for c in 0..rows {
            writes.push(clusters.on_both(INSERT, row(k, c)));
        }
    }
    // A few dozen at a time.
    let mut writes = writes.into_iter();
    loop {
        let chunk: Vec<_> = writes.by_ref().take(32).collect();
        if chunk.is_empty() {
            break;
        }
        futures::future::join_all(chunk).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identical_tables_are_equal_and_counted() {
    with_clusters("validate_identical", "source", 1, |clusters| async move {
        create(&clusters).await;
        fill_both(&clusters, 0..100, 10).await;
        let mut config = clusters.config("t");
        config.compare.writetime = true;
        config.compare.ttl = true;
        let report = clusters.validator(config).run().await;
        let summary = report.summary(10);
        assert_eq!(report.exit_code(), 0, "{summary}");
        assert_eq!(report.status, Status::Equal);
        let t = &report.tables[0];
        assert_eq!(t.counts.source_rows, 1000, "{summary}");
        assert_eq!(t.counts.target_rows, 1000);
        assert_eq!(t.counts.rows_compared, 1000);
        assert_eq!(t.counts.matched, 1000);
        assert_eq!(t.counts.persistent_differences(), 0);
        assert_eq!(t.ranges_scanned, t.ranges_planned);
        assert!(t.ranges_planned >= 32, "{} ranges", t.ranges_planned);
        assert!(t.differences.is_empty());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_differences_are_each_found_with_their_keys() {
    with_clusters("validate_injected", "source", 1, |clusters| async move {
        create(&clusters).await;
        let (partitions, rows) = (50, 4);
        for k in 0..partitions {
            for c in 0..rows {
                let values = row(k, c);
                // Missing on the target: row (3, 1) and all of partition 7.
                if (k, c) != (3, 1) && k != 7 {
                    clusters.on_target(INSERT, values.clone()).await;
                }
                clusters.on_source(INSERT, values).await;
            }
        }
        // Extra on the target: a row and a whole partition.
        clusters.on_target(INSERT, row(3, 9)).await;
        clusters.on_target(INSERT, row(1000, 0)).await;
        // A changed cell (newer timestamp, as a stray write would have).
        clusters
            .on_target(
                "UPDATE {ks}.t USING TIMESTAMP ? SET txt = ? WHERE k = ? AND c = ?",
                vec![bigint(ts_of(5, 2) + 1), text("changed"), int(5), int(2)],
            )
            .await;
        // A changed collection element.
        clusters
            .on_target(
                "UPDATE {ks}.t USING TIMESTAMP ? SET tags = tags + ? WHERE k = ? AND c = ?",
                vec![
                    bigint(ts_of(6, 0) + 1),
                    Some(CqlValue::Set(vec![text("intruder")])),
                    int(6),
                    int(0),
                ],
            )
            .await;
        // Same value, different TTL.
        let ttl = "UPDATE {ks}.t USING TIMESTAMP ? AND TTL ? SET txt = ? WHERE k = ? AND c = ?";
        for (session, seconds) in [(&clusters.source, 100_000), (&clusters.target, 50_000)] {
            let values = vec![
                bigint(ts_of(8, 3) + 1),
                int(seconds),
                text("ttl"),
                int(8),
                int(3),
            ];
            Clusters::write(session, &clusters.keyspace, ttl, values).await;
        }
        // A differing static column.
        clusters
            .on_target(
                "UPDATE {ks}.t USING TIMESTAMP ? SET st = ? WHERE k = ?",
                vec![bigint(ts_of(9, 9)), text("other static"), int(9)],
            )
            .await;
        // A decimal with another scale (1.0 vs 1.00): equal unless strict.
        clusters
            .on_target(
                "UPDATE {ks}.t USING TIMESTAMP ? SET dec = ? WHERE k = ? AND c = ?",
                vec![
                    bigint(ts_of(11, 1)),
                    Some(CqlValue::Decimal(Decimal::new(Varint::from(110_100i64), 2))),
                    int(11),
                    int(1),
                ],
            )
            .await;

        let mut config = clusters.config("t");
        config.compare.ttl = true;
        let report = clusters.validator(config.clone()).run().await;
        let summary = report.summary(50);
        assert_eq!(report.exit_code(), 1, "{summary}");
        let t = &report.tables[0];
        assert_eq!(t.counts.missing_on_target, 1 + 4, "{summary}");
        assert_eq!(t.counts.extra_on_target, 2, "{summary}");
        assert_eq!(t.counts.differing, 3, "{summary}");
        assert_eq!(t.counts.static_differing, 1, "{summary}");
        assert_eq!(t.counts.source_rows, 200);
        assert_eq!(t.counts.target_rows, 200 - 5 + 2);
        assert_eq!(t.counts.rows_compared, 202);
        assert_eq!(t.counts.matched, 202 - 5 - 2 - 3);

        let found: BTreeSet<(String, String)> = t
            .differences
            .iter()
            .map(|d| (format!("{:?}", d.kind), d.key_text()))
            .collect();
        let expected: BTreeSet<(String, String)> = [
            ("MissingOnTarget", "k=3, c=1"),
            ("MissingOnTarget", "k=7, c=0"),
            ("MissingOnTarget", "k=7, c=1"),
            ("MissingOnTarget", "k=7, c=2"),
            ("MissingOnTarget", "k=7, c=3"),
            ("ExtraOnTarget", "k=3, c=9"),
            ("ExtraOnTarget", "k=1000, c=0"),
            ("Differs", "k=5, c=2"),
            ("Differs", "k=6, c=0"),
            ("Differs", "k=8, c=3"),
            ("StaticDiffers", "k=9"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(found, expected, "{summary}");
        let by_key = |key: &str| t.differences.iter().find(|d| d.key_text() == key).unwrap();
        let cell = &by_key("k=5, c=2").columns;
        assert_eq!(cell.len(), 1);
        assert_eq!(
            (cell[0].column.as_str(), cell[0].aspect),
            ("txt", Aspect::Value)
        );
        assert_eq!(cell[0].source.as_deref(), Some("'row 5/2'"));
        assert_eq!(cell[0].target.as_deref(), Some("'changed'"));
        let tags = &by_key("k=6, c=0").columns;
        assert_eq!(tags[0].column, "tags");
        assert!(tags[0].target.as_deref().unwrap().contains("'intruder'"));
        let ttl = &by_key("k=8, c=3").columns;
        assert_eq!(
            (ttl[0].column.as_str(), ttl[0].aspect),
            ("txt", Aspect::Ttl)
        );
        assert_eq!(by_key("k=9").columns[0].column, "st");
        assert!(t.differences.iter().all(|d| d.rechecked));
        assert!(t.differences.iter().all(|d| d.token.parse::<i64>().is_ok()));

        // Strict decimals: the 1.0 / 1.00 row shows up too.
        config.compare.equality = Equality {
            strict_decimal_scale: true,
        };
        config.compare.ttl = false;
        let strict = clusters.validator(config).run().await;
        let t = &strict.tables[0];
        assert_eq!(t.counts.differing, 3, "{}", strict.summary(50)); // ttl no longer compared, decimal now is
        assert!(t
            .differences
            .iter()
            .any(|d| d.key_text() == "k=11, c=1" && d.columns[0].column == "dec"));
        // JSON and JUnit renderings carry the same findings.
        let json: serde_json::Value = serde_json::from_str(&strict.to_json()).unwrap();
        assert_eq!(json["tables"][0]["counts"]["differing"], 3);
        let xml = strict.to_junit_xml();
        assert!(xml.contains("<failure type=\"differences\""));
        assert!(xml.contains("k=11, c=1"));
    })
    .await;
}
