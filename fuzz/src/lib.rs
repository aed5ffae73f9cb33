//! Helpers shared by the fuzz targets: reading choices out of the fuzzer's
//! bytes, and the round-trip checks every decoded message must pass.
//!
//! The checks are assertions on purpose: a failing one is a crash that
//! libFuzzer reports and minimizes, like a panic inside ferry-wire.

use bytes::{Bytes, BytesMut};
use ferry_wire::frame::{Frame, FrameDecoder};
use ferry_wire::message::{RequestMessage, ResponseMessage};
use ferry_wire::response::{Response, ResultResponse};
use ferry_wire::types::CqlValue;
use ferry_wire::{Opcode, ProtocolVersion};

/// Largest frame body the targets accept: big enough for anything the
/// fuzzer builds, small enough that a hostile length cannot make a target
/// allocate much.
pub const MAX_FRAME: usize = 1 << 20;

/// A cursor over the fuzzer's bytes that never fails: past the end it reads
/// zeros and empty slices, so every input is a valid recipe.
#[derive(Debug, Clone)]
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    /// Wraps the fuzzer's input.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    /// The next byte, or 0.
    pub fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    /// The next two bytes as a big-endian number, or fewer/zeros.
    pub fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.byte(), self.byte()])
    }

    /// Up to `n` bytes.
    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        head
    }

    /// Everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        self.take(self.data.len())
    }

    /// Whether nothing is left.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

/// Every opcode, so any byte picks one.
pub const OPCODES: [Opcode; 16] = [
    Opcode::Error,
    Opcode::Startup,
    Opcode::Ready,
    Opcode::Authenticate,
    Opcode::Options,
    Opcode::Supported,
    Opcode::Query,
    Opcode::Result,
    Opcode::Prepare,
    Opcode::Execute,
    Opcode::Register,
    Opcode::Event,
    Opcode::Batch,
    Opcode::AuthChallenge,
    Opcode::AuthResponse,
    Opcode::AuthSuccess,
];

/// A protocol version picked by a byte.
pub fn version_from(b: u8) -> ProtocolVersion {
    ProtocolVersion::ALL[usize::from(b) % ProtocolVersion::ALL.len()]
}

/// An opcode picked by a byte.
pub fn opcode_from(b: u8) -> Opcode {
    OPCODES[usize::from(b) % OPCODES.len()]
}

/// Chunk sizes (1..=64) for feeding a stream decoder, from a seed: a small
/// LCG, so a one-byte seed gives the fuzzer many different splits.
pub fn chunk_sizes(seed: u8) -> impl Iterator<Item = usize> {
    let mut state = u32::from(seed).wrapping_add(1);
    std::iter::from_fn(move || {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        Some((state >> 16) as usize % 64 + 1)
    })
}

/// Decodes an (uncompressed) frame as the message its direction bit says
/// and checks the round trip. Decode errors are fine; what decodes must
/// re-encode.
pub fn check_frame(frame: &Frame) {
    if frame.header.is_response {
        if let Ok(msg) = ResponseMessage::decode(frame) {
            check_response(&msg, frame);
        }
    } else if let Ok(msg) = RequestMessage::decode(frame) {
        check_request(&msg, frame);
    }
}

/// Encodes `encode` into one frame and cuts it off again.
fn reencode(encode: impl FnOnce(&mut BytesMut)) -> Frame {
    let mut buf = BytesMut::new();
    encode(&mut buf);
    let frame = FrameDecoder::with_max_frame_len(usize::MAX)
        .decode(&mut buf)
        .expect("a frame ferry-wire wrote must decode")
        .expect("a frame ferry-wire wrote is whole");
    assert!(buf.is_empty(), "encode wrote more than one frame");
    frame
}

/// A decoded request re-encodes to the very bytes it came from (requests
/// must be consumed exactly, so nothing may be lost) and decodes again to
/// the same value.
pub fn check_request(msg: &RequestMessage, original: &Frame) {
    let again = reencode(|buf| msg.encode(buf).expect("a decoded request must re-encode"));
    assert_eq!(again.header, original.header, "request header round trip");
    assert_eq!(again.body, original.body, "request body round trip");
    let back = RequestMessage::decode(&again).expect("a re-encoded request must decode");
    assert_eq!(&back, msg);
}

/// A decoded response re-encodes, decodes again to the same value, and
/// its bytes are a prefix of the original body (response decoders leave
/// trailing bytes unread, as the spec allows). Rows cells are also decoded
/// with the metadata's types, as a client would.
pub fn check_response(msg: &ResponseMessage, original: &Frame) {
    let again = reencode(|buf| msg.encode(buf).expect("a decoded response must re-encode"));
    assert!(
        original.body.starts_with(&again.body),
        "response re-encodes to something other than what it was read from"
    );
    let mut back = ResponseMessage::decode(&again).expect("a re-encoded response must decode");
    back.header.length = msg.header.length;
    assert_eq!(&back, msg);
    decode_rows_cells(&msg.response, msg.header.version);
}

fn decode_rows_cells(response: &Response, version: ProtocolVersion) {
    let Response::Result(ResultResponse::Rows(rows)) = response else {
        return;
    };
    let Some(columns) = rows.metadata().columns.as_ref() else {
        return;
    };
    // A Rows result with zero columns may announce up to 2^31 rows in a few
    // bytes (no cell bytes to pay for them); don't spend the fuzzer's time
    // iterating empty rows.
    for row in rows.rows().take(1024) {
        let Ok(row) = row else { return };
        for (cell, column) in row.cells().zip(columns) {
            if let Some(cell) = cell {
                if let Ok(value) = CqlValue::decode(&column.column_type, &cell, version) {
                    let _ = value.cql_literal_typed(&column.column_type);
                }
            }
        }
    }
}

/// A frame from a header picked by `input` (version, opcode, flags, stream)
/// and the given body; the direction follows the opcode.
pub fn frame_from(input: &mut Input<'_>, body: &[u8]) -> Frame {
    let version = version_from(input.byte());
    let opcode = opcode_from(input.byte());
    let flags = ferry_wire::frame::FrameFlags(input.byte());
    let stream = input.u16() as i16;
    let mut header = if opcode.is_response() {
        ferry_wire::frame::FrameHeader::response(version, stream, opcode, 0)
    } else {
        ferry_wire::frame::FrameHeader::request(version, stream, opcode, 0)
    };
    if version == ProtocolVersion::V2 {
        // v2 stream ids are one signed byte.
        header.stream = i16::from(stream as i8);
    }
    header.flags = flags;
    if !version.uses_segments() {
        // A compressed body must be decompressed before decoding (that is
        // `frame_decoder`'s business); here the body is the message itself.
        header
            .flags
            .set(ferry_wire::frame::FrameFlags::COMPRESSION, false);
    }
    Frame::new(header, Bytes::copy_from_slice(body))
}
