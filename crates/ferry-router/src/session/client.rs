//! The client reader: frames from the client, the handshake relay, and the
//! lazily opened source leg.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_wire::compression::Compression;
use ferry_wire::frame::{BodyExtras, Frame};
use ferry_wire::request::{AuthResponse, Startup};
use ferry_wire::response::ErrorResponse;
use ferry_wire::{Opcode, ProtocolVersion};
use tokio::io::AsyncRead;
use tokio::sync::mpsc;

use super::{source, ConnState, SOURCE_QUEUE};
use crate::config::Credentials;
use crate::framing::{queue_for_writer, run_writer, FrameReader, Outbound, ReadError};
use crate::metrics::{Cluster, Metrics, RequestKind};
use crate::responses::{error_frame, refusal_version, version_refusal};

/// How long a closing connection waits for the source's answers to the
/// requests already forwarded.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// Why the client connection ends.
pub(super) struct Close;

/// The client reader's side of a connection.
pub(super) struct ClientConn {
    pub(super) state: Arc<ConnState>,
    source: Option<mpsc::Sender<Outbound>>,
    /// When the frame being routed arrived (for the latency histograms
    /// and the target queue's oldest-write age).
    pub(super) arrived: Instant,
}

impl ClientConn {
    pub(super) fn new(state: Arc<ConnState>) -> Self {
        Self {
            state,
            source: None,
            arrived: Instant::now(),
        }
    }

    /// Reads and routes the client's frames until it leaves, breaks the
    /// protocol, the source goes away, the proxy shuts down, or the
    /// primary is switched away from this connection's (then it closes
    /// once its requests are answered, and the driver reconnects).
    pub(super) async fn run<R: AsyncRead + Unpin>(mut self, mut input: R) {
        let mut reader = FrameReader::new(self.state.shared.config.max_frame_len);
        let mut source_closed = self.state.source_closed.subscribe();
        let mut shutdown = self.state.shared.shutdown.clone();
        let mut primary = self.state.shared.current_primary.clone();
        let mine = self.state.shared.primary;
        // Made once, not per frame: a fresh wait per frame registered and
        // dropped watch waiters on every request.
        let source_gone = wait_true(&mut source_closed);
        let shutting_down = wait_true(&mut shutdown);
        let switched = wait_switched(&mut primary, mine);
        tokio::pin!(source_gone, shutting_down, switched);
        loop {
            // The client's frames first: the other waits are polled only
            // when no frame is ready (each poll of a watch wait takes its
            // lock, and an unbiased select draws a random number).
            let next = tokio::select! {
                biased;
                r = reader.next(&mut input, Some(&self.state.client_mode)) => r,
                () = &mut source_gone => break,
                () = &mut shutting_down => {
                    self.wait_for_answers().await;
                    break;
                }
                () = &mut switched => {
                    tracing::debug!(connection = self.state.id, "primary switched: closing after the answers");
                    self.wait_for_answers().await;
                    break;
                }
            };
            match next {
                Ok(frame) => {
                    if self.on_frame(frame).await.is_err() {
                        break;
                    }
                }
                Err(ReadError::Eof { mid_frame }) => {
                    if mid_frame {
                        tracing::debug!(connection = self.state.id, "client closed mid-frame");
                    }
                    break;
                }
                Err(ReadError::Io(e)) => {
                    tracing::debug!(connection = self.state.id, error = %e, "client read failed");
                    break;
                }
                Err(ReadError::Unsupported { version, stream }) => {
                    self.refuse_version(version, stream).await;
                    // The rest of the stream is in a format we cannot
                    // frame; drivers open a new connection to step down.
                    break;
                }
                Err(ReadError::Decode(e)) => {
                    self.bad_bytes(&e.to_string()).await;
                    break;
                }
            }
        }
        // Dropping the sender shuts the source connection's write side;
        // the source then closes and its reader ends.
        self.source = None;
    }

    /// Answers a version probe with a protocol error the driver steps down on.
    async fn refuse_version(&self, version: u8, stream: i16) {
        let max = self.state.shared.config.max_protocol_version;
        tracing::debug!(
            connection = self.state.id,
            offered = version,
            "refusing protocol version"
        );
        let answer_in = refusal_version(version, max);
        let frame = error_frame(answer_in, stream, &version_refusal(version, max));
        self.state.reply(frame).await;
    }

    /// Closes a connection whose bytes are not the protocol, with a
    /// protocol error first (stream 0, as Cassandra does).
    async fn bad_bytes(&self, why: &str) {
        Metrics::inc(&self.state.metrics().client_protocol_errors);
        tracing::info!(connection = self.state.id, peer = %self.state.peer, error = why, "closing a client connection that sent malformed bytes");
        let version = self
            .state
            .handshake()
            .version
            .unwrap_or(ProtocolVersion::V3);
        let frame = error_frame(
            version,
            0,
            &ErrorResponse::protocol_error(format!("ferry-proxy: malformed frame: {why}")),
        );
        self.state.reply(frame).await;
    }

