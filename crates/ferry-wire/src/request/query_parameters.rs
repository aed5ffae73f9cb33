//! `<query_parameters>`: the options shared by QUERY and EXECUTE.
//!
//! Layout (spec section 4.1.4), each part present only when its flag is set:
//!
//! ```text
//! <consistency><flags>[<n>[name_1]<value_1>...][<result_page_size>][<paging_state>]
//!     [<serial_consistency>][<timestamp>][<keyspace>][<now_in_seconds>]
//! ```
//!
//! What differs between versions:
//!
//! | version | flags    | default timestamp | named values | unset values | keyspace, now_in_seconds |
//! |---------|----------|-------------------|--------------|--------------|--------------------------|
//! | v2      | `[byte]` | no                | no           | no (`[bytes]`) | no                     |
//! | v3      | `[byte]` | 0x20              | 0x40         | no (`[bytes]`) | no                     |
//! | v4      | `[byte]` | 0x20              | 0x40         | yes (`[value]`) | no                    |
//! | v5      | `[int]`  | 0x20              | 0x40         | yes          | 0x80, 0x100              |
//!
//! The flags are not stored: they are derived from which fields are set, so
//! there is a single source of truth. Bits that carry no field in the version
//! at hand are kept in [`QueryParameters::extra_flags`] and written back
//! verbatim, so a decoded message re-encodes byte for byte.

use bytes::{Bytes, BytesMut};

use crate::consistency::Consistency;
use crate::error::{DecodeErrorKind, DecodeResult, EncodeResult};
use crate::reader::{RawValue, Reader};
use crate::request::serialized_values::SerializedValues;
use crate::request::wire::{
    allows_keyspace_and_now, allows_timestamp_and_names, bounded_capacity, check_extra_flags,
    put_bound_value, put_count, put_flags, put_serialized, read_bound_value, read_flags,
    read_nullable_bytes, unsupported,
};
use crate::version::ProtocolVersion;
use crate::writer::{put_bytes, put_consistency, put_string};

/// Bit masks of the query flags (`<flags>` of QUERY, EXECUTE and BATCH).
pub mod query_flags {
    /// 0x01: bound values follow.
    pub const VALUES: u32 = 0x01;
    /// 0x02: the server may omit result metadata.
    pub const SKIP_METADATA: u32 = 0x02;
    /// 0x04: a page size follows.
    pub const PAGE_SIZE: u32 = 0x04;
    /// 0x08: a paging state follows.
    pub const PAGING_STATE: u32 = 0x08;
    /// 0x10: a serial consistency follows.
    pub const SERIAL_CONSISTENCY: u32 = 0x10;
    /// 0x20: a default timestamp follows (v3+).
    pub const DEFAULT_TIMESTAMP: u32 = 0x20;
    /// 0x40: each bound value is preceded by its name (v3+).
    pub const NAMES_FOR_VALUES: u32 = 0x40;
    /// 0x80: a keyspace follows (v5).
    pub const KEYSPACE: u32 = 0x80;
    /// 0x100: a "now in seconds" follows (v5).
    pub const NOW_IN_SECONDS: u32 = 0x100;
}

use query_flags as f;

/// Bound values: by position, or (v3+, QUERY/EXECUTE only) by marker name,
/// or by position already laid out for the wire ([`SerializedValues`]).
///
/// ```
/// use ferry_wire::request::BoundValues;
/// use ferry_wire::RawValue;
/// let v = BoundValues::Named(vec![("id".into(), RawValue::Null)]);
/// assert_eq!(v.len(), 1);
/// assert!(BoundValues::Positional(vec![]).is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BoundValues {
    /// Values in bind-marker order.
    Positional(Vec<RawValue>),
    /// Values preceded by the name of their marker (flag 0x40).
    Named(Vec<(String, RawValue)>),
    /// Values in bind-marker order, already serialized back to back: encoded
    /// with one copy. Decoding never produces this form.
    Serialized(SerializedValues),
}

