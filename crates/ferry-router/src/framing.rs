//! Frames on a byte stream, in both directions, for the proxy's two raw
//! legs (client ↔ proxy and proxy ↔ source).
//!
//! Before a v5 connection's handshake ends, and always in v2-v4, frames
//! travel bare (bodies compressed when the STARTUP asked for it; the proxy
//! forwards those bytes as they are). A v5 connection switches to
//! checksummed segments right after the server's READY or AUTHENTICATE.
//! The switch happens at a precise point in each byte stream, so writers
//! get it in band ([`Outbound::Segments`]) and readers are told by the
//! task that saw the READY.

use std::io;
use std::sync::atomic::{AtomicU8, Ordering};

use bytes::BytesMut;
use ferry_wire::frame::{peek_stream_for_unsupported, Frame, FrameDecoder};
use ferry_wire::segment::{FrameAssembler, SegmentCodec, SegmentDecoder, SegmentFrameDecoder};
use ferry_wire::{DecodeError, DecodeErrorKind, EncodeResult};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

/// Bytes asked for per read; the buffer grows for large frames.
const READ_CHUNK: usize = 64 * 1024;
/// Room below which a reader makes more before reading. Frames handed out
/// share the read buffer, so growing it while they live allocates a new
/// one: doing that before every read (rather than when it is nearly
/// full) cost a 64 KiB allocation per read.
const MIN_READ_ROOM: usize = 8 * 1024;
/// Bytes gathered before a writer flushes a batch of frames.
const WRITE_BATCH: usize = 256 * 1024;
/// Queued items a writer takes at once.
const WRITE_ITEMS: usize = 256;

/// How a byte stream is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Bare frames.
    Plain,
    /// v5 segments, uncompressed.
    Segments,
    /// v5 segments, LZ4.
    SegmentsLz4,
}

impl Mode {
    fn to_u8(self) -> u8 {
        match self {
            Self::Plain => 0,
            Self::Segments => 1,
            Self::SegmentsLz4 => 2,
        }
    }

    fn from_u8(v: u8) -> Self {
        match v {
            1 => Self::Segments,
            2 => Self::SegmentsLz4,
            _ => Self::Plain,
        }
    }

    /// The segment mode for a v5 connection with or without LZ4.
    pub(crate) fn segments(lz4: bool) -> Self {
        if lz4 {
            Self::SegmentsLz4
        } else {
            Self::Segments
        }
    }
}

/// A reader's framing mode, switched by another task.
#[derive(Debug, Default)]
pub(crate) struct SharedMode(AtomicU8);

impl SharedMode {
    pub(crate) fn set(&self, mode: Mode) {
        self.0.store(mode.to_u8(), Ordering::Release);
    }

    pub(crate) fn get(&self) -> Mode {
        Mode::from_u8(self.0.load(Ordering::Acquire))
    }
}

/// What a writer task is asked to do.
#[derive(Debug)]
pub(crate) enum Outbound {
    /// Write this frame.
    Frame(Frame),
    /// From the next frame on, write v5 segments.
    Segments {
        /// LZ4-compressed segments.
        lz4: bool,
    },
    /// Write what came before, then shut the stream down (later items
    /// are dropped).
    Close,
}

/// Queues `item` for a writer task, waiting only if its queue is full: the
/// usual case takes no send future (`try_send` first). Errs if the writer
/// is gone.
pub(crate) async fn queue_for_writer(
    queue: &mpsc::Sender<Outbound>,
    item: Outbound,
) -> Result<(), Outbound> {
    match queue.try_send(item) {
        Ok(()) => Ok(()),
        Err(mpsc::error::TrySendError::Full(item)) => queue.send(item).await.map_err(|e| e.0),
        Err(mpsc::error::TrySendError::Closed(item)) => Err(item),
    }
}

/// Why no frame could be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The peer closed the stream (`mid_frame`: with part of a frame buffered).
    Eof {
        /// Whether part of a frame was buffered.
        mid_frame: bool,
    },
    /// The stream failed.
    Io(io::Error),
    /// A frame in a protocol version ferry-wire does not speak (a version
    /// probe): its raw version byte and stream id, to answer it.
    Unsupported {
        /// The raw version byte.
        version: u8,
        /// The stream id.
        stream: i16,
    },
    /// Bytes that are not a frame.
    Decode(DecodeError),
}

