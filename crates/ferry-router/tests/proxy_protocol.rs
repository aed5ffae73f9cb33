//! The proxy's protocol handling, against fake servers (faults and
//! versions a real 2.1 node cannot produce on demand): version probes and
//! caps, Cassandra 2.1's server-error refusal, v5 segments with LZ4, v4
//! body compression with an added timestamp, prepared id mapping with a
//! target that forgets statements, and unknown ids.

mod support;

use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use ferry_conn::{Connection, ConnectionConfig};
use ferry_router::{ClusterEndpoint, Proxy, ProxyConfig};
use ferry_testkit::fake_server::{Action, FakeServer, ReceivedRequest, VersionRejection};
use ferry_wire::compression::Compression;
use ferry_wire::frame::{Frame, FrameDecoder};
use ferry_wire::message::ResponseMessage;
use ferry_wire::request::{
    Batch, BatchStatement, BatchStatementKind, BatchType, Query, QueryParameters, Request,
};
use ferry_wire::response::{
    ErrorCode, ErrorDetails, ErrorResponse, Prepared, PreparedMetadata, Response, ResultResponse,
    RowsMetadata,
};
use ferry_wire::{Consistency, Opcode, ProtocolVersion, RawValue};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn proxy_between(
    source: &FakeServer,
    target: &FakeServer,
    max: ProtocolVersion,
) -> (Proxy, std::path::PathBuf) {
    let dir = support::temp_dir("protocol");
    let mut config = ProxyConfig::new(
        ClusterEndpoint::plain(source.address()),
        ClusterEndpoint::plain(target.address()),
        dir.join("failed.log"),
    );
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.max_protocol_version = max;
    (Proxy::start(config).await.unwrap(), dir)
}

/// Sends raw bytes to the proxy and reads one response frame.
async fn raw_exchange(proxy: &Proxy, bytes: &[u8]) -> (Frame, TcpStream) {
    let mut tcp = TcpStream::connect(proxy.local_addr()).await.unwrap();
    tcp.write_all(bytes).await.unwrap();
    let frame = read_frame(&mut tcp).await.expect("a response frame");
    (frame, tcp)
}

async fn read_frame(tcp: &mut TcpStream) -> Option<Frame> {
    let mut buf = BytesMut::new();
    let mut decoder = FrameDecoder::new();
    loop {
        if let Some(f) = decoder.decode(&mut buf).unwrap() {
            return Some(f);
        }
        let n = tokio::time::timeout(Duration::from_secs(5), tcp.read_buf(&mut buf))
            .await
            .expect("an answer in time")
            .unwrap();
        if n == 0 {
            return None;
        }
    }
}

fn error_of(frame: &Frame) -> ErrorResponse {
    match ResponseMessage::decode(frame).unwrap().response {
        Response::Error(e) => e,
        other => panic!("expected an ERROR, got {other:?}"),
    }
}

/// The write requests (QUERY/EXECUTE/BATCH after the handshake) a fake got.
fn writes(server: &FakeServer) -> Vec<ReceivedRequest> {
    server
        .received()
        .into_iter()
        .filter(|r| {
            r.after_ready && matches!(r.opcode, Opcode::Query | Opcode::Execute | Opcode::Batch)
        })
        .collect()
}

async fn wait_writes(server: &FakeServer, n: usize) -> Vec<ReceivedRequest> {
    let arrived = server
        .wait_for(Duration::from_secs(5), |all| {
            all.iter()
                .filter(|r| {
                    r.after_ready
                        && matches!(r.opcode, Opcode::Query | Opcode::Execute | Opcode::Batch)
                })
                .count()
                >= n
        })
        .await;
    assert!(arrived, "{} write(s) expected, got {:?}", n, writes(server));
    writes(server)
}

fn timestamp_of(r: &ReceivedRequest) -> Option<i64> {
    match r.request.as_ref()? {
        Request::Query(q) => q.parameters.default_timestamp,
        Request::Execute(e) => e.parameters.default_timestamp,
        Request::Batch(b) => b.default_timestamp,
        _ => None,
    }
}

