//! Schema metadata the session needs: a keyspace's replication (for
//! replica placement) and a table's partition key columns (for routing
//! protocol v3 prepared statements and for token range scans).
//!
//! Cassandra 3.0 moved the schema from `system.schema_*` tables to the
//! `system_schema` keyspace, with different columns:
//!
//! | what | 2.1 / 2.2 | 3.0 and later |
//! |---|---|---|
//! | replication | `system.schema_keyspaces`: `strategy_class`, `strategy_options` (JSON text) | `system_schema.keyspaces`: `replication` (`map<text, text>`) |
//! | partition key | `system.schema_columns`: `type = 'partition_key'`, `component_index` | `system_schema.columns`: `kind = 'partition_key'`, `position` |
//!
//! The session guesses the layout from the node's `release_version` and
//! switches to the other one if its tables do not exist.

use super::fields;
use super::row::Row;
use super::SessionError;
use crate::token::ReplicationStrategy;

/// Which schema tables a cluster has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SchemaTables {
    /// `system_schema.*` (Cassandra 3.0+).
    Modern,
    /// `system.schema_*` (Cassandra 2.x).
    Legacy,
}

impl SchemaTables {
    /// The layout a node of `release_version` most likely has.
    pub(crate) fn guess(release_version: Option<&str>) -> Self {
        let major = release_version
            .and_then(|v| v.split('.').next())
            .and_then(|m| m.trim().parse::<u32>().ok());
        match major {
            Some(m) if m < 3 => Self::Legacy,
            _ => Self::Modern,
        }
    }

    /// The other layout.
    pub(crate) fn other(self) -> Self {
        match self {
            Self::Modern => Self::Legacy,
            Self::Legacy => Self::Modern,
        }
    }

    /// The query for a keyspace's replication; binds the keyspace name.
    pub(crate) fn replication_query(self) -> &'static str {
        match self {
            Self::Modern => {
                "SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = ?"
            }
            Self::Legacy => {
                "SELECT strategy_class, strategy_options FROM system.schema_keyspaces \
                 WHERE keyspace_name = ?"
            }
        }
    }

    /// The query for a table's columns; binds the keyspace and table names.
    pub(crate) fn columns_query(self) -> &'static str {
        match self {
            Self::Modern => {
                "SELECT column_name, kind, position FROM system_schema.columns \
                 WHERE keyspace_name = ? AND table_name = ?"
            }
            Self::Legacy => {
                "SELECT column_name, type, component_index FROM system.schema_columns \
                 WHERE keyspace_name = ? AND columnfamily_name = ?"
            }
        }
    }

    /// The replication of the keyspace in `rows` (the answer to
    /// [`SchemaTables::replication_query`]); `None` if there is no such
    /// keyspace.
    pub(crate) fn parse_replication(
        self,
        rows: &[Row],
    ) -> Result<Option<ReplicationStrategy>, SessionError> {
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let parsed = match self {
            Self::Modern => {
                let map = fields::text_map(row, "replication").ok_or_else(|| {
                    SessionError::Schema("system_schema.keyspaces.replication is null".into())
                })?;
                ReplicationStrategy::from_replication_map(map)
            }
            Self::Legacy => {
                let class = fields::text(row, "strategy_class").ok_or_else(|| {
                    SessionError::Schema("system.schema_keyspaces.strategy_class is null".into())
                })?;
                let options = fields::text(row, "strategy_options").unwrap_or_default();
                ReplicationStrategy::from_class_and_json_options(&class, &options)
            }
        };
        Ok(Some(parsed?))
    }

    /// The partition key column names, in key order, from the answer to
    /// [`SchemaTables::columns_query`] (empty if there is no such table).
    pub(crate) fn parse_partition_key(self, rows: &[Row]) -> Vec<String> {
        let (kind_column, position_column) = match self {
            Self::Modern => ("kind", "position"),
            Self::Legacy => ("type", "component_index"),
        };
        let mut key: Vec<(i64, String)> = rows
            .iter()
            .filter(|r| fields::text(r, kind_column).as_deref() == Some("partition_key"))
            .filter_map(|r| {
                // 2.1 leaves component_index null for a one-column key.
                let position = fields::int(r, position_column).unwrap_or(0);
                Some((position, fields::text(r, "column_name")?))
            })
            .collect();
        key.sort();
        key.into_iter().map(|(_, name)| name).collect()
    }
}

