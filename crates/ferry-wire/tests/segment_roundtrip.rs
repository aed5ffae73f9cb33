//! Protocol v5 segments: checksum known answers, encode/decode round trips
//! (packing, splitting, LZ4, chunked delivery), corruption detection and
//! never-panic checks.

use bytes::{Bytes, BytesMut};
use ferry_wire::frame::{Frame, FrameFlags, FrameHeader};
use ferry_wire::segment::{
    crc24, crc32, FrameAssembler, Segment, SegmentCodec, SegmentDecoder, SegmentFrameDecoder,
    MAX_SEGMENT_PAYLOAD,
};
use ferry_wire::{DecodeErrorKind, Opcode, ProtocolVersion};
use proptest::prelude::*;

// ---------------------------------------------------------------------------
// Reference checksums, written bit by bit from the definitions (not from the
// table-driven code under test).

/// Cassandra's `Crc.crc24(long bytes, int len)`: the header word is consumed
/// least significant byte first, each byte entering the top of a 24-bit
/// register that is shifted left one bit at a time and reduced by the
/// polynomial 0x1974F0B when bit 24 appears.
fn reference_crc24(mut word: u64, mut len: u32) -> u32 {
    let mut crc: u32 = 0x87_5060;
    while len > 0 {
        crc ^= ((word & 0xff) as u32) << 16;
        word >>= 8;
        for _ in 0..8 {
            crc <<= 1;
            if crc & 0x100_0000 != 0 {
                crc ^= 0x197_4F0B;
            }
        }
        len -= 1;
    }
    crc
}

/// Plain reflected CRC-32 (poly 0xEDB88320, init and final xor all ones)
/// over FA 2D 55 CA followed by the payload: java.util.zip.CRC32 after
/// Cassandra's `crc.update(initialBytes)`.
fn reference_crc32(payload: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in [0xFA, 0x2D, 0x55, 0xCA].iter().chain(payload) {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let lsb = crc & 1;
            crc >>= 1;
            if lsb != 0 {
                crc ^= 0xEDB8_8320;
            }
        }
    }
    !crc
}

fn le_word(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .rev()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
}

/// The 50-byte payload "abc...xyzabc...x".
fn alphabet_payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| b'a' + (i % 26) as u8).collect()
}

#[test]
fn crc24_known_answers() {
    // Header of a self-contained 50-byte uncompressed segment.
    let header = [0x32, 0x00, 0x02];
    assert_eq!(reference_crc24(le_word(&header), 3), 0xEE_FFA5);
    assert_eq!(crc24(&header), 0xEE_FFA5);
    // The CRC catalogue style check input (longer than any header, but the
    // algorithm is the same).
    assert_eq!(crc24(b"123456789"), 0x4B_3F02);
    // An empty-payload LZ4 header and a maximal one.
    for header in [[0u8; 5], [0xFF, 0xFF, 0xFF, 0xFF, 0x07]] {
        assert_eq!(crc24(&header), reference_crc24(le_word(&header), 5));
    }
}

#[test]
fn crc32_known_answers() {
    let payload = alphabet_payload(50);
    assert_eq!(reference_crc32(&payload), 0x4F8C_BD13);
    assert_eq!(crc32(&payload), 0x4F8C_BD13);
    assert_eq!(crc32(b"123456789"), 0xE2A2_61A7);
    assert_eq!(crc32(b""), reference_crc32(b""));
}

#[test]
fn uncompressed_segment_matches_known_bytes() {
    let payload = alphabet_payload(50);
    let mut wire = BytesMut::new();
    SegmentCodec::uncompressed()
        .encode_segment(&payload, true, &mut wire)
        .unwrap();
    assert_eq!(&wire[..6], &[0x32, 0x00, 0x02, 0xA5, 0xFF, 0xEE]);
    assert_eq!(&wire[6..56], &payload[..]);
    assert_eq!(&wire[56..], &[0x13, 0xBD, 0x8C, 0x4F]);
}

proptest! {
    #[test]
    fn crc24_matches_reference(header in prop::collection::vec(any::<u8>(), 1..=8)) {
        prop_assert_eq!(crc24(&header), reference_crc24(le_word(&header), header.len() as u32));
    }

    #[test]
    fn crc32_matches_reference(payload in prop::collection::vec(any::<u8>(), 0..200)) {
        prop_assert_eq!(crc32(&payload), reference_crc32(&payload));
    }
}

