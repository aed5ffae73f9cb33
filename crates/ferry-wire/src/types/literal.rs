//! Rendering a [`CqlValue`] as a CQL literal, for writing values into CQL
//! text (the proxy rewriting statements, the copier generating them).
//!
//! Every rendering is chosen so Cassandra parses it back to the same
//! serialized value: strings quoted with `''` escaping, blobs as `0x…`, uuids
//! bare, timestamps as integers, floats in shortest round-trip form (with
//! `NaN`, `Infinity`, `-Infinity`), dates and times as quoted strings,
//! durations as `1mo2d3ns`.

use std::fmt::Write;
use std::net::IpAddr;

use super::column_type::ColumnType;
use super::date_time::{format_date, format_time};
use super::value::CqlValue;

/// CQL's reserved keywords (Cassandra's `reserved_keywords.txt`, plus a few
/// reserved in older versions): a field name equal to one must be quoted.
const RESERVED: &[&str] = &[
    "add",
    "allow",
    "alter",
    "and",
    "apply",
    "asc",
    "authorize",
    "batch",
    "begin",
    "by",
    "check",
    "columnfamily",
    "constraint",
    "create",
    "default",
    "delete",
    "desc",
    "describe",
    "drop",
    "entries",
    "execute",
    "from",
    "full",
    "grant",
    "if",
    "in",
    "index",
    "infinity",
    "insert",
    "into",
    "is",
    "keyspace",
    "length",
    "limit",
    "materialized",
    "mbean",
    "mbeans",
    "modify",
    "nan",
    "norecursive",
    "not",
    "null",
    "of",
    "on",
    "or",
    "order",
    "primary",
    "rename",
    "replace",
    "revoke",
    "schema",
    "select",
    "set",
    "table",
    "to",
    "token",
    "truncate",
    "unlogged",
    "unset",
    "update",
    "use",
    "using",
    "view",
    "where",
    "with",
];

impl CqlValue {
    /// The value as a CQL literal.
    ///
    /// [`CqlValue::Empty`] has no literal without knowing its type; it is
    /// rendered as `0x`, which Cassandra rejects for non-blob columns rather
    /// than silently storing something else. Use
    /// [`CqlValue::cql_literal_typed`] to render it exactly.
    ///
    /// ```
    /// use ferry_wire::types::CqlValue;
    /// let v = CqlValue::Map(vec![(Some("it's".into()), Some(CqlValue::Double(f64::NAN)))]);
    /// assert_eq!(v.cql_literal(), "{'it''s': NaN}");
    /// ```
    pub fn cql_literal(&self) -> String {
        let mut out = String::new();
        write_literal(&mut out, self, None);
        out
    }

    /// The value as a CQL literal for a column of type `ty`: the same as
    /// [`CqlValue::cql_literal`] except that [`CqlValue::Empty`] values (at
    /// any depth) become `blobAs<type>(0x)`, which stores an empty value.
    ///
    /// ```
    /// use ferry_wire::types::{ColumnType, CqlValue};
    /// assert_eq!(CqlValue::Empty.cql_literal_typed(&ColumnType::Int), "blobAsInt(0x)");
    /// ```
    pub fn cql_literal_typed(&self, ty: &ColumnType) -> String {
        let mut out = String::new();
        write_literal(&mut out, self, Some(ty));
        out
    }
}

