//! Where the fields of `<query_parameters>` (QUERY, EXECUTE) and of a
//! BATCH's trailing parameters sit in a body, found by skipping values.

use crate::consistency::Consistency;
use crate::error::{DecodeErrorKind, DecodeResult};
use crate::reader::Reader;
use crate::request::query_flags as QueryFlags;
use crate::request::wire::read_flags;
use crate::version::ProtocolVersion;

/// The parameters of a QUERY, EXECUTE or BATCH as a router sees them, with
/// the body offsets a rewrite needs. Offsets count from the start of the
/// message (after any custom payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamsLayout {
    /// Requested consistency.
    pub consistency: Consistency,
    /// Raw flags.
    pub flags: u32,
    /// Serial consistency, if set.
    pub serial_consistency: Option<Consistency>,
    /// Client-supplied default timestamp (microseconds), if set.
    pub timestamp: Option<i64>,
    /// Keyspace the request runs in (v5 flag), if set.
    pub keyspace: Option<String>,
    /// Number of bound values (QUERY/EXECUTE; 0 for BATCH).
    pub value_count: usize,
    /// Offset of the flags field.
    pub flags_offset: usize,
    /// Offset where the timestamp sits, or where one would be inserted.
    pub timestamp_offset: usize,
}

impl ParamsLayout {
    /// Whether the request carries a client timestamp.
    pub fn has_timestamp(&self) -> bool {
        self.timestamp.is_some()
    }

    fn read_tail(
        r: &mut Reader,
        version: ProtocolVersion,
        flags: u32,
        body_start: usize,
        field_prefix: TailFields,
    ) -> DecodeResult<Tail> {
        let serial = if flags & QueryFlags::SERIAL_CONSISTENCY != 0 {
            Some(r.read_consistency(field_prefix.serial)?)
        } else {
            None
        };
        let timestamp_offset = r.offset() - body_start;
        let timestamp =
            if flags & QueryFlags::DEFAULT_TIMESTAMP != 0 && version >= ProtocolVersion::V3 {
                Some(r.read_long(field_prefix.timestamp)?)
            } else {
                None
            };
        let keyspace = if flags & QueryFlags::KEYSPACE != 0 && version >= ProtocolVersion::V5 {
            Some(r.read_string(field_prefix.keyspace)?)
        } else {
            None
        };
        if flags & QueryFlags::NOW_IN_SECONDS != 0 && version >= ProtocolVersion::V5 {
            r.read_int(field_prefix.now)?;
        }
        Ok(Tail {
            serial,
            timestamp,
            keyspace,
            timestamp_offset,
        })
    }

    /// Reads `<query_parameters>` (QUERY, EXECUTE), skipping values.
    /// `body_start` is the reader offset where the message began.
    pub(crate) fn read_query_parameters(
        r: &mut Reader,
        version: ProtocolVersion,
        body_start: usize,
    ) -> DecodeResult<ParamsLayout> {
        let consistency = r.read_consistency("query_parameters.consistency")?;
        let flags_offset = r.offset() - body_start;
        let flags = read_flags(r, version, "query_parameters.flags")?;
        let mut value_count = 0;
        if flags & QueryFlags::VALUES != 0 {
            let n = r.read_short("query_parameters.value_count")?;
            value_count = usize::from(n);
            let named = flags & QueryFlags::NAMES_FOR_VALUES != 0 && version >= ProtocolVersion::V3;
            for _ in 0..n {
                if named {
                    r.read_short_bytes("query_parameters.value_name")?;
                }
                skip_value(r, "query_parameters.value")?;
            }
        }
        if flags & QueryFlags::PAGE_SIZE != 0 {
            r.read_int("query_parameters.page_size")?;
        }
        if flags & QueryFlags::PAGING_STATE != 0 {
            r.read_bytes("query_parameters.paging_state")?;
        }
        let tail = Self::read_tail(r, version, flags, body_start, TailFields::QUERY)?;
        Ok(ParamsLayout {
            consistency,
            flags,
            serial_consistency: tail.serial,
            timestamp: tail.timestamp,
            keyspace: tail.keyspace,
            value_count,
            flags_offset,
            timestamp_offset: tail.timestamp_offset,
        })
    }

    /// Reads the parameters that follow a BATCH's children.
    pub(crate) fn read_batch_parameters(
        r: &mut Reader,
        version: ProtocolVersion,
        body_start: usize,
    ) -> DecodeResult<ParamsLayout> {
        let consistency = r.read_consistency("batch.consistency")?;
        let flags_offset = r.offset() - body_start;
        // v2 batches end with the consistency: no flags at all.
        let flags = if version >= ProtocolVersion::V3 {
            read_flags(r, version, "batch.flags")?
        } else {
            0
        };
        let tail = Self::read_tail(r, version, flags, body_start, TailFields::BATCH)?;
        Ok(ParamsLayout {
            consistency,
            flags,
            serial_consistency: tail.serial,
            timestamp: tail.timestamp,
            keyspace: tail.keyspace,
            value_count: 0,
            flags_offset,
            timestamp_offset: tail.timestamp_offset,
        })
    }
}

/// The fields after the values: serial consistency, timestamp, keyspace.
struct Tail {
    serial: Option<Consistency>,
    timestamp: Option<i64>,
    keyspace: Option<String>,
    timestamp_offset: usize,
}

/// Error field names for the tail fields, per message.
struct TailFields {
    serial: &'static str,
    timestamp: &'static str,
    keyspace: &'static str,
    now: &'static str,
}

impl TailFields {
    const QUERY: TailFields = TailFields {
        serial: "query_parameters.serial_consistency",
        timestamp: "query_parameters.timestamp",
        keyspace: "query_parameters.keyspace",
        now: "query_parameters.now_in_seconds",
    };
    const BATCH: TailFields = TailFields {
        serial: "batch.serial_consistency",
        timestamp: "batch.timestamp",
        keyspace: "batch.keyspace",
        now: "batch.now_in_seconds",
    };
}

/// Skips one `[value]` (also covers v2's `[bytes]`): -1 null, -2 unset.
pub(crate) fn skip_value(r: &mut Reader, field: &'static str) -> DecodeResult<()> {
    let start = r.offset();
    let n = r.read_int(field)?;
    match n {
        n if n >= 0 => r.skip(n as usize, field),
        -1 | -2 => Ok(()),
        n => Err(crate::error::DecodeError::new(
            field,
            start,
            DecodeErrorKind::NegativeLength(i64::from(n)),
        )),
    }
}
