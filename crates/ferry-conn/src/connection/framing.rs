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

/// Bytes read per `read` call at least; the buffer grows for large frames.
const READ_CHUNK: usize = 64 * 1024;

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
    loop {
        if let Some(frame) = reader.decode(buf).map_err(ReadError::Decode)? {
            return Ok(frame);
        }
        buf.reserve(READ_CHUNK);
        let n = stream.read_buf(buf).await.map_err(ReadError::Io)?;
        if n == 0 {
            return Err(ReadError::Eof {
                mid_frame: !buf.is_empty(),
            });
        }
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
