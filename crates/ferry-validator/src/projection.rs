//! The columns a validation reads, the statements that read them, and rows
//! read with them.
//!
//! Every statement of one table selects the same cells in the same order:
//! partition key, clustering columns, static columns, regular columns, then
//! `WRITETIME()` and `TTL()` of the single-cell value columns (when asked
//! for), and last `token(partition key)`. A row read by a range scan and
//! the same row read again by its primary key therefore line up cell by
//! cell.

use bytes::{Bytes, BytesMut};
use ferry_conn::token::{serialize_partition_key, Partitioner, Token};
use ferry_wire::response::Rows;
use ferry_wire::types::ColumnType;

use crate::error::{Side, ValidateError};
use crate::position::PartitionPosition;
use crate::schema::{quote, ColumnDef, TableSchema};

/// A static or regular column and where its cells are in a row.
#[derive(Debug, Clone)]
pub(crate) struct ValueColumn {
    pub(crate) def: ColumnDef,
    /// Index of its value.
    pub(crate) index: usize,
    /// Index of its `WRITETIME()`, if selected.
    pub(crate) writetime: Option<usize>,
    /// Index of its `TTL()`, if selected.
    pub(crate) ttl: Option<usize>,
}

/// What is selected from one table, and how to read it back.
#[derive(Debug, Clone)]
pub(crate) struct Projection {
    pub(crate) table: TableSchema,
    pub(crate) partitioner: Partitioner,
    selectors: Vec<String>,
    /// Type of each selected cell.
    pub(crate) types: Vec<ColumnType>,
    pub(crate) pk_len: usize,
    pub(crate) ck_len: usize,
    pub(crate) statics: Vec<ValueColumn>,
    pub(crate) regular: Vec<ValueColumn>,
    token_index: usize,
}

/// One row as read: its partition's position and its cells (in projection
/// order, `None` = null).
///
/// The cells are ranges of one shared buffer (the page the row came in)
/// rather than a [`Bytes`] handle each: every handle costs two atomic
/// reference-count updates on the page buffer, which was a quarter of the
/// validator's CPU per row. A row kept for later is [`detach`](Self::detach)ed.
#[derive(Debug, Clone)]
pub(crate) struct ScanRow {
    pub(crate) position: PartitionPosition,
    data: Bytes,
    /// `(start, end)` of each cell in `data`; `None` for null.
    spans: Vec<Option<(u32, u32)>>,
}

impl PartialEq for ScanRow {
    fn eq(&self, other: &Self) -> bool {
        self.position == other.position
            && self.width() == other.width()
            && (0..self.width()).all(|i| self.cell(i) == other.cell(i))
    }
}

impl Eq for ScanRow {}

impl ScanRow {
    /// A row of `cells`, copied into one buffer of its own.
    #[cfg(test)]
    pub(crate) fn new(position: PartitionPosition, cells: &[Option<Bytes>]) -> ScanRow {
        Self::copied(position, cells.iter().map(|c| c.as_deref()))
    }

    fn copied<'c>(
        position: PartitionPosition,
        cells: impl ExactSizeIterator<Item = Option<&'c [u8]>> + Clone,
    ) -> ScanRow {
        let total: usize = position.key.len()
            + cells
                .clone()
                .map(|c| c.map_or(0, <[u8]>::len))
                .sum::<usize>();
        let mut buf = BytesMut::with_capacity(total);
        buf.extend_from_slice(&position.key);
        let mut spans = Vec::with_capacity(cells.len());
        for cell in cells {
            spans.push(cell.map(|c| {
                let start = buf.len();
                buf.extend_from_slice(c);
                // A row held in memory is far below 4 GiB (frames are
                // capped well under it).
                (start as u32, buf.len() as u32)
            }));
        }
        let data = buf.freeze();
        ScanRow {
            position: PartitionPosition::new(position.token, data.slice(0..position.key.len())),
            data,
            spans,
        }
    }

    /// Number of cells.
    pub(crate) fn width(&self) -> usize {
        self.spans.len()
    }

    /// Cell `index`: `None` past the last cell, `Some(None)` for null.
    pub(crate) fn cell(&self, index: usize) -> Option<Option<&[u8]>> {
        let span = self.spans.get(index)?;
        Some(span.and_then(|(a, b)| self.data.get(a as usize..b as usize)))
    }

    /// The value of cell `index` (`None` for null or past the last cell).
    pub(crate) fn value(&self, index: usize) -> Option<&[u8]> {
        self.cell(index).flatten()
    }

    /// The value of cell `index` as its own handle on the buffer.
    pub(crate) fn value_bytes(&self, index: usize) -> Option<Bytes> {
        let (a, b) = (*self.spans.get(index)?)?;
        let (a, b) = (a as usize, b as usize);
        (b <= self.data.len() && a <= b).then(|| self.data.slice(a..b))
    }

    /// Cells `range` as handles (for statements that bind them).
    pub(crate) fn values_bytes(&self, range: std::ops::Range<usize>) -> Vec<Option<Bytes>> {
        range
            .filter(|i| *i < self.width())
            .map(|i| self.value_bytes(i))
            .collect()
    }

    /// The same row in freshly allocated memory: a row read from a page
    /// shares the page's buffer, which a row kept for later (a difference
    /// to re-check, a row waiting for its match) must not pin.
    pub(crate) fn detach(&self) -> ScanRow {
        Self::copied(
            self.position.clone(),
            (0..self.width()).map(|i| self.value(i)),
        )
    }
}

