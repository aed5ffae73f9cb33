//! Cutting checksummed segments off a receive buffer.

use bytes::{Bytes, BytesMut};

use super::header::{self, LZ4_HEADER_LEN, PLAIN_HEADER_LEN, TRAILER_LEN};
use super::{crc::crc32, Segment, MAX_SEGMENT_PAYLOAD};
use crate::error::{DecodeError, DecodeErrorKind, DecodeResult};

/// Decodes v5 segments (uncompressed or LZ4) from a receive buffer.
///
/// [`SegmentDecoder::decode`] returns `Ok(None)` until a whole segment is
/// buffered. Uncompressed payloads are zero-copy slices of the buffer;
/// LZ4 payloads are inflated into a buffer that is reused once the previous
/// payloads have been dropped. Error offsets count from the start of the
/// segment being decoded.
///
/// A header checksum mismatch leaves the buffer untouched: the segment
/// boundaries are lost and the connection must be closed. A payload
/// checksum mismatch (or a payload that fails to inflate) consumes the
/// segment, so a caller may, like Cassandra, drop a corrupt self-contained
/// segment and carry on.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use ferry_wire::segment::{SegmentCodec, SegmentDecoder};
/// let mut codec = SegmentCodec::lz4();
/// let mut wire = BytesMut::new();
/// codec.encode_envelopes(&[Bytes::from(vec![0u8; 1000])], &mut wire).unwrap();
/// let mut decoder = SegmentDecoder::lz4();
/// let segment = decoder.decode(&mut wire).unwrap().unwrap();
/// assert!(segment.self_contained);
/// assert_eq!(segment.payload.len(), 1000);
/// assert!(wire.is_empty());
/// ```
#[derive(Debug, Clone)]
pub struct SegmentDecoder {
    lz4: bool,
    max_payload: usize,
    inflated: BytesMut,
}

impl SegmentDecoder {
    /// A decoder for uncompressed segments (no compression negotiated).
    pub fn uncompressed() -> Self {
        Self::new(false)
    }

    /// A decoder for LZ4 segments (STARTUP negotiated `lz4`).
    pub fn lz4() -> Self {
        Self::new(true)
    }

    fn new(lz4: bool) -> Self {
        Self {
            lz4,
            max_payload: MAX_SEGMENT_PAYLOAD,
            inflated: BytesMut::new(),
        }
    }

    /// Rejects payloads (compressed or inflated) over `max_payload` bytes;
    /// the format itself caps them at [`MAX_SEGMENT_PAYLOAD`].
    #[must_use]
    pub fn with_max_payload(mut self, max_payload: usize) -> Self {
        self.max_payload = max_payload;
        self
    }

    /// Whether this decoder expects LZ4 segments.
    pub fn is_lz4(&self) -> bool {
        self.lz4
    }

    /// Splits the next whole segment off `buf`, or returns `Ok(None)`
    /// (leaving `buf` untouched) if it is not all there yet.
    ///
    /// Errors: `ChecksumMismatch` (fields `segment.header_crc24`,
    /// `segment.payload_crc32`), `TooLarge` (`segment.length`),
    /// `Decompression` (`segment.payload`).
    pub fn decode(&mut self, buf: &mut BytesMut) -> DecodeResult<Option<Segment>> {
        let Some(h) = header::decode(buf, self.lz4)? else {
            return Ok(None);
        };
        let header_len = if self.lz4 {
            LZ4_HEADER_LEN
        } else {
            PLAIN_HEADER_LEN
        };
        self.check_len(h.wire_len)?;
        self.check_len(h.uncompressed_len)?;
        let trailer_at = header_len + h.wire_len;
        let total = trailer_at + TRAILER_LEN;
        if buf.len() < total {
            return Ok(None);
        }
        let mut segment = buf.split_to(total).freeze();
        let trailer = segment.split_off(trailer_at);
        let payload = segment.split_off(header_len);
        let carried = trailer
            .first_chunk::<TRAILER_LEN>()
            .map_or(0, |b| u32::from_le_bytes(*b));
        let computed = crc32(&payload);
        if carried != computed {
            return Err(DecodeError::new(
                "segment.payload_crc32",
                trailer_at,
                DecodeErrorKind::ChecksumMismatch {
                    expected: carried,
                    actual: computed,
                },
            ));
        }
        let payload = if h.uncompressed_len == 0 {
            payload
        } else {
            self.inflate(&payload, h.uncompressed_len, header_len)?
        };
        Ok(Some(Segment {
            self_contained: h.self_contained,
            payload,
        }))
    }

    fn check_len(&self, len: usize) -> DecodeResult<()> {
        if len > self.max_payload {
            return Err(DecodeError::new(
                "segment.length",
                0,
                DecodeErrorKind::TooLarge {
                    length: len,
                    max: self.max_payload,
                },
            ));
        }
        Ok(())
    }

    fn inflate(&mut self, input: &[u8], len: usize, offset: usize) -> DecodeResult<Bytes> {
        let error = |msg: String| {
            DecodeError::new(
                "segment.payload",
                offset,
                DecodeErrorKind::Decompression(msg),
            )
        };
        // `resize` reserves, and `BytesMut::reserve` takes back the previous
        // allocation once every payload split off it has been dropped, so a
        // consumer that handles frames promptly causes no allocation here.
        self.inflated.clear();
        self.inflated.resize(len, 0);
        let written = lz4_flex::block::decompress_into(input, &mut self.inflated)
            .map_err(|e| error(format!("lz4: {e}")))?;
        if written != len {
            return Err(error(format!(
                "lz4 payload inflated to {written} byte(s), header declared {len}"
            )));
        }
        Ok(self.inflated.split().freeze())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::SegmentCodec;

    #[test]
    fn inflate_buffer_is_reused_once_payloads_are_dropped() {
        let mut codec = SegmentCodec::lz4();
        let mut wire = BytesMut::new();
        codec.encode_segment(&[1u8; 4000], true, &mut wire).unwrap();
        codec.encode_segment(&[2u8; 3000], true, &mut wire).unwrap();
        let mut decoder = SegmentDecoder::lz4();
        let first = decoder.decode(&mut wire).unwrap().unwrap();
        let first_ptr = first.payload.as_ptr();
        drop(first);
        let second = decoder.decode(&mut wire).unwrap().unwrap();
        assert_eq!(&second.payload[..], &[2u8; 3000][..]);
        assert_eq!(second.payload.as_ptr(), first_ptr);
    }

    #[test]
    fn payload_over_configured_limit_is_too_large() {
        let mut wire = BytesMut::new();
        SegmentCodec::uncompressed()
            .encode_segment(&[0u8; 100], true, &mut wire)
            .unwrap();
        let e = SegmentDecoder::uncompressed()
            .with_max_payload(99)
            .decode(&mut wire)
            .unwrap_err();
        assert_eq!(e.field, "segment.length");
        assert_eq!(
            e.kind,
            DecodeErrorKind::TooLarge {
                length: 100,
                max: 99
            }
        );
    }
}
