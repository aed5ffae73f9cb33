//! Session requests against fake clusters: retries (what is retried, where,
//! how often), UNPREPARED handling, lazy per-node preparation, token-aware
//! routing (protocol v4 pk indexes and v3 schema-derived ones), batches,
//! per-request options, USE.

mod session_support;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use ferry_conn::session::{
    Batch, BatchType, DefaultRetryPolicy, ErrorClass, QueryOptions, Session, SessionError,
};
use ferry_conn::ConnectionConfig;
use ferry_testkit::fake_server::{Action, ReceivedRequest};
use ferry_wire::request::Request;
use ferry_wire::response::{
    ColumnSpec, ErrorCode, ErrorDetails, Prepared, PreparedMetadata, Response, ResultResponse,
    RowsMetadata, SchemaChange, SchemaChangeTarget, SchemaChangeType, TableSpec,
};
use ferry_wire::types::{ColumnType, CqlValue};
use ferry_wire::{Consistency, Opcode, RawValue};
use session_support::{
    advertised, bound_values, int_token, no_script, rows_action, ClusterSpec, FakeCluster, Script,
};

/// Counts requests whose CQL contains `text`, across the cluster.
fn count_queries(cluster: &FakeCluster, text: &str) -> usize {
    (0..cluster.servers.len())
        .map(|i| {
            cluster
                .requests(i, Opcode::Query)
                .iter()
                .filter(|r| r.query_text().is_some_and(|q| q.contains(text)))
                .count()
        })
        .sum()
}

/// Fails the first `n` requests containing `text` with `action`.
fn fail_first(n: usize, text: &'static str, action: Action) -> Script {
    let seen = Arc::new(AtomicUsize::new(0));
    Arc::new(move |_, req| {
        if !req.query_text()?.contains(text) || !matches!(req.request, Some(Request::Query(_))) {
            return None;
        }
        (seen.fetch_add(1, Ordering::SeqCst) < n).then(|| action.clone())
    })
}

fn fast_retries() -> Arc<DefaultRetryPolicy> {
    Arc::new(DefaultRetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
    })
}

#[tokio::test]
async fn overloaded_is_retried_on_the_next_node_even_when_not_idempotent() {
    let cluster = FakeCluster::start(
        ClusterSpec::simple(3),
        fail_first(1, "INSERT", Action::overloaded()),
    )
    .await;
    let session = Session::connect(cluster.config()).await.unwrap();
    let r = session
        .query("INSERT INTO ks.t (k) VALUES (1)", (), QueryOptions::new())
        .await
        .unwrap();
    assert_eq!(r.attempts, 2);
    assert_eq!(count_queries(&cluster, "INSERT"), 2);
    let served_by: Vec<usize> = (0..3)
        .filter(|&i| {
            cluster
                .requests(i, Opcode::Query)
                .iter()
                .any(|q| q.query_text().is_some_and(|t| t.contains("INSERT")))
        })
        .collect();
    assert_eq!(served_by.len(), 2, "the retry went to another node");
    assert!(served_by.contains(&cluster.index_of(r.coordinator)));
}

#[tokio::test]
async fn unavailable_and_bootstrapping_are_retried() {
    for action in [
        Action::unavailable(),
        Action::error(ErrorDetails::IsBootstrapping, "joining"),
    ] {
        let cluster =
            FakeCluster::start(ClusterSpec::simple(2), fail_first(1, "UPDATE", action)).await;
        let session = Session::connect(cluster.config()).await.unwrap();
        let r = session
            .query("UPDATE ks.t SET v = 1 WHERE k = 1", (), QueryOptions::new())
            .await
            .unwrap();
        assert_eq!(r.attempts, 2);
    }
}

#[tokio::test]
async fn retries_are_bounded() {
    let cluster = FakeCluster::start(
        ClusterSpec::simple(3),
        fail_first(usize::MAX, "INSERT", Action::overloaded()),
    )
    .await;
    let session = Session::connect(cluster.config().with_retry_policy(fast_retries()))
        .await
        .unwrap();
    let err = session
        .query("INSERT INTO ks.t (k) VALUES (1)", (), QueryOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.server_code(), Some(ErrorCode::OVERLOADED));
    match err {
        SessionError::Request { attempts, .. } => assert_eq!(attempts, 4),
        other => panic!("{other:?}"),
    }
    assert_eq!(count_queries(&cluster, "INSERT"), 4);
}