impl BoundValues {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            Self::Positional(v) => v.len(),
            Self::Named(v) => v.len(),
            Self::Serialized(v) => v.len(),
        }
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values in order, without their names (copies serialized values).
    pub fn to_raw_values(&self) -> Vec<RawValue> {
        match self {
            Self::Positional(v) => v.clone(),
            Self::Named(v) => v.iter().map(|(_, v)| v.clone()).collect(),
            Self::Serialized(v) => v.to_raw_values(),
        }
    }
}

/// Field names used in errors, so a failure inside EXECUTE says `execute.*`.
#[derive(Debug)]
pub(crate) struct ParameterFields {
    pub consistency: &'static str,
    pub flags: &'static str,
    pub values: &'static str,
    pub page_size: &'static str,
    pub paging_state: &'static str,
    pub serial_consistency: &'static str,
    pub timestamp: &'static str,
    pub keyspace: &'static str,
    pub now_in_seconds: &'static str,
}

macro_rules! parameter_fields {
    ($prefix:literal) => {
        ParameterFields {
            consistency: concat!($prefix, ".consistency"),
            flags: concat!($prefix, ".flags"),
            values: concat!($prefix, ".values"),
            page_size: concat!($prefix, ".page_size"),
            paging_state: concat!($prefix, ".paging_state"),
            serial_consistency: concat!($prefix, ".serial_consistency"),
            timestamp: concat!($prefix, ".timestamp"),
            keyspace: concat!($prefix, ".keyspace"),
            now_in_seconds: concat!($prefix, ".now_in_seconds"),
        }
    };
}

pub(crate) const GENERIC_FIELDS: ParameterFields = parameter_fields!("query_parameters");
pub(crate) const QUERY_FIELDS: ParameterFields = parameter_fields!("query");
pub(crate) const EXECUTE_FIELDS: ParameterFields = parameter_fields!("execute");
/// The names of the BATCH fields that `<query_parameters>` shares.
pub(crate) const BATCH_FIELDS: ParameterFields = parameter_fields!("batch");

/// The `<query_parameters>` of QUERY and EXECUTE.
///
/// ```
/// use ferry_wire::request::{query_flags, BoundValues, QueryParameters};
/// use ferry_wire::{Consistency, ProtocolVersion, RawValue};
/// let mut p = QueryParameters::new(Consistency::LocalQuorum);
/// p.values = Some(BoundValues::Positional(vec![RawValue::Null]));
/// p.default_timestamp = Some(1_700_000_000_000_000);
/// assert_eq!(
///     p.flags(ProtocolVersion::V4).unwrap(),
///     query_flags::VALUES | query_flags::DEFAULT_TIMESTAMP
/// );
/// // v2 has no default timestamp.
/// assert!(p.flags(ProtocolVersion::V2).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryParameters {
    /// Consistency level of the operation.
    pub consistency: Consistency,
    /// Bound values (flag 0x01); `Some` of an empty list still sets the flag.
    pub values: Option<BoundValues>,
    /// Ask the server to leave metadata out of a Rows result (flag 0x02).
    pub skip_metadata: bool,
    /// Page size in rows (flag 0x04).
    pub page_size: Option<i32>,
    /// Paging state returned by a previous page (flag 0x08). A null
    /// `[bytes]` here is refused when decoding: it could not be re-encoded.
    pub paging_state: Option<Bytes>,
    /// Consistency of the Paxos phase of conditional updates (flag 0x10).
    pub serial_consistency: Option<Consistency>,
    /// Default write timestamp in microseconds (flag 0x20, v3+).
    pub default_timestamp: Option<i64>,
    /// Keyspace to run the statement in (flag 0x80, v5).
    pub keyspace: Option<String>,
    /// Current time override, in seconds (flag 0x100, v5).
    pub now_in_seconds: Option<i32>,
    /// Flag bits that carry no field in the version the message was decoded
    /// with (unknown bits, or 0x40 without values), written back verbatim.
    /// Encoding fails if they overlap a bit derived from the fields above.
    pub extra_flags: u32,
}

impl QueryParameters {
    /// Parameters with only a consistency level.
    pub fn new(consistency: Consistency) -> Self {
        Self {
            consistency,
            values: None,
            skip_metadata: false,
            page_size: None,
            paging_state: None,
            serial_consistency: None,
            default_timestamp: None,
            keyspace: None,
            now_in_seconds: None,
            extra_flags: 0,
        }
    }

