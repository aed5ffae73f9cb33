//! Helpers shared by ferry-conn's tests against real nodes and the fake
//! server: the negotiation outcome a Cassandra 2.1 node (or a fake one
//! acting like it) must give. Session settings and DDL for the real nodes
//! are `ferry_testkit::session`; the fake cluster of the session tests
//! lives in `session_support`.

// Each test binary uses a subset of these helpers.
#![allow(dead_code)]

use ferry_conn::Connection;
use ferry_wire::ProtocolVersion;

/// Asserts `conn` settled on v3 after asking for v5 first, which the
/// server refused the Cassandra 2.1 way: a server error, not a protocol
/// error.
pub fn assert_v3_after_v5_server_error(conn: &Connection) {
    assert_eq!(conn.protocol_version(), ProtocolVersion::V3);
    let first = &conn.rejected_versions()[0];
    assert_eq!(first.version, ProtocolVersion::V5);
    assert!(
        first
            .outcome
            .contains("Invalid or unsupported protocol version"),
        "{}",
        first.outcome
    );
}
