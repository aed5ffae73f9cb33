//! The durable failed-write log.
//!
//! A target write that still fails after its retries, that cannot be
//! queued, or that is still pending when the proxy shuts down, is appended
//! here, never dropped. `ferry-proxy replay LOG` (see
//! [`replay`](crate::replay)) applies the log to the target later; the
//! bodies carry their write timestamps, so applying a record twice writes
//! identical cells.
//!
//! ## File format (version 1)
//!
//! ```text
//! file   = header record*
//! header = "FERRYFWL" (8 bytes) | format version u16 = 1 | reserved u16 = 0
//! record = payload length u32 | payload | CRC-32 (IEEE) of payload u32
//! ```
//!
//! Integers are big-endian; the payload layout is described at
//! [`FailedWrite::encode_payload`]. Each record is written with one
//! `write` and flushed to disk (`fdatasync`) before the append returns. A
//! record cut short by a crash is detected by its length or checksum; when
//! the proxy opens such a log it cuts the torn tail off (with a warning
//! naming the offset) before appending.
//!
//! ```
//! use bytes::Bytes;
//! use ferry_router::failed_log::{read_log, FailedWrite, FailedWriteLog};
//! use ferry_wire::frame::FrameFlags;
//! use ferry_wire::{Opcode, ProtocolVersion};
//! let dir = std::env::temp_dir().join(format!("fwl-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let path = dir.join("failed.log");
//! # let _ = std::fs::remove_file(&path);
//! let log = FailedWriteLog::open(&path).unwrap();
//! let write = FailedWrite {
//!     logged_at_micros: 1, write_timestamp: None, version: ProtocolVersion::V3,
//!     opcode: Opcode::Query, flags: FrameFlags::NONE, keyspace: None, idempotent: false,
//!     reason: "test".into(), statements: vec![], body: Bytes::from_static(b"x"),
//! };
//! log.append(&write).unwrap();
//! let records: Vec<_> = read_log(&path).unwrap().collect::<Result<_, _>>().unwrap();
//! assert_eq!(records[0].1, write);
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

mod file;
mod record;

pub use file::{read_log, FailedWriteLog, LogError, LogReader, FILE_HEADER_LEN, MAGIC};
pub use record::{FailedWrite, LoggedStatement};
