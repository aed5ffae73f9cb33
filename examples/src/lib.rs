//! # ferry-examples
//!
//! Ferry's crates used as libraries, the way custom migration tooling would
//! embed them (see `docs/architecture.md`). The one building block here,
//! [`copy_then_validate`], copies one table with `ferry-copier` and then
//! compares it with `ferry-validator`, over two `ferry-conn` sessions it is
//! given; the program `src/bin/copy_then_validate.rs` runs it from the
//! command line, and `tests/copy_then_validate.rs` runs that program
//! against the real `source` and `target` node groups.
//!
//! ```no_run
//! # async fn demo() -> Result<(), ferry_examples::ExampleError> {
//! use ferry_conn::{Session, SessionConfig};
//! let source = Session::connect(SessionConfig::new(["10.0.0.1"])).await?;
//! let target = Session::connect(SessionConfig::new(["10.1.0.1"])).await?;
//! let outcome = ferry_examples::copy_then_validate(
//!     &source,
//!     &target,
//!     "shop",
//!     "orders",
//!     "orders.progress.jsonl".into(),
//! )
//! .await?;
//! println!("{}", outcome.line());
//! # Ok(()) }
//! ```

use std::path::PathBuf;
use std::time::Duration;

use ferry_conn::{Session, SessionError};
use ferry_copier::{copy, CopyControl, CopyError, CopyOptions, CopyStatus};
use ferry_validator::{TableRef, ValidateError, Validator, ValidatorConfig};

/// What went wrong in [`copy_then_validate`]: each library's own typed
/// error, kept as it is.
#[derive(Debug, thiserror::Error)]
pub enum ExampleError {
    /// Connecting to a cluster, or a request, failed.
    #[error("session: {0}")]
    Session(#[from] SessionError),
    /// The copy could not run (schema mismatch, bad options, ...).
    #[error("copy: {0}")]
    Copy(#[from] CopyError),
    /// The copy ran but did not complete (a range failed, or it was stopped).
    #[error("copy of {table} ended with status {status:?}: {errors}")]
    CopyIncomplete {
        /// `keyspace.table`.
        table: String,
        /// How it ended.
        status: CopyStatus,
        /// The copier's errors, joined.
        errors: String,
    },
    /// The validator could not be set up.
    #[error("validate: {0}")]
    Validate(#[from] ValidateError),
}

/// The counts of one [`copy_then_validate`] run.
///
/// ```
/// let o = ferry_examples::Outcome {
///     table: "shop.orders".into(), rows_copied: 10, rows_compared: 10,
///     differences: 0, validation_exit_code: 0,
/// };
/// assert_eq!(o.line(), "shop.orders: copied 10 rows; validated 10 rows compared, 0 differences (exit 0)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// `keyspace.table`.
    pub table: String,
    /// Rows the copier wrote to the target.
    pub rows_copied: u64,
    /// Distinct primary keys the validator saw on either side.
    pub rows_compared: u64,
    /// Differences that persisted after the re-check.
    pub differences: u64,
    /// The validation's exit code: 0 equal, 1 different, 2 errors.
    pub validation_exit_code: i32,
}

impl Outcome {
    /// One line for humans (and for the test that reads it).
    pub fn line(&self) -> String {
        format!(
            "{}: copied {} rows; validated {} rows compared, {} differences (exit {})",
            self.table,
            self.rows_copied,
            self.rows_compared,
            self.differences,
            self.validation_exit_code
        )
    }
}

/// Copies `keyspace.table` from `source` to `target` (a new job, its
/// progress kept in `progress_file`), then validates the table.
///
/// The copy writes at the job's timestamp (taken when it starts), as
/// `ferry-copy` does; validation re-checks differences after one second,
/// which is enough for a table nobody writes to meanwhile (under live
/// traffic use the proxy's lag, as `ferry-validate --recheck-delay`).
pub async fn copy_then_validate(
    source: &Session,
    target: &Session,
    keyspace: &str,
    table: &str,
    progress_file: PathBuf,
) -> Result<Outcome, ExampleError> {
    let name = format!("{keyspace}.{table}");
    let mut options = CopyOptions::new(keyspace);
    options.tables = vec![table.to_owned()];
    options.progress_file = progress_file;
    let summary = copy(source, target, &options, CopyControl::new()).await?;
    if summary.status != CopyStatus::Complete {
        return Err(ExampleError::CopyIncomplete {
            table: name,
            status: summary.status,
            errors: summary.errors.join("; "),
        });
    }

    let mut config = ValidatorConfig::new(vec![TableRef::table(keyspace, table)]);
    config.recheck_delay = Some(Duration::from_secs(1));
    // The sessions are shared: the validator takes clones of the handles.
    let validator = Validator::new(source.clone(), target.clone(), config)?;
    let report = validator.run().await;
    Ok(Outcome {
        table: name,
        rows_copied: summary.rows,
        rows_compared: report.totals.rows_compared,
        differences: report.totals.persistent_differences(),
        validation_exit_code: report.exit_code(),
    })
}
