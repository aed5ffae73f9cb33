//! One accepted connection of the fake server: framing, the handshake
//! state, and carrying out actions.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use ferry_wire::compression::Compression;
use ferry_wire::frame::{
    peek_stream_for_unsupported, BodyExtras, Frame, FrameDecoder, FrameHeader,
};
use ferry_wire::request::{Request, Startup};
use ferry_wire::response::{
    AuthSuccess, Authenticate, ErrorDetails, ErrorResponse, Ready, Response,
};
use ferry_wire::segment::{SegmentCodec, SegmentFrameDecoder};
use ferry_wire::{DecodeErrorKind, DecodeResult, Opcode, ProtocolVersion, Reader};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, WriteHalf};
use tokio::sync::mpsc;

use super::record::ReceivedRequest;
use super::replies::{self, PASSWORD_AUTHENTICATOR};
use super::script::Action;
use super::{ServerState, VersionRejection};

/// What the writer task does next, in order.
#[derive(Debug)]
pub(crate) enum Out {
    /// Encode and write a frame with the current framing.
    Frame(Frame),
    /// Write bytes as they are.
    Raw(Bytes),
    /// Write the first half of an encoded frame, then close.
    HalfThenClose(Frame),
    /// Close the connection.
    Close,
    /// Switch the framing of everything written after this.
    Framing(WriteFraming),
}

/// How frames are written.
#[derive(Debug)]
pub(crate) enum WriteFraming {
    Plain(Option<Compression>),
    Segments(Box<SegmentCodec>),
}

impl WriteFraming {
    fn encode(&mut self, frame: Frame, out: &mut BytesMut) {
        let result = match self {
            Self::Plain(Some(c)) => frame.compress(*c).encode(out),
            Self::Plain(None) => frame.encode(out),
            Self::Segments(codec) => codec.encode_frames(std::slice::from_ref(&frame), out),
        };
        if let Err(e) = result {
            tracing::error!(error = %e, "fake server: cannot encode a frame");
        }
    }
}

/// How frames are read.
enum ReadFraming {
    Plain {
        decoder: FrameDecoder,
        compression: Option<Compression>,
    },
    Segments(Box<SegmentFrameDecoder>),
}

impl ReadFraming {
    fn decode(&mut self, buf: &mut BytesMut) -> DecodeResult<Option<Frame>> {
        match self {
            Self::Plain {
                decoder,
                compression,
            } => match decoder.decode(buf)? {
                Some(f) => f.decompress(*compression).map(Some),
                None => Ok(None),
            },
            Self::Segments(d) => d.decode(buf),
        }
    }
}

