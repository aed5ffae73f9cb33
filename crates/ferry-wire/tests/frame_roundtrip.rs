//! Round trips and never-panic checks for the frame layer (v2 to v5):
//! `Frame` encoding, the streaming `FrameDecoder`, body compression and the
//! flag-governed body prefix (`BodyExtras`).

use bytes::{Bytes, BytesMut};
use ferry_wire::compression::Compression;
use ferry_wire::frame::{
    peek_stream_for_unsupported, BodyExtras, Frame, FrameDecoder, FrameFlags, FrameHeader,
};
use ferry_wire::{DecodeErrorKind, Opcode, ProtocolVersion};
use proptest::prelude::*;

/// Every opcode byte the protocol defines.
const OPCODES: [u8; 16] = [
    0x00, 0x01, 0x02, 0x03, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x10,
];

fn version() -> impl Strategy<Value = ProtocolVersion> {
    prop::sample::select(ProtocolVersion::ALL.to_vec())
}

fn opcode() -> impl Strategy<Value = Opcode> {
    prop::sample::select(OPCODES.to_vec()).prop_map(|b| Opcode::try_from(b).unwrap())
}

fn header() -> impl Strategy<Value = FrameHeader> {
    (
        version(),
        any::<bool>(),
        any::<u8>(),
        any::<i16>(),
        opcode(),
    )
        .prop_map(
            |(version, is_response, flags, stream, opcode)| FrameHeader {
                version,
                is_response,
                flags: FrameFlags(flags),
                // v2 stream ids are one signed byte.
                stream: if version == ProtocolVersion::V2 {
                    i16::from(stream as i8)
                } else {
                    stream
                },
                opcode,
                length: 0,
            },
        )
}

fn frame() -> impl Strategy<Value = Frame> {
    (header(), prop::collection::vec(any::<u8>(), 0..600))
        .prop_map(|(h, body)| Frame::new(h, Bytes::from(body)))
}

/// A body that is either noise or highly repetitive, so both the
/// "compresses well" and "does not compress" paths are exercised.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..3000),
        (any::<u8>(), 0usize..20_000, 1usize..8).prop_map(|(b, n, period)| (0..n)
            .map(|i| b.wrapping_add((i % period) as u8))
            .collect()),
    ]
}

fn compression() -> impl Strategy<Value = Compression> {
    prop_oneof![Just(Compression::Lz4), Just(Compression::Snappy)]
}

/// Feeds `wire` to a fresh decoder in chunks cut at `cuts` (fractions of
/// the length) and collects every frame.
fn decode_in_chunks(wire: &[u8], cuts: &[prop::sample::Index]) -> Vec<Frame> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c.index(wire.len() + 1)).collect();
    points.push(wire.len());
    points.sort_unstable();
    let mut decoder = FrameDecoder::new();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut fed = 0;
    for point in points {
        buf.extend_from_slice(&wire[fed..point]);
        fed = point;
        while let Some(f) = decoder.decode(&mut buf).unwrap() {
            out.push(f);
        }
    }
    assert!(buf.is_empty(), "{} byte(s) left undecoded", buf.len());
    out
}