fn write_literal(out: &mut String, value: &CqlValue, ty: Option<&ColumnType>) {
    match value {
        CqlValue::Empty => write_empty(out, ty),
        CqlValue::Ascii(s) | CqlValue::Text(s) => write_quoted(out, s),
        CqlValue::Blob(b) | CqlValue::Custom(b) => write_hex(out, b),
        CqlValue::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        CqlValue::Bigint(v) | CqlValue::Counter(v) | CqlValue::Timestamp(v) => {
            let _ = write!(out, "{v}");
        }
        CqlValue::Int(v) => {
            let _ = write!(out, "{v}");
        }
        CqlValue::Smallint(v) => {
            let _ = write!(out, "{v}");
        }
        CqlValue::Tinyint(v) => {
            let _ = write!(out, "{v}");
        }
        CqlValue::Varint(v) => {
            let _ = write!(out, "{v}");
        }
        CqlValue::Decimal(d) => {
            let _ = write!(out, "{d}");
        }
        CqlValue::Double(v) => write_float(out, *v, v.is_nan(), v.is_infinite()),
        CqlValue::Float(v) => write_float(out, *v, v.is_nan(), v.is_infinite()),
        CqlValue::Uuid(u) | CqlValue::Timeuuid(u) => write_uuid(out, u),
        CqlValue::Inet(ip) => write_inet(out, ip),
        CqlValue::Date(d) => match format_date(*d) {
            Some(text) => write_quoted(out, &text),
            // Cassandra also reads a quoted integer as the raw day count.
            None => write_quoted(out, &d.to_string()),
        },
        CqlValue::Time(t) => match format_time(*t) {
            Some(text) => write_quoted(out, &text),
            // Out of range: no literal would be accepted; show the number.
            None => {
                let _ = write!(out, "{t}");
            }
        },
        CqlValue::Duration(d) => {
            let _ = write!(out, "{d}");
        }
        CqlValue::List(items) => {
            let elem = match ty {
                Some(ColumnType::List(t)) => Some(&**t),
                _ => None,
            };
            write_sequence(out, "[", "]", items.iter().map(|i| (i, elem)));
        }
        CqlValue::Set(items) => {
            let elem = match ty {
                Some(ColumnType::Set(t)) => Some(&**t),
                _ => None,
            };
            write_sequence(out, "{", "}", items.iter().map(|i| (i, elem)));
        }
        CqlValue::Tuple(items) => {
            let types: &[ColumnType] = match ty {
                Some(ColumnType::Tuple(ts)) => ts,
                _ => &[],
            };
            write_sequence(
                out,
                "(",
                ")",
                items.iter().enumerate().map(|(i, v)| (v, types.get(i))),
            );
        }
        CqlValue::Map(pairs) => {
            let (kt, vt) = match ty {
                Some(ColumnType::Map(k, v)) => (Some(&**k), Some(&**v)),
                _ => (None, None),
            };
            out.push('{');
            for (i, (k, v)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_element(out, k.as_ref(), kt);
                out.push_str(": ");
                write_element(out, v.as_ref(), vt);
            }
            out.push('}');
        }
        CqlValue::Udt(fields) => {
            let types: &[(String, ColumnType)] = match ty {
                Some(ColumnType::Udt { fields, .. }) => fields,
                _ => &[],
            };
            out.push('{');
            for (i, (name, v)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_identifier(out, name);
                out.push_str(": ");
                write_element(out, v.as_ref(), types.get(i).map(|(_, t)| t));
            }
            out.push('}');
        }
    }
}

fn write_element(out: &mut String, value: Option<&CqlValue>, ty: Option<&ColumnType>) {
    match value {
        Some(v) => write_literal(out, v, ty),
        None => out.push_str("null"),
    }
}

fn write_sequence<'a>(
    out: &mut String,
    open: &str,
    close: &str,
    items: impl Iterator<Item = (&'a Option<CqlValue>, Option<&'a ColumnType>)>,
) {
    out.push_str(open);
    for (i, (v, t)) in items.enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_element(out, v.as_ref(), t);
    }
    out.push_str(close);
}

fn write_empty(out: &mut String, ty: Option<&ColumnType>) {
    // Cassandra defines a `blobAs<type>` conversion for every native type.
    let native = ty.filter(|t| {
        !matches!(
            t,
            ColumnType::Custom(_)
                | ColumnType::List(_)
                | ColumnType::Set(_)
                | ColumnType::Map(_, _)
                | ColumnType::Tuple(_)
                | ColumnType::Udt { .. }
        )
    });
    match native {
        Some(t) => {
            let name = t.to_string();
            let mut chars = name.chars();
            out.push_str("blobAs");
            if let Some(first) = chars.next() {
                out.extend(first.to_uppercase());
                out.push_str(chars.as_str());
            }
            out.push_str("(0x)");
        }
        None => out.push_str("0x"),
    }
}

