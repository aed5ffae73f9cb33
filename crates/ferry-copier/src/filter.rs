//! What part of a table to copy, and under which names: a token
//! sub-range, a writetime window, a column subset, a target table and
//! column renames.
//!
//! The filters are part of a job's identity: they are stored with the job
//! (progress file or progress table), and a later run or another worker
//! with other filters is refused instead of silently mixing two jobs.
//!
//! **The writetime unit.** Cassandra writetimes are microseconds since the
//! epoch. A window given in seconds or milliseconds (what most clocks and
//! languages hand out) would be read as a date in January 1970 and select
//! every row or none, silently. So [`parse_writetime`] accepts an RFC 3339
//! time, or an integer that can only be microseconds (16 or 17 digits:
//! 2001-09-09 to 5138), or any integer with an explicit `us` suffix, and
//! refuses every other number with a message that says which unit it looks
//! like.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::error::CopyError;
use crate::schema::{ColumnDef, TableSchema};

/// The smallest plain integer accepted as microseconds: 10^15 µs is
/// 2001-09-09. Seconds (≈1.8 × 10^9 today) and milliseconds (≈1.8 ×
/// 10^12) are far below it.
const MIN_PLAIN_MICROS: i64 = 1_000_000_000_000_000;
/// The largest plain integer accepted as microseconds: 10^17 µs is the
/// year 5138; nanoseconds today (≈1.8 × 10^18) are above it.
const MAX_PLAIN_MICROS: i64 = 100_000_000_000_000_000;

/// Where and under which columns one source table is written.
///
/// ```
/// use ferry_copier::filter::TableMapping;
/// let mut m = TableMapping::default();
/// m.target_table = Some("orders_v2".into());
/// m.renames.insert("cust".into(), "customer_id".into());
/// assert_eq!(m.target_name("cust"), "customer_id");
/// assert_eq!(m.target_name("total"), "total");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableMapping {
    /// Non-key columns to copy (key columns are always copied); `None`:
    /// every column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<String>>,
    /// Source column name → target column name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub renames: BTreeMap<String, String>,
    /// Target keyspace, if not the source's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_keyspace: Option<String>,
    /// Target table, if not the source's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_table: Option<String>,
}

impl TableMapping {
    /// The target name of source column `name`.
    pub fn target_name<'a>(&'a self, name: &'a str) -> &'a str {
        self.renames.get(name).map_or(name, String::as_str)
    }

