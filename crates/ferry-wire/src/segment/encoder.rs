//! Packing envelopes into checksummed v5 segments.

use bytes::{BufMut, Bytes, BytesMut};

use super::header::{self, PLAIN_HEADER_LEN};
use super::{crc::crc32, SegmentDecoder, MAX_SEGMENT_PAYLOAD};
use crate::error::{EncodeError, EncodeResult};
use crate::frame::Frame;

/// The longest frame header (v3+).
const MAX_HEADER_LEN: usize = 9;

/// An envelope as (at most) two byte runs: the header and the body.
/// Frames keep their header and body apart; this lets us copy both straight
/// into the segment without first gluing them together.
struct Pieces<'a> {
    head: &'a [u8],
    body: &'a [u8],
}

impl Pieces<'_> {
    fn len(&self) -> usize {
        self.head.len() + self.body.len()
    }

    /// Bytes `start..end` of the envelope, as up to two slices.
    fn range(&self, start: usize, end: usize) -> (&[u8], &[u8]) {
        let head_len = self.head.len();
        let head = self
            .head
            .get(start.min(head_len)..end.min(head_len))
            .unwrap_or_default();
        let body = self
            .body
            .get(start.saturating_sub(head_len)..end.saturating_sub(head_len))
            .unwrap_or_default();
        (head, body)
    }

    fn write_range(&self, start: usize, end: usize, out: &mut BytesMut) {
        let (a, b) = self.range(start, end);
        out.put_slice(a);
        out.put_slice(b);
    }
}

/// Something that can be sent as one envelope.
trait EnvelopeSource {
    /// Fills `head` with the header bytes (if kept apart) and returns their
    /// length, with the body.
    fn parts(&self, head: &mut [u8; MAX_HEADER_LEN]) -> EncodeResult<(usize, &[u8])>;
}

impl EnvelopeSource for Frame {
    fn parts(&self, head: &mut [u8; MAX_HEADER_LEN]) -> EncodeResult<(usize, &[u8])> {
        let header = self.header_for_encoding()?;
        header.encode_to(&mut &mut head[..]);
        Ok((header.encoded_len(), &self.body))
    }
}

impl EnvelopeSource for Bytes {
    fn parts(&self, _head: &mut [u8; MAX_HEADER_LEN]) -> EncodeResult<(usize, &[u8])> {
        Ok((0, self))
    }
}

/// Encodes envelopes into v5 segments, uncompressed or LZ4.
///
/// Consecutive envelopes that fit are packed into one self-contained
/// segment; an envelope larger than the payload limit is split over as many
/// non-self-contained segments as it needs (never shared with another
/// envelope), as Cassandra does. The codec keeps its scratch buffers
/// between calls, so reuse one per connection.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use ferry_wire::frame::{Frame, FrameHeader};
/// use ferry_wire::segment::SegmentCodec;
/// use ferry_wire::{Opcode, ProtocolVersion};
/// let frame = Frame::new(
///     FrameHeader::request(ProtocolVersion::V5, 1, Opcode::Options, 0),
///     Bytes::new(),
/// );
/// let mut codec = SegmentCodec::uncompressed();
/// let mut wire = BytesMut::new();
/// codec.encode_frames(&[frame.clone(), frame], &mut wire).unwrap();
/// // One segment: 6-byte header, two 9-byte envelopes, 4-byte CRC32.
/// assert_eq!(wire.len(), 6 + 18 + 4);
/// assert_eq!(wire[0], 18); // payload length, little-endian
/// assert_eq!(wire[2] & 0x02, 0x02); // self-contained
/// ```
#[derive(Debug, Clone)]
pub struct SegmentCodec {
    lz4: bool,
    max_payload: usize,
    /// LZ4 only: the uncompressed payload being gathered.
    gather: BytesMut,
    /// LZ4 only: compressor output, sized once for the worst case.
    compressed: Vec<u8>,
}

