//! QUERY, EXECUTE and BATCH bodies encoded by both libraries.
//!
//! Both sides start from a request already built in memory with its bound
//! values already serialized, and write the body into a buffer that is
//! cleared, not reallocated, between runs. So the measurement is the
//! message framing: flags, lengths, ids, strings and copying the value bytes.
//!
//! The one structural difference, which this benchmark keeps because it is
//! how each library is meant to be used: scylla-cql holds a statement's
//! values as one [`SerializedValues`] buffer (`<n><value_1>...<value_n>`
//! already laid out), so writing them is a single copy; ferry-wire holds a
//! `Vec<RawValue>` (one `Bytes` per value) and writes each value's length
//! and bytes.
//!
//! The `_with_values` variants start one step earlier, from each value's
//! serialized bytes, and include putting them into each library's form
//! (ferry-wire: a `Vec<RawValue>`; scylla-cql: a `SerializedValues` laid out
//! by its `RowWriter`), which is where scylla-cql writes the value lengths.
//!
//! Everything is protocol v4: scylla-cql's request codec only speaks v4.

use std::borrow::Cow;

use bytes::{Bytes, BytesMut};
use ferry_wire::request::{
    Batch, BatchStatement, BatchStatementKind, BatchType, BoundValues, Execute, Query,
    QueryParameters,
};
use ferry_wire::{Consistency, ProtocolVersion, RawValue};
use scylla_cql::frame::request::batch as sbatch;
use scylla_cql::frame::request::execute::ExecuteV2;
use scylla_cql::frame::request::query::{
    PagingState, Query as SQuery, QueryParameters as SParameters,
};
use scylla_cql::frame::request::SerializableRequest;
use scylla_cql::frame::response::result::cow_bytes::CowBytes;
use scylla_cql::serialize::row::SerializedValues;

/// The protocol version both libraries encode.
pub const VERSION: ProtocolVersion = ProtocolVersion::V4;

/// Statement text of the QUERY benchmark (five bind markers).
pub const QUERY_TEXT: &str =
    "SELECT id, name, payload FROM ks.events WHERE id = ? AND bucket = ? AND name = ? \
     AND source = ? AND tag = ?";

/// Rows per page requested by QUERY and EXECUTE.
pub const PAGE_SIZE: i32 = 5000;

/// Default timestamp (microseconds) sent by QUERY, EXECUTE and BATCH, as
/// drivers do when they generate client-side timestamps.
pub const TIMESTAMP: i64 = 1_700_000_000_123_456;

/// Number of children in the BATCH benchmark.
pub const BATCH_CHILDREN: usize = 10;

/// The five bound values of QUERY/EXECUTE, already serialized: an int, a
/// bigint, a 20-character text, a uuid and a 32-byte blob.
pub fn five_values() -> Vec<Bytes> {
    vec![
        Bytes::copy_from_slice(&42i32.to_be_bytes()),
        Bytes::copy_from_slice(&7_000_000_001i64.to_be_bytes()),
        Bytes::from_static(b"sensor-0042-eu-west1"),
        Bytes::from_static(&[
            0x55, 0x0e, 0x84, 0x00, 0xe2, 0x9b, 0x41, 0xd4, 0xa7, 0x16, 0x44, 0x66, 0x55, 0x44,
            0x00, 0x00,
        ]),
        Bytes::from(vec![0xa5u8; 32]),
    ]
}

/// The three bound values of batch child `i`: an int key, a bigint and a
/// short text.
pub fn batch_child_values(i: usize) -> Vec<Bytes> {
    vec![
        Bytes::copy_from_slice(&(i as i32).to_be_bytes()),
        Bytes::copy_from_slice(&(1_000_000 + i as i64).to_be_bytes()),
        Bytes::from(format!("value-{i:04}")),
    ]
}

