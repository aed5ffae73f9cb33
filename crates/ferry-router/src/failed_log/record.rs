//! One failed target write and its binary encoding.

use bytes::{BufMut, Bytes, BytesMut};
use ferry_wire::frame::FrameFlags;
use ferry_wire::writer::{put_long_string, put_short_bytes, put_string};
use ferry_wire::{
    DecodeError, DecodeErrorKind, DecodeResult, EncodeResult, Opcode, ProtocolVersion, Reader,
};

/// Record type byte of a write record (the only type so far).
const WRITE_RECORD: u8 = 1;

/// A prepared statement a logged EXECUTE or BATCH refers to, so that a
/// replay can prepare it again on a target that never saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedStatement {
    /// The id as it appears in the logged body.
    pub id: Bytes,
    /// The statement text.
    pub text: String,
    /// The keyspace it was prepared in (unqualified names resolve there).
    pub keyspace: Option<String>,
}

/// A target write the proxy could not apply: the exact request, so that
/// [`replay`](crate::replay) can apply it later with the same timestamp.
///
/// ```
/// use bytes::Bytes;
/// use ferry_router::failed_log::FailedWrite;
/// use ferry_wire::frame::FrameFlags;
/// use ferry_wire::{Opcode, ProtocolVersion};
/// let w = FailedWrite {
///     logged_at_micros: 1,
///     write_timestamp: Some(1_700_000_000_000_000),
///     version: ProtocolVersion::V4,
///     opcode: Opcode::Query,
///     flags: FrameFlags::NONE,
///     keyspace: Some("shop".into()),
///     idempotent: true,
///     reason: "target unreachable".into(),
///     statements: vec![],
///     body: Bytes::from_static(b"..."),
/// };
/// let encoded = w.encode_payload().unwrap();
/// assert_eq!(FailedWrite::decode_payload(encoded, 0).unwrap(), w);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedWrite {
    /// When the proxy logged it (microseconds since the epoch).
    pub logged_at_micros: i64,
    /// The write's timestamp (the one the proxy added, or the client's),
    /// if it carries one. Informational: the timestamp is in the body.
    pub write_timestamp: Option<i64>,
    /// Protocol version the body is encoded in.
    pub version: ProtocolVersion,
    /// QUERY, EXECUTE or BATCH (or a DDL QUERY).
    pub opcode: Opcode,
    /// Frame flags the body depends on (CUSTOM_PAYLOAD).
    pub flags: FrameFlags,
    /// The keyspace the client's connection was in (`USE`).
    pub keyspace: Option<String>,
    /// Whether applying it twice is harmless: it carries a timestamp (so
    /// a second application writes identical cells) and is no counter
    /// update or lightweight transaction.
    pub idempotent: bool,
    /// Why it was logged (the last error).
    pub reason: String,
    /// Statements behind the prepared ids in `body`.
    pub statements: Vec<LoggedStatement>,
    /// The request body, uncompressed, as it would be sent to the target
    /// (timestamp included; prepared ids as in `statements`).
    pub body: Bytes,
}