#[tokio::test]
async fn client_timeouts_are_retried_only_for_idempotent_requests() {
    let cluster = FakeCluster::start(
        ClusterSpec::simple(2),
        fail_first(2, "UPDATE", Action::NoResponse),
    )
    .await;
    let mut config = cluster.config().with_retry_policy(fast_retries());
    config.connection = config
        .connection
        .clone()
        .with_request_timeout(Duration::from_millis(300));
    let session = Session::connect(config).await.unwrap();

    let cql = "UPDATE ks.t SET v = v + 1 WHERE k = 1";
    let err = session
        .query(cql, (), QueryOptions::new())
        .await
        .unwrap_err();
    let source = err.conn_error().expect("a request error");
    assert_eq!(ErrorClass::of(source), ErrorClass::ClientTimeout);
    assert_eq!(
        count_queries(&cluster, "UPDATE"),
        1,
        "not retried: may have applied"
    );

    let r = session
        .query(cql, (), QueryOptions::new().idempotent(true))
        .await
        .unwrap();
    assert_eq!(r.attempts, 2);
    assert_eq!(count_queries(&cluster, "UPDATE"), 3);
}

#[tokio::test]
async fn syntax_errors_are_not_retried() {
    let cluster = FakeCluster::start(
        ClusterSpec::simple(2),
        fail_first(
            usize::MAX,
            "SELEKT",
            Action::error(ErrorDetails::Syntax, "line 1:0"),
        ),
    )
    .await;
    let session = Session::connect(cluster.config()).await.unwrap();
    let err = session
        .query("SELEKT 1", (), QueryOptions::new().idempotent(true))
        .await
        .unwrap_err();
    assert_eq!(err.server_code(), Some(ErrorCode::SYNTAX));
    assert_eq!(count_queries(&cluster, "SELEKT"), 1);
}

#[tokio::test]
async fn options_reach_the_wire_and_retries_keep_the_timestamp() {
    let cluster = FakeCluster::start(
        ClusterSpec::simple(2),
        fail_first(1, "INSERT", Action::overloaded()),
    )
    .await;
    let session = Session::connect(cluster.config().with_client_timestamps(true))
        .await
        .unwrap();
    let opts = QueryOptions::new()
        .with_consistency(Consistency::Quorum)
        .with_serial_consistency(Consistency::LocalSerial)
        .with_page_size(77);
    session
        .query(
            "INSERT INTO ks.t (k) VALUES (?)",
            vec![CqlValue::Int(5)],
            opts,
        )
        .await
        .unwrap();
    let inserts: Vec<ReceivedRequest> = (0..2)
        .flat_map(|i| cluster.requests(i, Opcode::Query))
        .filter(|r| r.query_text().is_some_and(|q| q.contains("INSERT")))
        .collect();
    assert_eq!(inserts.len(), 2);
    let mut stamps = HashSet::new();
    for r in &inserts {
        let Some(Request::Query(q)) = &r.request else {
            unreachable!()
        };
        let p = &q.parameters;
        assert_eq!(p.consistency, Consistency::Quorum);
        assert_eq!(p.serial_consistency, Some(Consistency::LocalSerial));
        assert_eq!(p.page_size, Some(77));
        stamps.insert(p.default_timestamp.expect("client timestamp"));
        assert_eq!(
            bound_values(r),
            [RawValue::Bytes(Bytes::from_static(&[0, 0, 0, 5]))]
        );
    }
    assert_eq!(stamps.len(), 1, "a retry writes with the same timestamp");

    // An explicit timestamp wins.
    session
        .query(
            "DELETE FROM ks.t WHERE k = 1",
            (),
            QueryOptions::new().with_timestamp(42),
        )
        .await
        .unwrap();
    let delete = (0..2)
        .flat_map(|i| cluster.requests(i, Opcode::Query))
        .find(|r| r.query_text().is_some_and(|q| q.starts_with("DELETE")))
        .unwrap();
    let Some(Request::Query(q)) = &delete.request else {
        unreachable!()
    };
    assert_eq!(q.parameters.default_timestamp, Some(42));
}

