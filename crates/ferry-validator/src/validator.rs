//! Running a validation: tables one after the other, each table's ranges in
//! parallel, differences re-checked (and repaired) as they come.

use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use ferry_conn::session::{Session, SessionConfig};
use ferry_conn::token::TokenRange;
use futures::StreamExt;

use crate::checkpoint::Checkpoint;
use crate::config::ValidatorConfig;
use crate::error::{Side, ValidateError};
use crate::merge::Found;
use crate::progress::Progress;
use crate::projection::Projection;
use crate::ranges::{plan_ranges, sample_ranges, unwrap_ranges};
use crate::report::{Counts, RepairCounts, Report, TableReport};
use crate::schema::{common_schema, list_tables, read_table_schema};
use crate::table::TableContext;
use crate::tally::{Outcome, Tally};
use ferry_conn::rate_limit::RateLimiter;

/// Validates tables of a target cluster against a source cluster.
///
/// ```no_run
/// # async fn demo() -> Result<(), ferry_validator::ValidateError> {
/// use ferry_conn::session::SessionConfig;
/// use ferry_validator::{TableRef, Validator, ValidatorConfig};
/// let config = ValidatorConfig::new(vec![TableRef::keyspace("shop")]);
/// let validator = Validator::connect(
///     SessionConfig::new(["10.0.0.1"]),
///     SessionConfig::new(["10.1.0.1"]),
///     config,
/// ).await?;
/// let report = validator.run().await;
/// println!("{}", report.summary(20));
/// std::process::exit(report.exit_code());
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Validator {
    source: Session,
    target: Session,
    config: Arc<ValidatorConfig>,
    progress: Arc<Progress>,
    limiters: [Option<Arc<RateLimiter>>; 2],
    checkpoint: Option<Arc<Checkpoint>>,
}

impl Validator {
    /// A validator over two connected sessions (opening the checkpoint
    /// file, if configured).
    pub fn new(
        source: Session,
        target: Session,
        config: ValidatorConfig,
    ) -> Result<Self, ValidateError> {
        config.validate()?;
        let limiters = [
            config
                .source_rows_per_second
                .map(|r| Arc::new(RateLimiter::new(r as f64))),
            config
                .target_rows_per_second
                .map(|r| Arc::new(RateLimiter::new(r as f64))),
        ];
        let checkpoint = match &config.checkpoint {
            Some(path) => Some(Arc::new(Checkpoint::open(path)?)),
            None => None,
        };
        Ok(Self {
            source,
            target,
            config: Arc::new(config),
            progress: Arc::new(Progress::new()),
            limiters,
            checkpoint,
        })
    }

    /// Connects to both clusters (prefetching pages, so each side's next
    /// page is on its way while the current one is compared).
    pub async fn connect(
        source: SessionConfig,
        target: SessionConfig,
        config: ValidatorConfig,
    ) -> Result<Self, ValidateError> {
        config.validate()?;
        let (s, t) = tokio::join!(
            Session::connect(source.with_prefetch(true)),
            Session::connect(target.with_prefetch(true))
        );
        let s = s.map_err(|e| ValidateError::session(Side::Source, e))?;
        let t = t.map_err(|e| ValidateError::session(Side::Target, e))?;
        Self::new(s, t, config)
    }

    /// The live progress, for a progress line.
    pub fn progress(&self) -> Arc<Progress> {
        self.progress.clone()
    }

    /// The configuration.
    pub fn config(&self) -> &ValidatorConfig {
        &self.config
    }

    /// The source session.
    pub fn source(&self) -> &Session {
        &self.source
    }

    /// The target session.
    pub fn target(&self) -> &Session {
        &self.target
    }

