//! The connections to one node.
//!
//! A pool keeps up to `target` connections open. Requests take the least
//! busy one. Connections that close are dropped from the pool when next
//! seen, and a background task opens replacements, backing off while the
//! node stays unreachable; a node with no open connection is *down* and the
//! query plans put it last.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use crate::config::ConnectionConfig;
use crate::connection::Connection;
use crate::error::ConnError;

/// First wait before reconnecting to a node that could not be reached.
const RECONNECT_BASE: Duration = Duration::from_millis(100);
/// Longest wait between reconnection attempts.
const RECONNECT_MAX: Duration = Duration::from_secs(10);

/// Connections to one node.
pub(crate) struct NodePool {
    address: SocketAddr,
    /// The connection settings (the keyspace changes with `USE`).
    config: Mutex<ConnectionConfig>,
    target: usize,
    connections: Mutex<Vec<Connection>>,
    /// Rotates the starting point among equally busy connections.
    next: AtomicUsize,
    /// A background task is (re)opening connections.
    refilling: AtomicBool,
    /// The last attempt to connect failed and no connection is open.
    known_down: AtomicBool,
    /// Held while a request opens a connection itself, so concurrent
    /// requests wait for that attempt instead of each dialing.
    connect_lock: tokio::sync::Mutex<()>,
    /// The pool was closed with its session.
    closed: AtomicBool,
    /// Why the last connection attempt failed.
    last_error: Mutex<Option<String>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl NodePool {
    /// A pool for `address` with connections like `template`; opens nothing
    /// yet.
    pub(crate) fn new(
        address: SocketAddr,
        template: &ConnectionConfig,
        target: usize,
    ) -> Arc<Self> {
        let mut config = template.clone();
        config.address = address.to_string();
        Arc::new(Self {
            address,
            config: Mutex::new(config),
            target: target.max(1),
            connections: Mutex::new(Vec::new()),
            next: AtomicUsize::new(0),
            refilling: AtomicBool::new(false),
            known_down: AtomicBool::new(false),
            connect_lock: tokio::sync::Mutex::new(()),
            closed: AtomicBool::new(false),
            last_error: Mutex::new(None),
        })
    }

    /// The node's address.
    pub(crate) fn address(&self) -> SocketAddr {
        self.address
    }

    /// Adds an already open connection (the one discovery used).
    pub(crate) fn adopt(&self, connection: Connection) {
        self.push(connection);
    }

    /// Opens connections until the pool is full, all at once. Returns how
    /// many are open; fails only if none is.
    pub(crate) async fn fill(self: &Arc<Self>) -> Result<usize, ConnError> {
        let missing = self.target.saturating_sub(self.open_count());
        let config = lock(&self.config).clone();
        let attempts = (0..missing).map(|_| {
            let config = config.clone();
            async move { Connection::connect(&config).await }
        });
        let mut last_error = None;
        for result in futures::future::join_all(attempts).await {
            match result {
                Ok(c) => self.push(c),
                Err(e) => last_error = Some(e),
            }
        }
        let open = self.open_count();
        match last_error {
            Some(e) if open == 0 => {
                *lock(&self.last_error) = Some(e.to_string());
                self.known_down.store(true, Ordering::SeqCst);
                self.spawn_refill();
                Err(e)
            }
            Some(e) => {
                *lock(&self.last_error) = Some(e.to_string());
                self.spawn_refill();
                Ok(open)
            }
            None => Ok(open),
        }
    }

    /// An open connection, the least busy one, if there is any. Starts
    /// reopening connections in the background if some were lost (a pool
    /// with none left is reopened by [`NodePool::acquire`]).
    pub(crate) fn pick(self: &Arc<Self>) -> Option<Connection> {
        let (picked, open) = {
            let mut conns = lock(&self.connections);
            conns.retain(|c| !c.is_closed());
            let n = conns.len();
            if n == 0 {
                (None, 0)
            } else {
                let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
                let best = (0..n)
                    .map(|i| (start + i) % n)
                    .min_by_key(|&i| conns[i].in_flight())
                    .unwrap_or(start);
                (conns.get(best).cloned(), n)
            }
        };
        if open > 0 && open < self.target {
            self.spawn_refill();
        }
        picked
    }

    /// An open connection. If there is none, opens one now, unless the node
    /// is known to be down (then the background task reconnects it). The
    /// error says why the node cannot be used.
    pub(crate) async fn acquire(self: &Arc<Self>) -> Result<Connection, String> {
        if let Some(c) = self.pick() {
            return Ok(c);
        }
        let _one_at_a_time = self.connect_lock.lock().await;
        if let Some(c) = self.pick() {
            return Ok(c);
        }
        if self.closed.load(Ordering::SeqCst) {
            return Err("the session is closed".into());
        }
        if self.known_down.load(Ordering::SeqCst) {
            let why = lock(&self.last_error).clone();
            return Err(format!(
                "down, reconnecting in the background (last error: {})",
                why.as_deref().unwrap_or("none")
            ));
        }
        match self.fill().await {
            Ok(_) => self
                .pick()
                .ok_or_else(|| "its new connection closed at once".to_owned()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Connections currently open.
    pub(crate) fn open_count(&self) -> usize {
        lock(&self.connections)
            .iter()
            .filter(|c| !c.is_closed())
            .count()
    }

    /// Whether the node has an open connection.
    pub(crate) fn is_up(&self) -> bool {
        self.open_count() > 0
    }

    /// Whether the node is known to be unreachable: no open connection,
    /// and the last attempt to open one failed. (A pool that never tried is
    /// not known down: it connects on first use.)
    pub(crate) fn is_known_down(&self) -> bool {
        self.known_down.load(Ordering::SeqCst) && !self.is_up()
    }

    /// Switches every open connection, and every future one, to `keyspace`.
    pub(crate) async fn use_keyspace(&self, keyspace: &str) -> Result<(), ConnError> {
        lock(&self.config).keyspace = Some(keyspace.to_owned());
        let conns: Vec<Connection> = lock(&self.connections).clone();
        for c in conns {
            match c.use_keyspace(keyspace).await {
                Ok(()) => {}
                // A connection that died meanwhile will be replaced by one
                // that gets the keyspace from the config.
                Err(e) if e.is_fatal() => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Closes every connection and stops reconnecting.
    pub(crate) async fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let conns: Vec<Connection> = lock(&self.connections).drain(..).collect();
        for c in conns {
            c.close().await;
        }
    }

    fn push(&self, connection: Connection) {
        let mut conns = lock(&self.connections);
        conns.retain(|c| !c.is_closed());
        if conns.len() < self.target && !self.closed.load(Ordering::SeqCst) {
            conns.push(connection);
        }
    }

    /// Starts the background task that reopens connections, unless one runs.
    fn spawn_refill(self: &Arc<Self>) {
        if self.closed.load(Ordering::SeqCst) || self.refilling.swap(true, Ordering::SeqCst) {
            return;
        }
        let weak = Arc::downgrade(self);
        tokio::spawn(refill(weak));
    }
}

/// Opens connections one at a time until the pool is full, backing off
/// after failures; ends when the pool is full, closed or dropped.
async fn refill(pool: Weak<NodePool>) {
    let mut delay = RECONNECT_BASE;
    loop {
        let Some(strong) = pool.upgrade() else {
            return;
        };
        if strong.closed.load(Ordering::SeqCst) || strong.open_count() >= strong.target {
            strong.refilling.store(false, Ordering::SeqCst);
            return;
        }
        let config = lock(&strong.config).clone();
        match Connection::connect(&config).await {
            Ok(c) => {
                tracing::debug!(node = %strong.address, "connection reopened");
                strong.push(c);
                strong.known_down.store(false, Ordering::SeqCst);
                delay = RECONNECT_BASE;
                continue;
            }
            Err(e) => {
                tracing::debug!(node = %strong.address, error = %e, "reconnection failed");
                *lock(&strong.last_error) = Some(e.to_string());
            }
        }
        // Do not keep the pool alive while waiting.
        drop(strong);
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(RECONNECT_MAX);
    }
}
