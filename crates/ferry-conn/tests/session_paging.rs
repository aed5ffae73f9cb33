//! Paged streams and token range scans against fake clusters: every row
//! exactly once and in order, pages fetched only when pulled (or one ahead
//! with prefetch), retried pages, errors ending the stream, and full-ring
//! scans routed to the owner of each range.

mod session_support;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ferry_conn::session::{QueryOptions, Row, Session};
use ferry_conn::token::{Partitioner, Token, TokenRange};
use ferry_testkit::fake_server::{Action, ReceivedRequest};
use ferry_wire::request::Request;
use ferry_wire::response::{
    ColumnSpec, ErrorDetails, Prepared, PreparedMetadata, Response, ResultResponse, RowsMetadata,
    TableSpec,
};
use ferry_wire::types::{ColumnType, CqlValue};
use ferry_wire::{Opcode, RawValue};
use futures::{StreamExt, TryStreamExt};
use session_support::{bound_values, int_token, rows_action, ClusterSpec, FakeCluster, Script};

const BIG: &str = "SELECT k FROM ks.big";
const TOTAL: i32 = 25;

fn params(req: &ReceivedRequest) -> Option<&ferry_wire::request::QueryParameters> {
    match &req.request {
        Some(Request::Query(q)) => Some(&q.parameters),
        Some(Request::Execute(e)) => Some(&e.parameters),
        _ => None,
    }
}

/// The page of `0..total` a request asks for: offset from its paging state
/// (a big-endian u32), size from its page size.
fn page_of(req: &ReceivedRequest, total: i32) -> Action {
    let p = params(req).expect("a paged request");
    let offset = p
        .paging_state
        .as_ref()
        .map_or(0, |s| u32::from_be_bytes(s[..4].try_into().unwrap()) as i32);
    let size = p.page_size.expect("page size set");
    let end = (offset + size).min(total);
    let rows: Vec<Vec<Option<CqlValue>>> = (offset..end)
        .map(|k| vec![Some(CqlValue::Int(k))])
        .collect();
    let next = (end < total).then(|| Bytes::copy_from_slice(&(end as u32).to_be_bytes()));
    rows_action(&[("k", ColumnType::Int)], &rows, next)
}

fn big_table_script() -> Script {
    Arc::new(|_, req| (req.query_text() == Some(BIG)).then(|| page_of(req, TOTAL)))
}

fn big_requests(cluster: &FakeCluster) -> Vec<ReceivedRequest> {
    let mut all: Vec<ReceivedRequest> = (0..cluster.servers.len())
        .flat_map(|i| cluster.requests(i, Opcode::Query))
        .filter(|r| r.query_text() == Some(BIG))
        .collect();
    all.sort_by_key(|r| r.at);
    all
}

fn key(row: &Row) -> i32 {
    match row.by_name("k") {
        Some(CqlValue::Int(k)) => *k,
        other => panic!("unexpected k {other:?}"),
    }
}

#[tokio::test]
async fn a_stream_reads_every_page_in_order() {
    let cluster = FakeCluster::start(ClusterSpec::simple(2), big_table_script()).await;
    let session = Session::connect(cluster.config()).await.unwrap();
    let rows: Vec<Row> = session
        .query_stream(BIG, (), QueryOptions::new().with_page_size(10))
        .try_collect()
        .await
        .unwrap();
    let keys: Vec<i32> = rows.iter().map(key).collect();
    assert_eq!(keys, (0..TOTAL).collect::<Vec<_>>());
    let states: Vec<Option<Bytes>> = big_requests(&cluster)
        .iter()
        .map(|r| params(r).unwrap().paging_state.clone())
        .collect();
    let expected: Vec<Option<Bytes>> = [None, Some(10u32), Some(20)]
        .iter()
        .map(|s| s.map(|n| Bytes::copy_from_slice(&n.to_be_bytes())))
        .collect();
    assert_eq!(states, expected);
}

#[tokio::test]
async fn pages_are_fetched_only_when_pulled() {
    let cluster = FakeCluster::start(ClusterSpec::simple(1), big_table_script()).await;
    let session = Session::connect(cluster.config()).await.unwrap();
    let mut rows = session.query_stream(BIG, (), QueryOptions::new().with_page_size(10));
    assert!(
        big_requests(&cluster).is_empty(),
        "nothing before the first pull"
    );
    for expected in 0..10 {
        let row = rows.next().await.unwrap().unwrap();
        assert_eq!(key(&row), expected);
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        big_requests(&cluster).len(),
        1,
        "one page read, one fetched"
    );
    assert_eq!(key(&rows.next().await.unwrap().unwrap()), 10);
    assert_eq!(big_requests(&cluster).len(), 2);
    drop(rows);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(big_requests(&cluster).len(), 2, "dropping stops fetching");
}

