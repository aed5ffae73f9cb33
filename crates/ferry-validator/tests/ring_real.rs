//! The 3-node `ring` group as the source (and the single-node `target`):
//! the ranges follow the source's ring, and every row is compared exactly
//! once however the ring is cut.

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;

use futures::StreamExt;
use support::{int, text, with_clusters, Clusters};

const ROWS: i32 = 4000;

async fn fill(clusters: &Arc<Clusters>) {
    futures::stream::iter((0..ROWS).map(|k| {
        let clusters = clusters.clone();
        async move {
            // Composite partition key, two rows per partition.
            let values = vec![
                int(k / 2),
                text(&format!("p{}", k % 7)),
                int(k % 2),
                text(&format!("v{k}")),
            ];
            clusters
                .on_both(
                    "INSERT INTO {ks}.w (a, b, c, v) VALUES (?, ?, ?, ?) USING TIMESTAMP 42",
                    values,
                )
                .await;
        }
    }))
    .buffer_unordered(32)
    .collect::<Vec<()>>()
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_three_node_source_compares_every_row_exactly_once() {
    // Replication factor 2 on the ring: each row lives on two nodes, yet
    // must be compared once.
    with_clusters("validate_ring", "ring", 2, |clusters| async move {
        clusters
            .ddl("CREATE TABLE {ks}.w (a int, b text, c int, v text, PRIMARY KEY ((a, b), c))")
            .await;
        fill(&clusters).await;
        let nodes: BTreeSet<_> = clusters.source.nodes().iter().map(|n| n.address).collect();
        assert_eq!(nodes.len(), 3);
        let ring = clusters.source.ring().unwrap();
        let vnodes = ring.ranges().len();

        for (splits, parallelism) in [(None, 4), (Some(1), 1), (Some(997), 8)] {
            let mut config = clusters.config("w");
            config.splits = splits;
            config.parallelism = parallelism;
            let report = clusters.validator(config).run().await;
            let t = &report.tables[0];
            let summary = report.summary(10);
            assert_eq!(report.exit_code(), 0, "{summary}");
            assert_eq!(t.counts.source_rows, ROWS as u64, "{summary}");
            assert_eq!(t.counts.target_rows, ROWS as u64, "{summary}");
            assert_eq!(t.counts.rows_compared, ROWS as u64, "{summary}");
            assert_eq!(t.counts.matched, ROWS as u64, "{summary}");
            // At least one piece per vnode range (plus the unwrapped one).
            assert!(
                t.ranges_planned > vnodes,
                "{} pieces for {vnodes} vnodes",
                t.ranges_planned
            );
        }

        // A row removed from the target is still found exactly once.
        clusters
            .on_target(
                "DELETE FROM {ks}.w USING TIMESTAMP 43 WHERE a = ? AND b = ? AND c = ?",
                vec![int(7), text("p0"), int(0)],
            )
            .await;
        let report = clusters.validator(clusters.config("w")).run().await;
        let t = &report.tables[0];
        assert_eq!(t.counts.missing_on_target, 1, "{}", report.summary(10));
        assert_eq!(t.differences[0].key_text(), "a=7, b='p0', c=0");
        assert_eq!(t.counts.rows_compared, ROWS as u64);
    })
    .await;
}
