//! A RESULT Rows body of 10,000 mixed-type rows, decoded by both libraries.
//!
//! The body is encoded once (cells written by hand, framed by ferry-wire's
//! `RowsBuilder`) and the same `Bytes` is handed to both decoders. Each
//! measured function starts from the whole RESULT body (the `[int]` kind
//! first) and does everything a driver does to get at the rows:
//!
//! - ferry-wire: `ResultResponse::decode` (metadata, and one walk over all
//!   cell lengths to validate them), then per row `RowView::values`, which
//!   decodes each cell in place into `ferry_wire::types::CqlValue`;
//! - scylla-cql: `deserialize_with_features` then `deserialize_metadata`,
//!   then `rows_iter::<Row>()`, its dynamic path into
//!   `scylla_cql::value::CqlValue`.
//!
//! Both collect all rows into a `Vec` (dropped inside the timed loop).
//! The libraries' value types differ in one respect worth knowing when
//! reading the numbers: ferry-wire's text and blob values are zero-copy
//! slices of the frame, scylla-cql's are fresh `String`/`Vec<u8>` copies.
//!
//! The raw variant iterates every cell without decoding it (summing
//! lengths): ferry-wire's `RowView::raw_cells`, scylla-cql's
//! `rows_iter::<ColumnIterator>()`.

use bytes::{BufMut, Bytes, BytesMut};
use ferry_wire::response::{ColumnSpec, ResultResponse, RowsBuilder, RowsMetadata, TableSpec};
use ferry_wire::types::{ColumnType, CqlValue};
use ferry_wire::{ProtocolVersion, Reader};
use scylla_cql::deserialize::row::ColumnIterator;
use scylla_cql::frame::protocol_features::ProtocolFeatures;
use scylla_cql::frame::response::result::{self as sresult, DeserializedMetadataAndRawRows};
use scylla_cql::value::{CqlValue as SValue, Row as SRow};

/// The protocol version of the body (scylla-cql only speaks v4).
pub const VERSION: ProtocolVersion = ProtocolVersion::V4;

/// Number of rows in the body.
pub const ROW_COUNT: usize = 10_000;

/// The columns: name and type. `note` is null in every third row.
pub const COLUMNS: [(&str, &str); 10] = [
    ("id", "int"),
    ("seq", "bigint"),
    ("name", "text (20 chars)"),
    ("uid", "uuid"),
    ("score", "double"),
    ("active", "boolean"),
    ("at", "timestamp"),
    ("payload", "blob (32 bytes)"),
    ("tags", "list<int> (3)"),
    ("note", "text, null in 1 row of 3"),
];

fn column_types() -> Vec<ColumnType> {
    vec![
        ColumnType::Int,
        ColumnType::Bigint,
        ColumnType::Varchar,
        ColumnType::Uuid,
        ColumnType::Double,
        ColumnType::Boolean,
        ColumnType::Timestamp,
        ColumnType::Blob,
        ColumnType::List(Box::new(ColumnType::Int)),
        ColumnType::Varchar,
    ]
}

/// The cells of row `i`, serialized (`None` = null).
pub fn row_cells(i: usize) -> Vec<Option<Vec<u8>>> {
    let n = i as u64;
    let mix = n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mut uid = [0u8; 16];
    uid[..8].copy_from_slice(&mix.to_be_bytes());
    uid[8..].copy_from_slice(&(!mix).rotate_left(17).to_be_bytes());
    uid[6] = (uid[6] & 0x0f) | 0x40; // version 4
    uid[8] = (uid[8] & 0x3f) | 0x80; // RFC 4122 variant
    let mut tags = Vec::with_capacity(4 + 3 * 8);
    tags.put_i32(3);
    for t in 0..3i32 {
        tags.put_i32(4);
        tags.put_i32(i as i32 * 3 + t);
    }
    vec![
        Some((i as i32).to_be_bytes().to_vec()),
        Some((7_000_000_000i64 + i as i64).to_be_bytes().to_vec()),
        Some(format!("sensor-{:04}-eu-west1", i).into_bytes()),
        Some(uid.to_vec()),
        Some((i as f64 * 0.25 - 100.0).to_be_bytes().to_vec()),
        Some(vec![u8::from(i % 2 == 0)]),
        Some(
            (1_700_000_000_000i64 + i as i64 * 1000)
                .to_be_bytes()
                .to_vec(),
        ),
        Some((0..32u8).map(|b| b ^ (i as u8)).collect()),
        Some(tags),
        (i % 3 != 0).then(|| format!("note {i}").into_bytes()),
    ]
}