/// The writer task: applies [`Out`] commands in order.
pub(crate) async fn write_loop<S>(
    mut stream: WriteHalf<S>,
    mut commands: mpsc::UnboundedReceiver<Out>,
    outstanding: Arc<Mutex<HashSet<i16>>>,
) where
    S: AsyncRead + AsyncWrite,
{
    let mut framing = WriteFraming::Plain(None);
    let mut buf = BytesMut::new();
    while let Some(command) = commands.recv().await {
        buf.clear();
        let answered = match &command {
            Out::Frame(f) | Out::HalfThenClose(f) => Some(f.header.stream),
            _ => None,
        };
        let close = match command {
            Out::Frame(frame) => {
                framing.encode(frame, &mut buf);
                false
            }
            Out::Raw(bytes) => {
                buf.extend_from_slice(&bytes);
                false
            }
            Out::HalfThenClose(frame) => {
                framing.encode(frame, &mut buf);
                let half = (buf.len() / 2).max(1);
                buf.truncate(half);
                true
            }
            Out::Close => true,
            Out::Framing(f) => {
                framing = f;
                false
            }
        };
        // Before writing: once the answer is out, the client may reuse the
        // id at once, and the reader must not mistake that for a reuse.
        if let Some(stream_id) = answered.filter(|s| *s >= 0) {
            lock(&outstanding).remove(&stream_id);
        }
        if !buf.is_empty()
            && (stream.write_all(&buf).await.is_err() || stream.flush().await.is_err())
        {
            break;
        }
        if close {
            break;
        }
    }
    let _ = stream.shutdown().await;
    // Dropping the receiver makes every later send fail: the reader stops.
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The reading side of one connection and its protocol state.
pub(crate) struct Session {
    pub(crate) state: Arc<ServerState>,
    pub(crate) id: usize,
    pub(crate) out: mpsc::UnboundedSender<Out>,
    pub(crate) outstanding: Arc<Mutex<HashSet<i16>>>,
    pub(crate) version: Arc<OnceLock<ProtocolVersion>>,
    pub(crate) registered: Arc<std::sync::atomic::AtomicBool>,
    ready: bool,
    started: bool,
    compression: Option<Compression>,
    reader: ReadFraming,
    /// Framing to switch the reader to once the current frame is handled.
    next_reader: Option<ReadFraming>,
}

/// Whether to keep reading after a frame.
enum Flow {
    Continue,
    Stop,
}

impl Session {
    pub(crate) fn new(
        state: Arc<ServerState>,
        id: usize,
        out: mpsc::UnboundedSender<Out>,
        outstanding: Arc<Mutex<HashSet<i16>>>,
        version: Arc<OnceLock<ProtocolVersion>>,
        registered: Arc<std::sync::atomic::AtomicBool>,
    ) -> Self {
        Self {
            state,
            id,
            out,
            outstanding,
            version,
            registered,
            ready: false,
            started: false,
            compression: None,
            reader: ReadFraming::Plain {
                decoder: FrameDecoder::new(),
                compression: None,
            },
            next_reader: None,
        }
    }

    fn send(&self, out: Out) {
        // A closed writer means the connection is gone; the read loop
        // notices on its next read.
        let _ = self.out.send(out);
    }

    /// Reads and handles frames until the connection ends.
    pub(crate) async fn read_loop<R: AsyncRead + Unpin>(mut self, mut stream: R) {
        let mut buf = BytesMut::with_capacity(64 * 1024);
        loop {
            match self.reader.decode(&mut buf) {
                Ok(Some(frame)) => {
                    if let Flow::Stop = self.handle(frame) {
                        return;
                    }
                    if let Some(next) = self.next_reader.take() {
                        self.reader = next;
                    }
                    continue;
                }
                Ok(None) => {}
                Err(e) => {
                    self.malformed(&buf, e.kind);
                    return;
                }
            }
            if self.out.is_closed() {
                return;
            }
            buf.reserve(64 * 1024);
            match stream.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    }

    /// A frame we cannot decode. An unknown version on the first frame is
    /// a version probe and gets the configured rejection.
    fn malformed(&self, buf: &[u8], kind: DecodeErrorKind) {
        if let (None, Some((byte, stream))) = (self.version.get(), peek_stream_for_unsupported(buf))
        {
            self.reject_version(byte & 0x7f, stream);
            return;
        }
        tracing::debug!(connection = self.id, ?kind, "fake server: malformed frame");
        self.state.stats().malformed_frames += 1;
        self.send(Out::Close);
    }

    /// Answers a frame in a version outside the server's range.
    fn reject_version(&self, number: u8, stream: i16) {
        let config = &self.state.config;
        let reply_version = config.max_version;
        let error = match config.version_rejection {
            VersionRejection::Close => {
                self.send(Out::Close);
                return;
            }
            VersionRejection::ProtocolError => ErrorResponse::protocol_error(format!(
                "Invalid or unsupported protocol version ({number}); supported versions are ({})",
                replies::version_list(config.min_version, config.max_version).join(", ")
            )),
            VersionRejection::ServerError => ErrorResponse::server_error(format!(
                "Invalid or unsupported protocol version: {number}"
            )),
        };
        self.send(Out::Frame(response_frame(
            reply_version,
            stream,
            &Response::Error(error),
        )));
        self.send(Out::Close);
    }

    fn handle(&mut self, frame: Frame) -> Flow {
        let header = frame.header;
        if header.is_response {
            self.state.stats().malformed_frames += 1;
            self.send(Out::Close);
            return Flow::Stop;
        }
        let config = &self.state.config;
        match self.version.get() {
            None => {
                if header.version < config.min_version || header.version > config.max_version {
                    self.reject_version(header.version.number(), header.stream);
                    return Flow::Stop;
                }
                let _ = self.version.set(header.version);
            }
            Some(&v) if v != header.version => {
                let error = ErrorResponse::protocol_error(format!(
                    "Invalid message version. Got {} but previous messages on this connection \
                     had version {v}",
                    header.version
                ));
                self.send(Out::Frame(response_frame(
                    v,
                    header.stream,
                    &Response::Error(error),
                )));
                return Flow::Continue;
            }
            Some(_) => {}
        }
        let version = header.version;
        let request = decode_request(&frame);
        let received = ReceivedRequest {
            connection: self.id,
            version,
            stream: header.stream,
            opcode: header.opcode,
            flags: header.flags,
            request: request.clone(),
            body: frame.body.clone(),
            after_ready: self.ready,
            at: Instant::now(),
        };
        self.track(header.stream);
        self.state.record(received.clone());
        let action = self.state.choose(&received);
        let outs = self.plan(action, &received);
        match outs {
            Plan::Now(outs) => outs.into_iter().for_each(|o| self.send(o)),
            Plan::Later(delay, outs) => {
                let sender = self.out.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    for o in outs {
                        let _ = sender.send(o);
                    }
                });
            }
        }
        Flow::Continue
    }

    /// Marks `stream` unanswered, counting reuse of an unanswered id.
    fn track(&self, stream: i16) {
        if stream < 0 {
            return;
        }
        let count = {
            let mut outstanding = lock(&self.outstanding);
            if !outstanding.insert(stream) {
                self.state.stats().stream_id_reuses += 1;
            }
            outstanding.len()
        };
        let mut stats = self.state.stats();
        stats.max_outstanding = stats.max_outstanding.max(count);
    }

    /// Turns an action into writer commands (applying state changes now).
    fn plan(&mut self, action: Action, received: &ReceivedRequest) -> Plan {
        let stream = received.stream;
        let version = received.version;
        match action {
            Action::Delay(delay, inner) => match self.plan(*inner, received) {
                Plan::Now(outs) => Plan::Later(delay, outs),
                Plan::Later(more, outs) => Plan::Later(delay + more, outs),
            },
            Action::NoResponse => Plan::Now(Vec::new()),
            Action::Garbage(bytes) => Plan::Now(vec![Out::Raw(bytes)]),
            Action::Close => Plan::Now(vec![Out::Close]),
            Action::DropMidResponse(response) => {
                let response = response.unwrap_or_else(|| self.default_response(received));
                Plan::Now(vec![Out::HalfThenClose(response_frame(
                    version, stream, &response,
                ))])
            }
            Action::Default => {
                let response = self.default_response(received);
                Plan::Now(self.respond(received, response))
            }
            Action::Respond(response) => Plan::Now(self.respond(received, response)),
        }
    }

    /// The frames for `response`, with the framing switches a STARTUP
    /// answer implies.
    fn respond(&mut self, received: &ReceivedRequest, response: Response) -> Vec<Out> {
        let version = received.version;
        let frame = response_frame(version, received.stream, &response);
        let mut outs = Vec::new();
        let startup_accepted = received.opcode == Opcode::Startup
            && matches!(response, Response::Ready(_) | Response::Authenticate(_));
        if startup_accepted && !version.uses_segments() {
            // Like Cassandra: once STARTUP set compression, even READY is compressed.
            outs.push(Out::Framing(WriteFraming::Plain(self.compression)));
            self.next_reader = Some(ReadFraming::Plain {
                decoder: FrameDecoder::new(),
                compression: self.compression,
            });
        }
        outs.push(Out::Frame(frame));
        if startup_accepted && version.uses_segments() {
            // v5: STARTUP's answer is the last bare frame in each direction.
            let lz4 = self.compression == Some(Compression::Lz4);
            let (codec, decoder) = if lz4 {
                (SegmentCodec::lz4(), SegmentFrameDecoder::lz4())
            } else {
                (
                    SegmentCodec::uncompressed(),
                    SegmentFrameDecoder::uncompressed(),
                )
            };
            outs.push(Out::Framing(WriteFraming::Segments(Box::new(codec))));
            self.next_reader = Some(ReadFraming::Segments(Box::new(decoder)));
        }
        if matches!(response, Response::Ready(_) | Response::AuthSuccess(_))
            && matches!(received.opcode, Opcode::Startup | Opcode::AuthResponse)
        {
            self.ready = true;
        }
        if received.opcode == Opcode::Register && matches!(response, Response::Ready(_)) {
            self.registered
                .store(true, std::sync::atomic::Ordering::SeqCst);
        }
        outs
    }

    /// What a well-behaved server answers.
    fn default_response(&mut self, received: &ReceivedRequest) -> Response {
        let config = &self.state.config;
        let Some(request) = &received.request else {
            return protocol_error(format!("cannot decode {} request", received.opcode.name()));
        };
        if !self.started && !matches!(request, Request::Options(_) | Request::Startup(_)) {
            return protocol_error(format!(
                "Unexpected message {}, expecting STARTUP or OPTIONS",
                received.opcode.name()
            ));
        }
        match request {
            Request::Options(_) => Response::Supported(replies::supported(
                &config.compression,
                config.min_version,
                config.max_version,
            )),
            Request::Startup(startup) => self.startup(startup, received.version),
            Request::AuthResponse(a) => match (&config.credentials, a.sasl_plain_credentials()) {
                (Some((user, pass)), Some((u, p))) if u == user && p == pass => {
                    Response::AuthSuccess(AuthSuccess { token: None })
                }
                (_, got) => Response::Error(ErrorResponse::new(
                    ErrorDetails::BadCredentials,
                    format!(
                        "Provided username {} and/or password are incorrect",
                        got.map_or("(none)", |(u, _)| u)
                    ),
                )),
            },
            Request::Register(_) => Response::Ready(Ready),
            other => Response::Result(replies::result_for(other, received.version)),
        }
    }

    fn startup(&mut self, startup: &Startup, version: ProtocolVersion) -> Response {
        if self.started {
            return protocol_error("STARTUP already received on this connection".into());
        }
        let compression = match startup.compression() {
            None => None,
            Some(name) => match Compression::from_name(name) {
                Some(Compression::Snappy) if version.uses_segments() => {
                    return protocol_error(
                        "Snappy compression is not supported in protocol v5".into(),
                    )
                }
                Some(c)
                    if self
                        .state
                        .config
                        .compression
                        .iter()
                        .any(|n| n.eq_ignore_ascii_case(c.name())) =>
                {
                    Some(c)
                }
                _ => return protocol_error(format!("Unknown compression algorithm: {name}")),
            },
        };
        self.started = true;
        self.compression = compression;
        if self.state.config.credentials.is_some() {
            Response::Authenticate(Authenticate {
                authenticator: PASSWORD_AUTHENTICATOR.into(),
            })
        } else {
            Response::Ready(Ready)
        }
    }
}

