//! PREPARE (opcode 0x09): parse a statement once for later EXECUTEs.

use bytes::BytesMut;

use crate::error::{DecodeResult, EncodeResult};
use crate::reader::Reader;
use crate::request::query_text::QueryText;
use crate::request::wire::{check_extra_flags, unsupported};
use crate::version::ProtocolVersion;
use crate::writer::put_string;

/// PREPARE flag (v5): a keyspace follows the flags.
pub const PREPARE_WITH_KEYSPACE: u32 = 0x01;

/// A PREPARE request.
///
/// v2-v4: the body is the query, a `[long string]`. v5 adds `[int]` flags
/// and, with flag 0x01, a `[string]` keyspace: `<query><flags>[<keyspace>]`.
///
/// ```
/// use ferry_wire::request::Prepare;
/// use ferry_wire::{EncodeError, ProtocolVersion};
/// let mut p = Prepare::new("INSERT INTO t (k) VALUES (?)");
/// p.keyspace = Some("ks".into());
/// let mut buf = bytes::BytesMut::new();
/// p.encode(&mut buf, ProtocolVersion::V5).unwrap();
/// assert_eq!(&buf[buf.len() - 8..], b"\x00\x00\x00\x01\x00\x02ks");
/// assert!(matches!(
///     p.encode(&mut bytes::BytesMut::new(), ProtocolVersion::V4),
///     Err(EncodeError::UnsupportedInVersion { .. })
/// ));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Prepare {
    /// The statement to prepare.
    pub query: QueryText,
    /// Keyspace to prepare it in (v5, flag 0x01).
    pub keyspace: Option<String>,
    /// v5 flag bits other than 0x01, kept verbatim; must be 0 before v5.
    pub extra_flags: u32,
}

impl Prepare {
    /// Prepares `query` in the connection's keyspace.
    pub fn new(query: impl Into<QueryText>) -> Self {
        Self {
            query: query.into(),
            keyspace: None,
            extra_flags: 0,
        }
    }

    /// The flags sent in v5.
    pub fn flags(&self) -> u32 {
        let keyspace = if self.keyspace.is_some() {
            PREPARE_WITH_KEYSPACE
        } else {
            0
        };
        keyspace | self.extra_flags
    }

    /// Reads the body.
    pub fn decode(r: &mut Reader, version: ProtocolVersion) -> DecodeResult<Self> {
        let query = QueryText::decode(r, "prepare.query")?;
        if version < ProtocolVersion::V5 {
            return Ok(Self::new(query));
        }
        let flags = r.read_u32("prepare.flags")?;
        let keyspace = if flags & PREPARE_WITH_KEYSPACE != 0 {
            Some(r.read_string("prepare.keyspace")?)
        } else {
            None
        };
        Ok(Self {
            query,
            keyspace,
            extra_flags: flags & !PREPARE_WITH_KEYSPACE,
        })
    }

    /// Writes the body.
    pub fn encode(&self, buf: &mut BytesMut, version: ProtocolVersion) -> EncodeResult<()> {
        if version < ProtocolVersion::V5 {
            if self.keyspace.is_some() {
                return Err(unsupported("PREPARE keyspace", version));
            }
            if self.extra_flags != 0 {
                return Err(unsupported("PREPARE flags", version));
            }
            return self.query.encode(buf, "prepare.query");
        }
        check_extra_flags(
            self.extra_flags,
            PREPARE_WITH_KEYSPACE,
            "prepare.extra_flags",
        )?;
        self.query.encode(buf, "prepare.query")?;
        bytes::BufMut::put_u32(buf, self.flags());
        if let Some(ks) = &self.keyspace {
            put_string(buf, ks, "prepare.keyspace")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn v4_body_is_only_the_long_string() {
        let wire = Bytes::from_static(b"\x00\x00\x00\x03abc");
        let p = Prepare::decode(&mut Reader::new(wire.clone()), ProtocolVersion::V4).unwrap();
        assert_eq!(p, Prepare::new("abc"));
        let mut buf = BytesMut::new();
        p.encode(&mut buf, ProtocolVersion::V4).unwrap();
        assert_eq!(buf.freeze(), wire);
    }

    #[test]
    fn v5_flags_are_mandatory_and_unknown_bits_kept() {
        let short = Bytes::from_static(b"\x00\x00\x00\x01x");
        let e = Prepare::decode(&mut Reader::new(short), ProtocolVersion::V5).unwrap_err();
        assert_eq!((e.field, e.offset), ("prepare.flags", 5));

        let wire = Bytes::from_static(b"\x00\x00\x00\x01x\x00\x00\x00\x02");
        let p = Prepare::decode(&mut Reader::new(wire.clone()), ProtocolVersion::V5).unwrap();
        assert_eq!((p.keyspace.as_deref(), p.extra_flags), (None, 2));
        let mut buf = BytesMut::new();
        p.encode(&mut buf, ProtocolVersion::V5).unwrap();
        assert_eq!(buf.freeze(), wire);
    }
}
