//! The progress file: what a copy has done, so the same command can
//! continue after a crash or Ctrl-C.
//!
//! It is a local file of JSON lines, appended to and flushed to disk
//! (`fdatasync`) after every record:
//!
//! 1. `{"record":"job",...}`: the job: keyspace, tables, mode, source
//!    cluster, and **the job's write timestamp** (microseconds), so every
//!    run of the job writes with the same timestamp and redoing a range is
//!    idempotent;
//! 2. `{"record":"plan","table":...,"ranges":[["start","end"],...]}`: the
//!    ranges of each table, fixed at the first run (a later topology change
//!    does not move them, so "done" keeps meaning the same tokens);
//! 3. `{"record":"run","run":N,...}`: each start of the command;
//! 4. `{"record":"range","run":N,"table":...,"index":i,...}`: a range fully
//!    copied (every write acknowledged) in run N.
//!
//! A range in flight when the process died has no record: the next run
//! copies it again. A line cut short by a crash is ignored (and removed).
//!
//! Resuming checks that the file belongs to the same job (keyspace,
//! tables, mode, source cluster); anything else is an error naming the
//! difference, never a silent restart.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use ferry_conn::token::{Partitioner, Token, TokenRange};
use serde::{Deserialize, Serialize};

use crate::error::CopyError;
use crate::filter::JobFilters;

/// Format version written in the job record.
const FORMAT: u32 = 1;

/// The job a progress file belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRecord {
    /// Progress file format version.
    pub format: u32,
    /// A random id, for logs.
    pub job_id: String,
    /// When the job was first started (ms since the epoch).
    pub created_unix_ms: u64,
    /// The write timestamp of every copied cell (µs since the epoch),
    /// unless writetimes are preserved.
    pub timestamp_micros: i64,
    /// The keyspace.
    pub keyspace: String,
    /// The tables, in copy order.
    pub tables: Vec<String>,
    /// Whether source writetimes are preserved.
    pub preserve_writetime: bool,
    /// The source cluster's name, if known.
    pub source_cluster: Option<String>,
    /// The source partitioner class.
    pub partitioner: String,
    /// Token sub-range, writetime window, columns and renames (absent in
    /// files of jobs without any).
    #[serde(default, skip_serializing_if = "JobFilters::is_empty")]
    pub filters: JobFilters,
}

/// One line of the file.
///
/// ```
/// use ferry_copier::progress::Record;
/// let line = r#"{"record":"run","run":2,"started_unix_ms":5,"pid":7}"#;
/// let record: Record = serde_json::from_str(line).unwrap();
/// assert_eq!(record, Record::Run { run: 2, started_unix_ms: 5, pid: 7 });
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
pub enum Record {
    /// The job (first line).
    Job(JobRecord),
    /// A table's ranges.
    Plan {
        /// The table.
        table: String,
        /// `(start, end]` of each range, as decimal token strings.
        ranges: Vec<(String, String)>,
    },
    /// A start of the command.
    Run {
        /// Run number, 0 first.
        run: u32,
        /// When (ms since the epoch).
        started_unix_ms: u64,
        /// The process id.
        pid: u32,
    },
    /// A range fully copied.
    Range {
        /// The run that copied it.
        run: u32,
        /// The table.
        table: String,
        /// Its index in the table's plan.
        index: usize,
        /// Its start token (excluded).
        start: String,
        /// Its end token (included).
        end: String,
        /// Rows copied.
        rows: u64,
        /// Bytes of cell values read.
        bytes: u64,
        /// When it finished (ms since the epoch).
        finished_unix_ms: u64,
    },
}

/// What a progress file says: the job, its plan, and what is done.
#[derive(Debug, Clone)]
pub struct JobState {
    /// The job.
    pub job: JobRecord,
    /// Each table's ranges.
    pub plans: BTreeMap<String, Vec<TokenRange>>,
    /// Ranges done, as (table, index).
    pub done: BTreeSet<(String, usize)>,
    /// Rows and bytes copied by the done ranges, per table.
    pub done_totals: BTreeMap<String, (u64, u64)>,
    /// The run this process is (previous runs + 1).
    pub run: u32,
    /// Every range record, in file order (for inspection).
    pub range_records: Vec<Record>,
}