// ---------------------------------------------------------------------------
// Round trips.

/// Cheap deterministic filler: proptest strategies per byte are too slow for
/// 300 KiB bodies.
fn filler(seed: u64, len: usize, compressible: bool) -> Bytes {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(len);
    for i in 0..len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.push(if compressible {
            // Long runs of a few values.
            ((state >> 60) as u8 & 0x3).wrapping_add((i / 64) as u8 & 0x7)
        } else {
            (state >> 32) as u8
        });
    }
    Bytes::from(out)
}

/// Body sizes: mostly small, sometimes just around a segment, sometimes
/// several segments long.
fn body_len() -> impl Strategy<Value = usize> {
    prop_oneof![
        6 => 0usize..300,
        2 => 130_000usize..132_000,
        1 => 132_000usize..300_000,
    ]
}

fn v5_frame() -> impl Strategy<Value = Frame> {
    (
        any::<bool>(),
        any::<i16>(),
        any::<u8>(),
        body_len(),
        any::<u64>(),
        any::<bool>(),
    )
        .prop_map(|(is_response, stream, flags, len, seed, compressible)| {
            let mut header = if is_response {
                FrameHeader::response(ProtocolVersion::V5, stream, Opcode::Result, 0)
            } else {
                FrameHeader::request(ProtocolVersion::V5, stream, Opcode::Query, 0)
            };
            header.flags = FrameFlags(flags);
            Frame::new(header, filler(seed, len, compressible))
        })
}

fn codec(lz4: bool, max_payload: Option<usize>) -> SegmentCodec {
    let codec = if lz4 {
        SegmentCodec::lz4()
    } else {
        SegmentCodec::uncompressed()
    };
    match max_payload {
        Some(max) => codec.with_max_payload(max),
        None => codec,
    }
}

/// Feeds `wire` in chunks of the given sizes (cycled) and collects frames.
fn decode_chunked(
    decoder: &mut SegmentFrameDecoder,
    wire: &[u8],
    chunk_sizes: &[usize],
) -> Vec<Frame> {
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut fed = 0;
    let mut sizes = chunk_sizes.iter().cycle();
    while fed < wire.len() {
        let step = sizes.next().copied().unwrap_or(wire.len()).max(1);
        let end = wire.len().min(fed + step);
        buf.extend_from_slice(&wire[fed..end]);
        fed = end;
        while let Some(frame) = decoder.decode(&mut buf).unwrap() {
            out.push(frame);
        }
    }
    assert!(buf.is_empty(), "{} byte(s) left undecoded", buf.len());
    out
}

fn decoder_for(codec: &SegmentCodec) -> SegmentFrameDecoder {
    SegmentFrameDecoder::new(codec.decoder(), FrameAssembler::new())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn segments_round_trip(
        frames in prop::collection::vec(v5_frame(), 1..6),
        lz4 in any::<bool>(),
        chunk_sizes in prop::collection::vec(
            prop_oneof![1usize..16, 16usize..4096, 4096usize..200_000], 1..6),
    ) {
        let mut codec = codec(lz4, None);
        let mut wire = BytesMut::new();
        codec.encode_frames(&frames, &mut wire).unwrap();
        let decoded = decode_chunked(&mut decoder_for(&codec), &wire, &chunk_sizes);
        prop_assert_eq!(decoded, frames);
    }
}