impl Projection {
    /// The projection of `table` (whose partitioner is `partitioner`),
    /// with `WRITETIME()`/`TTL()` of the single-cell value columns when
    /// `cell_metadata` is set.
    pub(crate) fn new(table: TableSchema, partitioner: Partitioner, cell_metadata: bool) -> Self {
        let mut selectors = Vec::new();
        let mut types = Vec::new();
        for c in table.primary_key() {
            selectors.push(quote(&c.name));
            types.push(c.ty.to_column_type());
        }
        let value_column = |c: &ColumnDef, selectors: &mut Vec<String>, types: &mut Vec<_>| {
            selectors.push(quote(&c.name));
            types.push(c.ty.to_column_type());
            ValueColumn {
                def: c.clone(),
                index: selectors.len() - 1,
                writetime: None,
                ttl: None,
            }
        };
        let mut statics: Vec<ValueColumn> = table
            .statics
            .iter()
            .map(|c| value_column(c, &mut selectors, &mut types))
            .collect();
        let mut regular: Vec<ValueColumn> = table
            .regulars
            .iter()
            .map(|c| value_column(c, &mut selectors, &mut types))
            .collect();
        if cell_metadata {
            for v in statics.iter_mut().chain(regular.iter_mut()) {
                if !v.def.has_cell_metadata() {
                    continue;
                }
                let name = quote(&v.def.name);
                selectors.push(format!("WRITETIME({name})"));
                types.push(ColumnType::Bigint);
                v.writetime = Some(selectors.len() - 1);
                selectors.push(format!("TTL({name})"));
                types.push(ColumnType::Int);
                v.ttl = Some(selectors.len() - 1);
            }
        }
        selectors.push(format!("token({})", Self::key_list(&table)));
        types.push(match partitioner {
            Partitioner::Murmur3 => ColumnType::Bigint,
            Partitioner::Random => ColumnType::Varint,
        });
        Self {
            pk_len: table.partition_key.len(),
            ck_len: table.clustering.len(),
            token_index: selectors.len() - 1,
            table,
            partitioner,
            selectors,
            types,
            statics,
            regular,
        }
    }

