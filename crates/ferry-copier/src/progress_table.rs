//! The progress table: a job's progress kept in the TARGET cluster, so
//! that several `ferry-copy` processes, on several machines, share one job
//! by claiming its ranges.
//!
//! One table (created if missing) holds any number of jobs:
//!
//! ```text
//! CREATE TABLE ks.ferry_progress (
//!     job_id text, table_name text, range_index int,
//!     job text, plan text,                      -- the job row, the plan rows
//!     start_token text, end_token text,
//!     owner text, lease_until bigint, claims int, done boolean,
//!     rows bigint, bytes bigint, finished_at bigint, done_by text,
//!     PRIMARY KEY ((job_id, table_name, range_index)))
//! ```
//!
//! - **The job row** (`table_name = ''`, `range_index = -1`) holds the job
//!   record as JSON, **with the job's write timestamp**. The first worker
//!   creates it with `INSERT ... IF NOT EXISTS`; every other worker gets
//!   the stored one back and writes with the same timestamp, so a range
//!   redone by another worker is idempotent.
//! - **A plan row** per table (`range_index = -1`) holds its ranges, also
//!   first-writer-wins, so every worker scans the same ranges.
//! - **A range row** per range, created by its first claim. Claims are
//!   lightweight transactions (Paxos, serial consistency SERIAL, commit at
//!   QUORUM), one partition per range so that claims of different ranges
//!   never contend:
//!   - claim a new range: `INSERT ... IF NOT EXISTS` (claims = 1);
//!   - take over a range whose lease ran out (its worker died):
//!     `UPDATE ... SET owner, lease_until, claims = n + 1 IF claims = n
//!     AND lease_until = l AND done = false`: `claims` is a version
//!     number, so of two workers taking over at once one wins;
//!   - renew the lease while copying: `UPDATE ... IF claims = n AND done =
//!     false`;
//!   - record it done: `UPDATE ... SET done = true, rows, bytes,
//!     finished_at, done_by IF claims = n AND done = false`. A worker that
//!     lost its range (its lease ran out, another took it) cannot record
//!     it: a range is recorded done exactly once, and a done range is
//!     never claimed again.
//!
//! Leases are wall-clock times (ms since the epoch) of the worker that
//! wrote them: the lease must be much longer than the clock skew between
//! worker machines (the default, 60 s, is).

use std::time::Duration;

use ferry_conn::session::{QueryOptions, Row, Session, SessionError, Values};
use ferry_conn::token::{Partitioner, Token, TokenRange};
use ferry_wire::types::CqlValue;
use ferry_wire::Consistency;

use crate::error::{CopyError, Side};
use crate::progress::{unix_ms, JobRecord};
use crate::schema::{quote, SchemaReader};

/// The condition under which a worker still holds a range: its claim is the
/// latest and the range is not done.
const HELD: &str = "claims = ? AND done = false";

/// Ranges read per `IN (...)` query.
const STATE_CHUNK: usize = 100;

/// Result of trying to claim a range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This worker holds it now; `claims` is the claim's number (1 for
    /// the first claim, more for a takeover).
    Claimed {
        /// The claim number, to renew and finish with.
        claims: i32,
    },
    /// Already done (by any worker): never copied again.
    Done,
    /// Another worker holds it until `lease_until_ms`.
    Busy {
        /// Its owner.
        owner: String,
        /// When its lease runs out, ms since the epoch.
        lease_until_ms: i64,
    },
}

/// One range row, as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeState {
    /// The range's index in the table's plan.
    pub index: usize,
    /// The worker holding or having done it.
    pub owner: Option<String>,
    /// Lease end, ms since the epoch.
    pub lease_until_ms: i64,
    /// How many times it was claimed.
    pub claims: i32,
    /// Whether it is done.
    pub done: bool,
    /// Rows copied (when done).
    pub rows: u64,
    /// Bytes copied (when done).
    pub bytes: u64,
    /// When it was recorded done, ms since the epoch.
    pub finished_ms: i64,
    /// The worker that recorded it done.
    pub done_by: Option<String>,
}

/// A progress table, for one job and one worker.
///
/// ```no_run
/// # async fn demo(target: ferry_conn::session::Session) -> Result<(), ferry_copier::CopyError> {
/// use std::time::Duration;
/// use ferry_copier::progress_table::ProgressTable;
/// let table = ProgressTable::open(&target, "ferry.progress", "shop-job", "worker-1", Duration::from_secs(60)).await?;
/// for state in table.states("orders", 256).await? {
///     println!("range {}: done {} by {:?}", state.index, state.done, state.done_by);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ProgressTable {
    session: Session,
    /// `"ks"."t"`.
    name: String,
    /// `ks.t`, for messages.
    display: String,
    job_id: String,
    worker: String,
    lease: Duration,
}