#[tokio::test]
async fn version_probes_get_a_protocol_error_in_a_readable_version() {
    let source = FakeServer::start().await.unwrap();
    let target = FakeServer::start().await.unwrap();
    let (proxy, _dir) = proxy_between(&source, &target, ProtocolVersion::V4).await;
    // The Python driver's first frame: OPTIONS in DSE_V2 (0x42), stream 7.
    let (frame, mut tcp) = raw_exchange(&proxy, &[0x42, 0, 0, 7, 0x05, 0, 0, 0, 0]).await;
    assert_eq!(frame.header.stream, 7);
    assert_eq!(frame.header.version, ProtocolVersion::V4);
    let e = error_of(&frame);
    assert_eq!(e.code(), ErrorCode::PROTOCOL);
    assert!(
        e.message.contains("unsupported protocol version"),
        "{}",
        e.message
    );
    // The connection is then closed (the rest of the stream cannot be framed).
    assert!(read_frame(&mut tcp).await.is_none());
    // A v5 STARTUP above the cap: refused by the proxy, never sent on.
    let (frame, _tcp) = raw_exchange(&proxy, &[0x05, 0, 0, 3, 0x05, 0, 0, 0, 0]).await;
    assert_eq!(error_of(&frame).code(), ErrorCode::PROTOCOL);
    assert_eq!(frame.header.version, ProtocolVersion::V4);
    assert!(source
        .received()
        .iter()
        .all(|r| r.version <= ProtocolVersion::V4));
    // A driver negotiating from v5 ends up on v4.
    let conn = Connection::connect(&ConnectionConfig::new(proxy.local_addr().to_string()))
        .await
        .unwrap();
    assert_eq!(conn.protocol_version(), ProtocolVersion::V4);
    proxy.shutdown().await;
}

#[tokio::test]
async fn cassandra_21_server_error_refusals_become_protocol_errors() {
    let source = FakeServer::builder()
        .max_version(ProtocolVersion::V3)
        .version_rejection(VersionRejection::ServerError)
        .start()
        .await
        .unwrap();
    let target = FakeServer::start().await.unwrap();
    let (proxy, _dir) = proxy_between(&source, &target, ProtocolVersion::V5).await;
    // v4 OPTIONS: the fake answers like 2.1.0 (SERVER error); the client
    // must get a PROTOCOL error, with the message, so drivers step down.
    let (frame, _tcp) = raw_exchange(&proxy, &[0x04, 0, 0, 1, 0x05, 0, 0, 0, 0]).await;
    let e = error_of(&frame);
    assert_eq!(e.code(), ErrorCode::PROTOCOL, "{e}");
    assert!(e
        .message
        .contains("Invalid or unsupported protocol version"));
    assert_eq!(frame.header.stream, 1);
    let conn = Connection::connect(&ConnectionConfig::new(proxy.local_addr().to_string()))
        .await
        .unwrap();
    assert_eq!(conn.protocol_version(), ProtocolVersion::V3);
    proxy.shutdown().await;
}

/// Sends one unqualified INSERT with no timestamp through `conn` and
/// checks that source and target got the same body with one timestamp.
async fn insert_is_mirrored_with_one_timestamp(
    conn: &Connection,
    source: &FakeServer,
    target: &FakeServer,
) {
    conn.query("INSERT INTO ks.t (k, v) VALUES (1, 'x')", Consistency::One)
        .await
        .unwrap();
    let on_source = wait_writes(source, 1).await;
    let on_target = wait_writes(target, 1).await;
    let ts = timestamp_of(&on_source[0]).expect("the proxy added a timestamp");
    assert!(ts > 1_600_000_000_000_000);
    assert_eq!(timestamp_of(&on_target[0]), Some(ts));
    assert_eq!(on_source[0].body, on_target[0].body);
}

