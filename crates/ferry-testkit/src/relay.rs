//! A TCP relay that records everything passing through it.
//!
//! Put it between a real driver and a real node to capture golden frames:
//! the driver connects to [`RecordingRelay::local_addr`], the relay opens a
//! connection to the node for each client connection and copies bytes both
//! ways, keeping every chunk (with its direction) in memory and, optionally,
//! in a recording file (format in [`crate::recording`]'s docs, read back with
//! [`crate::read_recording`]).

use std::fs::File;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use crate::recording::{stream_bytes, Chunk, Direction, HEADER};

/// Size of each read; chunks are at most this long.
const READ_BUFFER: usize = 64 * 1024;

/// A recording TCP relay on `127.0.0.1:<ephemeral port>` in front of one upstream.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use ferry_testkit::{Direction, RecordingRelay};
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// // An upstream that answers "pong" to anything.
/// let upstream = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
/// let upstream_addr = upstream.local_addr().unwrap();
/// tokio::spawn(async move {
///     let (mut s, _) = upstream.accept().await.unwrap();
///     let mut buf = [0u8; 4];
///     s.read_exact(&mut buf).await.unwrap();
///     s.write_all(b"pong").await.unwrap();
/// });
///
/// let relay = RecordingRelay::start(upstream_addr).await.unwrap();
/// let mut client = tokio::net::TcpStream::connect(relay.local_addr()).await.unwrap();
/// client.write_all(b"ping").await.unwrap();
/// let mut reply = [0u8; 4];
/// client.read_exact(&mut reply).await.unwrap();
/// assert_eq!(&reply, b"pong");
/// assert_eq!(relay.stream(0, Direction::ClientToServer), b"ping");
/// assert_eq!(relay.stream(0, Direction::ServerToClient), b"pong");
/// relay.stop();
/// # });
/// ```
pub struct RecordingRelay {
    local_addr: SocketAddr,
    upstream: SocketAddr,
    shared: Arc<Shared>,
    /// Owns the accept loop, which owns every connection task: aborting it
    /// (on stop or drop) drops its JoinSet, which aborts them all.
    accept_task: JoinHandle<()>,
}

/// State shared by the accept loop and every connection task.
struct Shared {
    started: Instant,
    chunks: Mutex<Vec<Chunk>>,
    file: Option<Mutex<File>>,
    next_connection: AtomicU64,
}

impl Shared {
    fn record(&self, connection: u64, direction: Direction, bytes: &[u8]) {
        // Whole microseconds, the file's resolution, so that memory and file agree.
        let micros = u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX);
        let chunk = Chunk {
            connection,
            direction,
            elapsed: Duration::from_micros(micros),
            bytes: bytes.to_vec(),
        };
        if let Some(file) = &self.file {
            // Best effort: a full disk must not break the relayed connection;
            // the in-memory recording stays complete.
            let _ = writeln!(lock(file), "{}", chunk.to_line());
        }
        lock(&self.chunks).push(chunk);
    }
}

/// Locks a mutex, ignoring poisoning: the data (bytes already recorded) is
/// still valid if some other task panicked.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl RecordingRelay {
    /// Starts a relay to `upstream`, recording in memory only.
    pub async fn start(upstream: SocketAddr) -> io::Result<RecordingRelay> {
        Self::start_inner(upstream, None).await
    }

    /// Starts a relay to `upstream` that also appends every chunk to the
    /// recording file at `path` (created or truncated; parent directories are
    /// created).
    pub async fn start_recording_to(
        upstream: SocketAddr,
        path: impl AsRef<Path>,
    ) -> io::Result<RecordingRelay> {
        let path = path.as_ref();
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut file = File::create(path)?;
        writeln!(file, "{HEADER}")?;
        writeln!(file, "# upstream {upstream}")?;
        Self::start_inner(upstream, Some(file)).await
    }

    async fn start_inner(upstream: SocketAddr, file: Option<File>) -> io::Result<RecordingRelay> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let local_addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            started: Instant::now(),
            chunks: Mutex::new(Vec::new()),
            file: file.map(Mutex::new),
            next_connection: AtomicU64::new(0),
        });
        let accept_task = tokio::spawn(accept_loop(listener, upstream, Arc::clone(&shared)));
        Ok(RecordingRelay {
            local_addr,
            upstream,
            shared,
            accept_task,
        })
    }

    /// Where clients should connect.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Where the relay forwards to.
    pub fn upstream(&self) -> SocketAddr {
        self.upstream
    }

    /// A copy of every chunk recorded so far, in the order they were read.
    pub fn chunks(&self) -> Vec<Chunk> {
        lock(&self.shared.chunks).clone()
    }

    /// The ids of the connections seen so far (0, 1, …, in accept order).
    pub fn connections(&self) -> Vec<u64> {
        let mut ids: Vec<u64> = lock(&self.shared.chunks)
            .iter()
            .map(|c| c.connection)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// All bytes of `connection` in `direction` so far, concatenated.
    pub fn stream(&self, connection: u64, direction: Direction) -> Vec<u8> {
        stream_bytes(&lock(&self.shared.chunks), connection, direction)
    }

    /// Stops accepting and closes every relayed connection. The recording
    /// (memory and file) keeps what was captured.
    pub fn stop(self) {
        // Drop does the work.
    }
}