impl ProgressTable {
    /// Opens the progress table `qualified` (`keyspace.table`) in the
    /// target cluster, creating the table if it is missing (its keyspace
    /// must exist). `worker` names this process in the table; `lease` is
    /// how long a claim lasts without renewal.
    pub async fn open(
        target: &Session,
        qualified: &str,
        job_id: &str,
        worker: &str,
        lease: Duration,
    ) -> Result<Self, CopyError> {
        let (keyspace, table) = qualified.split_once('.').ok_or_else(|| {
            CopyError::Options(format!(
                "--progress-table {qualified:?}: expected KEYSPACE.TABLE"
            ))
        })?;
        if keyspace.is_empty() || table.is_empty() || job_id.is_empty() || worker.is_empty() {
            return Err(CopyError::Options(format!(
                "--progress-table {qualified:?}, job id {job_id:?}, worker {worker:?}: none may be empty"
            )));
        }
        let this = Self {
            session: target.clone(),
            name: format!("{}.{}", quote(keyspace), quote(table)),
            display: qualified.to_owned(),
            job_id: job_id.to_owned(),
            worker: worker.to_owned(),
            lease,
        };
        let reader = SchemaReader::new(target, Side::Target);
        if !reader.keyspace_exists(keyspace).await? {
            return Err(CopyError::Options(format!(
                "--progress-table {qualified}: keyspace {keyspace} does not exist on the target cluster; \
                 create it first (with the replication you want for the progress records)"
            )));
        }
        if !reader.tables(keyspace).await?.iter().any(|t| t == table) {
            // Concurrent CREATEs of one table on Cassandra before 4.0 can
            // leave nodes with different table ids: create it before
            // starting many workers at once (docs/bulk-copy.md).
            tracing::info!(table = %qualified, "creating the progress table");
            this.run(
                &this.create_cql(),
                Values::None,
                "creating the progress table",
            )
            .await?;
            let _ = target.await_schema_agreement().await;
        }
        Ok(this)
    }

