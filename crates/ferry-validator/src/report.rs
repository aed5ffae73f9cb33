//! The outcome of a validation: counts, the differences found (with full
//! primary keys and both values), and renderings for people (a terminal
//! summary), programs (JSON) and CI systems (JUnit XML).

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::compare::Aspect;
use crate::merge::DifferenceKind;

/// Row counts of a table (or of all tables).
///
/// `rows_compared` counts distinct primary keys seen on either side:
/// `matched + resolved_on_recheck + missing_on_target + extra_on_target +
/// differing`, less static-column differences, which are per partition and
/// counted in `static_differing` (and, if resolved, in
/// `resolved_on_recheck`). The difference counts are those that *persisted*
/// after the re-check.
///
/// ```
/// use ferry_validator::Counts;
/// let c = Counts { rows_compared: 10, matched: 8, missing_on_target: 1, resolved_on_recheck: 1, ..Counts::default() };
/// assert_eq!(c.persistent_differences(), 1);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Rows read from the source.
    pub source_rows: u64,
    /// Rows read from the target.
    pub target_rows: u64,
    /// Distinct primary keys compared.
    pub rows_compared: u64,
    /// Rows equal on both sides at the first read.
    pub matched: u64,
    /// Rows on the source, not on the target.
    pub missing_on_target: u64,
    /// Rows on the target, not on the source.
    pub extra_on_target: u64,
    /// Rows on both with different values (or writetimes, TTLs).
    pub differing: u64,
    /// Partitions whose static columns differ.
    pub static_differing: u64,
    /// Differences that were gone when re-checked (writes in flight).
    pub resolved_on_recheck: u64,
    /// Differences reported without a re-check (over the re-check limit).
    pub not_rechecked: u64,
}

impl Counts {
    /// Differences that persisted.
    pub fn persistent_differences(&self) -> u64 {
        self.missing_on_target + self.extra_on_target + self.differing + self.static_differing
    }

    /// Adds `other` to these counts.
    pub fn add(&mut self, other: &Counts) {
        self.source_rows += other.source_rows;
        self.target_rows += other.target_rows;
        self.rows_compared += other.rows_compared;
        self.matched += other.matched;
        self.missing_on_target += other.missing_on_target;
        self.extra_on_target += other.extra_on_target;
        self.differing += other.differing;
        self.static_differing += other.static_differing;
        self.resolved_on_recheck += other.resolved_on_recheck;
        self.not_rechecked += other.not_rechecked;
    }

    pub(crate) fn add_kind(&mut self, kind: DifferenceKind, n: u64) {
        match kind {
            DifferenceKind::MissingOnTarget => self.missing_on_target += n,
            DifferenceKind::ExtraOnTarget => self.extra_on_target += n,
            DifferenceKind::Differs => self.differing += n,
            DifferenceKind::StaticDiffers => self.static_differing += n,
        }
    }
}

/// The outcome of a validation, of a table or of all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Everything validated, and the target holds what the source holds.
    Equal,
    /// Everything validated, and differences persisted.
    Different,
    /// Some of it could not be validated.
    Error,
}

impl Status {
    /// The process exit code: 0 equal, 1 different, 2 error.
    pub fn exit_code(self) -> i32 {
        match self {
            Status::Equal => 0,
            Status::Different => 1,
            Status::Error => 2,
        }
    }
}

/// One column of a primary key, as a CQL literal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyPart {
    /// The column.
    pub column: String,
    /// Its value as a CQL literal.
    pub value: String,
}

/// One differing aspect of one column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnDifference {
    /// The column.
    pub column: String,
    /// Value, writetime or TTL.
    pub aspect: Aspect,
    /// The source's, as a CQL literal (`None`: null).
    pub source: Option<String>,
    /// The target's, as a CQL literal (`None`: null).
    pub target: Option<String>,
}

/// What repair did about a difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RepairStatus {
    /// Written, and the target now agrees.
    Repaired,
    /// Written, but the target still differs: it holds newer data (or a
    /// newer tombstone) than the source's writetime, which wins.
    Shadowed,
    /// Not written (see the detail): extra rows, values the source lacks
    /// (repair never deletes), counters.
    NotRepairable,
    /// Writing failed.
    Failed,
}

/// Repair's note on one difference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepairNote {
    /// What happened.
    pub status: RepairStatus,
    /// Why, when not simply repaired.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A difference that persisted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DifferenceRecord {
    /// What kind.
    pub kind: DifferenceKind,
    /// The partition's token.
    pub token: String,
    /// The full primary key (partition key and, for row differences,
    /// clustering columns).
    pub primary_key: Vec<KeyPart>,
    /// The differing columns (for `differs` and `static_differs`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<ColumnDifference>,
    /// Whether it was read again after the re-check delay.
    pub rechecked: bool,
    /// What repair did, if repair was on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repair: Option<RepairNote>,
}