proptest! {
    #[test]
    fn small_segments_split_headers_and_bodies(
        bodies in prop::collection::vec((0usize..400, any::<u64>(), any::<bool>()), 1..8),
        lz4 in any::<bool>(),
        max_payload in prop_oneof![1usize..12, 12usize..200],
        chunk in 1usize..64,
    ) {
        let frames: Vec<Frame> = bodies
            .iter()
            .enumerate()
            .map(|(i, &(len, seed, compressible))| {
                Frame::new(
                    FrameHeader::request(ProtocolVersion::V5, i as i16, Opcode::Execute, 0),
                    filler(seed, len, compressible),
                )
            })
            .collect();
        let mut codec = codec(lz4, Some(max_payload));
        let mut wire = BytesMut::new();
        codec.encode_frames(&frames, &mut wire).unwrap();
        let decoded = decode_chunked(&mut decoder_for(&codec), &wire, &[chunk]);
        prop_assert_eq!(decoded, frames);
    }

    #[test]
    fn raw_envelopes_and_frames_encode_identically(
        bodies in prop::collection::vec((0usize..3000, any::<u64>()), 1..5),
        lz4 in any::<bool>(),
        max_payload in 9usize..5000,
    ) {
        let frames: Vec<Frame> = bodies
            .iter()
            .map(|&(len, seed)| {
                Frame::new(
                    FrameHeader::response(ProtocolVersion::V5, -1, Opcode::Event, 0),
                    filler(seed, len, true),
                )
            })
            .collect();
        let raw: Vec<Bytes> = frames
            .iter()
            .map(|f| {
                let mut b = BytesMut::new();
                f.encode(&mut b).unwrap();
                b.freeze()
            })
            .collect();
        let mut from_frames = BytesMut::new();
        codec(lz4, Some(max_payload)).encode_frames(&frames, &mut from_frames).unwrap();
        let mut from_raw = BytesMut::new();
        codec(lz4, Some(max_payload)).encode_envelopes(&raw, &mut from_raw).unwrap();
        prop_assert_eq!(from_frames, from_raw);
    }

    #[test]
    fn a_corrupted_byte_is_a_checksum_error(
        bodies in prop::collection::vec((0usize..2000, any::<u64>(), any::<bool>()), 1..5),
        lz4 in any::<bool>(),
        max_payload in prop_oneof![Just(MAX_SEGMENT_PAYLOAD), 50usize..1000],
        position in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let frames: Vec<Frame> = bodies
            .iter()
            .map(|&(len, seed, compressible)| {
                Frame::new(
                    FrameHeader::request(ProtocolVersion::V5, 1, Opcode::Query, 0),
                    filler(seed, len, compressible),
                )
            })
            .collect();
        let mut codec = codec(lz4, Some(max_payload));
        let mut wire = BytesMut::new();
        codec.encode_frames(&frames, &mut wire).unwrap();
        let at = position.index(wire.len());
        wire[at] ^= flip;
        let mut decoder = decoder_for(&codec);
        let error = loop {
            match decoder.decode(&mut wire) {
                Ok(Some(_)) => continue,
                Ok(None) => break None,
                Err(e) => break Some(e),
            }
        };
        // CRC24 and CRC32 catch every burst of up to 24/32 bits, so a
        // changed byte can never go unnoticed.
        let error = error.expect("corruption went unnoticed");
        let is_checksum = matches!(error.kind, DecodeErrorKind::ChecksumMismatch { .. });
        prop_assert!(is_checksum, "{}", error);
    }

    #[test]
    fn segment_decoder_never_panics(
        data in prop::collection::vec(any::<u8>(), 0..400),
        lz4 in any::<bool>(),
    ) {
        let mut decoder = if lz4 { SegmentDecoder::lz4() } else { SegmentDecoder::uncompressed() };
        let mut buf = BytesMut::from(&data[..]);
        while let Ok(Some(segment)) = decoder.decode(&mut buf) {
            prop_assert!(segment.payload.len() <= MAX_SEGMENT_PAYLOAD);
        }
    }

    #[test]
    fn segment_decoder_never_panics_on_valid_headers(
        payload in prop::collection::vec(any::<u8>(), 0..300),
        uncompressed_len in 0usize..=MAX_SEGMENT_PAYLOAD,
        self_contained in any::<bool>(),
    ) {
        // Random LZ4 "compressed" payloads behind a correct header and CRCs,
        // so the decompressor itself sees garbage.
        let word = (payload.len() as u64)
            | ((uncompressed_len as u64) << 17)
            | (u64::from(self_contained) << 34);
        let mut wire = BytesMut::new();
        let header = &word.to_le_bytes()[..5];
        wire.extend_from_slice(header);
        wire.extend_from_slice(&crc24(header).to_le_bytes()[..3]);
        wire.extend_from_slice(&payload);
        wire.extend_from_slice(&crc32(&payload).to_le_bytes());
        if let Ok(Some(segment)) = SegmentDecoder::lz4().decode(&mut wire) {
            let expected = if uncompressed_len == 0 { payload.len() } else { uncompressed_len };
            prop_assert_eq!(segment.payload.len(), expected);
        }
    }

    #[test]
    fn assembler_never_panics(
        segments in prop::collection::vec(
            (any::<bool>(), prop::collection::vec(any::<u8>(), 0..64)), 0..8),
        max in 0usize..100,
    ) {
        let mut assembler = FrameAssembler::with_max_frame_len(max);
        for (self_contained, payload) in segments {
            assembler.push(Segment { self_contained, payload: Bytes::from(payload) });
            while let Ok(Some(frame)) = assembler.next_frame() {
                prop_assert!(frame.body.len() <= max);
            }
        }
    }

    #[test]
    fn segmented_decoder_never_panics(data in prop::collection::vec(any::<u8>(), 0..400)) {
        let mut decoder = SegmentFrameDecoder::uncompressed();
        let mut buf = BytesMut::from(&data[..]);
        while let Ok(Some(_)) = decoder.decode(&mut buf) {}
    }
}

