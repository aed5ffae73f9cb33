//! The Rows result: metadata, then `<rows_count>` rows of `<columns_count>`
//! `[bytes]` cells each.
//!
//! Decoding is zero-copy: [`Rows`] keeps the cell region as one [`Bytes`]
//! slice of the received frame and hands out cells as slices of it. Decode
//! walks every cell length once, so a truncated or inconsistent result is
//! an error at decode time rather than halfway through a caller's loop; the
//! walk is a plain loop over the byte slice, with no allocation.

use bytes::{BufMut, Bytes, BytesMut};

use super::metadata::{ColumnSpec, RowsMetadata};
use crate::error::{DecodeError, DecodeErrorKind, DecodeResult, EncodeError, EncodeResult};
use crate::reader::Reader;
use crate::response::put_count;
use crate::types::{decode_cell_in, CqlValue};
use crate::version::ProtocolVersion;

const CELL_FIELD: &str = "result.rows.cell";

/// Why a walk over cells stopped early: the cell's start and how many more
/// bytes it needed.
struct CellOverrun {
    cell_start: usize,
    needed: usize,
}

/// Walks `count` `[bytes]` cells of `data` from `pos`; returns the position
/// after the last one. A negative length is a null cell with no content.
///
/// This is the hot loop of Rows decoding: it only narrows a slice, so the
/// compiler keeps one bounds check per cell length and per cell body.
#[inline]
fn skip_cells(data: &[u8], pos: usize, count: usize) -> Result<usize, CellOverrun> {
    let mut rest = data.get(pos..).unwrap_or_default();
    for _ in 0..count {
        let Some((prefix, tail)) = rest.split_first_chunk::<4>() else {
            return Err(CellOverrun {
                cell_start: data.len() - rest.len(),
                needed: 4 - rest.len(),
            });
        };
        let len = i32::from_be_bytes(*prefix);
        rest = tail;
        if len > 0 {
            match rest.get(len as usize..) {
                Some(after) => rest = after,
                None => {
                    return Err(CellOverrun {
                        cell_start: data.len() - rest.len() - 4,
                        needed: len as usize - rest.len(),
                    })
                }
            }
        }
    }
    Ok(data.len() - rest.len())
}

/// Reads the cell at `pos` (already validated by [`skip_cells`]): returns
/// the content range (`None` for null) and the position after it. `None`
/// overall means the bytes were not what validation saw, which cannot
/// happen for a [`Rows`] built through this module; callers then stop.
#[inline]
fn next_cell(data: &[u8], pos: usize) -> Option<(Option<(usize, usize)>, usize)> {
    let &[a, b, c, d] = data.get(pos..pos.checked_add(4)?)? else {
        return None;
    };
    let start = pos + 4;
    let len = i32::from_be_bytes([a, b, c, d]);
    if len < 0 {
        return Some((None, start));
    }
    let end = start.checked_add(len as usize)?;
    if end > data.len() {
        return None;
    }
    Some((Some((start, end)), end))
}

/// A Rows result, decoded without copying the cells.
///
/// ```
/// use ferry_wire::response::{ColumnSpec, Rows, RowsBuilder, RowsMetadata};
/// use ferry_wire::{ProtocolVersion, Reader, types::ColumnType};
///
/// let meta = RowsMetadata::with_columns(None, vec![
///     ColumnSpec::new("ks", "t", "k", ColumnType::Int),
///     ColumnSpec::new("ks", "t", "v", ColumnType::Varchar),
/// ]);
/// let mut builder = RowsBuilder::new(meta);
/// builder.push_row([Some(&[0, 0, 0, 1][..]), Some(b"one")]).unwrap();
/// builder.push_row([Some(&[0, 0, 0, 2][..]), None]).unwrap();
/// let rows = builder.build();
///
/// let mut buf = bytes::BytesMut::new();
/// rows.encode(&mut buf, ProtocolVersion::V4).unwrap();
/// let decoded = Rows::decode(&mut Reader::new(buf.freeze()), ProtocolVersion::V4).unwrap();
/// assert_eq!(decoded.row_count(), 2);
/// let second = decoded.rows().nth(1).unwrap().unwrap();
/// let cells: Vec<_> = second.cells().collect();
/// assert_eq!(cells[0].as_deref(), Some(&[0, 0, 0, 2][..]));
/// assert_eq!(cells[1], None); // null
/// ```
#[derive(Debug, Clone)]
pub struct Rows {
    metadata: RowsMetadata,
    row_count: usize,
    /// Exactly the `<rows_content>` bytes.
    content: Bytes,
    /// Offset of `content` in the decoded buffer, for error offsets.
    content_offset: usize,
}