    /// The source table with only the copied columns: key columns, and
    /// the non-key columns of the subset (all without a subset). Fails if
    /// the subset or a rename names a column the source does not have.
    pub fn select(&self, source: &TableSchema) -> Result<TableSchema, CopyError> {
        let table = source.qualified_name();
        let bad = |message: String| CopyError::Options(message);
        for old in self.renames.keys() {
            if source.column(old).is_none() {
                return Err(bad(format!(
                    "--rename-column {old}=...: source table {table} has no column {old:?}"
                )));
            }
        }
        let Some(columns) = &self.columns else {
            return Ok(source.clone());
        };
        for name in columns {
            match source.column(name) {
                None => {
                    return Err(bad(format!(
                        "--columns: source table {table} has no column {name:?} (its columns: {})",
                        source
                            .columns()
                            .map(|c| c.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )))
                }
                Some(c) if c.kind.is_key() => {} // always copied anyway
                Some(_) => {}
            }
        }
        for old in self.renames.keys() {
            let is_key = source.column(old).is_some_and(|c| c.kind.is_key());
            if !is_key && !columns.contains(old) {
                return Err(bad(format!(
                    "--rename-column {old}=...: column {old:?} of {table} is not among --columns, so it is not copied"
                )));
            }
        }
        let keep = |c: &&ColumnDef| c.kind.is_key() || columns.contains(&c.name);
        Ok(TableSchema::new(
            &source.keyspace,
            &source.table,
            source.columns().filter(keep).cloned().collect(),
        ))
    }

    /// The schema the target table must match: `selected` (a source table
    /// after [`TableMapping::select`]) with target names. Fails if two
    /// columns would get the same target name.
    pub fn renamed(&self, selected: &TableSchema) -> Result<TableSchema, CopyError> {
        let keyspace = self
            .target_keyspace
            .as_deref()
            .unwrap_or(&selected.keyspace);
        let table = self.target_table.as_deref().unwrap_or(&selected.table);
        let mut seen: HashMap<&str, &str> = HashMap::new();
        for c in selected.columns() {
            let new = self.target_name(&c.name);
            if let Some(other) = seen.insert(new, &c.name) {
                return Err(CopyError::Options(format!(
                    "--rename-column: columns {other:?} and {:?} of {} would both be written to target column {new:?}",
                    c.name,
                    selected.qualified_name()
                )));
            }
        }
        let columns = selected
            .columns()
            .map(|c| ColumnDef {
                name: self.target_name(&c.name).to_owned(),
                kind: c.kind,
                ty: c.ty.clone(),
            })
            .collect();
        // Key columns keep their order (TableSchema::new keeps it); the
        // others are re-sorted by their new names, which the writer does
        // not depend on (it maps by source position).
        Ok(TableSchema::new(keyspace, table, columns))
    }

    /// Whether the mapping changes nothing.
    pub fn is_identity(&self) -> bool {
        self == &Self::default()
    }
}

/// The filters of a job, stored with it.
///
/// ```
/// use ferry_copier::filter::JobFilters;
/// let f = JobFilters { written_after: Some(1_700_000_000_000_000), ..Default::default() };
/// assert!(f.in_window(Some(1_700_000_000_000_000)));
/// assert!(!f.in_window(Some(1_600_000_000_000_000)));
/// assert!(f.in_window(None)); // unknown writetime: copied
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobFilters {
    /// Only tokens in `(start, end]`, as decimal token strings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_range: Option<(String, String)>,
    /// Only rows whose newest cell was written at or after this (µs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub written_after: Option<i64>,
    /// Only rows whose newest cell was written before this (µs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub written_before: Option<i64>,
    /// Per source table: columns and names on the target.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tables: BTreeMap<String, TableMapping>,
}

impl JobFilters {
    /// Whether a writetime window is set.
    pub fn has_window(&self) -> bool {
        self.written_after.is_some() || self.written_before.is_some()
    }

    /// Whether a row whose newest writetime is `writetime` is copied: in
    /// `[written_after, written_before)`. A row whose writetime cannot be
    /// read (only key columns or non-frozen collections) is copied: a copy
    /// too many is harmless (same values, backdated), a row missed is not.
    pub fn in_window(&self, writetime: Option<i64>) -> bool {
        let Some(t) = writetime else {
            return true;
        };
        self.written_after.map_or(true, |a| t >= a) && self.written_before.map_or(true, |b| t < b)
    }

    /// The mapping of source table `table` (identity if none).
    pub fn mapping(&self, table: &str) -> TableMapping {
        self.tables.get(table).cloned().unwrap_or_default()
    }

    /// Whether nothing is filtered or renamed.
    pub fn is_empty(&self) -> bool {
        self.token_range.is_none()
            && !self.has_window()
            && self.tables.values().all(TableMapping::is_identity)
    }

