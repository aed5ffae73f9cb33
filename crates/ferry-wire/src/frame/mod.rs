//! The frame envelope (header + body) for protocol v2 to v5.

mod header;

pub use header::{FrameFlags, FrameHeader};
