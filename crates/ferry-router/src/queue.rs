//! The bounded queue of async target writes, its retries, and the
//! failed-write log behind it.
//!
//! The queue is a semaphore of `capacity` permits: a write takes a permit
//! when its request arrives (so the bound covers writes waiting for the
//! source's answer, waiting to be retried, and in flight on the target) and
//! gives it back when the target applied it or it went to the log. Each
//! admitted write is a future run by its target leg's mirror driver (one
//! task per client connection, see [`TargetQueue::submit`]): it tries,
//! backs off, tries again, and appends itself to the failed-write log when
//! it runs out of retries, when the error cannot be fixed by retrying, or
//! when shutdown asks pending writes to spill. A write is never dropped without a log record; if even the
//! log append fails (a full disk), that is logged at ERROR level with the
//! write's keyspace, opcode and timestamp, and counted.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, StreamExt};
use tokio::sync::{mpsc, watch, Notify, OwnedSemaphorePermit, Semaphore};

use crate::config::{FullQueuePolicy, RetryPolicy};
use crate::failed_log::FailedWriteLog;
use crate::metrics::{Cluster, Metrics};
use crate::target::{OrderTicket, TargetError, TargetLeg, TargetRequest};

/// Why a write still pending at the end of the drain goes to the log.
const SHUTDOWN_REASON: &str = "the proxy shut down before the target write completed";

/// A write handed to a leg's mirror driver: the request, its place in the
/// queue and in its connection's order (both released once it is applied
/// or logged).
pub(crate) struct MirrorItem {
    req: TargetRequest,
    slot: QueueSlot,
    ticket: OrderTicket,
}

/// A mirror driver's pending writes by id. Ids are handed out in order and
/// writes mostly finish in order, so a deque indexed from the oldest
/// pending id does without hashing.
#[derive(Default)]
struct PendingWrites {
    /// Id of `slots[0]`.
    first: u64,
    slots: std::collections::VecDeque<Option<(Arc<TargetRequest>, QueueSlot, OrderTicket)>>,
}

impl PendingWrites {
    fn insert(&mut self, write: (Arc<TargetRequest>, QueueSlot, OrderTicket)) -> u64 {
        self.slots.push_back(Some(write));
        self.first + self.slots.len() as u64 - 1
    }

    fn remove(&mut self, id: u64) -> Option<(Arc<TargetRequest>, QueueSlot, OrderTicket)> {
        let index = usize::try_from(id.checked_sub(self.first)?).ok()?;
        let write = self.slots.get_mut(index)?.take();
        while matches!(self.slots.front(), Some(None)) {
            self.slots.pop_front();
            self.first += 1;
        }
        write
    }

    fn drain(&mut self) -> Vec<(Arc<TargetRequest>, QueueSlot, OrderTicket)> {
        self.first += self.slots.len() as u64;
        self.slots.drain(..).flatten().collect()
    }
}

/// Sends writes to one target leg's mirror driver.
pub(crate) type MirrorSender = mpsc::UnboundedSender<MirrorItem>;

/// A place in the queue, held from the request's arrival until the write
/// is applied or logged.
#[derive(Debug)]
pub(crate) struct QueueSlot {
    /// `None` for a write on its way to the log (not holding queue room,
    /// but still tracked so shutdown waits for it).
    _permit: Option<OwnedSemaphorePermit>,
    seq: u64,
    queue: Arc<TargetQueue>,
}

impl Drop for QueueSlot {
    fn drop(&mut self) {
        let empty = {
            let mut pending = self.queue.pending();
            pending.remove(self.seq);
            pending.is_empty()
        };
        if empty {
            self.queue.idle.notify_waiters();
        }
    }
}

/// When each pending write arrived, by sequence number. Numbers are
/// handed out in order and writes mostly finish in order, so a deque
/// indexed from the oldest pending number does without a tree (a
/// `BTreeMap` insert and removal per write cost a few hundred
/// instructions). A write that stays pending while later ones finish
/// keeps their (empty) places until it is done: at most a retried write's
/// lifetime of the proxy's writes, 16 bytes each.
#[derive(Debug, Default)]
struct PendingAges {
    /// Sequence number of `slots[0]`.
    first: u64,
    slots: VecDeque<Option<Instant>>,
    len: usize,
}