#[tokio::test]
async fn prefetch_fetches_one_page_ahead() {
    let cluster = FakeCluster::start(ClusterSpec::simple(1), big_table_script()).await;
    let session = Session::connect(cluster.config().with_prefetch(true))
        .await
        .unwrap();
    let mut rows = session.query_stream(BIG, (), QueryOptions::new().with_page_size(10));
    assert_eq!(key(&rows.next().await.unwrap().unwrap()), 0);
    let server = &cluster.servers[0];
    let fetched_ahead = server
        .wait_for(Duration::from_secs(2), |reqs| {
            reqs.iter().filter(|r| r.query_text() == Some(BIG)).count() == 2
        })
        .await;
    assert!(
        fetched_ahead,
        "the second page is requested while the first is read"
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(big_requests(&cluster).len(), 2, "but no further");
    let rest: Vec<Row> = rows.try_collect().await.unwrap();
    assert_eq!(rest.len(), TOTAL as usize - 1);
}

/// Pages of [`BIG`], but the second request for one (the second page)
/// gets `failure()` instead.
fn second_big_request_fails(failure: impl Fn() -> Action + Send + Sync + 'static) -> Script {
    let seen = Arc::new(AtomicUsize::new(0));
    Arc::new(move |_, req| {
        if req.query_text() != Some(BIG) {
            return None;
        }
        if seen.fetch_add(1, Ordering::SeqCst) == 1 {
            return Some(failure());
        }
        Some(page_of(req, TOTAL))
    })
}

#[tokio::test]
async fn a_failed_page_is_retried_and_the_stream_goes_on() {
    // The second page fails once with Overloaded.
    let script = second_big_request_fails(Action::overloaded);
    let cluster = FakeCluster::start(ClusterSpec::simple(2), script).await;
    let session = Session::connect(cluster.config()).await.unwrap();
    let keys: Vec<i32> = session
        .query_stream(BIG, (), QueryOptions::new().with_page_size(10))
        .map_ok(|r| key(&r))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(keys, (0..TOTAL).collect::<Vec<_>>());
    let reqs = big_requests(&cluster);
    assert_eq!(reqs.len(), 4);
    assert_eq!(
        params(&reqs[1]).unwrap().paging_state,
        params(&reqs[2]).unwrap().paging_state,
        "the retry asks for the same page"
    );
}

#[tokio::test]
async fn an_error_ends_the_stream() {
    let script = second_big_request_fails(|| Action::error(ErrorDetails::Invalid, "table dropped"));
    let cluster = FakeCluster::start(ClusterSpec::simple(1), script).await;
    let session = Session::connect(cluster.config()).await.unwrap();
    let items: Vec<_> = session
        .query_stream(BIG, (), QueryOptions::new().with_page_size(10))
        .collect()
        .await;
    assert_eq!(items.len(), 11, "ten rows, then the error, then the end");
    assert!(items[..10].iter().all(Result::is_ok));
    assert!(items[10].is_err());
}

#[tokio::test]
async fn empty_pages_with_a_successor_are_skipped() {
    let script: Script = Arc::new(|_, req| {
        if req.query_text() != Some(BIG) {
            return None;
        }
        let state = params(req).unwrap().paging_state.clone();
        Some(match state.as_deref() {
            None => rows_action(
                &[("k", ColumnType::Int)],
                &[],
                Some(Bytes::from_static(b"a")),
            ),
            Some(b"a") => rows_action(
                &[("k", ColumnType::Int)],
                &[vec![Some(CqlValue::Int(7))]],
                None,
            ),
            Some(_) => panic!("unexpected paging state"),
        })
    });
    let cluster = FakeCluster::start(ClusterSpec::simple(1), script).await;
    let session = Session::connect(cluster.config()).await.unwrap();
    let pages: Vec<_> = session
        .query_pages(BIG, (), QueryOptions::new())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), 1);
    assert_eq!(pages[0].len(), 1);
    let row = pages[0].rows().rows().next().unwrap().unwrap();
    assert_eq!(row.raw_cells().next(), Some(Some(&[0, 0, 0, 7][..])));
}

/// A fake table `ks.t (k int PRIMARY KEY)` holding keys `0..keys`, served
/// to the scan statement by token range, `page` rows at a time.
fn scan_script(keys: i32) -> Script {
    Arc::new(move |_, req| match &req.request {
        Some(Request::Prepare(p)) if p.query.text().contains("WHERE token(") => {
            let token = |_| ColumnSpec::new("ks", "t", "partition key token", ColumnType::Bigint);
            Some(Action::Respond(Response::Result(ResultResponse::Prepared(
                Box::new(Prepared {
                    id: Bytes::from_static(b"scan"),
                    result_metadata_id: None,
                    metadata: PreparedMetadata::new(
                        Some(TableSpec::new("ks", "t")),
                        (0..2).map(token).collect(),
                        vec![],
                    ),
                    result_metadata: RowsMetadata::with_columns(
                        None,
                        vec![ColumnSpec::new("ks", "t", "k", ColumnType::Int)],
                    ),
                }),
            ))))
        }
        Some(Request::Execute(e)) if e.id.as_ref() == b"scan" => {
            let bound = |i: usize| match &bound_values(req)[i] {
                RawValue::Bytes(b) => Token::from_cql_bytes(Partitioner::Murmur3, b).unwrap(),
                other => panic!("bad bound {other:?}"),
            };
            let (lower, upper) = (bound(0), bound(1));
            let matching: Vec<i32> = (0..keys)
                .filter(|k| {
                    let t = int_token(*k);
                    t > lower && t <= upper
                })
                .collect();
            let offset = e.parameters.paging_state.as_ref().map_or(0, |s| {
                u32::from_be_bytes(s[..4].try_into().unwrap()) as usize
            });
            let size = e.parameters.page_size.unwrap() as usize;
            let end = (offset + size).min(matching.len());
            let rows: Vec<Vec<Option<CqlValue>>> = matching[offset..end]
                .iter()
                .map(|k| vec![Some(CqlValue::Int(*k))])
                .collect();
            let next =
                (end < matching.len()).then(|| Bytes::copy_from_slice(&(end as u32).to_be_bytes()));
            Some(rows_action(&[("k", ColumnType::Int)], &rows, next))
        }
        _ => None,
    })
}