/// A table `ks.t (k int PRIMARY KEY, v text)` whose statements prepare with
/// these bind markers; the id is the statement text.
fn prepared_for(cql: &str, markers: &[(&str, ColumnType)], pk_indexes: Vec<u16>) -> Action {
    let columns = markers
        .iter()
        .map(|(n, t)| ColumnSpec::new("ks", "t", *n, t.clone()))
        .collect();
    Action::Respond(Response::Result(ResultResponse::Prepared(Box::new(
        Prepared {
            id: Bytes::copy_from_slice(cql.as_bytes()),
            result_metadata_id: None,
            metadata: PreparedMetadata::new(Some(TableSpec::new("ks", "t")), columns, pk_indexes),
            result_metadata: RowsMetadata::without_columns(0),
        },
    ))))
}

const INSERT: &str = "INSERT INTO ks.t (k, v) VALUES (?, ?)";

/// EXECUTEs the prepared [`INSERT`] for key `k` (value "v").
async fn execute_insert(
    session: &Session,
    insert: &ferry_conn::session::PreparedStatement,
    k: i32,
) -> Result<ferry_conn::session::QueryResult, SessionError> {
    session
        .execute(
            insert,
            vec![CqlValue::Int(k), CqlValue::from("v")],
            QueryOptions::new(),
        )
        .await
}

/// Prepares INSERT with `k` as the partition key at `pk` (v4 pk indexes).
fn insert_script(pk: Vec<u16>) -> Script {
    Arc::new(move |_, req| match &req.request {
        Some(Request::Prepare(p)) if p.query.text() == INSERT => Some(prepared_for(
            INSERT,
            &[("k", ColumnType::Int), ("v", ColumnType::Varchar)],
            pk.clone(),
        )),
        _ => None,
    })
}

/// The partition key (bound value 0, an int) of every EXECUTE node `i` got.
fn executed_keys(cluster: &FakeCluster, i: usize) -> Vec<i32> {
    cluster
        .requests(i, Opcode::Execute)
        .iter()
        .map(|r| match bound_values(r).first() {
            Some(RawValue::Bytes(b)) => i32::from_be_bytes(b[..4].try_into().unwrap()),
            other => panic!("unexpected key {other:?}"),
        })
        .collect()
}

#[tokio::test]
async fn prepared_statements_go_to_the_replica_of_their_key() {
    let cluster = FakeCluster::start(ClusterSpec::simple(3), insert_script(vec![0])).await;
    let session = Session::connect(cluster.config()).await.unwrap();
    let insert = session.prepare(INSERT).await.unwrap();
    assert_eq!(insert.pk_indexes(), [0]);
    assert_eq!(insert.keyspace(), Some("ks"));
    for k in 0..60 {
        let r = execute_insert(&session, &insert, k).await.unwrap();
        assert_eq!(
            cluster.index_of(r.coordinator),
            cluster.owner(int_token(k)),
            "key {k}"
        );
    }
    let mut per_node = Vec::new();
    for i in 0..3 {
        let keys = executed_keys(&cluster, i);
        for k in &keys {
            assert_eq!(cluster.owner(int_token(*k)), i);
        }
        per_node.push(keys.len());
    }
    assert!(per_node.iter().all(|&n| n > 5), "keys spread: {per_node:?}");
    // Prepared on each node once, lazily, before its first EXECUTE.
    for i in 0..3 {
        let prepares = cluster.requests(i, Opcode::Prepare);
        let executes = cluster.requests(i, Opcode::Execute);
        assert_eq!(prepares.len(), 1, "node {i}");
        assert!(prepares[0].at <= executes[0].at);
    }
    assert_eq!(insert.prepared_on().len(), 3);
}

#[tokio::test]
async fn explicit_routing_keys_and_tokens_route_plain_queries() {
    let cluster = FakeCluster::start(ClusterSpec::simple(3), no_script()).await;
    let session = Session::connect(cluster.config()).await.unwrap();
    for k in 0..20i32 {
        let key = Bytes::copy_from_slice(&k.to_be_bytes());
        let by_key = session
            .query(
                "SELECT * FROM ks.t WHERE k = ?",
                vec![CqlValue::Int(k)],
                QueryOptions::new().with_routing_key(vec![key]),
            )
            .await
            .unwrap();
        assert_eq!(
            cluster.index_of(by_key.coordinator),
            cluster.owner(int_token(k))
        );
        let by_token = session
            .query(
                "SELECT * FROM ks.t",
                (),
                QueryOptions::new().with_routing_token(int_token(k)),
            )
            .await
            .unwrap();
        assert_eq!(by_token.coordinator, by_key.coordinator);
    }
}

