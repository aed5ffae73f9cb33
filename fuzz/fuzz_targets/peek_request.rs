//! The proxy's fast path on arbitrary request frames: peeking and the
//! timestamp rewrite must never panic, and a rewrite must stay peekable.
#![no_main]

use bytes::Bytes;
use ferry_wire::frame::FrameHeader;
use ferry_wire::peek::{add_default_timestamp, peek_request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(header) = FrameHeader::decode(data) else {
        return;
    };
    let body = Bytes::copy_from_slice(data.get(header.encoded_len()..).unwrap_or_default());
    let Ok(peek) = peek_request(&header, &body) else {
        return;
    };
    if let Ok(Some((h2, b2))) = add_default_timestamp(&header, &body, &peek, 42) {
        let again = peek_request(&h2, &b2).expect("a rewritten frame must still be readable");
        assert_eq!(again.params().and_then(|p| p.timestamp), Some(42));
    }
});
