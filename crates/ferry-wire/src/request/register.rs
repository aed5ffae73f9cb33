//! REGISTER (opcode 0x0B): subscribe the connection to server events.

use bytes::BytesMut;

use crate::error::{DecodeResult, EncodeResult};
use crate::reader::Reader;
use crate::writer::put_string_list;

/// Event type: nodes joining or leaving the cluster.
pub const TOPOLOGY_CHANGE: &str = "TOPOLOGY_CHANGE";
/// Event type: nodes going up or down.
pub const STATUS_CHANGE: &str = "STATUS_CHANGE";
/// Event type: keyspaces, tables, types, functions created/updated/dropped.
pub const SCHEMA_CHANGE: &str = "SCHEMA_CHANGE";

/// A REGISTER request: a `[string list]` of event types, in every version.
///
/// The names are kept as strings (not an enum) so that a name this codec
/// does not know still round-trips.
///
/// ```
/// use ferry_wire::request::Register;
/// let r = Register::new(["SCHEMA_CHANGE", "STATUS_CHANGE"]);
/// let mut buf = bytes::BytesMut::new();
/// r.encode(&mut buf).unwrap();
/// assert_eq!(&buf[..2], &[0, 2]);
/// assert_eq!(Register::decode(&mut ferry_wire::Reader::new(buf.freeze())).unwrap(), r);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Register {
    /// Event types, in wire order.
    pub events: Vec<String>,
}

impl Register {
    /// Registers for `events`.
    pub fn new<I, S>(events: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            events: events.into_iter().map(Into::into).collect(),
        }
    }

    /// Reads the body.
    pub fn decode(r: &mut Reader) -> DecodeResult<Self> {
        Ok(Self {
            events: r.read_string_list("register.events")?,
        })
    }

    /// Writes the body.
    pub fn encode(&self, buf: &mut BytesMut) -> EncodeResult<()> {
        put_string_list(buf, &self.events, "register.events")
    }
}