#[tokio::test]
async fn cassandra_21_statements_are_routed_by_schema_derived_key_positions() {
    // Composite key (a, b) bound out of order: markers b, v, a.
    let cql = "INSERT INTO ks.t (b, v, a) VALUES (?, ?, ?)";
    let mut spec = ClusterSpec::simple(3).cassandra_21();
    spec.partition_key = vec!["a".into(), "b".into()];
    let script: Script = Arc::new(move |_, req| match &req.request {
        Some(Request::Prepare(p)) if p.query.text() == cql => Some(prepared_for(
            cql,
            &[
                ("b", ColumnType::Varchar),
                ("v", ColumnType::Varchar),
                ("a", ColumnType::Int),
            ],
            // Protocol v3 has no pk indexes: the encoder drops them.
            vec![],
        )),
        _ => None,
    });
    let cluster = FakeCluster::start(spec, script).await;
    let session = Session::connect(cluster.config()).await.unwrap();
    assert_eq!(session.protocol_version(), ferry_wire::ProtocolVersion::V3);
    let insert = session.prepare(cql).await.unwrap();
    assert_eq!(insert.pk_indexes(), [2, 0], "a is marker 2, b marker 0");
    for a in 0..30 {
        let b = format!("b{a}");
        let r = session
            .execute(
                &insert,
                vec![
                    CqlValue::from(b.clone()),
                    CqlValue::from("v"),
                    CqlValue::Int(a),
                ],
                QueryOptions::new(),
            )
            .await
            .unwrap();
        let token = ferry_conn::token::Token::for_key(
            ferry_conn::token::Partitioner::Murmur3,
            &[&a.to_be_bytes()[..], b.as_bytes()],
        )
        .unwrap();
        assert_eq!(
            cluster.index_of(r.coordinator),
            cluster.owner(token),
            "a = {a}"
        );
    }
}

#[tokio::test]
async fn unprepared_is_prepared_again_and_retried_once() {
    // Each node forgets the statement once: its first EXECUTE is UNPREPARED.
    let forgot: Arc<Mutex<HashSet<usize>>> = Arc::default();
    let prepare = insert_script(vec![0]);
    let f = forgot.clone();
    let script: Script = Arc::new(move |me, req| match &req.request {
        Some(Request::Execute(e)) if f.lock().unwrap().insert(me) => Some(Action::error(
            ErrorDetails::Unprepared { id: e.id.clone() },
            "Prepared query with ID not found",
        )),
        _ => prepare(me, req),
    });
    let cluster = FakeCluster::start(ClusterSpec::simple(3), script).await;
    let session = Session::connect(cluster.config()).await.unwrap();
    let insert = session.prepare(INSERT).await.unwrap();
    for k in 0..30 {
        let r = execute_insert(&session, &insert, k).await.unwrap();
        assert_eq!(r.attempts, 1, "re-preparing is not a retry");
    }
    for i in 0..3 {
        let prepares = cluster.requests(i, Opcode::Prepare);
        let executes = cluster.requests(i, Opcode::Execute);
        // The first PREPARE (by `prepare` or lazily before the node's first
        // EXECUTE), then one more after the UNPREPARED.
        assert_eq!(prepares.len(), 2, "node {i}");
        // The re-PREPARE came right after the UNPREPARED answer to the
        // first EXECUTE, before the second.
        let last_prepare = prepares.last().unwrap().at;
        assert!(executes[0].at <= last_prepare && last_prepare <= executes[1].at);
        assert_eq!(executes[0].body, executes[1].body, "the same EXECUTE again");
    }
}

#[tokio::test]
async fn unprepared_twice_in_a_row_is_an_error() {
    let prepare = insert_script(vec![0]);
    let script: Script = Arc::new(move |me, req| match &req.request {
        Some(Request::Execute(e)) => Some(Action::error(
            ErrorDetails::Unprepared { id: e.id.clone() },
            "gone again",
        )),
        _ => prepare(me, req),
    });
    let cluster = FakeCluster::start(ClusterSpec::simple(1), script).await;
    let session = Session::connect(cluster.config()).await.unwrap();
    let insert = session.prepare(INSERT).await.unwrap();
    let err = session
        .execute(
            &insert,
            vec![CqlValue::Int(1), CqlValue::from("v")],
            QueryOptions::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.server_code(), Some(ErrorCode::UNPREPARED));
    assert_eq!(cluster.requests(0, Opcode::Execute).len(), 2);
}