impl FailedWrite {
    /// The record payload (without the file's length and checksum framing).
    ///
    /// Layout, big-endian, CQL primitive types:
    /// `[byte] type=1 [long] logged_at [byte] has_ts [long] write_ts`
    /// `[byte] version [byte] opcode [byte] flags [byte] idempotent`
    /// `[byte] has_ks [string] keyspace? [long string] reason`
    /// `[short] n, n × ([short bytes] id [long string] text [byte] has_ks [string] ks?)`
    /// `[int] body length, body`.
    pub fn encode_payload(&self) -> EncodeResult<Bytes> {
        let mut b = BytesMut::with_capacity(64 + self.body.len() + self.reason.len());
        b.put_u8(WRITE_RECORD);
        b.put_i64(self.logged_at_micros);
        b.put_u8(u8::from(self.write_timestamp.is_some()));
        b.put_i64(self.write_timestamp.unwrap_or(0));
        b.put_u8(self.version.number());
        b.put_u8(self.opcode as u8);
        b.put_u8(self.flags.0);
        b.put_u8(u8::from(self.idempotent));
        put_optional_string(&mut b, self.keyspace.as_deref(), "failed_write.keyspace")?;
        put_long_string(&mut b, &self.reason, "failed_write.reason")?;
        let n =
            u16::try_from(self.statements.len()).map_err(|_| ferry_wire::EncodeError::TooLong {
                field: "failed_write.statements",
                length: self.statements.len(),
                max: usize::from(u16::MAX),
            })?;
        b.put_u16(n);
        for s in &self.statements {
            put_short_bytes(&mut b, &s.id, "failed_write.statement.id")?;
            put_long_string(&mut b, &s.text, "failed_write.statement.text")?;
            put_optional_string(
                &mut b,
                s.keyspace.as_deref(),
                "failed_write.statement.keyspace",
            )?;
        }
        let body_len =
            i32::try_from(self.body.len()).map_err(|_| ferry_wire::EncodeError::TooLong {
                field: "failed_write.body",
                length: self.body.len(),
                max: i32::MAX as usize,
            })?;
        b.put_i32(body_len);
        b.put_slice(&self.body);
        Ok(b.freeze())
    }

    /// Decodes a record payload; error offsets are `base` plus the offset
    /// in the payload (pass the payload's offset in the file).
    pub fn decode_payload(payload: Bytes, base: usize) -> DecodeResult<FailedWrite> {
        let mut r = Reader::with_base_offset(payload, base);
        let type_offset = r.offset();
        let kind = r.read_u8("failed_write.type")?;
        if kind != WRITE_RECORD {
            return Err(DecodeError::new(
                "failed_write.type",
                type_offset,
                DecodeErrorKind::Invalid(format!("record type {kind}, expected {WRITE_RECORD}")),
            ));
        }
        let logged_at_micros = r.read_long("failed_write.logged_at")?;
        let has_ts = r.read_u8("failed_write.has_timestamp")? != 0;
        let ts = r.read_long("failed_write.timestamp")?;
        let version_offset = r.offset();
        let number = r.read_u8("failed_write.version")?;
        let version = ProtocolVersion::from_number(number).ok_or(DecodeError::new(
            "failed_write.version",
            version_offset,
            DecodeErrorKind::UnsupportedVersion(number),
        ))?;
        let opcode_offset = r.offset();
        let opcode = Opcode::try_from(r.read_u8("failed_write.opcode")?)
            .map_err(|e| DecodeError::new("failed_write.opcode", opcode_offset, e.kind))?;
        let flags = FrameFlags(r.read_u8("failed_write.flags")?);
        let idempotent = r.read_u8("failed_write.idempotent")? != 0;
        let keyspace = read_optional_string(&mut r, "failed_write.keyspace")?;
        let reason = r.read_long_string("failed_write.reason")?;
        let n = r.read_short("failed_write.statements")?;
        let mut statements = Vec::with_capacity(usize::from(n).min(r.remaining() / 7));
        for _ in 0..n {
            statements.push(LoggedStatement {
                id: r.read_short_bytes("failed_write.statement.id")?,
                text: r.read_long_string("failed_write.statement.text")?,
                keyspace: read_optional_string(&mut r, "failed_write.statement.keyspace")?,
            });
        }
        let body_len = r.read_length("failed_write.body")?;
        let body = r.read_raw(body_len, "failed_write.body")?;
        r.finish("failed_write")?;
        Ok(FailedWrite {
            logged_at_micros,
            write_timestamp: has_ts.then_some(ts),
            version,
            opcode,
            flags,
            keyspace,
            idempotent,
            reason,
            statements,
            body,
        })
    }
}

fn put_optional_string(b: &mut BytesMut, s: Option<&str>, field: &'static str) -> EncodeResult<()> {
    match s {
        Some(s) => {
            b.put_u8(1);
            put_string(b, s, field)
        }
        None => {
            b.put_u8(0);
            Ok(())
        }
    }
}

fn read_optional_string(r: &mut Reader, field: &'static str) -> DecodeResult<Option<String>> {
    if r.read_u8(field)? == 0 {
        return Ok(None);
    }
    r.read_string(field).map(Some)
}
