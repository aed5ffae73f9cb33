//! A real round trip through the RecordingRelay: the DataStax Python driver
//! (protocol v3) talks to a real Cassandra 2.1.0 node of the `default` group
//! through the relay, and the recording must hold the real frames.
//!
//! Needs the `default` node group (scripts/test.sh starts it). The frame
//! checks below read raw header bytes on purpose, without ferry-wire, so this
//! test checks the harness independently of the codec under test.

use ferry_testkit::serde_json::json;
use ferry_testkit::{Direction, NodeGroup, RecordingRelay};

/// v3 frame header: version, flags, stream (2 bytes), opcode, length (4 bytes).
const HEADER_LEN: usize = 9;
const REQUEST_V3: u8 = 0x03;
const RESPONSE_V3: u8 = 0x83;
const OPCODE_STARTUP: u8 = 0x01;
const OPCODE_READY: u8 = 0x02;
const OPCODE_QUERY: u8 = 0x07;
const OPCODE_RESULT: u8 = 0x08;

/// A frame as (version byte, opcode, body) cut from a byte stream by the
/// length in its header. Fails the test on a truncated stream: after the
/// driver has shut down, every frame must be complete.
fn frames(stream: &[u8]) -> Vec<(u8, u8, &[u8])> {
    let mut out = Vec::new();
    let mut rest = stream;
    while !rest.is_empty() {
        assert!(rest.len() >= HEADER_LEN, "truncated header: {rest:02x?}");
        let length = u32::from_be_bytes([rest[5], rest[6], rest[7], rest[8]]) as usize;
        assert!(rest.len() >= HEADER_LEN + length, "truncated body");
        out.push((rest[0], rest[4], &rest[HEADER_LEN..HEADER_LEN + length]));
        rest = &rest[HEADER_LEN + length..];
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_driver_round_trip_through_the_relay_is_recorded() {
    let nodes = NodeGroup::require("default");
    let relay = RecordingRelay::start(nodes.first().socket_addr())
        .await
        .unwrap();
    let relay_addr = relay.local_addr();

    let group = nodes.clone();
    let results = tokio::task::spawn_blocking(move || {
        group.cql_exec_at(
            relay_addr,
            &["SELECT release_version, cluster_name FROM system.local"],
        )
    })
    .await
    .unwrap()
    .expect("query through the relay");
    assert_eq!(
        results[0].column("release_version"),
        [&json!(nodes.cassandra_version)]
    );
    assert_eq!(
        results[0].column("cluster_name"),
        [&json!(nodes.cluster_name)]
    );

    // The driver opens a control connection and a pool connection; every one
    // must be a well-formed v3 exchange.
    let connections = relay.connections();
    assert!(!connections.is_empty());
    let mut saw_query_result = false;
    for &conn in &connections {
        let requests = relay.stream(conn, Direction::ClientToServer);
        let responses = relay.stream(conn, Direction::ServerToClient);
        let requests = frames(&requests);
        let responses = frames(&responses);
        assert!(
            requests.iter().all(|f| f.0 == REQUEST_V3),
            "connection {conn}: non-v3 request"
        );
        assert!(
            responses.iter().all(|f| f.0 == RESPONSE_V3),
            "connection {conn}: non-v3 response"
        );
        // Handshake: a STARTUP request naming the CQL version, answered READY.
        let startup = requests
            .iter()
            .find(|f| f.1 == OPCODE_STARTUP)
            .expect("a STARTUP frame");
        assert!(contains(startup.2, b"CQL_VERSION"));
        assert!(
            responses.iter().any(|f| f.1 == OPCODE_READY),
            "connection {conn}: no READY"
        );
        // Our query, and the RESULT rows that carry the node's version string.
        let ours = requests
            .iter()
            .any(|f| f.1 == OPCODE_QUERY && contains(f.2, b"SELECT release_version, cluster_name"));
        if ours {
            saw_query_result |= responses
                .iter()
                .any(|f| f.1 == OPCODE_RESULT && contains(f.2, nodes.cassandra_version.as_bytes()));
        }
    }
    assert!(
        saw_query_result,
        "no RESULT frame with the release version for our QUERY"
    );
}
