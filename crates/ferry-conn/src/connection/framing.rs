//! Frames on the byte stream: bare frames (v2-v4, and v5 until the
//! handshake switches) or v5 segments, with the negotiated compression.
//!
//! [`FrameReader`] and [`FrameWriter`] are the two directions, so the
//! connection can give each to its own task; [`Framed`] joins them over one
//! stream for the sequential handshake.

use bytes::BytesMut;
use ferry_wire::compression::Compression;
use ferry_wire::frame::{Frame, FrameDecoder};
use ferry_wire::segment::{SegmentCodec, SegmentFrameDecoder};
use ferry_wire::{DecodeResult, EncodeResult};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::transport::BoxedStream;

/// Bytes the buffer grows by when it runs short of room; it grows again
/// for large frames.
const READ_CHUNK: usize = 64 * 1024;

/// Room below which the buffer grows before a read. Growing it while it
/// still has room is costly: the frames already cut off share its
/// allocation, so `reserve` allocates a new buffer (and copies the partial
/// frame) on every read, a 64 KiB malloc and free per read when responses
/// are small.
const MIN_READ_ROOM: usize = 8 * 1024;

/// Turns received bytes into frames.
#[derive(Debug)]
pub(crate) enum FrameReader {
    /// Bare frames, bodies compressed with `compression` when flagged.
    Plain {
        decoder: FrameDecoder,
        compression: Option<Compression>,
    },
    /// v5 segments (LZ4 or not) carrying envelopes.
    Segments(Box<SegmentFrameDecoder>),
}

impl FrameReader {
    /// Bare frames, no compression: how every connection starts.
    pub(crate) fn plain() -> Self {
        Self::Plain {
            decoder: FrameDecoder::new(),
            compression: None,
        }
    }

    /// The next whole frame in `buf` (body decompressed), if there is one.
    pub(crate) fn decode(&mut self, buf: &mut BytesMut) -> DecodeResult<Option<Frame>> {
        match self {
            Self::Plain {
                decoder,
                compression,
            } => match decoder.decode(buf)? {
                Some(frame) => frame.decompress(*compression).map(Some),
                None => Ok(None),
            },
            Self::Segments(decoder) => decoder.decode(buf),
        }
    }
}

/// Turns frames into bytes to send.
#[derive(Debug)]
pub(crate) enum FrameWriter {
    /// Bare frames, compressed with `compression` if set.
    Plain { compression: Option<Compression> },
    /// v5 segments.
    Segments(Box<SegmentCodec>),
}

impl FrameWriter {
    /// Bare frames, no compression.
    pub(crate) fn plain() -> Self {
        Self::Plain { compression: None }
    }

    /// Appends the encoding of `frames` to `out`.
    pub(crate) fn encode(&mut self, frames: &[Frame], out: &mut BytesMut) -> EncodeResult<()> {
        match self {
            Self::Plain { compression } => {
                for frame in frames {
                    match compression {
                        Some(c) => frame.clone().compress(*c).encode(out)?,
                        None => frame.encode(out)?,
                    }
                }
                Ok(())
            }
            Self::Segments(codec) => codec.encode_frames(frames, out),
        }
    }
}

/// Sets both directions to the framing the handshake agreed on.
pub(crate) fn negotiated(
    segments: bool,
    compression: Option<Compression>,
) -> (FrameReader, FrameWriter) {
    if segments {
        let lz4 = compression == Some(Compression::Lz4);
        let (decoder, codec) = if lz4 {
            (SegmentFrameDecoder::lz4(), SegmentCodec::lz4())
        } else {
            (
                SegmentFrameDecoder::uncompressed(),
                SegmentCodec::uncompressed(),
            )
        };
        (
            FrameReader::Segments(Box::new(decoder)),
            FrameWriter::Segments(Box::new(codec)),
        )
    } else {
        (
            FrameReader::Plain {
                decoder: FrameDecoder::new(),
                compression,
            },
            FrameWriter::Plain { compression },
        )
    }
}

/// Why no frame could be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The peer closed the stream; `mid_frame` if part of a frame was buffered.
    Eof { mid_frame: bool },
    /// The stream failed.
    Io(std::io::Error),
    /// The bytes are not a valid frame.
    Decode(ferry_wire::DecodeError),
}

/// Reads from `stream` into `buf` until `reader` yields a frame.
pub(crate) async fn read_frame<R>(
    stream: &mut R,
    buf: &mut BytesMut,
    reader: &mut FrameReader,
) -> Result<Frame, ReadError>
where
    R: tokio::io::AsyncRead + Unpin + ?Sized,
{
    read_frame_noting(stream, buf, reader, || {}).await
}

