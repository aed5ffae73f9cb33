//! Prepared statements: the statement's metadata, where its partition key
//! is bound, and the id each node gave it.
//!
//! A statement is prepared on one node by [`Session::prepare`] and on each
//! other node the first time a request for it goes there. Nodes forget
//! prepared statements (restarts, cache eviction) and answer UNPREPARED; the
//! session then prepares it again on that node and retries once.
//!
//! [`Session::prepare`]: super::Session::prepare

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use ferry_wire::response::{ColumnSpec, Prepared};

/// A statement prepared through a [`Session`](super::Session); cheap to
/// clone (clones share the per-node ids).
///
/// ```no_run
/// # async fn demo(session: &ferry_conn::session::Session) -> Result<(), ferry_conn::session::SessionError> {
/// use ferry_conn::session::QueryOptions;
/// use ferry_wire::types::CqlValue;
/// let insert = session.prepare("INSERT INTO ks.t (k, v) VALUES (?, ?)").await?;
/// assert_eq!(insert.bind_markers().len(), 2);
/// assert_eq!(insert.pk_indexes(), [0]); // routed by `k`
/// session.execute(&insert, vec![CqlValue::Int(1), CqlValue::from("one")], QueryOptions::new()).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PreparedStatement {
    inner: Arc<Inner>,
}

struct Inner {
    cql: String,
    keyspace: Option<String>,
    bind_markers: Arc<[ColumnSpec]>,
    result_columns: Option<Arc<[ColumnSpec]>>,
    pk_indexes: Vec<usize>,
    /// What each node answered to PREPARE.
    per_node: Mutex<HashMap<SocketAddr, Arc<Prepared>>>,
}

impl std::fmt::Debug for PreparedStatement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedStatement")
            .field("cql", &self.inner.cql)
            .field("keyspace", &self.inner.keyspace)
            .field("bind_markers", &self.inner.bind_markers.len())
            .field("pk_indexes", &self.inner.pk_indexes)
            .field("prepared_on", &self.prepared_on())
            .finish()
    }
}

impl PreparedStatement {
    /// A statement prepared on `node` with result `prepared`, whose
    /// partition key is bound at `pk_indexes` (in partition key order).
    pub(crate) fn new(
        cql: String,
        session_keyspace: Option<String>,
        node: SocketAddr,
        prepared: Prepared,
        pk_indexes: Vec<usize>,
    ) -> Self {
        let markers = &prepared.metadata;
        let keyspace = markers
            .global_table_spec
            .as_ref()
            .map(|t| t.keyspace.clone())
            .or_else(|| markers.columns.first().map(|c| c.keyspace.clone()))
            .or_else(|| {
                prepared
                    .result_metadata
                    .columns
                    .as_ref()
                    .and_then(|c| c.first())
                    .map(|c| c.keyspace.clone())
            })
            .or(session_keyspace);
        let bind_markers: Arc<[ColumnSpec]> = markers.columns.clone().into();
        let result_columns = prepared
            .result_metadata
            .columns
            .clone()
            .map(Arc::<[ColumnSpec]>::from);
        let per_node = HashMap::from([(node, Arc::new(prepared))]);
        Self {
            inner: Arc::new(Inner {
                cql,
                keyspace,
                bind_markers,
                result_columns,
                pk_indexes,
                per_node: Mutex::new(per_node),
            }),
        }
    }

    /// The statement's CQL.
    pub fn cql(&self) -> &str {
        &self.inner.cql
    }

    /// The keyspace of the table it binds (else of the table it reads, else
    /// the session's keyspace when it was prepared).
    pub fn keyspace(&self) -> Option<&str> {
        self.inner.keyspace.as_deref()
    }

    /// One spec per bind marker: name and type.
    pub fn bind_markers(&self) -> &[ColumnSpec] {
        &self.inner.bind_markers
    }

    /// The columns of the rows it returns, when known at prepare time.
    pub fn result_columns(&self) -> Option<&[ColumnSpec]> {
        self.inner.result_columns.as_deref()
    }

    /// Positions of the bind markers holding the partition key columns, in
    /// partition key order; empty when the statement does not bind the
    /// whole partition key (it is then not routed by key).
    pub fn pk_indexes(&self) -> &[usize] {
        &self.inner.pk_indexes
    }

    /// The nodes that prepared it so far.
    pub fn prepared_on(&self) -> Vec<SocketAddr> {
        let mut nodes: Vec<SocketAddr> = self.per_node().keys().copied().collect();
        nodes.sort_unstable();
        nodes
    }

