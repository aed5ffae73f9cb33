//! The failed-write log file format: round trips, and damaged files
//! reported with the byte offset of the damaged record.

mod support;

use std::io::Write;
use std::path::PathBuf;

use bytes::Bytes;
use ferry_router::failed_log::{
    read_log, FailedWrite, FailedWriteLog, LogError, LoggedStatement, FILE_HEADER_LEN,
};
use ferry_wire::frame::FrameFlags;
use ferry_wire::{Opcode, ProtocolVersion};
use proptest::prelude::*;

fn temp_log(name: &str) -> PathBuf {
    support::temp_dir(&format!("fwl-{name}")).join("failed.log")
}

fn sample(i: u8) -> FailedWrite {
    FailedWrite {
        logged_at_micros: 1_700_000_000_000_000 + i64::from(i),
        write_timestamp: (i % 2 == 0).then_some(1_690_000_000_000_000 + i64::from(i)),
        version: if i % 3 == 0 {
            ProtocolVersion::V3
        } else {
            ProtocolVersion::V4
        },
        opcode: [Opcode::Query, Opcode::Execute, Opcode::Batch][usize::from(i % 3)],
        flags: if i % 4 == 0 {
            FrameFlags::CUSTOM_PAYLOAD
        } else {
            FrameFlags::NONE
        },
        keyspace: (i % 5 != 0).then(|| format!("ks_{i}")),
        idempotent: i % 2 == 0,
        reason: format!("target unreachable ({i})"),
        statements: (0..i % 3)
            .map(|n| LoggedStatement {
                id: Bytes::from(vec![n; 16]),
                text: format!("INSERT INTO t{n} (k) VALUES (?)"),
                keyspace: (n == 1).then(|| "other".to_string()),
            })
            .collect(),
        body: Bytes::from(vec![i; usize::from(i) * 7]),
    }
}

fn write_log(name: &str, n: u8) -> (PathBuf, Vec<u64>) {
    let path = temp_log(name);
    let log = FailedWriteLog::open(&path).unwrap();
    let offsets = (0..n).map(|i| log.append(&sample(i)).unwrap()).collect();
    (path, offsets)
}

#[test]
fn records_round_trip_with_their_offsets() {
    let (path, offsets) = write_log("roundtrip", 20);
    let read: Vec<(u64, FailedWrite)> = read_log(&path).unwrap().map(Result::unwrap).collect();
    assert_eq!(read.len(), 20);
    for (i, (offset, record)) in read.iter().enumerate() {
        assert_eq!(*offset, offsets[i]);
        assert_eq!(*record, sample(i as u8));
    }
    assert_eq!(offsets[0], FILE_HEADER_LEN as u64);
    // Reopening counts what is there and appends after it.
    let log = FailedWriteLog::open(&path).unwrap();
    assert_eq!(log.records(), 20);
    assert_eq!(log.size_bytes(), std::fs::metadata(&path).unwrap().len());
    log.append(&sample(99)).unwrap();
    assert_eq!(read_log(&path).unwrap().count(), 21);
}

#[test]
fn a_truncated_file_names_the_offset_of_the_cut_record() {
    let (path, offsets) = write_log("truncated", 3);
    let full = std::fs::read(&path).unwrap();
    let last = offsets[2] as usize;
    // Cut anywhere inside the last record: header, payload or checksum.
    for cut in [last + 2, last + 4, last + 20, full.len() - 1] {
        std::fs::write(&path, &full[..cut]).unwrap();
        let items: Vec<_> = read_log(&path).unwrap().collect();
        assert_eq!(items.len(), 3, "two records, then the error");
        assert!(items[0].is_ok() && items[1].is_ok());
        match items[2].as_ref().unwrap_err() {
            LogError::Truncated {
                record_offset,
                file_len,
                ..
            } => {
                assert_eq!(*record_offset, offsets[2]);
                assert_eq!(*file_len, cut as u64);
            }
            other => panic!("cut at {cut}: {other}"),
        }
        let message = items[2].as_ref().unwrap_err().to_string();
        assert!(
            message.contains(&format!("byte offset {}", offsets[2])),
            "{message}"
        );
    }
}

