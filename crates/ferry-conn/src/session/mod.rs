//! Sessions over a whole cluster.
//!
//! A [`Session`] discovers the cluster from a contact point
//! (`system.local`, `system.peers` / `system.peers_v2`), builds its
//! [token ring](crate::token::TokenRing), keeps a pool of connections to each
//! node, and runs requests:
//!
//! - **routing**: a request whose partition key is known (bound in a
//!   prepared statement, or given as a routing key or token) goes to a
//!   replica of it, local datacenter first; others are spread round robin;
//! - **retries**: failures are retried on the next node by a
//!   [`RetryPolicy`] (by default: bounded attempts, exponential backoff,
//!   and nothing that may have been applied is run twice unless the request
//!   is idempotent);
//! - **prepared statements** are prepared on each node the first time they
//!   are sent there, and again when a node has forgotten them (UNPREPARED);
//! - **paging**: [`RowStream`] and [`PageStream`] fetch pages as the
//!   consumer reads, and [`Session::scan_range`] reads a table one token
//!   range at a time;
//! - **staying current**: server events trigger topology refreshes, and
//!   schema changes wait until every node agrees on the new schema.
//!
//! ```no_run
//! # async fn demo() -> Result<(), ferry_conn::session::SessionError> {
//! use ferry_conn::session::{QueryOptions, Session, SessionConfig};
//! use ferry_wire::types::CqlValue;
//! use ferry_wire::Consistency;
//!
//! let session = Session::connect(
//!     SessionConfig::new(["10.0.0.1", "10.0.0.2"]).with_local_datacenter("dc1"),
//! )
//! .await?;
//! println!("{} nodes", session.nodes().len());
//! let insert = session.prepare("INSERT INTO shop.orders (id, total) VALUES (?, ?)").await?;
//! session
//!     .execute(
//!         &insert,
//!         vec![CqlValue::Int(1), CqlValue::Bigint(995)],
//!         QueryOptions::new().with_consistency(Consistency::Quorum).idempotent(true),
//!     )
//!     .await?;
//! # Ok(()) }
//! ```

mod agreement;
mod config;
mod error;
mod events;
mod executor;
pub(crate) mod fields;
mod node;
mod paging;
mod pool;
mod prepared_cache;
mod retry;
mod routing;
mod row;
mod scan;
pub(crate) mod schema;
mod statement;
mod topology;
mod values;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use ferry_wire::response::{ColumnSpec, ErrorCode};
use ferry_wire::types::CqlValue;
use ferry_wire::{Consistency, ProtocolVersion};
use futures::TryStreamExt;

pub use config::{AddressTranslator, IdentityTranslator, SessionConfig, DEFAULT_PORT};
pub use error::SessionError;
pub use ferry_wire::request::BatchType;
pub use node::Node;
pub use paging::{Page, PageStream, RowStream};
pub use prepared_cache::PreparedStatement;
pub use retry::{DefaultRetryPolicy, ErrorClass, RetryContext, RetryDecision, RetryPolicy};
pub use row::Row;
pub use statement::{Batch, BatchEntry, QueryOptions, QueryResult};
pub use values::Values;

use executor::{StatementRequest, Target};
use pool::NodePool;
use prepared_cache::PreparedCache;
use schema::SchemaTables;
use statement::TimestampGenerator;
use topology::Discovery;

use crate::config::ConnectionConfig;
use crate::connection::Connection;
use crate::token::{Partitioner, ReplicationStrategy, Token, TokenRing};

/// A session over a cluster; cheap to clone (clones share everything).
///
/// See the [module documentation](self) for what it does. Every method takes
/// `&self` and may be called from many tasks at once.
#[derive(Clone)]
pub struct Session {
    inner: Arc<Inner>,
}

struct Inner {
    config: SessionConfig,
    state: RwLock<Arc<ClusterState>>,
    /// Protocol version of the first connection; values are serialized for
    /// it (and again for a node that negotiated another).
    version: ProtocolVersion,
    keyspace: Mutex<Option<String>>,
    prepared: PreparedCache,
    replication: Mutex<HashMap<String, Option<Arc<ReplicationStrategy>>>>,
    partition_keys: Mutex<HashMap<(String, String), Vec<String>>>,
    schema_tables: Mutex<SchemaTables>,
    peers_v2: Mutex<Option<bool>>,
    rotation: AtomicUsize,
    timestamps: TimestampGenerator,
    closed: AtomicBool,
    /// Tells background tasks to stop (on close, or when dropped).
    shutdown: tokio::sync::watch::Sender<bool>,
}

