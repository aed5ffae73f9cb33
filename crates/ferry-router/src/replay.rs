//! Applying a failed-write log to the target (`ferry-proxy replay`).
//!
//! Each record is sent as it was logged, in its protocol version, in its
//! keyspace; prepared statements are prepared again from their text and
//! their ids swapped in the body. Writes the proxy gave a timestamp carry
//! it in the body, so replaying a log twice (or a record the target did
//! apply after all) writes identical cells. Records that are not
//! idempotent (counter updates, lightweight transactions, writes without a
//! timestamp) are applied too unless `skip_non_idempotent` is set; the
//! report counts them.
//!
//! ```no_run
//! # async fn demo() -> Result<(), ferry_router::replay::ReplayError> {
//! use ferry_conn::ConnectionConfig;
//! use ferry_router::replay::{replay, ReplayOptions};
//! let report = replay("failed-writes.log", &ReplayOptions::new(ConnectionConfig::new("10.0.0.9:9042"))).await?;
//! println!("{} applied, {} failed", report.applied, report.failed.len());
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use ferry_conn::{Connection, ConnectionConfig};
use ferry_wire::response::ErrorCode;
use ferry_wire::ProtocolVersion;

use crate::failed_log::{read_log, FailedWrite, LogError};
use crate::id_rewrite::{locate_prepared_ids, splice_ids, IdKind};
use crate::prepared::TargetIds;
use crate::responses::{error_of, is_retryable};

/// Attempts per record for transient errors.
const ATTEMPTS: u32 = 4;

/// How to replay.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    /// The target (address, TLS, credentials). The protocol version is
    /// pinned per record.
    pub target: ConnectionConfig,
    /// Skip records that are not idempotent instead of applying them.
    pub skip_non_idempotent: bool,
}

impl ReplayOptions {
    /// Applies every record to `target`.
    pub fn new(target: ConnectionConfig) -> Self {
        Self {
            target,
            skip_non_idempotent: false,
        }
    }
}

/// A record that could not be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayFailure {
    /// Its offset in the log.
    pub offset: u64,
    /// Why.
    pub reason: String,
}

/// What a replay did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// Records read.
    pub records: u64,
    /// Records applied.
    pub applied: u64,
    /// Of those, records that were not idempotent.
    pub applied_non_idempotent: u64,
    /// Records skipped (`skip_non_idempotent`).
    pub skipped: u64,
    /// Records that failed.
    pub failed: Vec<ReplayFailure>,
}

/// Why a replay stopped early.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The log cannot be read past some point; what came before was
    /// replayed (see `report`).
    #[error("{source} (replayed before that: {} applied, {} failed)", report.applied, report.failed.len())]
    Log {
        /// The read error, with the record's offset.
        #[source]
        source: LogError,
        /// What was done before the error.
        report: ReplayReport,
    },
}

/// One target connection per protocol version, with what it prepared.
struct Link {
    conn: Connection,
    keyspace: Option<String>,
    prepared: HashMap<(Option<String>, String), TargetIds>,
}

/// Replays the log at `path` onto the target.
pub async fn replay(
    path: impl AsRef<Path>,
    options: &ReplayOptions,
) -> Result<ReplayReport, ReplayError> {
    let mut report = ReplayReport::default();
    let records = match read_log(path) {
        Ok(r) => r,
        Err(source) => return Err(ReplayError::Log { source, report }),
    };
    let mut links: HashMap<ProtocolVersion, Link> = HashMap::new();
    for item in records {
        let (offset, record) = match item {
            Ok(r) => r,
            Err(source) => return Err(ReplayError::Log { source, report }),
        };
        report.records += 1;
        if !record.idempotent && options.skip_non_idempotent {
            report.skipped += 1;
            continue;
        }
        match apply(&mut links, options, &record).await {
            Ok(()) => {
                report.applied += 1;
                if !record.idempotent {
                    report.applied_non_idempotent += 1;
                }
            }
            Err(reason) => {
                tracing::warn!(offset, reason, "replay: record not applied");
                report.failed.push(ReplayFailure { offset, reason });
            }
        }
    }
    for (_, link) in links {
        link.conn.close().await;
    }
    Ok(report)
}

/// Applies one record, retrying transient failures.
async fn apply(
    links: &mut HashMap<ProtocolVersion, Link>,
    options: &ReplayOptions,
    record: &FailedWrite,
) -> Result<(), String> {
    let mut last = String::new();
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
        }
        match apply_once(links, options, record).await {
            Ok(()) => return Ok(()),
            Err(Failure::Retryable(why)) => last = why,
            Err(Failure::Final(why)) => return Err(why),
        }
    }
    Err(format!("{last} (after {ATTEMPTS} attempts)"))
}