#[test]
fn opening_a_log_with_a_torn_tail_cuts_it_off_and_appends_cleanly() {
    let (path, offsets) = write_log("torn", 2);
    let full = std::fs::read(&path).unwrap();
    std::fs::write(&path, &full[..full.len() - 3]).unwrap();
    let log = FailedWriteLog::open(&path).unwrap();
    assert_eq!(log.records(), 1);
    assert_eq!(log.size_bytes(), offsets[1]);
    log.append(&sample(7)).unwrap();
    let read: Vec<_> = read_log(&path).unwrap().map(Result::unwrap).collect();
    assert_eq!(read.len(), 2);
    assert_eq!(read[1], (offsets[1], sample(7)));
}

#[test]
fn corruption_is_a_checksum_error_and_blocks_appending() {
    let (path, offsets) = write_log("corrupt", 3);
    let mut bytes = std::fs::read(&path).unwrap();
    let inside_second = offsets[1] as usize + 10;
    bytes[inside_second] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    let items: Vec<_> = read_log(&path).unwrap().collect();
    assert_eq!(items.len(), 2);
    match items[1].as_ref().unwrap_err() {
        LogError::Checksum { record_offset, .. } => assert_eq!(*record_offset, offsets[1]),
        other => panic!("{other}"),
    }
    // The proxy refuses to append to a log it could not replay.
    assert!(matches!(
        FailedWriteLog::open(&path),
        Err(LogError::Checksum { .. })
    ));
}

#[test]
fn other_files_are_not_logs() {
    let path = temp_log("notalog");
    std::fs::File::create(&path)
        .unwrap()
        .write_all(b"hello, world, this is not a log")
        .unwrap();
    let e = read_log(&path).unwrap_err();
    assert!(matches!(e, LogError::NotALog { .. }), "{e}");
    assert!(FailedWriteLog::open(&path).is_err());
}

proptest! {
    #[test]
    fn payloads_round_trip(
        logged_at in any::<i64>(),
        ts in proptest::option::of(any::<i64>()),
        version in 2u8..=5,
        opcode in prop::sample::select(vec![Opcode::Query, Opcode::Execute, Opcode::Batch]),
        flags in any::<u8>(),
        keyspace in proptest::option::of("[a-z_]{1,20}"),
        idempotent in any::<bool>(),
        reason in ".{0,80}",
        statements in prop::collection::vec(
            (prop::collection::vec(any::<u8>(), 0..40), ".{0,60}", proptest::option::of("[a-z]{1,8}")),
            0..4,
        ),
        body in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let write = FailedWrite {
            logged_at_micros: logged_at,
            write_timestamp: ts,
            version: ProtocolVersion::from_number(version).unwrap(),
            opcode,
            flags: FrameFlags(flags),
            keyspace,
            idempotent,
            reason,
            statements: statements
                .into_iter()
                .map(|(id, text, keyspace)| LoggedStatement { id: Bytes::from(id), text, keyspace })
                .collect(),
            body: Bytes::from(body),
        };
        let payload = write.encode_payload().unwrap();
        prop_assert_eq!(FailedWrite::decode_payload(payload, 0).unwrap(), write);
    }

    #[test]
    fn decoding_arbitrary_payloads_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = FailedWrite::decode_payload(Bytes::from(bytes), 16);
    }

    #[test]
    fn truncated_payloads_are_errors(cut in 0usize..200) {
        let payload = sample(5).encode_payload().unwrap();
        let cut = cut.min(payload.len() - 1);
        let e = FailedWrite::decode_payload(payload.slice(..cut), 100).unwrap_err();
        prop_assert!(e.offset >= 100 && e.offset <= 100 + cut, "{}", e);
    }
}
