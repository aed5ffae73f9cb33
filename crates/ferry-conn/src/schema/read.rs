//! Reading table schemas from a cluster's schema tables: `system_schema.*`
//! on Cassandra 3.0+, `system.schema_*` before. The layout is guessed from
//! the nodes' release version and the other one is tried when the guess is
//! wrong (a cluster in the middle of an upgrade, a proxy that hides the
//! version).

use std::collections::HashMap;

use ferry_wire::types::CqlValue;
use ferry_wire::Consistency;
use futures::TryStreamExt;

use super::{ColumnDef, ColumnKind, CqlType, SchemaError, TableSchema};
use crate::session::fields::{int, text, text_set};
use crate::session::schema::SchemaTables as Layout;
use crate::session::{QueryOptions, Row, Session, SessionError};

// The layout (which schema tables exist) is guessed as the session does it
// for partition keys; these are the reader's own queries on each layout.

fn keyspace_query(layout: Layout) -> &'static str {
    match layout {
        Layout::Modern => {
            "SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = ?"
        }
        Layout::Legacy => {
            "SELECT keyspace_name FROM system.schema_keyspaces WHERE keyspace_name = ?"
        }
    }
}

fn tables_query(layout: Layout) -> &'static str {
    match layout {
        Layout::Modern => "SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?",
        Layout::Legacy => {
            "SELECT columnfamily_name FROM system.schema_columnfamilies WHERE keyspace_name = ?"
        }
    }
}

fn columns_query(layout: Layout) -> &'static str {
    match layout {
        Layout::Modern => {
            "SELECT column_name, kind, position, type, clustering_order \
             FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ?"
        }
        Layout::Legacy => {
            "SELECT column_name, type, component_index, validator \
             FROM system.schema_columns WHERE keyspace_name = ? AND columnfamily_name = ?"
        }
    }
}

fn guess(session: &Session) -> Layout {
    let release = session
        .nodes()
        .first()
        .and_then(|n| n.release_version.clone());
    Layout::guess(release.as_deref())
}

/// Reads schemas from one cluster.
///
/// ```no_run
/// # async fn demo(session: &ferry_conn::session::Session) -> Result<(), ferry_conn::schema::SchemaError> {
/// use ferry_conn::schema::SchemaReader;
/// let reader = SchemaReader::new(session);
/// for table in reader.tables("shop").await? {
///     let schema = reader.table("shop", &table).await?;
///     println!("{}: {} columns", schema.qualified_name(), schema.columns().count());
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct SchemaReader<'a> {
    session: &'a Session,
}

impl<'a> SchemaReader<'a> {
    /// A reader of `session`'s schema.
    pub fn new(session: &'a Session) -> Self {
        Self { session }
    }

    /// Whether `keyspace` exists.
    pub async fn keyspace_exists(&self, keyspace: &str) -> Result<bool, SchemaError> {
        let rows = self.rows(keyspace_query, &[keyspace], "keyspaces").await?.1;
        Ok(!rows.is_empty())
    }

    /// The tables of `keyspace`, sorted by name; fails if the keyspace does
    /// not exist.
    pub async fn tables(&self, keyspace: &str) -> Result<Vec<String>, SchemaError> {
        if !self.keyspace_exists(keyspace).await? {
            return Err(SchemaError::UnknownKeyspace {
                keyspace: keyspace.to_owned(),
            });
        }
        let (layout, rows) = self.rows(tables_query, &[keyspace], "tables").await?;
        let column = match layout {
            Layout::Modern => "table_name",
            Layout::Legacy => "columnfamily_name",
        };
        let mut names: Vec<String> = rows.iter().filter_map(|r| text(r, column)).collect();
        names.sort();
        Ok(names)
    }