impl PartialEq for Rows {
    /// Equal when they encode the same; where they were decoded from does
    /// not matter.
    fn eq(&self, other: &Self) -> bool {
        self.metadata == other.metadata
            && self.row_count == other.row_count
            && self.content == other.content
    }
}

impl Eq for Rows {}

impl Rows {
    /// Decodes a Rows result (after the result kind), validating every
    /// cell's bounds once.
    pub fn decode(r: &mut Reader, version: ProtocolVersion) -> DecodeResult<Self> {
        let metadata = RowsMetadata::decode(r, version)?;
        let row_count = r.read_length("result.rows.row_count")?;
        let content_offset = r.offset();
        let rest = r.rest();
        let len = validate_content(&rest, row_count, metadata.column_count, content_offset)?;
        let content = r.read_raw(len, "result.rows.content")?;
        Ok(Self {
            metadata,
            row_count,
            content,
            content_offset,
        })
    }

    /// A Rows result from already-encoded cells (`rows_count` ×
    /// `metadata.column_count` `[bytes]`), validated like a decode; `content`
    /// must hold exactly those cells.
    pub fn from_raw(
        metadata: RowsMetadata,
        row_count: usize,
        content: Bytes,
    ) -> DecodeResult<Self> {
        let len = validate_content(&content, row_count, metadata.column_count, 0)?;
        if len != content.len() {
            return Err(DecodeError::new(
                "result.rows.content",
                len,
                DecodeErrorKind::TrailingBytes(content.len() - len),
            ));
        }
        Ok(Self {
            metadata,
            row_count,
            content,
            content_offset: 0,
        })
    }

    /// Encodes the result (after the result kind): the metadata, the row
    /// count, then the cells exactly as held.
    pub fn encode(&self, buf: &mut BytesMut, version: ProtocolVersion) -> EncodeResult<()> {
        self.metadata.encode(buf, version)?;
        put_count(buf, self.row_count, "result.rows.row_count")?;
        buf.put_slice(&self.content);
        Ok(())
    }

    /// The result-set metadata.
    pub fn metadata(&self) -> &RowsMetadata {
        &self.metadata
    }

    /// Number of rows.
    pub fn row_count(&self) -> usize {
        self.row_count
    }

    /// Number of cells in each row.
    pub fn column_count(&self) -> usize {
        self.metadata.column_count
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.row_count == 0
    }

    /// The raw `<rows_content>` bytes.
    pub fn raw_content(&self) -> &Bytes {
        &self.content
    }

    /// Iterates over the rows. Each item is a [`DecodeResult`]: a malformed
    /// row (only possible if the bytes changed since validation) yields one
    /// error with its offset and ends the iteration.
    pub fn rows(&self) -> RowIter<'_> {
        RowIter {
            content: &self.content,
            pos: 0,
            rows_left: self.row_count,
            column_count: self.metadata.column_count,
            base_offset: self.content_offset,
        }
    }

    /// Splits into metadata, row count and raw content.
    pub fn into_parts(self) -> (RowsMetadata, usize, Bytes) {
        (self.metadata, self.row_count, self.content)
    }
}

