//! The frame envelope (header + body) for protocol v2 to v5.
//!
//! - [`FrameHeader`]: the 8-byte (v2) or 9-byte (v3+) header;
//! - [`Frame`]: header plus body, with body (de)compression for v2-v4;
//! - [`FrameDecoder`]: cuts whole frames off a receive buffer, zero-copy;
//! - [`BodyExtras`]: the tracing id / warnings / custom payload that the
//!   header flags put in front of the message;
//! - [`peek_stream_for_unsupported`]: the stream id of a version probe.
//!
//! In protocol v5 a frame is called an *envelope* and, after the handshake,
//! travels inside checksummed segments (see [`crate::segment`]).

mod body;
mod decoder;
mod envelope;
mod header;
mod probe;

pub(crate) use decoder::frame_extent;

pub use body::BodyExtras;
pub use decoder::FrameDecoder;
pub use envelope::{Frame, MAX_FRAME_LEN};
pub use header::{FrameFlags, FrameHeader};
pub use probe::peek_stream_for_unsupported;
