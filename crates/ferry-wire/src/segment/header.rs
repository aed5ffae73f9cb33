//! Segment headers: the little-endian length word and its CRC24.
//!
//! Uncompressed (6 bytes): bits 0-16 payload length, bit 17 self-contained,
//! bits 18-23 padding; then the CRC24 of those 3 bytes, little-endian.
//!
//! LZ4 (8 bytes): bits 0-16 compressed length, bits 17-33 uncompressed
//! length (0: the payload is stored uncompressed), bit 34 self-contained,
//! bits 35-39 padding; then the CRC24 of those 5 bytes, little-endian.
//! (The spec's prose says "4 bytes + 4 bytes"; its bit table and Cassandra's
//! `FrameEncoderLZ4` use 5 + 3, which is what goes on the wire.)

use crate::error::{DecodeError, DecodeErrorKind, DecodeResult};

use super::crc::crc24;

/// Uncompressed segment header length.
pub(crate) const PLAIN_HEADER_LEN: usize = 6;
/// LZ4 segment header length.
pub(crate) const LZ4_HEADER_LEN: usize = 8;
/// Payload CRC32 trailer length.
pub(crate) const TRAILER_LEN: usize = 4;

const LEN_MASK: u64 = 0x1_FFFF;
const PLAIN_SELF_CONTAINED_BIT: u64 = 1 << 17;
const LZ4_UNCOMPRESSED_SHIFT: u32 = 17;
const LZ4_SELF_CONTAINED_BIT: u64 = 1 << 34;

/// A decoded, CRC-checked segment header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SegmentHeader {
    /// Bytes of payload on the wire (the compressed length for LZ4).
    pub wire_len: usize,
    /// LZ4 only: inflated length, 0 if the payload is stored as is.
    pub uncompressed_len: usize,
    /// Whether the payload holds only whole envelopes.
    pub self_contained: bool,
}

/// Writes `word`'s low `N - 3` bytes little-endian, then their CRC24.
fn with_crc<const N: usize>(word: u64) -> [u8; N] {
    let mut out = [0u8; N];
    let data_len = N - 3;
    out[..data_len].copy_from_slice(&word.to_le_bytes()[..data_len]);
    let crc = crc24(&out[..data_len]);
    out[data_len..].copy_from_slice(&crc.to_le_bytes()[..3]);
    out
}

/// Encodes an uncompressed segment header. `payload_len` must be below 2^17.
pub(crate) fn encode_plain(payload_len: usize, self_contained: bool) -> [u8; PLAIN_HEADER_LEN] {
    let mut word = payload_len as u64 & LEN_MASK;
    if self_contained {
        word |= PLAIN_SELF_CONTAINED_BIT;
    }
    with_crc(word)
}

/// Encodes an LZ4 segment header. Both lengths must be below 2^17.
pub(crate) fn encode_lz4(
    compressed_len: usize,
    uncompressed_len: usize,
    self_contained: bool,
) -> [u8; LZ4_HEADER_LEN] {
    let mut word = (compressed_len as u64 & LEN_MASK)
        | ((uncompressed_len as u64 & LEN_MASK) << LZ4_UNCOMPRESSED_SHIFT);
    if self_contained {
        word |= LZ4_SELF_CONTAINED_BIT;
    }
    with_crc(word)
}

/// Decodes the header at the start of `buf`: `Ok(None)` if it is not all
/// there, `ChecksumMismatch` (field `segment.header_crc24`) if its CRC24 is wrong.
pub(crate) fn decode(buf: &[u8], lz4: bool) -> DecodeResult<Option<SegmentHeader>> {
    let header_len = if lz4 {
        LZ4_HEADER_LEN
    } else {
        PLAIN_HEADER_LEN
    };
    let Some(header) = buf.get(..header_len) else {
        return Ok(None);
    };
    let data_len = header_len - 3;
    let mut word_bytes = [0u8; 8];
    word_bytes[..data_len].copy_from_slice(&header[..data_len]);
    let word = u64::from_le_bytes(word_bytes);
    let mut crc_bytes = [0u8; 4];
    crc_bytes[..3].copy_from_slice(&header[data_len..]);
    let carried = u32::from_le_bytes(crc_bytes);
    let computed = crc24(&header[..data_len]);
    if carried != computed {
        return Err(DecodeError::new(
            "segment.header_crc24",
            data_len,
            DecodeErrorKind::ChecksumMismatch {
                expected: carried,
                actual: computed,
            },
        ));
    }
    let wire_len = (word & LEN_MASK) as usize;
    Ok(Some(if lz4 {
        SegmentHeader {
            wire_len,
            uncompressed_len: ((word >> LZ4_UNCOMPRESSED_SHIFT) & LEN_MASK) as usize,
            self_contained: word & LZ4_SELF_CONTAINED_BIT != 0,
        }
    } else {
        SegmentHeader {
            wire_len,
            uncompressed_len: 0,
            self_contained: word & PLAIN_SELF_CONTAINED_BIT != 0,
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_header_layout() {
        let h = encode_plain(50, true);
        assert_eq!(&h[..3], &[0x32, 0x00, 0x02]);
        let d = decode(&h, false).unwrap().unwrap();
        assert_eq!(
            d,
            SegmentHeader {
                wire_len: 50,
                uncompressed_len: 0,
                self_contained: true
            }
        );
    }

    #[test]
    fn lz4_header_layout() {
        // compressed 0x1FFFF, uncompressed 1, self-contained.
        let h = encode_lz4(0x1_FFFF, 1, true);
        assert_eq!(&h[..5], &[0xFF, 0xFF, 0x03, 0x00, 0x04]);
        let d = decode(&h, true).unwrap().unwrap();
        assert_eq!(d.wire_len, 0x1_FFFF);
        assert_eq!(d.uncompressed_len, 1);
        assert!(d.self_contained);
    }

    #[test]
    fn flipped_header_bit_is_caught() {
        let mut h = encode_lz4(10, 20, false);
        h[1] ^= 0x40;
        let e = decode(&h, true).unwrap_err();
        assert_eq!(e.offset, 5);
        assert!(matches!(e.kind, DecodeErrorKind::ChecksumMismatch { .. }));
    }
}