#[tokio::test]
async fn preparing_twice_returns_the_cached_statement() {
    let cluster = FakeCluster::start(ClusterSpec::simple(2), insert_script(vec![0])).await;
    let session = Session::connect(cluster.config()).await.unwrap();
    let a = session.prepare(INSERT).await.unwrap();
    let b = session.prepare(INSERT).await.unwrap();
    assert!(a.same_as(&b));
    let total: usize = (0..2)
        .map(|i| cluster.requests(i, Opcode::Prepare).len())
        .sum();
    assert_eq!(total, 1);
}

#[tokio::test]
async fn wrong_values_fail_before_anything_is_sent() {
    let cluster = FakeCluster::start(ClusterSpec::simple(1), insert_script(vec![0])).await;
    let session = Session::connect(cluster.config()).await.unwrap();
    let insert = session.prepare(INSERT).await.unwrap();
    for values in [
        vec![CqlValue::Int(1)],
        vec![CqlValue::from("not an int"), CqlValue::from("v")],
    ] {
        let err = session
            .execute(&insert, values, QueryOptions::new())
            .await
            .unwrap_err();
        assert!(matches!(err, SessionError::Values(_)), "{err}");
    }
    assert!(cluster.requests(0, Opcode::Execute).is_empty());
}

#[tokio::test]
async fn batches_prepare_their_statements_on_the_node_and_follow_the_key() {
    let cluster = FakeCluster::start(ClusterSpec::simple(3), insert_script(vec![0])).await;
    let session = Session::connect(cluster.config()).await.unwrap();
    let insert = session.prepare(INSERT).await.unwrap();
    for k in 0..10 {
        let mut batch = Batch::new(BatchType::Unlogged);
        batch
            .add_prepared(&insert, vec![CqlValue::Int(k), CqlValue::from("a")])
            .add_query(
                "UPDATE ks.t SET v = ? WHERE k = ?",
                vec![CqlValue::from("b"), CqlValue::Int(k)],
            );
        let r = session.batch(&batch, QueryOptions::new()).await.unwrap();
        let node = cluster.index_of(r.coordinator);
        assert_eq!(node, cluster.owner(int_token(k)));
        let last = cluster.requests(node, Opcode::Batch).pop().unwrap();
        let Some(Request::Batch(b)) = &last.request else {
            panic!("not a batch")
        };
        assert_eq!(b.statements.len(), 2);
        assert_eq!(b.batch_type, BatchType::Unlogged);
        assert!(!cluster.requests(node, Opcode::Prepare).is_empty());
    }
}

#[tokio::test]
async fn use_keyspace_reaches_every_connection() {
    let cluster = FakeCluster::start(ClusterSpec::simple(3), no_script()).await;
    let config = cluster.config().with_connections_per_node(2);
    let session = Session::connect(config).await.unwrap();
    session
        .query("USE other_ks", (), QueryOptions::new())
        .await
        .unwrap();
    assert_eq!(session.keyspace().as_deref(), Some("other_ks"));
    let uses: usize = (0..3)
        .map(|i| {
            cluster
                .requests(i, Opcode::Query)
                .iter()
                .filter(|r| r.query_text().is_some_and(|q| q.starts_with("USE")))
                .map(|r| r.connection)
                .collect::<HashSet<_>>()
                .len()
        })
        .sum();
    assert_eq!(uses, 6, "every connection of every node switched");
}

#[tokio::test]
async fn a_keyspace_in_the_connection_template_is_used_everywhere() {
    let cluster = FakeCluster::start(ClusterSpec::simple(2), no_script()).await;
    let mut config = cluster.config();
    config.connection = ConnectionConfig::new("")
        .with_heartbeat(None)
        .with_max_version(ferry_wire::ProtocolVersion::V4)
        .with_keyspace("ks");
    let session = Session::connect(config).await.unwrap();
    assert_eq!(session.keyspace().as_deref(), Some("ks"));
    for i in 0..2 {
        assert!(cluster
            .requests(i, Opcode::Query)
            .iter()
            .any(|r| r.query_text() == Some("USE \"ks\"")));
    }
}

