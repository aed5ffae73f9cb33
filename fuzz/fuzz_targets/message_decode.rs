//! Message decoding without the framing: the first bytes pick the header
//! (version, opcode, flags, stream), the rest is the body.
//!
//! Input: version byte, opcode byte, flags byte, two stream bytes, body.
//!
//! Checks: no panic; anything that decodes re-encodes (a request to the
//! very same bytes, a response to a prefix of them, since response decoders
//! may leave trailing bytes unread) and decodes again to the same value;
//! Rows cells decode with their metadata's types without panicking.
#![no_main]

use ferry_fuzz::{check_frame, frame_from, Input};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let mut header = Input::new(input.take(5));
    let body = input.rest();
    check_frame(&frame_from(&mut header, body));
});