    /// Validates every configured table. Never fails as a whole: errors are
    /// in the report (and make its status [`Status::Error`](crate::Status)).
    pub async fn run(&self) -> Report {
        let started = Instant::now();
        let mut report = Report {
            source: self.source.config().contact_points.join(","),
            target: self.target.config().contact_points.join(","),
            started_at_unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            duration_secs: 0.0,
            status: crate::report::Status::Equal,
            totals: Counts::default(),
            tables: Vec::new(),
            errors: Vec::new(),
        };
        let mut tables = Vec::new();
        for selection in &self.config.tables {
            match &selection.table {
                Some(t) => tables.push((selection.keyspace.clone(), t.clone())),
                None => match list_tables(&self.source, Side::Source, &selection.keyspace).await {
                    Ok(found) if found.is_empty() => report.errors.push(format!(
                        "keyspace {} has no tables on the source",
                        selection.keyspace
                    )),
                    Ok(found) => {
                        tables.extend(found.into_iter().map(|t| (selection.keyspace.clone(), t)))
                    }
                    Err(e) => report.errors.push(e.to_string()),
                },
            }
        }
        for (keyspace, table) in tables {
            report
                .tables
                .push(self.validate_table(&keyspace, &table).await);
        }
        report.duration_secs = started.elapsed().as_secs_f64();
        report.settle();
        report
    }

    /// The token ranges a table is scanned in.
    fn plan(&self) -> Result<(Vec<TokenRange>, Option<f64>), ValidateError> {
        let ring = self.source.ring().ok_or_else(|| {
            ValidateError::Config(format!(
                "the source's partitioner ({}) has no token ring Ferry can compute",
                self.source
                    .partitioner_class()
                    .unwrap_or_else(|| "unknown".into())
            ))
        })?;
        let partitioner = ring.partitioner();
        if self.target.partitioner() != Some(partitioner) {
            return Err(ValidateError::Config(format!(
                "the clusters use different partitioners (source {}, target {}): the same token \
                 range would hold different rows",
                partitioner,
                self.target
                    .partitioner_class()
                    .unwrap_or_else(|| "unknown".into())
            )));
        }
        let ranges = match &self.config.ranges {
            Some(given) => {
                if given.iter().any(|r| r.partitioner() != partitioner) {
                    return Err(ValidateError::Config(format!(
                        "the given token ranges are not {partitioner} ranges"
                    )));
                }
                unwrap_ranges(given)
            }
            None => {
                let primary: Vec<TokenRange> = ring.ranges().iter().map(|p| p.range).collect();
                let target = self
                    .config
                    .splits
                    .unwrap_or_else(|| (self.config.parallelism * 8).max(primary.len()));
                plan_ranges(&primary, target)
            }
        };
        Ok(match self.config.sample_percent {
            Some(p) if p < 100.0 => (sample_ranges(&ranges, p, self.config.sample_seed), Some(p)),
            _ => (ranges, None),
        })
    }

    /// Validates one table.
    pub async fn validate_table(&self, keyspace: &str, table: &str) -> TableReport {
        let started = Instant::now();
        let mut report = TableReport::new(keyspace, table);
        if let Err(e) = self.validate_table_into(keyspace, table, &mut report).await {
            report.errors.push(e.to_string());
        }
        report.duration_secs = started.elapsed().as_secs_f64();
        if report.duration_secs > 0.0 {
            report.rows_per_second = (report.counts.source_rows + report.counts.target_rows) as f64
                / report.duration_secs;
        }
        report.settle();
        report
    }