// ---------------------------------------------------------------------------
// Layout and protocol rules.

fn envelope(body_len: usize) -> Frame {
    Frame::new(
        FrameHeader::request(ProtocolVersion::V5, 7, Opcode::Query, 0),
        Bytes::from(vec![0x5A; body_len]),
    )
}

fn segments_of(codec: &SegmentCodec, wire: &mut BytesMut) -> Vec<Segment> {
    let mut decoder = codec.decoder();
    let mut out = Vec::new();
    while let Some(s) = decoder.decode(wire).unwrap() {
        out.push(s);
    }
    assert!(wire.is_empty());
    out
}

#[test]
fn small_envelopes_share_one_self_contained_segment() {
    let frames: Vec<Frame> = (0..100).map(|_| envelope(100)).collect();
    let mut codec = SegmentCodec::uncompressed();
    let mut wire = BytesMut::new();
    codec.encode_frames(&frames, &mut wire).unwrap();
    let segments = segments_of(&codec, &mut wire);
    assert_eq!(segments.len(), 1);
    assert!(segments[0].self_contained);
    assert_eq!(segments[0].payload.len(), 100 * 109);
}

#[test]
fn packing_starts_a_new_segment_when_the_next_envelope_does_not_fit() {
    // 1300 envelopes of 109 bytes: 1202 fit in 131071 bytes.
    let frames: Vec<Frame> = (0..1300).map(|_| envelope(100)).collect();
    let mut codec = SegmentCodec::uncompressed();
    let mut wire = BytesMut::new();
    codec.encode_frames(&frames, &mut wire).unwrap();
    let segments = segments_of(&codec, &mut wire);
    let sizes: Vec<usize> = segments.iter().map(|s| s.payload.len()).collect();
    assert_eq!(sizes, vec![1202 * 109, 98 * 109]);
    assert!(segments.iter().all(|s| s.self_contained));
}

#[test]
fn a_large_envelope_gets_its_own_non_self_contained_segments() {
    let frames = vec![
        envelope(10),
        envelope(2 * MAX_SEGMENT_PAYLOAD),
        envelope(10),
    ];
    let mut codec = SegmentCodec::uncompressed();
    let mut wire = BytesMut::new();
    codec.encode_frames(&frames, &mut wire).unwrap();
    let segments = segments_of(&codec, &mut wire);
    let shape: Vec<(bool, usize)> = segments
        .iter()
        .map(|s| (s.self_contained, s.payload.len()))
        .collect();
    assert_eq!(
        shape,
        vec![
            (true, 19),
            (false, MAX_SEGMENT_PAYLOAD),
            (false, MAX_SEGMENT_PAYLOAD),
            (false, 9),
            (true, 19),
        ]
    );
}

#[test]
fn incompressible_lz4_payload_is_stored_with_zero_uncompressed_length() {
    let noise = filler(42, 1000, false);
    let mut wire = BytesMut::new();
    SegmentCodec::lz4()
        .encode_segment(&noise, true, &mut wire)
        .unwrap();
    let word = le_word(&wire[..5]);
    assert_eq!(word & 0x1_FFFF, 1000, "compressed length = stored length");
    assert_eq!((word >> 17) & 0x1_FFFF, 0, "uncompressed length 0 = stored");
    assert_eq!(&wire[8..1008], &noise[..]);
    let s = SegmentDecoder::lz4().decode(&mut wire).unwrap().unwrap();
    assert_eq!(s.payload, noise);
}