    /// Waits (up to [`CLOSE_GRACE`]) until every forwarded request has
    /// been answered to the client, including sync-mode answers that wait
    /// for the target.
    async fn wait_for_answers(&self) {
        let deadline = tokio::time::Instant::now() + CLOSE_GRACE;
        while (self.state.in_flight.load(Ordering::Relaxed) > 0
            || self.state.owed.load(Ordering::Relaxed) > 0)
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn on_frame(&mut self, frame: Frame) -> Result<(), Close> {
        self.arrived = Instant::now();
        if frame.header.is_response {
            self.bad_bytes("a response frame from a client").await;
            return Err(Close);
        }
        if self.state.ready.load(Ordering::Acquire) {
            return self.route(frame).await;
        }
        self.handshake_frame(frame).await
    }

    /// A frame before the handshake ended: relayed to the source, after a
    /// look at what the proxy needs (the version cap, compression, the
    /// client's credentials).
    async fn handshake_frame(&mut self, frame: Frame) -> Result<(), Close> {
        let max = self.state.shared.config.max_protocol_version;
        if frame.header.version > max {
            self.refuse_version(frame.header.version.request_byte(), frame.header.stream)
                .await;
            return Ok(());
        }
        match frame.header.opcode {
            Opcode::Startup => {
                let compression = startup_compression(&frame);
                self.state.set_compression(compression);
            }
            Opcode::AuthResponse => {
                if let Some(creds) = plain_credentials(&frame, self.state.compression()) {
                    self.state.handshake().credentials = Some(creds);
                }
            }
            _ => {}
        }
        self.send_to_source(frame, RequestKind::Handshake).await
    }

    /// Sends a frame to the source, opening the source connection first if
    /// needed. A failure to reach the source is answered on the frame's
    /// stream and closes the client connection.
    pub(super) async fn send_to_source(
        &mut self,
        frame: Frame,
        kind: RequestKind,
    ) -> Result<(), Close> {
        let (version, stream) = (frame.header.version, frame.header.stream);
        if self.source.is_none() {
            match self.open_source().await {
                Ok(tx) => self.source = Some(tx),
                Err(why) => {
                    let e = ErrorResponse::server_error(format!(
                        "ferry-proxy cannot reach the source cluster: {why}"
                    ));
                    self.state.reply(error_frame(version, stream, &e)).await;
                    return Err(Close);
                }
            }
        }
        let Some(tx) = &self.source else {
            return Err(Close);
        };
        self.state.metrics().request(kind, Cluster::Source);
        if stream >= 0 {
            self.state.forwarded(stream, kind, self.arrived);
            self.state.in_flight.fetch_add(1, Ordering::Relaxed);
        }
        queue_for_writer(tx, Outbound::Frame(frame))
            .await
            .map_err(|_| Close)
    }

    async fn open_source(&self) -> Result<mpsc::Sender<Outbound>, String> {
        let dialer = &self.state.shared.source;
        let stream = dialer.dial().await.map_err(|e| {
            tracing::warn!(connection = self.state.id, source = dialer.address(), error = %e, "cannot connect to the source");
            e.to_string()
        })?;
        let (read_half, write_half) = tokio::io::split(stream);
        let (tx, rx) = mpsc::channel(SOURCE_QUEUE);
        tokio::spawn(run_writer(write_half, rx));
        tokio::spawn(source::run(self.state.clone(), read_half, tx.clone()));
        Ok(tx)
    }
}

/// Waits until a watched flag is true (or its sender is gone).
pub(super) async fn wait_true(flag: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = flag.wait_for(|v| *v).await;
}

/// Waits until the primary is no longer `mine` (or the sender is gone).
async fn wait_switched(primary: &mut tokio::sync::watch::Receiver<Cluster>, mine: Cluster) {
    let _ = primary.wait_for(|p| *p != mine).await;
}

/// The compression a STARTUP asks for.
fn startup_compression(frame: &Frame) -> Option<Compression> {
    let (_, mut r) = BodyExtras::split(&frame.header, frame.body.clone()).ok()?;
    let startup = Startup::decode(&mut r).ok()?;
    startup.compression().and_then(Compression::from_name)
}

/// SASL PLAIN credentials from an AUTH_RESPONSE.
fn plain_credentials(frame: &Frame, compression: Option<Compression>) -> Option<Credentials> {
    let frame = frame.clone().decompress(compression).ok()?;
    let (_, mut r) = BodyExtras::split(&frame.header, frame.body.clone()).ok()?;
    let auth = AuthResponse::decode(&mut r).ok()?;
    let (user, password) = auth.sasl_plain_credentials()?;
    Some(Credentials::new(user, password))
}