    fn key_list(table: &TableSchema) -> String {
        table
            .partition_key
            .iter()
            .map(|c| quote(&c.name))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn select(&self) -> String {
        format!(
            "SELECT {} FROM {}",
            self.selectors.join(", "),
            self.table.cql_name()
        )
    }

    /// The range scan: `... WHERE token(pk) > ? AND token(pk) <= ?`.
    pub(crate) fn scan_cql(&self) -> String {
        let key = Self::key_list(&self.table);
        format!(
            "{} WHERE token({key}) > ? AND token({key}) <= ?",
            self.select()
        )
    }

    /// One row by its full primary key (partition key then clustering
    /// columns bound in order).
    pub(crate) fn row_cql(&self) -> String {
        let restrictions: Vec<String> = self
            .table
            .primary_key()
            .map(|c| format!("{} = ?", quote(&c.name)))
            .collect();
        format!("{} WHERE {}", self.select(), restrictions.join(" AND "))
    }

    /// The first row of a partition (partition key bound): its static
    /// columns.
    pub(crate) fn partition_cql(&self) -> String {
        let restrictions: Vec<String> = self
            .table
            .partition_key
            .iter()
            .map(|c| format!("{} = ?", quote(&c.name)))
            .collect();
        format!(
            "{} WHERE {} LIMIT 1",
            self.select(),
            restrictions.join(" AND ")
        )
    }

    /// Number of selected cells.
    pub(crate) fn width(&self) -> usize {
        self.selectors.len()
    }

    /// The partition key cells of `row`.
    pub(crate) fn pk(&self, row: &ScanRow) -> Vec<Option<Bytes>> {
        row.values_bytes(0..self.pk_len)
    }

    /// The primary key cells of `row` (partition key, clustering).
    pub(crate) fn primary_key(&self, row: &ScanRow) -> Vec<Option<Bytes>> {
        row.values_bytes(0..self.pk_len + self.ck_len)
    }

    /// The clustering cells of `row`, as a key.
    pub(crate) fn ck(&self, row: &ScanRow) -> Vec<Option<Bytes>> {
        row.values_bytes(self.pk_len..self.pk_len + self.ck_len)
    }

    /// Whether two rows have the same clustering cells (without copying
    /// them).
    pub(crate) fn same_ck(&self, a: &ScanRow, b: &ScanRow) -> bool {
        (self.pk_len..self.pk_len + self.ck_len).all(|i| a.cell(i) == b.cell(i))
    }

    /// Whether `row` is the row a partition with static columns but no
    /// clustering rows is returned as (every clustering column null).
    pub(crate) fn is_static_only(&self, row: &ScanRow) -> bool {
        self.ck_len > 0 && (self.pk_len..self.pk_len + self.ck_len).all(|i| row.value(i).is_none())
    }

    /// Names of the selected cells, for messages.
    pub(crate) fn selector(&self, index: usize) -> &str {
        self.selectors.get(index).map_or("?", String::as_str)
    }

    /// A row from its cells (ranges of `data`), as sent by `side`.
    fn row(
        &self,
        side: Side,
        data: &Bytes,
        spans: Vec<Option<(u32, u32)>>,
    ) -> Result<ScanRow, ValidateError> {
        let protocol = |message: String| ValidateError::Protocol { side, message };
        if spans.len() != self.width() {
            return Err(protocol(format!(
                "rows have {} cells, {} were selected",
                spans.len(),
                self.width()
            )));
        }
        let cell = |i: usize| {
            spans
                .get(i)
                .copied()
                .flatten()
                .and_then(|(a, b)| data.get(a as usize..b as usize))
        };
        let token_cell =
            cell(self.token_index).ok_or_else(|| protocol("a row without a token".into()))?;
        let token = Token::from_cql_bytes(self.partitioner, token_cell)?;
        let mut components = Vec::with_capacity(self.pk_len);
        for (i, column) in self.table.partition_key.iter().enumerate() {
            components.push(cell(i).ok_or_else(|| {
                protocol(format!("partition key column {} is null", column.name))
            })?);
        }
        let key = match (components.as_slice(), spans.first().copied().flatten()) {
            ([_], Some((a, b))) => data.slice(a as usize..b as usize),
            _ => Bytes::from(serialize_partition_key(&components)?),
        };
        Ok(ScanRow {
            position: PartitionPosition::new(token, key),
            data: data.clone(),
            spans,
        })
    }

    /// The rows of a result.
    pub(crate) fn rows(&self, side: Side, rows: &Rows) -> Result<Vec<ScanRow>, ValidateError> {
        let data = rows.raw_content();
        let base = data.as_ptr() as usize;
        let mut out = Vec::with_capacity(rows.row_count());
        for view in rows.rows() {
            let view = view.map_err(|e| ValidateError::Protocol {
                side,
                message: e.to_string(),
            })?;
            // Each cell's place in the page: its slice's offset from the
            // start of the content it borrows from.
            let mut spans = Vec::with_capacity(self.width());
            for cell in view.raw_cells() {
                spans.push(match cell {
                    None => None,
                    Some(c) => {
                        let start = (c.as_ptr() as usize)
                            .checked_sub(base)
                            .filter(|s| s + c.len() <= data.len())
                            .ok_or_else(|| ValidateError::Protocol {
                                side,
                                message: "a cell outside its page".into(),
                            })?;
                        Some((start as u32, (start + c.len()) as u32))
                    }
                });
            }
            out.push(self.row(side, data, spans)?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::ColumnKind;
    use ferry_conn::schema::{CqlType, NativeType};

    fn col(name: &str, ty: NativeType, kind: ColumnKind) -> ColumnDef {
        ColumnDef {
            name: name.into(),
            ty: CqlType::Native(ty),
            kind,
        }
    }

    fn table() -> TableSchema {
        TableSchema {
            keyspace: "ks".into(),
            table: "t".into(),
            partition_key: vec![
                col("a", NativeType::Int, ColumnKind::PartitionKey),
                col("B", NativeType::Text, ColumnKind::PartitionKey),
            ],
            clustering: vec![col(
                "c",
                NativeType::Int,
                ColumnKind::Clustering { descending: false },
            )],
            statics: vec![col("s", NativeType::Int, ColumnKind::Static)],
            regulars: vec![
                col("v", NativeType::Text, ColumnKind::Regular),
                ColumnDef {
                    name: "l".into(),
                    ty: CqlType::List {
                        element: Box::new(CqlType::Native(NativeType::Int)),
                        frozen: false,
                    },
                    kind: ColumnKind::Regular,
                },
            ],
        }
    }

    #[test]
    fn statements_select_the_same_cells_in_the_same_order() {
        let p = Projection::new(table(), Partitioner::Murmur3, true);
        let select = r#"SELECT "a", "B", "c", "s", "v", "l", WRITETIME("s"), TTL("s"), WRITETIME("v"), TTL("v"), token("a", "B") FROM "ks"."t""#;
        assert_eq!(
            p.scan_cql(),
            format!(r#"{select} WHERE token("a", "B") > ? AND token("a", "B") <= ?"#)
        );
        assert_eq!(
            p.row_cql(),
            format!(r#"{select} WHERE "a" = ? AND "B" = ? AND "c" = ?"#)
        );
        assert_eq!(
            p.partition_cql(),
            format!(r#"{select} WHERE "a" = ? AND "B" = ? LIMIT 1"#)
        );
        assert_eq!(p.width(), 11);
        assert_eq!(p.statics[0].writetime, Some(6));
        assert_eq!(p.regular[1].writetime, None, "no WRITETIME of a list");
        let plain = Projection::new(table(), Partitioner::Murmur3, false);
        assert_eq!(plain.width(), 7);
    }

    /// A page of `rows` as a server would send it.
    fn page(width: usize, rows: &[Vec<Option<Bytes>>]) -> Rows {
        let mut b = ferry_wire::response::RowsBuilder::new(
            ferry_wire::response::RowsMetadata::without_columns(width),
        );
        for row in rows {
            b.push_row(row.iter().map(|c| c.as_deref())).unwrap();
        }
        b.build()
    }

    #[test]
    fn rows_carry_token_and_composite_key() {
        let p = Projection::new(table(), Partitioner::Murmur3, false);
        let cell = |b: &[u8]| Some(Bytes::copy_from_slice(b));
        let mut cells = vec![cell(&[0, 0, 0, 1]), cell(b"x"), None, None, None, None];
        cells.push(cell(&(-7i64).to_be_bytes()));
        let mut second = vec![cell(&[0, 0, 0, 2]), cell(b""), cell(&[0, 0, 0, 3]), None];
        second.extend([cell(b"v"), None, cell(&(9i64).to_be_bytes())]);
        let rows = p
            .rows(Side::Source, &page(7, &[cells.clone(), second.clone()]))
            .unwrap();
        let row = &rows[0];
        assert_eq!(row.position.token, Token::murmur3(-7));
        assert_eq!(&row.position.key[..], &[0, 4, 0, 0, 0, 1, 0, 0, 1, b'x', 0]);
        assert!(p.is_static_only(row));
        let detached = row.detach();
        assert_eq!(&detached, row);
        // Every cell is where the page has it, nulls and empty values apart.
        for (row, cells) in rows.iter().zip([&cells, &second]) {
            assert_eq!(row.width(), 7);
            for (i, c) in cells.iter().enumerate() {
                assert_eq!(row.value(i), c.as_deref(), "cell {i}");
                assert_eq!(row.value_bytes(i).as_deref(), c.as_deref(), "cell {i}");
            }
            assert_eq!(row.cell(7), None, "past the last cell");
        }
        assert_eq!(rows[1].value(1), Some(&b""[..]), "empty, not null");
        assert!(!p.is_static_only(&rows[1]));
        assert!(!p.same_ck(&rows[0], &rows[1]));
        assert_eq!(p.ck(&rows[1]), vec![cell(&[0, 0, 0, 3])]);
        assert_eq!(p.primary_key(&rows[1]).len(), 3);

        let mut no_token = vec![cell(&[0, 0, 0, 1]), cell(b"x"), None, None, None, None];
        no_token.push(None);
        assert!(p.rows(Side::Target, &page(7, &[no_token])).is_err());
        assert!(p.rows(Side::Target, &page(1, &[vec![None]])).is_err());
    }
}
