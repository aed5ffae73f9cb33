//! Rows of a result: typed ([`Row`]) and a cursor that decodes them one at
//! a time from a page's bytes.

use std::sync::Arc;

use bytes::Bytes;
use ferry_wire::response::{ColumnSpec, Rows};
use ferry_wire::types::{decode_cell, CqlValue};
use ferry_wire::{DecodeError, DecodeErrorKind, DecodeResult, ProtocolVersion};

/// One row with its values decoded: `None` is a null cell.
///
/// The column specs are shared by every row of a result (an `Arc`).
///
/// ```
/// use std::sync::Arc;
/// use ferry_conn::session::Row;
/// use ferry_wire::response::ColumnSpec;
/// use ferry_wire::types::{ColumnType, CqlValue};
/// let columns: Arc<[ColumnSpec]> = vec![
///     ColumnSpec::new("ks", "t", "id", ColumnType::Int),
///     ColumnSpec::new("ks", "t", "name", ColumnType::Varchar),
/// ].into();
/// let row = Row::new(columns, vec![Some(CqlValue::Int(7)), None]);
/// assert_eq!(row.get(0), Some(&CqlValue::Int(7)));
/// assert_eq!(row.by_name("name"), None); // null
/// assert_eq!(row.index_of("name"), Some(1));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    columns: Arc<[ColumnSpec]>,
    values: Vec<Option<CqlValue>>,
}

impl Row {
    /// A row of `values`, one per column of `columns`.
    pub fn new(columns: Arc<[ColumnSpec]>, values: Vec<Option<CqlValue>>) -> Self {
        Self { columns, values }
    }

    /// The column specs.
    pub fn columns(&self) -> &[ColumnSpec] {
        &self.columns
    }

    /// The shared column specs.
    pub fn columns_arc(&self) -> &Arc<[ColumnSpec]> {
        &self.columns
    }

    /// The values, in column order.
    pub fn values(&self) -> &[Option<CqlValue>] {
        &self.values
    }

    /// The values, taken out of the row.
    pub fn into_values(self) -> Vec<Option<CqlValue>> {
        self.values
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the row has no values.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The value at `index`; `None` if it is null or out of range.
    pub fn get(&self, index: usize) -> Option<&CqlValue> {
        self.values.get(index).and_then(Option::as_ref)
    }

    /// Position of the first column named `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The value of the first column named `name`; `None` if it is null or
    /// there is no such column.
    pub fn by_name(&self, name: &str) -> Option<&CqlValue> {
        self.index_of(name).and_then(|i| self.get(i))
    }
}

/// Walks the cells of a [`Rows`] result row by row without borrowing it,
/// so a stream can hold it across polls. Decoding is lazy: a page costs its
/// raw bytes until its rows are taken.
#[derive(Debug, Clone)]
pub(crate) struct RowCursor {
    content: Bytes,
    pos: usize,
    rows_left: usize,
    columns: Arc<[ColumnSpec]>,
    version: ProtocolVersion,
}

const CELL_FIELD: &str = "result.rows.cell";

impl RowCursor {
    /// A cursor over `rows`, whose cells are typed by `columns` (which must
    /// have one spec per cell of a row).
    pub(crate) fn new(rows: Rows, columns: Arc<[ColumnSpec]>, version: ProtocolVersion) -> Self {
        let (_, row_count, content) = rows.into_parts();
        Self {
            content,
            pos: 0,
            rows_left: row_count,
            columns,
            version,
        }
    }

    /// Rows not yet taken.
    pub(crate) fn remaining(&self) -> usize {
        self.rows_left
    }

    /// The next row's cells as slices of the page (`None` for null).
    pub(crate) fn next_raw(&mut self) -> Option<DecodeResult<Vec<Option<Bytes>>>> {
        if self.rows_left == 0 {
            return None;
        }
        self.rows_left -= 1;
        let mut cells = Vec::with_capacity(self.columns.len());
        for _ in 0..self.columns.len() {
            match self.next_cell() {
                Ok(cell) => cells.push(cell),
                Err(e) => {
                    self.rows_left = 0;
                    return Some(Err(e));
                }
            }
        }
        Some(Ok(cells))
    }

    /// The next row, decoded.
    pub(crate) fn next_row(&mut self) -> Option<DecodeResult<Row>> {
        let cells = match self.next_raw()? {
            Ok(cells) => cells,
            Err(e) => return Some(Err(e)),
        };
        let decoded: DecodeResult<Vec<Option<CqlValue>>> = cells
            .iter()
            .zip(self.columns.iter())
            .map(|(cell, spec)| decode_cell(&spec.column_type, cell.as_ref(), self.version))
            .collect();
        Some(decoded.map(|values| Row::new(self.columns.clone(), values)))
    }

    /// One `[bytes]` cell.
    fn next_cell(&mut self) -> DecodeResult<Option<Bytes>> {
        let truncated = |at: usize, needed: usize| {
            DecodeError::new(
                CELL_FIELD,
                at,
                DecodeErrorKind::Truncated {
                    needed: needed.max(1),
                },
            )
        };
        let start = self.pos;
        let header = self
            .content
            .get(start..start.saturating_add(4))
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .ok_or_else(|| truncated(start, start + 4 - self.content.len().min(start + 4)))?;
        let len = i32::from_be_bytes(header);
        let body = start + 4;
        if len < 0 {
            self.pos = body;
            return Ok(None);
        }
        let end = body.saturating_add(len as usize);
        if end > self.content.len() {
            return Err(truncated(start, end - self.content.len()));
        }
        self.pos = end;
        Ok(Some(self.content.slice(body..end)))
    }
}

/// Every row of a result, decoded.
pub(crate) fn decode_all(
    rows: Rows,
    columns: Arc<[ColumnSpec]>,
    version: ProtocolVersion,
) -> DecodeResult<Vec<Row>> {
    let mut cursor = RowCursor::new(rows, columns, version);
    let mut out = Vec::with_capacity(cursor.remaining());
    while let Some(row) = cursor.next_row() {
        out.push(row?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_wire::response::{RowsBuilder, RowsMetadata};
    use ferry_wire::types::ColumnType;

    fn columns() -> Arc<[ColumnSpec]> {
        vec![
            ColumnSpec::new("ks", "t", "k", ColumnType::Int),
            ColumnSpec::new("ks", "t", "v", ColumnType::Varchar),
        ]
        .into()
    }

    #[test]
    fn cursor_decodes_rows_in_order_with_nulls() {
        let mut b = RowsBuilder::new(RowsMetadata::with_columns(None, columns().to_vec()));
        b.push_row([Some(&[0, 0, 0, 1][..]), Some(&b"one"[..])])
            .unwrap();
        b.push_row([Some(&[0, 0, 0, 2][..]), None]).unwrap();
        let rows = decode_all(b.build(), columns(), ProtocolVersion::V4).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].by_name("v"), Some(&CqlValue::from("one")));
        assert_eq!(rows[1].get(0), Some(&CqlValue::Int(2)));
        assert_eq!(rows[1].values()[1], None);
    }

    #[test]
    fn truncated_content_is_an_error_not_a_panic() {
        let rows = Rows::from_raw(RowsMetadata::without_columns(2), 0, Bytes::new()).unwrap();
        let mut cursor = RowCursor::new(rows, columns(), ProtocolVersion::V4);
        // Forge a cursor that believes in a row the bytes do not hold.
        cursor.rows_left = 1;
        cursor.content = Bytes::from_static(&[0, 0, 0, 9, 1]);
        assert!(cursor.next_row().unwrap().is_err());
        assert!(cursor.next_row().is_none());
    }
}