    /// The CQL that creates the table.
    pub fn create_cql(&self) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {} (job_id text, table_name text, range_index int, \
             job text, plan text, start_token text, end_token text, owner text, \
             lease_until bigint, claims int, done boolean, rows bigint, bytes bigint, \
             finished_at bigint, done_by text, \
             PRIMARY KEY ((job_id, table_name, range_index)))",
            self.name
        )
    }

    /// This worker's name.
    pub fn worker(&self) -> &str {
        &self.worker
    }

    /// The table, `keyspace.table`.
    pub fn display_name(&self) -> &str {
        &self.display
    }

    /// The lease of a claim.
    pub fn lease(&self) -> Duration {
        self.lease
    }

    /// Stores `job` as the job's record unless one is stored already;
    /// returns the stored one (which wins: its timestamp is the job's).
    pub async fn register_job(&self, job: &JobRecord) -> Result<JobRecord, CopyError> {
        let json = serde_json::to_string(job)
            .map_err(|e| self.error(format!("cannot encode the job: {e}")))?;
        let Some(row) = self
            .insert_once("", "job", json, "registering the job")
            .await?
        else {
            return Ok(job.clone());
        };
        let stored = text(&row, "job").ok_or_else(|| {
            self.error(format!(
                "job {} has a row without a job record",
                self.job_id
            ))
        })?;
        serde_json::from_str(&stored).map_err(|e| {
            self.error(format!(
                "the stored record of job {} is not valid: {e}",
                self.job_id
            ))
        })
    }

    /// Stores `plan` as `table`'s ranges unless some are stored already;
    /// returns the stored ones.
    pub async fn register_plan(
        &self,
        table: &str,
        plan: &[TokenRange],
        partitioner: Partitioner,
    ) -> Result<Vec<TokenRange>, CopyError> {
        let pairs: Vec<(String, String)> = plan
            .iter()
            .map(|r| (r.start().to_string(), r.end().to_string()))
            .collect();
        let json = serde_json::to_string(&pairs)
            .map_err(|e| self.error(format!("cannot encode the plan: {e}")))?;
        let Some(row) = self
            .insert_once(table, "plan", json, "registering the plan")
            .await?
        else {
            return Ok(plan.to_vec());
        };
        let stored = text(&row, "plan").ok_or_else(|| {
            self.error(format!("job {} table {table}: no stored plan", self.job_id))
        })?;
        let pairs: Vec<(String, String)> = serde_json::from_str(&stored)
            .map_err(|e| self.error(format!("the stored plan of {table} is not valid: {e}")))?;
        pairs
            .iter()
            .map(|(s, e)| {
                let s = Token::parse(partitioner, s).map_err(|x| x.to_string())?;
                let e = Token::parse(partitioner, e).map_err(|x| x.to_string())?;
                TokenRange::new(s, e).map_err(|x| x.to_string())
            })
            .collect::<Result<Vec<_>, String>>()
            .map_err(|e| self.error(format!("the stored plan of {table}: {e}")))
    }

    /// The range rows of `table` among indexes `0..count` (ranges never
    /// claimed have none).
    pub async fn states(&self, table: &str, count: usize) -> Result<Vec<RangeState>, CopyError> {
        let mut out = Vec::new();
        let indexes: Vec<usize> = (0..count).collect();
        for chunk in indexes.chunks(STATE_CHUNK) {
            let list = chunk
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            let cql = format!(
                "SELECT range_index, owner, lease_until, claims, done, rows, bytes, finished_at, done_by \
                 FROM {} WHERE job_id = ? AND table_name = ? AND range_index IN ({list})",
                self.name
            );
            let values = Values::Positional(vec![
                Some(self.job_id.clone().into()),
                Some(table.to_owned().into()),
            ]);
            let options = QueryOptions::new()
                .with_consistency(Consistency::Quorum)
                .idempotent(true);
            let rows = self
                .session
                .query(&cql, values, options)
                .await
                .and_then(|r| r.into_rows())
                .map_err(|e| self.request_error("reading the range states", e))?;
            out.extend(rows.iter().filter_map(|r| range_state(r, None)));
        }
        out.sort_by_key(|s| s.index);
        Ok(out)
    }

    /// Tries to claim range `index` (`range`) of `table`. A range left
    /// unfinished under this worker's own name (by an earlier process with
    /// the same worker id) is taken back at once; so two live processes
    /// must never share a worker id (they would redo each other's ranges:
    /// harmless, but wasted).
    pub async fn claim(
        &self,
        table: &str,
        index: usize,
        range: &TokenRange,
    ) -> Result<Claim, CopyError> {
        let now = unix_ms_i64();
        let lease_until = now + self.lease_ms();
        let cql = format!(
            "INSERT INTO {} (job_id, table_name, range_index, start_token, end_token, owner, lease_until, claims, done) \
             VALUES (?, ?, ?, ?, ?, ?, ?, 1, false) IF NOT EXISTS",
            self.name
        );
        let row = self
            .lwt(
                &cql,
                vec![
                    self.job_id.clone().into(),
                    table.to_owned().into(),
                    index_value(index),
                    range.start().to_string().into(),
                    range.end().to_string().into(),
                    self.worker.clone().into(),
                    lease_until.into(),
                ],
                "claiming a range",
            )
            .await?;
        if applied(&row) {
            return Ok(Claim::Claimed { claims: 1 });
        }
        let state = range_state(&row, Some(index))
            .ok_or_else(|| self.error(format!("range {index} of {table}: unreadable state")))?;
        if state.done {
            return Ok(Claim::Done);
        }
        // Our own insert, applied by an attempt that timed out.
        if state.owner.as_deref() == Some(&self.worker) && state.lease_until_ms == lease_until {
            return Ok(Claim::Claimed {
                claims: state.claims,
            });
        }
        // Held under our own name but not by this process: a previous
        // incarnation of this worker (a pod restarted in place) that died
        // holding it. Take it back now rather than after the lease.
        let ours = state.owner.as_deref() == Some(&self.worker);
        if state.lease_until_ms > now && !ours {
            return Ok(Claim::Busy {
                owner: state.owner.unwrap_or_default(),
                lease_until_ms: state.lease_until_ms,
            });
        }
        self.take_over(table, index, &state).await
    }

    /// Takes over a range whose lease ran out.
    async fn take_over(
        &self,
        table: &str,
        index: usize,
        state: &RangeState,
    ) -> Result<Claim, CopyError> {
        let lease_until = unix_ms_i64() + self.lease_ms();
        let claims = state.claims.saturating_add(1);
        tracing::info!(
            table,
            range = index,
            previous_owner = state.owner.as_deref().unwrap_or("?"),
            "taking over a range whose lease ran out"
        );
        let set = [
            self.worker.clone().into(),
            lease_until.into(),
            claims.into(),
        ];
        // Only if nobody took it over or finished it since it was read.
        let expected = [state.claims.into(), state.lease_until_ms.into()];
        let row = self
            .update_range(
                (table, index),
                ("owner = ?, lease_until = ?, claims = ?", &set),
                ("claims = ? AND lease_until = ? AND done = false", &expected),
                "taking over a range",
            )
            .await?;
        if applied(&row) {
            return Ok(Claim::Claimed { claims });
        }
        // The row now: done, or someone else's (try again after its lease).
        let now_claims = int(&row, "claims").unwrap_or(0);
        let now_lease = bigint(&row, "lease_until").unwrap_or(0);
        if boolean(&row, "done") == Some(true) {
            return Ok(Claim::Done);
        }
        if now_claims == claims && now_lease == lease_until {
            return Ok(Claim::Claimed { claims });
        }
        Ok(Claim::Busy {
            owner: String::new(),
            lease_until_ms: now_lease,
        })
    }

    /// Extends the lease of a range this worker holds (claim `claims`);
    /// `false` if it lost the range.
    pub async fn renew(&self, table: &str, index: usize, claims: i32) -> Result<bool, CopyError> {
        let lease_until = unix_ms_i64() + self.lease_ms();
        self.set_lease(table, index, claims, lease_until, "renewing a lease")
            .await
    }

    /// Records a range this worker holds as done; `false` if it lost the
    /// range (another worker will record it).
    pub async fn finish(
        &self,
        table: &str,
        index: usize,
        claims: i32,
        rows: u64,
        bytes: u64,
    ) -> Result<bool, CopyError> {
        let set = [
            i64::try_from(rows).unwrap_or(i64::MAX).into(),
            i64::try_from(bytes).unwrap_or(i64::MAX).into(),
            unix_ms_i64().into(),
            self.worker.clone().into(),
        ];
        let row = self
            .update_range(
                (table, index),
                (
                    "done = true, rows = ?, bytes = ?, finished_at = ?, done_by = ?",
                    &set,
                ),
                (HELD, &[claims.into()]),
                "recording a range as done",
            )
            .await?;
        // Not applied but done under our claim: our earlier attempt (which
        // timed out) did it.
        Ok(applied(&row)
            || (boolean(&row, "done") == Some(true) && int(&row, "claims") == Some(claims)))
    }

    /// Gives a held range back (its lease ends now), so another worker
    /// takes it at once instead of after the lease.
    pub async fn release(&self, table: &str, index: usize, claims: i32) -> Result<(), CopyError> {
        self.set_lease(table, index, claims, 0, "releasing a range")
            .await
            .map(|_| ())
    }

    /// Sets the lease of range `index` of `table` to `lease_until` if this
    /// worker still holds it under claim `claims`; whether it did.
    async fn set_lease(
        &self,
        table: &str,
        index: usize,
        claims: i32,
        lease_until: i64,
        what: &str,
    ) -> Result<bool, CopyError> {
        let row = self
            .update_range(
                (table, index),
                ("lease_until = ?", &[lease_until.into()]),
                (HELD, &[claims.into()]),
                what,
            )
            .await?;
        Ok(applied(&row))
    }

    /// Inserts the row (`table`, -1) with `json` in `column` unless it
    /// exists: `None` if this call wrote it, else the row that was there
    /// (first writer wins).
    async fn insert_once(
        &self,
        table: &str,
        column: &str,
        json: String,
        what: &str,
    ) -> Result<Option<Row>, CopyError> {
        let cql = format!(
            "INSERT INTO {} (job_id, table_name, range_index, {column}) VALUES (?, ?, -1, ?) IF NOT EXISTS",
            self.name
        );
        let values = vec![
            self.job_id.clone().into(),
            table.to_owned().into(),
            json.into(),
        ];
        let row = self.lwt(&cql, values, what).await?;
        Ok((!applied(&row)).then_some(row))
    }

    /// Runs `UPDATE .. SET <set> WHERE <the key of range index of table>
    /// IF <condition>` as a lightweight transaction; `set` and `condition`
    /// each come with the values of their bind markers.
    async fn update_range(
        &self,
        (table, index): (&str, usize),
        (set, set_values): (&str, &[CqlValue]),
        (condition, condition_values): (&str, &[CqlValue]),
        what: &str,
    ) -> Result<Row, CopyError> {
        let cql = format!(
            "UPDATE {} SET {set} WHERE job_id = ? AND table_name = ? AND range_index = ? IF {condition}",
            self.name
        );
        let key = [
            self.job_id.clone().into(),
            table.to_owned().into(),
            index_value(index),
        ];
        let values = [set_values, &key, condition_values].concat();
        self.lwt(&cql, values, what).await
    }

    fn lease_ms(&self) -> i64 {
        i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX / 4)
    }

    /// Runs a lightweight transaction; returns its result row. Errors
    /// that may pass (timeouts, overload, including a Paxos round that
    /// timed out) are retried: every statement here can tell from the
    /// returned row whether an earlier attempt was applied.
    async fn lwt(&self, cql: &str, values: Vec<CqlValue>, what: &str) -> Result<Row, CopyError> {
        let values = Values::Positional(values.into_iter().map(Some).collect());
        let mut attempt = 0u32;
        loop {
            let options = QueryOptions::new()
                .with_consistency(Consistency::Quorum)
                .with_serial_consistency(Consistency::Serial)
                .idempotent(false);
            match self
                .session
                .query(cql, values.clone(), options)
                .await
                .and_then(|r| r.into_rows())
            {
                Ok(rows) => {
                    return rows
                        .into_iter()
                        .next()
                        .ok_or_else(|| self.error(format!("{what}: the server returned no row")))
                }
                Err(e) if attempt < 8 && passing(&e) => {
                    tracing::debug!(error = %e, attempt, "{what}: retrying");
                    tokio::time::sleep(Duration::from_millis(100 << attempt.min(5))).await;
                    attempt += 1;
                }
                Err(e) => return Err(self.request_error(what, e)),
            }
        }
    }

    async fn run(&self, cql: &str, values: Values, what: &str) -> Result<(), CopyError> {
        self.session
            .query(
                cql,
                values,
                QueryOptions::new().with_consistency(Consistency::Quorum),
            )
            .await
            .map(|_| ())
            .map_err(|e| self.request_error(what, e))
    }

    fn error(&self, message: String) -> CopyError {
        CopyError::Options(format!("progress table {}: {message}", self.display))
    }

    fn request_error(&self, what: &str, source: SessionError) -> CopyError {
        CopyError::Request {
            side: Side::Target,
            what: format!("progress table {}: {what}", self.display),
            source,
        }
    }
}

