//! A fake CQL server for faults and the v4/v5 paths.
//!
//! [`FakeServer`] listens on `127.0.0.1:0` and speaks protocol v3, v4 and
//! v5 (including v5 segments, LZ4 or not, after STARTUP's answer, and
//! v3/v4 body compression). It does only what a client needs to get through
//! its handshake — OPTIONS, STARTUP, SASL PLAIN, REGISTER — and answers
//! statements with empty results. It is **not** a database: tests that need
//! real query semantics belong against a real node. What it is for is
//! behaviour a real node will not produce on demand, scripted per request:
//!
//! - answer with any message, now or after a delay, or never;
//! - drop the connection halfway through a response;
//! - send bytes that are not a frame;
//! - answer Overloaded, Unavailable, protocol errors...;
//! - refuse versions above (or below) a bound, the way Cassandra 3+/4 does
//!   (protocol error listing the supported versions), the way Cassandra
//!   2.1.0 does (server error "Invalid or unsupported protocol version"),
//!   or by hanging up;
//! - require `PasswordAuthenticator` credentials.
//!
//! Actions are chosen per request by a handler closure, then by [`Rule`]s
//! in order, then by the default behaviour. Every request is recorded.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use ferry_testkit::fake_server::{Action, FakeServer, Matcher, Rule};
//! use ferry_wire::ProtocolVersion;
//! let server = FakeServer::builder()
//!     .max_version(ProtocolVersion::V4)
//!     .rule(Rule::new(Matcher::query_contains("slow"), Action::NoResponse))
//!     .start()
//!     .await
//!     .unwrap();
//! assert!(server.address().starts_with("127.0.0.1:"));
//! assert!(server.received().is_empty());
//! # }
//! ```

mod pki;
mod record;
mod replies;
mod script;
mod session;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use ferry_wire::response::{Event, Response};
use ferry_wire::{Opcode, ProtocolVersion};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

pub use pki::TestPki;
pub use record::{ReceivedRequest, Stats};
pub use replies::PASSWORD_AUTHENTICATOR;
pub use script::{Action, Handler, Matcher, Rule};

use session::{Out, Session};

/// How the server refuses a protocol version outside its range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VersionRejection {
    /// A protocol error (0x000A) "Invalid or unsupported protocol version
    /// (5); supported versions are (3/v3, 4/v4)", as Cassandra 3+ sends.
    #[default]
    ProtocolError,
    /// A server error (0x0000) "Invalid or unsupported protocol version:
    /// 5", as Cassandra 2.1.0 sends.
    ServerError,
    /// Close the connection without answering.
    Close,
}

/// Settings fixed at start.
#[derive(Clone)]
struct ServerConfig {
    min_version: ProtocolVersion,
    max_version: ProtocolVersion,
    version_rejection: VersionRejection,
    credentials: Option<(String, String)>,
    compression: Vec<String>,
    rules: Vec<Rule>,
    handler: Option<Handler>,
    tls: Option<Arc<rustls::ServerConfig>>,
}

/// Builds a [`FakeServer`].
///
/// ```
/// use ferry_testkit::fake_server::{FakeServer, VersionRejection};
/// use ferry_wire::ProtocolVersion;
/// let builder = FakeServer::builder()
///     .max_version(ProtocolVersion::V3)
///     .version_rejection(VersionRejection::ServerError)
///     .require_password("cassandra", "cassandra");
/// # let _ = builder;
/// ```
#[must_use]
pub struct FakeServerBuilder {
    config: ServerConfig,
}

impl FakeServerBuilder {
    /// Refuses versions above `max` (default v5).
    pub fn max_version(mut self, max: ProtocolVersion) -> Self {
        self.config.max_version = max;
        self
    }

    /// Refuses versions below `min` (default v3).
    pub fn min_version(mut self, min: ProtocolVersion) -> Self {
        self.config.min_version = min;
        self
    }

    /// How to refuse a version (default: a Cassandra 3+ protocol error).
    pub fn version_rejection(mut self, how: VersionRejection) -> Self {
        self.config.version_rejection = how;
        self
    }

    /// Answers STARTUP with AUTHENTICATE (`PasswordAuthenticator`) and
    /// accepts only these SASL PLAIN credentials.
    pub fn require_password(
        mut self,
        user: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        self.config.credentials = Some((user.into(), password.into()));
        self
    }

    /// Compression algorithms offered in SUPPORTED and accepted in STARTUP
    /// (default `["lz4", "snappy"]`).
    pub fn compression<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.config.compression = names.into_iter().map(Into::into).collect();
        self
    }

    /// Adds a rule (rules are tried in the order added).
    pub fn rule(mut self, rule: Rule) -> Self {
        self.config.rules.push(rule);
        self
    }

    /// Sets the handler closure, consulted before the rules.
    pub fn handler<F>(mut self, handler: F) -> Self
    where
        F: Fn(&ReceivedRequest) -> Option<Action> + Send + Sync + 'static,
    {
        self.config.handler = Some(Arc::new(handler));
        self
    }

    /// Accepts only TLS connections with this configuration (see
    /// [`TestPki::server_config`]).
    pub fn tls(mut self, config: Arc<rustls::ServerConfig>) -> Self {
        self.config.tls = Some(config);
        self
    }

    /// Binds `127.0.0.1:0` and starts accepting.
    pub async fn start(self) -> std::io::Result<FakeServer> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(ServerState {
            config: self.config,
            received: Mutex::new(Vec::new()),
            stats: Mutex::new(Stats::default()),
            connections: Mutex::new(Vec::new()),
            arrivals: Notify::new(),
        });
        let accept = tokio::spawn(accept_loop(listener, state.clone()));
        Ok(FakeServer {
            addr,
            state,
            accept,
        })
    }
}

