//! Where the fields of `<query_parameters>` (QUERY, EXECUTE) and of a
//! BATCH's trailing parameters sit in a body, found by skipping values.

use crate::consistency::Consistency;
use crate::error::{DecodeErrorKind, DecodeResult};
use crate::reader::Reader;
use crate::version::ProtocolVersion;

/// Bits of the query flags (`[byte]` in v2-v4, `[int]` in v5).
///
/// ```
/// use ferry_wire::peek::QueryFlags;
/// assert_eq!(QueryFlags::DEFAULT_TIMESTAMP, 0x20);
/// ```
#[derive(Debug)]
pub struct QueryFlags;

impl QueryFlags {
    /// Values follow.
    pub const VALUES: u32 = 0x01;
    /// The client does not want result metadata.
    pub const SKIP_METADATA: u32 = 0x02;
    /// A page size follows.
    pub const PAGE_SIZE: u32 = 0x04;
    /// A paging state follows.
    pub const PAGING_STATE: u32 = 0x08;
    /// A serial consistency follows.
    pub const SERIAL_CONSISTENCY: u32 = 0x10;
    /// A default timestamp follows (v3+).
    pub const DEFAULT_TIMESTAMP: u32 = 0x20;
    /// Values are preceded by names (v3+).
    pub const NAMES_FOR_VALUES: u32 = 0x40;
    /// A keyspace follows (v5).
    pub const KEYSPACE: u32 = 0x80;
    /// A now-in-seconds follows (v5).
    pub const NOW_IN_SECONDS: u32 = 0x100;
}

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

    fn read_flags(
        r: &mut Reader,
        version: ProtocolVersion,
        field: &'static str,
    ) -> DecodeResult<u32> {
        if version.has_int_query_flags() {
            r.read_u32(field)
        } else {
            r.read_u8(field).map(u32::from)
        }
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
        let flags = Self::read_flags(r, version, "query_parameters.flags")?;
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
            Self::read_flags(r, version, "batch.flags")?
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
