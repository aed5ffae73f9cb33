//! Result-set metadata (`<metadata>` of a Rows result, `<result_metadata>`
//! of a Prepared result) and the column specifications it shares with the
//! bind-marker metadata of a Prepared result.

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{DecodeResult, EncodeError, EncodeResult};
use crate::reader::Reader;
use crate::response::put_count;
use crate::types::ColumnType;
use crate::version::ProtocolVersion;
use crate::writer::{put_bytes, put_short_bytes, put_string};

/// The keyspace and table a set of columns belongs to (`<global_table_spec>`,
/// or the `<ksname><tablename>` prefix of a column spec).
///
/// ```
/// use ferry_wire::response::TableSpec;
/// let spec = TableSpec::new("shop", "orders");
/// assert_eq!(spec.to_string(), "shop.orders");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TableSpec {
    /// Keyspace name.
    pub keyspace: String,
    /// Table name.
    pub table: String,
}

impl TableSpec {
    /// A table spec from its two names.
    pub fn new(keyspace: impl Into<String>, table: impl Into<String>) -> Self {
        Self {
            keyspace: keyspace.into(),
            table: table.into(),
        }
    }

    pub(crate) fn decode(r: &mut Reader) -> DecodeResult<Self> {
        let keyspace = r.read_string("result.metadata.keyspace")?;
        let table = r.read_string("result.metadata.table")?;
        Ok(Self { keyspace, table })
    }

    pub(crate) fn encode(&self, buf: &mut BytesMut) -> EncodeResult<()> {
        put_string(buf, &self.keyspace, "result.metadata.keyspace")?;
        put_string(buf, &self.table, "result.metadata.table")
    }
}

impl std::fmt::Display for TableSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.keyspace, self.table)
    }
}

/// One column of a result set, or one bind marker of a prepared statement
/// (`<col_spec_i>`).
///
/// The keyspace and table are always filled in, even when the message
/// carried them once in a global table spec, so callers never have to look
/// in two places.
///
/// ```
/// use ferry_wire::response::ColumnSpec;
/// use ferry_wire::types::ColumnType;
/// let col = ColumnSpec::new("shop", "orders", "id", ColumnType::Uuid);
/// assert_eq!(col.name, "id");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ColumnSpec {
    /// Keyspace of the column's table.
    pub keyspace: String,
    /// Table of the column.
    pub table: String,
    /// Column name, alias or bind-marker name.
    pub name: String,
    /// CQL type of the column's values.
    pub column_type: ColumnType,
}

impl ColumnSpec {
    /// A column spec from its parts.
    pub fn new(
        keyspace: impl Into<String>,
        table: impl Into<String>,
        name: impl Into<String>,
        column_type: ColumnType,
    ) -> Self {
        Self {
            keyspace: keyspace.into(),
            table: table.into(),
            name: name.into(),
            column_type,
        }
    }

    /// Whether the column belongs to `spec`'s table.
    pub fn is_in(&self, spec: &TableSpec) -> bool {
        self.keyspace == spec.keyspace && self.table == spec.table
    }
}

/// Decodes `count` column specs; `global` is the global table spec if the
/// message has one (then the specs carry no keyspace/table of their own).
pub(crate) fn decode_column_specs(
    r: &mut Reader,
    count: usize,
    global: Option<&TableSpec>,
) -> DecodeResult<Vec<ColumnSpec>> {
    // Each spec takes at least 4 bytes (an empty [string] name and a [short]
    // type id): capping by what is left keeps a hostile count from reserving
    // gigabytes, and the loop below fails once the bytes run out.
    let mut columns = Vec::with_capacity(count.min(r.remaining() / 4));
    for _ in 0..count {
        let (keyspace, table) = match global {
            Some(g) => (g.keyspace.clone(), g.table.clone()),
            None => (
                r.read_string("result.metadata.column_keyspace")?,
                r.read_string("result.metadata.column_table")?,
            ),
        };
        let name = r.read_string("result.metadata.column_name")?;
        let column_type = ColumnType::decode(r)?;
        columns.push(ColumnSpec {
            keyspace,
            table,
            name,
            column_type,
        });
    }
    Ok(columns)
}

