//! The Prepared result: the statement id, (v5) the result metadata id, the
//! bind-marker metadata and the result-set metadata.

use bytes::{BufMut, Bytes, BytesMut};

use super::metadata::{
    decode_column_specs, encode_column_specs, ColumnSpec, RowsMetadata, TableSpec,
};
use crate::error::{DecodeErrorKind, DecodeResult, EncodeError, EncodeResult};
use crate::reader::Reader;
use crate::response::put_count;
use crate::version::ProtocolVersion;
use crate::writer::put_short_bytes;

/// The bind-marker metadata of a prepared statement (`<metadata>`).
///
/// In v4+ it is `<flags><columns_count><pk_count>[<pk_index>...]
/// [<global_table_spec>?<col_spec>...]`. In v2/v3 it has the layout of Rows
/// metadata and no partition-key indexes; Cassandra never sets
/// Has_more_pages or No_metadata there and this codec rejects them.
///
/// Global_tables_spec is not stored but follows from `global_table_spec`;
/// `extra_flags` keeps any other bit as received.
///
/// ```
/// use ferry_wire::response::{ColumnSpec, PreparedMetadata, TableSpec};
/// use ferry_wire::types::ColumnType;
/// let meta = PreparedMetadata::new(
///     Some(TableSpec::new("ks", "t")),
///     vec![ColumnSpec::new("ks", "t", "k", ColumnType::Int)],
///     vec![0],
/// );
/// assert_eq!(meta.pk_indexes, [0]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PreparedMetadata {
    /// Flag bits other than Global_tables_spec, as received.
    pub extra_flags: u32,
    /// v4+: for each partition-key column, in key order, the index of the
    /// bind marker that sets it. Empty when unknown (and always in v2/v3,
    /// where it is not sent).
    pub pk_indexes: Vec<u16>,
    /// The table all bind markers belong to, when sent once for all of them.
    pub global_table_spec: Option<TableSpec>,
    /// One spec per bind marker.
    pub columns: Vec<ColumnSpec>,
}

impl PreparedMetadata {
    /// Metadata from its parts (flags start empty).
    pub fn new(
        global_table_spec: Option<TableSpec>,
        columns: Vec<ColumnSpec>,
        pk_indexes: Vec<u16>,
    ) -> Self {
        Self {
            extra_flags: 0,
            pk_indexes,
            global_table_spec,
            columns,
        }
    }

    /// Decodes the bind-marker metadata.
    pub fn decode(r: &mut Reader, version: ProtocolVersion) -> DecodeResult<Self> {
        let flags_offset = r.offset();
        let flags = r.read_u32("result.prepared.flags")?;
        let column_count = r.read_length("result.prepared.column_count")?;
        let pk_indexes = if version >= ProtocolVersion::V4 {
            let pk_count = r.read_length("result.prepared.pk_count")?;
            let mut pk = Vec::with_capacity(pk_count.min(r.remaining() / 2));
            for _ in 0..pk_count {
                pk.push(r.read_short("result.prepared.pk_index")?);
            }
            pk
        } else {
            let unsupported = flags & (RowsMetadata::HAS_MORE_PAGES | RowsMetadata::NO_METADATA);
            if unsupported != 0 {
                return Err(crate::error::DecodeError::new(
                    "result.prepared.flags",
                    flags_offset,
                    DecodeErrorKind::Invalid(format!(
                        "bind-marker metadata with flags 0x{unsupported:x} (Has_more_pages/No_metadata) is not supported"
                    )),
                ));
            }
            Vec::new()
        };
        let global_table_spec = if flags & RowsMetadata::GLOBAL_TABLES_SPEC != 0 {
            Some(TableSpec::decode(r)?)
        } else {
            None
        };
        let columns = decode_column_specs(r, column_count, global_table_spec.as_ref())?;
        Ok(Self {
            extra_flags: flags & !RowsMetadata::GLOBAL_TABLES_SPEC,
            pk_indexes,
            global_table_spec,
            columns,
        })
    }

