//! Resuming a long validation after a crash or an interruption.
//!
//! With a checkpoint file, every token range whose validation is complete —
//! scanned, its differences re-checked (and repaired) — is appended to the
//! file as one JSON line holding its counts and differences. A later run
//! with the same file skips the ranges it lists and adds their results to
//! its report, so the final report covers the whole table.
//!
//! Ranges are matched exactly (start and end token), so resuming needs the
//! same plan: the same ring (topology), `splits`, `ranges` and sample seed.
//! Ranges of a different plan are simply validated again. A range is
//! written only once all of it is done, so an interrupted range is redone
//! whole; a torn last line (a crash while writing) is ignored.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ferry_conn::token::TokenRange;
use serde::{Deserialize, Serialize};

use crate::error::ValidateError;
use crate::report::{Counts, DifferenceRecord, RepairCounts};

/// One completed range, as a line of the checkpoint file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RangeRecord {
    pub(crate) keyspace: String,
    pub(crate) table: String,
    /// The range's start token, as Cassandra prints it.
    pub(crate) start: String,
    /// Its end token.
    pub(crate) end: String,
    pub(crate) counts: Counts,
    #[serde(default)]
    pub(crate) differences: Vec<DifferenceRecord>,
    #[serde(default)]
    pub(crate) differences_not_shown: u64,
    #[serde(default)]
    pub(crate) repair: Option<RepairCounts>,
}

/// The key of a range in the file.
pub(crate) fn range_key(range: &TokenRange) -> (String, String) {
    (range.start().to_string(), range.end().to_string())
}

/// An open checkpoint file.
#[derive(Debug)]
pub(crate) struct Checkpoint {
    path: PathBuf,
    file: Mutex<File>,
    /// What earlier runs completed, by (keyspace, table, start, end).
    done: HashMap<(String, String, String, String), RangeRecord>,
}

impl Checkpoint {
    /// Opens (or creates) the file and reads what it already holds.
    pub(crate) fn open(path: &Path) -> Result<Self, ValidateError> {
        let io = |source| ValidateError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(io)?;
        let mut done = HashMap::new();
        let mut ignored = 0;
        for line in BufReader::new(&file).lines() {
            let line = line.map_err(io)?;
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<RangeRecord>(&line) {
                Ok(r) => {
                    done.insert(
                        (
                            r.keyspace.clone(),
                            r.table.clone(),
                            r.start.clone(),
                            r.end.clone(),
                        ),
                        r,
                    );
                }
                Err(_) => ignored += 1,
            }
        }
        if ignored > 0 {
            tracing::warn!(path = %path.display(), ignored, "ignoring unreadable checkpoint lines");
        }
        // A torn last line must not swallow the next record.
        let len = file.seek(SeekFrom::End(0)).map_err(io)?;
        if len > 0 {
            file.seek(SeekFrom::End(-1)).map_err(io)?;
            let mut last = [0u8; 1];
            file.read_exact(&mut last).map_err(io)?;
            if last != *b"\n" {
                file.write_all(b"\n").map_err(io)?;
            }
        }
        Ok(Self {
            path: path.to_owned(),
            file: Mutex::new(file),
            done,
        })
    }

    /// The record of a range an earlier run completed.
    pub(crate) fn done(
        &self,
        keyspace: &str,
        table: &str,
        range: &TokenRange,
    ) -> Option<&RangeRecord> {
        let (start, end) = range_key(range);
        self.done
            .get(&(keyspace.to_owned(), table.to_owned(), start, end))
    }

    /// Appends a completed range (and makes it durable).
    pub(crate) fn append(&self, record: &RangeRecord) -> Result<(), ValidateError> {
        let io = |source| ValidateError::Io {
            path: self.path.display().to_string(),
            source,
        };
        let mut line = serde_json::to_string(record).map_err(|e| io(e.into()))?;
        line.push('\n');
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        file.write_all(line.as_bytes()).map_err(io)?;
        file.sync_data().map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_conn::token::Token;

    fn record(start: i64, end: i64) -> RangeRecord {
        let range = TokenRange::new(Token::murmur3(start), Token::murmur3(end)).unwrap();
        let (start, end) = range_key(&range);
        RangeRecord {
            keyspace: "ks".into(),
            table: "t".into(),
            start,
            end,
            counts: Counts {
                source_rows: 5,
                matched: 5,
                rows_compared: 5,
                target_rows: 5,
                ..Counts::default()
            },
            differences: vec![],
            differences_not_shown: 0,
            repair: None,
        }
    }

    #[test]
    fn completed_ranges_survive_a_torn_line() {
        let path =
            std::env::temp_dir().join(format!("ferry-checkpoint-{}.jsonl", std::process::id()));
        let _ = std::fs::remove_file(&path);
        {
            let c = Checkpoint::open(&path).unwrap();
            c.append(&record(0, 10)).unwrap();
            c.append(&record(10, 20)).unwrap();
        }
        // A crash in the middle of the third line.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"keyspace\":\"ks\",\"tab")
            .unwrap();
        {
            let c = Checkpoint::open(&path).unwrap();
            let r = |a, b| TokenRange::new(Token::murmur3(a), Token::murmur3(b)).unwrap();
            assert_eq!(c.done("ks", "t", &r(0, 10)), Some(&record(0, 10)));
            assert!(c.done("ks", "t", &r(10, 20)).is_some());
            assert!(c.done("ks", "t", &r(20, 30)).is_none());
            assert!(c.done("ks", "u", &r(0, 10)).is_none());
            c.append(&record(20, 30)).unwrap();
        }
        let c = Checkpoint::open(&path).unwrap();
        assert_eq!(
            c.done.len(),
            3,
            "the record after the torn line is readable"
        );
        std::fs::remove_file(&path).ok();
    }
}