/// An open progress file, appended to.
///
/// ```
/// use ferry_conn::token::{Partitioner, TokenRange};
/// use ferry_copier::progress::{JobRecord, ProgressFile, Record};
/// let path = std::env::temp_dir().join(format!("ferry-doc-{}.jsonl", std::process::id()));
/// # let _ = std::fs::remove_file(&path);
/// let job = JobRecord {
///     format: 1, job_id: "j".into(), created_unix_ms: 0, timestamp_micros: 1_700_000_000_000_000,
///     keyspace: "ks".into(), tables: vec!["t".into()], preserve_writetime: false,
///     source_cluster: None, partitioner: Partitioner::Murmur3.class_name().into(),
///     filters: Default::default(),
/// };
/// let plan = vec![TokenRange::full_ring(Partitioner::Murmur3)];
/// let (file, state) = ProgressFile::create(&path, &job, &[("t".into(), plan)])?;
/// assert_eq!(state.run, 0);
/// let range = state.plans["t"][0];
/// file.append(&Record::Range {
///     run: 0, table: "t".into(), index: 0, start: range.start().to_string(),
///     end: range.end().to_string(), rows: 1, bytes: 4, finished_unix_ms: 0,
/// })?;
/// let (_, resumed) = ProgressFile::resume(&path)?;
/// assert_eq!((resumed.run, resumed.done.len()), (1, 1));
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), ferry_copier::CopyError>(())
/// ```
#[derive(Debug)]
pub struct ProgressFile {
    path: PathBuf,
    file: Mutex<File>,
}

/// Milliseconds since the epoch.
pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Microseconds since the epoch: the unit of Cassandra write timestamps.
pub fn unix_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

impl ProgressFile {
    /// Creates a new progress file (failing if it exists) holding `job` and
    /// the plans.
    pub fn create(
        path: &Path,
        job: &JobRecord,
        plans: &[(String, Vec<TokenRange>)],
    ) -> Result<(ProgressFile, JobState), CopyError> {
        let err = |e: std::io::Error| progress_error(path, format!("cannot create it: {e}"));
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(path)
            .map_err(err)?;
        let progress = ProgressFile {
            path: path.to_owned(),
            file: Mutex::new(file),
        };
        progress.append(&Record::Job(job.clone()))?;
        for (table, ranges) in plans {
            progress.append(&Record::Plan {
                table: table.clone(),
                ranges: ranges
                    .iter()
                    .map(|r| (r.start().to_string(), r.end().to_string()))
                    .collect(),
            })?;
        }
        let state = JobState {
            job: job.clone(),
            plans: plans.iter().cloned().collect(),
            done: BTreeSet::new(),
            done_totals: BTreeMap::new(),
            run: 0,
            range_records: Vec::new(),
        };
        progress.append(&Record::Run {
            run: 0,
            started_unix_ms: unix_ms(),
            pid: std::process::id(),
        })?;
        Ok((progress, state))
    }

