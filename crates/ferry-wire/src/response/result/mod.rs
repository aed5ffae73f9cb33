//! The RESULT response: an `[int]` kind, then a body that depends on it.

mod metadata;
mod prepared;
mod rows;
mod schema_change;
mod set_keyspace;

pub use metadata::{ColumnSpec, RowsMetadata, TableSpec};
pub use prepared::{Prepared, PreparedMetadata};
pub use rows::{Cells, RawCells, RowIter, RowView, Rows, RowsBuilder};
pub use schema_change::{SchemaChange, SchemaChangeTarget, SchemaChangeType};
pub use set_keyspace::SetKeyspace;

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{DecodeResult, EncodeResult};
use crate::reader::Reader;
use crate::version::ProtocolVersion;

/// The `[int]` result kinds.
pub mod kind {
    /// Void: nothing more.
    pub const VOID: i32 = 0x0001;
    /// Rows: a result set.
    pub const ROWS: i32 = 0x0002;
    /// Set_keyspace: the answer to `USE`.
    pub const SET_KEYSPACE: i32 = 0x0003;
    /// Prepared: the answer to PREPARE.
    pub const PREPARED: i32 = 0x0004;
    /// Schema_change: the answer to a DDL statement.
    pub const SCHEMA_CHANGE: i32 = 0x0005;
}

/// A RESULT message.
///
/// ```
/// use ferry_wire::response::{ResultResponse, SetKeyspace};
/// use ferry_wire::{ProtocolVersion, Reader};
/// let mut buf = bytes::BytesMut::new();
/// ResultResponse::Void.encode(&mut buf, ProtocolVersion::V4).unwrap();
/// assert_eq!(&buf[..], &[0, 0, 0, 1]);
/// let r = ResultResponse::decode(
///     &mut Reader::new(bytes::Bytes::from_static(b"\x00\x00\x00\x03\x00\x02ks")),
///     ProtocolVersion::V4,
/// ).unwrap();
/// assert_eq!(r, ResultResponse::SetKeyspace(SetKeyspace { keyspace: "ks".into() }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResultResponse {
    /// The statement succeeded and returns nothing.
    Void,
    /// A result set.
    Rows(Rows),
    /// The keyspace set by `USE`.
    SetKeyspace(SetKeyspace),
    /// A prepared statement (boxed: it is much larger than the other kinds).
    Prepared(Box<Prepared>),
    /// The schema change a DDL statement made.
    SchemaChange(SchemaChange),
    /// A kind this codec does not know, with its undecoded body so it can be
    /// forwarded unchanged.
    Other {
        /// The kind.
        kind: i32,
        /// Everything after the kind.
        body: Bytes,
    },
}

impl ResultResponse {
    /// The `[int]` kind.
    pub fn kind(&self) -> i32 {
        match self {
            Self::Void => kind::VOID,
            Self::Rows(_) => kind::ROWS,
            Self::SetKeyspace(_) => kind::SET_KEYSPACE,
            Self::Prepared(_) => kind::PREPARED,
            Self::SchemaChange(_) => kind::SCHEMA_CHANGE,
            Self::Other { kind, .. } => *kind,
        }
    }

    /// Decodes a RESULT body.
    pub fn decode(r: &mut Reader, version: ProtocolVersion) -> DecodeResult<Self> {
        Ok(match r.read_int("result.kind")? {
            kind::VOID => Self::Void,
            kind::ROWS => Self::Rows(Rows::decode(r, version)?),
            kind::SET_KEYSPACE => Self::SetKeyspace(SetKeyspace::decode(r)?),
            kind::PREPARED => Self::Prepared(Box::new(Prepared::decode(r, version)?)),
            kind::SCHEMA_CHANGE => Self::SchemaChange(SchemaChange::decode(r, version)?),
            other => Self::Other {
                kind: other,
                body: r.read_raw(r.remaining(), "result.body")?,
            },
        })
    }

    /// Encodes a RESULT body.
    pub fn encode(&self, buf: &mut BytesMut, version: ProtocolVersion) -> EncodeResult<()> {
        buf.put_i32(self.kind());
        match self {
            Self::Void => Ok(()),
            Self::Rows(rows) => rows.encode(buf, version),
            Self::SetKeyspace(ks) => ks.encode(buf),
            Self::Prepared(p) => p.encode(buf, version),
            Self::SchemaChange(c) => c.encode(buf, version),
            Self::Other { body, .. } => {
                buf.put_slice(body);
                Ok(())
            }
        }
    }
}