    async fn validate_table_into(
        &self,
        keyspace: &str,
        table: &str,
        report: &mut TableReport,
    ) -> Result<(), ValidateError> {
        let (source_schema, target_schema) = tokio::join!(
            read_table_schema(&self.source, Side::Source, keyspace, table),
            read_table_schema(&self.target, Side::Target, keyspace, table)
        );
        let (schema, notes) = common_schema(&source_schema?, &target_schema?)?;
        report.notes.extend(notes);
        let partitioner = self.source.partitioner().ok_or_else(|| {
            ValidateError::Config("the source's partitioner is not supported".into())
        })?;
        let (ranges, sampled) = self.plan()?;
        report.ranges_planned = ranges.len();
        report.sampled_percent = sampled;
        if self.config.repair {
            report.repair = Some(RepairCounts::default());
            if schema.is_counter_table() {
                report
                    .notes
                    .push("counter table: differences are reported, not repaired".into());
            }
        }
        let cell_metadata = self.config.compare.needs_cell_metadata() || self.config.repair;
        let projection = Projection::new(schema, partitioner, cell_metadata);
        let context = Arc::new(
            TableContext::new(
                self.source.clone(),
                self.target.clone(),
                projection,
                self.config.clone(),
                self.limiters.clone(),
                self.progress.clone(),
            )
            .await?,
        );
        let tokens: f64 = ranges.iter().map(|r| r.token_count() as f64).sum();
        self.progress
            .start_table(format!("{keyspace}.{table}"), ranges.len() as u64, tokens);

        let mut tally = Tally::new(
            keyspace,
            table,
            self.config.max_differences,
            self.config.repair,
            self.checkpoint.clone(),
        );
        let mut to_scan = Vec::new();
        for range in ranges {
            match self
                .checkpoint
                .as_ref()
                .and_then(|c| c.done(keyspace, table, &range))
            {
                Some(record) => {
                    tally.resume(record);
                    self.progress.range_done(
                        range.token_count() as f64,
                        record.counts.persistent_differences(),
                    );
                }
                None => to_scan.push(range),
            }
        }
        if tally.resumed() > 0 {
            report.notes.push(format!(
                "{} of {} ranges resumed from the checkpoint",
                tally.resumed(),
                report.ranges_planned
            ));
        }
        let tally = Arc::new(Mutex::new(tally));
        let (sender, receiver) = tokio::sync::mpsc::channel::<(usize, Found)>(1024);

        let scanner = {
            let context = context.clone();
            let tally = tally.clone();
            let progress = self.progress.clone();
            let max_rechecks = self.config.max_rechecks;
            async move {
                let sender = sender;
                let mut sent = 0u64;
                let mut results = futures::stream::iter(to_scan.into_iter().enumerate())
                    .map(|(id, range)| {
                        let context = context.clone();
                        let task = tokio::spawn(context.scan_range(range));
                        async move { (id, range, task.await) }
                    })
                    .buffer_unordered(self.config.parallelism);
                while let Some((id, range, outcome)) = results.next().await {
                    let result = match outcome {
                        Ok(Ok(result)) => result,
                        Ok(Err(e)) => {
                            lock(&tally).range_failed(format!("range {range}: {e}"));
                            continue;
                        }
                        Err(e) => {
                            lock(&tally).range_failed(format!("range {range}: task failed: {e}"));
                            continue;
                        }
                    };
                    progress.range_done(range.token_count() as f64, result.found_counts.total());
                    let found = lock(&tally).add_range(id, range, result);
                    for f in found {
                        if sent < max_rechecks {
                            sent += 1;
                            lock(&tally).expect(id);
                            if sender.send((id, f)).await.is_err() {
                                break;
                            }
                        } else {
                            let mut tally = lock(&tally);
                            let record = tally.has_room(id).then(|| context.describe(&f, false));
                            tally.persistent(id, &f, false, record, None);
                        }
                    }
                    lock(&tally).scan_complete(id);
                }
            }
        };

        let checker = {
            let context = context.clone();
            let tally = tally.clone();
            let concurrency = self.config.recheck_concurrency;
            async move {
                let items = futures::stream::unfold(receiver, |mut rx| async move {
                    rx.recv().await.map(|f| (f, rx))
                });
                items
                    .map(|(id, found)| {
                        let context = context.clone();
                        let task = tokio::spawn(async move { process(&context, found).await });
                        async move { (id, task.await) }
                    })
                    .buffer_unordered(concurrency)
                    .for_each(|(id, outcome)| {
                        let tally = tally.clone();
                        let context = context.clone();
                        async move {
                            match outcome {
                                Ok(outcome) => lock(&tally).outcome(id, outcome, &context),
                                Err(e) => lock(&tally).error(format!("re-check task failed: {e}")),
                            }
                        }
                    })
                    .await;
            }
        };

        tokio::join!(scanner, checker);
        let tally = match Arc::try_unwrap(tally) {
            Ok(m) => m.into_inner().unwrap_or_else(|e| e.into_inner()),
            Err(_) => return Err(ValidateError::Config("internal: tally still shared".into())),
        };
        tally.into_report(report);
        Ok(())
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Re-checks `found` after the delay, and repairs it if it persists.
async fn process(context: &TableContext, found: Found) -> Outcome {
    let (now, rechecked) = match context.config.recheck_delay {
        Some(delay) => {
            tokio::time::sleep_until((found.found_at + delay).into()).await;
            (context.recheck(&found).await, true)
        }
        None => (Ok(Some(found.clone())), false),
    };
    let repair = match (&now, context.config.repair) {
        (Ok(Some(current)), true) => Some(context.repair(current).await),
        _ => None,
    };
    Outcome {
        original: found,
        now,
        rechecked,
        repair,
    }
}