    /// Checks the window and that every mapping names a copied table.
    pub fn check(&self, tables: &[String]) -> Result<(), CopyError> {
        if let (Some(a), Some(b)) = (self.written_after, self.written_before) {
            if a >= b {
                return Err(CopyError::Options(format!(
                    "--written-after ({a} µs) must be earlier than --written-before ({b} µs): the window is empty"
                )));
            }
        }
        for name in self.tables.keys() {
            if !tables.contains(name) {
                return Err(CopyError::Options(format!(
                    "a column subset, rename or target table is given for table {name:?}, which is not copied (tables: {})",
                    tables.join(", ")
                )));
            }
        }
        Ok(())
    }
}

/// Parses a writetime bound: an RFC 3339 time (`2026-11-21T10:00:00Z`,
/// `2026-11-21T11:00:00.5+01:00`), `<integer>us` (microseconds, any
/// value), or a plain integer of microseconds between 10^15 and 10^17.
/// Other plain integers are refused: they are seconds, milliseconds or
/// nanoseconds, and the message says which.
///
/// ```
/// use ferry_copier::filter::parse_writetime;
/// assert_eq!(parse_writetime("2023-11-14T22:13:20Z"), Ok(1_700_000_000_000_000));
/// assert_eq!(parse_writetime("2023-11-14T23:13:20.25+01:00"), Ok(1_700_000_000_250_000));
/// assert_eq!(parse_writetime("1700000000000000"), Ok(1_700_000_000_000_000));
/// assert_eq!(parse_writetime("5us"), Ok(5));
/// let e = parse_writetime("1700000000").unwrap_err();
/// assert!(e.contains("seconds"), "{e}");
/// assert!(parse_writetime("1700000000000").unwrap_err().contains("milliseconds"));
/// ```
pub fn parse_writetime(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if let Some(digits) = text.strip_suffix("us").or_else(|| text.strip_suffix("µs")) {
        return digits
            .trim()
            .parse::<i64>()
            .map_err(|_| format!("{text:?}: expected an integer before \"us\""));
    }
    if let Ok(n) = text.parse::<i64>() {
        let looks_like = |unit: &str, as_micros_date: &str| {
            Err(format!(
                "{text} looks like {unit}; writetimes are MICROseconds since the epoch \
                 (read as microseconds it would be {as_micros_date}). Give an RFC 3339 time \
                 (2026-11-21T10:00:00Z), or microseconds: {n}{} or {n}us to insist",
                match unit {
                    "seconds" => "000000",
                    "milliseconds" => "000",
                    _ => "",
                }
            ))
        };
        let abs = n.unsigned_abs();
        return match abs {
            _ if (MIN_PLAIN_MICROS as u64..MAX_PLAIN_MICROS as u64).contains(&abs) && n > 0 => {
                Ok(n)
            }
            0..=99_999_999_999 => looks_like("seconds", "a moment in January 1970"),
            100_000_000_000..=999_999_999_999_999 => {
                looks_like("milliseconds", "a moment in 1970 or 1971")
            }
            _ => Err(format!(
                "{text} looks like nanoseconds (or is negative); writetimes are MICROseconds since the epoch: \
                 divide by 1000, or give an RFC 3339 time, or {n}us to insist"
            )),
        };
    }
    parse_rfc3339(text).ok_or_else(|| {
        format!(
            "{text:?} is neither an RFC 3339 time (2026-11-21T10:00:00Z) nor microseconds since the epoch"
        )
    })
}

/// An RFC 3339 time as microseconds since the epoch.
fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = text.get(r)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut i = 19;
    let mut micros = 0i64;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return None;
        }
        let frac = &text[start..i];
        let six: String = frac.chars().chain(std::iter::repeat('0')).take(6).collect();
        micros = six.parse().ok()?;
    }
    let offset_seconds = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        sign @ (b'+' | b'-') if i + 6 == b.len() && b[i + 3] == b':' => {
            let (h, m) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
            let s = (h * 60 + m) * 60;
            if *sign == b'+' {
                s
            } else {
                -s
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_seconds;
    seconds.checked_mul(1_000_000)?.checked_add(micros)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses `--token-range START:END` (decimal tokens; the range is
/// `(START, END]`, like the scans).
///
/// ```
/// use ferry_copier::filter::parse_token_range;
/// assert_eq!(parse_token_range("-100:200"), Ok(("-100".into(), "200".into())));
/// assert_eq!(parse_token_range("-9223372036854775808:-5"), Ok(("-9223372036854775808".into(), "-5".into())));
/// assert!(parse_token_range("5").is_err());
/// ```
pub fn parse_token_range(text: &str) -> Result<(String, String), String> {
    // The separator is the first ':' after the first character, so that a
    // negative start keeps its sign.
    let split = text
        .char_indices()
        .skip(1)
        .find(|(_, c)| *c == ':')
        .map(|(i, _)| i)
        .ok_or_else(|| {
            format!("{text:?}: expected START:END (decimal tokens; the range is (START, END])")
        })?;
    let (start, end) = (text[..split].trim(), text[split + 1..].trim());
    for t in [start, end] {
        let digits = t.strip_prefix('-').unwrap_or(t);
        if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
            return Err(format!("{text:?}: {t:?} is not a decimal token"));
        }
    }
    Ok((start.to_owned(), end.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{ColumnKind, CqlType, NativeType};

    fn schema() -> TableSchema {
        let col = |name: &str, kind| ColumnDef {
            name: name.into(),
            kind,
            ty: CqlType::Native(NativeType::Int),
        };
        TableSchema::new(
            "ks",
            "t",
            vec![
                col("k", ColumnKind::PartitionKey),
                col("c", ColumnKind::Clustering { descending: false }),
                col("s", ColumnKind::Static),
                col("a", ColumnKind::Regular),
                col("b", ColumnKind::Regular),
            ],
        )
    }

    #[test]
    fn rfc3339_and_units() {
        assert_eq!(parse_writetime("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(parse_writetime("1969-12-31T23:59:59Z"), Ok(-1_000_000));
        assert_eq!(
            parse_writetime("2000-02-29T12:00:00.123456789Z"),
            Ok(951_825_600_123_456)
        );
        assert_eq!(
            parse_writetime("2026-11-21 10:00:00-02:30"),
            parse_writetime("2026-11-21T12:30:00Z")
        );
        assert!(parse_writetime("2026-13-01T00:00:00Z").is_err());
        assert!(parse_writetime("2026-11-21T10:00:00").is_err(), "no zone");
        assert!(parse_writetime("yesterday").is_err());
        let ns = parse_writetime("1700000000000000000").unwrap_err();
        assert!(ns.contains("nanoseconds"), "{ns}");
        let s = parse_writetime("0").unwrap_err();
        assert!(s.contains("seconds") && s.contains("0us"), "{s}");
        assert_eq!(parse_writetime("-3us"), Ok(-3));
    }

    #[test]
    fn subsets_keep_keys_and_check_names() {
        let mut m = TableMapping {
            columns: Some(vec!["b".into(), "k".into()]),
            ..Default::default()
        };
        let s = m.select(&schema()).unwrap();
        let names: Vec<&str> = s.columns().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["k", "c", "b"]);
        m.columns = Some(vec!["zz".into()]);
        let e = m.select(&schema()).unwrap_err().to_string();
        assert!(
            e.contains("--columns") && e.contains("ks.t has no column \"zz\""),
            "{e}"
        );
        m.columns = Some(vec!["a".into()]);
        m.renames.insert("b".into(), "bb".into());
        let e = m.select(&schema()).unwrap_err().to_string();
        assert!(e.contains("not among --columns"), "{e}");
    }

    #[test]
    fn renames_apply_and_must_not_collide() {
        let mut m = TableMapping {
            target_table: Some("t2".into()),
            target_keyspace: Some("other".into()),
            ..Default::default()
        };
        m.renames.insert("a".into(), "alpha".into());
        m.renames.insert("k".into(), "key".into());
        let r = m.renamed(&schema()).unwrap();
        assert_eq!(r.qualified_name(), "other.t2");
        assert_eq!(r.partition_key[0].name, "key");
        assert!(r.column("alpha").is_some() && r.column("a").is_none());
        m.renames.insert("b".into(), "alpha".into());
        let e = m.renamed(&schema()).unwrap_err().to_string();
        assert!(e.contains("would both be written"), "{e}");
    }

    #[test]
    fn windows_are_half_open() {
        let f = JobFilters {
            written_after: Some(10),
            written_before: Some(20),
            ..Default::default()
        };
        assert!(!f.in_window(Some(9)));
        assert!(f.in_window(Some(10)));
        assert!(f.in_window(Some(19)));
        assert!(!f.in_window(Some(20)));
        let empty = JobFilters {
            written_after: Some(20),
            written_before: Some(20),
            ..Default::default()
        };
        assert!(empty.check(&[]).is_err());
        let mut f = JobFilters::default();
        assert!(f.is_empty());
        f.tables.insert("x".into(), TableMapping::default());
        assert!(f.is_empty());
        assert!(f.check(&["y".into()]).is_err());
    }
}
