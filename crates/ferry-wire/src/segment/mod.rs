//! Protocol v5 framing: checksummed segments that carry envelopes.
//!
//! Once a v5 connection's STARTUP exchange is done, envelopes (frames in the
//! v2-v4 sense, with a 9-byte header) no longer travel bare: they are packed
//! into *segments* (the spec calls them "frames"). Each segment is
//!
//! ```text
//! header (6 bytes, or 8 with LZ4) | payload (< 128 KiB) | CRC32 of payload (4 bytes)
//! ```
//!
//! with every integer little-endian. A *self-contained* segment holds one or
//! more whole envelopes; an envelope too big for one segment is split over
//! several non-self-contained segments. With LZ4 (the only compression v5
//! allows) each payload is compressed on its own.
//!
//! - [`SegmentCodec`] packs envelopes into segments;
//! - [`SegmentDecoder`] cuts segments off a receive buffer and checks them;
//! - [`FrameAssembler`] turns segments back into envelopes;
//! - [`SegmentFrameDecoder`] chains the last two.

mod assembler;
mod crc;
mod decoder;
mod encoder;
mod header;

use bytes::Bytes;

pub use assembler::{FrameAssembler, SegmentFrameDecoder};
pub use crc::{crc24, crc32};
pub use decoder::SegmentDecoder;
pub use encoder::SegmentCodec;

/// Largest payload a segment can carry: the length field has 17 bits.
pub const MAX_SEGMENT_PAYLOAD: usize = (1 << 17) - 1;

/// A decoded, checksum-verified segment with its payload inflated.
///
/// ```
/// use ferry_wire::segment::Segment;
/// let s = Segment { self_contained: true, payload: bytes::Bytes::new() };
/// assert!(s.payload.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Whether the payload holds only whole envelopes.
    pub self_contained: bool,
    /// The (decompressed) payload.
    pub payload: Bytes,
}