/// [`read_frame`], calling `on_read` after each read from the stream that
/// returned bytes (once per read, not per frame: several frames often
/// come in one read).
pub(crate) async fn read_frame_noting<R>(
    stream: &mut R,
    buf: &mut BytesMut,
    reader: &mut FrameReader,
    mut on_read: impl FnMut(),
) -> Result<Frame, ReadError>
where
    R: tokio::io::AsyncRead + Unpin + ?Sized,
{
    loop {
        if let Some(frame) = reader.decode(buf).map_err(ReadError::Decode)? {
            return Ok(frame);
        }
        if buf.capacity().saturating_sub(buf.len()) < MIN_READ_ROOM {
            buf.reserve(READ_CHUNK);
        }
        let n = stream.read_buf(buf).await.map_err(ReadError::Io)?;
        if n == 0 {
            return Err(ReadError::Eof {
                mid_frame: !buf.is_empty(),
            });
        }
        on_read();
    }
}

/// One stream with both directions of framing, used one message at a time.
pub(crate) struct Framed {
    pub(crate) stream: BoxedStream,
    pub(crate) read_buf: BytesMut,
    pub(crate) reader: FrameReader,
    pub(crate) writer: FrameWriter,
    write_buf: BytesMut,
}

impl Framed {
    /// Bare, uncompressed frames over `stream`.
    pub(crate) fn new(stream: BoxedStream) -> Self {
        Self {
            stream,
            read_buf: BytesMut::with_capacity(READ_CHUNK),
            reader: FrameReader::plain(),
            writer: FrameWriter::plain(),
            write_buf: BytesMut::new(),
        }
    }

    /// Writes and flushes one frame.
    pub(crate) async fn send(&mut self, frame: Frame) -> Result<(), SendError> {
        self.write_buf.clear();
        self.writer
            .encode(std::slice::from_ref(&frame), &mut self.write_buf)
            .map_err(SendError::Encode)?;
        self.stream
            .write_all(&self.write_buf)
            .await
            .map_err(SendError::Io)?;
        self.stream.flush().await.map_err(SendError::Io)
    }

    /// Reads one frame.
    pub(crate) async fn recv(&mut self) -> Result<Frame, ReadError> {
        read_frame(&mut self.stream, &mut self.read_buf, &mut self.reader).await
    }
}

/// Why a frame could not be sent.
#[derive(Debug)]
pub(crate) enum SendError {
    /// The frame cannot be encoded.
    Encode(ferry_wire::EncodeError),
    /// The stream failed.
    Io(std::io::Error),
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use ferry_wire::frame::FrameHeader;
    use ferry_wire::{Opcode, ProtocolVersion};
    use tokio::io::AsyncWriteExt;

    use super::*;

    fn response(stream: i16, body: &'static [u8]) -> Frame {
        let header = FrameHeader::response(ProtocolVersion::V4, stream, Opcode::Result, 0);
        Frame::new(header, Bytes::from_static(body))
    }

    async fn send(peer: &mut tokio::io::DuplexStream, frame: &Frame) {
        let mut bytes = BytesMut::new();
        frame.encode(&mut bytes).unwrap();
        peer.write_all(&bytes).await.unwrap();
    }

    /// Small frames arriving one read at a time are cut from one buffer:
    /// no new allocation per read while earlier frames are still alive.
    #[tokio::test]
    async fn small_frames_read_one_at_a_time_share_one_buffer() {
        let (mut ours, mut theirs) = tokio::io::duplex(1024);
        let mut buf = BytesMut::new();
        let mut reader = FrameReader::plain();
        let mut kept = Vec::new();
        for (i, body) in [&b"first"[..], b"second", b"third"].into_iter().enumerate() {
            let sent = response(i as i16, body);
            send(&mut theirs, &sent).await;
            let got = read_frame(&mut ours, &mut buf, &mut reader).await.unwrap();
            assert_eq!(got, sent);
            kept.push(got);
        }
        for pair in kept.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            // The next frame's body starts right after this body and the
            // next 9-byte header, in the same allocation.
            let expected = a.body.as_ptr() as usize + a.body.len() + 9;
            assert_eq!(
                b.body.as_ptr() as usize,
                expected,
                "frame read into a new buffer"
            );
        }
    }

    /// A frame larger than the read chunk still arrives whole.
    #[tokio::test]
    async fn a_frame_larger_than_the_read_chunk_is_read_whole() {
        let (mut ours, mut theirs) = tokio::io::duplex(4096);
        let body: &'static [u8] = Box::leak(vec![7u8; 3 * READ_CHUNK + 5].into_boxed_slice());
        let sent = response(1, body);
        let writer = tokio::spawn(async move {
            send(&mut theirs, &sent).await;
            sent
        });
        let mut buf = BytesMut::new();
        let got = read_frame(&mut ours, &mut buf, &mut FrameReader::plain())
            .await
            .unwrap();
        assert_eq!(got, writer.await.unwrap());
    }
}