fn write_quoted(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('\'');
    for (i, part) in s.split('\'').enumerate() {
        if i > 0 {
            out.push_str("''");
        }
        out.push_str(part);
    }
    out.push('\'');
}

fn write_hex(out: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(2 + 2 * bytes.len());
    out.push_str("0x");
    for b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
}

/// Shortest text that parses back to the same float (Rust's `Debug` form,
/// e.g. `1.0`, `0.1`, `1e300`, all valid CQL float literals), or the CQL
/// names of the non-finite values.
fn write_float<F: std::fmt::Debug + PartialOrd + Default>(
    out: &mut String,
    v: F,
    nan: bool,
    infinite: bool,
) {
    if nan {
        out.push_str("NaN");
    } else if infinite {
        out.push_str(if v < F::default() {
            "-Infinity"
        } else {
            "Infinity"
        });
    } else {
        let _ = write!(out, "{v:?}");
    }
}

fn write_uuid(out: &mut String, u: &[u8; 16]) {
    for (i, b) in u.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        let _ = write!(out, "{b:02x}");
    }
}

fn write_inet(out: &mut String, ip: &IpAddr) {
    match ip {
        // Java turns any text form of an IPv4-mapped IPv6 address into a
        // 4-byte address; only a blob keeps the 16 bytes.
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some() => {
            out.push_str("blobAsInet(");
            write_hex(out, &v6.octets());
            out.push(')');
        }
        _ => write_quoted(out, &ip.to_string()),
    }
}

