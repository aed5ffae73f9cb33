//! Whether a target table can receive a source table's rows as they are.
//!
//! The rule is strict where a difference would lose or corrupt data, and
//! lenient where it cannot:
//!
//! - the partition key and clustering columns must be the same columns in
//!   the same order with the same types (they decide where rows live);
//! - every source column must exist on the target, with the same role
//!   (static stays static) and the same CQL type (`text` = `varchar`;
//!   frozen and non-frozen differ); a target UDT may have extra trailing
//!   fields (a serialized value with fewer fields is still valid);
//! - extra target columns and a different clustering *order* are only
//!   reported as warnings: the copy leaves the extra columns null, and
//!   order changes nothing about the rows.

use super::{ColumnDef, ColumnKind, CqlType, TableSchema};
use crate::error::CopyError;

/// Checks that `target` can receive `source`'s rows; returns warnings
/// about harmless differences.
///
/// ```
/// use ferry_copier::schema::{check_compatible, ColumnDef, ColumnKind, CqlType, NativeType, TableSchema};
/// let col = |name: &str, kind, ty| ColumnDef { name: name.into(), kind, ty: CqlType::Native(ty) };
/// let source = TableSchema::new("ks", "t", vec![
///     col("k", ColumnKind::PartitionKey, NativeType::Int),
///     col("v", ColumnKind::Regular, NativeType::Text),
/// ]);
/// let mut target = source.clone();
/// assert!(check_compatible(&source, &target).unwrap().is_empty());
/// target.regulars[0].ty = CqlType::Native(NativeType::Blob);
/// let err = check_compatible(&source, &target).unwrap_err().to_string();
/// assert_eq!(err, "column \"v\" of ks.t is text on the source but blob on the target");
/// ```
pub fn check_compatible(
    source: &TableSchema,
    target: &TableSchema,
) -> Result<Vec<String>, CopyError> {
    let ks = &source.keyspace;
    let table = &source.table;
    let key_mismatch = |message: String| CopyError::KeyMismatch {
        keyspace: ks.clone(),
        table: table.clone(),
        message,
    };
    let names = |cols: &[ColumnDef]| {
        cols.iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut warnings = Vec::new();

    for (what, s, t) in [
        (
            "partition key",
            &source.partition_key,
            &target.partition_key,
        ),
        ("clustering columns", &source.clustering, &target.clustering),
    ] {
        let same_names =
            s.len() == t.len() && s.iter().zip(t.iter()).all(|(a, b)| a.name == b.name);
        if !same_names {
            return Err(key_mismatch(format!(
                "the {what} differs: ({}) on the source, ({}) on the target",
                names(s),
                names(t)
            )));
        }
    }

    for column in source.columns() {
        let Some(other) = target.column(&column.name) else {
            return Err(CopyError::MissingColumn {
                keyspace: ks.clone(),
                table: table.clone(),
                column: column.name.clone(),
            });
        };
        if !types_compatible(&column.ty, &other.ty) {
            return Err(CopyError::TypeMismatch {
                keyspace: ks.clone(),
                table: table.clone(),
                column: column.name.clone(),
                source_type: column.ty.to_string(),
                target_type: other.ty.to_string(),
            });
        }
        match (column.kind, other.kind) {
            (
                ColumnKind::Clustering { descending: a },
                ColumnKind::Clustering { descending: b },
            ) => {
                if a != b {
                    warnings.push(format!(
                        "{ks}.{table}: clustering column {:?} is {} on the source but {} on the target (rows are the same; only their order on disk differs)",
                        column.name,
                        if a { "DESC" } else { "ASC" },
                        if b { "DESC" } else { "ASC" },
                    ));
                }
            }
            (a, b) if a == b => {}
            (a, b) => {
                return Err(key_mismatch(format!(
                    "column {:?} is a {} column on the source but a {} column on the target",
                    column.name,
                    a.describe(),
                    b.describe()
                )))
            }
        }
    }
    let extra: Vec<&str> = target
        .columns()
        .filter(|c| source.column(&c.name).is_none())
        .map(|c| c.name.as_str())
        .collect();
    if !extra.is_empty() {
        warnings.push(format!(
            "{ks}.{table}: the target has columns that are not copied ({}); the copy does not write them (new rows leave them null)",
            extra.join(", ")
        ));
    }
    Ok(warnings)
}

/// Whether values of `source` can be written as they are into `target`.
fn types_compatible(source: &CqlType, target: &CqlType) -> bool {
    match (source, target) {
        (
            CqlType::Udt {
                name: sn,
                fields: sf,
                frozen: sz,
                ..
            },
            CqlType::Udt {
                name: tn,
                fields: tf,
                frozen: tz,
                ..
            },
        ) => {
            sn == tn
                && sz == tz
                && sf.len() <= tf.len()
                && sf
                    .iter()
                    .zip(tf)
                    .all(|((a, at), (b, bt))| a == b && types_compatible(at, bt))
        }
        (
            CqlType::List {
                element: a,
                frozen: x,
            },
            CqlType::List {
                element: b,
                frozen: y,
            },
        )
        | (
            CqlType::Set {
                element: a,
                frozen: x,
            },
            CqlType::Set {
                element: b,
                frozen: y,
            },
        ) => x == y && types_compatible(a, b),
        (
            CqlType::Map {
                key: ak,
                value: av,
                frozen: x,
            },
            CqlType::Map {
                key: bk,
                value: bv,
                frozen: y,
            },
        ) => x == y && types_compatible(ak, bk) && types_compatible(av, bv),
        (CqlType::Tuple(a), CqlType::Tuple(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| types_compatible(x, y))
        }
        (a, b) => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::NativeType;

    fn col(name: &str, kind: ColumnKind, ty: CqlType) -> ColumnDef {
        ColumnDef {
            name: name.into(),
            kind,
            ty,
        }
    }

    fn int() -> CqlType {
        CqlType::Native(NativeType::Int)
    }

    fn base() -> TableSchema {
        TableSchema::new(
            "ks",
            "t",
            vec![
                col("k", ColumnKind::PartitionKey, int()),
                col("c", ColumnKind::Clustering { descending: false }, int()),
                col("s", ColumnKind::Static, int()),
                col("v", ColumnKind::Regular, int()),
            ],
        )
    }

    fn udt(fields: &[&str]) -> CqlType {
        CqlType::Udt {
            keyspace: "ks".into(),
            name: "u".into(),
            fields: fields.iter().map(|f| ((*f).to_owned(), int())).collect(),
            frozen: true,
        }
    }

    #[test]
    fn identical_tables_are_compatible() {
        assert_eq!(
            check_compatible(&base(), &base()).unwrap(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn missing_column_is_named() {
        let mut target = base();
        target.regulars.clear();
        let e = check_compatible(&base(), &target).unwrap_err();
        assert!(
            matches!(e, CopyError::MissingColumn { ref column, .. } if column == "v"),
            "{e}"
        );
        assert!(e.to_string().contains("ks.t"));
    }

    #[test]
    fn key_differences_are_errors() {
        let mut target = base();
        target.clustering[0].name = "c2".into();
        let e = check_compatible(&base(), &target).unwrap_err().to_string();
        assert!(
            e.contains("clustering columns differs") && e.contains("(c)") && e.contains("(c2)"),
            "{e}"
        );

        let mut target = base();
        target.statics[0].kind = ColumnKind::Regular;
        let e = check_compatible(&base(), &target).unwrap_err().to_string();
        assert!(
            e.contains("\"s\" is a static column on the source but a regular"),
            "{e}"
        );

        let mut target = base();
        target.partition_key[0].ty = CqlType::Native(NativeType::Bigint);
        let e = check_compatible(&base(), &target).unwrap_err().to_string();
        assert!(e.contains("int on the source but bigint"), "{e}");
    }

    #[test]
    fn harmless_differences_are_warnings() {
        let mut target = base();
        target.clustering[0].kind = ColumnKind::Clustering { descending: true };
        target
            .regulars
            .push(col("extra", ColumnKind::Regular, int()));
        let warnings = check_compatible(&base(), &target).unwrap();
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("DESC"));
        assert!(warnings[1].contains("extra"));
    }

    #[test]
    fn frozen_and_udt_rules() {
        let list = |frozen| CqlType::List {
            element: Box::new(int()),
            frozen,
        };
        assert!(types_compatible(&list(false), &list(false)));
        assert!(!types_compatible(&list(false), &list(true)));
        assert!(types_compatible(&udt(&["a"]), &udt(&["a", "b"])));
        assert!(!types_compatible(&udt(&["a", "b"]), &udt(&["a"])));
        assert!(!types_compatible(&udt(&["a"]), &udt(&["b"])));
        let nested = |u| CqlType::Map {
            key: Box::new(int()),
            value: Box::new(u),
            frozen: false,
        };
        assert!(types_compatible(
            &nested(udt(&["a"])),
            &nested(udt(&["a", "b"]))
        ));
    }
}