/// Checks that `data` starts with `rows × columns` well-formed cells and
/// returns their total length.
fn validate_content(data: &[u8], rows: usize, columns: usize, base: usize) -> DecodeResult<usize> {
    let cells = rows.checked_mul(columns).ok_or_else(|| {
        DecodeError::new(
            "result.rows.row_count",
            base,
            DecodeErrorKind::Invalid(format!(
                "{rows} rows of {columns} columns is too many cells"
            )),
        )
    })?;
    // Every cell has at least its 4-byte length: reject an impossible count
    // before walking.
    if cells > data.len() / 4 {
        return Err(DecodeError::new(
            CELL_FIELD,
            base + data.len(),
            DecodeErrorKind::Truncated {
                needed: cells.saturating_mul(4).saturating_sub(data.len()).max(1),
            },
        ));
    }
    skip_cells(data, 0, cells).map_err(|e| overrun_error(e, base))
}

fn overrun_error(e: CellOverrun, base: usize) -> DecodeError {
    DecodeError::new(
        CELL_FIELD,
        base + e.cell_start,
        DecodeErrorKind::Truncated {
            needed: e.needed.max(1),
        },
    )
}

/// Iterator over the rows of a [`Rows`]; see [`Rows::rows`].
///
/// ```
/// use ferry_wire::response::{RowsBuilder, RowsMetadata};
/// let mut b = RowsBuilder::new(RowsMetadata::without_columns(1));
/// b.push_row([None]).unwrap();
/// b.push_row([Some(&b"x"[..])]).unwrap();
/// assert_eq!(b.build().rows().filter_map(Result::ok).count(), 2);
/// ```
#[derive(Debug, Clone)]
pub struct RowIter<'a> {
    content: &'a Bytes,
    pos: usize,
    rows_left: usize,
    column_count: usize,
    base_offset: usize,
}

impl<'a> Iterator for RowIter<'a> {
    type Item = DecodeResult<RowView<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rows_left == 0 {
            return None;
        }
        self.rows_left -= 1;
        let start = self.pos;
        match skip_cells(self.content, start, self.column_count) {
            Ok(end) => {
                self.pos = end;
                Some(Ok(RowView {
                    content: self.content,
                    start,
                    end,
                    column_count: self.column_count,
                    base_offset: self.base_offset,
                }))
            }
            Err(e) => {
                self.rows_left = 0;
                Some(Err(overrun_error(e, self.base_offset)))
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.rows_left))
    }
}

/// One row of a [`Rows`], borrowing its cells from the frame.
///
/// ```
/// use ferry_wire::response::{RowsBuilder, RowsMetadata};
/// let mut b = RowsBuilder::new(RowsMetadata::without_columns(2));
/// b.push_row([Some(&b"a"[..]), None]).unwrap();
/// let rows = b.build();
/// for row in rows.rows() {
///     let row = row.unwrap();
///     let cells: Vec<Option<&[u8]>> = row.raw_cells().collect();
///     assert_eq!(cells, [Some(&b"a"[..]), None]);
///     assert_eq!(row.cells().len(), 2);
/// }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct RowView<'a> {
    content: &'a Bytes,
    start: usize,
    end: usize,
    column_count: usize,
    /// Offset of `content` in the decoded buffer, for error offsets.
    base_offset: usize,
}

impl<'a> RowView<'a> {
    /// Number of cells.
    pub fn len(&self) -> usize {
        self.column_count
    }

    /// Whether the row has no cells.
    pub fn is_empty(&self) -> bool {
        self.column_count == 0
    }

