//! The fake server's own behaviour, driven with raw frames.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use ferry_wire::frame::{Frame, FrameDecoder, FrameHeader};
use ferry_wire::request::{Options, Query, Request, Startup};
use ferry_wire::response::{ErrorCode, Response};
use ferry_wire::{Consistency, Opcode, ProtocolVersion, Reader};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::*;

struct RawClient {
    tcp: TcpStream,
    buf: BytesMut,
}

impl RawClient {
    async fn connect(server: &FakeServer) -> RawClient {
        RawClient {
            tcp: TcpStream::connect(server.addr()).await.unwrap(),
            buf: BytesMut::new(),
        }
    }

    async fn send(&mut self, version: ProtocolVersion, stream: i16, request: Request) {
        let mut body = BytesMut::new();
        request.encode(&mut body, version).unwrap();
        let frame = Frame::new(
            FrameHeader::request(version, stream, request.opcode(), 0),
            body.freeze(),
        );
        let mut out = BytesMut::new();
        frame.encode(&mut out).unwrap();
        self.tcp.write_all(&out).await.unwrap();
    }

    /// The next frame, or `None` if the server closed the connection.
    async fn recv(&mut self) -> Option<Frame> {
        let read = async {
            loop {
                if let Some(frame) = FrameDecoder::new().decode(&mut self.buf).unwrap() {
                    return Some(frame);
                }
                if self.tcp.read_buf(&mut self.buf).await.unwrap_or(0) == 0 {
                    return None;
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(5), read)
            .await
            .expect("the fake server answers or closes")
    }

    async fn recv_response(&mut self) -> (FrameHeader, Response) {
        let frame = self.recv().await.expect("a response");
        let mut r = Reader::new(frame.body);
        let response = Response::decode(frame.header.opcode, &mut r, frame.header.version).unwrap();
        (frame.header, response)
    }
}

#[tokio::test]
async fn unknown_version_probe_gets_a_protocol_error_listing_versions() {
    let server = FakeServer::builder()
        .max_version(ProtocolVersion::V4)
        .start()
        .await
        .unwrap();
    let mut client = RawClient::connect(&server).await;
    // A v6 OPTIONS on stream 0x0102: a version ferry-wire cannot decode.
    client
        .tcp
        .write_all(&[0x06, 0, 0x01, 0x02, 0x05, 0, 0, 0, 0])
        .await
        .unwrap();
    let (header, response) = client.recv_response().await;
    assert_eq!(header.version, ProtocolVersion::V4);
    assert_eq!(header.stream, 0x0102);
    let Response::Error(e) = response else {
        panic!("expected an ERROR, got {response:?}");
    };
    assert_eq!(e.code(), ErrorCode::PROTOCOL);
    assert_eq!(
        e.message,
        "Invalid or unsupported protocol version (6); supported versions are (3/v3, 4/v4)"
    );
    assert!(client.recv().await.is_none(), "then it hangs up");
}

#[tokio::test]
async fn cassandra_2_1_style_rejection_is_a_server_error() {
    let server = FakeServer::builder()
        .max_version(ProtocolVersion::V3)
        .version_rejection(VersionRejection::ServerError)
        .start()
        .await
        .unwrap();
    let mut client = RawClient::connect(&server).await;
    client
        .send(ProtocolVersion::V4, 3, Startup::new("3.0.0").into())
        .await;
    let (header, response) = client.recv_response().await;
    assert_eq!((header.version, header.stream), (ProtocolVersion::V3, 3));
    let Response::Error(e) = response else {
        panic!("expected an ERROR, got {response:?}");
    };
    assert_eq!(e.code(), ErrorCode::SERVER);
    assert_eq!(e.message, "Invalid or unsupported protocol version: 4");
}

#[tokio::test]
async fn statements_before_startup_are_protocol_errors() {
    let server = FakeServer::start().await.unwrap();
    let mut client = RawClient::connect(&server).await;
    let query = Query::new("SELECT 1", Consistency::One);
    client.send(ProtocolVersion::V4, 1, query.into()).await;
    let (_, response) = client.recv_response().await;
    assert!(matches!(response, Response::Error(e) if e.is_protocol_error()));
}

#[tokio::test]
async fn rules_fire_in_order_and_respect_times() {
    let server = FakeServer::builder()
        .rule(Rule::new(Matcher::opcode(Opcode::Options), Action::overloaded()).times(1))
        .rule(
            Rule::new(
                Matcher::opcode(Opcode::Options),
                Action::Garbage(Bytes::from_static(b"xyz")),
            )
            .times(1),
        )
        .start()
        .await
        .unwrap();
    let mut client = RawClient::connect(&server).await;
    client.send(ProtocolVersion::V4, 0, Options.into()).await;
    let (_, first) = client.recv_response().await;
    assert!(matches!(first, Response::Error(e) if e.code() == ErrorCode::OVERLOADED));
    client.send(ProtocolVersion::V4, 1, Options.into()).await;
    let mut raw = [0u8; 3];
    client.tcp.read_exact(&mut raw).await.unwrap();
    assert_eq!(&raw, b"xyz");
    client.send(ProtocolVersion::V4, 2, Options.into()).await;
    let (header, third) = client.recv_response().await;
    assert_eq!(header.stream, 2);
    assert!(matches!(third, Response::Supported(_)));
    let streams: Vec<i16> = server.received().iter().map(|r| r.stream).collect();
    assert_eq!(streams, [0, 1, 2]);
}

#[tokio::test]
async fn drop_mid_response_writes_a_partial_frame() {
    let server = FakeServer::builder()
        .rule(Rule::new(
            Matcher::opcode(Opcode::Options),
            Action::DropMidResponse(None),
        ))
        .start()
        .await
        .unwrap();
    let mut client = RawClient::connect(&server).await;
    client.send(ProtocolVersion::V4, 0, Options.into()).await;
    assert!(client.recv().await.is_none());
    assert!(!client.buf.is_empty(), "part of a frame arrived");
    assert!(FrameDecoder::new()
        .decode(&mut client.buf)
        .unwrap()
        .is_none());
}
