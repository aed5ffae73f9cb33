//! Bad bytes from one client close that client's connection (after a
//! protocol error) and nothing else: other clients keep working.

mod support;

use std::time::Duration;

use bytes::BytesMut;
use ferry_conn::{Connection, ConnectionConfig};
use ferry_wire::frame::{Frame, FrameDecoder};
use ferry_wire::message::{RequestMessage, ResponseMessage};
use ferry_wire::request::{Options, Request, Startup};
use ferry_wire::response::{ErrorCode, Response};
use ferry_wire::{Consistency, Opcode, ProtocolVersion};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn next_frame(tcp: &mut TcpStream, buf: &mut BytesMut) -> Option<Frame> {
    let mut decoder = FrameDecoder::new();
    loop {
        if let Some(f) = decoder.decode(buf).unwrap() {
            return Some(f);
        }
        let n = tokio::time::timeout(Duration::from_secs(10), tcp.read_buf(buf))
            .await
            .expect("no hang")
            .ok()?;
        if n == 0 {
            return None;
        }
    }
}

async fn send(tcp: &mut TcpStream, stream: i16, request: Request) {
    let mut out = BytesMut::new();
    RequestMessage::new(ProtocolVersion::V3, stream, request)
        .encode(&mut out)
        .unwrap();
    tcp.write_all(&out).await.unwrap();
}

async fn select_one(conn: &Connection) {
    conn.query("SELECT release_version FROM system.local", Consistency::One)
        .await
        .expect("the healthy client still works");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_closes_only_the_connection_that_sent_it() {
    let (_, _, dir, config) = support::real_setup("garbage");
    let proxy = support::start(config).await;
    let healthy = Connection::connect(&ConnectionConfig::new(proxy.local_addr().to_string()))
        .await
        .unwrap();
    assert_eq!(healthy.protocol_version(), ProtocolVersion::V3);
    select_one(&healthy).await;

    // 1. Garbage as the very first bytes.
    let mut bad = TcpStream::connect(proxy.local_addr()).await.unwrap();
    bad.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = BytesMut::new();
    let answer = next_frame(&mut bad, &mut buf)
        .await
        .expect("an error frame first");
    assert_eq!(answer.header.opcode, Opcode::Error);
    assert!(
        next_frame(&mut bad, &mut buf).await.is_none(),
        "then closed"
    );
    select_one(&healthy).await;

    // 2. Garbage after a good handshake: an unknown opcode.
    let mut bad = TcpStream::connect(proxy.local_addr()).await.unwrap();
    let mut buf = BytesMut::new();
    send(&mut bad, 1, Request::Options(Options)).await;
    let supported = next_frame(&mut bad, &mut buf).await.unwrap();
    assert_eq!(supported.header.opcode, Opcode::Supported);
    send(&mut bad, 2, Request::Startup(Startup::new("3.0.0"))).await;
    let ready = next_frame(&mut bad, &mut buf).await.unwrap();
    assert_eq!(ready.header.opcode, Opcode::Ready);
    bad.write_all(&[0x03, 0x00, 0x00, 0x03, 0x77, 0, 0, 0, 0])
        .await
        .unwrap();
    let answer = next_frame(&mut bad, &mut buf)
        .await
        .expect("a protocol error");
    match ResponseMessage::decode(&answer).unwrap().response {
        Response::Error(e) => assert_eq!(e.code(), ErrorCode::PROTOCOL, "{e}"),
        other => panic!("{other:?}"),
    }
    assert!(
        next_frame(&mut bad, &mut buf).await.is_none(),
        "then closed"
    );

    // 3. A frame announcing 200 MiB, then silence and a hang-up.
    let mut bad = TcpStream::connect(proxy.local_addr()).await.unwrap();
    bad.write_all(&[0x03, 0, 0, 1, 0x07, 0x0c, 0x80, 0, 0, 1, 2, 3])
        .await
        .unwrap();
    drop(bad);

    select_one(&healthy).await;
    let m = proxy.metrics();
    assert!(
        m.counters()
            .client_protocol_errors
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 1
    );
    healthy.close().await;
    proxy.shutdown().await;
    std::fs::remove_dir_all(&dir).ok();
}