    /// The row's raw bytes (its `[bytes]` cells back to back).
    pub fn as_bytes(&self) -> &'a [u8] {
        self.content.get(self.start..self.end).unwrap_or_default()
    }

    /// The cells as [`Bytes`] slices of the frame (`None` for null): no copy,
    /// one reference-count increment per non-empty cell.
    pub fn cells(&self) -> Cells<'a> {
        Cells {
            raw: self.raw_cells(),
        }
    }

    /// The cells as borrowed byte slices (`None` for null): the cheapest
    /// way to read them.
    pub fn raw_cells(&self) -> RawCells<'a> {
        RawCells {
            data: self.content,
            pos: self.start,
            end: self.end,
            left: self.column_count,
        }
    }

    /// Decodes every cell into a [`CqlValue`] (`None` for null), typed by
    /// `columns` (the result's column specs, or the prepared statement's
    /// when the server skipped metadata).
    ///
    /// The fast way to get typed values: cells are decoded in place in the
    /// frame (see [`decode_cell_in`]) instead of going through
    /// [`RowView::cells`], whose per-cell [`Bytes`] handles cost two atomic
    /// operations each. Errors: `columns` not matching the row width
    /// (`Invalid`), or a cell that is not a valid value of its type, with
    /// the offset of the bad byte in the decoded buffer.
    ///
    /// ```
    /// use ferry_wire::response::{ColumnSpec, RowsBuilder, RowsMetadata};
    /// use ferry_wire::types::{ColumnType, CqlValue};
    /// use ferry_wire::ProtocolVersion;
    /// let columns = vec![
    ///     ColumnSpec::new("ks", "t", "k", ColumnType::Int),
    ///     ColumnSpec::new("ks", "t", "v", ColumnType::Varchar),
    /// ];
    /// let mut b = RowsBuilder::new(RowsMetadata::with_columns(None, columns.clone()));
    /// b.push_row([Some(&[0, 0, 0, 7][..]), None]).unwrap();
    /// let rows = b.build();
    /// let row = rows.rows().next().unwrap().unwrap();
    /// let values = row.values(&columns, ProtocolVersion::V4).unwrap();
    /// assert_eq!(values, [Some(CqlValue::Int(7)), None]);
    /// assert!(row.values(&columns[..1], ProtocolVersion::V4).is_err());
    /// ```
    pub fn values(
        &self,
        columns: &[ColumnSpec],
        version: ProtocolVersion,
    ) -> DecodeResult<Vec<Option<CqlValue>>> {
        if columns.len() != self.column_count {
            return Err(DecodeError::new(
                "result.rows.columns",
                self.base_offset + self.start,
                DecodeErrorKind::Invalid(format!(
                    "{} column specs for rows of {} cells",
                    columns.len(),
                    self.column_count
                )),
            ));
        }
        let mut out = Vec::with_capacity(self.column_count);
        let mut cells = self.raw_cells();
        for column in columns {
            // The row was validated when it was cut, so a missing cell
            // means the iterator stopped on bytes it could not read.
            let range = cells.next_range().ok_or_else(|| {
                DecodeError::new(
                    CELL_FIELD,
                    self.base_offset + cells.pos,
                    DecodeErrorKind::Truncated { needed: 1 },
                )
            })?;
            out.push(match range {
                None => None,
                Some((s, e)) => Some(
                    decode_cell_in(&column.column_type, self.content, s..e, version)
                        .map_err(|err| err.shifted(self.base_offset))?,
                ),
            });
        }
        Ok(out)
    }
}

/// Iterator over a row's cells as borrowed slices; see [`RowView::raw_cells`].
///
/// ```
/// use ferry_wire::response::{RowsBuilder, RowsMetadata};
/// let mut b = RowsBuilder::new(RowsMetadata::without_columns(1));
/// b.push_row([Some(&b"x"[..])]).unwrap();
/// let rows = b.build();
/// let row = rows.rows().next().unwrap().unwrap();
/// assert_eq!(row.raw_cells().next(), Some(Some(&b"x"[..])));
/// ```
#[derive(Debug, Clone)]
pub struct RawCells<'a> {
    data: &'a Bytes,
    pos: usize,
    end: usize,
    left: usize,
}