#[tokio::test]
async fn v5_segments_with_lz4_are_relayed_and_mirrored() {
    let source = FakeServer::start().await.unwrap();
    let target = FakeServer::start().await.unwrap();
    let (proxy, _dir) = proxy_between(&source, &target, ProtocolVersion::V5).await;
    let conn = Connection::connect(
        &ConnectionConfig::new(proxy.local_addr().to_string()).with_compression(Compression::Lz4),
    )
    .await
    .unwrap();
    assert_eq!(conn.protocol_version(), ProtocolVersion::V5);
    assert_eq!(conn.compression(), Some(Compression::Lz4));
    insert_is_mirrored_with_one_timestamp(&conn, &source, &target).await;
    // Reads go to the source only; a big one crosses segment boundaries.
    let big = format!(
        "SELECT * FROM ks.t WHERE k IN ({})",
        vec!["1"; 60_000].join(",")
    );
    conn.query(&big, Consistency::One).await.unwrap();
    assert!(source
        .received()
        .iter()
        .any(|r| r.query_text() == Some(big.as_str())));
    assert!(!target
        .received()
        .iter()
        .any(|r| r.query_text() == Some(big.as_str())));
    // The target leg speaks v5 too.
    assert!(writes(&target)
        .iter()
        .all(|r| r.version == ProtocolVersion::V5));
    proxy.shutdown().await;
}

#[tokio::test]
async fn v4_compressed_frames_get_the_timestamp_and_stay_compressed() {
    for compression in [Compression::Snappy, Compression::Lz4] {
        let source = FakeServer::start().await.unwrap();
        let target = FakeServer::start().await.unwrap();
        let (proxy, _dir) = proxy_between(&source, &target, ProtocolVersion::V4).await;
        let conn = Connection::connect(
            &ConnectionConfig::new(proxy.local_addr().to_string()).with_compression(compression),
        )
        .await
        .unwrap();
        assert_eq!(conn.compression(), Some(compression));
        // The proxy decompresses to peek, adds the timestamp, and sends the
        // source a recompressed frame; the target leg compresses its own.
        insert_is_mirrored_with_one_timestamp(&conn, &source, &target).await;
        proxy.shutdown().await;
    }
}

fn prepared_with_id(id: &[u8], version: ProtocolVersion) -> Response {
    Response::Result(ResultResponse::Prepared(Box::new(Prepared {
        id: Bytes::copy_from_slice(id),
        result_metadata_id: (version >= ProtocolVersion::V5).then(|| Bytes::from_static(b"meta")),
        metadata: PreparedMetadata::new(None, Vec::new(), Vec::new()),
        result_metadata: RowsMetadata::without_columns(0),
    })))
}