#[tokio::test]
async fn requests_can_run_from_many_tasks() {
    let cluster = FakeCluster::start(ClusterSpec::simple(3), insert_script(vec![0])).await;
    let session = Session::connect(cluster.config()).await.unwrap();
    let insert = session.prepare(INSERT).await.unwrap();
    let tasks: Vec<_> = (0..200)
        .map(|k| {
            let (session, insert) = (session.clone(), insert.clone());
            tokio::spawn(async move {
                execute_insert(&session, &insert, k)
                    .await
                    .map(|r| r.coordinator)
            })
        })
        .collect();
    for (k, t) in tasks.into_iter().enumerate() {
        let node = t.await.unwrap().unwrap();
        assert_eq!(cluster.index_of(node), cluster.owner(int_token(k as i32)));
    }
}

#[tokio::test]
async fn schema_changes_wait_for_every_node_to_agree() {
    // The coordinator's peers disagree for the first two looks.
    let looks = Arc::new(AtomicUsize::new(0));
    let l = looks.clone();
    let version = |b: u8| Some(CqlValue::Uuid([b; 16]));
    let script: Script = Arc::new(move |me, req| {
        let q = req.query_text()?;
        if q.starts_with("CREATE TABLE") {
            return Some(Action::Respond(Response::Result(
                ResultResponse::SchemaChange(SchemaChange {
                    change: SchemaChangeType::Created,
                    target: SchemaChangeTarget::Table {
                        keyspace: "ks".into(),
                        table: "t".into(),
                    },
                }),
            )));
        }
        if q.starts_with("SELECT schema_version FROM system.local") {
            return Some(rows_action(
                &[("schema_version", ColumnType::Uuid)],
                &[vec![version(1)]],
                None,
            ));
        }
        if q.starts_with("SELECT peer, schema_version FROM system.peers") {
            let settled = l.fetch_add(1, Ordering::SeqCst) >= 2;
            let rows: Vec<Vec<Option<CqlValue>>> = (0..3)
                .filter(|&j| j != me)
                .map(|j| {
                    let v = if settled || j != 2 { 1 } else { 2 };
                    vec![Some(CqlValue::Inet(advertised(j).ip())), version(v)]
                })
                .collect();
            return Some(rows_action(
                &[
                    ("peer", ColumnType::Inet),
                    ("schema_version", ColumnType::Uuid),
                ],
                &rows,
                None,
            ));
        }
        None
    });
    let cluster = FakeCluster::start(ClusterSpec::simple(3), script).await;
    let session = Session::connect(cluster.config()).await.unwrap();
    // Sent to node 0, whose peer 2 lags.
    let at_node_0 = ferry_conn::token::Token::murmur3(cluster.spec.nodes[0].tokens[0]);
    let r = session
        .query(
            "CREATE TABLE ks.t (k int PRIMARY KEY)",
            (),
            QueryOptions::new().with_routing_token(at_node_0),
        )
        .await
        .unwrap();
    assert!(matches!(r.result, ResultResponse::SchemaChange(_)));
    let coordinator = cluster.index_of(r.coordinator);
    assert_eq!(coordinator, 0);
    assert_eq!(
        looks.load(Ordering::SeqCst),
        3,
        "returned only once the versions agreed"
    );
    let polled_on: HashSet<usize> = (0..3)
        .filter(|&i| {
            cluster.requests(i, Opcode::Query).iter().any(|q| {
                q.query_text()
                    .is_some_and(|t| t.starts_with("SELECT peer, schema_version"))
            })
        })
        .collect();
    assert_eq!(
        polled_on,
        HashSet::from([coordinator]),
        "asked the coordinator"
    );
}

#[tokio::test]
async fn protocol_v5_executes_carry_the_result_metadata_id() {
    let mut spec = ClusterSpec::simple(2);
    spec.max_version = ferry_wire::ProtocolVersion::V5;
    let cluster = FakeCluster::start(spec, no_script()).await;
    let session = Session::connect(cluster.config()).await.unwrap();
    assert_eq!(session.protocol_version(), ferry_wire::ProtocolVersion::V5);
    // The fake server prepares anything, without bind markers.
    let statement = session.prepare("SELECT * FROM ks.t").await.unwrap();
    for _ in 0..4 {
        session
            .execute(&statement, (), QueryOptions::new())
            .await
            .unwrap();
    }
    let executes: Vec<ReceivedRequest> = (0..2)
        .flat_map(|i| cluster.requests(i, Opcode::Execute))
        .collect();
    assert_eq!(executes.len(), 4);
    for e in &executes {
        let Some(Request::Execute(x)) = &e.request else {
            panic!("not an EXECUTE")
        };
        assert!(x.result_metadata_id.is_some());
    }
}
