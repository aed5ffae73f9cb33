//! BATCH (opcode 0x0D): several DML statements applied together.

use bytes::{Bytes, BytesMut};

use crate::consistency::Consistency;
use crate::error::{DecodeErrorKind, DecodeResult, EncodeResult};
use crate::reader::{RawValue, Reader};
use crate::request::query_parameters::{query_flags as f, read_positional_values};
use crate::request::query_text::QueryText;
use crate::request::wire::{
    allows_keyspace_and_now, bounded_capacity, check_extra_flags, put_bound_value, put_count,
    put_flags, read_flags, unsupported,
};
use crate::version::ProtocolVersion;
use crate::writer::{put_consistency, put_short_bytes, put_string};

/// The `<type>` of a batch.
///
/// ```
/// use ferry_wire::request::BatchType;
/// assert_eq!(BatchType::try_from(1), Ok(BatchType::Unlogged));
/// assert_eq!(u8::from(BatchType::Counter), 2);
/// assert!(BatchType::try_from(3).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BatchType {
    /// 0: atomic, through the batch log.
    Logged = 0,
    /// 1: no batch log.
    Unlogged = 1,
    /// 2: counter updates only.
    Counter = 2,
}

impl TryFrom<u8> for BatchType {
    /// The unknown byte.
    type Error = u8;

    fn try_from(b: u8) -> Result<Self, u8> {
        match b {
            0 => Ok(Self::Logged),
            1 => Ok(Self::Unlogged),
            2 => Ok(Self::Counter),
            other => Err(other),
        }
    }
}

impl From<BatchType> for u8 {
    fn from(t: BatchType) -> u8 {
        t as u8
    }
}

/// What a batch child runs: `<kind><string_or_id>`.
///
/// ```
/// use ferry_wire::request::BatchStatementKind;
/// let k = BatchStatementKind::Query("UPDATE t SET v = 1 WHERE k = 0".into());
/// assert!(matches!(k, BatchStatementKind::Query(_)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchStatementKind {
    /// Kind 0: a `[long string]` statement.
    Query(QueryText),
    /// Kind 1: a `[short bytes]` prepared statement id.
    Prepared(Bytes),
}

/// One child of a batch: the statement and its positional values.
///
/// Values are always positional: the spec's 0x40 "names for values" batch
/// flag cannot work (the flags come after the children; CASSANDRA-10246)
/// and Cassandra reads the values positionally whatever the flag says.
///
/// ```
/// use ferry_wire::request::{BatchStatement, BatchStatementKind};
/// use ferry_wire::RawValue;
/// let s = BatchStatement {
///     kind: BatchStatementKind::Prepared(bytes::Bytes::from_static(b"id")),
///     values: vec![RawValue::Null],
/// };
/// assert_eq!(s.values.len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchStatement {
    /// The statement text or prepared id.
    pub kind: BatchStatementKind,
    /// Bound values (`[bytes]` before v4, `[value]` from v4).
    pub values: Vec<RawValue>,
}

/// A BATCH request.
///
/// v2: `<type><n><query_1>...<query_n><consistency>`.
/// v3/v4: then a `[byte]` of flags, `[<serial_consistency>][<timestamp>]`.
/// v5: the flags are an `[int]`, then also `[<keyspace>][<now_in_seconds>]`.
///
/// As for [`crate::request::QueryParameters`], the flags are derived from
/// the fields, and bits that carry no field are kept in `extra_flags`.
///
/// ```
/// use ferry_wire::request::{Batch, BatchStatement, BatchStatementKind, BatchType};
/// use ferry_wire::{Consistency, ProtocolVersion, Reader};
/// let mut b = Batch::new(BatchType::Logged, Consistency::Quorum);
/// b.statements.push(BatchStatement {
///     kind: BatchStatementKind::Query("DELETE FROM t WHERE k = 1".into()),
///     values: vec![],
/// });
/// b.default_timestamp = Some(42);
/// let mut buf = bytes::BytesMut::new();
/// b.encode(&mut buf, ProtocolVersion::V4).unwrap();
/// assert_eq!(Batch::decode(&mut Reader::new(buf.freeze()), ProtocolVersion::V4).unwrap(), b);
/// assert!(b.encode(&mut bytes::BytesMut::new(), ProtocolVersion::V2).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// Logged, unlogged or counter.
    pub batch_type: BatchType,
    /// The children, in order.
    pub statements: Vec<BatchStatement>,
    /// Consistency level of the batch.
    pub consistency: Consistency,
    /// Serial consistency (flag 0x10, v3+).
    pub serial_consistency: Option<Consistency>,
    /// Default timestamp in microseconds (flag 0x20, v3+).
    pub default_timestamp: Option<i64>,
    /// Keyspace (flag 0x80, v5).
    pub keyspace: Option<String>,
    /// Current time override in seconds (flag 0x100, v5).
    pub now_in_seconds: Option<i32>,
    /// Flag bits that carry no field in the version (unknown bits, the
    /// unusable 0x40, the QUERY-only bits the spec says must be 0), written
    /// back verbatim. Must be 0 in v2, which has no batch flags.
    pub extra_flags: u32,
}