/// `name` as a CQL identifier: double-quoted, inner quotes doubled, so any
/// name the schema tables hold (case-sensitive) is read back as itself.
pub(crate) fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use ferry_wire::response::ColumnSpec;
    use ferry_wire::types::ColumnType;
    use ferry_wire::types::CqlValue;

    fn row(columns: &[(&str, ColumnType)], values: Vec<Option<CqlValue>>) -> Row {
        let specs: Arc<[ColumnSpec]> = columns
            .iter()
            .map(|(n, t)| ColumnSpec::new("system", "x", *n, t.clone()))
            .collect::<Vec<_>>()
            .into();
        Row::new(specs, values)
    }

    #[test]
    fn release_versions_pick_the_layout() {
        assert_eq!(SchemaTables::guess(Some("2.1.0")), SchemaTables::Legacy);
        assert_eq!(SchemaTables::guess(Some("2.2.19")), SchemaTables::Legacy);
        assert_eq!(SchemaTables::guess(Some("3.11.4")), SchemaTables::Modern);
        assert_eq!(
            SchemaTables::guess(Some("4.1-SNAPSHOT")),
            SchemaTables::Modern
        );
        assert_eq!(SchemaTables::guess(None), SchemaTables::Modern);
    }

    #[test]
    fn legacy_partition_key_sorts_by_component_index_with_null_first() {
        let cols = [
            ("column_name", ColumnType::Varchar),
            ("type", ColumnType::Varchar),
            ("component_index", ColumnType::Int),
        ];
        let r = |name: &str, kind: &str, index: Option<i32>| {
            row(
                &cols,
                vec![
                    Some(name.to_owned().into()),
                    Some(kind.to_owned().into()),
                    index.map(CqlValue::Int),
                ],
            )
        };
        let rows = [
            r("b", "partition_key", Some(1)),
            r("c", "clustering_key", Some(0)),
            r("a", "partition_key", Some(0)),
            r("v", "regular", None),
        ];
        assert_eq!(SchemaTables::Legacy.parse_partition_key(&rows), ["a", "b"]);
        let single = [r("id", "partition_key", None), r("v", "regular", None)];
        assert_eq!(SchemaTables::Legacy.parse_partition_key(&single), ["id"]);
    }

    #[test]
    fn modern_partition_key_uses_kind_and_position() {
        let cols = [
            ("column_name", ColumnType::Varchar),
            ("kind", ColumnType::Varchar),
            ("position", ColumnType::Int),
        ];
        let r = |name: &str, kind: &str, pos: i32| {
            row(
                &cols,
                vec![
                    Some(name.to_owned().into()),
                    Some(kind.to_owned().into()),
                    Some(CqlValue::Int(pos)),
                ],
            )
        };
        let rows = [
            r("k2", "partition_key", 1),
            r("ck", "clustering", 0),
            r("k1", "partition_key", 0),
            r("v", "regular", -1),
        ];
        assert_eq!(
            SchemaTables::Modern.parse_partition_key(&rows),
            ["k1", "k2"]
        );
    }

    #[test]
    fn replication_from_either_layout() {
        let legacy = row(
            &[
                ("strategy_class", ColumnType::Varchar),
                ("strategy_options", ColumnType::Varchar),
            ],
            vec![
                Some(
                    "org.apache.cassandra.locator.SimpleStrategy"
                        .to_owned()
                        .into(),
                ),
                Some(r#"{"replication_factor":"2"}"#.to_owned().into()),
            ],
        );
        assert_eq!(
            SchemaTables::Legacy.parse_replication(&[legacy]).unwrap(),
            Some(ReplicationStrategy::Simple {
                replication_factor: 2
            })
        );
        let map_type =
            ColumnType::Map(Box::new(ColumnType::Varchar), Box::new(ColumnType::Varchar));
        let modern = row(
            &[("replication", map_type)],
            vec![Some(CqlValue::Map(vec![
                (
                    Some("class".to_owned().into()),
                    Some(
                        "org.apache.cassandra.locator.NetworkTopologyStrategy"
                            .to_owned()
                            .into(),
                    ),
                ),
                (Some("dc1".to_owned().into()), Some("3".to_owned().into())),
            ]))],
        );
        let parsed = SchemaTables::Modern.parse_replication(&[modern]).unwrap();
        assert_eq!(parsed.unwrap().total_replication_factor(), Some(3));
        assert_eq!(SchemaTables::Modern.parse_replication(&[]).unwrap(), None);
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_identifier("MyCol"), "\"MyCol\"");
        assert_eq!(quote_identifier("a\"b"), "\"a\"\"b\"");
    }
}
