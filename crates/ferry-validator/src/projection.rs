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
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScanRow {
    pub(crate) position: PartitionPosition,
    pub(crate) cells: Vec<Option<Bytes>>,
}

impl ScanRow {
    /// The same row in freshly allocated memory: a row read from a page
    /// shares the page's buffer, which a row kept for later (a difference
    /// to re-check, a row waiting for its match) must not pin.
    pub(crate) fn detach(&self) -> ScanRow {
        let total: usize = self.position.key.len()
            + self
                .cells
                .iter()
                .map(|c| c.as_ref().map_or(0, Bytes::len))
                .sum::<usize>();
        let mut buf = BytesMut::with_capacity(total);
        buf.extend_from_slice(&self.position.key);
        let mut spans = Vec::with_capacity(self.cells.len());
        for cell in &self.cells {
            spans.push(cell.as_ref().map(|c| {
                let start = buf.len();
                buf.extend_from_slice(c);
                (start, buf.len())
            }));
        }
        let buf = buf.freeze();
        ScanRow {
            position: PartitionPosition::new(
                self.position.token,
                buf.slice(0..self.position.key.len()),
            ),
            cells: spans
                .into_iter()
                .map(|s| s.map(|(a, b)| buf.slice(a..b)))
                .collect(),
        }
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
    pub(crate) fn pk<'r>(&self, row: &'r ScanRow) -> &'r [Option<Bytes>] {
        row.cells.get(..self.pk_len).unwrap_or_default()
    }

    /// The clustering cells of `row`.
    pub(crate) fn ck<'r>(&self, row: &'r ScanRow) -> &'r [Option<Bytes>] {
        row.cells
            .get(self.pk_len..self.pk_len + self.ck_len)
            .unwrap_or_default()
    }

    /// Whether `row` is the row a partition with static columns but no
    /// clustering rows is returned as (every clustering column null).
    pub(crate) fn is_static_only(&self, row: &ScanRow) -> bool {
        self.ck_len > 0 && self.ck(row).iter().all(Option::is_none)
    }

    /// Names of the selected cells, for messages.
    pub(crate) fn selector(&self, index: usize) -> &str {
        self.selectors.get(index).map_or("?", String::as_str)
    }

    /// A row from its cells, as sent by `side`.
    pub(crate) fn row(
        &self,
        side: Side,
        cells: Vec<Option<Bytes>>,
    ) -> Result<ScanRow, ValidateError> {
        let protocol = |message: String| ValidateError::Protocol { side, message };
        if cells.len() != self.width() {
            return Err(protocol(format!(
                "rows have {} cells, {} were selected",
                cells.len(),
                self.width()
            )));
        }
        let token_cell = cells
            .get(self.token_index)
            .and_then(Option::as_ref)
            .ok_or_else(|| protocol("a row without a token".into()))?;
        let token = Token::from_cql_bytes(self.partitioner, token_cell)?;
        let key_cells = cells.get(..self.pk_len).unwrap_or_default();
        let mut components = Vec::with_capacity(key_cells.len());
        for (cell, column) in key_cells.iter().zip(&self.table.partition_key) {
            components.push(cell.clone().ok_or_else(|| {
                protocol(format!("partition key column {} is null", column.name))
            })?);
        }
        let key = match components.as_slice() {
            [single] => single.clone(),
            _ => Bytes::from(serialize_partition_key(&components)?),
        };
        Ok(ScanRow {
            position: PartitionPosition::new(token, key),
            cells,
        })
    }

    /// The rows of a result.
    pub(crate) fn rows(&self, side: Side, rows: &Rows) -> Result<Vec<ScanRow>, ValidateError> {
        let mut out = Vec::with_capacity(rows.row_count());
        for view in rows.rows() {
            let view = view.map_err(|e| ValidateError::Protocol {
                side,
                message: e.to_string(),
            })?;
            out.push(self.row(side, view.cells().collect())?);
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

    #[test]
    fn rows_carry_token_and_composite_key() {
        let p = Projection::new(table(), Partitioner::Murmur3, false);
        let cell = |b: &[u8]| Some(Bytes::copy_from_slice(b));
        let mut cells = vec![cell(&[0, 0, 0, 1]), cell(b"x"), None, None, None, None];
        cells.push(cell(&(-7i64).to_be_bytes()));
        let row = p.row(Side::Source, cells).unwrap();
        assert_eq!(row.position.token, Token::murmur3(-7));
        assert_eq!(&row.position.key[..], &[0, 4, 0, 0, 0, 1, 0, 0, 1, b'x', 0]);
        assert!(p.is_static_only(&row));
        let detached = row.detach();
        assert_eq!(detached, row);

        let mut no_token = vec![cell(&[0, 0, 0, 1]), cell(b"x"), None, None, None, None];
        no_token.push(None);
        assert!(p.row(Side::Target, no_token).is_err());
        assert!(p.row(Side::Target, vec![None]).is_err());
    }
}