/// Writer commands now, or after a delay.
enum Plan {
    Now(Vec<Out>),
    Later(std::time::Duration, Vec<Out>),
}

fn protocol_error(message: String) -> Response {
    Response::Error(ErrorResponse::protocol_error(message))
}

/// Decodes a request frame's message, if it is well formed.
fn decode_request(frame: &Frame) -> Option<Request> {
    let (_, mut r): (BodyExtras, Reader) =
        BodyExtras::split(&frame.header, frame.body.clone()).ok()?;
    Request::decode(frame.header.opcode, &mut r, frame.header.version).ok()
}

/// A response frame; a message that cannot be encoded becomes a server error.
pub(crate) fn response_frame(version: ProtocolVersion, stream: i16, response: &Response) -> Frame {
    let mut body = BytesMut::new();
    let (opcode, body) = match response.encode(&mut body, version) {
        Ok(()) => (response.opcode(), body.freeze()),
        Err(e) => {
            let mut body = BytesMut::new();
            let error = ErrorResponse::server_error(format!(
                "fake server cannot encode its scripted {} for {version}: {e}",
                response.opcode().name()
            ));
            // A server error with a short message always encodes.
            let _ = error.encode(&mut body, version);
            (Opcode::Error, body.freeze())
        }
    };
    Frame::new(FrameHeader::response(version, stream, opcode, 0), body)
}