/// What the session knows of the cluster; replaced whole on refresh.
struct ClusterState {
    cluster_name: Option<String>,
    partitioner_class: Option<String>,
    partitioner: Option<Partitioner>,
    nodes: Vec<Arc<Node>>,
    ring: Option<Arc<TokenRing<SocketAddr>>>,
    pools: HashMap<SocketAddr, Arc<NodePool>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state();
        f.debug_struct("Session")
            .field("cluster_name", &state.cluster_name)
            .field("nodes", &state.nodes.len())
            .field("protocol_version", &self.inner.version)
            .field("keyspace", &self.keyspace())
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Connects to the first contact point that answers, discovers the
    /// cluster, and opens the connection pools (to the local datacenter's
    /// nodes, or every node when none is configured; remote nodes get
    /// theirs when first used). Nodes that cannot be reached are retried in
    /// the background.
    pub async fn connect(config: SessionConfig) -> Result<Session, SessionError> {
        config.validate()?;
        let mut tried = Vec::new();
        let mut control = None;
        for address in config.contact_addresses() {
            let mut conn_config = config.connection.clone();
            conn_config.address = address.clone();
            match Connection::connect(&conn_config).await {
                Ok(conn) => {
                    control = Some(conn);
                    break;
                }
                Err(e) => tried.push((address, e)),
            }
        }
        let control = control.ok_or(SessionError::ContactPoints { tried })?;
        let discovery =
            topology::discover(&control, config.port, &*config.address_translator, None).await?;
        let release = discovery
            .nodes
            .first()
            .and_then(|n| n.release_version.clone());
        let keyspace = config.connection.keyspace.clone();
        let listen = config.listen_for_events;
        let (shutdown, shutdown_rx) = tokio::sync::watch::channel(false);
        let session = Session {
            inner: Arc::new(Inner {
                version: control.protocol_version(),
                keyspace: Mutex::new(keyspace),
                prepared: PreparedCache::default(),
                replication: Mutex::new(HashMap::new()),
                partition_keys: Mutex::new(HashMap::new()),
                schema_tables: Mutex::new(SchemaTables::guess(release.as_deref())),
                peers_v2: Mutex::new(Some(discovery.has_peers_v2)),
                rotation: AtomicUsize::new(0),
                timestamps: TimestampGenerator::default(),
                closed: AtomicBool::new(false),
                shutdown,
                state: RwLock::new(Arc::new(ClusterState {
                    cluster_name: None,
                    partitioner_class: None,
                    partitioner: None,
                    nodes: Vec::new(),
                    ring: None,
                    pools: HashMap::new(),
                })),
                config,
            }),
        };
        session.install(discovery, Some(control)).await;
        if listen {
            events::spawn_listener(&session, shutdown_rx);
        }
        Ok(session)
    }

