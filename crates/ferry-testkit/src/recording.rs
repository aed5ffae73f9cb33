//! What a [`crate::RecordingRelay`] captured, and its file format.
//!
//! A recording file is plain text so it can be read, diffed and committed as
//! a golden file. One line per chunk:
//!
//! ```text
//! # ferry recording v1: <connection> <c2s|s2c> <microseconds since relay start> <hex bytes>
//! 0 c2s 1520 0300000005000000 00
//! ```
//!
//! (the hex is one word without spaces in real files). Chunks are the sizes
//! the relay happened to read; frames can span chunks, so decoders should
//! work on [`stream_bytes`], the concatenation per connection and direction.

use std::fmt;
use std::io;
use std::path::Path;
use std::time::Duration;

/// The first line of every recording file.
pub(crate) const HEADER: &str =
    "# ferry recording v1: <connection> <c2s|s2c> <microseconds since relay start> <hex bytes>";

/// Which way a chunk travelled through the relay.
///
/// ```
/// use ferry_testkit::Direction;
/// assert_eq!(Direction::ClientToServer.to_string(), "c2s");
/// assert_eq!("s2c".parse::<Direction>(), Ok(Direction::ServerToClient));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the client (driver) to the server (node): requests.
    ClientToServer,
    /// From the server to the client: responses and events.
    ServerToClient,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::ClientToServer => "c2s",
            Direction::ServerToClient => "s2c",
        })
    }
}

impl std::str::FromStr for Direction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "c2s" => Ok(Direction::ClientToServer),
            "s2c" => Ok(Direction::ServerToClient),
            other => Err(format!("not a direction: {other:?}")),
        }
    }
}

/// One read from one side of one relayed connection.
///
/// ```
/// use ferry_testkit::{Chunk, Direction};
/// let c = Chunk { connection: 0, direction: Direction::ClientToServer,
///                 elapsed: std::time::Duration::from_micros(7), bytes: vec![0x03, 0xff] };
/// assert_eq!(c.to_line(), "0 c2s 7 03ff");
/// assert_eq!(Chunk::from_line("0 c2s 7 03ff"), Ok(c));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// The relayed connection, numbered from 0 in accept order.
    pub connection: u64,
    /// Which way the bytes went.
    pub direction: Direction,
    /// When the relay read them, measured from the relay's start.
    pub elapsed: Duration,
    /// The bytes, exactly as read.
    pub bytes: Vec<u8>,
}

impl Chunk {
    /// The chunk as one line of a recording file (without the newline).
    pub fn to_line(&self) -> String {
        let mut line = format!(
            "{} {} {} ",
            self.connection,
            self.direction,
            self.elapsed.as_micros()
        );
        line.reserve(self.bytes.len() * 2);
        for b in &self.bytes {
            line.push_str(&format!("{b:02x}"));
        }
        line
    }

    /// Parses one line of a recording file.
    pub fn from_line(line: &str) -> Result<Chunk, String> {
        let mut parts = line.split_whitespace();
        let mut next = |what: &str| {
            parts
                .next()
                .ok_or_else(|| format!("missing {what} in {line:?}"))
        };
        let connection = next("connection")?
            .parse()
            .map_err(|_| format!("bad connection in {line:?}"))?;
        let direction = next("direction")?.parse()?;
        let micros: u64 = next("time")?
            .parse()
            .map_err(|_| format!("bad time in {line:?}"))?;
        let bytes = decode_hex(next("bytes")?).ok_or_else(|| format!("bad hex in {line:?}"))?;
        Ok(Chunk {
            connection,
            direction,
            elapsed: Duration::from_micros(micros),
            bytes,
        })
    }
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if hex.len() % 2 != 0 {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        })
        .collect()
}

/// Reads a recording file written by a relay started with
/// [`crate::RecordingRelay::start_recording_to`].
pub fn read_recording(path: impl AsRef<Path>) -> io::Result<Vec<Chunk>> {
    let text = std::fs::read_to_string(path)?;
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| Chunk::from_line(l).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e)))
        .collect()
}

/// All bytes of one connection in one direction, in order: the byte stream
/// the receiving side saw.
///
/// ```
/// use ferry_testkit::{stream_bytes, Chunk, Direction::*};
/// let chunk = |connection, direction, bytes: &[u8]| Chunk {
///     connection, direction, elapsed: Default::default(), bytes: bytes.to_vec() };
/// let chunks = [chunk(0, ClientToServer, b"ab"), chunk(1, ClientToServer, b"x"),
///               chunk(0, ServerToClient, b"r"), chunk(0, ClientToServer, b"c")];
/// assert_eq!(stream_bytes(&chunks, 0, ClientToServer), b"abc");
/// ```
pub fn stream_bytes(chunks: &[Chunk], connection: u64, direction: Direction) -> Vec<u8> {
    chunks
        .iter()
        .filter(|c| c.connection == connection && c.direction == direction)
        .flat_map(|c| c.bytes.iter().copied())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip() {
        let chunk = Chunk {
            connection: 12,
            direction: Direction::ServerToClient,
            elapsed: Duration::from_micros(123_456),
            bytes: (0..=255).collect(),
        };
        assert_eq!(Chunk::from_line(&chunk.to_line()), Ok(chunk));
    }

    #[test]
    fn rejects_malformed_lines() {
        for line in [
            "",
            "0",
            "0 c2s",
            "0 c2s 1",
            "0 up 1 00",
            "x c2s 1 00",
            "0 c2s 1 0",
            "0 c2s 1 zz",
        ] {
            assert!(Chunk::from_line(line).is_err(), "{line:?}");
        }
    }
}