/// A 16-byte prepared statement id (batch children get distinct ones).
pub fn prepared_id(seed: u8) -> Bytes {
    Bytes::from(
        (0..16u8)
            .map(|b| b.wrapping_mul(17) ^ seed)
            .collect::<Vec<_>>(),
    )
}

/// The requests as ferry-wire values.
#[derive(Debug, Clone)]
pub struct FerryRequests {
    /// QUERY with five values, a page size and a timestamp.
    pub query: Query,
    /// EXECUTE with the same parameters.
    pub execute: Execute,
    /// Unlogged BATCH of prepared children with three values each.
    pub batch: Batch,
}

/// The same requests as scylla-cql values (borrowing the fixture data).
pub struct ScyllaRequests<'a> {
    /// QUERY.
    pub query: SQuery<'a>,
    /// EXECUTE.
    pub execute: ExecuteV2<'a>,
    /// BATCH.
    pub batch: sbatch::Batch<'a, sbatch::BatchStatement<'a>, Vec<SerializedValues>>,
}

/// The data both request sets are built from; scylla-cql's requests borrow it.
pub struct RequestData {
    values: Vec<Bytes>,
    scylla_values: SerializedValues,
    execute_id: Bytes,
    batch_statements: Vec<sbatch::BatchStatement<'static>>,
    batch_values: Vec<Vec<Bytes>>,
}

/// `<n><value_1>...<value_n>` for `values`, then read back by scylla-cql:
/// both libraries hold byte-identical values.
fn scylla_values(values: &[Bytes]) -> SerializedValues {
    let mut frame = Vec::new();
    frame.extend_from_slice(&(values.len() as u16).to_be_bytes());
    for v in values {
        frame.extend_from_slice(&(v.len() as i32).to_be_bytes());
        frame.extend_from_slice(v);
    }
    SerializedValues::new_from_frame(&mut &frame[..]).expect("well-formed values")
}

impl RequestData {
    /// Builds the fixture data.
    pub fn new() -> Self {
        let batch_statements = (0..BATCH_CHILDREN)
            .map(|i| sbatch::BatchStatement::Prepared {
                id: Cow::Owned(prepared_id(i as u8 + 1).to_vec()),
            })
            .collect();
        let values = five_values();
        Self {
            scylla_values: scylla_values(&values),
            values,
            execute_id: prepared_id(0),
            batch_statements,
            batch_values: (0..BATCH_CHILDREN).map(batch_child_values).collect(),
        }
    }

    fn ferry_parameters(&self) -> QueryParameters {
        let mut p = QueryParameters::new(Consistency::LocalQuorum);
        p.values = Some(BoundValues::Positional(
            self.values.iter().cloned().map(RawValue::Bytes).collect(),
        ));
        p.page_size = Some(PAGE_SIZE);
        p.default_timestamp = Some(TIMESTAMP);
        p
    }

    /// The ferry-wire requests.
    pub fn ferry(&self) -> FerryRequests {
        let mut batch = Batch::new(BatchType::Unlogged, Consistency::LocalQuorum);
        batch.default_timestamp = Some(TIMESTAMP);
        batch.statements = (0..BATCH_CHILDREN)
            .map(|i| BatchStatement {
                kind: BatchStatementKind::Prepared(prepared_id(i as u8 + 1)),
                values: self.batch_values[i]
                    .iter()
                    .cloned()
                    .map(RawValue::Bytes)
                    .collect(),
            })
            .collect();
        FerryRequests {
            query: Query {
                query: QUERY_TEXT.into(),
                parameters: self.ferry_parameters(),
            },
            execute: Execute {
                id: self.execute_id.clone(),
                result_metadata_id: None,
                parameters: self.ferry_parameters(),
            },
            batch,
        }
    }