/// Encodes column specs; with a global table spec every column must belong
/// to it, since the message has no room to say otherwise.
pub(crate) fn encode_column_specs(
    buf: &mut BytesMut,
    columns: &[ColumnSpec],
    global: Option<&TableSpec>,
) -> EncodeResult<()> {
    for col in columns {
        match global {
            Some(g) if !col.is_in(g) => {
                return Err(EncodeError::Invalid(format!(
                    "column `{}` belongs to {}.{} but the metadata uses the global table spec {g}",
                    col.name, col.keyspace, col.table
                )))
            }
            Some(_) => {}
            None => {
                put_string(buf, &col.keyspace, "result.metadata.column_keyspace")?;
                put_string(buf, &col.table, "result.metadata.column_table")?;
            }
        }
        put_string(buf, &col.name, "result.metadata.column_name")?;
        col.column_type.encode(buf)?;
    }
    Ok(())
}

/// The metadata of a result set: `<flags><columns_count>[<paging_state>]
/// [<new_metadata_id>][<global_table_spec>?<col_spec_1>...<col_spec_n>]`.
///
/// The flag bits that say which parts are present are not stored: they
/// follow from the fields (Global_tables_spec from `global_table_spec`,
/// No_metadata from `columns`, Has_more_pages from `paging_state`,
/// Metadata_changed from `new_metadata_id` in v5). `extra_flags` keeps every
/// other bit as received, plus the rare bits the fields cannot express
/// (Has_more_pages with a null paging state, Global_tables_spec alongside
/// No_metadata), so a decoded value re-encodes byte for byte and a built
/// value only needs its fields set.
///
/// ```
/// use ferry_wire::response::{ColumnSpec, RowsMetadata, TableSpec};
/// use ferry_wire::{ProtocolVersion, Reader, types::ColumnType};
/// let meta = RowsMetadata::with_columns(
///     Some(TableSpec::new("ks", "t")),
///     vec![ColumnSpec::new("ks", "t", "id", ColumnType::Int)],
/// );
/// let mut buf = bytes::BytesMut::new();
/// meta.encode(&mut buf, ProtocolVersion::V4).unwrap();
/// assert_eq!(&buf[..8], &[0, 0, 0, 1, 0, 0, 0, 1]); // Global_tables_spec, 1 column
/// let back = RowsMetadata::decode(&mut Reader::new(buf.freeze()), ProtocolVersion::V4).unwrap();
/// assert_eq!(back, meta);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RowsMetadata {
    /// Flag bits not implied by the other fields (see the type documentation).
    pub extra_flags: u32,
    /// Number of columns of every row. Equals `columns.len()` when the
    /// column specs are present.
    pub column_count: usize,
    /// Paging state to send back for the next page (Has_more_pages). `None`
    /// with the Has_more_pages bit in `extra_flags` is a null `[bytes]`.
    pub paging_state: Option<Bytes>,
    /// v5 only: the new result metadata id (Metadata_changed).
    pub new_metadata_id: Option<Bytes>,
    /// The table all columns belong to, when sent once for all of them.
    pub global_table_spec: Option<TableSpec>,
    /// Column specs; `None` when the server sent No_metadata.
    pub columns: Option<Vec<ColumnSpec>>,
}

impl RowsMetadata {
    /// Flag: one table spec for all columns.
    pub const GLOBAL_TABLES_SPEC: u32 = 0x0001;
    /// Flag: a paging state follows; more pages remain.
    pub const HAS_MORE_PAGES: u32 = 0x0002;
    /// Flag: no column specs (the client asked to skip metadata).
    pub const NO_METADATA: u32 = 0x0004;
    /// Flag (v5): the result metadata changed; a new metadata id follows.
    pub const METADATA_CHANGED: u32 = 0x0008;

    /// Metadata with column specs (and the global table spec if given).
    pub fn with_columns(global_table_spec: Option<TableSpec>, columns: Vec<ColumnSpec>) -> Self {
        Self {
            column_count: columns.len(),
            global_table_spec,
            columns: Some(columns),
            ..Self::default()
        }
    }

    /// No_metadata: only the number of columns.
    pub fn without_columns(column_count: usize) -> Self {
        Self {
            column_count,
            ..Self::default()
        }
    }

