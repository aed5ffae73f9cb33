//! EXECUTE (opcode 0x0A): run a prepared statement.

use bytes::{Bytes, BytesMut};

use crate::error::{DecodeResult, EncodeError, EncodeResult};
use crate::reader::Reader;
use crate::request::query_parameters::{QueryParameters, EXECUTE_FIELDS};
use crate::request::wire::unsupported;
use crate::version::ProtocolVersion;
use crate::writer::put_short_bytes;

/// An EXECUTE request.
///
/// v2-v4: `<id><query_parameters>`. v5: `<id><result_metadata_id><query_parameters>`,
/// both ids `[short bytes]`. (v1 differed, but is not spoken here.)
///
/// ```
/// use bytes::Bytes;
/// use ferry_wire::request::{Execute, QueryParameters};
/// use ferry_wire::{Consistency, EncodeError, ProtocolVersion, Reader};
/// let e = Execute {
///     id: Bytes::from_static(&[0xab; 16]),
///     result_metadata_id: Some(Bytes::from_static(&[0xcd; 16])),
///     parameters: QueryParameters::new(Consistency::One),
/// };
/// let mut buf = bytes::BytesMut::new();
/// e.encode(&mut buf, ProtocolVersion::V5).unwrap();
/// assert_eq!(Execute::decode(&mut Reader::new(buf.freeze()), ProtocolVersion::V5).unwrap(), e);
/// // v4 has no result metadata id.
/// assert!(e.encode(&mut bytes::BytesMut::new(), ProtocolVersion::V4).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Execute {
    /// The prepared statement id (from the Prepared result).
    pub id: Bytes,
    /// The result metadata id (from the Prepared result): required in v5,
    /// absent before.
    pub result_metadata_id: Option<Bytes>,
    /// Consistency, values, paging and the rest.
    pub parameters: QueryParameters,
}

impl Execute {
    /// Reads the body.
    pub fn decode(r: &mut Reader, version: ProtocolVersion) -> DecodeResult<Self> {
        let id = r.read_short_bytes("execute.id")?;
        let result_metadata_id = if version >= ProtocolVersion::V5 {
            Some(r.read_short_bytes("execute.result_metadata_id")?)
        } else {
            None
        };
        let parameters = QueryParameters::decode_fields(r, version, &EXECUTE_FIELDS)?;
        Ok(Self {
            id,
            result_metadata_id,
            parameters,
        })
    }

    /// Writes the body.
    pub fn encode(&self, buf: &mut BytesMut, version: ProtocolVersion) -> EncodeResult<()> {
        put_short_bytes(buf, &self.id, "execute.id")?;
        match (&self.result_metadata_id, version >= ProtocolVersion::V5) {
            (Some(id), true) => put_short_bytes(buf, id, "execute.result_metadata_id")?,
            (None, false) => {}
            (Some(_), false) => return Err(unsupported("EXECUTE result_metadata_id", version)),
            (None, true) => {
                return Err(EncodeError::Invalid(
                    "EXECUTE in protocol v5 needs a result_metadata_id".into(),
                ))
            }
        }
        self.parameters.encode_fields(buf, version, &EXECUTE_FIELDS)
    }
}