impl Batch {
    /// An empty batch with no options.
    pub fn new(batch_type: BatchType, consistency: Consistency) -> Self {
        Self {
            batch_type,
            statements: Vec::new(),
            consistency,
            serial_consistency: None,
            default_timestamp: None,
            keyspace: None,
            now_in_seconds: None,
            extra_flags: 0,
        }
    }

    /// Flag bits `version` derives from fields.
    fn field_mask(version: ProtocolVersion) -> u32 {
        let mut mask = f::SERIAL_CONSISTENCY | f::DEFAULT_TIMESTAMP;
        if allows_keyspace_and_now(version) {
            mask |= f::KEYSPACE | f::NOW_IN_SECONDS;
        }
        mask
    }

    /// The flags sent in `version` (v3+), or why the batch cannot be sent in it.
    pub fn flags(&self, version: ProtocolVersion) -> EncodeResult<u32> {
        if version < ProtocolVersion::V3 {
            if self.serial_consistency.is_some() {
                return Err(unsupported("BATCH serial consistency", version));
            }
            if self.default_timestamp.is_some() {
                return Err(unsupported("BATCH default timestamp", version));
            }
            if self.extra_flags != 0 {
                return Err(unsupported("BATCH flags", version));
            }
        }
        if !allows_keyspace_and_now(version) {
            if self.keyspace.is_some() {
                return Err(unsupported("BATCH keyspace", version));
            }
            if self.now_in_seconds.is_some() {
                return Err(unsupported("BATCH now_in_seconds", version));
            }
        }
        check_extra_flags(
            self.extra_flags,
            Self::field_mask(version),
            "batch.extra_flags",
        )?;
        let mut flags = self.extra_flags;
        for (present, bit) in [
            (self.serial_consistency.is_some(), f::SERIAL_CONSISTENCY),
            (self.default_timestamp.is_some(), f::DEFAULT_TIMESTAMP),
            (self.keyspace.is_some(), f::KEYSPACE),
            (self.now_in_seconds.is_some(), f::NOW_IN_SECONDS),
        ] {
            if present {
                flags |= bit;
            }
        }
        Ok(flags)
    }

    /// Reads the body.
    pub fn decode(r: &mut Reader, version: ProtocolVersion) -> DecodeResult<Self> {
        let start = r.offset();
        let type_byte = r.read_u8("batch.type")?;
        let batch_type = BatchType::try_from(type_byte).map_err(|b| {
            crate::error::DecodeError::new(
                "batch.type",
                start,
                DecodeErrorKind::Invalid(format!("unknown batch type {b} (expected 0, 1 or 2)")),
            )
        })?;
        let n = usize::from(r.read_short("batch.statement_count")?);
        // Smallest child: kind byte, empty [short bytes] id, zero values.
        let mut statements = Vec::with_capacity(bounded_capacity(r, n, 5));
        for _ in 0..n {
            statements.push(decode_statement(r, version)?);
        }
        let consistency = r.read_consistency("batch.consistency")?;
        let mut batch = Self {
            statements,
            ..Self::new(batch_type, consistency)
        };
        if version < ProtocolVersion::V3 {
            return Ok(batch);
        }
        let flags = read_flags(r, version, "batch.flags")?;
        let has = |bit: u32| flags & bit != 0;
        if has(f::SERIAL_CONSISTENCY) {
            batch.serial_consistency = Some(r.read_consistency("batch.serial_consistency")?);
        }
        if has(f::DEFAULT_TIMESTAMP) {
            batch.default_timestamp = Some(r.read_long("batch.timestamp")?);
        }
        if allows_keyspace_and_now(version) {
            if has(f::KEYSPACE) {
                batch.keyspace = Some(r.read_string("batch.keyspace")?);
            }
            if has(f::NOW_IN_SECONDS) {
                batch.now_in_seconds = Some(r.read_int("batch.now_in_seconds")?);
            }
        }
        batch.extra_flags = flags & !Self::field_mask(version);
        Ok(batch)
    }

