//! # ferry-validator
//!
//! Tells, with evidence, whether a target Cassandra cluster holds what the
//! source holds, so a migration can cut over — or a CI pipeline can fail.
//!
//! How it works:
//!
//! 1. **Ranges.** The source ring's token ranges, split for parallelism and
//!    unwrapped ([`ranges`]); optionally a sample of them.
//! 2. **Streaming merge-compare.** Each range is scanned on both clusters at
//!    once (`SELECT pk, ck, columns, token(pk) ... WHERE token(pk) > ? AND
//!    token(pk) <= ?`); both return rows in ring order, so the two streams
//!    are merged partition by partition ([`PartitionPosition`]) with memory
//!    bounded by the differences of one partition, and rows that exist only
//!    on the target are found as well as rows missing from it.
//! 3. **Values** are compared column by column with the right equality
//!    ([`values_equal`]: NaN-aware floats, numeric decimals, sets and maps as
//!    sets, UDTs field by field), optionally with `WRITETIME()` and `TTL()`
//!    ([`CompareOptions`]).
//! 4. **Re-check.** Under live traffic a row can differ only because a write
//!    is in flight: each difference is read again on both sides after a
//!    delay, and only those that persist are reported (the others are
//!    counted as resolved).
//! 5. **Report** ([`Report`]): counts, each persistent difference with its
//!    full primary key and both values, as a terminal summary, JSON, or
//!    JUnit XML; exit code 0 (equal), 1 (different) or 2 (error).
//! 6. **Repair** (optional): missing and differing rows are written to the
//!    target with the source's write timestamps, never deleting.
//! 7. **Resume** (optional): with a checkpoint file, completed ranges are
//!    recorded as they finish, and an interrupted validation picks up where
//!    it stopped.
//!
//! ```no_run
//! # async fn demo() -> Result<(), ferry_validator::ValidateError> {
//! use std::time::Duration;
//! use ferry_conn::session::SessionConfig;
//! use ferry_validator::{TableRef, Validator, ValidatorConfig};
//!
//! let mut config = ValidatorConfig::new(vec![TableRef::table("shop", "orders")]);
//! config.compare.ttl = true;
//! config.recheck_delay = Some(Duration::from_secs(10));
//! let validator = Validator::connect(
//!     SessionConfig::new(["10.0.0.1"]),
//!     SessionConfig::new(["10.1.0.1"]),
//!     config,
//! )
//! .await?;
//! let report = validator.run().await;
//! std::fs::write("validation.json", report.to_json()).ok();
//! assert_eq!(report.exit_code(), 0, "{}", report.summary(20));
//! # Ok(()) }
//! ```

mod checkpoint;
mod compare;
mod config;
mod equality;
mod error;
mod merge;
mod position;
mod progress;
mod projection;
pub mod ranges;
mod repair;
mod report;
pub mod schema;
mod table;
mod tally;
mod validator;

pub use compare::{Aspect, CompareOptions};
pub use config::{TableRef, ValidatorConfig};
pub use equality::{values_equal, Equality};
pub use error::{Side, ValidateError};
pub use ferry_conn::schema::{ColumnDef, ColumnKind, TableSchema};
pub use merge::DifferenceKind;
pub use position::PartitionPosition;
pub use progress::{Progress, ProgressSnapshot};
pub use report::{
    ColumnDifference, Counts, DifferenceRecord, KeyPart, RepairCounts, RepairNote, RepairStatus,
    Report, Status, TableReport,
};
pub use validator::Validator;
