//! Prepared statements seen through the proxy: source id → statement.
//!
//! A client EXECUTEs by the id the *source* gave it. To route that EXECUTE
//! the proxy needs to know the statement behind the id (is it a write, may
//! it get a timestamp), and to mirror it it needs the *target*'s id for the
//! same statement. Both are recorded when the PREPARE goes through.
//!
//! The cache is bounded (least recently used first out): applications that
//! prepare statements with literal values would otherwise grow it without
//! limit. An EXECUTE whose id is not (or no longer) known is answered with
//! UNPREPARED, and the driver prepares it again, through the proxy.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;

use crate::summary::StatementSummary;

/// The target's ids for a prepared statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetIds {
    /// Statement id.
    pub id: Bytes,
    /// v5 result metadata id.
    pub result_metadata_id: Option<Bytes>,
}

/// One prepared statement.
///
/// ```
/// use bytes::Bytes;
/// use ferry_router::{PreparedStatement, StatementSummary};
/// let p = PreparedStatement::new(Bytes::from_static(b"id"), "SELECT 1", None);
/// assert!(p.target_ids().is_none());
/// assert_eq!(p.summary, StatementSummary::of("SELECT 1"));
/// ```
#[derive(Debug)]
pub struct PreparedStatement {
    /// The source's id (what clients send).
    pub source_id: Bytes,
    /// The statement text, to prepare it again on the target.
    pub text: Arc<str>,
    /// The keyspace the client's connection was in when it prepared
    /// (unqualified names resolve there).
    pub keyspace: Option<String>,
    /// How it is routed.
    pub summary: StatementSummary,
    /// The target's ids, once the target prepared it.
    target: Mutex<Option<TargetIds>>,
    /// With `--replace-time-functions`: the bind markers the proxy put in
    /// place of `now()`/`uuid()` (`text` is then the rewritten text).
    time_markers: Option<crate::cql::PreparedRewrite<'static>>,
}

impl PreparedStatement {
    /// A statement not yet prepared on the target.
    pub fn new(source_id: Bytes, text: &str, keyspace: Option<String>) -> Self {
        Self::with_summary(source_id, text, keyspace, StatementSummary::of(text))
    }

    /// A statement with a summary already made (refined with bind types).
    pub fn with_summary(
        source_id: Bytes,
        text: &str,
        keyspace: Option<String>,
        summary: StatementSummary,
    ) -> Self {
        Self {
            source_id,
            text: Arc::from(text),
            keyspace,
            summary,
            target: Mutex::new(None),
            time_markers: None,
        }
    }

    /// Records the markers the proxy inserted for `now()`/`uuid()` calls
    /// (see `--replace-time-functions`); each EXECUTE gets values for them.
    pub fn with_time_markers(
        mut self,
        markers: Option<crate::cql::PreparedRewrite<'static>>,
    ) -> Self {
        self.time_markers = markers;
        self
    }