    /// Writes the body.
    pub fn encode(&self, buf: &mut BytesMut, version: ProtocolVersion) -> EncodeResult<()> {
        // Checked first so that nothing is written for an unsendable batch.
        let flags = self.flags(version)?;
        buf.extend_from_slice(&(u8::from(self.batch_type)).to_be_bytes());
        put_count(buf, self.statements.len(), "batch.statement_count")?;
        for s in &self.statements {
            match &s.kind {
                BatchStatementKind::Query(q) => {
                    buf.extend_from_slice(&[0u8]);
                    q.encode(buf, "batch.query")?;
                }
                BatchStatementKind::Prepared(id) => {
                    buf.extend_from_slice(&[1u8]);
                    put_short_bytes(buf, id, "batch.prepared_id")?;
                }
            }
            put_count(buf, s.values.len(), "batch.values")?;
            for v in &s.values {
                put_bound_value(buf, v, version, "batch.values")?;
            }
        }
        put_consistency(buf, self.consistency);
        if version < ProtocolVersion::V3 {
            return Ok(());
        }
        put_flags(buf, flags, version, "batch.flags")?;
        if let Some(c) = self.serial_consistency {
            put_consistency(buf, c);
        }
        if let Some(ts) = self.default_timestamp {
            buf.extend_from_slice(&ts.to_be_bytes());
        }
        if let Some(ks) = &self.keyspace {
            put_string(buf, ks, "batch.keyspace")?;
        }
        if let Some(now) = self.now_in_seconds {
            buf.extend_from_slice(&now.to_be_bytes());
        }
        Ok(())
    }
}

fn decode_statement(r: &mut Reader, version: ProtocolVersion) -> DecodeResult<BatchStatement> {
    let start = r.offset();
    let kind = match r.read_u8("batch.kind")? {
        0 => BatchStatementKind::Query(QueryText::decode(r, "batch.query")?),
        1 => BatchStatementKind::Prepared(r.read_short_bytes("batch.prepared_id")?),
        other => {
            return Err(crate::error::DecodeError::new(
                "batch.kind",
                start,
                DecodeErrorKind::Invalid(format!(
                    "unknown batch child kind {other} (expected 0 or 1)"
                )),
            ))
        }
    };
    let n = usize::from(r.read_short("batch.values")?);
    let values = read_positional_values(r, version, n, "batch.values")?;
    Ok(BatchStatement { kind, values })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_ends_with_the_consistency() {
        let mut b = Batch::new(BatchType::Unlogged, Consistency::One);
        b.statements.push(BatchStatement {
            kind: BatchStatementKind::Prepared(Bytes::from_static(b"\x01\x02")),
            values: vec![RawValue::Bytes(Bytes::from_static(b"x"))],
        });
        let mut buf = BytesMut::new();
        b.encode(&mut buf, ProtocolVersion::V2).unwrap();
        let expected: &[u8] = &[
            0x01, // UNLOGGED
            0x00, 0x01, // one child
            0x01, 0x00, 0x02, 0x01, 0x02, // prepared id
            0x00, 0x01, 0x00, 0x00, 0x00, 0x01, b'x', // one value
            0x00, 0x01, // ONE
        ];
        assert_eq!(&buf[..], expected);
        let back = Batch::decode(&mut Reader::new(buf.freeze()), ProtocolVersion::V2).unwrap();
        assert_eq!(back, b);
    }

    #[test]
    fn names_flag_is_kept_and_values_stay_positional() {
        // LOGGED, 1 child: query "q", 1 value (4 bytes "abcd"), ONE, flags 0x40.
        let wire = Bytes::from_static(
            b"\x00\x00\x01\x00\x00\x00\x00\x01q\x00\x01\x00\x00\x00\x04abcd\x00\x01\x40",
        );
        let b = Batch::decode(&mut Reader::new(wire.clone()), ProtocolVersion::V4).unwrap();
        assert_eq!(b.extra_flags, 0x40);
        assert_eq!(b.statements[0].values.len(), 1);
        let mut buf = BytesMut::new();
        b.encode(&mut buf, ProtocolVersion::V4).unwrap();
        assert_eq!(buf.freeze(), wire);
    }

    #[test]
    fn bad_type_and_kind_are_located() {
        let e = Batch::decode(
            &mut Reader::new(Bytes::from_static(b"\x03")),
            ProtocolVersion::V4,
        )
        .unwrap_err();
        assert_eq!((e.field, e.offset), ("batch.type", 0));
        let e = Batch::decode(
            &mut Reader::new(Bytes::from_static(b"\x00\x00\x01\x07")),
            ProtocolVersion::V4,
        )
        .unwrap_err();
        assert_eq!((e.field, e.offset), ("batch.kind", 3));
    }
}
