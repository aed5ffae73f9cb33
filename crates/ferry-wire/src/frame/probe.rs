//! Reading just enough of a frame in a version we do not speak to answer it.
//!
//! Drivers probe for the highest version a server supports: they send
//! OPTIONS or STARTUP in v6, in a DSE version (0x41 "DSE_V1", 0x42 "DSE_V2")
//! or in v1, and expect a protocol ERROR on the same stream so they can
//! retry with a lower version. A proxy must answer such a frame rather than
//! drop the connection, so it needs the stream id of a header it cannot decode.

use crate::version::ProtocolVersion;

/// Version numbers whose headers are 8 bytes with a one-byte stream id.
const SHORT_HEADER_VERSIONS: [u8; 2] = [1, 2];

/// If `buf` starts with a frame whose version this codec does not speak,
/// returns its raw version byte and its stream id.
///
/// The stream id is read from the 9-byte layout (two bytes at offset 2) that
/// v3 and every later version (including DSE's) use; for a v1 frame it is
/// the single signed byte at offset 2. Returns `None` if the version is one
/// ferry-wire decodes (use `FrameDecoder`) or if fewer than 4 bytes are
/// buffered.
///
/// ```
/// use ferry_wire::frame::peek_stream_for_unsupported;
/// // A DSE_V2 OPTIONS probe on stream 0x0102.
/// let probe = [0x42, 0x00, 0x01, 0x02, 0x05, 0, 0, 0, 0];
/// assert_eq!(peek_stream_for_unsupported(&probe), Some((0x42, 0x0102)));
/// // A v4 frame is not for us.
/// assert_eq!(peek_stream_for_unsupported(&[0x04, 0, 0, 1, 5, 0, 0, 0, 0]), None);
/// ```
pub fn peek_stream_for_unsupported(buf: &[u8]) -> Option<(u8, i16)> {
    let [version, _flags, s0, s1, ..] = *buf else {
        return None;
    };
    if ProtocolVersion::from_byte(version).is_some() {
        return None;
    }
    let number = version & !crate::version::RESPONSE_BIT;
    let stream = if SHORT_HEADER_VERSIONS.contains(&number) {
        i16::from(s0 as i8)
    } else {
        i16::from_be_bytes([s0, s1])
    };
    Some((version, stream))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v6_and_v1_probes() {
        assert_eq!(
            peek_stream_for_unsupported(&[0x06, 0x10, 0x00, 0x05, 0x05]),
            Some((0x06, 5))
        );
        assert_eq!(
            peek_stream_for_unsupported(&[0x01, 0, 0xff, 0x05, 0, 0, 0, 0]),
            Some((0x01, -1))
        );
        assert_eq!(peek_stream_for_unsupported(&[0x41, 0, 0]), None);
    }
}