impl DifferenceRecord {
    /// `k1=v1, k2=v2`.
    pub fn key_text(&self) -> String {
        self.primary_key
            .iter()
            .map(|p| format!("{}={}", p.column, p.value))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// What repair did in a table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepairCounts {
    /// Rows (or partitions' static columns) written and now equal.
    pub repaired: u64,
    /// Rows written that still differ (newer data on the target wins).
    pub shadowed: u64,
    /// Differences repair does not write (extra rows, source nulls, counters).
    pub not_repairable: u64,
    /// Differences whose writes failed.
    pub failed: u64,
    /// Statements written.
    pub statements: u64,
    /// Cells written.
    pub cells_written: u64,
}

impl RepairCounts {
    /// Adds `other` to these counts.
    pub fn add(&mut self, other: &RepairCounts) {
        self.repaired += other.repaired;
        self.shadowed += other.shadowed;
        self.not_repairable += other.not_repairable;
        self.failed += other.failed;
        self.statements += other.statements;
        self.cells_written += other.cells_written;
    }
}

/// The validation of one table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableReport {
    /// The keyspace.
    pub keyspace: String,
    /// The table.
    pub table: String,
    /// Its outcome.
    pub status: Status,
    /// Token ranges it was cut into.
    pub ranges_planned: usize,
    /// Ranges scanned completely.
    pub ranges_scanned: usize,
    /// Ranges that failed (see `errors`).
    pub ranges_failed: usize,
    /// Of the ranges scanned, those taken from the checkpoint of an
    /// earlier, interrupted run.
    pub ranges_resumed: usize,
    /// The percentage of ranges sampled, when sampling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sampled_percent: Option<f64>,
    /// The counts.
    pub counts: Counts,
    /// The persistent differences, up to the configured number.
    pub differences: Vec<DifferenceRecord>,
    /// Persistent differences not described (over the cap).
    pub differences_not_shown: u64,
    /// What repair did, if on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repair: Option<RepairCounts>,
    /// Errors (failed ranges, schema problems).
    pub errors: Vec<String>,
    /// Remarks (columns not compared...).
    pub notes: Vec<String>,
    /// Wall time.
    pub duration_secs: f64,
    /// Rows read per second from both clusters together.
    pub rows_per_second: f64,
}

impl TableReport {
    /// An empty report of `keyspace.table`.
    pub fn new(keyspace: &str, table: &str) -> Self {
        Self {
            keyspace: keyspace.to_owned(),
            table: table.to_owned(),
            status: Status::Equal,
            ranges_planned: 0,
            ranges_scanned: 0,
            ranges_failed: 0,
            ranges_resumed: 0,
            sampled_percent: None,
            counts: Counts::default(),
            differences: Vec::new(),
            differences_not_shown: 0,
            repair: None,
            errors: Vec::new(),
            notes: Vec::new(),
            duration_secs: 0.0,
            rows_per_second: 0.0,
        }
    }

    /// `keyspace.table`.
    pub fn name(&self) -> String {
        format!("{}.{}", self.keyspace, self.table)
    }

    /// Sets the status from the errors and counts.
    pub(crate) fn settle(&mut self) {
        self.status = if !self.errors.is_empty() {
            Status::Error
        } else if self.counts.persistent_differences() > 0 {
            Status::Different
        } else {
            Status::Equal
        };
    }

    fn problem_summary(&self) -> String {
        let c = &self.counts;
        let mut parts = Vec::new();
        for (n, what) in [
            (c.missing_on_target, "missing on target"),
            (c.extra_on_target, "extra on target"),
            (c.differing, "differing"),
            (
                c.static_differing,
                "partitions with differing static columns",
            ),
        ] {
            if n > 0 {
                parts.push(format!("{n} {what}"));
            }
        }
        parts.join(", ")
    }
}

/// The validation of every table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The source's contact points.
    pub source: String,
    /// The target's contact points.
    pub target: String,
    /// Start time, seconds since the Unix epoch.
    pub started_at_unix: u64,
    /// Wall time.
    pub duration_secs: f64,
    /// The outcome.
    pub status: Status,
    /// Counts over all tables.
    pub totals: Counts,
    /// Per table.
    pub tables: Vec<TableReport>,
    /// Errors not tied to one table.
    pub errors: Vec<String>,
}

impl Report {
    /// Sets totals and status from the tables and errors.
    pub(crate) fn settle(&mut self) {
        self.totals = Counts::default();
        for t in &self.tables {
            self.totals.add(&t.counts);
        }
        self.status =
            if !self.errors.is_empty() || self.tables.iter().any(|t| t.status == Status::Error) {
                Status::Error
            } else if self.tables.iter().any(|t| t.status == Status::Different) {
                Status::Different
            } else {
                Status::Equal
            };
    }