#[test]
fn compressible_lz4_payload_records_both_lengths() {
    let zeros = vec![0u8; 5000];
    let mut wire = BytesMut::new();
    SegmentCodec::lz4()
        .encode_segment(&zeros, false, &mut wire)
        .unwrap();
    let word = le_word(&wire[..5]);
    let compressed = (word & 0x1_FFFF) as usize;
    assert!(compressed < 100, "{compressed}");
    assert_eq!((word >> 17) & 0x1_FFFF, 5000);
    assert_eq!(word >> 34 & 1, 0, "not self-contained");
    assert_eq!(wire.len(), 8 + compressed + 4);
    // The payload is a plain LZ4 block.
    let block = &wire[8..8 + compressed];
    assert_eq!(lz4_flex::block::decompress(block, 5000).unwrap(), zeros);
}

#[test]
fn payload_checksum_error_names_the_trailer_and_skips_the_segment() {
    let mut codec = SegmentCodec::uncompressed();
    let mut wire = BytesMut::new();
    codec.encode_segment(b"first", true, &mut wire).unwrap();
    codec.encode_segment(b"second", true, &mut wire).unwrap();
    wire[7] ^= 1;
    let mut decoder = codec.decoder();
    let e = decoder.decode(&mut wire).unwrap_err();
    assert_eq!(e.field, "segment.payload_crc32");
    assert_eq!(e.offset, 6 + 5);
    let next = decoder.decode(&mut wire).unwrap().unwrap();
    assert_eq!(&next.payload[..], b"second");
}

#[test]
fn self_contained_segment_inside_a_large_envelope_is_an_error() {
    let mut head = BytesMut::new();
    envelope(100).encode(&mut head).unwrap();
    let mut assembler = FrameAssembler::new();
    assembler.push(Segment {
        self_contained: false,
        payload: head.split_to(50).freeze(),
    });
    assembler.push(Segment {
        self_contained: true,
        payload: head.freeze(),
    });
    let e = assembler.next_frame().unwrap_err();
    assert_eq!(e.field, "segment.self_contained");
}

#[test]
fn non_self_contained_segment_overrunning_its_envelope_is_an_error() {
    let mut bytes = BytesMut::new();
    envelope(100).encode(&mut bytes).unwrap();
    bytes.extend_from_slice(b"extra");
    let (first, rest) = bytes.split_at(60);
    let mut assembler = FrameAssembler::new();
    for part in [first, rest] {
        assembler.push(Segment {
            self_contained: false,
            payload: Bytes::copy_from_slice(part),
        });
    }
    let e = assembler.next_frame().unwrap_err();
    assert!(matches!(e.kind, DecodeErrorKind::Invalid(_)), "{e}");
    assert!(!assembler.is_mid_envelope());
}

#[test]
fn self_contained_segment_ending_mid_envelope_is_truncated() {
    let mut bytes = BytesMut::new();
    envelope(100).encode(&mut bytes).unwrap();
    bytes.truncate(50);
    let mut assembler = FrameAssembler::new();
    assembler.push(Segment {
        self_contained: true,
        payload: bytes.freeze(),
    });
    let e = assembler.next_frame().unwrap_err();
    assert_eq!(e.field, "segment.envelope");
    assert_eq!(e.kind, DecodeErrorKind::Truncated { needed: 59 });
}

#[test]
fn assembler_refuses_envelopes_over_its_limit_from_the_header() {
    let mut bytes = BytesMut::new();
    envelope(1000).encode(&mut bytes).unwrap();
    let mut assembler = FrameAssembler::with_max_frame_len(999);
    assembler.push(Segment {
        self_contained: false,
        payload: bytes.split_to(100).freeze(),
    });
    let e = assembler.next_frame().unwrap_err();
    assert_eq!(
        e.kind,
        DecodeErrorKind::TooLarge {
            length: 1000,
            max: 999
        }
    );
}

#[test]
fn header_checksum_error_points_at_the_crc24() {
    let mut wire = BytesMut::new();
    SegmentCodec::uncompressed()
        .encode_segment(b"x", true, &mut wire)
        .unwrap();
    wire[4] ^= 0x10;
    let e = SegmentDecoder::uncompressed()
        .decode(&mut wire)
        .unwrap_err();
    assert_eq!(e.field, "segment.header_crc24");
    assert_eq!(e.offset, 3);
}
