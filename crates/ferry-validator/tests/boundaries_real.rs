//! Differences at token range boundaries: the last token of a range, the
//! first token of the next, and the region of the minimum token (a range
//! that wraps round the ring), on real clusters.

mod support;

use std::collections::BTreeSet;

use ferry_conn::token::{Partitioner, Token, TokenRange};
use support::{int, text, with_clusters};

const INSERT: &str = "INSERT INTO {ks}.b (k, v) VALUES (?, ?) USING TIMESTAMP 1000";

fn token(k: i32) -> Token {
    Token::for_key(Partitioner::Murmur3, &[k.to_be_bytes()]).unwrap()
}

fn value(t: Token) -> i64 {
    t.murmur3_value().unwrap()
}

/// Keys 0..3000 by token, and four special ones: the smallest token `a`,
/// two keys `b`, `c` adjacent in token order, and the largest token `z`;
/// with ranges that put each at a boundary:
/// `(t_z - 1, t_a]` (wrapping: `z` its first token, `a` its last, in the
/// minimum token's region), `(t_a, t_b]` (`b` last), `(t_b, t_c - 1]`,
/// `(t_c - 1, t_z - 1]` (`c` first).
fn layout() -> (Vec<i32>, [i32; 4], Vec<TokenRange>) {
    let mut keys: Vec<i32> = (0..3000).collect();
    keys.sort_by_key(|&k| token(k));
    let (a, b, c, z) = (keys[0], keys[1500], keys[1501], keys[2999]);
    let t = |k: i32| value(token(k));
    assert!(t(c) - 1 > t(b), "adjacent tokens too close for this layout");
    let m = Token::murmur3;
    let ranges = vec![
        TokenRange::new(m(t(z) - 1), m(t(a))).unwrap(),
        TokenRange::new(m(t(a)), m(t(b))).unwrap(),
        TokenRange::new(m(t(b)), m(t(c) - 1)).unwrap(),
        TokenRange::new(m(t(c) - 1), m(t(z) - 1)).unwrap(),
    ];
    assert!(ranges[0].is_wrapping());
    (keys, [a, b, c, z], ranges)
}

/// Each difference of a table's report as "<kind> <key>".
fn kinds_and_keys(t: &ferry_validator::TableReport) -> BTreeSet<String> {
    t.differences
        .iter()
        .map(|d| format!("{:?} {}", d.kind, d.key_text()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn differences_at_range_boundaries_are_found() {
    with_clusters("validate_boundaries", "source", 1, |clusters| async move {
        clusters
            .ddl("CREATE TABLE {ks}.b (k int PRIMARY KEY, v text)")
            .await;
        let (keys, special, ranges) = layout();
        let [a, b, c, z] = special;
        // Missing on the target: a and c. Extra on the target: b and z.
        let writes = keys.clone().into_iter().map(|k| {
            let clusters = clusters.clone();
            async move {
                let values = vec![int(k), text(&format!("v{k}"))];
                if k != b && k != z {
                    clusters.on_source(INSERT, values.clone()).await;
                }
                if k != a && k != c {
                    clusters.on_target(INSERT, values).await;
                }
            }
        });
        futures::stream::iter(writes)
            .buffer_unordered(32)
            .collect::<Vec<()>>()
            .await;
        let expected: BTreeSet<String> = [
            format!("MissingOnTarget k={a}"),
            format!("ExtraOnTarget k={b}"),
            format!("MissingOnTarget k={c}"),
            format!("ExtraOnTarget k={z}"),
        ]
        .into_iter()
        .collect();

        // The boundary ranges, given explicitly.
        let mut config = clusters.config("b");
        config.ranges = Some(ranges.clone());
        let report = clusters.validator(config).run().await;
        let t = &report.tables[0];
        let found = kinds_and_keys(t);
        assert_eq!(found, expected, "{}", report.summary(10));
        assert_eq!(
            t.ranges_planned, 5,
            "the wrapping range is scanned as two pieces"
        );
        assert_eq!(t.counts.rows_compared, 3000, "{}", report.summary(10));
        assert_eq!(t.counts.matched, 2996);
        assert_eq!(t.counts.source_rows, 2998);
        assert_eq!(t.counts.target_rows, 2998);

        // The same ranges split much finer still find each exactly once.
        let mut config = clusters.config("b");
        config.ranges = Some(
            ranges
                .iter()
                .flat_map(|r| r.split(std::num::NonZeroUsize::new(7).unwrap()))
                .collect(),
        );
        let report = clusters.validator(config).run().await;
        let t = &report.tables[0];
        assert_eq!(t.counts.rows_compared, 3000, "{}", report.summary(10));
        assert_eq!(t.counts.persistent_differences(), 4);

        // And the default plan (the source ring, split) covers the minimum
        // token region and every boundary too.
        let report = clusters.validator(clusters.config("b")).run().await;
        let t = &report.tables[0];
        let found = kinds_and_keys(t);
        assert_eq!(found, expected, "{}", report.summary(10));
        assert_eq!(t.counts.rows_compared, 3000);
        assert_eq!(report.exit_code(), 1);
    })
    .await;
}

use futures::StreamExt;