#[tokio::test]
async fn prepared_ids_are_mapped_and_a_forgetful_target_is_reprepared() {
    let source = FakeServer::start().await.unwrap();
    // The target gives its own, longer ids, and forgets the statement
    // once: its first EXECUTE is answered UNPREPARED.
    let forgot = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let target = {
        let forgot = forgot.clone();
        FakeServer::builder()
            .handler(move |r: &ReceivedRequest| match r.opcode {
                Opcode::Prepare if r.after_ready => Some(Action::Respond(prepared_with_id(
                    b"target-id-that-is-longer",
                    r.version,
                ))),
                Opcode::Execute if !forgot.swap(true, std::sync::atomic::Ordering::SeqCst) => {
                    Some(Action::error(
                        ErrorDetails::Unprepared {
                            id: Bytes::from_static(b"target-id-that-is-longer"),
                        },
                        "forgotten",
                    ))
                }
                _ => None,
            })
            .start()
            .await
            .unwrap()
    };
    let (proxy, _dir) = proxy_between(&source, &target, ProtocolVersion::V4).await;
    let conn = Connection::connect(&ConnectionConfig::new(proxy.local_addr().to_string()))
        .await
        .unwrap();
    let prepared = conn
        .prepare("INSERT INTO ks.t (k) VALUES (?)")
        .await
        .unwrap();
    let mut params = QueryParameters::new(Consistency::One);
    params.values = Some(ferry_wire::request::BoundValues::Positional(vec![
        RawValue::Bytes(Bytes::from_static(&[0, 0, 0, 1])),
    ]));
    conn.execute(&prepared, params).await.unwrap();
    let mut batch = Batch::new(BatchType::Logged, Consistency::One);
    batch.statements.push(BatchStatement {
        kind: BatchStatementKind::Prepared(prepared.id.clone()),
        values: ferry_wire::request::BoundValues::Positional(vec![RawValue::Bytes(
            Bytes::from_static(&[0, 0, 0, 2]),
        )]),
    });
    batch.statements.push(BatchStatement {
        kind: BatchStatementKind::Query("INSERT INTO ks.t (k) VALUES (3)".into()),
        values: ferry_wire::request::BoundValues::Positional(vec![]),
    });
    conn.batch(batch).await.unwrap();

    let on_source = wait_writes(&source, 2).await;
    // Target: EXECUTE (refused), EXECUTE again after a re-PREPARE, BATCH.
    let on_target = wait_writes(&target, 3).await;
    let id_of = |r: &ReceivedRequest| match r.request.as_ref().unwrap() {
        Request::Execute(e) => e.id.clone(),
        Request::Batch(b) => match &b.statements[0].kind {
            BatchStatementKind::Prepared(id) => id.clone(),
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    };
    assert!(on_source.iter().all(|r| id_of(r) == prepared.id));
    assert!(on_target
        .iter()
        .all(|r| &id_of(r)[..] == b"target-id-that-is-longer"));
    // Same values and timestamps on both sides.
    assert_eq!(timestamp_of(&on_source[0]), timestamp_of(&on_target[1]));
    assert_eq!(timestamp_of(&on_source[1]), timestamp_of(&on_target[2]));
    assert!(timestamp_of(&on_source[1]).is_some());
    let target_prepares = target
        .received_with(Opcode::Prepare)
        .into_iter()
        .filter(|r| r.after_ready)
        .count();
    assert!(target_prepares >= 2, "re-prepared after UNPREPARED");
    support::wait_queue_empty(&proxy, Duration::from_secs(5)).await;
    assert_eq!(proxy.metrics().failed_log_records(), 0);

    // An id the proxy never saw prepared: UNPREPARED, so the driver
    // prepares again (through the proxy).
    let mut body = BytesMut::new();
    body.put_u16(4);
    body.put_slice(b"nope");
    QueryParameters::new(Consistency::One)
        .encode(&mut body, ProtocolVersion::V4)
        .unwrap();
    let frame = conn.send_raw(Opcode::Execute, body.freeze()).await.unwrap();
    match error_of(&frame).details {
        ErrorDetails::Unprepared { id } => assert_eq!(&id[..], b"nope"),
        other => panic!("{other:?}"),
    }
    proxy.shutdown().await;
}

#[tokio::test]
async fn reads_lwt_and_counters_are_routed_as_they_should() {
    let source = FakeServer::start().await.unwrap();
    let target = FakeServer::start().await.unwrap();
    let (proxy, _dir) = proxy_between(&source, &target, ProtocolVersion::V4).await;
    let conn = Connection::connect(&ConnectionConfig::new(proxy.local_addr().to_string()))
        .await
        .unwrap();
    for q in [
        "SELECT * FROM ks.t",
        "INSERT INTO ks.t (k) VALUES (1) IF NOT EXISTS",
        "UPDATE ks.c SET n = n + 1 WHERE k = 1",
        "UPDATE ks.t USING TIMESTAMP 12345 SET v = 1 WHERE k = 1",
        "GRANT SELECT ON ks.t TO bob",
    ] {
        conn.query(q, Consistency::One).await.unwrap();
    }
    let mut q = Query::new("INSERT INTO ks.t (k) VALUES (2)", Consistency::One);
    q.parameters.default_timestamp = Some(777);
    conn.query_with(q).await.unwrap();
    let on_target = wait_writes(&target, 4).await;
    let texts: Vec<_> = on_target.iter().filter_map(|r| r.query_text()).collect();
    assert!(
        !texts
            .iter()
            .any(|t| t.starts_with("SELECT") || t.starts_with("GRANT")),
        "{texts:?}"
    );
    // No timestamp added to the LWT, the counter, or USING TIMESTAMP; the
    // client's own timestamp is kept.
    for r in &on_target {
        let text = r.query_text().unwrap();
        let expected = if text.contains("(2)") {
            Some(777)
        } else {
            None
        };
        assert_eq!(timestamp_of(r), expected, "{text}");
    }
    proxy.shutdown().await;
}
