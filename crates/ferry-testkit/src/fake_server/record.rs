//! What the fake server saw, for assertions.

use std::time::Instant;

use bytes::Bytes;
use ferry_wire::frame::FrameFlags;
use ferry_wire::request::Request;
use ferry_wire::{Opcode, ProtocolVersion};

/// One request frame the server received.
#[derive(Debug, Clone)]
pub struct ReceivedRequest {
    /// Which accepted connection it came on (0, 1, ... in accept order).
    pub connection: usize,
    /// The frame's protocol version.
    pub version: ProtocolVersion,
    /// The frame's stream id.
    pub stream: i16,
    /// The frame's opcode.
    pub opcode: Opcode,
    /// The frame's flags (COMPRESSION cleared once decompressed).
    pub flags: FrameFlags,
    /// The decoded message, if it decoded.
    pub request: Option<Request>,
    /// The (decompressed) body.
    pub body: Bytes,
    /// Whether the connection's handshake had finished (READY or
    /// AUTH_SUCCESS sent) when it arrived.
    pub after_ready: bool,
    /// When it arrived.
    pub at: Instant,
}

impl ReceivedRequest {
    /// The CQL of a QUERY or PREPARE.
    pub fn query_text(&self) -> Option<&str> {
        match &self.request {
            Some(Request::Query(q)) => Some(q.query.text()),
            Some(Request::Prepare(p)) => Some(p.query.text()),
            _ => None,
        }
    }
}

/// Counters kept by the server.
///
/// ```
/// use ferry_testkit::fake_server::Stats;
/// let s = Stats::default();
/// assert_eq!(s.max_outstanding, 0);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Connections accepted (TCP; including ones that failed TLS).
    pub connections: usize,
    /// Connections that have ended (either side closed them).
    pub disconnects: usize,
    /// TLS handshakes that failed.
    pub tls_failures: usize,
    /// Most requests any one connection had unanswered at once.
    pub max_outstanding: usize,
    /// Requests that arrived on a stream id whose earlier request was
    /// still unanswered (a client bug: responses would be ambiguous).
    pub stream_id_reuses: usize,
    /// Frames the server could not decode.
    pub malformed_frames: usize,
}
