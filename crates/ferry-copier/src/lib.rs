//! # ferry-copier
//!
//! The historical part of a live migration: copies every existing row of
//! one or more tables from a source cluster to a target cluster while a
//! dual-writing proxy sends new writes to both, without ever overwriting
//! a newer write.
//!
//! - [`schema`]: table schemas from either schema layout (Cassandra 2.x
//!   `system.schema_*`, 3.0+ `system_schema.*`) and the check that the
//!   target can receive the source's rows;
//! - [`plan`]: the token ranges to scan, aligned with the source ring;
//! - [`writer`]: from a scanned row to `INSERT ... USING TIMESTAMP`s;
//! - [`batch`]: those INSERTs grouped into UNLOGGED batches by target node;
//! - [`progress`]: the progress file that makes a copy resumable;
//! - [`progress_table`]: the progress table in the target cluster, through
//!   which several processes share one job by claiming ranges;
//! - [`filter`]: token sub-range, writetime window, column subset and
//!   renames;
//! - [`rate`]: rate limits; [`stats`]: counters and the summary;
//!   [`report`]: progress output;
//! - [`copy`]: runs it all.
//!
//! ```no_run
//! # async fn demo(source: ferry_conn::Session, target: ferry_conn::Session) -> Result<(), ferry_copier::CopyError> {
//! use ferry_copier::{copy, CopyControl, CopyOptions};
//! let mut options = CopyOptions::new("shop");
//! options.tables = vec!["orders".into()];
//! let summary = copy(&source, &target, &options, CopyControl::new()).await?;
//! println!("{}", summary.to_text());
//! # Ok(()) }
//! ```

pub mod batch;
pub mod error;
pub mod filter;
mod job;
pub mod plan;
pub mod progress;
pub mod progress_table;
pub mod rate;
pub mod report;
pub mod schema;
pub mod stats;
pub mod writer;

pub use error::{CopyError, Side};
pub use job::{copy, CopyControl, CopyOptions};
pub use stats::{CopyStatus, CopySummary};
