//! Golden frames: real traffic between the DataStax Python driver
//! (protocol v3) and Cassandra 2.1.0, recorded by `ferry_testkit`'s
//! `RecordingRelay` (see `tests/golden/README.md` for how and what).
//!
//! No node is needed: the recorded byte streams are in `tests/golden/`.
//! Every frame is cut off its stream with `FrameDecoder`, decompressed if
//! the connection negotiated compression, decoded as a request or response,
//! re-encoded, and must come out byte for byte as it went over the wire.
//! Every cell of every Rows result is decoded with its column type and
//! re-encoded to the same bytes too (for EXECUTE results sent without
//! metadata, the types come from the PREPARE result of that statement).
//! Finally the recording must contain the mix of messages it was made for.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fs;
use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};
use ferry_wire::compression::Compression;
use ferry_wire::frame::{Frame, FrameDecoder, FrameFlags};
use ferry_wire::message::{RequestMessage, ResponseMessage};
use ferry_wire::request::Request;
use ferry_wire::response::{ColumnSpec, Response, ResultResponse, Rows};
use ferry_wire::types::CqlValue;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// One recorded connection: `<name>.c2s.bin` and `<name>.s2c.bin`.
struct Connection {
    name: String,
    client_to_server: Vec<u8>,
    server_to_client: Vec<u8>,
}

fn connections() -> Vec<Connection> {
    let dir = golden_dir();
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".c2s.bin").map(str::to_owned)
        })
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| Connection {
            client_to_server: fs::read(dir.join(format!("{name}.c2s.bin"))).unwrap(),
            server_to_client: fs::read(dir.join(format!("{name}.s2c.bin")))
                .unwrap_or_else(|e| panic!("{name}.s2c.bin: {e}")),
            name,
        })
        .collect()
}

/// Cuts a whole recorded stream into frames; the stream must end on a
/// frame boundary (the capture closes connections cleanly).
fn split(stream: &[u8], what: &str) -> Vec<(Frame, Bytes)> {
    let mut buf = BytesMut::from(stream);
    let mut decoder = FrameDecoder::new();
    let mut frames = Vec::new();
    let mut offset = 0;
    while let Some(frame) = decoder
        .decode(&mut buf)
        .unwrap_or_else(|e| panic!("{what} at byte {offset}: {e}"))
    {
        let len = frame.encoded_len();
        frames.push((frame, Bytes::copy_from_slice(&stream[offset..offset + len])));
        offset += len;
    }
    assert!(buf.is_empty(), "{what}: {} trailing bytes", buf.len());
    frames
}

/// The uncompressed frame as bytes: header (COMPRESSION cleared) + body.
fn plain_bytes(frame: &Frame) -> Vec<u8> {
    let mut out = BytesMut::new();
    frame.encode(&mut out).unwrap();
    out.to_vec()
}

/// Counts of what was seen, by a readable name.
#[derive(Default)]
struct Seen(BTreeMap<String, usize>);

impl Seen {
    fn add(&mut self, what: impl Into<String>) {
        *self.0.entry(what.into()).or_default() += 1;
    }

    fn count(&self, what: &str) -> usize {
        self.0.get(what).copied().unwrap_or(0)
    }
}

/// Decodes every cell with its column's type; each must re-encode to its
/// exact bytes (Cassandra writes canonical cells).
fn check_cells(rows: &Rows, columns: &[ColumnSpec], what: &str) -> usize {
    let version = ferry_wire::ProtocolVersion::V3;
    let mut cells = 0;
    for (r, row) in rows.rows().enumerate() {
        let row = row.unwrap_or_else(|e| panic!("{what} row {r}: {e}"));
        assert_eq!(row.len(), columns.len(), "{what}: row width");
        for (cell, column) in row.cells().zip(columns) {
            let Some(cell) = cell else { continue };
            let ty = &column.column_type;
            let value = CqlValue::decode(ty, &cell, version)
                .unwrap_or_else(|e| panic!("{what} row {r} `{}` ({ty}): {e}", column.name));
            let mut again = BytesMut::new();
            value.encode(ty, &mut again, version).unwrap();
            assert_eq!(
                &again[..],
                &cell[..],
                "{what} row {r} `{}` ({ty})",
                column.name
            );
            assert!(!value.cql_literal_typed(ty).is_empty());
            cells += 1;
        }
    }
    cells
}

