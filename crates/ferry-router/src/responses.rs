//! Responses the proxy reads or makes itself: errors for the client, the
//! facts it needs from the source's answers (a prepared id, an error code).

use bytes::{Bytes, BytesMut};
use ferry_wire::frame::{BodyExtras, Frame, FrameFlags, FrameHeader};
use ferry_wire::response::{result_kind, ErrorCode, ErrorDetails, ErrorResponse, Prepared};
use ferry_wire::types::ColumnType;
use ferry_wire::{Opcode, ProtocolVersion};

/// What Cassandra puts in its refusal of a protocol version; drivers look
/// for "unsupported protocol version" in a protocol error to step down.
pub(crate) const UNSUPPORTED_VERSION: &str = "Invalid or unsupported protocol version";

/// An ERROR response frame on `stream`.
pub(crate) fn error_frame(version: ProtocolVersion, stream: i16, error: &ErrorResponse) -> Frame {
    let mut body = BytesMut::new();
    if error.encode(&mut body, version).is_err() {
        // Only a message over 64 KiB fails; send a short one instead.
        body.clear();
        let _ = ErrorResponse::server_error("ferry-proxy: error message too long")
            .encode(&mut body, version);
    }
    Frame::new(
        FrameHeader::response(version, stream, Opcode::Error, 0),
        body.freeze(),
    )
}

/// The protocol error that makes a driver step down from `offered`
/// (a raw version byte) to a version up to `max`, in the style of
/// Cassandra 3+: "Invalid or unsupported protocol version (5); supported
/// versions are (3/v3, 4/v4)".
pub(crate) fn version_refusal(offered: u8, max: ProtocolVersion) -> ErrorResponse {
    let supported: Vec<String> = ProtocolVersion::ALL
        .iter()
        .filter(|v| **v <= max)
        .map(|v| format!("{}/v{}", v.number(), v.number()))
        .collect();
    ErrorResponse::protocol_error(format!(
        "{UNSUPPORTED_VERSION} ({}); supported versions are ({})",
        offered & !ferry_wire::version::RESPONSE_BIT,
        supported.join(", ")
    ))
}

/// The version to answer a refused version byte in: the highest one the
/// driver can read that the proxy allows. Drivers read any version they
/// know in a response header; a v1 probe gets a v2 (same 8-byte layout).
pub(crate) fn refusal_version(offered: u8, max: ProtocolVersion) -> ProtocolVersion {
    let number = offered & !ferry_wire::version::RESPONSE_BIT;
    match ProtocolVersion::from_number(number) {
        Some(v) => v.min(max),
        None if number < 2 => ProtocolVersion::V2,
        None => max,
    }
}

/// An ERROR frame's error, if `frame` is one (body already decompressed).
pub(crate) fn error_of(frame: &Frame) -> Option<ErrorResponse> {
    if frame.header.opcode != Opcode::Error {
        return None;
    }
    let (_, mut r) = BodyExtras::split(&frame.header, frame.body.clone()).ok()?;
    ErrorResponse::decode(&mut r, frame.header.version).ok()
}

/// Cassandra 2.1's answer to a version it does not speak is a SERVER error
/// (code 0) "Invalid or unsupported protocol version: 4", on which drivers
/// give up instead of stepping down. Returns the protocol error to send
/// instead, with the same message, or `None` for any other frame.
pub(crate) fn translate_version_error(frame: &Frame) -> Option<Frame> {
    let error = error_of(frame)?;
    if error.code() != ErrorCode::SERVER || !error.message.contains(UNSUPPORTED_VERSION) {
        return None;
    }
    let protocol = ErrorResponse::new(ErrorDetails::Protocol, error.message);
    Some(error_frame(
        frame.header.version,
        frame.header.stream,
        &protocol,
    ))
}

/// The source's Prepared result in a RESULT frame (body decompressed):
/// its id and the types of its bind markers (empty if the metadata could
/// not be read).
pub(crate) fn prepared_result(frame: &Frame) -> Option<(Bytes, Vec<ColumnType>)> {
    if frame.header.opcode != Opcode::Result {
        return None;
    }
    let (_, mut r) = BodyExtras::split(&frame.header, frame.body.clone()).ok()?;
    if r.read_int("result.kind").ok()? != result_kind::PREPARED {
        return None;
    }
    let start = r.clone();
    match Prepared::decode(&mut r, frame.header.version) {
        Ok(p) => {
            let types = p
                .metadata
                .columns
                .into_iter()
                .map(|c| c.column_type)
                .collect();
            Some((p.id, types))
        }
        Err(_) => {
            let mut r = start;
            let id = r.read_short_bytes("result.prepared.id").ok()?;
            Some((id, Vec::new()))
        }
    }
}