/// A field name, bare when CQL would read it back unchanged, else quoted.
fn write_identifier(out: &mut String, name: &str) {
    let mut chars = name.chars();
    let plain = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !RESERVED.contains(&name);
    if plain {
        out.push_str(name);
    } else {
        out.push('"');
        out.push_str(&name.replace('"', "\"\""));
        out.push('"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{CqlDuration, CqlText, Decimal, Varint};
    use bytes::Bytes;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn lit(v: CqlValue) -> String {
        v.cql_literal()
    }

    #[test]
    fn scalars() {
        assert_eq!(lit("it's".into()), "'it''s'");
        assert_eq!(lit(CqlValue::Ascii(CqlText::from("''"))), "''''''");
        assert_eq!(
            lit(CqlValue::Blob(Bytes::from_static(&[0xca, 0xfe, 0x01]))),
            "0xcafe01"
        );
        assert_eq!(lit(CqlValue::Blob(Bytes::new())), "0x");
        assert_eq!(lit(CqlValue::Boolean(false)), "false");
        assert_eq!(lit(CqlValue::Int(-7)), "-7");
        assert_eq!(lit(CqlValue::Tinyint(-128)), "-128");
        assert_eq!(lit(CqlValue::Counter(i64::MIN)), "-9223372036854775808");
        assert_eq!(lit(CqlValue::Timestamp(1_700_000_000_123)), "1700000000123");
        assert_eq!(lit(CqlValue::Varint(Varint::from(-1i32))), "-1");
        assert_eq!(
            lit(CqlValue::Decimal(Decimal::new(Varint::from(-5i32), 3))),
            "-0.005"
        );
        let uuid = [
            0x55, 0x0e, 0x84, 0x00, 0xe2, 0x9b, 0x41, 0xd4, 0xa7, 0x16, 0x44, 0x66, 0x55, 0x44,
            0x00, 0x00,
        ];
        assert_eq!(
            lit(CqlValue::Uuid(uuid)),
            "550e8400-e29b-41d4-a716-446655440000"
        );
        assert_eq!(
            lit(CqlValue::Timeuuid(uuid)),
            "550e8400-e29b-41d4-a716-446655440000"
        );
        assert_eq!(
            lit(CqlValue::Duration(CqlDuration::new(1, 2, 3))),
            "1mo2d3ns"
        );
        assert_eq!(lit(CqlValue::Date(1 << 31)), "'1970-01-01'");
        assert_eq!(lit(CqlValue::Date(0)), "'0'");
        assert_eq!(
            lit(CqlValue::Time(3_723_000_000_004)),
            "'01:02:03.000000004'"
        );
        assert_eq!(lit(CqlValue::Custom(Bytes::from_static(&[1]))), "0x01");
    }

    #[test]
    fn floats() {
        assert_eq!(lit(CqlValue::Double(0.1)), "0.1");
        assert_eq!(lit(CqlValue::Double(1.0)), "1.0");
        assert_eq!(lit(CqlValue::Double(-0.0)), "-0.0");
        assert_eq!(lit(CqlValue::Double(1e300)), "1e300");
        assert_eq!(lit(CqlValue::Double(2.5e-10)), "2.5e-10");
        assert_eq!(lit(CqlValue::Double(f64::NAN)), "NaN");
        assert_eq!(lit(CqlValue::Double(f64::INFINITY)), "Infinity");
        assert_eq!(lit(CqlValue::Float(f32::NEG_INFINITY)), "-Infinity");
        // The f32 nearest to 0.1 prints as 0.1, not 0.10000000149011612.
        assert_eq!(lit(CqlValue::Float(0.1)), "0.1");
        assert_eq!(lit(CqlValue::Float(16777216.0)), "16777216.0");
    }

    #[test]
    fn inet() {
        assert_eq!(
            lit(CqlValue::Inet(Ipv4Addr::new(10, 0, 0, 1).into())),
            "'10.0.0.1'"
        );
        assert_eq!(lit(CqlValue::Inet(Ipv6Addr::LOCALHOST.into())), "'::1'");
        let mapped = Ipv4Addr::new(10, 0, 0, 1).to_ipv6_mapped();
        assert_eq!(
            lit(CqlValue::Inet(mapped.into())),
            "blobAsInet(0x00000000000000000000ffff0a000001)"
        );
    }

    #[test]
    fn collections_tuples_udts() {
        let list = CqlValue::List(vec![Some(CqlValue::Int(1)), None, Some(CqlValue::Int(3))]);
        assert_eq!(lit(list), "[1, null, 3]");
        assert_eq!(
            lit(CqlValue::Set(vec![Some("a".into()), Some("b".into())])),
            "{'a', 'b'}"
        );
        assert_eq!(lit(CqlValue::Set(vec![])), "{}");
        let map = CqlValue::Map(vec![
            (Some(CqlValue::Int(1)), Some("x".into())),
            (Some(CqlValue::Int(2)), None),
        ]);
        assert_eq!(lit(map), "{1: 'x', 2: null}");
        let tuple = CqlValue::Tuple(vec![Some(CqlValue::Int(1)), None, Some("z".into())]);
        assert_eq!(lit(tuple), "(1, null, 'z')");
        let udt = CqlValue::Udt(vec![
            ("street".into(), Some("Main".into())),
            ("Zip".into(), Some(CqlValue::Int(1))),
            ("select".into(), None),
            ("a\"b".into(), Some(CqlValue::Boolean(true))),
            (
                "no_2".into(),
                Some(CqlValue::List(vec![Some(CqlValue::Tuple(vec![]))])),
            ),
        ]);
        assert_eq!(
            lit(udt),
            r#"{street: 'Main', "Zip": 1, "select": null, "a""b": true, no_2: [()]}"#
        );
    }

    #[test]
    fn empty_values() {
        assert_eq!(lit(CqlValue::Empty), "0x");
        assert_eq!(
            CqlValue::Empty.cql_literal_typed(&ColumnType::Timestamp),
            "blobAsTimestamp(0x)"
        );
        let ty = ColumnType::Map(Box::new(ColumnType::Int), Box::new(ColumnType::Uuid));
        let map = CqlValue::Map(vec![(Some(CqlValue::Empty), Some(CqlValue::Empty))]);
        assert_eq!(
            map.cql_literal_typed(&ty),
            "{blobAsInt(0x): blobAsUuid(0x)}"
        );
        let udt = ColumnType::Udt {
            keyspace: "ks".into(),
            name: "t".into(),
            fields: vec![("d".into(), ColumnType::Decimal)],
        };
        let v = CqlValue::Udt(vec![("d".into(), Some(CqlValue::Empty))]);
        assert_eq!(v.cql_literal_typed(&udt), "{d: blobAsDecimal(0x)}");
    }
}