    /// The process exit code: 0 equal, 1 differences persisted, 2 errors.
    pub fn exit_code(&self) -> i32 {
        self.status.exit_code()
    }

    /// The report as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// A human summary for the terminal: per table, its counts and the first
    /// differences; then the verdict.
    pub fn summary(&self, max_listed: usize) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "ferry-validate: {} -> {}", self.source, self.target);
        for t in &self.tables {
            let c = &t.counts;
            let verdict = match t.status {
                Status::Equal => "EQUAL".to_owned(),
                Status::Different => format!("DIFFERENT ({})", t.problem_summary()),
                Status::Error => "ERROR".to_owned(),
            };
            let _ = writeln!(out, "\n{}: {verdict}", t.name());
            let sampled = t
                .sampled_percent
                .map(|p| format!(" (sample of {p}%)"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  ranges {}/{}{sampled}, {} failed; {:.1} s, {:.0} rows/s",
                t.ranges_scanned,
                t.ranges_planned,
                t.ranges_failed,
                t.duration_secs,
                t.rows_per_second
            );
            let _ = writeln!(
                out,
                "  rows: source {}, target {}, compared {}, matched {}",
                c.source_rows, c.target_rows, c.rows_compared, c.matched
            );
            let _ = writeln!(
                out,
                "  differences: missing on target {}, extra on target {}, differing {}, static {}; resolved on recheck {}{}",
                c.missing_on_target,
                c.extra_on_target,
                c.differing,
                c.static_differing,
                c.resolved_on_recheck,
                if c.not_rechecked > 0 { format!(", not rechecked {}", c.not_rechecked) } else { String::new() }
            );
            if let Some(r) = &t.repair {
                let _ = writeln!(
                    out,
                    "  repair: repaired {}, shadowed by newer target data {}, not repairable {}, failed {} ({} statements, {} cells)",
                    r.repaired, r.shadowed, r.not_repairable, r.failed, r.statements, r.cells_written
                );
            }
            for d in t.differences.iter().take(max_listed) {
                let _ = write!(out, "  - {:?} [{}] token {}", d.kind, d.key_text(), d.token);
                for col in &d.columns {
                    let _ = write!(
                        out,
                        "; {}{}: {} vs {}",
                        col.column,
                        match col.aspect {
                            Aspect::Value => "",
                            Aspect::Writetime => " (writetime)",
                            Aspect::Ttl => " (ttl)",
                        },
                        col.source.as_deref().unwrap_or("null"),
                        col.target.as_deref().unwrap_or("null")
                    );
                }
                if let Some(r) = &d.repair {
                    let _ = write!(out, " => {:?}", r.status);
                }
                out.push('\n');
            }
            let unlisted =
                (t.differences.len().saturating_sub(max_listed)) as u64 + t.differences_not_shown;
            if unlisted > 0 {
                let _ = writeln!(out, "  ... and {unlisted} more");
            }
            for e in &t.errors {
                let _ = writeln!(out, "  error: {e}");
            }
            for n in &t.notes {
                let _ = writeln!(out, "  note: {n}");
            }
        }
        for e in &self.errors {
            let _ = writeln!(out, "error: {e}");
        }
        let _ = writeln!(
            out,
            "\n{}: {} rows compared, {} persistent differences, {} resolved on recheck ({:.1} s)",
            match self.status {
                Status::Equal => "EQUAL",
                Status::Different => "DIFFERENT",
                Status::Error => "ERROR",
            },
            self.totals.rows_compared,
            self.totals.persistent_differences(),
            self.totals.resolved_on_recheck,
            self.duration_secs
        );
        out
    }

    /// The report as JUnit XML: one test case per table, failing when
    /// differences persisted, in error when it could not be validated.
    pub fn to_junit_xml(&self) -> String {
        let failures = self
            .tables
            .iter()
            .filter(|t| t.status == Status::Different)
            .count();
        let errors = self
            .tables
            .iter()
            .filter(|t| t.status == Status::Error)
            .count()
            + usize::from(!self.errors.is_empty());
        let tests = self.tables.len() + usize::from(!self.errors.is_empty());
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            out,
            "<testsuites name=\"ferry-validate\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{:.3}\">",
            self.duration_secs
        );
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{:.3}\">",
            xml_escape(&format!("validate {} -> {}", self.source, self.target)),
            self.duration_secs
        );
        for t in &self.tables {
            let _ = writeln!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\">",
                xml_escape(&t.keyspace),
                xml_escape(&t.table),
                t.duration_secs
            );
            let c = &t.counts;
            let counts = format!(
                "source rows {}, target rows {}, compared {}, matched {}, missing on target {}, extra on target {}, differing {}, static differing {}, resolved on recheck {}",
                c.source_rows, c.target_rows, c.rows_compared, c.matched, c.missing_on_target,
                c.extra_on_target, c.differing, c.static_differing, c.resolved_on_recheck
            );
            match t.status {
                Status::Equal => {}
                Status::Different => {
                    let mut details = String::new();
                    for d in &t.differences {
                        let _ = write!(details, "{:?} [{}]", d.kind, d.key_text());
                        for col in &d.columns {
                            let _ = write!(
                                details,
                                "; {} ({:?}): {} vs {}",
                                col.column,
                                col.aspect,
                                col.source.as_deref().unwrap_or("null"),
                                col.target.as_deref().unwrap_or("null")
                            );
                        }
                        details.push('\n');
                    }
                    if t.differences_not_shown > 0 {
                        let _ = writeln!(details, "... and {} more", t.differences_not_shown);
                    }
                    let _ = writeln!(
                        out,
                        "      <failure type=\"differences\" message=\"{}\">{}</failure>",
                        xml_escape(&t.problem_summary()),
                        xml_escape(&details)
                    );
                }
                Status::Error => {
                    let _ = writeln!(
                        out,
                        "      <error type=\"error\" message=\"{}\">{}</error>",
                        xml_escape(t.errors.first().map_or("error", String::as_str)),
                        xml_escape(&t.errors.join("\n"))
                    );
                }
            }
            let _ = writeln!(
                out,
                "      <system-out>{}</system-out>",
                xml_escape(&counts)
            );
            out.push_str("    </testcase>\n");
        }
        if !self.errors.is_empty() {
            let _ = writeln!(
                out,
                "    <testcase classname=\"ferry-validate\" name=\"setup\" time=\"0\">\n      <error type=\"error\" message=\"{}\">{}</error>\n    </testcase>",
                xml_escape(self.errors.first().map_or("", String::as_str)),
                xml_escape(&self.errors.join("\n"))
            );
        }
        out.push_str("  </testsuite>\n</testsuites>\n");
        out
    }
}

