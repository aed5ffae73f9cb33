//! The receive path of a v2-v4 connection: a byte stream, arriving in
//! arbitrary chunks, cut into frames by `FrameDecoder`; each frame
//! decompressed (lz4 or snappy, as negotiated) and decoded as a request or
//! response.
//!
//! Input: one config byte, then the stream.
//! - bits 0-1: negotiated compression (none, lz4, snappy, none);
//! - bit 2: also compress every uncompressed frame ourselves and check that
//!   it decompresses to itself (exercises the encoder on arbitrary bodies);
//! - bits 3-7: seed of the chunk sizes.
//!
//! Checks: no panic; `Ok(None)` leaves the buffer untouched; every frame
//! re-encodes to exactly the bytes it was cut from; every message that
//! decodes round-trips (see `ferry_fuzz::check_frame`).
#![no_main]

use bytes::BytesMut;
use ferry_fuzz::{check_frame, chunk_sizes, MAX_FRAME};
use ferry_wire::compression::Compression;
use ferry_wire::frame::{Frame, FrameDecoder, FrameFlags};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&config, stream)) = data.split_first() else {
        return;
    };
    let negotiated = match config & 0b11 {
        1 => Some(Compression::Lz4),
        2 => Some(Compression::Snappy),
        _ => None,
    };
    let recompress = config & 0b100 != 0;
    let mut decoder = FrameDecoder::with_max_frame_len(MAX_FRAME);
    let mut buf = BytesMut::new();
    let mut fed = 0;
    let mut consumed = 0;
    let mut sizes = chunk_sizes(config >> 3);
    while fed < stream.len() {
        let n = sizes.next().unwrap_or(1).min(stream.len() - fed);
        buf.extend_from_slice(&stream[fed..fed + n]);
        fed += n;
        loop {
            let before = buf.clone();
            match decoder.decode(&mut buf) {
                Ok(None) => {
                    assert_eq!(buf, before, "Ok(None) must leave the buffer alone");
                    break;
                }
                Ok(Some(frame)) => {
                    let len = before.len() - buf.len();
                    let mut again = BytesMut::new();
                    frame
                        .encode(&mut again)
                        .expect("a decoded frame re-encodes");
                    assert_eq!(&again[..], &stream[consumed..consumed + len]);
                    consumed += len;
                    check(frame, negotiated, recompress);
                }
                // The stream is out of sync: a connection would close here.
                Err(_) => return,
            }
        }
    }
});

fn check(frame: Frame, negotiated: Option<Compression>, recompress: bool) {
    if recompress && !frame.header.flags.contains(FrameFlags::COMPRESSION) {
        let algorithm = negotiated.unwrap_or(Compression::Lz4);
        let packed = frame.clone().compress(algorithm);
        let back = packed
            .decompress_with_limit(Some(algorithm), MAX_FRAME.max(frame.body.len()))
            .expect("what ferry-wire compresses, it decompresses");
        assert_eq!(back, frame);
    }
    if let Ok(plain) = frame.decompress_with_limit(negotiated, MAX_FRAME) {
        check_frame(&plain);
    }
}