proptest! {
    #[test]
    fn frames_round_trip_through_a_chunked_stream(
        frames in prop::collection::vec(frame(), 1..6),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
    ) {
        let mut wire = BytesMut::new();
        for f in &frames {
            f.encode(&mut wire).unwrap();
        }
        let expected_len: usize = frames.iter().map(Frame::encoded_len).sum();
        prop_assert_eq!(wire.len(), expected_len);
        let decoded = decode_in_chunks(&wire, &cuts);
        prop_assert_eq!(decoded, frames);
    }

    #[test]
    fn frame_bytes_re_encode_identically(f in frame()) {
        let mut wire = BytesMut::new();
        f.encode(&mut wire).unwrap();
        let original = wire.clone().freeze();
        let decoded = FrameDecoder::new().decode(&mut wire).unwrap().unwrap();
        let mut again = BytesMut::new();
        decoded.encode(&mut again).unwrap();
        prop_assert_eq!(&again[..], &original[..]);
    }

    #[test]
    fn compression_round_trips(c in compression(), data in body()) {
        let packed = c.compress(&data).unwrap();
        let back = c.decompress(&packed, data.len()).unwrap();
        prop_assert_eq!(&back[..], &data[..]);
        // One byte less than needed is refused.
        if !data.is_empty() {
            let refused = c.decompress(&packed, data.len() - 1).unwrap_err();
            let is_too_large = matches!(refused.kind, DecodeErrorKind::TooLarge { .. });
            prop_assert!(is_too_large, "{}", refused);
        }
    }

    #[test]
    fn frame_compression_round_trips(h in header(), c in compression(), data in body()) {
        let mut h = h;
        h.flags.set(FrameFlags::COMPRESSION, false);
        let plain = Frame::new(h, Bytes::from(data));
        let packed = plain.clone().compress(c);
        if h.version.uses_segments() {
            prop_assert_eq!(&packed, &plain);
        } else {
            prop_assert!(packed.header.flags.contains(FrameFlags::COMPRESSION));
            prop_assert_eq!(packed.header.length as usize, packed.body.len());
            // Through the wire and back.
            let mut wire = BytesMut::new();
            packed.encode(&mut wire).unwrap();
            let received = FrameDecoder::new().decode(&mut wire).unwrap().unwrap();
            prop_assert!(received.clone().decompress(None).is_err());
            prop_assert_eq!(received.decompress(Some(c)).unwrap(), plain);
        }
    }

    #[test]
    fn body_extras_round_trip(
        h in header(),
        tracing_id in prop::option::of(any::<[u8; 16]>()),
        warnings in prop::collection::vec("[a-z ]{0,12}", 0..3),
        payload in prop::option::of(prop::collection::vec(
            ("[a-z]{0,6}", prop::option::of(prop::collection::vec(any::<u8>(), 0..10))),
            0..3,
        )),
        message in prop::collection::vec(any::<u8>(), 0..20),
    ) {
        let mut h = h;
        h.flags = FrameFlags::NONE;
        let payload = payload.map(|p| {
            p.into_iter().map(|(k, v)| (k, v.map(Bytes::from))).collect::<Vec<_>>()
        });
        let extras = BodyExtras { tracing_id, warnings, custom_payload: payload };
        extras.apply_flags(&mut h);
        // What the flags can carry in this version and direction survives;
        // the rest is (correctly) not announced and not written.
        let v4 = h.version >= ProtocolVersion::V4;
        let expected = BodyExtras {
            tracing_id: extras.tracing_id.filter(|_| h.is_response),
            warnings: if v4 && h.is_response { extras.warnings.clone() } else { vec![] },
            custom_payload: extras.custom_payload.clone().filter(|_| v4),
        };
        let mut body = BytesMut::new();
        extras.encode(&h, &mut body).unwrap();
        let prefix_len = body.len();
        body.extend_from_slice(&message);
        let (back, r) = BodyExtras::split(&h, body.freeze()).unwrap();
        prop_assert_eq!(back, expected);
        prop_assert_eq!(r.offset(), h.encoded_len() + prefix_len);
        prop_assert_eq!(&r.rest()[..], &message[..]);
    }

    #[test]
    fn frame_decoder_never_panics(data in prop::collection::vec(any::<u8>(), 0..300), max in 0usize..400) {
        let mut decoder = FrameDecoder::with_max_frame_len(max);
        let mut buf = BytesMut::from(&data[..]);
        // Either frames until the input runs out, or an error.
        while let Ok(Some(f)) = decoder.decode(&mut buf) {
            prop_assert!(f.body.len() <= max);
        }
        let _ = peek_stream_for_unsupported(&data);
    }

    #[test]
    fn decompress_never_panics(c in compression(), data in prop::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(out) = c.decompress(&data, 1 << 16) {
            prop_assert!(out.len() <= 1 << 16);
        }
    }

    #[test]
    fn body_extras_split_never_panics(h in header(), data in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = BodyExtras::split(&h, Bytes::from(data));
    }
}

#[test]
fn unsupported_version_is_reported_and_probe_finds_the_stream() {
    // A v6 OPTIONS probe on stream 3: a proxy answers with a protocol error.
    let probe = [0x06, 0x00, 0x00, 0x03, 0x05, 0, 0, 0, 0];
    let mut buf = BytesMut::from(&probe[..]);
    let e = FrameDecoder::new().decode(&mut buf).unwrap_err();
    assert_eq!(e.kind, DecodeErrorKind::UnsupportedVersion(0x06));
    assert_eq!(buf.len(), probe.len(), "the probe stays buffered");
    assert_eq!(peek_stream_for_unsupported(&buf), Some((0x06, 3)));
}

#[test]
fn default_limit_is_256_mib() {
    let mut d = FrameDecoder::new();
    assert_eq!(d.max_frame_len(), 256 * 1024 * 1024);
    let at_limit = (256u32 * 1024 * 1024).to_be_bytes();
    let mut buf = BytesMut::from(&[0x04, 0, 0, 1, 0x07][..]);
    buf.extend_from_slice(&at_limit);
    assert!(
        d.decode(&mut buf).unwrap().is_none(),
        "exactly 256 MiB is allowed"
    );
    buf.truncate(5);
    buf.extend_from_slice(&(256u32 * 1024 * 1024 + 1).to_be_bytes());
    let e = d.decode(&mut buf).unwrap_err();
    assert!(e.to_string().contains("header.length"), "{e}");
}
