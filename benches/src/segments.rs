//! Protocol v5 segment framing, ferry-wire only.
//!
//! scylla-cql 2.0 speaks protocol v4 only (its frame header parser refuses
//! any other version) and has no v5 segment codec, so there is nothing to
//! compare against: these benchmarks report ferry-wire's throughput alone.
//!
//! Payload bytes are record-like (a counter, a short text, a timestamp and
//! a pseudo-random id per 48-byte record) so that LZ4 sees data about as
//! compressible as real result rows, neither all zeros nor pure noise.

use bytes::{Bytes, BytesMut};
use ferry_wire::frame::{Frame, FrameHeader};
use ferry_wire::segment::{SegmentCodec, SegmentFrameDecoder};
use ferry_wire::{Opcode, ProtocolVersion};

/// Number of envelopes in the "many small envelopes" case.
pub const SMALL_COUNT: usize = 100;
/// Size of each small envelope, header included.
pub const SMALL_ENVELOPE: usize = 100;
/// Size of the large envelope, header included: 1 MiB, eight or nine
/// segments' worth.
pub const LARGE_ENVELOPE: usize = 1 << 20;

const HEADER_LEN: usize = 9;

/// `len` bytes of record-like data, deterministic for a given `seed`.
pub fn record_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 48);
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut n = 0u32;
    while out.len() < len {
        // xorshift64: cheap, deterministic, incompressible bits for the id.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&n.to_be_bytes());
        out.extend_from_slice(format!("sensor-{:04}-eu-west1", n % 500).as_bytes());
        out.extend_from_slice(&(1_700_000_000_000i64 + i64::from(n) * 1000).to_be_bytes());
        out.extend_from_slice(&state.to_be_bytes());
        out.extend_from_slice(&(n % 7).to_be_bytes());
        n += 1;
    }
    out.truncate(len);
    out
}

/// The envelopes of both cases.
#[derive(Debug, Clone)]
pub struct SegmentFixture {
    /// 100 QUERY envelopes of 100 bytes.
    pub small: Vec<Frame>,
    /// One RESULT envelope of 1 MiB.
    pub large: Vec<Frame>,
}

impl SegmentFixture {
    /// Builds the envelopes.
    pub fn new() -> Self {
        let small = (0..SMALL_COUNT)
            .map(|i| {
                Frame::new(
                    FrameHeader::request(ProtocolVersion::V5, i as i16, Opcode::Query, 0),
                    Bytes::from(record_bytes(SMALL_ENVELOPE - HEADER_LEN, i as u64)),
                )
            })
            .collect();
        let large = vec![Frame::new(
            FrameHeader::response(ProtocolVersion::V5, 1, Opcode::Result, 0),
            Bytes::from(record_bytes(LARGE_ENVELOPE - HEADER_LEN, 99)),
        )];
        Self { small, large }
    }
}

impl Default for SegmentFixture {
    fn default() -> Self {
        Self::new()
    }
}

/// Total envelope bytes (headers and bodies) in `frames`.
pub fn envelope_bytes(frames: &[Frame]) -> usize {
    frames.iter().map(Frame::encoded_len).sum()
}

/// A codec for the case: LZ4 or not.
pub fn codec(lz4: bool) -> SegmentCodec {
    if lz4 {
        SegmentCodec::lz4()
    } else {
        SegmentCodec::uncompressed()
    }
}

/// A decoder matching [`codec`].
pub fn decoder(lz4: bool) -> SegmentFrameDecoder {
    if lz4 {
        SegmentFrameDecoder::lz4()
    } else {
        SegmentFrameDecoder::uncompressed()
    }
}

/// The measured encode: clear `wire` and pack `frames` into segments.
#[inline(never)]
pub fn encode(codec: &mut SegmentCodec, frames: &[Frame], wire: &mut BytesMut) {
    wire.clear();
    codec
        .encode_frames(frames, wire)
        .expect("the fixture envelopes encode");
}

/// The measured decode: every envelope out of `wire`; returns how many
/// envelopes and body bytes came out.
#[inline(never)]
pub fn decode(decoder: &mut SegmentFrameDecoder, wire: &mut BytesMut) -> (usize, usize) {
    let mut frames = 0;
    let mut bytes = 0;
    while let Some(frame) = decoder.decode(wire).expect("the fixture segments decode") {
        frames += 1;
        bytes += frame.body.len();
    }
    (frames, bytes)
}

/// Checks, once, that every case decodes back to its envelopes; returns
/// the encoded sizes `[small plain, small lz4, large plain, large lz4]`.
pub fn verify(fixture: &SegmentFixture) -> Result<[usize; 4], String> {
    let mut sizes = [0; 4];
    let mut i = 0;
    for frames in [&fixture.small, &fixture.large] {
        for lz4 in [false, true] {
            let mut wire = BytesMut::new();
            encode(&mut codec(lz4), frames, &mut wire);
            sizes[i] = wire.len();
            i += 1;
            let mut dec = decoder(lz4);
            let mut back = Vec::new();
            while let Some(f) = dec.decode(&mut wire).map_err(|e| e.to_string())? {
                back.push(f);
            }
            if back != *frames || !wire.is_empty() {
                return Err(format!(
                    "{} envelopes (lz4: {lz4}) did not decode back",
                    frames.len()
                ));
            }
        }
    }
    Ok(sizes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_sizes_and_round_trip() {
        let f = SegmentFixture::new();
        assert_eq!(envelope_bytes(&f.small), SMALL_COUNT * SMALL_ENVELOPE);
        assert_eq!(envelope_bytes(&f.large), LARGE_ENVELOPE);
        let [small_plain, small_lz4, large_plain, large_lz4] = verify(&f).unwrap();
        // 100 small envelopes fit one self-contained segment: 6 + 10_000 + 4.
        assert_eq!(small_plain, 6 + SMALL_COUNT * SMALL_ENVELOPE + 4);
        // 1 MiB needs nine 128 KiB - 1 segments.
        assert_eq!(large_plain, LARGE_ENVELOPE + 9 * (6 + 4));
        // The data is compressible, but not trivially.
        assert!(small_lz4 < small_plain && large_lz4 < large_plain);
        assert!(large_lz4 > large_plain / 10, "{large_lz4}");
    }
}
