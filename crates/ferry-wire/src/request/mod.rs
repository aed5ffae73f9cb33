//! Request messages (client to server), for protocol v2 to v5.
//!
//! One type per message, each with `decode`/`encode` for a frame body
//! (after any tracing id / custom payload the frame layer strips), and
//! [`Request`] to dispatch on the opcode.
//!
//! Version differences handled here, from the specs' section 4.1:
//! - QUERY/EXECUTE parameters grow flags from v2 to v5 (see [`QueryParameters`]);
//! - EXECUTE gains a result metadata id in v5;
//! - PREPARE gains flags and a keyspace in v5;
//! - BATCH gains flags in v3 and wider flags, keyspace and now-in-seconds in v5;
//! - unset bound values exist from v4.
//!
//! Encoding anything the target version lacks fails with
//! [`EncodeError::UnsupportedInVersion`](crate::EncodeError::UnsupportedInVersion).

mod auth_response;
mod batch;
mod execute;
mod options;
mod prepare;
mod query;
mod query_parameters;
mod query_text;
mod register;
mod serialized_values;
mod startup;
pub(crate) mod wire;

use bytes::BytesMut;

pub use auth_response::AuthResponse;
pub use batch::{Batch, BatchStatement, BatchStatementKind, BatchType};
pub use execute::Execute;
pub use options::Options;
pub use prepare::{Prepare, PREPARE_WITH_KEYSPACE};
pub use query::Query;
pub use query_parameters::{query_flags, BoundValues, QueryParameters};
pub(crate) use query_parameters::{ParameterFields, BATCH_FIELDS, GENERIC_FIELDS};
pub use query_text::QueryText;
pub use register::Register;
pub use serialized_values::SerializedValues;
pub use startup::Startup;

/// Well-known STARTUP option keys.
pub mod startup_options {
    pub use super::startup::{
        COMPRESSION, CQL_VERSION, DRIVER_NAME, DRIVER_VERSION, NO_COMPACT, THROW_ON_OVERLOAD,
    };
}

/// Event type names for REGISTER.
pub mod event_types {
    pub use super::register::{SCHEMA_CHANGE, STATUS_CHANGE, TOPOLOGY_CHANGE};
}

use crate::error::{DecodeErrorKind, DecodeResult, EncodeResult};
use crate::opcode::Opcode;
use crate::reader::Reader;
use crate::version::ProtocolVersion;

message_enum! {
    /// Any request message.
    ///
    /// ```
    /// use ferry_wire::request::{Request, Startup};
    /// use ferry_wire::{Opcode, ProtocolVersion, Reader};
    /// let req = Request::from(Startup::new("3.0.0"));
    /// assert_eq!(req.opcode(), Opcode::Startup);
    /// let mut body = bytes::BytesMut::new();
    /// req.encode(&mut body, ProtocolVersion::V4).unwrap();
    /// let mut r = Reader::new(body.freeze());
    /// assert_eq!(Request::decode(Opcode::Startup, &mut r, ProtocolVersion::V4).unwrap(), req);
    /// ```
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Request {
        /// STARTUP (0x01).
        Startup(Startup),
        /// AUTH_RESPONSE (0x0F).
        AuthResponse(AuthResponse),
        /// OPTIONS (0x05).
        Options(Options),
        /// QUERY (0x07).
        Query(Query),
        /// PREPARE (0x09).
        Prepare(Prepare),
        /// EXECUTE (0x0A).
        Execute(Execute),
        /// BATCH (0x0D).
        Batch(Batch),
        /// REGISTER (0x0B).
        Register(Register),
    }
}

impl Request {
    /// Decodes a whole request body for `opcode`.
    ///
    /// The body must be consumed exactly: trailing bytes are an error
    /// (`TrailingBytes`), because they would be lost on re-encoding. A
    /// response opcode is an error too.
    pub fn decode(opcode: Opcode, r: &mut Reader, version: ProtocolVersion) -> DecodeResult<Self> {
        let request = match opcode {
            Opcode::Startup => Self::Startup(Startup::decode(r)?),
            Opcode::AuthResponse => Self::AuthResponse(AuthResponse::decode(r)?),
            Opcode::Options => Self::Options(Options::decode(r)?),
            Opcode::Query => Self::Query(Query::decode(r, version)?),
            Opcode::Prepare => Self::Prepare(Prepare::decode(r, version)?),
            Opcode::Execute => Self::Execute(Execute::decode(r, version)?),
            Opcode::Batch => Self::Batch(Batch::decode(r, version)?),
            Opcode::Register => Self::Register(Register::decode(r)?),
            other => {
                return Err(r.error(
                    "request.opcode",
                    DecodeErrorKind::Invalid(format!(
                        "{} (0x{:02x}) is a response, not a request",
                        other.name(),
                        other as u8
                    )),
                ))
            }
        };
        r.finish("request.body")?;
        Ok(request)
    }

    /// Encodes the body (not the frame header) for `version`, appending to
    /// `buf`. On error `buf` is left as it was.
    pub fn encode(&self, buf: &mut BytesMut, version: ProtocolVersion) -> EncodeResult<()> {
        let start = buf.len();
        let result = self.encode_body(buf, version);
        if result.is_err() {
            buf.truncate(start);
        }
        result
    }

    fn encode_body(&self, buf: &mut BytesMut, version: ProtocolVersion) -> EncodeResult<()> {
        match self {
            Self::Startup(m) => m.encode(buf),
            Self::AuthResponse(m) => m.encode(buf),
            Self::Options(m) => m.encode(buf),
            Self::Query(m) => m.encode(buf, version),
            Self::Prepare(m) => m.encode(buf, version),
            Self::Execute(m) => m.encode(buf, version),
            Self::Batch(m) => m.encode(buf, version),
            Self::Register(m) => m.encode(buf),
        }
    }
}