    /// Flag bits that `version` derives from fields. NAMES_FOR_VALUES only
    /// counts when values are present: without them the spec says it is
    /// ignored, so it is kept as an extra bit.
    fn field_mask(version: ProtocolVersion, has_values: bool) -> u32 {
        let mut mask = f::VALUES | f::SKIP_METADATA | f::PAGE_SIZE | f::PAGING_STATE;
        mask |= f::SERIAL_CONSISTENCY;
        if allows_timestamp_and_names(version) {
            mask |= f::DEFAULT_TIMESTAMP;
            if has_values {
                mask |= f::NAMES_FOR_VALUES;
            }
        }
        if allows_keyspace_and_now(version) {
            mask |= f::KEYSPACE | f::NOW_IN_SECONDS;
        }
        mask
    }

    /// The flags these parameters are sent with in `version`, or why they
    /// cannot be sent in it.
    pub fn flags(&self, version: ProtocolVersion) -> EncodeResult<u32> {
        let mut flags = 0;
        let mut set = |present: bool, bit: u32| {
            if present {
                flags |= bit;
            }
        };
        set(self.values.is_some(), f::VALUES);
        set(self.skip_metadata, f::SKIP_METADATA);
        set(self.page_size.is_some(), f::PAGE_SIZE);
        set(self.paging_state.is_some(), f::PAGING_STATE);
        set(self.serial_consistency.is_some(), f::SERIAL_CONSISTENCY);
        set(self.default_timestamp.is_some(), f::DEFAULT_TIMESTAMP);
        set(
            matches!(self.values, Some(BoundValues::Named(_))),
            f::NAMES_FOR_VALUES,
        );
        set(self.keyspace.is_some(), f::KEYSPACE);
        set(self.now_in_seconds.is_some(), f::NOW_IN_SECONDS);

        if !allows_timestamp_and_names(version) {
            if flags & f::DEFAULT_TIMESTAMP != 0 {
                return Err(unsupported("default timestamp", version));
            }
            if flags & f::NAMES_FOR_VALUES != 0 {
                return Err(unsupported("named bound values", version));
            }
        }
        if !allows_keyspace_and_now(version) {
            if flags & f::KEYSPACE != 0 {
                return Err(unsupported("per-query keyspace", version));
            }
            if flags & f::NOW_IN_SECONDS != 0 {
                return Err(unsupported("now_in_seconds", version));
            }
        }
        let mask = Self::field_mask(version, self.values.is_some());
        check_extra_flags(self.extra_flags, mask, "query_parameters.extra_flags")?;
        Ok(flags | self.extra_flags)
    }

    /// Reads `<query_parameters>`.
    pub fn decode(r: &mut Reader, version: ProtocolVersion) -> DecodeResult<Self> {
        Self::decode_fields(r, version, &GENERIC_FIELDS)
    }

    /// Writes `<query_parameters>`.
    pub fn encode(&self, buf: &mut BytesMut, version: ProtocolVersion) -> EncodeResult<()> {
        self.encode_fields(buf, version, &GENERIC_FIELDS)
    }