impl PendingAges {
    /// Adds a write that arrived at `at`; returns its sequence number.
    fn push(&mut self, at: Instant) -> u64 {
        self.slots.push_back(Some(at));
        self.len += 1;
        self.first + self.slots.len() as u64 - 1
    }

    fn remove(&mut self, seq: u64) {
        let Some(index) = seq
            .checked_sub(self.first)
            .and_then(|i| usize::try_from(i).ok())
        else {
            return;
        };
        if let Some(slot) = self.slots.get_mut(index) {
            if slot.take().is_some() {
                self.len -= 1;
            }
        }
        while matches!(self.slots.front(), Some(None)) {
            self.slots.pop_front();
            self.first += 1;
        }
    }

    fn len(&self) -> usize {
        self.len
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The oldest pending write's arrival (the front is never empty).
    fn oldest(&self) -> Option<Instant> {
        self.slots.front().copied().flatten()
    }
}

/// What shutdown did with the pending writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DrainReport {
    /// Writes still pending when the drain timeout passed, spilled to the log.
    pub spilled: u64,
    /// Whether everything finished (applied or logged) in the end.
    pub complete: bool,
}

/// The per-proxy queue of async target writes.
#[derive(Debug)]
pub(crate) struct TargetQueue {
    permits: Arc<Semaphore>,
    capacity: usize,
    policy: FullQueuePolicy,
    retry: RetryPolicy,
    /// seq → arrival, for the depth and the oldest pending write's age.
    pending: Mutex<PendingAges>,
    idle: Notify,
    spill_now: watch::Sender<bool>,
    spilled_at_shutdown: AtomicU64,
    pub(crate) log: Arc<FailedWriteLog>,
    metrics: Arc<Metrics>,
}

impl TargetQueue {
    pub(crate) fn new(
        capacity: usize,
        policy: FullQueuePolicy,
        retry: RetryPolicy,
        log: Arc<FailedWriteLog>,
        metrics: Arc<Metrics>,
    ) -> Arc<Self> {
        Arc::new(Self {
            permits: Arc::new(Semaphore::new(capacity)),
            capacity,
            policy,
            retry,
            pending: Mutex::new(PendingAges::default()),
            idle: Notify::new(),
            spill_now: watch::channel(false).0,
            spilled_at_shutdown: AtomicU64::new(0),
            log,
            metrics,
        })
    }

    fn pending(&self) -> MutexGuard<'_, PendingAges> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes a place for a write. With [`FullQueuePolicy::Backpressure`]
    /// this waits for room; with [`FullQueuePolicy::Spill`] it returns
    /// `None` at once when the queue is full (log the write instead).
    /// `arrived`: when the write's request arrived (its age is counted
    /// from there; passed in so the clock is read once per request).
    pub(crate) async fn reserve(self: &Arc<Self>, arrived: Instant) -> Option<QueueSlot> {
        let permit = match self.policy {
            FullQueuePolicy::Spill => self.permits.clone().try_acquire_owned().ok()?,
            FullQueuePolicy::Backpressure => self.permits.clone().acquire_owned().await.ok()?,
        };
        Some(self.slot(Some(permit), arrived))
    }

    /// A place for a write if there is room now, without waiting (the
    /// usual case: no future, no shutdown watch to register).
    pub(crate) fn try_reserve(self: &Arc<Self>, arrived: Instant) -> Option<QueueSlot> {
        let permit = self.permits.clone().try_acquire_owned().ok()?;
        Some(self.slot(Some(permit), arrived))
    }

    /// Tracks a write that holds no queue room (it is being spilled to
    /// the log), so that a drain waits for it.
    pub(crate) fn track(self: &Arc<Self>) -> QueueSlot {
        self.slot(None, Instant::now())
    }

    fn slot(self: &Arc<Self>, permit: Option<OwnedSemaphorePermit>, since: Instant) -> QueueSlot {
        // Numbered under the lock, so numbers enter the deque in order.
        let seq = self.pending().push(since);
        QueueSlot {
            _permit: permit,
            seq,
            queue: self.clone(),
        }
    }

