//! QUERY (opcode 0x07): run a CQL statement given as text.

use bytes::BytesMut;

use crate::consistency::Consistency;
use crate::error::{DecodeResult, EncodeResult};
use crate::reader::Reader;
use crate::request::query_parameters::{QueryParameters, QUERY_FIELDS};
use crate::request::query_text::QueryText;
use crate::version::ProtocolVersion;

/// A QUERY request: `<query><query_parameters>`, the query a `[long string]`.
///
/// The text is kept zero-copy (see [`QueryText`]); the parameters' layout
/// depends on the version (see [`QueryParameters`]).
///
/// ```
/// use ferry_wire::request::Query;
/// use ferry_wire::{Consistency, ProtocolVersion, Reader};
/// let q = Query::new("SELECT now() FROM system.local", Consistency::One);
/// let mut buf = bytes::BytesMut::new();
/// q.encode(&mut buf, ProtocolVersion::V4).unwrap();
/// let back = Query::decode(&mut Reader::new(buf.freeze()), ProtocolVersion::V4).unwrap();
/// assert_eq!(back.query.text(), "SELECT now() FROM system.local");
/// assert_eq!(back, q);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The statement.
    pub query: QueryText,
    /// Consistency, values, paging and the rest.
    pub parameters: QueryParameters,
}

impl Query {
    /// A query with no values and default options.
    pub fn new(query: impl Into<QueryText>, consistency: Consistency) -> Self {
        Self {
            query: query.into(),
            parameters: QueryParameters::new(consistency),
        }
    }

    /// Reads the body.
    pub fn decode(r: &mut Reader, version: ProtocolVersion) -> DecodeResult<Self> {
        let query = QueryText::decode(r, "query.query")?;
        let parameters = QueryParameters::decode_fields(r, version, &QUERY_FIELDS)?;
        Ok(Self { query, parameters })
    }

    /// Writes the body.
    pub fn encode(&self, buf: &mut BytesMut, version: ProtocolVersion) -> EncodeResult<()> {
        self.query.encode(buf, "query.query")?;
        self.parameters.encode_fields(buf, version, &QUERY_FIELDS)
    }
}