    fn scylla_parameters(&self) -> SParameters<'_> {
        SParameters {
            consistency: scylla_cql::Consistency::LocalQuorum,
            serial_consistency: None,
            timestamp: Some(TIMESTAMP),
            page_size: Some(PAGE_SIZE),
            paging_state: PagingState::start(),
            skip_metadata: false,
            values: Cow::Borrowed(&self.scylla_values),
        }
    }

    /// The scylla-cql requests.
    pub fn scylla(&self) -> ScyllaRequests<'_> {
        ScyllaRequests {
            query: SQuery {
                contents: Cow::Borrowed(QUERY_TEXT),
                parameters: self.scylla_parameters(),
            },
            execute: ExecuteV2 {
                id: CowBytes::Borrowed(&self.execute_id),
                result_metadata_id: None,
                parameters: self.scylla_parameters(),
                tablet_version_block: None,
            },
            batch: sbatch::Batch {
                statements: Cow::Borrowed(&self.batch_statements),
                batch_type: sbatch::BatchType::Unlogged,
                consistency: scylla_cql::Consistency::LocalQuorum,
                serial_consistency: None,
                timestamp: Some(TIMESTAMP),
                values: self.batch_values.iter().map(|v| scylla_values(v)).collect(),
            },
        }
    }
}

impl Default for RequestData {
    fn default() -> Self {
        Self::new()
    }
}

/// Which request to encode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// QUERY.
    Query,
    /// EXECUTE.
    Execute,
    /// BATCH.
    Batch,
}

/// The measured ferry-wire work: clear `buf` and encode one body into it.
#[inline(never)]
pub fn ferry_encode(reqs: &FerryRequests, which: Which, buf: &mut BytesMut) {
    buf.clear();
    let done = match which {
        Which::Query => reqs.query.encode(buf, VERSION),
        Which::Execute => reqs.execute.encode(buf, VERSION),
        Which::Batch => reqs.batch.encode(buf, VERSION),
    };
    done.expect("ferry-wire encodes the fixture");
}

/// The measured scylla-cql work: clear `buf` and serialize one body into it.
#[inline(never)]
pub fn scylla_encode(reqs: &ScyllaRequests<'_>, which: Which, buf: &mut Vec<u8>) {
    buf.clear();
    let done = match which {
        Which::Query => reqs.query.serialize(buf),
        Which::Execute => reqs.execute.serialize(buf),
        Which::Batch => reqs.batch.serialize(buf),
    };
    done.expect("scylla-cql serializes the fixture");
}

/// ferry-wire's form of pre-serialized values: one `RawValue` per value.
pub fn ferry_values(values: &[Bytes]) -> Vec<RawValue> {
    values.iter().cloned().map(RawValue::Bytes).collect()
}

/// scylla-cql's form: one buffer with the `[value]`s laid out, written
/// through its `RowWriter` as its `SerializeRow` implementations do.
pub fn scylla_values_from(values: &[Bytes]) -> SerializedValues {
    SerializedValues::from_closure(|writer| {
        for v in values {
            writer
                .make_cell_writer()
                .set_value(v)
                .expect("a value under 2 GiB");
        }
        Ok(())
    })
    .expect("five values")
    .0
}

/// The measured ferry-wire work of the `_with_values` variants: put the
/// value bytes into the request (a new `Vec<RawValue>` per statement, the
/// old one dropped), then encode as [`ferry_encode`].
#[inline(never)]
pub fn ferry_encode_with_values(
    reqs: &mut FerryRequests,
    data: &RequestData,
    which: Which,
    buf: &mut BytesMut,
) {
    match which {
        Which::Query => {
            reqs.query.parameters.values = Some(BoundValues::Positional(ferry_values(&data.values)))
        }
        Which::Execute => {
            reqs.execute.parameters.values =
                Some(BoundValues::Positional(ferry_values(&data.values)))
        }
        Which::Batch => {
            for (s, v) in reqs.batch.statements.iter_mut().zip(&data.batch_values) {
                s.values = ferry_values(v);
            }
        }
    }
    ferry_encode(reqs, which, buf);
}