    /// The configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.inner.config
    }

    /// The cluster's name (`system.local.cluster_name`).
    pub fn cluster_name(&self) -> Option<String> {
        self.state().cluster_name.clone()
    }

    /// Every known node, the discovery node first.
    pub fn nodes(&self) -> Vec<Arc<Node>> {
        self.state().nodes.clone()
    }

    /// The node at `address`, if known.
    pub fn node(&self, address: SocketAddr) -> Option<Arc<Node>> {
        self.state()
            .nodes
            .iter()
            .find(|n| n.address == address)
            .cloned()
    }

    /// The token ring (nodes identified by [`Node::address`]); `None` if
    /// the cluster's partitioner is not one Ferry can compute
    /// (ByteOrderedPartitioner...) or no node reported tokens.
    pub fn ring(&self) -> Option<Arc<TokenRing<SocketAddr>>> {
        self.state().ring.clone()
    }

    /// The cluster's partitioner, if Ferry can compute its tokens.
    pub fn partitioner(&self) -> Option<Partitioner> {
        self.state().partitioner
    }

    /// The partitioner class the cluster reports
    /// (`system.local.partitioner`), supported or not.
    pub fn partitioner_class(&self) -> Option<String> {
        self.state().partitioner_class.clone()
    }

    /// The protocol version of the session's first connection.
    pub fn protocol_version(&self) -> ProtocolVersion {
        self.inner.version
    }

    /// The keyspace connections use (`USE`), if any.
    pub fn keyspace(&self) -> Option<String> {
        lock(&self.inner.keyspace).clone()
    }

    /// Open connections to `node`.
    pub fn open_connections(&self, node: SocketAddr) -> usize {
        self.state().pools.get(&node).map_or(0, |p| p.open_count())
    }

    /// The replication of `keyspace`, read now from the schema tables
    /// (`system_schema.keyspaces` on Cassandra 3.0+,
    /// `system.schema_keyspaces` before).
    pub async fn keyspace_replication(
        &self,
        keyspace: &str,
    ) -> Result<ReplicationStrategy, SessionError> {
        let (tables, rows) = self
            .schema_rows(SchemaTables::replication_query, &[keyspace])
            .await?;
        let strategy = tables
            .parse_replication(&rows)?
            .ok_or_else(|| SessionError::Schema(format!("keyspace {keyspace:?} does not exist")))?;
        lock(&self.inner.replication).insert(keyspace.to_owned(), Some(Arc::new(strategy.clone())));
        Ok(strategy)
    }

    /// The replicas of `token` in `keyspace`, primary replica first.
    pub async fn replicas(
        &self,
        keyspace: &str,
        token: Token,
    ) -> Result<Vec<SocketAddr>, SessionError> {
        let ring = self.ring().ok_or_else(|| {
            SessionError::Schema("no token ring (unsupported partitioner or no tokens)".into())
        })?;
        let strategy = match self.cached_replication(keyspace).await {
            Some(s) => s,
            None => Arc::new(self.keyspace_replication(keyspace).await?),
        };
        Ok(ring
            .replicas(token, &strategy)?
            .into_iter()
            .copied()
            .collect())
    }

    /// The partition key columns of `keyspace.table`, in key order (names
    /// as the schema stores them).
    pub async fn partition_key_columns(
        &self,
        keyspace: &str,
        table: &str,
    ) -> Result<Vec<String>, SessionError> {
        let key = (keyspace.to_owned(), table.to_owned());
        if let Some(columns) = lock(&self.inner.partition_keys).get(&key) {
            return Ok(columns.clone());
        }
        let (tables, rows) = self
            .schema_rows(SchemaTables::columns_query, &[keyspace, table])
            .await?;
        let columns = tables.parse_partition_key(&rows);
        if columns.is_empty() {
            return Err(SessionError::Schema(format!(
                "table {keyspace:?}.{table:?} does not exist (no partition key columns found)"
            )));
        }
        lock(&self.inner.partition_keys).insert(key, columns.clone());
        Ok(columns)
    }

    /// Runs a CQL statement. Values are written as the types their
    /// variants imply (see [`Values`]); the result is its first page when
    /// it has rows.
    pub async fn query(
        &self,
        cql: &str,
        values: impl Into<Values>,
        options: QueryOptions,
    ) -> Result<QueryResult, SessionError> {
        let request = StatementRequest::new(Target::Query(cql.into()), values, options);
        self.run_statement(&request, None).await
    }

    /// Prepares a statement (on one node; the others prepare it when first
    /// used). Preparing the same text again returns the same statement.
    ///
    /// Protocol v3 servers (Cassandra 2.1) do not say which bind markers
    /// hold the partition key; the session then reads the table's partition
    /// key from the schema and matches it to the markers by name.
    pub async fn prepare(&self, cql: &str) -> Result<PreparedStatement, SessionError> {
        let keyspace = self.keyspace();
        if let Some(statement) = self.inner.prepared.get(keyspace.as_deref(), cql) {
            return Ok(statement);
        }
        let plan = self.plan(None, None).await;
        let outcome = self
            .run(&plan, true, |conn, _| async move {
                let prepared = conn.prepare(cql).await?;
                Ok((prepared, conn.protocol_version()))
            })
            .await?;
        let (prepared, version) = outcome.value;
        let pk_indexes = if !prepared.metadata.pk_indexes.is_empty() {
            prepared
                .metadata
                .pk_indexes
                .iter()
                .map(|&i| usize::from(i))
                .collect()
        } else if version < ProtocolVersion::V4 {
            self.derive_pk_indexes(&prepared.metadata.columns).await
        } else {
            Vec::new()
        };
        let statement = PreparedStatement::new(
            cql.to_owned(),
            keyspace.clone(),
            outcome.node,
            prepared,
            pk_indexes,
        );
        self.inner.prepared.insert(keyspace, statement.clone());
        Ok(statement)
    }

    /// Executes a prepared statement, routed by its bound partition key.
    pub async fn execute(
        &self,
        statement: &PreparedStatement,
        values: impl Into<Values>,
        options: QueryOptions,
    ) -> Result<QueryResult, SessionError> {
        let request = StatementRequest::new(Target::Prepared(statement.clone()), values, options);
        self.run_statement(&request, None).await
    }

    /// Runs a batch (page size and paging state do not apply).
    pub async fn batch(
        &self,
        batch: &Batch,
        options: QueryOptions,
    ) -> Result<QueryResult, SessionError> {
        self.run_batch(batch, &options).await
    }

    /// Every row of a CQL statement's result, fetched page by page as the
    /// stream is read.
    pub fn query_stream(
        &self,
        cql: &str,
        values: impl Into<Values>,
        options: QueryOptions,
    ) -> RowStream {
        self.query_pages(cql, values, options).into_rows()
    }

    /// The pages of a CQL statement's result.
    pub fn query_pages(
        &self,
        cql: &str,
        values: impl Into<Values>,
        options: QueryOptions,
    ) -> PageStream {
        let request = StatementRequest::new(Target::Query(cql.into()), values, options);
        PageStream::new(self, vec![request])
    }

    /// Every row of a prepared statement's result, fetched page by page as
    /// the stream is read.
    pub fn execute_stream(
        &self,
        statement: &PreparedStatement,
        values: impl Into<Values>,
        options: QueryOptions,
    ) -> RowStream {
        self.execute_pages(statement, values, options).into_rows()
    }

    /// The pages of a prepared statement's result.
    pub fn execute_pages(
        &self,
        statement: &PreparedStatement,
        values: impl Into<Values>,
        options: QueryOptions,
    ) -> PageStream {
        let request = StatementRequest::new(Target::Prepared(statement.clone()), values, options);
        PageStream::new(self, vec![request])
    }

    /// Switches every connection, and every future one, to `keyspace`
    /// (taken literally, case-sensitive). Running `USE ks` through
    /// [`Session::query`] does the same.
    pub async fn use_keyspace(&self, keyspace: &str) -> Result<(), SessionError> {
        let pools: Vec<Arc<NodePool>> = self.state().pools.values().cloned().collect();
        *lock(&self.inner.keyspace) = Some(keyspace.to_owned());
        for pool in pools {
            pool.use_keyspace(keyspace)
                .await
                .map_err(|source| SessionError::Request {
                    node: pool.address(),
                    attempts: 1,
                    source: Box::new(source),
                })?;
        }
        Ok(())
    }

    /// Reads the topology again (nodes added, removed, moved), updates the
    /// ring and the pools, and forgets cached replication settings.
    pub async fn refresh_topology(&self) -> Result<(), SessionError> {
        let plan = self.plan(None, None).await;
        let peers_v2 = *lock(&self.inner.peers_v2);
        let config = &self.inner.config;
        let mut last_error = None;
        for pool in plan {
            let Some(conn) = pool.pick() else { continue };
            match topology::discover(&conn, config.port, &*config.address_translator, peers_v2)
                .await
            {
                Ok(discovery) => {
                    *lock(&self.inner.peers_v2) = Some(discovery.has_peers_v2);
                    lock(&self.inner.replication).clear();
                    self.install(discovery, None).await;
                    return Ok(());
                }
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or(SessionError::NoConnection { tried: Vec::new() }))
    }

    /// Closes every connection. Requests in flight fail; later requests
    /// find no connection.
    pub async fn close(&self) {
        self.inner.closed.store(true, Ordering::SeqCst);
        let _ = self.inner.shutdown.send(true);
        let pools: Vec<Arc<NodePool>> = self.state().pools.values().cloned().collect();
        for pool in pools {
            pool.close().await;
        }
    }

    fn state(&self) -> Arc<ClusterState> {
        self.inner
            .state
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn next_rotation(&self) -> usize {
        self.inner.rotation.fetch_add(1, Ordering::Relaxed)
    }

    /// Applies a discovery: the new node list and ring, a pool per node
    /// (existing pools are kept), filled for the nodes that get connections
    /// up front.
    async fn install(&self, discovery: Discovery, control: Option<Connection>) {
        let config = &self.inner.config;
        let old = self.state();
        let mut template: ConnectionConfig = config.connection.clone();
        template.keyspace = self.keyspace();
        let is_local = |n: &Node| {
            config
                .local_datacenter
                .as_deref()
                .map_or(true, |dc| n.is_in_datacenter(dc))
        };
        if let Some(dc) = &config.local_datacenter {
            if !discovery.nodes.iter().any(|n| n.is_in_datacenter(dc)) {
                tracing::warn!(datacenter = %dc, "no node of the local datacenter was found");
            }
        }
        let mut pools = HashMap::new();
        let mut to_fill = Vec::new();
        for node in &discovery.nodes {
            let pool = match old.pools.get(&node.address) {
                Some(pool) => pool.clone(),
                None => {
                    let local = is_local(node);
                    let size = if local {
                        config.connections_per_node
                    } else {
                        config.remote_connections_per_node
                    };
                    let pool = NodePool::new(node.address, &template, size);
                    if local {
                        to_fill.push(pool.clone());
                    }
                    pool
                }
            };
            pools.insert(node.address, pool);
        }
        if let Some(conn) = control {
            if let Some(pool) = pools.get(&conn.peer_addr()) {
                pool.adopt(conn);
            }
        }
        let ring = topology::build_ring(discovery.partitioner, &discovery.nodes).map(Arc::new);
        let state = ClusterState {
            cluster_name: discovery.cluster_name,
            partitioner_class: discovery.partitioner_class,
            partitioner: discovery.partitioner,
            nodes: discovery.nodes.into_iter().map(Arc::new).collect(),
            ring,
            pools,
        };
        let removed: Vec<Arc<NodePool>> = old
            .pools
            .iter()
            .filter(|(a, _)| !state.pools.contains_key(a))
            .map(|(_, p)| p.clone())
            .collect();
        *self.inner.state.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(state);
        for pool in removed {
            pool.close().await;
        }
        let filled = futures::future::join_all(to_fill.iter().map(|p| p.fill())).await;
        for (pool, result) in to_fill.iter().zip(filled) {
            if let Err(e) = result {
                tracing::warn!(node = %pool.address(), error = %e, "node unreachable; will retry");
            }
        }
    }

    /// The replication of `keyspace`, from the cache or read once; `None`
    /// if it cannot be read (then routing falls back to the token's owner).
    async fn cached_replication(&self, keyspace: &str) -> Option<Arc<ReplicationStrategy>> {
        if let Some(cached) = lock(&self.inner.replication).get(keyspace) {
            return cached.clone();
        }
        match self.keyspace_replication(keyspace).await {
            Ok(s) => Some(Arc::new(s)),
            Err(e) => {
                tracing::warn!(keyspace, error = %e, "replication unknown; routing to token owners");
                lock(&self.inner.replication).insert(keyspace.to_owned(), None);
                None
            }
        }
    }

    /// Positions of the partition key among bind `markers`, matched by name
    /// against the schema; empty if not all of it is bound.
    async fn derive_pk_indexes(&self, markers: &[ColumnSpec]) -> Vec<usize> {
        let Some(first) = markers.first() else {
            return Vec::new();
        };
        let (keyspace, table) = (&first.keyspace, &first.table);
        let key = match self.partition_key_columns(keyspace, table).await {
            Ok(key) => key,
            Err(e) => {
                tracing::debug!(error = %e, "partition key unknown; statement not routed by key");
                return Vec::new();
            }
        };
        key.iter()
            .map(|column| {
                markers
                    .iter()
                    .position(|m| m.keyspace == *keyspace && m.table == *table && m.name == *column)
            })
            .collect::<Option<Vec<usize>>>()
            .unwrap_or_default()
    }

    /// Rows of a schema query, trying the other schema layout if this
    /// cluster does not have the expected tables.
    async fn schema_rows(
        &self,
        query: fn(SchemaTables) -> &'static str,
        names: &[&str],
    ) -> Result<(SchemaTables, Vec<Row>), SessionError> {
        let values: Vec<CqlValue> = names
            .iter()
            .map(|n| CqlValue::from((*n).to_owned()))
            .collect();
        let first = *lock(&self.inner.schema_tables);
        match self.system_rows(query(first), values.clone()).await {
            Ok(rows) => Ok((first, rows)),
            Err(e) if e.server_code() == Some(ErrorCode::INVALID) => {
                let other = first.other();
                let rows = self.system_rows(query(other), values).await?;
                *lock(&self.inner.schema_tables) = other;
                Ok((other, rows))
            }
            Err(e) => Err(e),
        }
    }

    /// Every row of a query on system tables.
    async fn system_rows(
        &self,
        cql: &str,
        values: Vec<CqlValue>,
    ) -> Result<Vec<Row>, SessionError> {
        let options = QueryOptions::new()
            .with_consistency(Consistency::One)
            .idempotent(true);
        self.query_stream(cql, values, options).try_collect().await
    }
}
