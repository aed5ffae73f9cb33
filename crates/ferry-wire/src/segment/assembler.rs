//! Turning a sequence of segments back into whole envelopes.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

use super::{Segment, SegmentDecoder};
use crate::error::{DecodeError, DecodeErrorKind, DecodeResult};
use crate::frame::{frame_extent, Frame, FrameHeader, MAX_FRAME_LEN};

/// Up-front reservation for a large envelope. Beyond it the buffer grows as
/// segments arrive, so a header announcing 256 MiB cannot make us allocate
/// 256 MiB before the bytes exist.
const LARGE_RESERVE_CAP: usize = 4 * 1024 * 1024;

/// Reassembles v5 envelopes from decoded segments.
///
/// A self-contained segment holds one or more whole envelopes, handed out
/// as zero-copy slices of its payload. Non-self-contained segments each
/// hold a part of one large envelope; their payloads are gathered (one
/// copy) until the envelope's announced length is reached.
///
/// Push segments with [`FrameAssembler::push`], then call
/// [`FrameAssembler::next_frame`] until it returns `Ok(None)`. Error offsets
/// count from the start of the segment payload (self-contained) or of the
/// large envelope. Envelope bodies over the maximum frame length are
/// refused as soon as their header is seen.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use ferry_wire::frame::{Frame, FrameHeader};
/// use ferry_wire::segment::{FrameAssembler, SegmentCodec};
/// use ferry_wire::{Opcode, ProtocolVersion};
/// let big = Frame::new(
///     FrameHeader::response(ProtocolVersion::V5, 4, Opcode::Result, 0),
///     Bytes::from(vec![9u8; 300_000]),
/// );
/// let mut codec = SegmentCodec::uncompressed();
/// let mut wire = BytesMut::new();
/// codec.encode_frames(&[big.clone()], &mut wire).unwrap();
///
/// let mut segments = codec.decoder();
/// let mut assembler = FrameAssembler::new();
/// let mut count = 0;
/// while let Some(segment) = segments.decode(&mut wire).unwrap() {
///     assert!(!segment.self_contained);
///     assembler.push(segment);
///     count += 1;
/// }
/// assert_eq!(count, 3); // 300_009 bytes over 131_071-byte payloads
/// assert_eq!(assembler.next_frame().unwrap(), Some(big));
/// assert_eq!(assembler.next_frame().unwrap(), None);
/// ```
#[derive(Debug, Clone)]
pub struct FrameAssembler {
    max_frame_len: usize,
    queue: VecDeque<Segment>,
    /// What is left of the self-contained payload being split into frames.
    current: Bytes,
    /// Where `current` starts in its segment payload, for error offsets.
    current_offset: usize,
    /// The large envelope gathered so far.
    large: BytesMut,
    /// The large envelope's header and total length, once known.
    large_extent: Option<(FrameHeader, usize)>,
}

impl Default for FrameAssembler {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameAssembler {
    /// An assembler accepting envelope bodies up to [`MAX_FRAME_LEN`].
    pub fn new() -> Self {
        Self::with_max_frame_len(MAX_FRAME_LEN)
    }

    /// An assembler refusing envelope bodies over `max_frame_len` bytes.
    pub fn with_max_frame_len(max_frame_len: usize) -> Self {
        Self {
            max_frame_len,
            queue: VecDeque::new(),
            current: Bytes::new(),
            current_offset: 0,
            large: BytesMut::new(),
            large_extent: None,
        }
    }

    /// Queues a decoded segment.
    pub fn push(&mut self, segment: Segment) {
        self.queue.push_back(segment);
    }

    /// Whether part of a large envelope is waiting for more segments.
    pub fn is_mid_envelope(&self) -> bool {
        !self.large.is_empty()
    }

    /// The next whole envelope from the queued segments, in order, or
    /// `Ok(None)` if more segments are needed.
    ///
    /// Errors: a self-contained segment that ends inside an envelope
    /// (`Truncated`, field `segment.envelope`); a self-contained segment in
    /// the middle of a large envelope, or a non-self-contained segment that
    /// runs past the end of its envelope (`Invalid`); bad envelope headers
    /// and `TooLarge` as for `FrameDecoder`. After an error the partial
    /// state is dropped; the connection should be closed.
    pub fn next_frame(&mut self) -> DecodeResult<Option<Frame>> {
        loop {
            if !self.current.is_empty() {
                return self.take_from_current().map(Some);
            }
            let Some(segment) = self.queue.pop_front() else {
                return Ok(None);
            };
            if segment.self_contained {
                if self.is_mid_envelope() {
                    self.reset_large();
                    return Err(DecodeError::new(
                        "segment.self_contained",
                        0,
                        DecodeErrorKind::Invalid(
                            "self-contained segment arrived before the large envelope in \
                             progress was complete"
                                .into(),
                        ),
                    ));
                }
                self.current = segment.payload;
                self.current_offset = 0;
            } else if let Some(frame) = self.absorb(segment.payload)? {
                return Ok(Some(frame));
            }
        }
    }