/// A default worker name: host name, process id and a few clock bits, so
/// two processes never share one (in Kubernetes the host name is the
/// pod's name).
///
/// ```
/// let a = ferry_copier::progress_table::default_worker_id();
/// assert!(a.contains(&std::process::id().to_string()));
/// ```
pub fn default_worker_id() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
        })
        .unwrap_or_else(|| "host".into());
    let salt = crate::progress::unix_micros() & 0xffff;
    format!("{host}-{}-{salt:04x}", std::process::id())
}

fn unix_ms_i64() -> i64 {
    i64::try_from(unix_ms()).unwrap_or(i64::MAX)
}

fn index_value(index: usize) -> CqlValue {
    CqlValue::Int(i32::try_from(index).unwrap_or(i32::MAX))
}

fn passing(e: &SessionError) -> bool {
    match e {
        SessionError::NoConnection { .. } => true,
        SessionError::Request { source, .. } => !matches!(
            ferry_conn::session::ErrorClass::of(source),
            ferry_conn::session::ErrorClass::Other
        ),
        _ => false,
    }
}

fn applied(row: &Row) -> bool {
    boolean(row, "[applied]") == Some(true)
}

fn text(row: &Row, name: &str) -> Option<String> {
    row.by_name(name)?.as_text().map(str::to_owned)
}

fn bigint(row: &Row, name: &str) -> Option<i64> {
    row.by_name(name)?.as_i64()
}

fn int(row: &Row, name: &str) -> Option<i32> {
    i32::try_from(row.by_name(name)?.as_i64()?).ok()
}

fn boolean(row: &Row, name: &str) -> Option<bool> {
    match row.by_name(name)? {
        CqlValue::Boolean(b) => Some(*b),
        _ => None,
    }
}

/// The state in a row; `index` when the row does not carry it.
fn range_state(row: &Row, index: Option<usize>) -> Option<RangeState> {
    let index = match int(row, "range_index") {
        Some(i) => usize::try_from(i).ok()?,
        None => index?,
    };
    Some(RangeState {
        index,
        owner: text(row, "owner"),
        lease_until_ms: bigint(row, "lease_until").unwrap_or(0),
        claims: int(row, "claims").unwrap_or(0),
        done: boolean(row, "done").unwrap_or(false),
        rows: bigint(row, "rows").map_or(0, |v| v.max(0) as u64),
        bytes: bigint(row, "bytes").map_or(0, |v| v.max(0) as u64),
        finished_ms: bigint(row, "finished_at").unwrap_or(0),
        done_by: text(row, "done_by"),
    })
}