/// The measured scylla-cql work of the `_with_values` variants: lay the
/// value bytes out as `SerializedValues` (one per statement), build the
/// request around them, then serialize as [`scylla_encode`].
#[inline(never)]
pub fn scylla_encode_with_values(data: &RequestData, which: Which, buf: &mut Vec<u8>) {
    buf.clear();
    let done = match which {
        Which::Query | Which::Execute => {
            let values = scylla_values_from(&data.values);
            let mut parameters = data.scylla_parameters();
            parameters.values = Cow::Borrowed(&values);
            if which == Which::Query {
                SQuery {
                    contents: Cow::Borrowed(QUERY_TEXT),
                    parameters,
                }
                .serialize(buf)
            } else {
                ExecuteV2 {
                    id: CowBytes::Borrowed(&data.execute_id),
                    result_metadata_id: None,
                    parameters,
                    tablet_version_block: None,
                }
                .serialize(buf)
            }
        }
        Which::Batch => sbatch::Batch {
            statements: Cow::Borrowed(&data.batch_statements),
            batch_type: sbatch::BatchType::Unlogged,
            consistency: scylla_cql::Consistency::LocalQuorum,
            serial_consistency: None,
            timestamp: Some(TIMESTAMP),
            values: data
                .batch_values
                .iter()
                .map(|v| scylla_values_from(v))
                .collect::<Vec<_>>(),
        }
        .serialize(buf),
    };
    done.expect("scylla-cql serializes the fixture");
}

/// Checks, once, that both libraries write the very same bytes for every
/// request; returns the body sizes.
pub fn verify(data: &RequestData) -> Result<[usize; 3], String> {
    let ferry = data.ferry();
    let scylla = data.scylla();
    let mut sizes = [0; 3];
    for (i, which) in [Which::Query, Which::Execute, Which::Batch]
        .into_iter()
        .enumerate()
    {
        let mut ours = BytesMut::new();
        ferry_encode(&ferry, which, &mut ours);
        let mut theirs = Vec::new();
        scylla_encode(&scylla, which, &mut theirs);
        if ours[..] != theirs[..] {
            return Err(format!(
                "{which:?}: ferry-wire wrote {} bytes, scylla-cql {} bytes, and they differ",
                ours.len(),
                theirs.len()
            ));
        }
        sizes[i] = ours.len();
        // The `_with_values` variants write the same bytes again.
        let mut ours_again = BytesMut::new();
        ferry_encode_with_values(&mut data.ferry(), data, which, &mut ours_again);
        let mut theirs_again = Vec::new();
        scylla_encode_with_values(data, which, &mut theirs_again);
        if ours_again != ours || theirs_again != theirs {
            return Err(format!(
                "{which:?}: a _with_values variant wrote other bytes"
            ));
        }
    }
    Ok(sizes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_libraries_write_identical_bodies() {
        let sizes = verify(&RequestData::new()).unwrap();
        // QUERY: long string (4 + text) + consistency 2 + flags 1 + count 2
        // + 5 values + page size 4 + timestamp 8.
        let values: usize = five_values().iter().map(|v| 4 + v.len()).sum();
        assert_eq!(sizes[0], 4 + QUERY_TEXT.len() + 2 + 1 + 2 + values + 4 + 8);
        // EXECUTE: short bytes id (2 + 16) instead of the text.
        assert_eq!(sizes[1], 2 + 16 + 2 + 1 + 2 + values + 4 + 8);
        assert!(sizes[2] > BATCH_CHILDREN * (1 + 2 + 16 + 2));
    }

    #[test]
    fn a_changed_request_is_noticed() {
        let data = RequestData::new();
        let mut ferry = data.ferry();
        ferry.query.parameters.page_size = Some(PAGE_SIZE + 1);
        let mut ours = BytesMut::new();
        ferry_encode(&ferry, Which::Query, &mut ours);
        let mut theirs = Vec::new();
        scylla_encode(&data.scylla(), Which::Query, &mut theirs);
        assert_ne!(ours[..], theirs[..]);
    }
}