/// Reads frames off one direction of a stream.
#[derive(Debug)]
pub(crate) struct FrameReader {
    buf: BytesMut,
    mode: Mode,
    plain: FrameDecoder,
    segments: Option<SegmentFrameDecoder>,
    max_frame_len: usize,
}

impl FrameReader {
    pub(crate) fn new(max_frame_len: usize) -> Self {
        Self {
            buf: BytesMut::with_capacity(READ_CHUNK),
            mode: Mode::Plain,
            plain: FrameDecoder::with_max_frame_len(max_frame_len),
            segments: None,
            max_frame_len,
        }
    }

    /// Switches framing for the bytes not decoded yet.
    pub(crate) fn set_mode(&mut self, mode: Mode) {
        if mode == self.mode {
            return;
        }
        self.mode = mode;
        self.segments = match mode {
            Mode::Plain => None,
            Mode::Segments | Mode::SegmentsLz4 => {
                let segments = if mode == Mode::SegmentsLz4 {
                    SegmentDecoder::lz4()
                } else {
                    SegmentDecoder::uncompressed()
                };
                Some(SegmentFrameDecoder::new(
                    segments,
                    FrameAssembler::with_max_frame_len(self.max_frame_len),
                ))
            }
        };
    }

    /// The next frame, as it was on the wire (a v2-v4 body stays
    /// compressed if it was). `shared`, if given, is consulted before each
    /// decode so another task can switch this reader's mode.
    pub(crate) async fn next<R>(
        &mut self,
        stream: &mut R,
        shared: Option<&SharedMode>,
    ) -> Result<Frame, ReadError>
    where
        R: AsyncRead + Unpin + ?Sized,
    {
        loop {
            if let Some(shared) = shared {
                self.set_mode(shared.get());
            }
            if let Some(frame) = self.decode()? {
                return Ok(frame);
            }
            if self.buf.capacity() - self.buf.len() < MIN_READ_ROOM {
                self.buf.reserve(READ_CHUNK);
            }
            let n = stream
                .read_buf(&mut self.buf)
                .await
                .map_err(ReadError::Io)?;
            if n == 0 {
                return Err(ReadError::Eof {
                    mid_frame: !self.buf.is_empty(),
                });
            }
        }
    }

    fn decode(&mut self) -> Result<Option<Frame>, ReadError> {
        let result = match &mut self.segments {
            Some(decoder) => decoder.decode(&mut self.buf),
            None => self.plain.decode(&mut self.buf),
        };
        result.map_err(|e| {
            if self.segments.is_none() && matches!(e.kind, DecodeErrorKind::UnsupportedVersion(_)) {
                if let Some((version, stream)) = peek_stream_for_unsupported(&self.buf) {
                    return ReadError::Unsupported { version, stream };
                }
            }
            ReadError::Decode(e)
        })
    }
}

/// Encodes frames for one direction of a stream.
#[derive(Debug, Default)]
pub(crate) struct FrameWriter {
    segments: Option<SegmentCodec>,
}

impl FrameWriter {
    pub(crate) fn apply(&mut self, lz4: bool) {
        self.segments = Some(if lz4 {
            SegmentCodec::lz4()
        } else {
            SegmentCodec::uncompressed()
        });
    }

    pub(crate) fn encode(&mut self, frames: &[Frame], out: &mut BytesMut) -> EncodeResult<()> {
        match &mut self.segments {
            Some(codec) => codec.encode_frames(frames, out),
            None => {
                out.reserve(frames.iter().map(Frame::encoded_len).sum());
                for frame in frames {
                    frame.encode(out)?;
                }
                Ok(())
            }
        }
    }
}