impl<'a> RawCells<'a> {
    /// Next cell as a content range into `data`.
    #[inline]
    fn next_range(&mut self) -> Option<Option<(usize, usize)>> {
        if self.left == 0 {
            return None;
        }
        let row: &[u8] = self.data.get(..self.end)?;
        match next_cell(row, self.pos) {
            Some((range, next)) => {
                self.left -= 1;
                self.pos = next;
                Some(range)
            }
            None => {
                self.left = 0;
                None
            }
        }
    }
}

impl<'a> Iterator for RawCells<'a> {
    type Item = Option<&'a [u8]>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let data: &'a Bytes = self.data;
        self.next_range()
            .map(|range| range.and_then(|(s, e)| data.get(s..e)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for RawCells<'_> {}

/// Iterator over a row's cells as [`Bytes`]; see [`RowView::cells`].
///
/// ```
/// use ferry_wire::response::{RowsBuilder, RowsMetadata};
/// let mut b = RowsBuilder::new(RowsMetadata::without_columns(1));
/// b.push_row([None]).unwrap();
/// let rows = b.build();
/// let row = rows.rows().next().unwrap().unwrap();
/// assert_eq!(row.cells().next(), Some(None)); // a null cell
/// ```
#[derive(Debug, Clone)]
pub struct Cells<'a> {
    raw: RawCells<'a>,
}

impl Iterator for Cells<'_> {
    type Item = Option<Bytes>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let data = self.raw.data;
        self.raw.next_range().map(|range| {
            range.and_then(|(s, e)| {
                // The range was checked against `data` by `next_cell`; the
                // `get` keeps `slice` from ever panicking.
                data.get(s..e).map(|_| data.slice(s..e))
            })
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.raw.size_hint()
    }
}

impl ExactSizeIterator for Cells<'_> {}

/// Builds a [`Rows`] result row by row.
///
/// ```
/// use ferry_wire::response::{RowsBuilder, RowsMetadata};
/// let mut b = RowsBuilder::new(RowsMetadata::without_columns(1));
/// b.push_row([Some(&b"x"[..])]).unwrap();
/// assert!(b.push_row([None, None]).is_err()); // wrong cell count
/// assert_eq!(b.build().row_count(), 1);
/// ```
#[derive(Debug, Clone)]
pub struct RowsBuilder {
    metadata: RowsMetadata,
    row_count: usize,
    content: BytesMut,
}

impl RowsBuilder {
    /// An empty result with `metadata` (its `column_count` is the row width).
    pub fn new(metadata: RowsMetadata) -> Self {
        Self {
            metadata,
            row_count: 0,
            content: BytesMut::new(),
        }
    }

    /// Appends a row; `None` cells are null. Fails, adding nothing, if the
    /// row does not have `column_count` cells or a cell is too long.
    pub fn push_row<'c, I>(&mut self, cells: I) -> EncodeResult<()>
    where
        I: IntoIterator<Item = Option<&'c [u8]>>,
    {
        let mark = self.content.len();
        let mut count = 0usize;
        for cell in cells {
            count += 1;
            let written = crate::writer::put_bytes(&mut self.content, cell, CELL_FIELD);
            if let Err(e) = written {
                self.content.truncate(mark);
                return Err(e);
            }
        }
        if count != self.metadata.column_count {
            self.content.truncate(mark);
            return Err(EncodeError::Invalid(format!(
                "row has {count} cells but the result has {} columns",
                self.metadata.column_count
            )));
        }
        self.row_count += 1;
        Ok(())
    }

    /// Number of rows pushed so far.
    pub fn row_count(&self) -> usize {
        self.row_count
    }

    /// The finished result.
    pub fn build(self) -> Rows {
        Rows {
            metadata: self.metadata,
            row_count: self.row_count,
            content: self.content.freeze(),
            content_offset: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{decode_cell, ColumnType};

    const V4: ProtocolVersion = ProtocolVersion::V4;

    fn columns() -> Vec<ColumnSpec> {
        [
            ColumnType::Int,
            ColumnType::Varchar,
            ColumnType::List(Box::new(ColumnType::Bigint)),
            ColumnType::Boolean,
            ColumnType::Uuid,
        ]
        .into_iter()
        .enumerate()
        .map(|(i, ty)| ColumnSpec::new("ks", "t", format!("c{i}"), ty))
        .collect()
    }

    /// Encodes `rows` as a Rows result and decodes it back, so the cells
    /// sit at a non-zero offset of a larger buffer.
    fn decoded(rows: &[[Option<Vec<u8>>; 5]]) -> (Rows, usize) {
        let mut b = RowsBuilder::new(RowsMetadata::with_columns(None, columns()));
        for row in rows {
            b.push_row(row.iter().map(|c| c.as_deref())).unwrap();
        }
        let mut buf = BytesMut::new();
        b.build().encode(&mut buf, V4).unwrap();
        let len = buf.len();
        let rows = Rows::decode(&mut Reader::new(buf.freeze()), V4).unwrap();
        let content_offset = len - rows.raw_content().len();
        (rows, content_offset)
    }

    fn list_of_bigints(values: &[i64]) -> Vec<u8> {
        let mut out = (values.len() as i32).to_be_bytes().to_vec();
        for v in values {
            out.extend_from_slice(&8i32.to_be_bytes());
            out.extend_from_slice(&v.to_be_bytes());
        }
        out
    }

    #[test]
    fn values_agree_with_decoding_each_cell() {
        let (rows, _) = decoded(&[
            [
                Some(7i32.to_be_bytes().to_vec()),
                Some(b"seven".to_vec()),
                Some(list_of_bigints(&[1, -2, 3])),
                Some(vec![2]),
                Some(vec![0xab; 16]),
            ],
            // Nulls, an empty int (the legacy "empty" value), empty text and list.
            [Some(vec![]), None, Some(list_of_bigints(&[])), None, None],
            [
                Some((-1i32).to_be_bytes().to_vec()),
                Some("é".as_bytes().to_vec()),
                None,
                Some(vec![0]),
                Some(vec![0; 16]),
            ],
        ]);
        let specs = columns();
        let mut seen = 0;
        for row in rows.rows() {
            let row = row.unwrap();
            let expected: Vec<_> = row
                .cells()
                .zip(&specs)
                .map(|(cell, spec)| decode_cell(&spec.column_type, cell.as_ref(), V4).unwrap())
                .collect();
            assert_eq!(row.values(&specs, V4).unwrap(), expected);
            seen += 1;
        }
        assert_eq!(seen, 3);
        let first = rows.rows().next().unwrap().unwrap();
        assert_eq!(first.values(&specs, V4).unwrap()[0], Some(CqlValue::Int(7)));
    }

    #[test]
    fn a_bad_value_is_reported_at_its_offset_in_the_buffer() {
        let good = [Some(1i32.to_be_bytes().to_vec()), None, None, None, None];
        // A 3-byte int in the second row.
        let mut bad = good.clone();
        bad[0] = Some(vec![0, 0, 1]);
        let (rows, content_offset) = decoded(&[good, bad]);
        let specs = columns();
        let mut it = rows.rows();
        it.next().unwrap().unwrap().values(&specs, V4).unwrap();
        let err = it.next().unwrap().unwrap().values(&specs, V4).unwrap_err();
        assert_eq!(err.field, "value.int");
        // First row: 4 + 4 bytes, then four nulls of 4 bytes; then the bad
        // cell's 4-byte length.
        assert_eq!(err.offset, content_offset + 8 + 4 * 4 + 4);
    }

    #[test]
    fn values_refuse_specs_of_the_wrong_width() {
        let (rows, _) = decoded(&[[None, None, None, None, None]]);
        let row = rows.rows().next().unwrap().unwrap();
        let specs = columns();
        assert!(row.values(&specs[..4], V4).is_err());
        let mut more = specs.clone();
        more.push(specs[0].clone());
        assert!(row.values(&more, V4).is_err());
    }
}
