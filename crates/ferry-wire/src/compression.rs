//! Frame body compression for protocol v2 to v4 (negotiated in STARTUP).
//!
//! When a connection has agreed on a compression algorithm, a frame with the
//! COMPRESSION flag carries a compressed body:
//! - `lz4`: a 4-byte big-endian uncompressed length, then a raw LZ4 block;
//! - `snappy`: a raw snappy block (which carries its own length as a varint).
//!
//! Protocol v5 compresses whole segments instead (see [`crate::segment`]).
//!
//! Both decompressors refuse a declared length above the caller's maximum,
//! and a declared length that the input could not possibly expand to (LZ4
//! and snappy have a bounded expansion ratio), before allocating anything:
//! a 20-byte "decompression bomb" cannot make the proxy allocate 256 MiB.

use std::fmt;
use std::str::FromStr;

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{DecodeError, DecodeErrorKind, DecodeResult, EncodeError, EncodeResult};

/// Field name used in decompression errors.
const FIELD: &str = "frame.body";

/// Largest output an LZ4 block can produce per input byte: a run of 0xFF
/// match-length bytes adds 255 output bytes per input byte. The slack covers
/// the fixed cost of the last sequence.
const LZ4_MAX_RATIO: usize = 255;
/// Snappy's densest element is a 3-byte copy of 64 bytes (ratio < 22); 32
/// leaves room without letting a tiny input claim megabytes.
const SNAPPY_MAX_RATIO: usize = 32;
/// Added to the ratio bounds for very short inputs.
const RATIO_SLACK: usize = 64;

/// A body compression algorithm, as named in the STARTUP `COMPRESSION` option.
///
/// ```
/// use ferry_wire::compression::Compression;
/// let c: Compression = "lz4".parse().unwrap();
/// assert_eq!(c, Compression::Lz4);
/// assert_eq!(Compression::Snappy.name(), "snappy");
/// let packed = c.compress(b"hello hello hello hello").unwrap();
/// let back = c.decompress(&packed, 1024).unwrap();
/// assert_eq!(&back[..], b"hello hello hello hello");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    /// LZ4 block with a 4-byte big-endian length prefix.
    Lz4,
    /// Raw snappy.
    Snappy,
}

/// The STARTUP `COMPRESSION` value named no algorithm this codec knows.
///
/// ```
/// use ferry_wire::compression::Compression;
/// let err = "zstd".parse::<Compression>().unwrap_err();
/// assert_eq!(err.0, "zstd");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownCompression(pub String);

impl fmt::Display for UnknownCompression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown compression algorithm {:?} (expected \"lz4\" or \"snappy\")",
            self.0
        )
    }
}

impl std::error::Error for UnknownCompression {}

