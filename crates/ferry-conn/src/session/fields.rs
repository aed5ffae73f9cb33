//! Reading columns of system table rows by name, tolerating the columns
//! that differ between Cassandra versions (a missing column reads as
//! `None`, like a null).

use std::net::IpAddr;

use ferry_wire::types::CqlValue;

use super::row::Row;

/// A text column.
pub(crate) fn text(row: &Row, name: &str) -> Option<String> {
    row.by_name(name)
        .and_then(CqlValue::as_text)
        .map(str::to_owned)
}

/// An `inet` column.
pub(crate) fn inet(row: &Row, name: &str) -> Option<IpAddr> {
    match row.by_name(name)? {
        CqlValue::Inet(ip) => Some(*ip),
        _ => None,
    }
}

/// A `uuid` (or `timeuuid`) column.
pub(crate) fn uuid(row: &Row, name: &str) -> Option<[u8; 16]> {
    match row.by_name(name)? {
        CqlValue::Uuid(u) | CqlValue::Timeuuid(u) => Some(*u),
        _ => None,
    }
}

/// An integer column of any width.
pub(crate) fn int(row: &Row, name: &str) -> Option<i64> {
    row.by_name(name).and_then(CqlValue::as_i64)
}

/// A `set<text>` or `list<text>` column (null elements skipped); empty if
/// null or missing.
pub(crate) fn text_set(row: &Row, name: &str) -> Vec<String> {
    match row.by_name(name) {
        Some(CqlValue::Set(items) | CqlValue::List(items)) => items
            .iter()
            .flatten()
            .filter_map(CqlValue::as_text)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// A `map<text, text>` column as pairs (null keys or values skipped).
pub(crate) fn text_map(row: &Row, name: &str) -> Option<Vec<(String, String)>> {
    match row.by_name(name)? {
        CqlValue::Map(pairs) => Some(
            pairs
                .iter()
                .filter_map(|(k, v)| {
                    let k = k.as_ref()?.as_text()?;
                    let v = v.as_ref()?.as_text()?;
                    Some((k.to_owned(), v.to_owned()))
                })
                .collect(),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_wire::response::ColumnSpec;
    use ferry_wire::types::ColumnType;

    #[test]
    fn typed_accessors_and_missing_columns() {
        let columns = vec![
            ColumnSpec::new("system", "peers", "peer", ColumnType::Inet),
            ColumnSpec::new(
                "system",
                "peers",
                "tokens",
                ColumnType::Set(Box::new(ColumnType::Varchar)),
            ),
            ColumnSpec::new("system", "peers", "rack", ColumnType::Varchar),
        ];
        let row = Row::new(
            columns.into(),
            vec![
                Some(CqlValue::Inet("10.0.0.1".parse().unwrap())),
                Some(CqlValue::Set(vec![
                    Some("1".into()),
                    None,
                    Some("2".into()),
                ])),
                None,
            ],
        );
        assert_eq!(inet(&row, "peer"), Some("10.0.0.1".parse().unwrap()));
        assert_eq!(text_set(&row, "tokens"), ["1", "2"]);
        assert_eq!(text(&row, "rack"), None);
        assert_eq!(text(&row, "no_such_column"), None);
        assert!(text_set(&row, "rack").is_empty());
        assert_eq!(uuid(&row, "peer"), None);
    }
}
