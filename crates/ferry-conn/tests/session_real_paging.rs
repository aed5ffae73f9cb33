//! Sessions against a real single Cassandra 2.1 node (group `default` of
//! `scripts/node-groups.conf`): 100,000 rows inserted with concurrent
//! prepared executes, then read back page by page — by one paged query and
//! by token range scans — each row exactly once.

use std::collections::HashSet;
use std::num::NonZeroUsize;

use ferry_conn::session::{Batch, BatchType, QueryOptions, Row, Session, SessionConfig};
use ferry_conn::token::TokenRange;
use ferry_testkit::{unique_keyspace_name, NodeGroup};
use ferry_wire::types::CqlValue;
use ferry_wire::ProtocolVersion;
use futures::{StreamExt, TryStreamExt};

const ROWS: i32 = 100_000;

fn session_config(nodes: &NodeGroup) -> SessionConfig {
    ferry_testkit::session::session_config_to(
        nodes,
        nodes.nodes.iter().map(|n| n.socket_addr().to_string()),
    )
}

fn key(row: &Row) -> i32 {
    match row.get(0) {
        Some(CqlValue::Int(k)) => *k,
        other => panic!("unexpected key {other:?}"),
    }
}

/// Asserts `keys` holds each of `0..ROWS` exactly once.
fn assert_each_key_once(keys: &[i32], what: &str) {
    let unique: HashSet<i32> = keys.iter().copied().collect();
    assert_eq!(unique.len(), keys.len(), "{what}: a key came back twice");
    assert_eq!(keys.len(), ROWS as usize, "{what}: missing rows");
    assert!(unique.iter().all(|k| (0..ROWS).contains(k)), "{what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_through_100_000_rows_returns_each_exactly_once() {
    let nodes = NodeGroup::require("default");
    let session = Session::connect(session_config(&nodes)).await.unwrap();
    assert_eq!(session.protocol_version(), ProtocolVersion::V3);
    let ks = unique_keyspace_name("session_paging");
    ferry_testkit::session::exec_all(
        &session,
        &ferry_testkit::session::create_keyspace_cql(&ks, 1),
    )
    .await;
    ferry_testkit::session::exec_all(
        &session,
        &format!("CREATE TABLE {ks}.t (k int PRIMARY KEY, v text)"),
    )
    .await;

    // Half with concurrent prepared executes, half with unlogged batches.
    let insert = session
        .prepare(&format!("INSERT INTO {ks}.t (k, v) VALUES (?, ?)"))
        .await
        .unwrap();
    assert_eq!(
        insert.pk_indexes(),
        [0],
        "derived from the 2.1 schema tables"
    );
    futures::stream::iter(0..ROWS / 2)
        .map(|k| {
            let (session, insert) = (&session, &insert);
            async move {
                session
                    .execute(
                        insert,
                        vec![CqlValue::Int(k), CqlValue::from(format!("value {k}"))],
                        QueryOptions::new().idempotent(true),
                    )
                    .await
            }
        })
        .buffer_unordered(256)
        .try_for_each(|_| async { Ok(()) })
        .await
        .unwrap();
    let batches: Vec<Batch> = (ROWS / 2..ROWS)
        .collect::<Vec<i32>>()
        .chunks(50)
        .map(|keys| {
            let mut batch = Batch::new(BatchType::Unlogged);
            for &k in keys {
                batch.add_prepared(
                    &insert,
                    vec![CqlValue::Int(k), CqlValue::from(format!("value {k}"))],
                );
            }
            batch
        })
        .collect();
    futures::stream::iter(batches.iter())
        .map(|b| session.batch(b, QueryOptions::new().idempotent(true)))
        .buffer_unordered(32)
        .try_for_each(|_| async { Ok(()) })
        .await
        .unwrap();

    // One paged query.
    let keys: Vec<i32> = session
        .query_stream(
            &format!("SELECT k, v FROM {ks}.t"),
            (),
            QueryOptions::new().with_page_size(1000),
        )
        .map_ok(|row| {
            let k = key(&row);
            assert_eq!(
                row.by_name("v"),
                Some(&CqlValue::from(format!("value {k}")))
            );
            k
        })
        .try_collect()
        .await
        .unwrap();
    assert_each_key_once(&keys, "paged query");

    // The whole ring in 16 token ranges, pages prefetched.
    let session = Session::connect(
        session_config(&nodes)
            .with_prefetch(true)
            .with_page_size(2000),
    )
    .await
    .unwrap();
    let partitioner = session.partitioner().expect("Murmur3Partitioner");
    let mut keys = Vec::new();
    for range in TokenRange::full_ring(partitioner).split(NonZeroUsize::new(16).unwrap()) {
        let mut rows = session
            .scan_range(&ks, "t", &["k"], &range, QueryOptions::new())
            .await
            .unwrap();
        while let Some(row) = rows.try_next().await.unwrap() {
            keys.push(key(&row));
        }
    }
    assert_each_key_once(&keys, "range scans");

    ferry_testkit::session::exec_all(&session, &format!("DROP KEYSPACE {ks}")).await;
}