    /// The markers inserted for `now()`/`uuid()` calls, if any.
    pub fn time_markers(&self) -> Option<&crate::cql::PreparedRewrite<'static>> {
        self.time_markers.as_ref()
    }

    /// The target's ids, if known.
    pub fn target_ids(&self) -> Option<TargetIds> {
        lock(&self.target).clone()
    }

    /// Records (or replaces, after a re-prepare) the target's ids.
    pub fn set_target_ids(&self, ids: TargetIds) {
        *lock(&self.target) = Some(ids);
    }

    /// Forgets the target's ids (the target said UNPREPARED).
    pub fn clear_target_ids(&self) {
        *lock(&self.target) = None;
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A bounded map from source prepared id to [`PreparedStatement`],
/// evicting the least recently used entry.
///
/// ```
/// use std::sync::Arc;
/// use bytes::Bytes;
/// use ferry_router::{PreparedCache, PreparedStatement};
/// let cache = PreparedCache::new(2);
/// for id in [b"a", b"b", b"c"] {
///     cache.insert(Arc::new(PreparedStatement::new(Bytes::from_static(id), "SELECT 1", None)));
/// }
/// assert_eq!(cache.len(), 2);
/// assert!(cache.get(b"a").is_none()); // evicted first
/// ```
#[derive(Debug)]
pub struct PreparedCache {
    capacity: usize,
    inner: Mutex<Lru>,
}

#[derive(Debug, Default)]
struct Lru {
    /// id → (entry, tick of last use).
    entries: HashMap<Bytes, (Arc<PreparedStatement>, u64)>,
    tick: u64,
    evictions: u64,
}

impl Lru {
    /// A use (every EXECUTE, every BATCH child) only stamps the entry: no
    /// order structure to update (a `BTreeMap` of uses cost a removal and
    /// an insertion per request). Eviction finds the least recently used
    /// entry by a scan instead, which happens only when a PREPARE finds
    /// the cache full.
    fn touch(&mut self, id: &[u8]) -> Option<Arc<PreparedStatement>> {
        self.tick += 1;
        let tick = self.tick;
        let (entry, last) = self.entries.get_mut(id)?;
        *last = tick;
        Some(entry.clone())
    }

    /// Removes the least recently used entry.
    fn evict_oldest(&mut self) -> bool {
        let oldest = self
            .entries
            .iter()
            .min_by_key(|(_, (_, last))| *last)
            .map(|(id, _)| id.clone());
        match oldest {
            Some(id) => {
                self.entries.remove(&id);
                self.evictions += 1;
                true
            }
            None => false,
        }
    }
}

impl PreparedCache {
    /// An empty cache holding at most `capacity` statements (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            inner: Mutex::new(Lru::default()),
        }
    }

    /// The statement prepared with this source id, marked as just used.
    pub fn get(&self, source_id: &[u8]) -> Option<Arc<PreparedStatement>> {
        lock(&self.inner).touch(source_id)
    }

    /// Adds (or replaces) a statement, evicting the least recently used
    /// one if the cache is full.
    pub fn insert(&self, statement: Arc<PreparedStatement>) {
        let mut lru = lock(&self.inner);
        lru.tick += 1;
        let tick = lru.tick;
        let id = statement.source_id.clone();
        lru.entries.insert(id, (statement, tick));
        while lru.entries.len() > self.capacity && lru.evict_oldest() {}
    }

    /// Statements held.
    pub fn len(&self) -> usize {
        lock(&self.inner).entries.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Statements evicted so far.
    pub fn evictions(&self) -> u64 {
        lock(&self.inner).evictions
    }

    /// The configured bound.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stmt(id: u8) -> Arc<PreparedStatement> {
        Arc::new(PreparedStatement::new(
            Bytes::from(vec![id]),
            "INSERT INTO t (k) VALUES (?)",
            None,
        ))
    }

    #[test]
    fn recently_used_entries_survive() {
        let cache = PreparedCache::new(3);
        for id in 1..=3 {
            cache.insert(stmt(id));
        }
        assert!(cache.get(&[1]).is_some()); // 1 is now the most recent
        cache.insert(stmt(4)); // evicts 2
        assert!(cache.get(&[2]).is_none());
        assert!(cache.get(&[1]).is_some());
        assert!(cache.get(&[3]).is_some());
        assert!(cache.get(&[4]).is_some());
        assert_eq!(cache.evictions(), 1);
        assert_eq!(cache.len(), 3);
    }

    #[test]
    fn reinserting_replaces_without_growing() {
        let cache = PreparedCache::new(2);
        cache.insert(stmt(1));
        cache.insert(stmt(1));
        cache.insert(stmt(2));
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.evictions(), 0);
        let inner = lock(&cache.inner);
        assert_eq!(inner.entries.len(), 2);
    }

    #[test]
    fn target_ids_can_be_replaced_and_cleared() {
        let s = stmt(1);
        let ids = TargetIds {
            id: Bytes::from_static(b"t"),
            result_metadata_id: None,
        };
        s.set_target_ids(ids.clone());
        assert_eq!(s.target_ids(), Some(ids));
        s.clear_target_ids();
        assert!(s.target_ids().is_none());
    }
}
