//! What the validator needs to know of a table, read with ferry-conn's
//! shared schema reader ([`ferry_conn::schema`], both schema layouts), and
//! the part of two tables' schemas a validation can compare.

use ferry_conn::schema::SchemaReader;
use ferry_conn::session::Session;

use crate::error::{Side, ValidateError};

pub use ferry_conn::schema::{quote, ColumnDef, ColumnKind, TableSchema};

/// The tables of `keyspace` on `side`, sorted by name.
pub(crate) async fn list_tables(
    session: &Session,
    side: Side,
    keyspace: &str,
) -> Result<Vec<String>, ValidateError> {
    SchemaReader::new(session)
        .tables(keyspace)
        .await
        .map_err(|source| ValidateError::SchemaRead { side, source })
}

/// The schema of `keyspace.table` on `side`.
pub(crate) async fn read_table_schema(
    session: &Session,
    side: Side,
    keyspace: &str,
    table: &str,
) -> Result<TableSchema, ValidateError> {
    SchemaReader::new(session)
        .table(keyspace, table)
        .await
        .map_err(|source| ValidateError::SchemaRead { side, source })
}

/// The schema both clusters share, and notes on what they do not share.
///
/// The primary keys must be identical (names, types, order): otherwise rows
/// cannot be matched and this is an error. Value columns present on only one
/// side, or with different types, are left out of the comparison and noted.
pub fn common_schema(
    source: &TableSchema,
    target: &TableSchema,
) -> Result<(TableSchema, Vec<String>), ValidateError> {
    let key = |s: &TableSchema| -> Vec<(String, String)> {
        s.primary_key()
            .map(|c| (c.name.clone(), c.ty.to_string()))
            .collect()
    };
    if key(source) != key(target) || source.partition_key.len() != target.partition_key.len() {
        return Err(ValidateError::Schema(format!(
            "{}: the primary keys differ (source {:?}, target {:?})",
            source.qualified_name(),
            key(source),
            key(target)
        )));
    }
    let mut notes = Vec::new();
    let mut common = source.clone();
    let keep = |columns: &[ColumnDef], notes: &mut Vec<String>| -> Vec<ColumnDef> {
        columns
            .iter()
            .filter(|c| {
                match target.value_columns().find(|t| t.name == c.name) {
                    None => {
                        notes.push(format!("column {} exists only on the source: not compared", c.name));
                        false
                    }
                    Some(t) if t.ty != c.ty || t.kind != c.kind => {
                        notes.push(format!(
                            "column {} is {} {} on the source but {} {} on the target: not compared",
                            c.name, c.kind.describe(), c.ty, t.kind.describe(), t.ty
                        ));
                        false
                    }
                    Some(_) => true,
                }
            })
            .cloned()
            .collect()
    };
    common.statics = keep(&source.statics, &mut notes);
    common.regulars = keep(&source.regulars, &mut notes);
    for t in target.value_columns() {
        if !source.value_columns().any(|s| s.name == t.name) {
            notes.push(format!(
                "column {} exists only on the target: not compared",
                t.name
            ));
        }
    }
    Ok((common, notes))
}