    /// Encodes the bind-marker metadata. `pk_indexes` are not written in
    /// v2/v3, which have no room for them.
    pub fn encode(&self, buf: &mut BytesMut, version: ProtocolVersion) -> EncodeResult<()> {
        let mut flags = self.extra_flags & !RowsMetadata::GLOBAL_TABLES_SPEC;
        if version < ProtocolVersion::V4 {
            // These bits would announce parts that bind metadata never has.
            flags &= !(RowsMetadata::HAS_MORE_PAGES | RowsMetadata::NO_METADATA);
        }
        if self.global_table_spec.is_some() {
            flags |= RowsMetadata::GLOBAL_TABLES_SPEC;
        }
        buf.put_u32(flags);
        put_count(buf, self.columns.len(), "result.prepared.column_count")?;
        if version >= ProtocolVersion::V4 {
            put_count(buf, self.pk_indexes.len(), "result.prepared.pk_count")?;
            for &i in &self.pk_indexes {
                buf.put_u16(i);
            }
        }
        if let Some(global) = &self.global_table_spec {
            global.encode(buf)?;
        }
        encode_column_specs(buf, &self.columns, self.global_table_spec.as_ref())
    }
}

/// The result of a PREPARE.
///
/// ```
/// use ferry_wire::response::{Prepared, PreparedMetadata, RowsMetadata};
/// use ferry_wire::{ProtocolVersion, Reader};
/// let p = Prepared {
///     id: bytes::Bytes::from_static(b"\x01\x02"),
///     result_metadata_id: None,
///     metadata: PreparedMetadata::default(),
///     result_metadata: RowsMetadata::without_columns(0),
/// };
/// let mut buf = bytes::BytesMut::new();
/// p.encode(&mut buf, ProtocolVersion::V4).unwrap();
/// assert_eq!(Prepared::decode(&mut Reader::new(buf.freeze()), ProtocolVersion::V4).unwrap(), p);
/// // v5 requires a result metadata id.
/// assert!(p.encode(&mut bytes::BytesMut::new(), ProtocolVersion::V5).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The prepared statement id, to send in EXECUTE.
    pub id: Bytes,
    /// v5 only (required there): id of the result metadata, to send in
    /// EXECUTE. Not written in earlier versions.
    pub result_metadata_id: Option<Bytes>,
    /// The bind markers.
    pub metadata: PreparedMetadata,
    /// The columns an execution returns (often No_metadata with 0 columns
    /// for statements that are not SELECTs).
    pub result_metadata: RowsMetadata,
}

impl Prepared {
    /// Decodes a Prepared result (after the result kind).
    pub fn decode(r: &mut Reader, version: ProtocolVersion) -> DecodeResult<Self> {
        let id = r.read_short_bytes("result.prepared.id")?;
        let result_metadata_id = if version >= ProtocolVersion::V5 {
            Some(r.read_short_bytes("result.prepared.result_metadata_id")?)
        } else {
            None
        };
        let metadata = PreparedMetadata::decode(r, version)?;
        let result_metadata = RowsMetadata::decode(r, version)?;
        Ok(Self {
            id,
            result_metadata_id,
            metadata,
            result_metadata,
        })
    }

    /// Encodes the result (after the result kind).
    pub fn encode(&self, buf: &mut BytesMut, version: ProtocolVersion) -> EncodeResult<()> {
        put_short_bytes(buf, &self.id, "result.prepared.id")?;
        if version >= ProtocolVersion::V5 {
            let id = self.result_metadata_id.as_ref().ok_or_else(|| {
                EncodeError::Invalid("a v5 Prepared result needs a result_metadata_id".into())
            })?;
            put_short_bytes(buf, id, "result.prepared.result_metadata_id")?;
        }
        self.metadata.encode(buf, version)?;
        self.result_metadata.encode(buf, version)
    }
}
