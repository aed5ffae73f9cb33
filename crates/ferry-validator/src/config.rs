//! What a validation does.

use std::path::PathBuf;
use std::time::Duration;

use ferry_conn::token::TokenRange;
use ferry_wire::Consistency;

use crate::compare::CompareOptions;
use crate::error::ValidateError;

/// A table to validate, or a whole keyspace.
///
/// ```
/// use ferry_validator::TableRef;
/// assert_eq!(TableRef::parse("shop.orders", None).unwrap(), TableRef::table("shop", "orders"));
/// assert_eq!(TableRef::parse("orders", Some("shop")).unwrap(), TableRef::table("shop", "orders"));
/// assert!(TableRef::parse("orders", None).is_err());
/// assert_eq!(TableRef::keyspace("shop").to_string(), "shop.*");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRef {
    /// The keyspace.
    pub keyspace: String,
    /// The table; `None` for every table of the keyspace.
    pub table: Option<String>,
}

impl TableRef {
    /// One table.
    pub fn table(keyspace: impl Into<String>, table: impl Into<String>) -> Self {
        Self {
            keyspace: keyspace.into(),
            table: Some(table.into()),
        }
    }

    /// Every table of a keyspace.
    pub fn keyspace(keyspace: impl Into<String>) -> Self {
        Self {
            keyspace: keyspace.into(),
            table: None,
        }
    }

    /// `ks.table`, or `table` in `default_keyspace`. Names are taken as
    /// written (case-sensitive, no quotes).
    pub fn parse(text: &str, default_keyspace: Option<&str>) -> Result<Self, ValidateError> {
        match text.split_once('.') {
            Some((ks, t)) if !ks.is_empty() && !t.is_empty() => Ok(Self::table(ks, t)),
            Some(_) => Err(ValidateError::Config(format!("bad table name {text:?}"))),
            None => match default_keyspace {
                Some(ks) if !text.is_empty() => Ok(Self::table(ks, text)),
                _ => Err(ValidateError::Config(format!(
                    "table {text:?} needs a keyspace (ks.table, or give --keyspace)"
                ))),
            },
        }
    }
}

impl std::fmt::Display for TableRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}.{}",
            self.keyspace,
            self.table.as_deref().unwrap_or("*")
        )
    }
}

/// Everything a [`Validator`](crate::Validator) does, with defaults for a
/// full validation of a live migration.
///
/// ```
/// use std::time::Duration;
/// use ferry_validator::{TableRef, ValidatorConfig};
/// let mut config = ValidatorConfig::new(vec![TableRef::keyspace("shop")]);
/// config.recheck_delay = Some(Duration::from_secs(10));
/// config.sample_percent = Some(1.0);
/// assert!(config.validate().is_ok());
/// config.parallelism = 0;
/// assert!(config.validate().is_err());
/// ```
#[derive(Debug, Clone)]
pub struct ValidatorConfig {
    /// What to validate.
    pub tables: Vec<TableRef>,
    /// Consistency of every read (and repair write). Default LOCAL_QUORUM.
    pub consistency: Consistency,
    /// Token ranges scanned at once. Default 8.
    pub parallelism: usize,
    /// About how many pieces the ring is cut into; `None`: enough for the
    /// parallelism (8 per parallel scan), and at least one per vnode.
    pub splits: Option<usize>,
    /// Scan exactly these ranges (unwrapped, not split) instead of the
    /// source ring's.
    pub ranges: Option<Vec<TokenRange>>,
    /// Scan only this percentage of the ranges, chosen pseudo-randomly.
    pub sample_percent: Option<f64>,
    /// Seed of the sample choice.
    pub sample_seed: u64,
    /// Rows per page. Default 5000.
    pub page_size: i32,
    /// Rows per second read from the source, all tasks together.
    pub source_rows_per_second: Option<u64>,
    /// Rows per second read from the target, all tasks together.
    pub target_rows_per_second: Option<u64>,
    /// What is compared.
    pub compare: CompareOptions,
    /// How long after finding a difference it is read again on both sides
    /// (a difference that is gone then was a write in flight); `None`: no
    /// re-check, every difference found is reported. Default 5 s.
    pub recheck_delay: Option<Duration>,
    /// Differences re-checked per table at most; more are reported without
    /// a re-check (and counted as such). Default 100,000.
    pub max_rechecks: u64,
    /// Re-checks in flight at once. Default 16.
    pub recheck_concurrency: usize,
    /// Differences described in the report (per table); all are counted.
    /// Default 100.
    pub max_differences: usize,
    /// Longest value shown in a report, in characters. Default 200.
    pub max_value_chars: usize,
    /// Write missing and differing rows to the target, with the source's
    /// write timestamps (never deleting anything).
    pub repair: bool,
    /// Rows of one partition that may wait for their match at once (see the
    /// merge); more fails the range. Default 100,000.
    pub max_unmatched_rows_per_partition: usize,
    /// Differences one range keeps in memory for re-checking; more are only
    /// counted. Default 10,000.
    pub max_kept_per_range: usize,
    /// Times a range is tried before it counts as failed. Default 3.
    pub range_attempts: u32,
    /// A checkpoint file: completed ranges are appended to it, and ranges
    /// it already lists (from an interrupted run with the same plan) are
    /// not validated again but taken from it.
    pub checkpoint: Option<PathBuf>,
}

impl ValidatorConfig {
    /// The defaults, for `tables`.
    pub fn new(tables: Vec<TableRef>) -> Self {
        Self {
            tables,
            consistency: Consistency::LocalQuorum,
            parallelism: 8,
            splits: None,
            ranges: None,
            sample_percent: None,
            sample_seed: 0x5eed,
            page_size: 5000,
            source_rows_per_second: None,
            target_rows_per_second: None,
            compare: CompareOptions::default(),
            recheck_delay: Some(Duration::from_secs(5)),
            max_rechecks: 100_000,
            recheck_concurrency: 16,
            max_differences: 100,
            max_value_chars: 200,
            repair: false,
            max_unmatched_rows_per_partition: 100_000,
            max_kept_per_range: 10_000,
            range_attempts: 3,
            checkpoint: None,
        }
    }

    /// Checks the settings make sense.
    pub fn validate(&self) -> Result<(), ValidateError> {
        let bad = |m: &str| Err(ValidateError::Config(m.to_owned()));
        if self.tables.is_empty() {
            return bad("no table or keyspace to validate");
        }
        if self.parallelism == 0 || self.recheck_concurrency == 0 {
            return bad("parallelism and recheck concurrency must be at least 1");
        }
        if self.page_size <= 0 {
            return bad("page size must be positive");
        }
        if let Some(p) = self.sample_percent {
            if !(p > 0.0 && p <= 100.0) {
                return bad("sample percentage must be in (0, 100]");
            }
        }
        if self.splits == Some(0) {
            return bad("splits must be at least 1");
        }
        if matches!(self.source_rows_per_second, Some(0))
            || matches!(self.target_rows_per_second, Some(0))
        {
            return bad("a rate limit must be at least 1 row per second");
        }
        if self.range_attempts == 0 {
            return bad("range attempts must be at least 1");
        }
        if self.max_unmatched_rows_per_partition == 0 {
            return bad("max unmatched rows per partition must be at least 1");
        }
        Ok(())
    }
}