impl Compression {
    /// The name sent in the STARTUP message.
    pub fn name(self) -> &'static str {
        match self {
            Self::Lz4 => "lz4",
            Self::Snappy => "snappy",
        }
    }

    /// Parses a STARTUP `COMPRESSION` value. Case-insensitive, as Cassandra
    /// lower-cases the option before looking it up.
    pub fn from_name(name: &str) -> Option<Self> {
        if name.eq_ignore_ascii_case("lz4") {
            Some(Self::Lz4)
        } else if name.eq_ignore_ascii_case("snappy") {
            Some(Self::Snappy)
        } else {
            None
        }
    }

    /// Compresses `input` into a new buffer.
    ///
    /// Errors only for inputs too large for the format (over 2 GiB for LZ4's
    /// `[int]` prefix, over 4 GiB for snappy): frames are far smaller.
    pub fn compress(self, input: &[u8]) -> EncodeResult<Bytes> {
        let mut out = BytesMut::new();
        self.compress_into(input, &mut out)?;
        Ok(out.freeze())
    }

    /// Appends the compressed form of `input` to `out` (reusing its capacity).
    /// On error `out` is left as it was.
    pub fn compress_into(self, input: &[u8], out: &mut BytesMut) -> EncodeResult<()> {
        let start = out.len();
        let result = match self {
            Self::Lz4 => lz4_compress_into(input, out, start),
            Self::Snappy => snappy_compress_into(input, out, start),
        };
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    /// Decompresses a body, refusing to produce more than `max_len` bytes.
    ///
    /// Error offsets count from the start of `input`; `Frame::decompress`
    /// shifts them to count from the start of the frame.
    pub fn decompress(self, input: &[u8], max_len: usize) -> DecodeResult<Bytes> {
        match self {
            Self::Lz4 => lz4_decompress(input, max_len),
            Self::Snappy => snappy_decompress(input, max_len),
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Compression {
    type Err = UnknownCompression;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_name(s).ok_or_else(|| UnknownCompression(s.to_owned()))
    }
}

fn too_long(length: usize, max: usize) -> EncodeError {
    EncodeError::TooLong {
        field: FIELD,
        length,
        max,
    }
}

fn lz4_compress_into(input: &[u8], out: &mut BytesMut, start: usize) -> EncodeResult<()> {
    let declared =
        i32::try_from(input.len()).map_err(|_| too_long(input.len(), i32::MAX as usize))?;
    let max_out = lz4_flex::block::get_maximum_output_size(input.len());
    out.put_i32(declared);
    // The block compressor writes into an initialised slice; zero-filling the
    // worst-case size is a memset, cheaper than compressing into a Vec and
    // copying it over.
    let block_start = start + 4;
    out.resize(block_start + max_out, 0);
    let written = lz4_flex::block::compress_into(input, &mut out[block_start..])
        .map_err(|e| EncodeError::Invalid(format!("lz4 compression failed: {e}")))?;
    out.truncate(block_start + written);
    Ok(())
}

fn snappy_compress_into(input: &[u8], out: &mut BytesMut, start: usize) -> EncodeResult<()> {
    let max_out = snap::raw::max_compress_len(input.len());
    if max_out == 0 && !input.is_empty() {
        // snap reports 0 for inputs over its 4 GiB limit.
        return Err(too_long(input.len(), u32::MAX as usize));
    }
    out.resize(start + max_out, 0);
    let written = snap::raw::Encoder::new()
        .compress(input, &mut out[start..])
        .map_err(|e| EncodeError::Invalid(format!("snappy compression failed: {e}")))?;
    out.truncate(start + written);
    Ok(())
}

fn decompression_error(offset: usize, msg: String) -> DecodeError {
    DecodeError::new(FIELD, offset, DecodeErrorKind::Decompression(msg))
}

/// Rejects a declared uncompressed length over `max_len` (`TooLarge`) or over
/// what `compressed_len` bytes can expand to (`Decompression`).
fn check_declared(
    declared: usize,
    max_len: usize,
    compressed_len: usize,
    ratio: usize,
    offset: usize,
) -> DecodeResult<()> {
    if declared > max_len {
        return Err(DecodeError::new(
            FIELD,
            offset,
            DecodeErrorKind::TooLarge {
                length: declared,
                max: max_len,
            },
        ));
    }
    let possible = compressed_len
        .saturating_mul(ratio)
        .saturating_add(RATIO_SLACK);
    if declared > possible {
        return Err(decompression_error(
            offset,
            format!(
                "declared uncompressed length {declared} is impossible for {compressed_len} compressed byte(s)"
            ),
        ));
    }
    Ok(())
}

fn lz4_decompress(input: &[u8], max_len: usize) -> DecodeResult<Bytes> {
    let Some((prefix, block)) = input.split_first_chunk::<4>() else {
        return Err(DecodeError::new(
            FIELD,
            input.len(),
            DecodeErrorKind::Truncated {
                needed: 4 - input.len(),
            },
        ));
    };
    let declared = i32::from_be_bytes(*prefix);
    let declared = usize::try_from(declared).map_err(|_| {
        DecodeError::new(
            FIELD,
            0,
            DecodeErrorKind::NegativeLength(i64::from(declared)),
        )
    })?;
    if declared == 0 {
        // Nothing to inflate, whatever encoding of "empty" the peer chose.
        return Ok(Bytes::new());
    }
    check_declared(declared, max_len, block.len(), LZ4_MAX_RATIO, 0)?;
    let mut out = vec![0u8; declared];
    let written = lz4_flex::block::decompress_into(block, &mut out)
        .map_err(|e| decompression_error(4, format!("lz4: {e}")))?;
    if written != declared {
        return Err(decompression_error(
            4,
            format!("lz4 block inflated to {written} byte(s), header declared {declared}"),
        ));
    }
    Ok(Bytes::from(out))
}

fn snappy_decompress(input: &[u8], max_len: usize) -> DecodeResult<Bytes> {
    if input.is_empty() {
        return Ok(Bytes::new());
    }
    let declared = snap::raw::decompress_len(input)
        .map_err(|e| decompression_error(0, format!("snappy: {e}")))?;
    check_declared(declared, max_len, input.len(), SNAPPY_MAX_RATIO, 0)?;
    let mut out = vec![0u8; declared];
    let written = snap::raw::Decoder::new()
        .decompress(input, &mut out)
        .map_err(|e| decompression_error(0, format!("snappy: {e}")))?;
    if written != declared {
        return Err(decompression_error(
            0,
            format!("snappy block inflated to {written} byte(s), header declared {declared}"),
        ));
    }
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lz4_body_has_big_endian_length_prefix() {
        let input = b"abcabcabcabcabcabcabcabc";
        let out = Compression::Lz4.compress(input).unwrap();
        assert_eq!(&out[..4], &(input.len() as u32).to_be_bytes());
        // The rest is a plain LZ4 block, readable by the reference decoder.
        let plain = lz4_flex::block::decompress(&out[4..], input.len()).unwrap();
        assert_eq!(plain, input);
    }

    #[test]
    fn snappy_body_is_raw_snappy() {
        let input = b"snappy snappy snappy snappy";
        let out = Compression::Snappy.compress(input).unwrap();
        let plain = snap::raw::Decoder::new().decompress_vec(&out).unwrap();
        assert_eq!(plain, input);
    }

    #[test]
    fn declared_length_over_max_is_too_large() {
        let body = Compression::Lz4.compress(&[7u8; 1000]).unwrap();
        let e = Compression::Lz4.decompress(&body, 999).unwrap_err();
        assert_eq!(
            e.kind,
            DecodeErrorKind::TooLarge {
                length: 1000,
                max: 999
            }
        );
        let body = Compression::Snappy.compress(&[7u8; 1000]).unwrap();
        let e = Compression::Snappy.decompress(&body, 10).unwrap_err();
        assert!(matches!(
            e.kind,
            DecodeErrorKind::TooLarge { length: 1000, .. }
        ));
    }

    #[test]
    fn bomb_header_is_rejected_before_allocating() {
        // 256 MiB declared, 1 byte of block.
        let bomb = [0x10, 0x00, 0x00, 0x00, 0x00];
        let e = Compression::Lz4.decompress(&bomb, usize::MAX).unwrap_err();
        assert!(matches!(e.kind, DecodeErrorKind::Decompression(_)), "{e}");
    }

    #[test]
    fn highly_compressible_input_survives_the_ratio_check() {
        let zeros = vec![0u8; 1 << 20];
        for c in [Compression::Lz4, Compression::Snappy] {
            let packed = c.compress(&zeros).unwrap();
            assert_eq!(&c.decompress(&packed, 1 << 20).unwrap()[..], &zeros[..]);
        }
    }

    #[test]
    fn names_parse_case_insensitively() {
        assert_eq!(Compression::from_name("LZ4"), Some(Compression::Lz4));
        assert_eq!(Compression::from_name("Snappy"), Some(Compression::Snappy));
        assert_eq!(Compression::from_name("deflate"), None);
    }

    #[test]
    fn negative_lz4_length_is_an_error() {
        let e = Compression::Lz4
            .decompress(&[0xff, 0xff, 0xff, 0xff, 0], 100)
            .unwrap_err();
        assert_eq!(e.kind, DecodeErrorKind::NegativeLength(-1));
    }
}