    /// Writes queued or in flight.
    pub(crate) fn depth(&self) -> usize {
        self.pending().len()
    }

    /// The queue's bound.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Age of the oldest pending write.
    pub(crate) fn oldest_pending(&self) -> Option<Duration> {
        self.pending().oldest().map(|at| at.elapsed())
    }

    /// Hands an admitted write to `leg`'s mirror driver, which applies it
    /// on the target, with retries, or logs it.
    ///
    /// One driver task per leg runs all of that connection's pending
    /// writes as futures, rather than one spawned task per write: a task
    /// per write cost an aligned allocation, a scheduler round and a
    /// shutdown-watch registration each, and a wakeup per target answer,
    /// where the driver takes every answer that arrived in one go.
    pub(crate) fn submit(
        self: &Arc<Self>,
        slot: QueueSlot,
        leg: Arc<TargetLeg>,
        req: TargetRequest,
    ) {
        let ticket = leg.ticket(!req.idempotent);
        let item = MirrorItem { req, slot, ticket };
        let driver = leg.mirror_driver(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(self.clone().drive(rx));
            tx
        });
        if let Err(mpsc::error::SendError(item)) = driver.send(item) {
            // The driver is gone (only if its task was cancelled, e.g. by
            // a runtime shutting down): the write must still be applied or
            // logged, so it gets a task of its own.
            let queue = self.clone();
            tokio::spawn(async move {
                let mut spill = queue.spill_now.subscribe();
                let id_req = Arc::new(item.req);
                tokio::select! {
                    _ = queue.clone().apply(leg, Arc::clone(&id_req), 0) => {}
                    () = async { let _ = spill.wait_for(|s| *s).await; } => {
                        queue.spill_at_shutdown(&id_req).await;
                    }
                }
                drop((item.ticket, item.slot));
            });
        }
    }

    /// A leg's mirror driver: runs the writes sent on `incoming`
    /// concurrently until the leg is gone and every write is done. When
    /// shutdown asks pending writes to spill, the ones in flight are
    /// abandoned and logged, as are any that arrive later.
    async fn drive(self: Arc<Self>, mut incoming: mpsc::UnboundedReceiver<MirrorItem>) {
        let mut spill = self.spill_now.subscribe();
        // One registration on the shutdown watch for the driver's life.
        let spill_now = async move {
            let _ = spill.wait_for(|s| *s).await;
        };
        tokio::pin!(spill_now);
        let mut running = FuturesUnordered::new();
        // Every pending write by id: the request is shared with its future
        // (to log it if shutdown abandons the future); the slot and ticket
        // are released here when it is done.
        let mut pending = PendingWrites::default();
        let (mut closed, mut spilling) = (false, false);
        loop {
            // Biased, done writes first (they free queue room), then new
            // ones, then the shutdown watch, polled only when neither is
            // ready (an unbiased select draws a random number and polls the
            // watch, which takes its lock, on most turns).
            tokio::select! {
                biased;
                Some(id) = running.next(), if !running.is_empty() => {
                    if let Some((_req, slot, ticket)) = pending.remove(id) {
                        drop(ticket);
                        drop(slot);
                    }
                }
                item = incoming.recv(), if !closed => match item {
                    Some(MirrorItem { req, slot, ticket }) => {
                        let req = Arc::new(req);
                        if spilling {
                            self.spill_at_shutdown(&req).await;
                            drop((ticket, slot));
                            continue;
                        }
                        let leg = ticket.leg().clone();
                        let id = pending.insert((Arc::clone(&req), slot, ticket));
                        // The future itself yields the id: no wrapper
                        // future to move the write's (large) one into.
                        running.push(self.clone().apply(leg, req, id));
                    }
                    None => closed = true,
                },
                () = &mut spill_now, if !spilling => {
                    spilling = true;
                    // Abandon what is in flight (dropping the futures
                    // cancels their requests), then log each write.
                    running = FuturesUnordered::new();
                    for (req, slot, ticket) in pending.drain() {
                        self.spill_at_shutdown(&req).await;
                        drop((ticket, slot));
                    }
                }
            }
            if closed && running.is_empty() {
                break;
            }
        }
    }

    /// Waits for the writes before `req` in its connection's order, then
    /// applies it (with retries) or logs it. Returns `id` (the driver's
    /// name for it).
    async fn apply(self: Arc<Self>, leg: Arc<TargetLeg>, req: Arc<TargetRequest>, id: u64) -> u64 {
        leg.wait_for(req.after).await;
        match self.deliver(&leg, &req).await {
            Ok(()) => Metrics::inc(&self.metrics.target_writes_ok),
            Err(reason) => {
                Metrics::inc(&self.metrics.target_failures);
                // Boxed: the log append's future is large and rarely run;
                // inline, it would be copied with every write's future.
                Box::pin(self.log_write(&req, reason)).await;
            }
        }
        id
    }

    /// Logs a write that shutdown abandoned.
    async fn spill_at_shutdown(&self, req: &TargetRequest) {
        self.spilled_at_shutdown.fetch_add(1, Ordering::Relaxed);
        Metrics::inc(&self.metrics.target_failures);
        self.log_write(req, SHUTDOWN_REASON.to_owned()).await;
    }

    /// Applies `req`, retrying what may succeed later.
    async fn deliver(&self, leg: &TargetLeg, req: &TargetRequest) -> Result<(), String> {
        let mut retry = 0;
        loop {
            self.metrics.request(req.kind, Cluster::Target);
            let sent = Instant::now();
            let result = leg.send(req).await;
            if matches!(result, Ok(_) | Err(TargetError::Server(_))) {
                self.metrics
                    .observe_cluster(req.kind, Cluster::Target, sent.elapsed());
            }
            match result {
                Ok(_) => return Ok(()),
                Err(e) if e.is_retryable(req.idempotent) && retry < self.retry.max_retries => {
                    Metrics::inc(&self.metrics.target_retries);
                    tracing::debug!(error = %e, retry, "target write failed; retrying");
                    Box::pin(tokio::time::sleep(self.retry.backoff(retry))).await;
                    retry += 1;
                }
                Err(e) => {
                    return Err(match e {
                        TargetError::Server(_) | TargetError::Request(_) => e.to_string(),
                        TargetError::NotSent(_) | TargetError::Unavailable(_) => {
                            format!("{e} (after {} attempt(s))", retry + 1)
                        }
                    })
                }
            }
        }
    }

    /// Appends `req` to the failed-write log (spilled, failed, or
    /// failed in sync mode after the client got the error).
    pub(crate) async fn log_write(&self, req: &TargetRequest, reason: String) {
        let record = req.to_failed_write(reason);
        let log = self.log.clone();
        let summary = (
            record.keyspace.clone(),
            record.opcode,
            record.write_timestamp,
        );
        let written = tokio::task::spawn_blocking(move || log.append(&record)).await;
        match written {
            Ok(Ok(offset)) => {
                Metrics::inc(&self.metrics.failed_log_records);
                tracing::warn!(offset, keyspace = ?summary.0, opcode = ?summary.1, "target write logged to the failed-write log");
            }
            Ok(Err(e)) => self.log_append_failed(&summary, &e.to_string()),
            Err(e) => self.log_append_failed(&summary, &e.to_string()),
        }
    }

    fn log_append_failed(
        &self,
        (keyspace, opcode, timestamp): &(Option<String>, ferry_wire::Opcode, Option<i64>),
        error: &str,
    ) {
        Metrics::inc(&self.metrics.failed_log_errors);
        tracing::error!(
            log = %self.log.path().display(),
            ?keyspace,
            ?opcode,
            ?timestamp,
            error,
            "cannot append a failed target write to the failed-write log: this write is NOT on the target"
        );
    }

    /// Logs a write that found the queue full (spill policy).
    pub(crate) async fn spill(&self, req: &TargetRequest) {
        Metrics::inc(&self.metrics.queue_spills);
        self.log_write(req, "the target queue was full".to_owned())
            .await;
    }

    /// Waits until no write is pending, or `timeout`; then tells the rest
    /// to spill to the log and waits for that.
    pub(crate) async fn drain(&self, timeout: Duration) -> DrainReport {
        if !self.wait_idle(timeout).await {
            tracing::warn!(
                pending = self.depth(),
                "drain timeout: spilling pending target writes to the failed-write log"
            );
            self.spill_now.send_replace(true);
            // Spilling is a local disk append per write; give it time.
            let complete = self.wait_idle(Duration::from_secs(60)).await;
            return DrainReport {
                spilled: self.spilled_at_shutdown.load(Ordering::Relaxed),
                complete,
            };
        }
        DrainReport {
            spilled: 0,
            complete: true,
        }
    }

    async fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let idle = self.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            if self.pending().is_empty() {
                return true;
            }
            if tokio::time::timeout_at(deadline, idle).await.is_err() {
                return self.pending().is_empty();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_ages_count_and_find_the_oldest_in_any_completion_order() {
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let mut ages = PendingAges::default();
        let seqs: Vec<u64> = (0..4).map(|n| ages.push(at(n))).collect();
        assert_eq!(seqs, vec![0, 1, 2, 3]);
        ages.remove(2);
        ages.remove(2); // twice: no effect
        assert_eq!((ages.len(), ages.oldest()), (3, Some(at(0))));
        ages.remove(0);
        assert_eq!((ages.len(), ages.oldest()), (2, Some(at(1))));
        ages.remove(1);
        assert_eq!(ages.oldest(), Some(at(3)), "past the one done earlier");
        assert_eq!(ages.push(at(9)), 4);
        ages.remove(3);
        ages.remove(4);
        ages.remove(0); // long gone
        assert!(ages.is_empty() && ages.oldest().is_none());
        assert_eq!(ages.slots.len(), 0);
    }

    #[test]
    fn pending_writes_are_found_by_id_in_any_completion_order() {
        // The slots and tickets need a queue and a leg; ids are what is
        // checked here, so use numbered requests in the request's `after`.
        let log_dir = std::env::temp_dir().join(format!("ferry-pw-{}", std::process::id()));
        std::fs::create_dir_all(&log_dir).unwrap();
        let log = Arc::new(FailedWriteLog::open(log_dir.join("log")).unwrap());
        let queue = TargetQueue::new(
            8,
            FullQueuePolicy::Spill,
            RetryPolicy::default(),
            log,
            Arc::new(Metrics::default()),
        );
        let leg = Arc::new(TargetLeg::new(ferry_conn::ConnectionConfig::new(
            "127.0.0.1:1",
        )));
        let write = |n: u64| {
            let req = TargetRequest {
                opcode: ferry_wire::Opcode::Query,
                flags: ferry_wire::frame::FrameFlags::NONE,
                version: ferry_wire::ProtocolVersion::V4,
                body: bytes::Bytes::new(),
                statements: Default::default(),
                keyspace: None,
                timestamp: None,
                idempotent: true,
                after: n,
                kind: crate::metrics::RequestKind::Write,
            };
            (Arc::new(req), queue.track(), leg.ticket(true))
        };
        let mut pending = PendingWrites::default();
        let ids: Vec<u64> = (0..5).map(|n| pending.insert(write(n))).collect();
        assert_eq!(ids, vec![0, 1, 2, 3, 4]);
        assert_eq!(pending.remove(2).map(|w| w.0.after), Some(2));
        assert!(pending.remove(2).is_none(), "removed once");
        assert_eq!(pending.remove(0).map(|w| w.0.after), Some(0));
        assert_eq!(pending.first, 1, "the front moves past done writes");
        assert_eq!(pending.remove(1).map(|w| w.0.after), Some(1));
        assert_eq!(pending.first, 3, "and past the ones done earlier");
        assert_eq!(pending.insert(write(5)), 5);
        let rest: Vec<u64> = pending.drain().iter().map(|w| w.0.after).collect();
        assert_eq!(rest, vec![3, 4, 5]);
        assert!(pending.remove(9).is_none() && pending.remove(0).is_none());
        assert_eq!(queue.depth(), 0, "every slot released");
        std::fs::remove_dir_all(&log_dir).unwrap();
    }
}