/// The encoded RESULT body, shared by both libraries.
#[derive(Debug, Clone)]
pub struct RowsFixture {
    /// The whole RESULT body: kind, metadata, row count, rows.
    pub body: Bytes,
}

impl RowsFixture {
    /// Encodes the body.
    pub fn new() -> Self {
        let columns = COLUMNS
            .iter()
            .zip(column_types())
            .map(|((name, _), ty)| ColumnSpec::new("ks", "readings", *name, ty))
            .collect();
        let metadata = RowsMetadata::with_columns(Some(TableSpec::new("ks", "readings")), columns);
        let mut builder = RowsBuilder::new(metadata);
        for i in 0..ROW_COUNT {
            let cells = row_cells(i);
            builder
                .push_row(cells.iter().map(|c| c.as_deref()))
                .expect("fixture row");
        }
        let mut body = BytesMut::new();
        ResultResponse::Rows(builder.build())
            .encode(&mut body, VERSION)
            .expect("fixture body");
        Self {
            body: body.freeze(),
        }
    }
}

impl Default for RowsFixture {
    fn default() -> Self {
        Self::new()
    }
}

/// ferry-wire: decode the RESULT and every cell into typed values.
#[inline(never)]
pub fn ferry_decode_typed(body: &Bytes) -> Vec<Vec<Option<CqlValue>>> {
    let result = ResultResponse::decode(&mut Reader::new(body.clone()), VERSION)
        .expect("ferry-wire decodes the result");
    let ResultResponse::Rows(rows) = result else {
        panic!("not a Rows result")
    };
    let specs = rows.metadata().columns.as_deref().expect("column specs");
    let mut out = Vec::with_capacity(rows.row_count());
    for row in rows.rows() {
        let row = row.expect("ferry-wire reads the row");
        out.push(
            row.values(specs, VERSION)
                .expect("ferry-wire decodes the row"),
        );
    }
    out
}

/// scylla-cql: the RESULT with its metadata, before reading the rows.
fn scylla_rows(body: &Bytes) -> DeserializedMetadataAndRawRows {
    let result =
        sresult::deserialize_with_features(body.clone(), None, &ProtocolFeatures::default())
            .expect("scylla-cql decodes the result");
    let sresult::Result::Rows((raw, _paging)) = result else {
        panic!("not a Rows result")
    };
    raw.deserialize_metadata()
        .expect("scylla-cql decodes the metadata")
}

/// scylla-cql: decode the RESULT and every row into its dynamic `Row`.
#[inline(never)]
pub fn scylla_decode_typed(body: &Bytes) -> Vec<SRow> {
    let rows = scylla_rows(body);
    rows.rows_iter::<SRow>()
        .expect("type check")
        .collect::<Result<Vec<_>, _>>()
        .expect("scylla-cql decodes the rows")
}

/// What the raw-cell walk saw: enough to tell two walks apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CellTally {
    /// Cells seen.
    pub cells: usize,
    /// Null cells seen.
    pub nulls: usize,
    /// Sum of non-null cell lengths.
    pub bytes: usize,
}

impl CellTally {
    #[inline]
    fn add(&mut self, cell: Option<&[u8]>) {
        self.cells += 1;
        match cell {
            Some(c) => self.bytes += c.len(),
            None => self.nulls += 1,
        }
    }
}

/// ferry-wire: decode the RESULT and walk every cell, undecoded.
#[inline(never)]
pub fn ferry_raw_cells(body: &Bytes) -> CellTally {
    let result = ResultResponse::decode(&mut Reader::new(body.clone()), VERSION)
        .expect("ferry-wire decodes the result");
    let ResultResponse::Rows(rows) = result else {
        panic!("not a Rows result")
    };
    let mut tally = CellTally::default();
    for row in rows.rows() {
        for cell in row.expect("ferry-wire reads the row").raw_cells() {
            tally.add(cell);
        }
    }
    tally
}

/// scylla-cql: decode the RESULT and walk every cell, undecoded.
#[inline(never)]
pub fn scylla_raw_cells(body: &Bytes) -> CellTally {
    let rows = scylla_rows(body);
    let mut tally = CellTally::default();
    for row in rows.rows_iter::<ColumnIterator>().expect("type check") {
        for column in row.expect("scylla-cql reads the row") {
            let column = column.expect("scylla-cql reads the cell");
            tally.add(column.slice.map(|s| s.as_slice()));
        }
    }
    tally
}