    /// Whether more pages remain (Has_more_pages).
    pub fn has_more_pages(&self) -> bool {
        self.extra_flags & Self::HAS_MORE_PAGES != 0 || self.paging_state.is_some()
    }

    /// Decodes the metadata.
    pub fn decode(r: &mut Reader, version: ProtocolVersion) -> DecodeResult<Self> {
        let flags = r.read_u32("result.metadata.flags")?;
        let column_count = r.read_length("result.metadata.column_count")?;
        let paging_state = if flags & Self::HAS_MORE_PAGES != 0 {
            r.read_bytes("result.metadata.paging_state")?
        } else {
            None
        };
        let new_metadata_id =
            if version >= ProtocolVersion::V5 && flags & Self::METADATA_CHANGED != 0 {
                Some(r.read_short_bytes("result.metadata.new_metadata_id")?)
            } else {
                None
            };
        let (global_table_spec, columns) = if flags & Self::NO_METADATA != 0 {
            (None, None)
        } else {
            let global = if flags & Self::GLOBAL_TABLES_SPEC != 0 {
                Some(TableSpec::decode(r)?)
            } else {
                None
            };
            let columns = decode_column_specs(r, column_count, global.as_ref())?;
            (global, Some(columns))
        };
        let mut extra_flags = flags & !Self::NO_METADATA;
        if paging_state.is_some() {
            extra_flags &= !Self::HAS_MORE_PAGES;
        }
        if new_metadata_id.is_some() {
            extra_flags &= !Self::METADATA_CHANGED;
        }
        if columns.is_some() {
            extra_flags &= !Self::GLOBAL_TABLES_SPEC;
        }
        Ok(Self {
            extra_flags,
            column_count,
            paging_state,
            new_metadata_id,
            global_table_spec,
            columns,
        })
    }

    /// The flags as they will be written for `version`.
    pub fn encoded_flags(&self, version: ProtocolVersion) -> u32 {
        let mut flags = self.extra_flags;
        if self.paging_state.is_some() {
            flags |= Self::HAS_MORE_PAGES;
        }
        if version >= ProtocolVersion::V5 {
            flags &= !Self::METADATA_CHANGED;
            if self.new_metadata_id.is_some() {
                flags |= Self::METADATA_CHANGED;
            }
        }
        match &self.columns {
            // With No_metadata the global bit describes nothing that is sent,
            // so it is kept as received.
            None => flags | Self::NO_METADATA,
            Some(_) => {
                flags &= !(Self::NO_METADATA | Self::GLOBAL_TABLES_SPEC);
                if self.global_table_spec.is_some() {
                    flags |= Self::GLOBAL_TABLES_SPEC;
                }
                flags
            }
        }
    }

    /// Encodes the metadata. Fails if `column_count` disagrees with the
    /// column specs, if a column is outside the global table spec, or if a
    /// global table spec is set without column specs.
    pub fn encode(&self, buf: &mut BytesMut, version: ProtocolVersion) -> EncodeResult<()> {
        if let Some(columns) = &self.columns {
            if columns.len() != self.column_count {
                return Err(EncodeError::Invalid(format!(
                    "rows metadata has column_count {} but {} column specs",
                    self.column_count,
                    columns.len()
                )));
            }
        } else if self.global_table_spec.is_some() {
            return Err(EncodeError::Invalid(
                "rows metadata has a global table spec but no column specs (No_metadata)".into(),
            ));
        }
        let flags = self.encoded_flags(version);
        buf.put_u32(flags);
        put_count(buf, self.column_count, "result.metadata.column_count")?;
        if flags & Self::HAS_MORE_PAGES != 0 {
            put_bytes(
                buf,
                self.paging_state.as_deref(),
                "result.metadata.paging_state",
            )?;
        }
        if version >= ProtocolVersion::V5 {
            if let Some(id) = &self.new_metadata_id {
                put_short_bytes(buf, id, "result.metadata.new_metadata_id")?;
            }
        }
        if let Some(columns) = &self.columns {
            if let Some(global) = &self.global_table_spec {
                global.encode(buf)?;
            }
            encode_column_specs(buf, columns, self.global_table_spec.as_ref())?;
        }
        Ok(())
    }
}
