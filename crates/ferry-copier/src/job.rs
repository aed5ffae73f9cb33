//! Running a copy: checks, plan, workers, progress records, summary.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use ferry_conn::session::{
    ErrorClass, PreparedStatement, QueryOptions, Session, SessionError, Values,
};
use ferry_conn::token::{Partitioner, Token, TokenRange};
use ferry_wire::{Consistency, ProtocolVersion, RawValue};
use futures::TryStreamExt;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;

use crate::batch::{Batcher, WriteGroup};
use crate::error::{CopyError, Side};
use crate::filter::JobFilters;
use crate::plan::plan_ranges_within;
use crate::progress::{unix_micros, unix_ms, JobRecord, JobState, ProgressFile, Record};
use crate::progress_table::{Claim, ProgressTable};
use crate::rate::{self, RateLimiter};
use crate::schema::{check_compatible, SchemaReader};
use crate::stats::{CopyStats, CopyStatus, CopySummary, TableStats, TableSummary};
use crate::writer::{NullHandling, TableWriter, WriteRequest};

/// Redo offsets of list timestamps (µs): per run, per range attempt; write
/// attempts add 1 each (see [`crate::writer`]).
const LIST_OFFSET_PER_RUN: i64 = 1000;
const LIST_OFFSET_PER_RANGE_ATTEMPT: i64 = 100;
const MAX_LIST_WRITE_OFFSET: u32 = 99;

/// What to copy and how.
///
/// ```
/// use ferry_copier::CopyOptions;
/// let mut options = CopyOptions::new("shop");
/// options.tables = vec!["orders".into()];
/// options.concurrency = 16;
/// assert!(options.validate().is_ok());
/// assert_eq!(options.progress_file.to_str(), Some("ferry-copy-shop.orders.progress.jsonl"));
/// # let mut bad = CopyOptions::new("shop"); bad.concurrency = 0; assert!(bad.validate().is_err());
/// ```
#[derive(Debug, Clone)]
pub struct CopyOptions {
    /// The keyspace (same name on both clusters).
    pub keyspace: String,
    /// Tables to copy; empty for every table of the keyspace.
    pub tables: Vec<String>,
    /// Keep each cell's source writetime (and TTL) instead of writing
    /// everything at the job's timestamp.
    pub preserve_writetime: bool,
    /// Number of token ranges to cut the ring into (per table); `None`:
    /// the larger of the ring's primary range count and 32 × concurrency.
    pub splits: Option<usize>,
    /// Ranges scanned at the same time.
    pub concurrency: usize,
    /// Writes in flight at the same time, over all ranges (a batch counts
    /// as one).
    pub max_in_flight_writes: usize,
    /// Statements sent together as an UNLOGGED batch, at most (1: no
    /// batches): rows whose partitions the same target node owns (see
    /// [`crate::batch`]).
    pub batch_statements: usize,
    /// Bytes of values in one batch, at most (a batch is sent before a row
    /// would take it over; a single larger row is still sent alone).
    pub batch_bytes: usize,
    /// Rows per page of the scans.
    pub page_size: i32,
    /// Consistency of the scans.
    pub read_consistency: Consistency,
    /// Consistency of the writes.
    pub write_consistency: Consistency,
    /// Rows per second read from the source, at most.
    pub source_rows_per_second: Option<f64>,
    /// Rows per second written to the target, at most.
    pub target_rows_per_second: Option<f64>,
    /// Bytes of values per second read from the source, at most.
    pub source_bytes_per_second: Option<f64>,
    /// Retries of a failed write (timeouts, overload), and of a failed
    /// range scan, before the copy stops.
    pub max_retries: u32,
    /// The progress file (see [`crate::progress`]).
    pub progress_file: PathBuf,
    /// The job's write timestamp (µs); `None` takes the clock's time when
    /// the job is created. Ignored when resuming (the job keeps its own).
    pub job_timestamp: Option<i64>,
    /// Stop (as on Ctrl-C) once this many ranges are done in this run:
    /// for tests of resuming.
    pub stop_after_ranges: Option<usize>,
    /// Token sub-range, writetime window, column subsets, target tables
    /// and column renames (see [`crate::filter`]).
    pub filters: JobFilters,
    /// Keep progress in this table of the target cluster (`ks.table`,
    /// created if missing) instead of the progress file, so that several
    /// processes share the job by claiming ranges (see
    /// [`crate::progress_table`]).
    pub progress_table: Option<String>,
    /// The job's name in the progress table; `None`:
    /// `ferry-copy-<keyspace>[.<tables>]`. Every worker of a job must use
    /// the same.
    pub job_id: Option<String>,
    /// This process's name in the progress table; `None`: host name,
    /// process id and clock bits.
    pub worker_id: Option<String>,
    /// How long a claimed range stays this worker's without renewal: a
    /// dead worker's ranges are claimed again after it.
    pub claim_lease: Duration,
}

impl CopyOptions {
    /// Defaults for `keyspace`: all tables, backdated writes, concurrency
    /// 8, 256 writes in flight, batches of up to 20 statements and 3 KiB
    /// of values per target node, pages of 1000 rows, LOCAL_QUORUM both
    /// ways, no rate limit, 10 retries, the default progress file.
    pub fn new(keyspace: impl Into<String>) -> Self {
        Self {
            keyspace: keyspace.into(),
            tables: Vec::new(),
            preserve_writetime: false,
            splits: None,
            concurrency: 8,
            max_in_flight_writes: 256,
            batch_statements: 20,
            batch_bytes: 3 * 1024,
            page_size: 1000,
            read_consistency: Consistency::LocalQuorum,
            write_consistency: Consistency::LocalQuorum,
            source_rows_per_second: None,
            target_rows_per_second: None,
            source_bytes_per_second: None,
            max_retries: 10,
            progress_file: PathBuf::new(),
            job_timestamp: None,
            stop_after_ranges: None,
            filters: JobFilters::default(),
            progress_table: None,
            job_id: None,
            worker_id: None,
            claim_lease: Duration::from_secs(60),
        }
    }