/// The keyspace of a Set_keyspace RESULT (the answer to `USE`).
pub(crate) fn set_keyspace(frame: &Frame) -> Option<String> {
    if frame.header.opcode != Opcode::Result {
        return None;
    }
    let (_, mut r) = BodyExtras::split(&frame.header, frame.body.clone()).ok()?;
    if r.read_int("result.kind").ok()? != result_kind::SET_KEYSPACE {
        return None;
    }
    r.read_string("result.set_keyspace").ok()
}

/// Whether the source's answer means the target should not get the write:
/// the request itself was refused (bad syntax, invalid, unauthorized,
/// already exists, unprepared, protocol error). Timeouts and unavailability
/// do not count: the write may have been applied, so it is mirrored.
pub(crate) fn is_definitive_refusal(error: &ErrorResponse) -> bool {
    matches!(
        error.code(),
        ErrorCode::SYNTAX
            | ErrorCode::INVALID
            | ErrorCode::UNAUTHORIZED
            | ErrorCode::ALREADY_EXISTS
            | ErrorCode::CONFIG
            | ErrorCode::UNPREPARED
            | ErrorCode::PROTOCOL
            | ErrorCode::BAD_CREDENTIALS
            | ErrorCode::FUNCTION_FAILURE
    )
}

/// Whether a target error is worth a retry (a transient state of the
/// cluster) rather than a fault of the request.
pub(crate) fn is_retryable(error: &ErrorResponse) -> bool {
    matches!(
        error.code(),
        ErrorCode::SERVER
            | ErrorCode::UNAVAILABLE
            | ErrorCode::OVERLOADED
            | ErrorCode::IS_BOOTSTRAPPING
            | ErrorCode::TRUNCATE
            | ErrorCode::WRITE_TIMEOUT
            | ErrorCode::READ_TIMEOUT
            | ErrorCode::WRITE_FAILURE
            | ErrorCode::CDC_WRITE_FAILURE
    )
}

/// Request flags worth keeping on a copy of the request for the target:
/// the custom payload is part of the body. Tracing, beta and compression
/// are properties of the client's connection.
pub(crate) fn target_flags(flags: FrameFlags) -> FrameFlags {
    FrameFlags(flags.0 & FrameFlags::CUSTOM_PAYLOAD.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cassandra_21_refusal_becomes_a_protocol_error() {
        let server = error_frame(
            ProtocolVersion::V3,
            4,
            &ErrorResponse::server_error("Invalid or unsupported protocol version: 4"),
        );
        let translated = translate_version_error(&server).expect("translated");
        let e = error_of(&translated).unwrap();
        assert!(e.is_protocol_error());
        assert!(e.message.contains("unsupported protocol version"));
        assert_eq!(translated.header.stream, 4);
        assert_eq!(translated.header.version, ProtocolVersion::V3);
        // Other server errors are left alone.
        let other = error_frame(
            ProtocolVersion::V3,
            4,
            &ErrorResponse::server_error("java.lang.NullPointerException"),
        );
        assert!(translate_version_error(&other).is_none());
    }

    #[test]
    fn refusals_list_versions_up_to_the_cap() {
        let e = version_refusal(0x42, ProtocolVersion::V4);
        assert_eq!(
            e.message,
            "Invalid or unsupported protocol version (66); supported versions are (2/v2, 3/v3, 4/v4)"
        );
        assert_eq!(
            refusal_version(0x42, ProtocolVersion::V4),
            ProtocolVersion::V4
        );
        assert_eq!(
            refusal_version(0x05, ProtocolVersion::V4),
            ProtocolVersion::V4
        );
        assert_eq!(
            refusal_version(0x03, ProtocolVersion::V4),
            ProtocolVersion::V3
        );
        assert_eq!(
            refusal_version(0x01, ProtocolVersion::V4),
            ProtocolVersion::V2
        );
    }
}