    /// Cuts the next envelope off the self-contained payload.
    fn take_from_current(&mut self) -> DecodeResult<Frame> {
        let offset = self.current_offset;
        let have = self.current.len();
        let extent = frame_extent(&self.current, self.max_frame_len);
        match extent {
            Ok(Some((header, total))) if total <= have => {
                let mut bytes = self.current.split_to(total);
                let body = bytes.split_off(header.encoded_len());
                self.current_offset += total;
                Ok(Frame { header, body })
            }
            Ok(partial) => {
                self.current = Bytes::new();
                let needed = partial.map_or(1, |(_, total)| total - have);
                Err(DecodeError::new(
                    "segment.envelope",
                    offset + have,
                    DecodeErrorKind::Truncated { needed },
                ))
            }
            Err(e) => {
                self.current = Bytes::new();
                Err(e.shifted(offset))
            }
        }
    }

    /// Adds a non-self-contained payload to the large envelope; returns the
    /// envelope once complete.
    fn absorb(&mut self, payload: Bytes) -> DecodeResult<Option<Frame>> {
        if self.large.is_empty() {
            match frame_extent(&payload, self.max_frame_len)? {
                // The whole envelope in one segment: no need to gather.
                Some((header, total)) if total == payload.len() => {
                    let mut bytes = payload;
                    let body = bytes.split_off(header.encoded_len());
                    return Ok(Some(Frame { header, body }));
                }
                Some((_, total)) => {
                    self.large
                        .reserve(total.min(LARGE_RESERVE_CAP).max(payload.len()));
                }
                None => {}
            }
        }
        self.large.extend_from_slice(&payload);
        if self.large_extent.is_none() {
            self.large_extent = match frame_extent(&self.large, self.max_frame_len) {
                Ok(extent) => extent,
                Err(e) => {
                    self.reset_large();
                    return Err(e);
                }
            };
        }
        let Some((header, total)) = self.large_extent else {
            return Ok(None);
        };
        let have = self.large.len();
        if have < total {
            return Ok(None);
        }
        if have > total {
            self.reset_large();
            return Err(DecodeError::new(
                "segment.envelope",
                total,
                DecodeErrorKind::Invalid(format!(
                    "non-self-contained segment carries {} byte(s) past the end of its envelope",
                    have - total
                )),
            ));
        }
        let mut bytes = self.large.split().freeze();
        self.large_extent = None;
        let body = bytes.split_off(header.encoded_len());
        Ok(Some(Frame { header, body }))
    }

    fn reset_large(&mut self) {
        self.large.clear();
        self.large_extent = None;
    }
}

/// Decodes whole v5 envelopes straight from a receive buffer: a
/// [`SegmentDecoder`] feeding a [`FrameAssembler`].
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use ferry_wire::frame::{Frame, FrameHeader};
/// use ferry_wire::segment::{SegmentCodec, SegmentFrameDecoder};
/// use ferry_wire::{Opcode, ProtocolVersion};
/// let frame = Frame::new(
///     FrameHeader::request(ProtocolVersion::V5, 2, Opcode::Query, 0),
///     Bytes::from_static(b"\x00\x00\x00\x01x"),
/// );
/// let mut wire = BytesMut::new();
/// SegmentCodec::lz4().encode_frames(&[frame.clone()], &mut wire).unwrap();
/// let mut decoder = SegmentFrameDecoder::lz4();
/// assert_eq!(decoder.decode(&mut wire).unwrap(), Some(frame));
/// assert_eq!(decoder.decode(&mut wire).unwrap(), None);
/// ```
#[derive(Debug, Clone)]
pub struct SegmentFrameDecoder {
    segments: SegmentDecoder,
    frames: FrameAssembler,
}

impl SegmentFrameDecoder {
    /// Combines a segment decoder and an assembler.
    pub fn new(segments: SegmentDecoder, frames: FrameAssembler) -> Self {
        Self { segments, frames }
    }

    /// For uncompressed segments, with default limits.
    pub fn uncompressed() -> Self {
        Self::new(SegmentDecoder::uncompressed(), FrameAssembler::new())
    }

    /// For LZ4 segments, with default limits.
    pub fn lz4() -> Self {
        Self::new(SegmentDecoder::lz4(), FrameAssembler::new())
    }

    /// The next whole envelope, decoding as many segments from `buf` as
    /// needed; `Ok(None)` when `buf` holds no further whole envelope.
    pub fn decode(&mut self, buf: &mut BytesMut) -> DecodeResult<Option<Frame>> {
        loop {
            if let Some(frame) = self.frames.next_frame()? {
                return Ok(Some(frame));
            }
            match self.segments.decode(buf)? {
                Some(segment) => self.frames.push(segment),
                None => return Ok(None),
            }
        }
    }
}