    /// The job id in the progress table (see [`CopyOptions::job_id`]).
    pub fn job_id(&self) -> String {
        self.job_id.clone().unwrap_or_else(|| {
            let file = crate::progress::default_progress_path(&self.keyspace, &self.tables);
            let name = file.to_string_lossy();
            name.trim_end_matches(".progress.jsonl").to_owned()
        })
    }

    /// This worker's id (see [`CopyOptions::worker_id`]); without one set,
    /// a new one each call.
    pub fn worker_id(&self) -> String {
        self.worker_id
            .clone()
            .unwrap_or_else(crate::progress_table::default_worker_id)
    }

    /// Checks the values; fills in the default progress file.
    pub fn validate(&mut self) -> Result<(), CopyError> {
        let bad = |m: &str| Err(CopyError::Options(m.to_owned()));
        if self.keyspace.is_empty() {
            return bad("a keyspace is needed");
        }
        if self.concurrency == 0 {
            return bad("concurrency must be at least 1");
        }
        if self.max_in_flight_writes == 0 {
            return bad("max in-flight writes must be at least 1");
        }
        if self.batch_statements == 0 {
            return bad("batch statements must be at least 1");
        }
        if self.page_size <= 0 {
            return bad("page size must be at least 1");
        }
        if self.splits == Some(0) {
            return bad("splits must be at least 1");
        }
        for limit in [
            self.source_rows_per_second,
            self.target_rows_per_second,
            self.source_bytes_per_second,
        ]
        .into_iter()
        .flatten()
        {
            if limit.is_nan() || limit <= 0.0 {
                return bad("rate limits must be positive");
            }
        }
        if self.claim_lease < Duration::from_secs(1) {
            return bad("the claim lease must be at least 1 second");
        }
        let window = JobFilters {
            written_after: self.filters.written_after,
            written_before: self.filters.written_before,
            ..JobFilters::default()
        };
        window.check(&[])?;
        if self.progress_file.as_os_str().is_empty() {
            self.progress_file =
                crate::progress::default_progress_path(&self.keyspace, &self.tables);
        }
        Ok(())
    }
}

/// Controls a running copy from outside: stop it, read its counters.
///
/// ```
/// let control = ferry_copier::CopyControl::new();
/// assert!(!control.is_stopping());
/// control.stop();
/// assert!(control.is_stopping());
/// assert!(control.stats().is_none()); // no copy running
/// ```
#[derive(Debug, Default)]
pub struct CopyControl {
    stopping: AtomicBool,
    notify: Notify,
    stats: RwLock<Option<Arc<CopyStats>>>,
}

