//! Evaluating a topology query's WHERE and LIMIT on the rows the proxy
//! synthesizes, so that `SELECT * FROM system.peers WHERE peer = ?` (a
//! driver looking up one node it was told about) gets that node's row or
//! none, not every instance.
//!
//! Cells are compared as serialized bytes: a literal is first encoded in
//! the column's type (`'10.0.0.1'` as an inet, `42` as an int), a bound
//! value is already. Errors are Cassandra's Invalid messages.

use std::net::IpAddr;

use bytes::Bytes;
use ferry_wire::request::BoundValues;
use ferry_wire::types::ColumnType;
use ferry_wire::RawValue;

use super::query::{Operand, TopologyQuery};
use crate::cql::TokenKind;

/// One row's cells (`None`: null).
pub(super) type Row = Vec<Option<Bytes>>;

/// Keeps the rows of `rows` (cells in the order of `columns`) that satisfy
/// the query's WHERE clause, at most LIMIT of them. A WHERE clause the
/// proxy does not evaluate keeps every row.
pub(super) fn apply(
    query: &TopologyQuery,
    columns: &[(String, ColumnType)],
    rows: &mut Vec<Row>,
) -> Result<(), String> {
    for condition in query.conditions.iter().flatten() {
        let (at, ty) = columns
            .iter()
            .enumerate()
            .find(|(_, (name, _))| *name == condition.column)
            .map(|(i, (_, ty))| (i, ty))
            .ok_or_else(|| format!("Undefined name {} in where clause", condition.column))?;
        let wanted = condition
            .operands
            .iter()
            .map(|op| value_of(query, op, &condition.column, ty))
            .collect::<Result<Vec<Option<Bytes>>, String>>()?;
        rows.retain(|row| {
            row.get(at)
                .and_then(Option::as_ref)
                .is_some_and(|cell| wanted.iter().flatten().any(|w| w == cell))
        });
    }
    if let Some(limit) = &query.limit {
        let bytes = value_of(query, limit, "[limit]", &ColumnType::Int)?
            .ok_or("Invalid null value of limit")?;
        let n = <[u8; 4]>::try_from(&bytes[..])
            .map(i32::from_be_bytes)
            .map_err(|_| "Invalid limit value: expected an int")?;
        let n = usize::try_from(n)
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("LIMIT must be strictly positive, got {n}"))?;
        rows.truncate(n);
    }
    Ok(())
}

/// The serialized value of an operand for a column of type `ty`; `None`
/// for null (which matches nothing).
fn value_of(
    query: &TopologyQuery,
    operand: &Operand,
    column: &str,
    ty: &ColumnType,
) -> Result<Option<Bytes>, String> {
    match operand {
        Operand::Literal { kind, text } => literal(*kind, text, column, ty).map(Some),
        Operand::Marker { index, name } => {
            let value = match (&query.values, name) {
                (Some(BoundValues::Named(values)), Some(name)) => values
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.clone()),
                (Some(BoundValues::Named(_)), None) => None,
                (Some(BoundValues::Positional(values)), _) => values.get(*index).cloned(),
                (Some(BoundValues::Serialized(values)), _) => {
                    values.to_raw_values().get(*index).cloned()
                }
                (None, _) => None,
            };
            match value {
                Some(RawValue::Bytes(b)) => Ok(Some(b)),
                Some(RawValue::Null) => Ok(None),
                Some(RawValue::Unset) => Err(format!("Invalid unset value for column {column}")),
                None => Err(format!(
                    "There were {} markers(?) in CQL but {} bound variables",
                    query.markers.len(),
                    query.values.as_ref().map_or(0, BoundValues::len)
                )),
            }
        }
    }
}