/// Text made safe for XML attributes and content; characters XML 1.0 cannot
/// carry at all (most control characters) become `?`.
fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\t' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        let mut t = TableReport::new("ks", "t<1>");
        t.counts = Counts {
            source_rows: 3,
            target_rows: 2,
            rows_compared: 3,
            matched: 2,
            missing_on_target: 1,
            ..Counts::default()
        };
        t.differences.push(DifferenceRecord {
            kind: DifferenceKind::MissingOnTarget,
            token: "42".into(),
            primary_key: vec![KeyPart {
                column: "k".into(),
                value: "'a&b'".into(),
            }],
            columns: vec![],
            rechecked: true,
            repair: None,
        });
        t.settle();
        let mut ok = TableReport::new("ks", "u");
        ok.settle();
        let mut r = Report {
            source: "s".into(),
            target: "t".into(),
            started_at_unix: 0,
            duration_secs: 1.0,
            status: Status::Equal,
            totals: Counts::default(),
            tables: vec![t, ok],
            errors: vec![],
        };
        r.settle();
        r
    }

    #[test]
    fn status_and_totals_follow_the_tables() {
        let r = report();
        assert_eq!(r.status, Status::Different);
        assert_eq!(r.exit_code(), 1);
        assert_eq!(r.totals.missing_on_target, 1);
        let mut e = r.clone();
        e.errors.push("boom".into());
        e.settle();
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn junit_escapes_and_marks_failures() {
        let xml = report().to_junit_xml();
        assert!(xml.contains("name=\"t&lt;1&gt;\""), "{xml}");
        assert!(xml.contains("failures=\"1\""));
        assert!(xml.contains("k=&apos;a&amp;b&apos;"));
        assert!(xml.contains("<failure type=\"differences\" message=\"1 missing on target\">"));
        assert_eq!(xml.matches("<testcase ").count(), 2);
        assert_eq!(xml_escape("a\u{1}b"), "a?b");
    }

    #[test]
    fn json_has_the_counts_and_keys() {
        let json: serde_json::Value = serde_json::from_str(&report().to_json()).unwrap();
        assert_eq!(json["status"], "different");
        assert_eq!(
            json["tables"][0]["differences"][0]["kind"],
            "missing_on_target"
        );
        assert_eq!(
            json["tables"][0]["differences"][0]["primary_key"][0]["value"],
            "'a&b'"
        );
        assert_eq!(json["totals"]["rows_compared"], 3);
    }
}