impl CopyControl {
    /// A control for one copy.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Asks the copy to stop: no new range starts, ranges in flight finish
    /// (to stop at once, drop the copy's future or end the process: the
    /// ranges in flight are then redone by the next run).
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// Whether a stop was asked for.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// The running copy's counters, once it has started copying.
    pub fn stats(&self) -> Option<Arc<CopyStats>> {
        self.stats.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set_stats(&self, stats: Arc<CopyStats>) {
        *self.stats.write().unwrap_or_else(|e| e.into_inner()) = Some(stats);
    }
}

/// One table ready to copy.
struct TableJob {
    writer: Arc<TableWriter>,
    select: PreparedStatement,
    plan: Vec<TokenRange>,
}

/// One range to copy.
#[derive(Debug, Clone, Copy)]
struct WorkItem {
    table: usize,
    index: usize,
    range: TokenRange,
    /// How many times the range may have been copied before: the run
    /// (progress file) or the claim number − 1 (progress table). Lists
    /// are written later by this much (see [`crate::writer`]).
    redo: u32,
}

/// Where progress is recorded.
enum Tracker {
    /// The local progress file (one process).
    File(ProgressFile),
    /// The progress table (any number of processes).
    Table(TableTracker),
}

impl Tracker {
    fn describe(&self) -> String {
        match self {
            Self::File(f) => f.path().display().to_string(),
            Self::Table(t) => format!(
                "table {} (worker {})",
                t.table.display_name(),
                t.table.worker()
            ),
        }
    }
}

/// The progress table and this worker's claims.
struct TableTracker {
    table: ProgressTable,
    /// Ranges held: (table index, range index) → claim number.
    held: Mutex<std::collections::HashMap<(usize, usize), (String, i32)>>,
    /// Ranges held by others, to look at again at (ms since the epoch).
    deferred: Mutex<Vec<(i64, WorkItem)>>,
}

impl TableTracker {
    fn new(table: ProgressTable) -> Self {
        Self {
            table,
            held: Mutex::new(Default::default()),
            deferred: Mutex::new(Vec::new()),
        }
    }
}

/// What every task of a run shares.
struct RunContext {
    source: Session,
    target: Session,
    options: CopyOptions,
    tables: Vec<TableJob>,
    job_timestamp: i64,
    run: u32,
    tracker: Tracker,
    stats: Arc<CopyStats>,
    control: Arc<CopyControl>,
    queue: Mutex<VecDeque<WorkItem>>,
    writes: Arc<Semaphore>,
    source_rows: Option<RateLimiter>,
    source_bytes: Option<RateLimiter>,
    target_rows: Option<RateLimiter>,
    errors: Mutex<Vec<String>>,
    ranges_copied: AtomicU64,
    /// Ranges found done by other workers during this run.
    ranges_done_elsewhere: AtomicU64,
    /// Rows left out by the writetime window.
    rows_filtered: AtomicU64,
}

/// Copies the tables of `options` from `source` to `target`.
///
/// Fails before copying anything when the input is wrong (unknown
/// keyspace or table, incompatible target table, counter table, progress
/// file of another job...). Once copying, returns a summary whatever
/// happens: [`CopyStatus::Failed`] with the errors if a range failed for
/// good (the other ranges in flight finish first), `Stopped` if `control`
/// asked for a stop.
pub async fn copy(
    source: &Session,
    target: &Session,
    options: &CopyOptions,
    control: Arc<CopyControl>,
) -> Result<CopySummary, CopyError> {
    let mut options = options.clone();
    options.validate()?;
    let ring = source.ring().ok_or_else(|| {
        CopyError::UnsupportedPartitioner(
            source
                .partitioner_class()
                .unwrap_or_else(|| "(unknown: no token ring)".into()),
        )
    })?;
    let partitioner = ring.partitioner();
    let within = match &options.filters.token_range {
        None => None,
        Some((start, end)) => Some(token_range(partitioner, start, end)?),
    };

    // The progress table, when several workers share the job.
    let progress_table = match &options.progress_table {
        Some(name) => Some(
            ProgressTable::open(
                target,
                name,
                &options.job_id(),
                &options.worker_id(),
                options.claim_lease,
            )
            .await?,
        ),
        None => None,
    };

    // An existing progress file decides the job (and its tables).
    let existing = if progress_table.is_none() && options.progress_file.exists() {
        let state = ProgressFile::read(&options.progress_file)?;
        check_same_job(&state.job, &options, source.cluster_name())
            .map_err(|m| file_error(&options, m))?;
        Some(state)
    } else {
        None
    };
    let mut table_names = match &existing {
        Some(state) => state.job.tables.clone(),
        None if options.tables.is_empty() => {
            let names = SchemaReader::new(source, Side::Source)
                .tables(&options.keyspace)
                .await?;
            if names.is_empty() {
                return Err(CopyError::NoTables {
                    keyspace: options.keyspace.clone(),
                });
            }
            names
        }
        None => options.tables.clone(),
    };

    // Schemas, every run: a table may have changed since the last one.
    let (mut writers, mut warnings) =
        prepare_tables(source, target, &options, &table_names).await?;

    // The job: new, or resumed with its timestamp and plan.
    let new_job = |tables: &[String]| JobRecord {
        format: 1,
        job_id: job_id(),
        created_unix_ms: unix_ms(),
        // Taken before the first read: every source cell read later
        // was written before this instant or is newer on the target
        // too (the proxy writes both with later timestamps).
        timestamp_micros: options.job_timestamp.unwrap_or_else(unix_micros),
        keyspace: options.keyspace.clone(),
        tables: tables.to_vec(),
        preserve_writetime: options.preserve_writetime,
        source_cluster: source.cluster_name(),
        partitioner: partitioner.class_name().to_owned(),
        filters: options.filters.clone(),
    };
    let new_plan = || {
        let splits = options
            .splits
            .unwrap_or_else(|| ring.ranges().len().max(32 * options.concurrency));
        plan_ranges_within(&ring, splits, within)
    };
    let (tracker, state) = match (&progress_table, existing) {
        (Some(table), _) => {
            let mut job = new_job(&table_names);
            job.job_id = options.job_id();
            let stored = table.register_job(&job).await?;
            check_same_job(&stored, &options, source.cluster_name()).map_err(|m| {
                CopyError::Options(format!(
                    "progress table {}: job {:?} {m}",
                    table.display_name(),
                    stored.job_id
                ))
            })?;
            if stored.tables != table_names {
                // A whole-keyspace job keeps the tables it was created with.
                table_names = stored.tables.clone();
                (writers, warnings) =
                    prepare_tables(source, target, &options, &table_names).await?;
            }
            let plan = new_plan();
            let mut state = JobState {
                job: stored,
                plans: Default::default(),
                done: Default::default(),
                done_totals: Default::default(),
                run: 0,
                range_records: Vec::new(),
            };
            for name in &table_names {
                let plan = table.register_plan(name, &plan, partitioner).await?;
                for range in table.states(name, plan.len()).await? {
                    if range.done {
                        state.done.insert((name.clone(), range.index));
                        let t = state.done_totals.entry(name.clone()).or_default();
                        t.0 += range.rows;
                        t.1 += range.bytes;
                    }
                }
                state.plans.insert(name.clone(), plan);
            }
            (Tracker::Table(TableTracker::new(table.clone())), state)
        }
        (None, Some(_)) => {
            let (file, state) = ProgressFile::resume(&options.progress_file)?;
            (Tracker::File(file), state)
        }
        (None, None) => {
            let job = new_job(&table_names);
            let plan = new_plan();
            let plans: Vec<(String, Vec<TokenRange>)> = table_names
                .iter()
                .map(|t| (t.clone(), plan.clone()))
                .collect();
            let (file, state) = ProgressFile::create(&options.progress_file, &job, &plans)?;
            (Tracker::File(file), state)
        }
    };
    for w in &warnings {
        tracing::warn!("{w}");
    }
    tracing::info!(
        job = %state.job.job_id,
        run = state.run,
        timestamp_micros = state.job.timestamp_micros,
        progress = %tracker.describe(),
        "copy of {} starting",
        options.keyspace
    );

    let mut tables = Vec::new();
    for (name, writer) in table_names.iter().zip(writers) {
        let plan = state
            .plans
            .get(name)
            .cloned()
            .ok_or_else(|| CopyError::Progress {
                path: options.progress_file.clone(),
                message: format!("no plan for table {name}"),
            })?;
        if plan.iter().any(|r| r.partitioner() != partitioner) {
            return Err(CopyError::Progress {
                path: options.progress_file.clone(),
                message: format!(
                    "the plan of {name} is for another partitioner than the source's {}",
                    partitioner.class_name()
                ),
            });
        }
        let select =
            source
                .prepare(&writer.select_cql())
                .await
                .map_err(|e| CopyError::Request {
                    side: Side::Source,
                    what: format!("preparing the scan of {}.{name}", options.keyspace),
                    source: e,
                })?;
        tables.push(TableJob {
            writer,
            select,
            plan,
        });
    }

    let copy_result = run_workers(
        source, target, options, tables, state, tracker, control, warnings,
    )
    .await;
    Ok(copy_result)
}

/// Reads and checks the schemas of `names` on both sides (column subsets,
/// renames and target tables applied); returns their writers and warnings.
async fn prepare_tables(
    source: &Session,
    target: &Session,
    options: &CopyOptions,
    names: &[String],
) -> Result<(Vec<Arc<TableWriter>>, Vec<String>), CopyError> {
    options.filters.check(names)?;
    let nulls = if target.protocol_version() >= ProtocolVersion::V4 {
        NullHandling::Unset
    } else {
        NullHandling::Omit
    };
    let source_schema = SchemaReader::new(source, Side::Source);
    let target_schema = SchemaReader::new(target, Side::Target);
    let mut warnings = Vec::new();
    let mut writers = Vec::new();
    for table in names {
        let full = source_schema.table(&options.keyspace, table).await?;
        if let Some(counter) = full.columns().find(|c| c.ty.is_counter()) {
            return Err(CopyError::CounterTable {
                keyspace: options.keyspace.clone(),
                table: table.clone(),
                column: counter.name.clone(),
            });
        }
        let mapping = options.filters.mapping(table);
        let selected = mapping.select(&full)?;
        let expected = mapping.renamed(&selected)?;
        let t = target_schema
            .table(&expected.keyspace, &expected.table)
            .await?;
        warnings.extend(
            check_compatible(&expected, &t).map_err(|e| explain_rename(e, &mapping, &full))?,
        );
        let writer = if options.filters.has_window() {
            TableWriter::new_selecting_writetimes(selected, options.preserve_writetime, nulls)
        } else {
            TableWriter::new(selected, options.preserve_writetime, nulls)
        };
        let writer = if mapping.is_identity() {
            writer
        } else {
            writer.with_target(
                expected.keyspace.clone(),
                expected.table.clone(),
                mapping.renames.clone().into_iter().collect(),
            )
        };
        writers.push(Arc::new(writer));
    }
    Ok((writers, warnings))
}

/// A schema error about a renamed column, made to say so.
fn explain_rename(
    e: CopyError,
    mapping: &crate::filter::TableMapping,
    source: &crate::schema::TableSchema,
) -> CopyError {
    match e {
        CopyError::MissingColumn {
            keyspace,
            table,
            column,
        } => match mapping.renames.iter().find(|(_, new)| **new == column) {
            Some((old, new)) => CopyError::MissingRenamedColumn {
                keyspace,
                table,
                column,
                source_column: format!("{}.{old}", source.qualified_name()),
                rename: format!("{old}={new}"),
            },
            None => CopyError::MissingColumn {
                keyspace,
                table,
                column,
            },
        },
        other => other,
    }
}

/// `(start, end]` of `--token-range`.
fn token_range(partitioner: Partitioner, start: &str, end: &str) -> Result<TokenRange, CopyError> {
    let parse = |t: &str| {
        Token::parse(partitioner, t).map_err(|e| {
            CopyError::Options(format!(
                "--token-range: {t} is not a {} token: {e}",
                partitioner.class_name()
            ))
        })
    };
    let (s, e) = (parse(start)?, parse(end)?);
    if s == e {
        return Err(CopyError::Options(format!(
            "--token-range {start}:{end} is empty (to copy the whole ring, leave the option out)"
        )));
    }
    TokenRange::new(s, e).map_err(|e| CopyError::Options(format!("--token-range: {e}")))
}

fn file_error(options: &CopyOptions, message: String) -> CopyError {
    CopyError::Progress {
        path: options.progress_file.clone(),
        message,
    }
}

#[allow(clippy::too_many_arguments)]
async fn run_workers(
    source: &Session,
    target: &Session,
    options: CopyOptions,
    tables: Vec<TableJob>,
    state: JobState,
    tracker: Tracker,
    control: Arc<CopyControl>,
    warnings: Vec<String>,
) -> CopySummary {
    let mut queue = VecDeque::new();
    let mut table_stats = Vec::new();
    let mut skipped = 0u64;
    for (t, job) in tables.iter().enumerate() {
        let name = &state.job.tables[t];
        let mut done_before = 0;
        for (index, range) in job.plan.iter().enumerate() {
            if state.done.contains(&(name.clone(), index)) {
                done_before += 1;
            } else {
                queue.push_back(WorkItem {
                    table: t,
                    index,
                    range: *range,
                    redo: state.run,
                });
            }
        }
        skipped += done_before;
        let (rows_before, bytes_before) = state.done_totals.get(name).copied().unwrap_or_default();
        table_stats.push(TableStats {
            name: name.clone(),
            ranges_total: job.plan.len() as u64,
            ranges_done_before: done_before,
            rows_before,
            bytes_before,
            ranges_done: AtomicU64::new(0),
            rows: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        });
    }
    let stats = Arc::new(CopyStats::new(table_stats));
    control.set_stats(stats.clone());
    let ctx = Arc::new(RunContext {
        source: source.clone(),
        target: target.clone(),
        tables,
        job_timestamp: state.job.timestamp_micros,
        run: state.run,
        tracker,
        stats: stats.clone(),
        control: control.clone(),
        queue: Mutex::new(queue),
        writes: Arc::new(Semaphore::new(options.max_in_flight_writes)),
        source_rows: options.source_rows_per_second.map(RateLimiter::new),
        source_bytes: options.source_bytes_per_second.map(RateLimiter::new),
        target_rows: options.target_rows_per_second.map(RateLimiter::new),
        errors: Mutex::new(Vec::new()),
        ranges_copied: AtomicU64::new(0),
        ranges_done_elsewhere: AtomicU64::new(0),
        rows_filtered: AtomicU64::new(0),
        options,
    });
    if let Tracker::Table(_) = &ctx.tracker {
        // Workers start at different places of the queue so that their
        // first claims rarely collide.
        let mut queue = lock(&ctx.queue);
        let len = queue.len().max(1);
        let spin = match &ctx.tracker {
            Tracker::Table(t) => t.table.worker().bytes().fold(0usize, |h, b| {
                h.wrapping_mul(31).wrapping_add(usize::from(b))
            }),
            Tracker::File(_) => 0,
        };
        queue.rotate_left(spin % len);
    }
    let heartbeat = match &ctx.tracker {
        Tracker::Table(_) => Some(tokio::spawn(renew_leases(ctx.clone()))),
        Tracker::File(_) => None,
    };

    let mut workers = JoinSet::new();
    for _ in 0..ctx.options.concurrency {
        let ctx = ctx.clone();
        workers.spawn(async move { worker(ctx).await });
    }
    while let Some(joined) = workers.join_next().await {
        if let Err(e) = joined {
            lock(&ctx.errors).push(format!("a copy task failed: {e}"));
            ctx.control.stop();
        }
    }
    if let Some(h) = heartbeat {
        h.abort();
    }

    let snapshot = stats.snapshot();
    let errors = lock(&ctx.errors).clone();
    let status = if !errors.is_empty() {
        CopyStatus::Failed
    } else if snapshot.ranges_done >= snapshot.ranges_total {
        CopyStatus::Complete
    } else {
        CopyStatus::Stopped
    };
    let elapsed = snapshot.elapsed.as_secs_f64().max(1e-9);
    let keyspace = ctx.options.keyspace.clone();
    CopySummary {
        status,
        tables: stats
            .tables
            .iter()
            .map(|t| {
                let rows = t.rows.load(Ordering::Relaxed);
                TableSummary {
                    table: format!("{keyspace}.{}", t.name),
                    rows,
                    bytes: t.bytes.load(Ordering::Relaxed),
                    rows_all_runs: t.rows_before + rows,
                    ranges_done: t.ranges_done_before + t.ranges_done.load(Ordering::Relaxed),
                    ranges_total: t.ranges_total,
                }
            })
            .collect(),
        keyspace,
        rows: snapshot.rows,
        bytes: snapshot.bytes,
        elapsed_seconds: snapshot.elapsed.as_secs_f64(),
        rows_per_second: snapshot.rows as f64 / elapsed,
        megabytes_per_second: snapshot.bytes as f64 / elapsed / 1e6,
        ranges_total: snapshot.ranges_total,
        ranges_done: snapshot.ranges_done,
        ranges_skipped: skipped + ctx.ranges_done_elsewhere.load(Ordering::Relaxed),
        rows_filtered: ctx.rows_filtered.load(Ordering::Relaxed),
        ranges_copied: ctx.ranges_copied.load(Ordering::Relaxed),
        writes: snapshot.writes,
        retries: snapshot.retries,
        errors,
        warnings,
        job_timestamp_micros: ctx.job_timestamp,
        preserve_writetime: ctx.options.preserve_writetime,
        run: ctx.run,
        progress_file: ctx.tracker.describe(),
    }
}

/// Takes ranges from the queue until it is empty or the copy stops.
async fn worker(ctx: Arc<RunContext>) {
    loop {
        let Some(mut item) = next_item(&ctx).await else {
            return;
        };
        let table_name = ctx.stats.tables[item.table].name.clone();
        if let Tracker::Table(t) = &ctx.tracker {
            match t.table.claim(&table_name, item.index, &item.range).await {
                Ok(Claim::Claimed { claims }) => {
                    item.redo = u32::try_from(claims.saturating_sub(1)).unwrap_or(0);
                    lock(&t.held).insert((item.table, item.index), (table_name.clone(), claims));
                }
                Ok(Claim::Done) => {
                    ctx.stats.tables[item.table]
                        .ranges_done
                        .fetch_add(1, Ordering::Relaxed);
                    ctx.ranges_done_elsewhere.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                Ok(Claim::Busy { lease_until_ms, .. }) => {
                    lock(&t.deferred).push((lease_until_ms + 200, item));
                    continue;
                }
                Err(e) => {
                    lock(&ctx.errors).push(e.to_string());
                    ctx.control.stop();
                    return;
                }
            }
        }
        match copy_range_with_retries(&ctx, item).await {
            Ok((rows, bytes)) => {
                let table = &ctx.stats.tables[item.table];
                let recorded = match &ctx.tracker {
                    Tracker::File(file) => file
                        .append(&Record::Range {
                            run: ctx.run,
                            table: table.name.clone(),
                            index: item.index,
                            start: item.range.start().to_string(),
                            end: item.range.end().to_string(),
                            rows,
                            bytes,
                            finished_unix_ms: unix_ms(),
                        })
                        .map(|()| true),
                    Tracker::Table(t) => {
                        let claims = lock(&t.held)
                            .remove(&(item.table, item.index))
                            .map_or(0, |(_, c)| c);
                        let done = t
                            .table
                            .finish(&table.name, item.index, claims, rows, bytes)
                            .await;
                        if let Ok(false) = done {
                            // Our lease ran out and another worker took the
                            // range: it records it; look again later.
                            tracing::warn!(table = %table.name, range = item.index, "range copied but taken over by another worker meanwhile; it will record it");
                            lock(&t.deferred).push((0, item));
                        }
                        done
                    }
                };
                match recorded {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(e) => {
                        lock(&ctx.errors).push(e.to_string());
                        ctx.control.stop();
                        return;
                    }
                }
                table.ranges_done.fetch_add(1, Ordering::Relaxed);
                let copied = ctx.ranges_copied.fetch_add(1, Ordering::Relaxed) + 1;
                if ctx
                    .options
                    .stop_after_ranges
                    .is_some_and(|limit| copied >= limit as u64)
                {
                    ctx.control.stop();
                }
            }
            Err(e) => {
                let table = &ctx.stats.tables[item.table].name;
                tracing::error!(table = %table, range = %item.range, error = %e, "range failed");
                lock(&ctx.errors).push(format!(
                    "{}.{table} range {} {}: {e}",
                    ctx.options.keyspace, item.index, item.range
                ));
                if let Tracker::Table(t) = &ctx.tracker {
                    // Give it back at once rather than after the lease.
                    let held = lock(&t.held).remove(&(item.table, item.index));
                    if let Some((name, claims)) = held {
                        let _ = t.table.release(&name, item.index, claims).await;
                    }
                }
                ctx.control.stop();
                return;
            }
        }
    }
}

/// The next range to copy: from the queue, or (progress table) a range
/// another worker held, once its lease may have run out. `None` when
/// nothing is left or the copy stops.
async fn next_item(ctx: &RunContext) -> Option<WorkItem> {
    loop {
        if ctx.control.is_stopping() {
            return None;
        }
        if let Some(item) = lock(&ctx.queue).pop_front() {
            return Some(item);
        }
        let Tracker::Table(t) = &ctx.tracker else {
            return None;
        };
        let now = i64::try_from(unix_ms()).unwrap_or(i64::MAX);
        let wait = {
            let mut deferred = lock(&t.deferred);
            if deferred.is_empty() {
                return None;
            }
            let (due, later): (Vec<_>, Vec<_>) = deferred.drain(..).partition(|(at, _)| *at <= now);
            *deferred = later;
            let next = deferred.iter().map(|(at, _)| *at).min();
            lock(&ctx.queue).extend(due.into_iter().map(|(_, item)| item));
            next.map_or(0, |at| at - now)
        };
        if lock(&ctx.queue).is_empty() {
            // Ranges held by other workers: wait for their leases (or their
            // end), a second at most so a stop is seen.
            let pause = Duration::from_millis(u64::try_from(wait.clamp(50, 1000)).unwrap_or(1000));
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = ctx.control.notify.notified() => {}
            }
        }
    }
}

/// Renews the leases of the ranges this worker holds, three times per
/// lease, until the run ends (the task is aborted then).
async fn renew_leases(ctx: Arc<RunContext>) {
    let Tracker::Table(t) = &ctx.tracker else {
        return;
    };
    let period = t.table.lease() / 3;
    loop {
        tokio::time::sleep(period).await;
        let held: Vec<((usize, usize), (String, i32))> =
            lock(&t.held).iter().map(|(k, v)| (*k, v.clone())).collect();
        for ((_, index), (name, claims)) in held {
            match t.table.renew(&name, index, claims).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(table = %name, range = index, "lost the claim of a range (lease ran out; another worker took it)")
                }
                Err(e) => {
                    tracing::warn!(table = %name, range = index, error = %e, "cannot renew a lease")
                }
            }
        }
    }
}