impl SegmentCodec {
    /// Uncompressed segments (6-byte headers).
    pub fn uncompressed() -> Self {
        Self::new(false)
    }

    /// LZ4 segments (8-byte headers).
    pub fn lz4() -> Self {
        Self::new(true)
    }

    fn new(lz4: bool) -> Self {
        Self {
            lz4,
            max_payload: MAX_SEGMENT_PAYLOAD,
            gather: BytesMut::new(),
            compressed: Vec::new(),
        }
    }

    /// Uses payloads of at most `max_payload` bytes (clamped to
    /// 1..=[`MAX_SEGMENT_PAYLOAD`]). Smaller segments cut latency for
    /// interleaved streams, and make splitting testable.
    #[must_use]
    pub fn with_max_payload(mut self, max_payload: usize) -> Self {
        self.max_payload = max_payload.clamp(1, MAX_SEGMENT_PAYLOAD);
        self
    }

    /// The payload size limit in use.
    pub fn max_payload(&self) -> usize {
        self.max_payload
    }

    /// Whether segments are LZ4-compressed.
    pub fn is_lz4(&self) -> bool {
        self.lz4
    }

    /// A decoder for the segments this codec writes.
    pub fn decoder(&self) -> SegmentDecoder {
        let decoder = if self.lz4 {
            SegmentDecoder::lz4()
        } else {
            SegmentDecoder::uncompressed()
        };
        decoder.with_max_payload(self.max_payload)
    }

    /// Appends `frames` (v5 envelopes) to `buf` as segments.
    ///
    /// Each frame's length field is written from its body length. Errors
    /// (a body over 2 GiB) leave `buf` as it was.
    pub fn encode_frames(&mut self, frames: &[Frame], buf: &mut BytesMut) -> EncodeResult<()> {
        self.encode_all(frames, buf)
    }

    /// Appends already-encoded envelopes (header and body) to `buf` as
    /// segments, e.g. frames a proxy forwards untouched.
    pub fn encode_envelopes(
        &mut self,
        envelopes: &[Bytes],
        buf: &mut BytesMut,
    ) -> EncodeResult<()> {
        self.encode_all(envelopes, buf)
    }

    /// Appends one segment with the given payload and flag, as is.
    ///
    /// Errors if `payload` is longer than the payload limit.
    pub fn encode_segment(
        &mut self,
        payload: &[u8],
        self_contained: bool,
        buf: &mut BytesMut,
    ) -> EncodeResult<()> {
        if payload.len() > self.max_payload {
            return Err(EncodeError::TooLong {
                field: "segment.payload",
                length: payload.len(),
                max: self.max_payload,
            });
        }
        if self.lz4 {
            write_lz4(&mut self.compressed, payload, self_contained, buf)
        } else {
            let start = open_plain(buf);
            buf.put_slice(payload);
            close_plain(buf, start, self_contained);
            Ok(())
        }
    }

    fn encode_all<E: EnvelopeSource>(
        &mut self,
        items: &[E],
        buf: &mut BytesMut,
    ) -> EncodeResult<()> {
        let rollback = buf.len();
        let result = self.pack(items, buf);
        if result.is_err() {
            buf.truncate(rollback);
            self.gather.clear();
        }
        result
    }

    fn pack<E: EnvelopeSource>(&mut self, items: &[E], buf: &mut BytesMut) -> EncodeResult<()> {
        // The open self-contained segment, if any: where it starts in `buf`
        // (uncompressed; LZ4 gathers in `self.gather`), and how many payload
        // bytes it holds so far.
        let mut open: Option<usize> = None;
        let mut open_len = 0;
        let mut head = [0u8; MAX_HEADER_LEN];
        for item in items {
            let (head_len, body) = item.parts(&mut head)?;
            let pieces = Pieces {
                head: head.get(..head_len).unwrap_or_default(),
                body,
            };
            let len = pieces.len();
            if open.is_some() && open_len + len > self.max_payload {
                self.close(buf, open.take(), true)?;
            }
            if len > self.max_payload {
                self.split_large(&pieces, buf)?;
                continue;
            }
            if open.is_none() {
                open_len = 0;
                open = Some(if self.lz4 {
                    self.gather.clear();
                    0
                } else {
                    open_plain(buf)
                });
            }
            let sink = if self.lz4 {
                &mut self.gather
            } else {
                &mut *buf
            };
            pieces.write_range(0, len, sink);
            open_len += len;
        }
        if open.is_some() {
            self.close(buf, open, true)?;
        }
        Ok(())
    }

