//! Where the fields of `<query_parameters>` (QUERY, EXECUTE) and of a
//! BATCH's trailing parameters sit in a body, found by skipping values.

use crate::consistency::Consistency;
use crate::error::{DecodeErrorKind, DecodeResult};
use crate::reader::Reader;
use crate::request::query_flags as QueryFlags;
use crate::request::wire::read_flags;
use crate::request::{ParameterFields, BATCH_FIELDS, GENERIC_FIELDS};
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

    /// Reads the parameters of `message`: `<query_parameters>` (QUERY,
    /// EXECUTE), skipping values, or those that follow a BATCH's children.
    /// `body_start` is the reader offset where the message began.
    pub(crate) fn read(
        r: &mut Reader,
        version: ProtocolVersion,
        body_start: usize,
        message: ParamsOf,
    ) -> DecodeResult<ParamsLayout> {
        let fields = message.fields();
        let consistency = r.read_consistency(fields.consistency)?;
        let flags_offset = r.offset() - body_start;
        // v2 batches end with the consistency: no flags at all.
        let flags = if message == ParamsOf::Batch && version < ProtocolVersion::V3 {
            0
        } else {
            read_flags(r, version, fields.flags)?
        };
        // A batch's values sit in its children, already skipped.
        let value_count = match message {
            ParamsOf::Query => skip_values_and_paging(r, version, flags)?,
            ParamsOf::Batch => 0,
        };
        let serial_consistency = if flags & QueryFlags::SERIAL_CONSISTENCY != 0 {
            Some(r.read_consistency(fields.serial_consistency)?)
        } else {
            None
        };
        let timestamp_offset = r.offset() - body_start;
        let timestamp =
            if flags & QueryFlags::DEFAULT_TIMESTAMP != 0 && version >= ProtocolVersion::V3 {
                Some(r.read_long(fields.timestamp)?)
            } else {
                None
            };
        let keyspace = if flags & QueryFlags::KEYSPACE != 0 && version >= ProtocolVersion::V5 {
            Some(r.read_string(fields.keyspace)?)
        } else {
            None
        };
        if flags & QueryFlags::NOW_IN_SECONDS != 0 && version >= ProtocolVersion::V5 {
            r.read_int(fields.now_in_seconds)?;
        }
        Ok(ParamsLayout {
            consistency,
            flags,
            serial_consistency,
            timestamp,
            keyspace,
            value_count,
            flags_offset,
            timestamp_offset,
        })
    }
}

/// Which message the parameters close: QUERY and EXECUTE carry values,
/// page size and paging state between the flags and the serial
/// consistency; a BATCH does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParamsOf {
    /// QUERY or EXECUTE.
    Query,
    /// BATCH.
    Batch,
}

impl ParamsOf {
    /// Error field names: `query_parameters.*` (as `QueryParameters`
    /// names them when decoded alone) or `batch.*`.
    fn fields(self) -> &'static ParameterFields {
        match self {
            Self::Query => &GENERIC_FIELDS,
            Self::Batch => &BATCH_FIELDS,
        }
    }
}

/// Skips the values, page size and paging state of `<query_parameters>`;
/// returns the number of values.
fn skip_values_and_paging(
    r: &mut Reader,
    version: ProtocolVersion,
    flags: u32,
) -> DecodeResult<usize> {
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
    Ok(value_count)
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