#[test]
fn recorded_traffic_round_trips_byte_for_byte() {
    let connections = connections();
    assert!(
        !connections.is_empty(),
        "no recordings in {}",
        golden_dir().display()
    );
    let mut seen = Seen::default();
    // Result metadata of every prepared statement, by statement id, for
    // EXECUTE results sent without metadata.
    let mut prepared_columns: HashMap<Bytes, Vec<ColumnSpec>> = HashMap::new();

    for conn in &connections {
        let requests = split(&conn.client_to_server, &format!("{} c2s", conn.name));
        let responses = split(&conn.server_to_client, &format!("{} s2c", conn.name));

        // Compression, if any, is what STARTUP asked for.
        let compression = requests.iter().find_map(|(f, _)| {
            let msg = RequestMessage::decode(f).ok()?;
            match msg.request {
                Request::Startup(s) => s.compression().and_then(Compression::from_name),
                _ => None,
            }
        });
        if let Some(c) = compression {
            seen.add(format!("compression {}", c.name()));
        }

        // Requests, queued per stream id to pair them with their responses
        // (a stream id is reused only after its response came back).
        let mut pending: HashMap<i16, VecDeque<Request>> = HashMap::new();
        for (i, (frame, wire)) in requests.into_iter().enumerate() {
            let what = format!(
                "{} request #{i} ({})",
                conn.name,
                frame.header.opcode.name()
            );
            if frame.header.flags.contains(FrameFlags::COMPRESSION) {
                seen.add("compressed request");
            }
            let plain = frame
                .decompress(compression)
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            let msg = RequestMessage::decode(&plain).unwrap_or_else(|e| panic!("{what}: {e}"));
            let mut again = BytesMut::new();
            msg.encode(&mut again).unwrap();
            assert_eq!(&again[..], &plain_bytes(&plain)[..], "{what}");
            if compression.is_none() {
                assert_eq!(&again[..], &wire[..], "{what}");
            }
            seen.add(msg.request.opcode().name());
            pending
                .entry(msg.header.stream)
                .or_default()
                .push_back(msg.request);
        }

        for (i, (frame, wire)) in responses.into_iter().enumerate() {
            let what = format!(
                "{} response #{i} ({})",
                conn.name,
                frame.header.opcode.name()
            );
            if frame.header.flags.contains(FrameFlags::COMPRESSION) {
                seen.add("compressed response");
            }
            let plain = frame
                .decompress(compression)
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            let msg = ResponseMessage::decode(&plain).unwrap_or_else(|e| panic!("{what}: {e}"));
            let mut again = BytesMut::new();
            msg.encode(&mut again).unwrap();
            assert_eq!(&again[..], &plain_bytes(&plain)[..], "{what}");
            if compression.is_none() {
                assert_eq!(&again[..], &wire[..], "{what}");
            }
            seen.add(msg.response.opcode().name());

            let request = if msg.header.stream >= 0 {
                let r = pending
                    .get_mut(&msg.header.stream)
                    .and_then(VecDeque::pop_front);
                Some(r.unwrap_or_else(|| panic!("{what}: no request on this stream")))
            } else {
                assert!(matches!(msg.response, Response::Event(_)), "{what}");
                None
            };
            match &msg.response {
                Response::Error(e) => seen.add(format!("ERROR {}", e.code())),
                Response::Event(e) => seen.add(format!("EVENT {}", e.event_type())),
                Response::Result(result) => match result {
                    ResultResponse::Rows(rows) => {
                        let columns = match &rows.metadata().columns {
                            Some(c) => Some(c.clone()),
                            None => match &request {
                                Some(Request::Execute(e)) => prepared_columns.get(&e.id).cloned(),
                                _ => None,
                            },
                        };
                        if rows.metadata().columns.is_none() {
                            seen.add("RESULT Rows without metadata");
                        }
                        if rows.metadata().has_more_pages() {
                            seen.add("RESULT Rows with a paging state");
                        }
                        if rows.row_count() > 0 {
                            seen.add("RESULT Rows with rows");
                        }
                        let columns =
                            columns.unwrap_or_else(|| panic!("{what}: no metadata for these rows"));
                        let cells = check_cells(rows, &columns, &what);
                        for _ in 0..cells {
                            seen.add("cell");
                        }
                    }
                    ResultResponse::Prepared(p) => {
                        seen.add("RESULT Prepared");
                        if let Some(columns) = &p.result_metadata.columns {
                            prepared_columns.insert(p.id.clone(), columns.clone());
                        }
                    }
                    ResultResponse::SetKeyspace(_) => seen.add("RESULT SetKeyspace"),
                    ResultResponse::SchemaChange(_) => seen.add("RESULT SchemaChange"),
                    ResultResponse::Void => seen.add("RESULT Void"),
                    ResultResponse::Other { kind, .. } => panic!("{what}: result kind {kind}"),
                },
                _ => {}
            }
        }
        for (stream, left) in pending {
            assert!(left.is_empty(), "{}: stream {stream} unanswered", conn.name);
        }
    }

    for (what, n) in &seen.0 {
        println!("{n:6}  {what}");
    }
    for expected in [
        "STARTUP",
        "OPTIONS",
        "REGISTER",
        "QUERY",
        "PREPARE",
        "EXECUTE",
        "BATCH",
        "READY",
        "SUPPORTED",
        "RESULT Rows with rows",
        "RESULT Rows with a paging state",
        "RESULT Prepared",
        "RESULT SetKeyspace",
        "RESULT SchemaChange",
        "RESULT Void",
        "EVENT SCHEMA_CHANGE",
        "ERROR SYNTAX_ERROR (0x2000)",
        "ERROR INVALID (0x2200)",
        "compression lz4",
        "compressed request",
        "compressed response",
    ] {
        assert!(seen.count(expected) > 0, "the recording has no {expected}");
    }
    assert!(seen.count("cell") > 100, "too few cells to mean anything");
}

#[test]
fn recordings_stay_small() {
    let total: u64 = fs::read_dir(golden_dir())
        .unwrap()
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    assert!(total < 200 * 1024, "golden files total {total} bytes");
}
