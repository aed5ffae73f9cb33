//! Comparing two versions of a row, column by column.

use std::sync::Arc;

use bytes::Bytes;
use ferry_wire::types::{ColumnType, CqlValue};
use ferry_wire::ProtocolVersion;

use crate::equality::{values_equal, Equality};
use crate::error::{Side, ValidateError};
use crate::projection::{Projection, ScanRow, ValueColumn};

/// What part of a cell differs.
///
/// ```
/// use ferry_validator::Aspect;
/// assert_eq!(serde_json::to_string(&Aspect::Ttl).unwrap(), "\"ttl\"");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aspect {
    /// The value.
    Value,
    /// `WRITETIME()`, the cell's write timestamp in microseconds.
    Writetime,
    /// `TTL()`, the seconds the cell has left to live.
    Ttl,
}

/// What to compare besides values, and how.
///
/// ```
/// use ferry_validator::CompareOptions;
/// let o = CompareOptions::default();
/// assert!(!o.writetime && !o.ttl);
/// assert_eq!(o.ttl_tolerance_secs, 5);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompareOptions {
    /// Compare `WRITETIME()` of single-cell value columns (exactly).
    pub writetime: bool,
    /// Compare `TTL()` of single-cell value columns.
    pub ttl: bool,
    /// TTLs count as equal when they differ by at most this many seconds
    /// (the two clusters are read a moment apart, and a copy made a while
    /// ago was written with the TTL left at the time).
    pub ttl_tolerance_secs: u32,
    /// How values are compared.
    pub equality: Equality,
}

impl Default for CompareOptions {
    fn default() -> Self {
        Self {
            writetime: false,
            ttl: false,
            ttl_tolerance_secs: 5,
            equality: Equality::default(),
        }
    }
}

impl CompareOptions {
    /// Whether `WRITETIME()`/`TTL()` must be read to compare.
    pub fn needs_cell_metadata(&self) -> bool {
        self.writetime || self.ttl
    }
}

/// One differing aspect of one column, with both sides' values (`None`:
/// null or absent).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ColumnDiff {
    pub(crate) column: String,
    pub(crate) aspect: Aspect,
    pub(crate) source: Option<CqlValue>,
    pub(crate) target: Option<CqlValue>,
}

/// Which value columns a comparison covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Regular columns (a clustering row).
    Regular,
    /// Static columns (once per partition).
    Static,
}

/// Compares rows read with one [`Projection`].
#[derive(Debug, Clone)]
pub(crate) struct RowComparator {
    pub(crate) projection: Arc<Projection>,
    pub(crate) options: CompareOptions,
    pub(crate) versions: [ProtocolVersion; 2],
}

impl RowComparator {
    pub(crate) fn new(
        projection: Arc<Projection>,
        options: CompareOptions,
        source_version: ProtocolVersion,
        target_version: ProtocolVersion,
    ) -> Self {
        Self {
            projection,
            options,
            versions: [source_version, target_version],
        }
    }

    fn version(&self, side: Side) -> ProtocolVersion {
        match side {
            Side::Source => self.versions[0],
            Side::Target => self.versions[1],
        }
    }

    /// Decodes cell `index` of `row` from `side`.
    pub(crate) fn decode(
        &self,
        side: Side,
        row: &ScanRow,
        index: usize,
    ) -> Result<Option<CqlValue>, ValidateError> {
        let ty = self
            .projection
            .types
            .get(index)
            .unwrap_or(&ColumnType::Blob);
        let cell = row.value_bytes(index);
        decode(ty, cell.as_ref(), self.version(side)).map_err(|source| ValidateError::Decode {
            side,
            column: self.projection.selector(index).to_owned(),
            source,
        })
    }

    fn columns(&self, scope: Scope) -> &[ValueColumn] {
        match scope {
            Scope::Regular => &self.projection.regular,
            Scope::Static => &self.projection.statics,
        }
    }