/// A handle on one accepted connection.
struct ConnEntry {
    out: mpsc::UnboundedSender<Out>,
    version: Arc<OnceLock<ProtocolVersion>>,
    registered: Arc<AtomicBool>,
}

/// State shared by the server's tasks.
pub(crate) struct ServerState {
    config: ServerConfig,
    received: Mutex<Vec<ReceivedRequest>>,
    stats: Mutex<Stats>,
    connections: Mutex<Vec<ConnEntry>>,
    arrivals: Notify,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl ServerState {
    pub(crate) fn stats(&self) -> MutexGuard<'_, Stats> {
        lock(&self.stats)
    }

    pub(crate) fn record(&self, request: ReceivedRequest) {
        lock(&self.received).push(request);
        self.arrivals.notify_waiters();
    }

    /// Handler, then rules, then the default.
    pub(crate) fn choose(&self, request: &ReceivedRequest) -> Action {
        if let Some(action) = self.config.handler.as_ref().and_then(|h| h(request)) {
            return action;
        }
        self.config
            .rules
            .iter()
            .find_map(|rule| rule.fire(request))
            .unwrap_or(Action::Default)
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<ServerState>) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let id = {
            let mut stats = state.stats();
            stats.connections += 1;
            stats.connections - 1
        };
        tokio::spawn(serve(tcp, id, state.clone()));
    }
}

async fn serve(tcp: TcpStream, id: usize, state: Arc<ServerState>) {
    match state.config.tls.clone() {
        None => run_session(tcp, id, state).await,
        Some(config) => match TlsAcceptor::from(config).accept(tcp).await {
            Ok(tls) => run_session(tls, id, state).await,
            Err(e) => {
                tracing::debug!(connection = id, error = %e, "fake server: TLS handshake failed");
                state.stats().tls_failures += 1;
            }
        },
    }
}

async fn run_session<S>(stream: S, id: usize, state: Arc<ServerState>)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (read_half, write_half) = tokio::io::split(stream);
    let (out, commands) = mpsc::unbounded_channel();
    let outstanding = Arc::new(Mutex::new(HashSet::new()));
    let version = Arc::new(OnceLock::new());
    let registered = Arc::new(AtomicBool::new(false));
    lock(&state.connections).push(ConnEntry {
        out: out.clone(),
        version: version.clone(),
        registered: registered.clone(),
    });
    tokio::spawn(session::write_loop(
        write_half,
        commands,
        outstanding.clone(),
    ));
    Session::new(state.clone(), id, out, outstanding, version, registered)
        .read_loop(read_half)
        .await;
    state.stats().disconnects += 1;
}

/// The running fake server; stops accepting and drops its connections
/// when dropped.
pub struct FakeServer {
    addr: SocketAddr,
    state: Arc<ServerState>,
    accept: JoinHandle<()>,
}

impl std::fmt::Debug for FakeServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.accept.abort();
        self.close_connections();
    }
}

impl FakeServer {
    /// A builder with the defaults: v3 to v5, protocol-error rejections, no
    /// authentication, lz4 and snappy, no rules.
    pub fn builder() -> FakeServerBuilder {
        FakeServerBuilder {
            config: ServerConfig {
                min_version: ProtocolVersion::V3,
                max_version: ProtocolVersion::V5,
                version_rejection: VersionRejection::default(),
                credentials: None,
                compression: vec!["lz4".into(), "snappy".into()],
                rules: Vec::new(),
                handler: None,
                tls: None,
            },
        }
    }

    /// A server with the defaults.
    pub async fn start() -> std::io::Result<FakeServer> {
        FakeServer::builder().start().await
    }

    /// The listening socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The listening address as `host:port`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// Every request received so far, in arrival order.
    pub fn received(&self) -> Vec<ReceivedRequest> {
        lock(&self.state.received).clone()
    }

    /// The requests received with `opcode`.
    pub fn received_with(&self, opcode: Opcode) -> Vec<ReceivedRequest> {
        lock(&self.state.received)
            .iter()
            .filter(|r| r.opcode == opcode)
            .cloned()
            .collect()
    }

    /// Waits until `done` holds for the requests received so far, or
    /// `timeout` passes; returns whether it held.
    pub async fn wait_for<F>(&self, timeout: Duration, done: F) -> bool
    where
        F: Fn(&[ReceivedRequest]) -> bool,
    {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let arrived = self.state.arrivals.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            if done(&lock(&self.state.received)) {
                return true;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return done(&lock(&self.state.received));
            }
        }
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        self.state.stats().clone()
    }

    /// Sends `event` (stream -1) on every connection that REGISTERed;
    /// returns how many.
    pub fn push_event(&self, event: Event) -> usize {
        let response = Response::Event(event);
        let connections = lock(&self.state.connections);
        let mut sent = 0;
        for c in connections.iter() {
            let Some(&version) = c.version.get() else {
                continue;
            };
            if c.registered.load(Ordering::SeqCst)
                && c.out
                    .send(Out::Frame(session::response_frame(version, -1, &response)))
                    .is_ok()
            {
                sent += 1;
            }
        }
        sent
    }

    /// Closes every open connection (the server keeps accepting).
    pub fn close_connections(&self) {
        for c in lock(&self.state.connections).drain(..) {
            let _ = c.out.send(Out::Close);
        }
    }
}

#[cfg(test)]
mod tests;
