//! Appending records to the log file, and reading them back.

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use bytes::{BufMut, Bytes, BytesMut};
use ferry_wire::DecodeError;

use super::record::FailedWrite;

/// The first eight bytes of a failed-write log.
pub const MAGIC: &[u8; 8] = b"FERRYFWL";
/// The format version this code writes and reads.
const FORMAT_VERSION: u16 = 1;
/// Magic, format version, reserved.
pub const FILE_HEADER_LEN: usize = 12;
/// Length prefix and checksum around each payload.
const FRAMING_LEN: usize = 8;
/// Largest payload accepted when reading (a frame body is at most 256 MiB).
const MAX_PAYLOAD: usize = 300 * 1024 * 1024;

/// Why a log could not be read (or opened for appending).
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The file could not be opened or read.
    #[error("failed-write log {path}: {source}")]
    Io {
        /// The log.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: io::Error,
    },
    /// The file does not start with a failed-write log header.
    #[error("{path} is not a ferry failed-write log: {message}")]
    NotALog {
        /// The file.
        path: PathBuf,
        /// What is wrong with its header.
        message: String,
    },
    /// The file ends inside a record (a write cut short by a crash, or a
    /// copy cut short).
    #[error(
        "failed-write log {path} is truncated: the record at byte offset {record_offset} needs \
         {needed} byte(s) but the file ends at byte offset {file_len}"
    )]
    Truncated {
        /// The log.
        path: PathBuf,
        /// Where the incomplete record starts.
        record_offset: u64,
        /// Bytes the record needs from its start.
        needed: u64,
        /// The file length.
        file_len: u64,
    },
    /// A record's checksum does not match its bytes.
    #[error(
        "failed-write log {path}: the record at byte offset {record_offset} is corrupt \
         (checksum mismatch)"
    )]
    Checksum {
        /// The log.
        path: PathBuf,
        /// Where the record starts.
        record_offset: u64,
    },
    /// A record's payload is malformed (offsets count from the file start).
    #[error(
        "failed-write log {path}: the record at byte offset {record_offset} is malformed: {source}"
    )]
    Malformed {
        /// The log.
        path: PathBuf,
        /// Where the record starts.
        record_offset: u64,
        /// The field and its offset.
        #[source]
        source: DecodeError,
    },
}

impl LogError {
    /// The offset of the record the error is about, if any.
    pub fn record_offset(&self) -> Option<u64> {
        match self {
            Self::Truncated { record_offset, .. }
            | Self::Checksum { record_offset, .. }
            | Self::Malformed { record_offset, .. } => Some(*record_offset),
            _ => None,
        }
    }
}

/// An open failed-write log, appended to by the proxy.
///
/// Appends are serialised and each is on disk (`fdatasync`) before
/// [`FailedWriteLog::append`] returns. See the [module docs](super).
#[derive(Debug)]
pub struct FailedWriteLog {
    path: PathBuf,
    file: Mutex<File>,
    bytes: AtomicU64,
    records: AtomicU64,
}

impl FailedWriteLog {
    /// Opens (or creates) the log at `path` for appending. An existing log
    /// is checked record by record; a torn last record (a crash in the
    /// middle of an append) is cut off with a warning. Any other damage is
    /// an error: the proxy must not append to a log it cannot replay.
    pub fn open(path: impl AsRef<Path>) -> Result<FailedWriteLog, LogError> {
        let path = path.as_ref().to_path_buf();
        let io_err = |source| LogError::Io {
            path: path.clone(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io_err)?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_err)?;
        let len = file.metadata().map_err(io_err)?.len();
        let mut records = 0u64;
        let mut good_len = len;
        if len == 0 {
            file.write_all(&file_header()).map_err(io_err)?;
            file.sync_data().map_err(io_err)?;
            good_len = FILE_HEADER_LEN as u64;
        } else {
            let mut reader = LogReader::new(&path)?;
            for item in reader.by_ref() {
                match item {
                    Ok(_) => records += 1,
                    Err(LogError::Truncated { record_offset, .. }) => {
                        tracing::warn!(
                            log = %path.display(),
                            offset = record_offset,
                            torn_bytes = len - record_offset,
                            "failed-write log ends with a torn record (crash during an append?); cutting it off"
                        );
                        good_len = record_offset;
                        break;
                    }
                    Err(e) => return Err(e),
                }
            }
            if good_len < len {
                file.set_len(good_len).map_err(io_err)?;
                file.sync_data().map_err(io_err)?;
            }
        }
        file.seek(SeekFrom::Start(good_len)).map_err(io_err)?;
        Ok(FailedWriteLog {
            path,
            file: Mutex::new(file),
            bytes: AtomicU64::new(good_len),
            records: AtomicU64::new(records),
        })
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file size in bytes.
    pub fn size_bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Records in the file (found at open plus appended since).
    pub fn records(&self) -> u64 {
        self.records.load(Ordering::Relaxed)
    }

    /// Appends one record and flushes it to disk. Returns the record's
    /// offset. Blocking: call it from `spawn_blocking` in async code.
    pub fn append(&self, write: &FailedWrite) -> io::Result<u64> {
        let payload = write
            .encode_payload()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        let len = u32::try_from(payload.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "record too large"))?;
        let mut record = BytesMut::with_capacity(payload.len() + FRAMING_LEN);
        record.put_u32(len);
        record.put_slice(&payload);
        record.put_u32(crc32fast::hash(&payload));
        let mut file = self.lock();
        let offset = self.bytes.load(Ordering::Relaxed);
        if let Err(e) = file.write_all(&record).and_then(|()| file.sync_data()) {
            // Leave no half record behind for the next append to follow.
            let _ = file.set_len(offset);
            let _ = file.seek(SeekFrom::Start(offset));
            return Err(e);
        }
        self.bytes
            .store(offset + record.len() as u64, Ordering::Relaxed);
        self.records.fetch_add(1, Ordering::Relaxed);
        Ok(offset)
    }

