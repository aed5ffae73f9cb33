//! An established connection against the fake server: multiplexing,
//! timeouts and orphaned stream ids, faults, backpressure, heartbeats,
//! events, closing.

use std::collections::HashSet;
use std::time::Duration;

use bytes::BytesMut;
use ferry_conn::{ConnError, Connection, ConnectionConfig};
use ferry_testkit::fake_server::{Action, FakeServer, Matcher, Rule};
use ferry_wire::request::{Query, Request};
use ferry_wire::response::{
    ErrorCode, ErrorDetails, Event, Response, ResultResponse, SetKeyspace, StatusChangeType,
};
use ferry_wire::{Consistency, Opcode, ProtocolVersion};

fn config(server: &FakeServer) -> ConnectionConfig {
    ConnectionConfig::new(server.address()).with_heartbeat(None)
}

async fn connect(_server: &FakeServer, config: ConnectionConfig) -> Connection {
    Connection::connect(&config)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A server that never answers a query containing "stall" (and answers
/// everything else).
async fn stall_server() -> FakeServer {
    FakeServer::builder()
        .rule(Rule::new(
            Matcher::query_contains("stall"),
            Action::NoResponse,
        ))
        .start()
        .await
        .unwrap()
}

/// Answers QUERY "q<N>" with Set_keyspace "q<N>" after `delay(N)`.
async fn echo_server(delay: impl Fn(usize) -> Duration + Send + Sync + 'static) -> FakeServer {
    let builder = FakeServer::builder().handler(move |req| {
        let text = req.query_text()?;
        let n: usize = text.strip_prefix('q')?.parse().ok()?;
        let reply = Response::Result(ResultResponse::SetKeyspace(SetKeyspace {
            keyspace: text.to_owned(),
        }));
        Some(Action::respond_after(delay(n), Action::Respond(reply)))
    });
    builder.start().await.unwrap()
}

/// Sends "q0" .. "q<n-1>" on `conn`, each from its own task.
fn spawn_echo_queries(
    conn: &Connection,
    n: usize,
) -> Vec<tokio::task::JoinHandle<Result<ResultResponse, ConnError>>> {
    (0..n)
        .map(|i| {
            let conn = conn.clone();
            tokio::spawn(async move { conn.query(&format!("q{i}"), Consistency::One).await })
        })
        .collect()
}

fn keyspace_of(result: ResultResponse) -> String {
    match result {
        ResultResponse::SetKeyspace(s) => s.keyspace,
        other => panic!("expected Set_keyspace, got kind {}", other.kind()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_get_their_own_out_of_order_responses() {
    for version in [ProtocolVersion::V4, ProtocolVersion::V5] {
        // Later requests are answered first.
        let server = echo_server(|n| Duration::from_millis(200 - 3 * n as u64)).await;
        let conn = connect(&server, config(&server).with_max_version(version)).await;
        let tasks: Vec<_> = (0..50)
            .map(|i| {
                let conn = conn.clone();
                tokio::spawn(async move {
                    let got = conn.query(&format!("q{i}"), Consistency::One).await;
                    (i, got.map(keyspace_of))
                })
            })
            .collect();
        for t in tasks {
            let (i, got) = t.await.unwrap();
            assert_eq!(got.unwrap(), format!("q{i}"));
        }
        let stats = server.stats();
        assert_eq!(stats.stream_id_reuses, 0);
        assert!(
            stats.max_outstanding > 10,
            "requests were multiplexed: {stats:?}"
        );
        assert_eq!(conn.in_flight(), 0);
    }
}

#[tokio::test]
async fn stalled_request_times_out_and_the_connection_stays_usable() {
    let server = stall_server().await;
    let conn = connect(
        &server,
        config(&server).with_request_timeout(Duration::from_millis(200)),
    )
    .await;
    let err = conn
        .query("SELECT stall", Consistency::One)
        .await
        .unwrap_err();
    let ConnError::Timeout { what, after } = &err else {
        panic!("expected a timeout, got {err}");
    };
    assert_eq!(*after, Duration::from_millis(200));
    assert!(what.contains("stays reserved"), "{err}");
    assert!(!err.is_fatal());
    assert_eq!(conn.orphaned_ids(), 1);
    for _ in 0..5 {
        conn.query("SELECT fine", Consistency::One).await.unwrap();
    }
    assert!(!conn.is_closed());
}

#[tokio::test]
async fn orphaned_stream_id_is_not_reused_until_its_late_answer() {
    let server = FakeServer::builder()
        .rule(Rule::new(
            Matcher::query_contains("late"),
            Action::respond_after(Duration::from_millis(1000), Action::Default),
        ))
        .start()
        .await
        .unwrap();
    let conn = connect(
        &server,
        config(&server)
            .with_max_stream_ids(3)
            .with_request_timeout(Duration::from_millis(150)),
    )
    .await;
    let err = conn.query("SELECT late", Consistency::One).await;
    assert!(matches!(err, Err(ConnError::Timeout { .. })), "{err:?}");
    let late_stream = server.received_with(Opcode::Query)[0].stream;
    for _ in 0..10 {
        conn.query("SELECT x", Consistency::One).await.unwrap();
    }
    let queries = server.received_with(Opcode::Query);
    let reused: Vec<_> = queries[1..]
        .iter()
        .filter(|r| r.stream == late_stream)
        .collect();
    assert!(reused.is_empty(), "orphaned id {late_stream} reused");
    let used: HashSet<i16> = queries[1..].iter().map(|r| r.stream).collect();
    assert_eq!(used.len(), 2, "the two free ids take turns: {used:?}");
    assert_eq!(conn.orphaned_ids(), 1);
    // The late answer frees the id.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while conn.orphaned_ids() > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "late answer never freed the id"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(conn.in_flight(), 0);
    for _ in 0..3 {
        conn.query("SELECT y", Consistency::One).await.unwrap();
    }
    assert!(server
        .received_with(Opcode::Query)
        .iter()
        .skip(11)
        .any(|r| r.stream == late_stream));
    assert_eq!(server.stats().stream_id_reuses, 0);
}

#[tokio::test]
async fn cancelled_request_orphans_its_id() {
    let server = stall_server().await;
    let conn = connect(&server, config(&server)).await;
    let gave_up = tokio::time::timeout(
        Duration::from_millis(100),
        conn.query("SELECT stall", Consistency::One),
    )
    .await;
    assert!(gave_up.is_err());
    assert_eq!(conn.orphaned_ids(), 1);
    conn.query("SELECT ok", Consistency::One).await.unwrap();
}

#[tokio::test]
async fn too_many_orphans_close_the_connection() {
    let server = stall_server().await;
    let mut cfg = config(&server).with_request_timeout(Duration::from_millis(50));
    cfg.max_orphaned_ids = 2;
    let conn = connect(&server, cfg).await;
    for _ in 0..3 {
        let _ = conn.query("SELECT stall", Consistency::One).await;
    }
    assert!(conn.is_closed());
    assert!(conn.close_reason().unwrap().contains("not responding"));
}

#[tokio::test]
async fn dropped_mid_response_fails_every_request_in_flight_with_closed() {
    for version in [ProtocolVersion::V4, ProtocolVersion::V5] {
        let server = FakeServer::builder()
            .rule(Rule::new(
                Matcher::query_contains("slow"),
                Action::respond_after(Duration::from_secs(5), Action::Default),
            ))
            .rule(Rule::new(
                Matcher::query_contains("drop"),
                Action::respond_after(Duration::from_millis(100), Action::DropMidResponse(None)),
            ))
            .start()
            .await
            .unwrap();
        let conn = connect(&server, config(&server).with_max_version(version)).await;
        let slow = {
            let conn = conn.clone();
            tokio::spawn(async move { conn.query("SELECT slow", Consistency::One).await })
        };
        let dropped = conn.query("SELECT drop", Consistency::One).await;
        let slow = slow.await.unwrap();
        for result in [dropped, slow] {
            let err = result.unwrap_err();
            let ConnError::Closed { reason, .. } = &err else {
                panic!("expected Closed, got {err}");
            };
            assert!(reason.contains("middle of a frame"), "{err}");
        }
        assert!(conn.is_closed());
        let after = conn.query("SELECT 1", Consistency::One).await.unwrap_err();
        assert!(matches!(after, ConnError::Closed { .. }), "{after}");
    }
}

#[tokio::test]
async fn overloaded_and_unavailable_are_typed_server_errors() {
    let server = FakeServer::builder()
        .rule(Rule::new(
            Matcher::query_contains("busy"),
            Action::overloaded(),
        ))
        .rule(Rule::new(
            Matcher::query_contains("quorum"),
            Action::unavailable(),
        ))
        .start()
        .await
        .unwrap();
    let conn = connect(&server, config(&server)).await;
    let err = conn
        .query("SELECT busy", Consistency::One)
        .await
        .unwrap_err();
    assert_eq!(err.server_code(), Some(ErrorCode::OVERLOADED), "{err}");
    assert!(!err.is_fatal());
    let err = conn
        .query("SELECT quorum", Consistency::Quorum)
        .await
        .unwrap_err();
    match err {
        ConnError::Server(e) => assert_eq!(
            e.details,
            ErrorDetails::Unavailable {
                consistency: Consistency::Quorum,
                required: 2,
                alive: 1
            }
        ),
        other => panic!("expected a server error, got {other}"),
    }
    // The raw variant hands errors back as frames.
    let mut body = BytesMut::new();
    Request::from(Query::new("SELECT busy", Consistency::One))
        .encode(&mut body, conn.protocol_version())
        .unwrap();
    let frame = conn.send_raw(Opcode::Query, body.freeze()).await.unwrap();
    assert_eq!(frame.header.opcode, Opcode::Error);
    conn.query("SELECT fine", Consistency::One).await.unwrap();
}

#[tokio::test]
async fn malformed_frame_is_a_decode_error_and_closes() {
    for version in [ProtocolVersion::V4, ProtocolVersion::V5] {
        let server = FakeServer::builder()
            .rule(Rule::new(
                Matcher::query_contains("garbage"),
                Action::Garbage(bytes::Bytes::from_static(&[0xff; 64])),
            ))
            .start()
            .await
            .unwrap();
        let conn = connect(&server, config(&server).with_max_version(version)).await;
        let err = conn
            .query("SELECT garbage", Consistency::One)
            .await
            .unwrap_err();
        assert!(matches!(err, ConnError::Decode(_)), "{version}: {err}");
        assert!(conn.is_closed());
        assert!(conn.close_reason().unwrap().contains("malformed"));
        let after = conn.query("SELECT 1", Consistency::One).await.unwrap_err();
        assert!(matches!(after, ConnError::Closed { .. }), "{after}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_bound_is_respected() {
    let server = echo_server(|_| Duration::from_millis(50)).await;
    let conn = connect(&server, config(&server).with_max_in_flight(3)).await;
    let tasks = spawn_echo_queries(&conn, 15);
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(server.stats().max_outstanding, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_id_exhaustion_waits_instead_of_failing() {
    let server = echo_server(|_| Duration::from_millis(40)).await;
    let conn = connect(&server, config(&server).with_max_stream_ids(2)).await;
    let tasks = spawn_echo_queries(&conn, 12);
    for (i, t) in tasks.into_iter().enumerate() {
        assert_eq!(keyspace_of(t.await.unwrap().unwrap()), format!("q{i}"));
    }
    let stats = server.stats();
    assert_eq!(stats.max_outstanding, 2);
    assert_eq!(stats.stream_id_reuses, 0);
    let ids: HashSet<i16> = server
        .received_with(Opcode::Query)
        .iter()
        .map(|r| r.stream)
        .collect();
    assert_eq!(ids, HashSet::from([0, 1]));
}

#[tokio::test]
async fn waiting_for_a_stream_id_counts_against_the_timeout() {
    let server = stall_server().await;
    let conn = connect(
        &server,
        config(&server)
            .with_max_stream_ids(1)
            .with_request_timeout(Duration::from_millis(100)),
    )
    .await;
    let _ = conn.query("SELECT stall", Consistency::One).await;
    let err = conn.query("SELECT 1", Consistency::One).await.unwrap_err();
    let ConnError::Timeout { what, .. } = &err else {
        panic!("expected a timeout, got {err}");
    };
    assert!(what.contains("free stream id"), "{err}");
}

/// A connection to a fresh fake server with heartbeats every `interval`
/// and no OPTIONS probe at connect, so every OPTIONS the server sees is a
/// heartbeat.
async fn heartbeat_only_conn(interval: Duration) -> (FakeServer, Connection) {
    let server = FakeServer::start().await.unwrap();
    let conn = connect(
        &server,
        config(&server)
            .with_options_probe(false)
            .with_heartbeat(Some(interval)),
    )
    .await;
    (server, conn)
}

#[tokio::test]
async fn heartbeat_is_sent_when_idle() {
    let (server, conn) = heartbeat_only_conn(Duration::from_millis(100)).await;
    assert!(
        server
            .wait_for(Duration::from_secs(2), |r| r
                .iter()
                .filter(|r| r.opcode == Opcode::Options)
                .count()
                >= 2)
            .await
    );
    assert!(server
        .received_with(Opcode::Options)
        .iter()
        .all(|r| r.after_ready));
    assert!(!conn.is_closed());
}

#[tokio::test]
async fn heartbeat_is_not_sent_while_responses_keep_arriving() {
    let (server, conn) = heartbeat_only_conn(Duration::from_millis(500)).await;
    for _ in 0..20 {
        conn.query("SELECT 1", Consistency::One).await.unwrap();
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    assert!(server.received_with(Opcode::Options).is_empty());
}

#[tokio::test]
async fn failed_heartbeat_closes_the_connection() {
    let server = FakeServer::builder()
        .rule(Rule::new(
            Matcher::opcode(Opcode::Options).after_ready(),
            Action::NoResponse,
        ))
        .start()
        .await
        .unwrap();
    let conn = connect(
        &server,
        config(&server)
            .with_heartbeat(Some(Duration::from_millis(100)))
            .with_request_timeout(Duration::from_millis(200)),
    )
    .await;
    tokio::time::timeout(Duration::from_secs(3), conn.closed())
        .await
        .expect("the connection closes after the heartbeat times out");
    assert!(conn.close_reason().unwrap().contains("heartbeat"));
    let err = conn.query("SELECT 1", Consistency::One).await.unwrap_err();
    assert!(err.to_string().contains("heartbeat"), "{err}");
}

#[tokio::test]
async fn registered_connection_receives_events() {
    for version in [ProtocolVersion::V4, ProtocolVersion::V5] {
        let server = FakeServer::builder()
            .max_version(version)
            .start()
            .await
            .unwrap();
        let conn = connect(&server, config(&server)).await;
        let mut events = conn.register(["STATUS_CHANGE"]).await.unwrap();
        let event = Event::StatusChange {
            change: StatusChangeType::Down,
            node: "10.0.0.7:9042".parse().unwrap(),
        };
        assert_eq!(server.push_event(event.clone()), 1);
        let got = tokio::time::timeout(Duration::from_secs(2), events.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got, event);
        // Requests keep working alongside events.
        conn.query("SELECT 1", Consistency::One).await.unwrap();
    }
}

#[tokio::test]
async fn close_fails_requests_in_flight_and_later_ones() {
    let server = stall_server().await;
    let conn = connect(&server, config(&server)).await;
    let stalled = {
        let conn = conn.clone();
        tokio::spawn(async move { conn.query("SELECT stall", Consistency::One).await })
    };
    assert!(
        server
            .wait_for(Duration::from_secs(2), |r| r
                .iter()
                .any(|r| r.query_text() == Some("SELECT stall")))
            .await
    );
    conn.close().await;
    let err = stalled.await.unwrap().unwrap_err();
    assert!(
        err.to_string().contains("closed by the application"),
        "{err}"
    );
    let err = conn.query("SELECT 1", Consistency::One).await.unwrap_err();
    assert!(matches!(err, ConnError::Closed { .. }), "{err}");
}

#[tokio::test]
async fn dropping_every_handle_closes_the_connection() {
    let server = FakeServer::start().await.unwrap();
    let conn = connect(
        &server,
        config(&server).with_heartbeat(Some(Duration::from_secs(60))),
    )
    .await;
    let clone = conn.clone();
    drop(conn);
    clone.query("SELECT 1", Consistency::One).await.unwrap();
    assert_eq!(server.stats().disconnects, 0, "a clone keeps it open");
    drop(clone);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while server.stats().disconnects == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "server never saw the close"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn prepare_execute_and_use_keyspace() {
    for version in [
        ProtocolVersion::V3,
        ProtocolVersion::V4,
        ProtocolVersion::V5,
    ] {
        let server = FakeServer::start().await.unwrap();
        let conn = connect(&server, config(&server).with_pinned_version(version)).await;
        let prepared = conn.prepare("INSERT INTO t (k) VALUES (?)").await.unwrap();
        assert_eq!(
            prepared.result_metadata_id.is_some(),
            version == ProtocolVersion::V5
        );
        let result = conn
            .execute(
                &prepared,
                ferry_wire::request::QueryParameters::new(Consistency::One),
            )
            .await
            .unwrap();
        assert_eq!(result, ResultResponse::Void);
        conn.use_keyspace("My\"Ks").await.unwrap();
        let last = server.received().pop().unwrap();
        assert_eq!(last.query_text(), Some("USE \"My\"\"Ks\""));
        assert_eq!(last.version, version);
        let supported = conn.options().await.unwrap();
        assert!(supported.get("COMPRESSION").is_some());
    }
}