enum Failure {
    Retryable(String),
    Final(String),
}

async fn apply_once(
    links: &mut HashMap<ProtocolVersion, Link>,
    options: &ReplayOptions,
    record: &FailedWrite,
) -> Result<(), Failure> {
    let link = link_for(links, options, record.version).await?;
    let mut reprepared = false;
    loop {
        let body = target_body(link, record, reprepared).await?;
        use_keyspace(link, record.keyspace.as_deref()).await?;
        let frame = match link
            .conn
            .send_raw_with_flags(record.opcode, record.flags, body)
            .await
        {
            Ok(f) => f,
            Err(e) => {
                let fatal = e.is_fatal();
                let why = e.to_string();
                if fatal {
                    links.remove(&record.version);
                }
                return Err(Failure::Retryable(why));
            }
        };
        match error_of(&frame) {
            None => return Ok(()),
            Some(e) if e.code() == ErrorCode::UNPREPARED && !reprepared => reprepared = true,
            Some(e) if is_retryable(&e) => return Err(Failure::Retryable(e.to_string())),
            Some(e) => return Err(Failure::Final(e.to_string())),
        }
    }
}

async fn link_for<'a>(
    links: &'a mut HashMap<ProtocolVersion, Link>,
    options: &ReplayOptions,
    version: ProtocolVersion,
) -> Result<&'a mut Link, Failure> {
    if links.get(&version).is_some_and(|l| l.conn.is_closed()) {
        links.remove(&version);
    }
    if let std::collections::hash_map::Entry::Vacant(slot) = links.entry(version) {
        let config = options.target.clone().with_pinned_version(version);
        let conn = Connection::connect(&config)
            .await
            .map_err(|e| Failure::Retryable(e.to_string()))?;
        slot.insert(Link {
            conn,
            keyspace: None,
            prepared: HashMap::new(),
        });
    }
    links
        .get_mut(&version)
        .ok_or_else(|| Failure::Final("no connection".into()))
}

async fn use_keyspace(link: &mut Link, keyspace: Option<&str>) -> Result<(), Failure> {
    let Some(ks) = keyspace else { return Ok(()) };
    if link.keyspace.as_deref() == Some(ks) {
        return Ok(());
    }
    link.conn.use_keyspace(ks).await.map_err(|e| match e {
        ferry_conn::ConnError::Server(e) if !is_retryable(&e) => Failure::Final(e.to_string()),
        e => Failure::Retryable(e.to_string()),
    })?;
    link.keyspace = Some(ks.to_owned());
    Ok(())
}

/// The record's body with its prepared ids swapped for the target's.
async fn target_body(link: &mut Link, record: &FailedWrite, fresh: bool) -> Result<Bytes, Failure> {
    if record.statements.is_empty() {
        return Ok(record.body.clone());
    }
    let mut ids: Vec<(Bytes, TargetIds)> = Vec::with_capacity(record.statements.len());
    for s in &record.statements {
        let keyspace = s.keyspace.clone().or_else(|| record.keyspace.clone());
        let key = (keyspace.clone(), s.text.clone());
        let known = if fresh {
            None
        } else {
            link.prepared.get(&key).cloned()
        };
        let target = match known {
            Some(t) => t,
            None => {
                use_keyspace(link, keyspace.as_deref()).await?;
                let p = link.conn.prepare(&s.text).await.map_err(|e| match e {
                    ferry_conn::ConnError::Server(e) if !is_retryable(&e) => {
                        Failure::Final(format!("cannot prepare {:?} on the target: {e}", s.text))
                    }
                    e => Failure::Retryable(e.to_string()),
                })?;
                let t = TargetIds {
                    id: p.id,
                    result_metadata_id: p.result_metadata_id,
                };
                link.prepared.insert(key, t.clone());
                t
            }
        };
        ids.push((s.id.clone(), target));
    }
    let slots = locate_prepared_ids(record.opcode, record.version, record.flags, &record.body)
        .map_err(|e| Failure::Final(format!("malformed body: {e}")))?;
    let mut last: Option<TargetIds> = None;
    splice_ids(&record.body, &slots, |slot| match slot.kind {
        IdKind::Statement => {
            last = ids
                .iter()
                .find(|(id, _)| *id == slot.id)
                .map(|(_, t)| t.clone());
            last.as_ref().map(|t| t.id.clone())
        }
        IdKind::ResultMetadata => last.as_ref().and_then(|t| t.result_metadata_id.clone()),
    })
    .map_err(|e| Failure::Final(e.to_string()))
}