/// A fake cluster of `nodes` nodes serving [`scan_script`]`(keys)`, and a
/// session to it reading `page_size` rows a page.
async fn scan_cluster(nodes: usize, keys: i32, page_size: i32) -> (FakeCluster, Session) {
    let cluster = FakeCluster::start(ClusterSpec::simple(nodes), scan_script(keys)).await;
    let session = Session::connect(cluster.config().with_page_size(page_size))
        .await
        .unwrap();
    (cluster, session)
}

#[tokio::test]
async fn scanning_every_ring_range_reads_each_key_once_from_its_owner() {
    const KEYS: i32 = 500;
    let (cluster, session) = scan_cluster(3, KEYS, 40).await;
    let ring = session.ring().unwrap();
    let mut seen = Vec::new();
    for primary in ring.ranges() {
        let keys: Vec<i32> = session
            .scan_range("ks", "t", &["k"], &primary.range, QueryOptions::new())
            .await
            .unwrap()
            .map_ok(|r| key(&r))
            .try_collect()
            .await
            .unwrap();
        for k in &keys {
            assert!(
                primary.range.contains(int_token(*k)),
                "{k} outside {}",
                primary.range
            );
        }
        seen.extend(keys);
    }
    assert_eq!(seen.len(), KEYS as usize, "no key twice");
    let unique: BTreeSet<i32> = seen.into_iter().collect();
    assert_eq!(unique, (0..KEYS).collect());

    // Each EXECUTE went to the owner of its upper bound; the wrapping range
    // was read as two pieces.
    let mut pieces = BTreeSet::new();
    for i in 0..3 {
        for r in cluster.requests(i, Opcode::Execute) {
            let RawValue::Bytes(upper) = &bound_values(&r)[1] else {
                panic!()
            };
            let upper = Token::from_cql_bytes(Partitioner::Murmur3, upper).unwrap();
            assert_eq!(cluster.owner(upper), i);
            let RawValue::Bytes(lower) = &bound_values(&r)[0] else {
                panic!()
            };
            pieces.insert((lower.clone(), upper));
        }
    }
    assert_eq!(pieces.len(), 4, "three ranges, one of them wrapping");
    let prepared: Vec<String> = (0..3)
        .flat_map(|i| cluster.requests(i, Opcode::Prepare))
        .filter_map(|r| r.query_text().map(str::to_owned))
        .collect();
    assert!(prepared
        .iter()
        .all(|q| q == r#"SELECT "k" FROM "ks"."t" WHERE token("k") > ? AND token("k") <= ?"#));
}

#[tokio::test]
async fn scanning_a_wrapping_range_reads_both_pieces_in_order() {
    const KEYS: i32 = 300;
    let (_cluster, session) = scan_cluster(1, KEYS, 7).await;
    let range = TokenRange::new(Token::murmur3(1 << 62), Token::murmur3(-(1 << 62))).unwrap();
    let keys: Vec<i32> = session
        .scan_range("ks", "t", &[], &range, QueryOptions::new())
        .await
        .unwrap()
        .map_ok(|r| key(&r))
        .try_collect()
        .await
        .unwrap();
    let expected: Vec<i32> = (0..KEYS)
        .filter(|k| range.contains(int_token(*k)))
        .collect();
    assert!(expected.len() > 50);
    let got: BTreeSet<i32> = keys.iter().copied().collect();
    assert_eq!(keys.len(), got.len());
    assert_eq!(got, expected.into_iter().collect());
    // First the piece up to the maximum token, then the one from the minimum.
    let tokens: Vec<Token> = keys.iter().map(|k| int_token(*k)).collect();
    let split = tokens
        .iter()
        .position(|t| *t <= Token::murmur3(-(1 << 62)))
        .unwrap();
    assert!(tokens[..split].iter().all(|t| *t > Token::murmur3(1 << 62)));
    assert!(tokens[split..]
        .iter()
        .all(|t| *t <= Token::murmur3(-(1 << 62))));
}