    pub(crate) fn decode_fields(
        r: &mut Reader,
        version: ProtocolVersion,
        names: &ParameterFields,
    ) -> DecodeResult<Self> {
        let consistency = r.read_consistency(names.consistency)?;
        let flags = read_flags(r, version, names.flags)?;
        let has = |bit: u32| flags & bit != 0;

        let values = if has(f::VALUES) {
            let named = has(f::NAMES_FOR_VALUES) && allows_timestamp_and_names(version);
            Some(read_values(r, version, named, names.values)?)
        } else {
            None
        };
        let page_size = if has(f::PAGE_SIZE) {
            Some(r.read_int(names.page_size)?)
        } else {
            None
        };
        let paging_state = if has(f::PAGING_STATE) {
            let start = r.offset();
            // A null paging state would not re-encode to the same bytes
            // (we have no way to store "flag set, value null"); no driver
            // sends one.
            Some(read_nullable_bytes(r, names.paging_state)?.ok_or_else(|| {
                crate::error::DecodeError::new(
                    names.paging_state,
                    start,
                    DecodeErrorKind::Invalid("null paging state with flag 0x08 set".into()),
                )
            })?)
        } else {
            None
        };
        let serial_consistency = if has(f::SERIAL_CONSISTENCY) {
            Some(r.read_consistency(names.serial_consistency)?)
        } else {
            None
        };
        let default_timestamp = if has(f::DEFAULT_TIMESTAMP) && allows_timestamp_and_names(version)
        {
            Some(r.read_long(names.timestamp)?)
        } else {
            None
        };
        let keyspace = if has(f::KEYSPACE) && allows_keyspace_and_now(version) {
            Some(r.read_string(names.keyspace)?)
        } else {
            None
        };
        let now_in_seconds = if has(f::NOW_IN_SECONDS) && allows_keyspace_and_now(version) {
            Some(r.read_int(names.now_in_seconds)?)
        } else {
            None
        };
        Ok(Self {
            consistency,
            skip_metadata: has(f::SKIP_METADATA),
            extra_flags: flags & !Self::field_mask(version, values.is_some()),
            values,
            page_size,
            paging_state,
            serial_consistency,
            default_timestamp,
            keyspace,
            now_in_seconds,
        })
    }

    pub(crate) fn encode_fields(
        &self,
        buf: &mut BytesMut,
        version: ProtocolVersion,
        names: &ParameterFields,
    ) -> EncodeResult<()> {
        let flags = self.flags(version)?;
        put_consistency(buf, self.consistency);
        put_flags(buf, flags, version, names.flags)?;
        match &self.values {
            None => {}
            Some(BoundValues::Positional(values)) => {
                put_count(buf, values.len(), names.values)?;
                for v in values {
                    put_bound_value(buf, v, version, names.values)?;
                }
            }
            Some(BoundValues::Named(values)) => {
                put_count(buf, values.len(), names.values)?;
                for (name, v) in values {
                    put_string(buf, name, names.values)?;
                    put_bound_value(buf, v, version, names.values)?;
                }
            }
            Some(BoundValues::Serialized(values)) => {
                put_serialized(buf, values, version, names.values)?
            }
        }
        if let Some(n) = self.page_size {
            buf.extend_from_slice(&n.to_be_bytes());
        }
        if let Some(state) = &self.paging_state {
            put_bytes(buf, Some(state), names.paging_state)?;
        }
        if let Some(c) = self.serial_consistency {
            put_consistency(buf, c);
        }
        if let Some(ts) = self.default_timestamp {
            buf.extend_from_slice(&ts.to_be_bytes());
        }
        if let Some(ks) = &self.keyspace {
            put_string(buf, ks, names.keyspace)?;
        }
        if let Some(now) = self.now_in_seconds {
            buf.extend_from_slice(&now.to_be_bytes());
        }
        Ok(())
    }
}

/// Reads `<n>` then `n` values, each preceded by a `[string]` name if `named`.
fn read_values(
    r: &mut Reader,
    version: ProtocolVersion,
    named: bool,
    field: &'static str,
) -> DecodeResult<BoundValues> {
    let n = usize::from(r.read_short(field)?);
    if named {
        // A name is at least 2 bytes and a value at least 4.
        let mut out = Vec::with_capacity(bounded_capacity(r, n, 6));
        for _ in 0..n {
            let name = r.read_string(field)?;
            out.push((name, read_bound_value(r, version, field)?));
        }
        Ok(BoundValues::Named(out))
    } else {
        Ok(BoundValues::Positional(read_positional_values(
            r, version, n, field,
        )?))
    }
}