    /// Opens an existing progress file to continue its job: reads it
    /// (dropping a last line cut short by a crash) and records a new run.
    pub fn resume(path: &Path) -> Result<(ProgressFile, JobState), CopyError> {
        let state = Self::read(path)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| progress_error(path, format!("cannot open it: {e}")))?;
        // Cut a partial last line (a crash in the middle of a write).
        let len = complete_length(&mut file)
            .map_err(|e| progress_error(path, format!("cannot read it: {e}")))?;
        file.set_len(len)
            .and_then(|()| file.seek(SeekFrom::End(0)).map(|_| ()))
            .map_err(|e| progress_error(path, format!("cannot repair it: {e}")))?;
        let progress = ProgressFile {
            path: path.to_owned(),
            file: Mutex::new(file),
        };
        progress.append(&Record::Run {
            run: state.run,
            started_unix_ms: unix_ms(),
            pid: std::process::id(),
        })?;
        Ok((progress, state))
    }

    /// Reads a progress file without opening it for writing. `run` of the
    /// result is the next run's number.
    pub fn read(path: &Path) -> Result<JobState, CopyError> {
        let file =
            File::open(path).map_err(|e| progress_error(path, format!("cannot open it: {e}")))?;
        let mut job: Option<JobRecord> = None;
        let mut plans: BTreeMap<String, Vec<TokenRange>> = BTreeMap::new();
        let mut done = BTreeSet::new();
        let mut done_totals: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        let mut runs = 0u32;
        let mut range_records = Vec::new();
        let mut reader = BufReader::new(file);
        let mut line = String::new();
        let mut number = 0usize;
        loop {
            line.clear();
            let n = reader
                .read_line(&mut line)
                .map_err(|e| progress_error(path, format!("cannot read it: {e}")))?;
            if n == 0 {
                break;
            }
            number += 1;
            if !line.ends_with('\n') {
                // Cut short by a crash: the record never completed.
                break;
            }
            let bad = |m: String| progress_error(path, format!("line {number}: {m}"));
            let record: Record =
                serde_json::from_str(line.trim_end()).map_err(|e| bad(e.to_string()))?;
            match &record {
                Record::Job(j) => {
                    if job.is_some() {
                        return Err(bad("a second job record".into()));
                    }
                    if j.format != FORMAT {
                        return Err(bad(format!(
                            "format {} is not the supported format {FORMAT}",
                            j.format
                        )));
                    }
                    job = Some(j.clone());
                }
                Record::Plan { table, ranges } => {
                    let j = job
                        .as_ref()
                        .ok_or_else(|| bad("plan before the job record".into()))?;
                    let partitioner = Partitioner::from_class_name(&j.partitioner)
                        .map_err(|e| bad(e.to_string()))?;
                    let parsed = ranges
                        .iter()
                        .map(|(s, e)| parse_range(partitioner, s, e))
                        .collect::<Result<Vec<_>, String>>()
                        .map_err(bad)?;
                    plans.insert(table.clone(), parsed);
                }
                Record::Run { run, .. } => runs = runs.max(run.saturating_add(1)),
                Record::Range {
                    table,
                    index,
                    start,
                    end,
                    rows,
                    bytes,
                    ..
                } => {
                    let plan = plans
                        .get(table)
                        .ok_or_else(|| bad(format!("range of unplanned table {table:?}")))?;
                    let planned = plan
                        .get(*index)
                        .ok_or_else(|| bad(format!("range index {index} out of the plan")))?;
                    if planned.start().to_string() != *start || planned.end().to_string() != *end {
                        return Err(bad(format!(
                            "range {index} of {table} is ({start}, {end}] but the plan says {planned}"
                        )));
                    }
                    if done.insert((table.clone(), *index)) {
                        let t = done_totals.entry(table.clone()).or_default();
                        t.0 += rows;
                        t.1 += bytes;
                    }
                    range_records.push(record.clone());
                }
            }
        }
        let job = job.ok_or_else(|| progress_error(path, "no job record".into()))?;
        Ok(JobState {
            job,
            plans,
            done,
            done_totals,
            run: runs,
            range_records,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends a record and waits until it is on disk.
    pub fn append(&self, record: &Record) -> Result<(), CopyError> {
        let mut line = serde_json::to_string(record)
            .map_err(|e| progress_error(&self.path, format!("cannot encode a record: {e}")))?;
        line.push('\n');
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        file.write_all(line.as_bytes())
            .and_then(|()| file.sync_data())
            .map_err(|e| progress_error(&self.path, format!("cannot write it: {e}")))
    }
}

/// The file length up to the end of its last complete line.
fn complete_length(file: &mut File) -> std::io::Result<u64> {
    let mut content = Vec::new();
    file.seek(SeekFrom::Start(0))?;
    std::io::Read::read_to_end(file, &mut content)?;
    Ok(content
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i as u64 + 1))
}

fn parse_range(partitioner: Partitioner, start: &str, end: &str) -> Result<TokenRange, String> {
    let s = Token::parse(partitioner, start).map_err(|e| e.to_string())?;
    let e = Token::parse(partitioner, end).map_err(|e| e.to_string())?;
    TokenRange::new(s, e).map_err(|e| e.to_string())
}

fn progress_error(path: &Path, message: String) -> CopyError {
    CopyError::Progress {
        path: path.to_owned(),
        message,
    }
}

/// The default progress file for a job: in the working directory,
/// `ferry-copy-<keyspace>.progress.jsonl` for a whole keyspace, or
/// `ferry-copy-<keyspace>.<table>[+<table>...].progress.jsonl`.
///
/// ```
/// use ferry_copier::progress::default_progress_path;
/// assert_eq!(default_progress_path("shop", &[]).to_str(), Some("ferry-copy-shop.progress.jsonl"));
/// assert_eq!(
///     default_progress_path("shop", &["orders".into(), "items".into()]).to_str(),
///     Some("ferry-copy-shop.orders+items.progress.jsonl")
/// );
/// ```
pub fn default_progress_path(keyspace: &str, tables: &[String]) -> PathBuf {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    let mut name = format!("ferry-copy-{}", clean(keyspace));
    if !tables.is_empty() {
        name.push('.');
        name.push_str(
            &tables
                .iter()
                .map(|t| clean(t))
                .collect::<Vec<_>>()
                .join("+"),
        );
    }
    // Keep the name within common file name limits.
    if name.len() > 200 {
        name.truncate(200);
    }
    PathBuf::from(format!("{name}.progress.jsonl"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> JobRecord {
        JobRecord {
            format: FORMAT,
            job_id: "j1".into(),
            created_unix_ms: 1,
            timestamp_micros: 1_700_000_000_000_000,
            keyspace: "ks".into(),
            tables: vec!["t".into()],
            preserve_writetime: false,
            source_cluster: Some("src".into()),
            partitioner: "org.apache.cassandra.dht.Murmur3Partitioner".into(),
            filters: Default::default(),
        }
    }

    fn ranges() -> Vec<TokenRange> {
        let m = Token::murmur3;
        vec![
            TokenRange::new(m(i64::MIN), m(0)).unwrap(),
            TokenRange::new(m(0), m(i64::MAX)).unwrap(),
        ]
    }

    fn tmp(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("ferry-progress-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir.join("p.jsonl")
    }

    fn range_record(run: u32, index: usize) -> Record {
        let r = ranges()[index];
        Record::Range {
            run,
            table: "t".into(),
            index,
            start: r.start().to_string(),
            end: r.end().to_string(),
            rows: 10,
            bytes: 100,
            finished_unix_ms: 5,
        }
    }

    #[test]
    fn create_append_resume() {
        let path = tmp("resume");
        let (file, state) = ProgressFile::create(&path, &job(), &[("t".into(), ranges())]).unwrap();
        assert_eq!(state.run, 0);
        file.append(&range_record(0, 1)).unwrap();
        drop(file);
        assert!(
            ProgressFile::create(&path, &job(), &[]).is_err(),
            "never overwritten"
        );

        let (file, state) = ProgressFile::resume(&path).unwrap();
        assert_eq!(state.run, 1);
        assert_eq!(state.job, job());
        assert_eq!(state.plans["t"], ranges());
        assert_eq!(state.done, BTreeSet::from([("t".to_owned(), 1)]));
        assert_eq!(state.done_totals["t"], (10, 100));
        file.append(&range_record(1, 0)).unwrap();
        drop(file);
        let state = ProgressFile::read(&path).unwrap();
        assert_eq!(state.run, 2);
        assert_eq!(state.done.len(), 2);
        assert_eq!(state.range_records.len(), 2);
    }

    #[test]
    fn a_torn_last_line_is_dropped() {
        let path = tmp("torn");
        let (file, _) = ProgressFile::create(&path, &job(), &[("t".into(), ranges())]).unwrap();
        file.append(&range_record(0, 0)).unwrap();
        drop(file);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"record":"range","run":0,"tab"#).unwrap();
        drop(f);
        let (file, state) = ProgressFile::resume(&path).unwrap();
        assert_eq!(state.done.len(), 1);
        file.append(&range_record(1, 1)).unwrap();
        let state = ProgressFile::read(&path).unwrap();
        assert_eq!(state.done.len(), 2, "the repaired file parses");
    }

    #[test]
    fn records_that_contradict_the_plan_are_errors() {
        let path = tmp("contradict");
        let (file, _) = ProgressFile::create(&path, &job(), &[("t".into(), ranges())]).unwrap();
        let mut bad = range_record(0, 0);
        if let Record::Range { end, .. } = &mut bad {
            *end = "42".into();
        }
        file.append(&bad).unwrap();
        let e = ProgressFile::read(&path).unwrap_err().to_string();
        assert!(e.contains("line 4") && e.contains("plan says"), "{e}");
    }
}