    /// The schema of `keyspace.table`; fails with
    /// [`SchemaError::UnknownTable`] (or `UnknownKeyspace`) if it does not
    /// exist.
    pub async fn table(&self, keyspace: &str, table: &str) -> Result<TableSchema, SchemaError> {
        let what = format!("{keyspace}.{table}");
        let (layout, rows) = self.rows(columns_query, &[keyspace, table], &what).await?;
        if rows.is_empty() {
            if !self.keyspace_exists(keyspace).await? {
                return Err(SchemaError::UnknownKeyspace {
                    keyspace: keyspace.to_owned(),
                });
            }
            return Err(SchemaError::UnknownTable {
                keyspace: keyspace.to_owned(),
                table: table.to_owned(),
            });
        }
        let bad = |message: String| SchemaError::Invalid {
            what: what.clone(),
            message,
        };
        let udts = match layout {
            Layout::Modern => self.user_types(keyspace).await?,
            Layout::Legacy => HashMap::new(),
        };
        let lookup = |name: &str| udts.get(name).cloned();
        let mut keyed: Vec<(i64, ColumnDef)> = Vec::new();
        for row in &rows {
            let name =
                text(row, "column_name").ok_or_else(|| bad("a column has no name".into()))?;
            let (kind_text, position, ty, descending) = match layout {
                Layout::Legacy => {
                    let validator = text(row, "validator")
                        .ok_or_else(|| bad(format!("column {name:?} has no validator")))?;
                    let (ty, reversed) = CqlType::parse_marshal(&validator).map_err(&bad)?;
                    (
                        text(row, "type").unwrap_or_default(),
                        int(row, "component_index").unwrap_or(0),
                        ty,
                        reversed,
                    )
                }
                Layout::Modern => {
                    let type_text = text(row, "type")
                        .ok_or_else(|| bad(format!("column {name:?} has no type")))?;
                    let ty = CqlType::parse_cql(&type_text, keyspace, &lookup).map_err(&bad)?;
                    let descending = text(row, "clustering_order")
                        .is_some_and(|o| o.eq_ignore_ascii_case("desc"));
                    (
                        text(row, "kind").unwrap_or_default(),
                        int(row, "position").unwrap_or(0),
                        ty,
                        descending,
                    )
                }
            };
            let kind = match kind_text.as_str() {
                "partition_key" => ColumnKind::PartitionKey,
                "clustering_key" | "clustering" => ColumnKind::Clustering { descending },
                "static" => ColumnKind::Static,
                // A COMPACT STORAGE table's value column is written like a
                // regular one. Thrift-era tables may have one without a name
                // (no CQL-visible value): nothing to copy there.
                "regular" | "compact_value" => {
                    if name.is_empty() {
                        continue;
                    }
                    ColumnKind::Regular
                }
                other => return Err(bad(format!("column {name:?} has unknown kind {other:?}"))),
            };
            keyed.push((position, ColumnDef { name, kind, ty }));
        }
        // Key columns by position; the rest keep any order (sorted by name
        // in TableSchema::new).
        keyed.sort_by_key(|(position, _)| *position);
        let schema = TableSchema::new(keyspace, table, keyed.into_iter().map(|(_, c)| c).collect());
        if schema.partition_key.is_empty() {
            return Err(bad("no partition key column found".into()));
        }
        Ok(schema)
    }

    /// The user types of `keyspace` (3.0+ layout): name → fields as
    /// `(name, CQL type string)`.
    async fn user_types(
        &self,
        keyspace: &str,
    ) -> Result<HashMap<String, Vec<(String, String)>>, SchemaError> {
        let rows = self
            .query(
                "SELECT type_name, field_names, field_types FROM system_schema.types WHERE keyspace_name = ?",
                &[keyspace],
            )
            .await
            .map_err(|e| SchemaError::Request {
                what: format!("the user types of {keyspace}"),
                source: e,
            })?;
        let mut out = HashMap::new();
        for row in rows {
            let Some(name) = text(&row, "type_name") else {
                continue;
            };
            let fields = text_set(&row, "field_names")
                .into_iter()
                .zip(text_set(&row, "field_types"))
                .collect();
            out.insert(name, fields);
        }
        Ok(out)
    }

    /// Rows of a schema query, trying the other layout if the first one's
    /// tables do not exist.
    async fn rows(
        &self,
        query: fn(Layout) -> &'static str,
        names: &[&str],
        what: &str,
    ) -> Result<(Layout, Vec<Row>), SchemaError> {
        let first = guess(self.session);
        let result = match self.query(query(first), names).await {
            Ok(rows) => Ok((first, rows)),
            Err(first_error) => {
                let other = first.other();
                self.query(query(other), names)
                    .await
                    .map(|rows| (other, rows))
                    .map_err(|_| first_error)
            }
        };
        result.map_err(|e| SchemaError::Request {
            what: what.to_owned(),
            source: e,
        })
    }

    async fn query(&self, cql: &str, names: &[&str]) -> Result<Vec<Row>, SessionError> {
        let values: Vec<CqlValue> = names
            .iter()
            .map(|n| CqlValue::from((*n).to_owned()))
            .collect();
        let options = QueryOptions::new()
            .with_consistency(Consistency::One)
            .idempotent(true);
        self.session
            .query_stream(cql, values, options)
            .try_collect()
            .await
    }
}