    /// The statement id `node` gave it, if prepared there.
    pub fn id_on(&self, node: SocketAddr) -> Option<Bytes> {
        self.per_node().get(&node).map(|p| p.id.clone())
    }

    /// Whether two handles share one statement.
    pub fn same_as(&self, other: &PreparedStatement) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    pub(crate) fn result_columns_arc(&self) -> Option<Arc<[ColumnSpec]>> {
        self.inner.result_columns.clone()
    }

    /// What `node` answered to PREPARE, if it did.
    pub(crate) fn on_node(&self, node: SocketAddr) -> Option<Arc<Prepared>> {
        self.per_node().get(&node).cloned()
    }

    /// Records `node`'s answer to PREPARE.
    pub(crate) fn set_on_node(&self, node: SocketAddr, prepared: Prepared) -> Arc<Prepared> {
        let prepared = Arc::new(prepared);
        self.per_node().insert(node, prepared.clone());
        prepared
    }

    /// Records a new result metadata id (v5 Metadata_changed) for `node`.
    pub(crate) fn update_result_metadata_id(&self, node: SocketAddr, id: Bytes) {
        let mut map = self.per_node();
        if let Some(p) = map.get(&node) {
            let mut updated = Prepared::clone(p);
            updated.result_metadata_id = Some(id);
            map.insert(node, Arc::new(updated));
        }
    }

    fn per_node(&self) -> MutexGuard<'_, HashMap<SocketAddr, Arc<Prepared>>> {
        self.inner
            .per_node
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }
}

/// Most statements a session remembers; beyond it the cache starts over
/// (the statements stay usable, only the lookup by text is lost).
const MAX_CACHED: usize = 4096;

/// The session's statements by (keyspace at prepare time, CQL), so
/// preparing the same text twice returns the same statement.
#[derive(Debug, Default)]
pub(crate) struct PreparedCache {
    map: Mutex<HashMap<(Option<String>, String), PreparedStatement>>,
}

impl PreparedCache {
    pub(crate) fn get(&self, keyspace: Option<&str>, cql: &str) -> Option<PreparedStatement> {
        self.lock()
            .get(&(keyspace.map(str::to_owned), cql.to_owned()))
            .cloned()
    }

    pub(crate) fn insert(&self, keyspace: Option<String>, statement: PreparedStatement) {
        let mut map = self.lock();
        if map.len() >= MAX_CACHED {
            map.clear();
        }
        map.insert((keyspace, statement.cql().to_owned()), statement);
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<(Option<String>, String), PreparedStatement>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_wire::response::{PreparedMetadata, RowsMetadata, TableSpec};
    use ferry_wire::types::ColumnType;

    fn prepared(id: &'static [u8]) -> Prepared {
        Prepared {
            id: Bytes::from_static(id),
            result_metadata_id: None,
            metadata: PreparedMetadata::new(
                Some(TableSpec::new("shop", "orders")),
                vec![ColumnSpec::new("shop", "orders", "id", ColumnType::Int)],
                vec![0],
            ),
            result_metadata: RowsMetadata::without_columns(0),
        }
    }

    #[test]
    fn ids_are_kept_per_node_and_shared_by_clones() {
        let a: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let b: SocketAddr = "127.0.0.1:2".parse().unwrap();
        let s = PreparedStatement::new("q".into(), None, a, prepared(b"one"), vec![0]);
        let clone = s.clone();
        assert_eq!(s.keyspace(), Some("shop"));
        assert_eq!(s.id_on(a).unwrap(), Bytes::from_static(b"one"));
        assert!(s.id_on(b).is_none());
        clone.set_on_node(b, prepared(b"two"));
        assert_eq!(s.id_on(b).unwrap(), Bytes::from_static(b"two"));
        assert_eq!(s.prepared_on(), [a, b]);
        assert!(s.same_as(&clone));
    }

    #[test]
    fn cache_is_keyed_by_keyspace_and_text() {
        let a: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let cache = PreparedCache::default();
        let s = PreparedStatement::new("q".into(), None, a, prepared(b"x"), vec![]);
        cache.insert(Some("ks".into()), s.clone());
        assert!(cache.get(Some("ks"), "q").unwrap().same_as(&s));
        assert!(cache.get(None, "q").is_none());
        assert!(cache.get(Some("ks"), "q2").is_none());
    }
}