    fn lock(&self) -> MutexGuard<'_, File> {
        self.file.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn file_header() -> [u8; FILE_HEADER_LEN] {
    let mut h = [0u8; FILE_HEADER_LEN];
    h[..8].copy_from_slice(MAGIC);
    h[8..10].copy_from_slice(&FORMAT_VERSION.to_be_bytes());
    h
}

/// Reads the records of the log at `path`, each with its byte offset.
///
/// The iterator stops after the first error (a truncated file, a checksum
/// mismatch, a malformed record), which names the record's offset.
pub fn read_log(path: impl AsRef<Path>) -> Result<LogReader, LogError> {
    LogReader::new(path.as_ref())
}

/// Iterator over a log's records: `(offset, record)`.
#[derive(Debug)]
pub struct LogReader {
    path: PathBuf,
    input: BufReader<File>,
    offset: u64,
    file_len: u64,
    failed: bool,
}

impl LogReader {
    fn new(path: &Path) -> Result<LogReader, LogError> {
        let io_err = |source| LogError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io_err)?;
        let file_len = file.metadata().map_err(io_err)?.len();
        let mut input = BufReader::with_capacity(256 * 1024, file);
        let mut header = [0u8; FILE_HEADER_LEN];
        let got = read_up_to(&mut input, &mut header).map_err(io_err)?;
        let not_a_log = |message: String| LogError::NotALog {
            path: path.to_path_buf(),
            message,
        };
        if got < FILE_HEADER_LEN {
            return Err(not_a_log(format!(
                "{got} byte(s), shorter than the {FILE_HEADER_LEN}-byte header"
            )));
        }
        if &header[..8] != MAGIC {
            return Err(not_a_log("it does not start with FERRYFWL".into()));
        }
        let version = u16::from_be_bytes([header[8], header[9]]);
        if version != FORMAT_VERSION {
            return Err(not_a_log(format!(
                "format version {version}; this ferry reads version {FORMAT_VERSION}"
            )));
        }
        Ok(LogReader {
            path: path.to_path_buf(),
            input,
            offset: FILE_HEADER_LEN as u64,
            file_len,
            failed: false,
        })
    }

    fn next_record(&mut self) -> Result<Option<(u64, FailedWrite)>, LogError> {
        let start = self.offset;
        let truncated = |needed: u64| LogError::Truncated {
            path: self.path.clone(),
            record_offset: start,
            needed,
            file_len: self.file_len,
        };
        let io_err = |source| LogError::Io {
            path: self.path.clone(),
            source,
        };
        let mut len_bytes = [0u8; 4];
        match read_up_to(&mut self.input, &mut len_bytes).map_err(io_err)? {
            0 => return Ok(None),
            4 => {}
            _ => return Err(truncated(4)),
        }
        let len = u32::from_be_bytes(len_bytes) as usize;
        let needed = (len + FRAMING_LEN) as u64;
        if len > MAX_PAYLOAD || start + needed > self.file_len {
            return Err(truncated(needed));
        }
        let mut payload = vec![0u8; len];
        if read_up_to(&mut self.input, &mut payload).map_err(io_err)? < len {
            return Err(truncated(needed));
        }
        let mut crc = [0u8; 4];
        if read_up_to(&mut self.input, &mut crc).map_err(io_err)? < 4 {
            return Err(truncated(needed));
        }
        if u32::from_be_bytes(crc) != crc32fast::hash(&payload) {
            return Err(LogError::Checksum {
                path: self.path.clone(),
                record_offset: start,
            });
        }
        let base = usize::try_from(start + 4).unwrap_or(usize::MAX);
        let record = FailedWrite::decode_payload(Bytes::from(payload), base).map_err(|source| {
            LogError::Malformed {
                path: self.path.clone(),
                record_offset: start,
                source,
            }
        })?;
        self.offset = start + needed;
        Ok(Some((start, record)))
    }
}

impl Iterator for LogReader {
    type Item = Result<(u64, FailedWrite), LogError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.next_record() {
            Ok(Some(r)) => Some(Ok(r)),
            Ok(None) => None,
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_up_to(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