    /// The differing aspects of the `scope` columns of two versions of a
    /// row; empty when they are the same.
    pub(crate) fn diff(
        &self,
        scope: Scope,
        source: &ScanRow,
        target: &ScanRow,
    ) -> Result<Vec<ColumnDiff>, ValidateError> {
        let mut diffs = Vec::new();
        for column in self.columns(scope) {
            self.diff_column(column, source, target, &mut diffs)?;
        }
        Ok(diffs)
    }

    fn diff_column(
        &self,
        column: &ValueColumn,
        source: &ScanRow,
        target: &ScanRow,
        out: &mut Vec<ColumnDiff>,
    ) -> Result<(), ValidateError> {
        let name = &column.def.name;
        if !same_cell(source, target, column.index) {
            let s = self.decode(Side::Source, source, column.index)?;
            let t = self.decode(Side::Target, target, column.index)?;
            let equal = match (&s, &t) {
                (None, None) => true,
                (Some(a), Some(b)) => values_equal(a, b, self.options.equality),
                _ => false,
            };
            if !equal {
                out.push(ColumnDiff {
                    column: name.clone(),
                    aspect: Aspect::Value,
                    source: s,
                    target: t,
                });
            }
        }
        if let (true, Some(index)) = (self.options.writetime, column.writetime) {
            if !same_cell(source, target, index) {
                out.push(ColumnDiff {
                    column: name.clone(),
                    aspect: Aspect::Writetime,
                    source: self.decode(Side::Source, source, index)?,
                    target: self.decode(Side::Target, target, index)?,
                });
            }
        }
        if let (true, Some(index)) = (self.options.ttl, column.ttl) {
            if !same_cell(source, target, index) {
                let s = self.decode(Side::Source, source, index)?;
                let t = self.decode(Side::Target, target, index)?;
                let tolerance = i64::from(self.options.ttl_tolerance_secs);
                let within = match (
                    s.as_ref().and_then(CqlValue::as_i64),
                    t.as_ref().and_then(CqlValue::as_i64),
                ) {
                    (None, None) => true,
                    (Some(a), Some(b)) => (a - b).abs() <= tolerance,
                    _ => false,
                };
                if !within {
                    out.push(ColumnDiff {
                        column: name.clone(),
                        aspect: Aspect::Ttl,
                        source: s,
                        target: t,
                    });
                }
            }
        }
        Ok(())
    }
}

/// Whether cell `index` has the same bytes (or is null) in both rows: then
/// it is equal under every rule, with no decoding.
fn same_cell(a: &ScanRow, b: &ScanRow, index: usize) -> bool {
    a.cell(index) == b.cell(index)
}