/// Whether a ferry-wire value and a scylla-cql value are the same CQL value.
pub fn same_value(ours: &CqlValue, theirs: &SValue) -> bool {
    match (ours, theirs) {
        (CqlValue::Int(a), SValue::Int(b)) => a == b,
        (CqlValue::Bigint(a), SValue::BigInt(b)) => a == b,
        (CqlValue::Text(a), SValue::Text(b)) => a.as_str() == b,
        (CqlValue::Uuid(a), SValue::Uuid(b)) => a == b.as_bytes(),
        (CqlValue::Double(a), SValue::Double(b)) => a.to_bits() == b.to_bits(),
        (CqlValue::Boolean(a), SValue::Boolean(b)) => a == b,
        (CqlValue::Timestamp(a), SValue::Timestamp(b)) => *a == b.0,
        (CqlValue::Blob(a), SValue::Blob(b)) => a[..] == b[..],
        (CqlValue::List(a), SValue::List(b)) => {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|(x, y)| x.as_ref().is_some_and(|x| same_value(x, y)))
        }
        _ => false,
    }
}

/// Outcome of [`verify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// Rows both libraries decoded.
    pub rows: usize,
    /// Values compared one by one (nulls included).
    pub compared_values: usize,
}

/// Checks, once, that both libraries decode the same number of rows, that
/// a sample of rows (every 97th, the first and the last) holds equal values
/// in both and equal to what was encoded, and that both raw walks saw the
/// same cells.
pub fn verify(fixture: &RowsFixture) -> Result<Verified, String> {
    let ours = ferry_decode_typed(&fixture.body);
    let theirs = scylla_decode_typed(&fixture.body);
    if ours.len() != ROW_COUNT || theirs.len() != ROW_COUNT {
        return Err(format!(
            "row counts: ferry-wire {}, scylla-cql {}, expected {ROW_COUNT}",
            ours.len(),
            theirs.len()
        ));
    }
    let types = column_types();
    let mut compared = 0;
    let sample = (0..ROW_COUNT).step_by(97).chain([ROW_COUNT - 1]);
    for i in sample {
        let (a, b) = (&ours[i], &theirs[i].columns);
        if a.len() != COLUMNS.len() || b.len() != COLUMNS.len() {
            return Err(format!("row {i}: {} vs {} columns", a.len(), b.len()));
        }
        let expected = row_cells(i);
        for (c, ((x, y), cell)) in a.iter().zip(b).zip(&expected).enumerate() {
            let equal = match (x, y) {
                (None, None) => cell.is_none(),
                (Some(x), Some(y)) => {
                    // Also against the encoder's input, so that two equal
                    // but wrong decodes cannot pass.
                    let mut re = BytesMut::new();
                    x.encode(&types[c], &mut re, VERSION)
                        .map_err(|e| e.to_string())?;
                    same_value(x, y) && cell.as_deref() == Some(&re[..])
                }
                _ => false,
            };
            if !equal {
                return Err(format!(
                    "row {i} column {}: ferry-wire {x:?}, scylla-cql {y:?}",
                    COLUMNS[c].0
                ));
            }
            compared += 1;
        }
    }
    let (raw_ours, raw_theirs) = (
        ferry_raw_cells(&fixture.body),
        scylla_raw_cells(&fixture.body),
    );
    if raw_ours != raw_theirs || raw_ours.cells != ROW_COUNT * COLUMNS.len() {
        return Err(format!(
            "raw walks differ: ferry-wire {raw_ours:?}, scylla-cql {raw_theirs:?}"
        ));
    }
    Ok(Verified {
        rows: ours.len(),
        compared_values: compared,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_libraries_read_the_same_rows() {
        let fixture = RowsFixture::new();
        let v = verify(&fixture).unwrap();
        assert_eq!(v.rows, ROW_COUNT);
        assert_eq!(v.compared_values, (ROW_COUNT / 97 + 2) * COLUMNS.len());
        let tally = ferry_raw_cells(&fixture.body);
        assert_eq!(tally.nulls, ROW_COUNT.div_ceil(3));
    }

    #[test]
    fn same_value_tells_values_apart() {
        assert!(same_value(&CqlValue::Int(1), &SValue::Int(1)));
        assert!(!same_value(&CqlValue::Int(1), &SValue::Int(2)));
        assert!(!same_value(&CqlValue::Int(1), &SValue::BigInt(1)));
        let ours = CqlValue::List(vec![Some(CqlValue::Int(1)), None]);
        let theirs = SValue::List(vec![SValue::Int(1), SValue::Int(2)]);
        assert!(!same_value(&ours, &theirs));
    }
}