/// A literal encoded as a value of `ty`.
fn literal(kind: TokenKind, text: &str, column: &str, ty: &ColumnType) -> Result<Bytes, String> {
    let invalid = || {
        let kind = match kind {
            TokenKind::String => "STRING",
            TokenKind::Integer => "INTEGER",
            _ => "UUID",
        };
        format!("Invalid {kind} constant ({text}) for \"{column}\" of type {ty:?}")
    };
    let bytes = match (kind, ty) {
        (TokenKind::String, ColumnType::Inet) => {
            match text.parse::<IpAddr>().map_err(|_| invalid())? {
                IpAddr::V4(ip) => Bytes::copy_from_slice(&ip.octets()),
                IpAddr::V6(ip) => Bytes::copy_from_slice(&ip.octets()),
            }
        }
        (TokenKind::String, ColumnType::Varchar | ColumnType::Ascii) => {
            Bytes::copy_from_slice(text.as_bytes())
        }
        (TokenKind::Integer, ColumnType::Int) => {
            let n: i32 = text.parse().map_err(|_| invalid())?;
            Bytes::copy_from_slice(&n.to_be_bytes())
        }
        (TokenKind::Uuid, ColumnType::Uuid | ColumnType::Timeuuid) => {
            let hex: String = text.chars().filter(|c| *c != '-').collect();
            let id = u128::from_str_radix(&hex, 16).map_err(|_| invalid())?;
            Bytes::copy_from_slice(&id.to_be_bytes())
        }
        _ => return Err(invalid()),
    };
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::super::query::recognize;
    use super::*;

    fn columns() -> Vec<(String, ColumnType)> {
        vec![
            ("peer".into(), ColumnType::Inet),
            ("peer_port".into(), ColumnType::Int),
            ("host_id".into(), ColumnType::Uuid),
        ]
    }

    fn row(ip: [u8; 4], port: i32, id: u128) -> Row {
        vec![
            Some(Bytes::copy_from_slice(&ip)),
            Some(Bytes::copy_from_slice(&port.to_be_bytes())),
            Some(Bytes::copy_from_slice(&id.to_be_bytes())),
        ]
    }

    fn rows() -> Vec<Row> {
        vec![
            row([10, 0, 0, 1], 9042, 1),
            row([10, 0, 0, 2], 9042, 2),
            row([10, 0, 0, 2], 9043, 3),
        ]
    }

    fn run(text: &str, values: Option<BoundValues>) -> Result<Vec<Row>, String> {
        let mut q = recognize(text, None).unwrap();
        q.values = values;
        let mut out = rows();
        apply(&q, &columns(), &mut out).map(|()| out)
    }

    fn int(n: i32) -> RawValue {
        RawValue::Bytes(Bytes::copy_from_slice(&n.to_be_bytes()))
    }

    fn inet(ip: [u8; 4]) -> RawValue {
        RawValue::Bytes(Bytes::copy_from_slice(&ip))
    }

    #[test]
    fn literals_filter_the_rows() {
        let out = run("SELECT * FROM system.peers WHERE peer = '10.0.0.2'", None).unwrap();
        assert_eq!(out, rows()[1..]);
        let out = run(
            "SELECT * FROM system.peers WHERE peer = '10.0.0.2' AND peer_port = 9043",
            None,
        )
        .unwrap();
        assert_eq!(out, rows()[2..]);
        let out = run(
            "SELECT * FROM system.peers WHERE host_id IN (00000000-0000-0000-0000-000000000001, \
             00000000-0000-0000-0000-000000000003)",
            None,
        )
        .unwrap();
        assert_eq!(out, [rows()[0].clone(), rows()[2].clone()]);
        assert!(
            run("SELECT * FROM system.peers WHERE peer = '10.9.9.9'", None)
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            run("SELECT * FROM system.peers LIMIT 1", None)
                .unwrap()
                .len(),
            1
        );
        // Not evaluated: every row.
        assert_eq!(
            run("SELECT * FROM system.peers WHERE token(peer) > 0", None)
                .unwrap()
                .len(),
            3
        );
    }

    #[test]
    fn bound_values_filter_by_position_or_name() {
        let text = "SELECT * FROM system.peers WHERE peer = ? AND peer_port = ?";
        let out = run(
            text,
            Some(BoundValues::Positional(vec![
                inet([10, 0, 0, 2]),
                int(9042),
            ])),
        )
        .unwrap();
        assert_eq!(out, rows()[1..2]);
        let text = "SELECT * FROM system.peers WHERE peer = :address AND peer_port = :port";
        let out = run(
            text,
            Some(BoundValues::Named(vec![
                ("port".into(), int(9042)),
                ("address".into(), inet([10, 0, 0, 1])),
            ])),
        )
        .unwrap();
        assert_eq!(out, rows()[..1]);
        // A null matches nothing.
        let out = run(
            "SELECT * FROM system.peers WHERE peer = ?",
            Some(BoundValues::Positional(vec![RawValue::Null])),
        )
        .unwrap();
        assert!(out.is_empty());
    }

    #[test]
    fn bad_conditions_are_invalid_requests() {
        let err = run("SELECT * FROM system.peers WHERE nope = 1", None).unwrap_err();
        assert_eq!(err, "Undefined name nope in where clause");
        let err = run("SELECT * FROM system.peers WHERE peer = 'x'", None).unwrap_err();
        assert!(
            err.starts_with("Invalid STRING constant (x) for \"peer\""),
            "{err}"
        );
        let err = run("SELECT * FROM system.peers WHERE peer = ?", None).unwrap_err();
        assert_eq!(err, "There were 1 markers(?) in CQL but 0 bound variables");
        let err = run("SELECT * FROM system.peers LIMIT 0", None).unwrap_err();
        assert!(err.contains("strictly positive"), "{err}");
    }
}