fn decode(
    ty: &ColumnType,
    cell: Option<&Bytes>,
    version: ProtocolVersion,
) -> ferry_wire::DecodeResult<Option<CqlValue>> {
    ferry_wire::types::decode_cell(ty, cell, version)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::position::PartitionPosition;
    use crate::schema::{ColumnDef, ColumnKind, TableSchema};
    use ferry_conn::schema::{CqlType, NativeType};
    use ferry_conn::token::{Partitioner, Token};

    fn projection(metadata: bool) -> Arc<Projection> {
        let col = |name: &str, ty: CqlType, kind| ColumnDef {
            name: name.into(),
            ty,
            kind,
        };
        let table = TableSchema {
            keyspace: "ks".into(),
            table: "t".into(),
            partition_key: vec![col(
                "k",
                CqlType::Native(NativeType::Int),
                ColumnKind::PartitionKey,
            )],
            clustering: vec![],
            statics: vec![],
            regulars: vec![
                col(
                    "d",
                    CqlType::Native(NativeType::Double),
                    ColumnKind::Regular,
                ),
                col(
                    "s",
                    CqlType::Set {
                        element: Box::new(CqlType::Native(NativeType::Int)),
                        frozen: false,
                    },
                    ColumnKind::Regular,
                ),
            ],
        };
        Arc::new(Projection::new(table, Partitioner::Murmur3, metadata))
    }

    fn enc(v: &CqlValue, ty: &ColumnType) -> Option<Bytes> {
        let mut buf = bytes::BytesMut::new();
        v.encode(ty, &mut buf, ProtocolVersion::V3).unwrap();
        Some(buf.freeze())
    }

    fn row(cells: Vec<Option<Bytes>>) -> ScanRow {
        ScanRow::new(
            PartitionPosition::new(Token::murmur3(0), Bytes::from_static(&[0, 0, 0, 1])),
            &cells,
        )
    }

    #[test]
    fn differing_columns_are_named_with_both_values() {
        let p = projection(false);
        let c = RowComparator::new(
            p.clone(),
            CompareOptions::default(),
            ProtocolVersion::V3,
            ProtocolVersion::V3,
        );
        let set_ty = ColumnType::Set(Box::new(ColumnType::Int));
        let set = |v: &[i32]| CqlValue::Set(v.iter().map(|&i| Some(CqlValue::Int(i))).collect());
        let key = Some(Bytes::from_static(&[0, 0, 0, 1]));
        let token = Some(Bytes::copy_from_slice(&0i64.to_be_bytes()));
        let a = row(vec![
            key.clone(),
            enc(&CqlValue::Double(1.5), &ColumnType::Double),
            enc(&set(&[1, 2]), &set_ty),
            token.clone(),
        ]);
        // Same set serialized in another order: equal; NaN vs 1.5: differs.
        let b = row(vec![
            key.clone(),
            enc(&CqlValue::Double(f64::NAN), &ColumnType::Double),
            enc(&set(&[2, 1]), &set_ty),
            token.clone(),
        ]);
        let diffs = c.diff(Scope::Regular, &a, &b).unwrap();
        assert_eq!(diffs.len(), 1);
        assert_eq!(diffs[0].column, "d");
        assert_eq!(diffs[0].aspect, Aspect::Value);
        assert_eq!(diffs[0].source, Some(CqlValue::Double(1.5)));
        let null = row(vec![key, None, enc(&set(&[1, 2]), &set_ty), token]);
        let diffs = c.diff(Scope::Regular, &a, &null).unwrap();
        assert_eq!(diffs[0].target, None);
        assert!(c.diff(Scope::Regular, &a, &a).unwrap().is_empty());
        assert!(c.diff(Scope::Static, &a, &b).unwrap().is_empty());
    }

    #[test]
    fn ttl_within_tolerance_and_exact_writetime() {
        let p = projection(true);
        let options = CompareOptions {
            writetime: true,
            ttl: true,
            ttl_tolerance_secs: 3,
            ..CompareOptions::default()
        };
        let c = RowComparator::new(p.clone(), options, ProtocolVersion::V3, ProtocolVersion::V3);
        assert_eq!(p.width(), 6, "k, d, s, WRITETIME(d), TTL(d), token");
        let mk = |wt: i64, ttl: Option<i32>| {
            row(vec![
                Some(Bytes::from_static(&[0, 0, 0, 1])),
                enc(&CqlValue::Double(1.0), &ColumnType::Double),
                None,
                enc(&CqlValue::Bigint(wt), &ColumnType::Bigint),
                ttl.and_then(|t| enc(&CqlValue::Int(t), &ColumnType::Int)),
                Some(Bytes::copy_from_slice(&0i64.to_be_bytes())),
            ])
        };
        assert!(c
            .diff(Scope::Regular, &mk(10, Some(100)), &mk(10, Some(97)))
            .unwrap()
            .is_empty());
        let d = c
            .diff(Scope::Regular, &mk(10, Some(100)), &mk(10, Some(96)))
            .unwrap();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].aspect, Aspect::Ttl);
        let d = c
            .diff(Scope::Regular, &mk(10, None), &mk(11, Some(100)))
            .unwrap();
        assert_eq!(
            d.iter().map(|d| d.aspect).collect::<Vec<_>>(),
            [Aspect::Writetime, Aspect::Ttl]
        );
    }
}