/// A range, scanned again (from its start) after a read failure that may
/// pass (timeouts, overload, lost connections).
async fn copy_range_with_retries(
    ctx: &Arc<RunContext>,
    item: WorkItem,
) -> Result<(u64, u64), CopyError> {
    let mut attempt = 0u32;
    loop {
        match copy_range(ctx, item, attempt).await {
            Ok(done) => return Ok(done),
            Err(RangeError::Read(e)) if retryable(&e) && attempt < ctx.options.max_retries => {
                ctx.stats.retries.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(range = %item.range, error = %e, attempt, "range scan failed; scanning it again");
                tokio::time::sleep(backoff(attempt)).await;
                attempt += 1;
            }
            Err(RangeError::Read(e)) => {
                return Err(CopyError::Request {
                    side: Side::Source,
                    what: "reading".into(),
                    source: e,
                })
            }
            Err(RangeError::Copy(e)) => return Err(*e),
        }
    }
}

enum RangeError {
    /// The scan failed (may be retried from the range's start).
    Read(SessionError),
    /// Anything else.
    Copy(Box<CopyError>),
}

/// Copies one range: scans it page by page and writes every row, with at
/// most `max_in_flight_writes` writes in flight over the whole run.
/// Returns (rows, bytes) once every write is acknowledged.
async fn copy_range(
    ctx: &Arc<RunContext>,
    item: WorkItem,
    attempt: u32,
) -> Result<(u64, u64), RangeError> {
    let table = &ctx.tables[item.table];
    let writer = &table.writer;
    let stats = &ctx.stats.tables[item.table];
    let list_offset = i64::from(item.redo) * LIST_OFFSET_PER_RUN
        + i64::from(attempt.min(9)) * LIST_OFFSET_PER_RANGE_ATTEMPT;
    let (pk_len, value_len, selected) = (
        writer.partition_key_len(),
        writer.value_len(),
        writer.selected_len(),
    );
    let mut rows = 0u64;
    let mut bytes = 0u64;
    let mut writes: JoinSet<Result<(), CopyError>> = JoinSet::new();
    // The previous row's partition key (its cells with their lengths): a
    // row starts a partition if its key differs.
    let mut last_key: Option<Vec<u8>> = None;
    let mut key_scratch: Vec<u8> = Vec::new();
    // Writes not yet sent, grouped by the target node owning them.
    let mut batcher = Batcher::new(
        ctx.target.ring(),
        ctx.options.batch_statements,
        ctx.options.batch_bytes,
    );
    let key_error = |e: crate::batch::KeyError| {
        RangeError::Copy(Box::new(CopyError::Schema {
            side: Side::Target,
            what: writer.schema().qualified_name(),
            message: e.to_string(),
        }))
    };
    // Whether the current partition's static columns are still to be
    // written (by its first row that passes the writetime window).
    let mut statics_pending = false;
    let window = ctx.options.filters.has_window();
    for bounds in item.range.cql_bounds() {
        let values = Values::Raw(vec![
            RawValue::Bytes(bounds.lower_exclusive.to_cql_bytes().into()),
            RawValue::Bytes(bounds.upper_inclusive.to_cql_bytes().into()),
        ]);
        let options = QueryOptions::new()
            .with_consistency(ctx.options.read_consistency)
            .with_page_size(ctx.options.page_size)
            .with_routing_token(bounds.upper_inclusive)
            .with_keyspace(ctx.options.keyspace.clone())
            .idempotent(true);
        let mut pages = ctx.source.execute_pages(&table.select, values, options);
        while let Some(page) = pages.try_next().await.map_err(RangeError::Read)? {
            let mut page_bytes = 0u64;
            let mut page_rows = 0u64;
            // Cells are read in place in the page and copied once, into
            // the bound values of the writes (no per-cell handle).
            let mut cells: Vec<Option<&[u8]>> = Vec::with_capacity(selected);
            for row in page.rows().rows() {
                let row = row.map_err(|e| RangeError::Read(SessionError::Decode(e)))?;
                cells.clear();
                cells.extend(row.raw_cells());
                if cells.len() != selected {
                    return Err(RangeError::Copy(Box::new(CopyError::Schema {
                        side: Side::Source,
                        what: writer.schema().qualified_name(),
                        message: format!(
                            "the scan returned {} columns, {selected} expected (schema changed during the copy?)",
                            cells.len()
                        ),
                    })));
                }
                let row_bytes: u64 = cells[..value_len]
                    .iter()
                    .map(|c| c.map_or(0, |b| b.len() as u64))
                    .sum();
                page_bytes += row_bytes;
                let key = &cells[..pk_len];
                key_scratch.clear();
                for c in key {
                    key_scratch.extend_from_slice(&c.map_or(-1, |b| b.len() as i64).to_be_bytes());
                    key_scratch.extend_from_slice(c.unwrap_or_default());
                }
                let first_of_partition = last_key.as_deref() != Some(&key_scratch[..]);
                if first_of_partition {
                    std::mem::swap(last_key.get_or_insert_with(Vec::new), &mut key_scratch);
                    statics_pending = true;
                }
                if window
                    && !ctx
                        .options
                        .filters
                        .in_window(writer.newest_writetime(&cells))
                {
                    ctx.rows_filtered.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                let ops = writer.ops(&cells, statics_pending, ctx.job_timestamp, list_offset);
                statics_pending = false;
                rate::acquire(ctx.target_rows.as_ref(), 1).await;
                let pending = ops.into_iter().map(|op| {
                    let values = writer.serialized_values(&op, &cells);
                    (op, values)
                });
                if let Some(full) = batcher
                    .push(key, pending, row_bytes as usize)
                    .map_err(key_error)?
                {
                    send(ctx, item.table, full, &mut writes).await?;
                }
                // Reap finished writes as we go: fail fast, bounded set.
                while let Some(done) = writes.try_join_next() {
                    joined(done)?;
                }
                page_rows += 1;
            }
            rows += page_rows;
            bytes += page_bytes;
            stats.rows.fetch_add(page_rows, Ordering::Relaxed);
            stats.bytes.fetch_add(page_bytes, Ordering::Relaxed);
            rate::acquire(ctx.source_rows.as_ref(), page.len() as u64).await;
            rate::acquire(ctx.source_bytes.as_ref(), page_bytes).await;
        }
    }
    for group in batcher.drain() {
        send(ctx, item.table, group, &mut writes).await?;
    }
    while let Some(done) = writes.join_next().await {
        joined(done)?;
    }
    Ok((rows, bytes))
}

/// Sends a group of writes as one request, once a slot among the
/// in-flight writes is free.
async fn send(
    ctx: &Arc<RunContext>,
    table: usize,
    group: WriteGroup,
    writes: &mut JoinSet<Result<(), CopyError>>,
) -> Result<(), RangeError> {
    if group.writes.is_empty() {
        return Ok(());
    }
    let permit = ctx.writes.clone().acquire_owned().await.map_err(|_| {
        RangeError::Copy(Box::new(CopyError::Options("write limiter closed".into())))
    })?;
    let ctx = ctx.clone();
    writes.spawn(async move {
        let result = write_with_retries(&ctx, table, WriteRequest::new(group)).await;
        drop(permit);
        result
    });
    Ok(())
}

fn joined(done: Result<Result<(), CopyError>, tokio::task::JoinError>) -> Result<(), RangeError> {
    match done {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(RangeError::Copy(Box::new(e))),
        Err(e) => Err(RangeError::Copy(Box::new(CopyError::Options(format!(
            "a write task failed: {e}"
        ))))),
    }
}

/// Runs one write (a statement or a batch), retrying what may pass.
/// Writes are idempotent (same values, same timestamp), except those with
/// a non-frozen list, which are retried with a timestamp one microsecond
/// later each time.
async fn write_with_retries(
    ctx: &RunContext,
    table: usize,
    mut request: WriteRequest,
) -> Result<(), CopyError> {
    let writer = &ctx.tables[table].writer;
    let has_list = request.has_list();
    let mut attempt = 0u32;
    loop {
        let options = QueryOptions::new()
            .with_consistency(ctx.options.write_consistency)
            .with_keyspace(ctx.options.keyspace.clone())
            // The session may retry anything but list writes by itself.
            .idempotent(!has_list);
        let bump = i64::from(attempt.min(MAX_LIST_WRITE_OFFSET));
        match writer.write(&ctx.target, &mut request, bump, options).await {
            Ok(()) => {
                ctx.stats
                    .writes
                    .fetch_add(request.statements() as u64, Ordering::Relaxed);
                return Ok(());
            }
            Err(e) if retryable(&e) && attempt < ctx.options.max_retries => {
                ctx.stats.retries.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(error = %e, attempt, "write failed; retrying");
                tokio::time::sleep(backoff(attempt)).await;
                attempt += 1;
            }
            Err(e) => {
                return Err(CopyError::Request {
                    side: Side::Target,
                    what: format!("writing to {}", writer.schema().qualified_name()),
                    source: e,
                })
            }
        }
    }
}

/// Whether an error may pass if the request is tried again later.
fn retryable(e: &SessionError) -> bool {
    match e {
        SessionError::NoConnection { .. } => true,
        SessionError::Request { source, .. } => {
            !matches!(ErrorClass::of(source), ErrorClass::Other)
        }
        _ => false,
    }
}

/// 100 ms doubling up to 10 s, with a little jitter so retries spread.
fn backoff(attempt: u32) -> Duration {
    let base = Duration::from_millis(100).saturating_mul(1u32 << attempt.min(7));
    let jitter = Duration::from_micros(u64::from(std::process::id() ^ attempt) % 50_000);
    base.min(Duration::from_secs(10)) + jitter
}

/// Checks that a stored job (progress file or table) is the job `options`
/// describe; the error says what differs.
fn check_same_job(
    job: &JobRecord,
    options: &CopyOptions,
    source_cluster: Option<String>,
) -> Result<(), String> {
    let differs = |what: String| {
        Err(if options.progress_table.is_some() {
            format!(
                "belongs to another job ({what}); give another --job-id, or delete its rows to start over"
            )
        } else {
            format!(
                "it belongs to another job ({what}); give another --progress file, or delete this one to start over"
            )
        })
    };
    if job.keyspace != options.keyspace {
        return differs(format!(
            "keyspace {} instead of {}",
            job.keyspace, options.keyspace
        ));
    }
    if !options.tables.is_empty() {
        let mut a = job.tables.clone();
        let mut b = options.tables.clone();
        a.sort();
        b.sort();
        if a != b {
            return differs(format!(
                "tables {} instead of {}",
                job.tables.join(", "),
                options.tables.join(", ")
            ));
        }
    }
    if job.preserve_writetime != options.preserve_writetime {
        return differs(format!(
            "preserve-writetime {} instead of {}",
            job.preserve_writetime, options.preserve_writetime
        ));
    }
    if let (Some(a), Some(b)) = (&job.source_cluster, &source_cluster) {
        if a != b {
            return differs(format!("source cluster {a:?} instead of {b:?}"));
        }
    }
    let normal = |f: &JobFilters| {
        let mut f = f.clone();
        f.tables.retain(|_, m| !m.is_identity());
        f
    };
    if normal(&job.filters) != normal(&options.filters) {
        let show = |f: &JobFilters| serde_json::to_string(&normal(f)).unwrap_or_default();
        return differs(format!(
            "filters {} instead of {}",
            show(&job.filters),
            show(&options.filters)
        ));
    }
    Ok(())
}

fn job_id() -> String {
    format!("{:x}-{:x}", unix_micros(), std::process::id())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_conn::ConnError;
    use ferry_wire::response::{ErrorDetails, ErrorResponse};

    fn request_error(source: ConnError) -> SessionError {
        SessionError::Request {
            node: "127.0.0.1:9042".parse().unwrap(),
            attempts: 1,
            source: Box::new(source),
        }
    }

    #[test]
    fn only_passing_errors_are_retried() {
        let server = |d| request_error(ConnError::Server(ErrorResponse::new(d, "x")));
        assert!(retryable(&server(ErrorDetails::Overloaded)));
        assert!(retryable(&request_error(ConnError::Timeout {
            what: "request".into(),
            after: Duration::from_secs(1)
        })));
        assert!(retryable(&SessionError::NoConnection { tried: vec![] }));
        assert!(!retryable(&server(ErrorDetails::Invalid)));
        assert!(!retryable(&server(ErrorDetails::Unauthorized)));
        assert!(!retryable(&SessionError::Values("x".into())));
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert!(
            backoff(0) >= Duration::from_millis(100) && backoff(0) < Duration::from_millis(151)
        );
        assert!(backoff(3) >= Duration::from_millis(800));
        assert!(backoff(30) <= Duration::from_millis(10_050));
    }

    #[test]
    fn a_progress_file_of_another_job_is_refused() {
        let job = JobRecord {
            format: 1,
            job_id: "j".into(),
            created_unix_ms: 0,
            timestamp_micros: 1,
            keyspace: "ks".into(),
            tables: vec!["a".into(), "b".into()],
            preserve_writetime: false,
            source_cluster: Some("prod".into()),
            partitioner: "Murmur3Partitioner".into(),
            filters: Default::default(),
        };
        let mut options = CopyOptions::new("ks");
        options.validate().unwrap();
        let src = Some("prod".to_owned());
        assert!(
            check_same_job(&job, &options, src.clone()).is_ok(),
            "all tables: the job's"
        );
        options.tables = vec!["b".into(), "a".into()];
        assert!(
            check_same_job(&job, &options, src.clone()).is_ok(),
            "order does not matter"
        );
        options.tables = vec!["a".into()];
        let e = check_same_job(&job, &options, src.clone())
            .unwrap_err()
            .to_string();
        assert!(e.contains("tables a, b instead of a"), "{e}");
        options.tables.clear();
        let e = check_same_job(&job, &options, Some("staging".into()))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("source cluster \"prod\" instead of \"staging\""),
            "{e}"
        );
        options.keyspace = "other".into();
        assert!(check_same_job(&job, &options, src).is_err());
    }
}
