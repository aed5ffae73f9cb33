//! The receive path of a v5 connection after the handshake: segments
//! (plain or LZ4, each with a CRC24 header and CRC32 payload checksum) cut
//! off a stream by `SegmentFrameDecoder` and reassembled into envelopes.
//!
//! Input: a config byte, then a mode-specific recipe.
//! - bit 0: LZ4 segments;
//! - bits 1-2: mode (3 is mode 0):
//!   - 0, raw: the rest is the wire stream (random bytes rarely pass the
//!     header checksum; the other modes get past it);
//!   - 1, segments: the rest is a list of `[len: u16][flag byte][payload]`
//!     pieces, written as checksummed segments by `SegmentCodec`; then one
//!     byte of the stream may be flipped (position from two more bytes);
//!   - 2, envelopes: the rest is a list of `[header: 5 bytes][len: u16][body]`
//!     pieces turned into v5 envelopes and written by `SegmentCodec` with a
//!     small payload limit, so big ones span several segments. They must
//!     come back exactly, in order.
//! - bits 3-7: chunk-size seed.
//!
//! Every envelope that comes out is decoded as a message and round-tripped.
#![no_main]

use bytes::BytesMut;
use ferry_fuzz::{check_frame, chunk_sizes, frame_from, Input, MAX_FRAME};
use ferry_wire::frame::{Frame, FrameHeader};
use ferry_wire::segment::{FrameAssembler, SegmentCodec, SegmentFrameDecoder};
use ferry_wire::ProtocolVersion;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let config = input.byte();
    let lz4 = config & 1 != 0;
    let mode = (config >> 1) & 0b11;
    let seed = config >> 3;
    let mut codec = if lz4 {
        SegmentCodec::lz4()
    } else {
        SegmentCodec::uncompressed()
    };
    match mode {
        1 => {
            let mut wire = BytesMut::new();
            while !input.is_empty() {
                let len = usize::from(input.u16() % 4096);
                let self_contained = input.byte() & 1 != 0;
                let payload = input.take(len);
                codec
                    .encode_segment(payload, self_contained, &mut wire)
                    .expect("payload under the limit");
            }
            let flip = usize::from(input.u16());
            if !wire.is_empty() && flip & 0x8000 != 0 {
                let at = flip % wire.len();
                wire[at] ^= 0x55;
            }
            let decoder = SegmentFrameDecoder::new(
                codec.decoder(),
                FrameAssembler::with_max_frame_len(MAX_FRAME),
            );
            for frame in drain(decoder, &wire, seed) {
                check_envelope(frame);
            }
        }
        2 => {
            let mut frames = Vec::new();
            while !input.is_empty() {
                let mut header = Input::new(input.take(5));
                let len = usize::from(input.u16() % 8192);
                let mut frame = frame_from(&mut header, input.take(len));
                force_v5(&mut frame.header);
                frames.push(frame);
            }
            let max_payload = 64 + usize::from(seed) * 97;
            let mut codec = codec.with_max_payload(max_payload);
            let mut wire = BytesMut::new();
            codec
                .encode_frames(&frames, &mut wire)
                .expect("small frames encode");
            let decoder = SegmentFrameDecoder::new(
                codec.decoder(),
                FrameAssembler::with_max_frame_len(MAX_FRAME),
            );
            let got = drain(decoder, &wire, seed);
            assert_eq!(got, frames, "envelopes must come back exactly");
            for frame in got {
                check_envelope(frame);
            }
        }
        _ => {
            let decoder = SegmentFrameDecoder::new(
                codec.decoder(),
                FrameAssembler::with_max_frame_len(MAX_FRAME),
            );
            for frame in drain(decoder, input.rest(), seed) {
                check_envelope(frame);
            }
        }
    }
});

/// Decodes an envelope as a message. Segments carry the compression, so
/// an envelope is never body-compressed: a pre-v5 envelope with the
/// COMPRESSION flag (which no v5 peer sends) is refused, as `decompress`
/// refuses it without a negotiated algorithm.
fn check_envelope(frame: Frame) {
    if let Ok(plain) = frame.decompress(None) {
        check_frame(&plain);
    }
}

fn force_v5(header: &mut FrameHeader) {
    header.version = ProtocolVersion::V5;
}

/// Feeds `wire` in chunks; returns the envelopes decoded before the end or
/// the first error (after which a connection would close).
fn drain(mut decoder: SegmentFrameDecoder, wire: &[u8], seed: u8) -> Vec<Frame> {
    let mut out = Vec::new();
    let mut buf = BytesMut::new();
    let mut fed = 0;
    let mut sizes = chunk_sizes(seed);
    while fed < wire.len() {
        let n = sizes.next().unwrap_or(1).min(wire.len() - fed);
        buf.extend_from_slice(&wire[fed..fed + n]);
        fed += n;
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(frame)) => out.push(frame),
                Ok(None) => break,
                Err(_) => return out,
            }
        }
    }
    out
}