/// Drains `queue` into `stream`, batching frames that are already queued
/// into one write. Ends when every sender is gone (after writing what is
/// queued) or the stream fails; then shuts the stream's write side down.
///
/// What is queued is taken in one `recv_many` per batch: taking it item by
/// item (`try_recv`) cost more than encoding the frames.
pub(crate) async fn run_writer<W>(mut stream: W, mut queue: mpsc::Receiver<Outbound>)
where
    W: AsyncWrite + Unpin,
{
    let mut writer = FrameWriter::default();
    let mut out = BytesMut::with_capacity(READ_CHUNK);
    let mut items: Vec<Outbound> = Vec::with_capacity(WRITE_ITEMS);
    let mut batch: Vec<Frame> = Vec::new();
    let mut closing = false;
    while !closing && queue.recv_many(&mut items, WRITE_ITEMS).await > 0 {
        let mut batch_bytes = 0;
        for item in items.drain(..) {
            match item {
                Outbound::Frame(frame) => {
                    batch_bytes += frame.encoded_len();
                    batch.push(frame);
                }
                Outbound::Segments { lz4 } => {
                    // Frames before the switch are encoded the old way.
                    if writer.encode(&batch, &mut out).is_err() {
                        return shut(stream).await;
                    }
                    batch.clear();
                    writer.apply(lz4);
                }
                Outbound::Close => {
                    // Later items are dropped.
                    closing = true;
                    break;
                }
            }
            if batch_bytes >= WRITE_BATCH {
                // A batch of large frames: write it before taking more.
                if !write_batch(&mut stream, &mut writer, &mut batch, &mut out).await {
                    return shut(stream).await;
                }
                batch_bytes = 0;
            }
        }
        if !write_batch(&mut stream, &mut writer, &mut batch, &mut out).await {
            break;
        }
    }
    shut(stream).await;
}

/// Encodes `batch` after what `out` holds, writes it all and flushes;
/// `false` if that failed (the stream is done for).
async fn write_batch<W: AsyncWrite + Unpin>(
    stream: &mut W,
    writer: &mut FrameWriter,
    batch: &mut Vec<Frame>,
    out: &mut BytesMut,
) -> bool {
    let encoded = writer.encode(batch, out);
    batch.clear();
    if let Err(e) = encoded {
        tracing::warn!(error = %e, "cannot encode a frame; closing the stream");
        return false;
    }
    if out.is_empty() {
        return true;
    }
    let written = stream.write_all(out).await.is_ok() && stream.flush().await.is_ok();
    out.clear();
    written
}

async fn shut<W: AsyncWrite + Unpin>(mut stream: W) {
    let _ = stream.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use ferry_wire::frame::FrameHeader;
    use ferry_wire::{Opcode, ProtocolVersion};

    fn frame(version: ProtocolVersion, stream: i16) -> Frame {
        Frame::new(
            FrameHeader::request(version, stream, Opcode::Options, 0),
            Bytes::new(),
        )
    }

    #[tokio::test]
    async fn writer_switches_to_segments_in_band_and_reader_follows() {
        let (client, server) = tokio::io::duplex(1 << 16);
        let (tx, rx) = mpsc::channel(8);
        let writer = tokio::spawn(run_writer(client, rx));
        tx.send(Outbound::Frame(frame(ProtocolVersion::V5, 1)))
            .await
            .unwrap();
        tx.send(Outbound::Segments { lz4: true }).await.unwrap();
        tx.send(Outbound::Frame(frame(ProtocolVersion::V5, 2)))
            .await
            .unwrap();
        drop(tx);
        writer.await.unwrap();
        let mut server = server;
        let mut reader = FrameReader::new(1 << 20);
        let first = reader.next(&mut server, None).await.unwrap();
        assert_eq!(first.header.stream, 1);
        reader.set_mode(Mode::SegmentsLz4);
        let second = reader.next(&mut server, None).await.unwrap();
        assert_eq!(second.header.stream, 2);
        assert!(matches!(
            reader.next(&mut server, None).await,
            Err(ReadError::Eof { mid_frame: false })
        ));
    }

    #[tokio::test]
    async fn version_probes_are_reported_with_their_stream() {
        let (mut client, mut server) = tokio::io::duplex(1024);
        client
            .write_all(&[0x42, 0, 0, 9, 0x05, 0, 0, 0, 0])
            .await
            .unwrap();
        let mut reader = FrameReader::new(1 << 20);
        match reader.next(&mut server, None).await {
            Err(ReadError::Unsupported { version, stream }) => {
                assert_eq!((version, stream), (0x42, 9));
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn garbage_is_a_decode_error() {
        let (mut client, mut server) = tokio::io::duplex(1024);
        client.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
        let mut reader = FrameReader::new(1 << 20);
        assert!(matches!(
            reader.next(&mut server, None).await,
            Err(ReadError::Decode(_) | ReadError::Unsupported { .. })
        ));
    }
}