    /// Writes a too-large envelope as consecutive non-self-contained segments.
    fn split_large(&mut self, pieces: &Pieces<'_>, buf: &mut BytesMut) -> EncodeResult<()> {
        let len = pieces.len();
        let mut start = 0;
        while start < len {
            let end = len.min(start + self.max_payload);
            if self.lz4 {
                let (a, b) = pieces.range(start, end);
                if a.is_empty() || b.is_empty() {
                    // Contiguous: compress straight from the frame body.
                    let run = if a.is_empty() { b } else { a };
                    write_lz4(&mut self.compressed, run, false, buf)?;
                } else {
                    self.gather.clear();
                    self.gather.put_slice(a);
                    self.gather.put_slice(b);
                    write_lz4(&mut self.compressed, &self.gather, false, buf)?;
                }
            } else {
                let at = open_plain(buf);
                pieces.write_range(start, end, buf);
                close_plain(buf, at, false);
            }
            start = end;
        }
        Ok(())
    }

    fn close(
        &mut self,
        buf: &mut BytesMut,
        open: Option<usize>,
        self_contained: bool,
    ) -> EncodeResult<()> {
        if self.lz4 {
            let result = write_lz4(&mut self.compressed, &self.gather, self_contained, buf);
            self.gather.clear();
            result
        } else {
            if let Some(start) = open {
                close_plain(buf, start, self_contained);
            }
            Ok(())
        }
    }
}

/// Reserves room for an uncompressed segment header; returns where it starts.
fn open_plain(buf: &mut BytesMut) -> usize {
    let start = buf.len();
    buf.put_slice(&[0u8; PLAIN_HEADER_LEN]);
    start
}

/// Fills in the header of the uncompressed segment at `start`, whose payload
/// runs to the end of `buf`, and appends the payload CRC32.
fn close_plain(buf: &mut BytesMut, start: usize, self_contained: bool) {
    let payload_start = start + PLAIN_HEADER_LEN;
    let payload = buf.get(payload_start..).unwrap_or_default();
    let crc = crc32(payload);
    let header = header::encode_plain(payload.len(), self_contained);
    if let Some(slot) = buf.get_mut(start..payload_start) {
        slot.copy_from_slice(&header);
    }
    buf.put_u32_le(crc);
}

/// Appends one LZ4 segment holding `input`, stored uncompressed when
/// compression does not shrink it (uncompressed length 0), as Cassandra does.
fn write_lz4(
    scratch: &mut Vec<u8>,
    input: &[u8],
    self_contained: bool,
    buf: &mut BytesMut,
) -> EncodeResult<()> {
    let max_out = lz4_flex::block::get_maximum_output_size(input.len());
    if scratch.len() < max_out {
        scratch.resize(max_out, 0);
    }
    let written = lz4_flex::block::compress_into(input, scratch)
        .map_err(|e| EncodeError::Invalid(format!("lz4 compression failed: {e}")))?;
    let (payload, uncompressed_len) = match scratch.get(..written) {
        Some(packed) if written < input.len() => (packed, input.len()),
        _ => (input, 0),
    };
    let header = header::encode_lz4(payload.len(), uncompressed_len, self_contained);
    buf.reserve(header.len() + payload.len() + 4);
    buf.put_slice(&header);
    buf.put_slice(payload);
    buf.put_u32_le(crc32(payload));
    Ok(())
}