impl Drop for RecordingRelay {
    fn drop(&mut self) {
        self.accept_task.abort();
    }
}

async fn accept_loop(listener: TcpListener, upstream: SocketAddr, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        // Reap finished connection tasks so the set does not grow forever.
        while connections.try_join_next().is_some() {}
        let client = match listener.accept().await {
            Ok((client, _)) => client,
            Err(_) => {
                // E.g. out of file descriptors: back off instead of spinning.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let id = shared.next_connection.fetch_add(1, Ordering::Relaxed);
        connections.spawn(relay_connection(client, upstream, id, Arc::clone(&shared)));
    }
}

async fn relay_connection(client: TcpStream, upstream: SocketAddr, id: u64, shared: Arc<Shared>) {
    // If the upstream refuses, dropping the client closes it: the client
    // sees the same failure it would have seen connecting directly.
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    // Frames are small and latency-sensitive; do not let Nagle batch them.
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    tokio::join!(
        pump(
            client_read,
            server_write,
            id,
            Direction::ClientToServer,
            &shared
        ),
        pump(
            server_read,
            client_write,
            id,
            Direction::ServerToClient,
            &shared
        ),
    );
}

/// Copies one direction until EOF or an error, recording each read, then
/// half-closes the other side so it sees the EOF too.
async fn pump(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    id: u64,
    direction: Direction,
    shared: &Shared,
) {
    let mut buf = vec![0u8; READ_BUFFER];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let bytes = &buf[..n];
        shared.record(id, direction, bytes);
        if to.write_all(bytes).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read_recording;

    /// An upstream that, per connection, echoes every read back uppercased
    /// until the client closes.
    async fn upper_echo_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let (mut s, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let mut buf = [0u8; 1024];
                    loop {
                        let n = s.read(&mut buf).await.unwrap();
                        if n == 0 {
                            break;
                        }
                        s.write_all(&buf[..n].to_ascii_uppercase()).await.unwrap();
                    }
                });
            }
        });
        addr
    }

    async fn exchange(relay: &RecordingRelay, message: &[u8]) {
        let mut client = TcpStream::connect(relay.local_addr()).await.unwrap();
        client.write_all(message).await.unwrap();
        let mut reply = vec![0u8; message.len()];
        client.read_exact(&mut reply).await.unwrap();
        assert_eq!(reply, message.to_ascii_uppercase());
        client.shutdown().await.unwrap();
        // Wait for the relay to see the close in both directions.
        let mut rest = Vec::new();
        client.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
    }

    #[tokio::test]
    async fn records_both_directions_of_each_connection() {
        let relay = RecordingRelay::start(upper_echo_server().await)
            .await
            .unwrap();
        exchange(&relay, b"first connection").await;
        exchange(&relay, b"second").await;
        assert_eq!(relay.connections(), [0, 1]);
        assert_eq!(
            relay.stream(0, Direction::ClientToServer),
            b"first connection"
        );
        assert_eq!(
            relay.stream(0, Direction::ServerToClient),
            b"FIRST CONNECTION"
        );
        assert_eq!(relay.stream(1, Direction::ClientToServer), b"second");
        assert_eq!(relay.stream(1, Direction::ServerToClient), b"SECOND");
        // A request is recorded before its response.
        let chunks = relay.chunks();
        assert_eq!(
            chunks.first().map(|c| c.direction),
            Some(Direction::ClientToServer)
        );
    }

    #[tokio::test]
    async fn large_transfers_arrive_whole_and_in_order() {
        let relay = RecordingRelay::start(upper_echo_server().await)
            .await
            .unwrap();
        let message: Vec<u8> = (0..300_000u32).map(|i| b'a' + (i % 26) as u8).collect();
        exchange(&relay, &message).await;
        assert_eq!(relay.stream(0, Direction::ClientToServer), message);
        assert_eq!(
            relay.stream(0, Direction::ServerToClient),
            message.to_ascii_uppercase()
        );
    }

    #[tokio::test]
    async fn the_file_holds_the_same_recording() {
        let path =
            std::env::temp_dir().join(format!("ferry-relay-test-{}.rec", std::process::id()));
        let relay = RecordingRelay::start_recording_to(upper_echo_server().await, &path)
            .await
            .unwrap();
        exchange(&relay, b"to the file").await;
        let from_file = read_recording(&path).unwrap();
        assert_eq!(from_file, relay.chunks());
        assert_eq!(
            stream_bytes(&from_file, 0, Direction::ServerToClient),
            b"TO THE FILE"
        );
        relay.stop();
        std::fs::remove_file(&path).unwrap();
    }

    #[tokio::test]
    async fn a_refusing_upstream_closes_the_client() {
        // Bind then drop a listener to get a port nobody listens on.
        let dead = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap();
        let relay = RecordingRelay::start(dead).await.unwrap();
        let mut client = TcpStream::connect(relay.local_addr()).await.unwrap();
        let mut buf = Vec::new();
        let n = client.read_to_end(&mut buf).await.unwrap_or(0);
        assert_eq!(n, 0);
        assert!(relay.chunks().is_empty());
    }
}