/// Reads `n` positional bound values (also used by BATCH children).
pub(crate) fn read_positional_values(
    r: &mut Reader,
    version: ProtocolVersion,
    n: usize,
    field: &'static str,
) -> DecodeResult<Vec<RawValue>> {
    let mut out = Vec::with_capacity(bounded_capacity(r, n, 4));
    for _ in 0..n {
        out.push(read_bound_value(r, version, field)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::EncodeError;

    fn round_trip(p: &QueryParameters, v: ProtocolVersion) -> Vec<u8> {
        let mut buf = BytesMut::new();
        p.encode(&mut buf, v).unwrap();
        let bytes = buf.freeze();
        let mut r = Reader::new(bytes.clone());
        assert_eq!(&QueryParameters::decode(&mut r, v).unwrap(), p);
        assert!(r.is_empty());
        bytes.to_vec()
    }

    #[test]
    fn v2_layout_with_values_and_paging() {
        let mut p = QueryParameters::new(Consistency::One);
        p.values = Some(BoundValues::Positional(vec![
            RawValue::Bytes(Bytes::from_static(b"\x2a")),
            RawValue::Null,
        ]));
        p.page_size = Some(100);
        let wire = round_trip(&p, ProtocolVersion::V2);
        let expected: &[u8] = &[
            0x00, 0x01, // consistency ONE
            0x05, // flags: VALUES | PAGE_SIZE
            0x00, 0x02, // two values
            0x00, 0x00, 0x00, 0x01, 0x2a, // [bytes] 0x2a
            0xff, 0xff, 0xff, 0xff, // null
            0x00, 0x00, 0x00, 0x64, // page size 100
        ];
        assert_eq!(wire, expected);
    }

    #[test]
    fn v5_flags_are_an_int_and_carry_keyspace_and_now() {
        let mut p = QueryParameters::new(Consistency::Quorum);
        p.keyspace = Some("ks".into());
        p.now_in_seconds = Some(7);
        let wire = round_trip(&p, ProtocolVersion::V5);
        let expected: &[u8] = &[
            0x00, 0x04, // QUORUM
            0x00, 0x00, 0x01, 0x80, // KEYSPACE | NOW_IN_SECONDS
            0x00, 0x02, b'k', b's', // keyspace
            0x00, 0x00, 0x00, 0x07, // now
        ];
        assert_eq!(wire, expected);
        assert!(matches!(
            p.flags(ProtocolVersion::V4),
            Err(EncodeError::UnsupportedInVersion { version: 4, .. })
        ));
    }

    #[test]
    fn names_flag_without_values_is_kept_verbatim() {
        // consistency ONE, flags 0x40 only: the spec says the flag is ignored.
        let wire = Bytes::from_static(&[0x00, 0x01, 0x40]);
        let p =
            QueryParameters::decode(&mut Reader::new(wire.clone()), ProtocolVersion::V4).unwrap();
        assert_eq!(p.values, None);
        assert_eq!(p.extra_flags, f::NAMES_FOR_VALUES);
        let mut buf = BytesMut::new();
        p.encode(&mut buf, ProtocolVersion::V4).unwrap();
        assert_eq!(buf.freeze(), wire);
    }

    #[test]
    fn unknown_bits_survive_but_may_not_shadow_fields() {
        // v2 does not define 0x20: kept as an extra bit, no timestamp read.
        let wire = Bytes::from_static(&[0x00, 0x01, 0x20]);
        let p =
            QueryParameters::decode(&mut Reader::new(wire.clone()), ProtocolVersion::V2).unwrap();
        assert_eq!((p.default_timestamp, p.extra_flags), (None, 0x20));
        let mut buf = BytesMut::new();
        p.encode(&mut buf, ProtocolVersion::V2).unwrap();
        assert_eq!(buf.freeze(), wire);
        // In v3 the same bit means "timestamp follows": refuse to send it bare.
        assert!(matches!(
            p.encode(&mut BytesMut::new(), ProtocolVersion::V3),
            Err(EncodeError::Invalid(_))
        ));
    }

    #[test]
    fn truncated_timestamp_names_the_field() {
        let wire = Bytes::from_static(&[0x00, 0x01, 0x20, 0x00, 0x00]);
        let e =
            QueryParameters::decode(&mut Reader::with_base_offset(wire, 9), ProtocolVersion::V4)
                .unwrap_err();
        assert_eq!((e.field, e.offset), ("query_parameters.timestamp", 12));
    }
}
