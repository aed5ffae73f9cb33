//! The EVENT response: a server push (stream id -1) about topology, node
//! status or schema, sent to connections that REGISTERed for it.

use std::net::SocketAddr;

use bytes::{Bytes, BytesMut};

use super::result::SchemaChange;
use crate::error::{DecodeResult, EncodeResult};
use crate::reader::Reader;
use crate::version::ProtocolVersion;
use crate::writer::{put_inet, put_string};

/// Event type names, as in REGISTER and at the start of an EVENT body.
pub mod event_type {
    /// Nodes joined, left or moved.
    pub const TOPOLOGY_CHANGE: &str = "TOPOLOGY_CHANGE";
    /// Nodes went up or down.
    pub const STATUS_CHANGE: &str = "STATUS_CHANGE";
    /// The schema changed.
    pub const SCHEMA_CHANGE: &str = "SCHEMA_CHANGE";
}

/// The change of a TOPOLOGY_CHANGE event.
///
/// ```
/// use ferry_wire::response::TopologyChangeType;
/// assert_eq!(TopologyChangeType::NewNode.as_str(), "NEW_NODE");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TopologyChangeType {
    /// `NEW_NODE`.
    NewNode,
    /// `REMOVED_NODE`.
    RemovedNode,
    /// `MOVED_NODE` (v3+ servers; older specs do not list it).
    MovedNode,
    /// Any other string, kept as received.
    Other(String),
}

impl TopologyChangeType {
    /// The protocol string.
    pub fn as_str(&self) -> &str {
        match self {
            Self::NewNode => "NEW_NODE",
            Self::RemovedNode => "REMOVED_NODE",
            Self::MovedNode => "MOVED_NODE",
            Self::Other(s) => s,
        }
    }

    fn from_wire(s: String) -> Self {
        match s.as_str() {
            "NEW_NODE" => Self::NewNode,
            "REMOVED_NODE" => Self::RemovedNode,
            "MOVED_NODE" => Self::MovedNode,
            _ => Self::Other(s),
        }
    }
}

/// The change of a STATUS_CHANGE event.
///
/// ```
/// use ferry_wire::response::StatusChangeType;
/// assert_eq!(StatusChangeType::Down.as_str(), "DOWN");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StatusChangeType {
    /// `UP`.
    Up,
    /// `DOWN`.
    Down,
    /// Any other string, kept as received.
    Other(String),
}

impl StatusChangeType {
    /// The protocol string.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Up => "UP",
            Self::Down => "DOWN",
            Self::Other(s) => s,
        }
    }

    fn from_wire(s: String) -> Self {
        match s.as_str() {
            "UP" => Self::Up,
            "DOWN" => Self::Down,
            _ => Self::Other(s),
        }
    }
}

/// An EVENT message.
///
/// ```
/// use ferry_wire::response::{Event, StatusChangeType};
/// use ferry_wire::{ProtocolVersion, Reader};
/// let ev = Event::StatusChange { change: StatusChangeType::Up, node: "10.0.0.1:9042".parse().unwrap() };
/// let mut buf = bytes::BytesMut::new();
/// ev.encode(&mut buf, ProtocolVersion::V4).unwrap();
/// assert_eq!(&buf[..], b"\x00\x0dSTATUS_CHANGE\x00\x02UP\x04\x0a\x00\x00\x01\x00\x00\x23\x52");
/// assert_eq!(Event::decode(&mut Reader::new(buf.freeze()), ProtocolVersion::V4).unwrap(), ev);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Event {
    /// `TOPOLOGY_CHANGE`: a node joined, left or moved.
    TopologyChange {
        /// What happened.
        change: TopologyChangeType,
        /// The node's native-protocol address.
        node: SocketAddr,
    },
    /// `STATUS_CHANGE`: a node went up or down.
    StatusChange {
        /// What happened.
        change: StatusChangeType,
        /// The node's native-protocol address.
        node: SocketAddr,
    },
    /// `SCHEMA_CHANGE`.
    SchemaChange(SchemaChange),
    /// An event type this codec does not know, with its undecoded body.
    Other {
        /// The event type string.
        event_type: String,
        /// Everything after the event type.
        body: Bytes,
    },
}

impl Event {
    /// The event type string.
    pub fn event_type(&self) -> &str {
        match self {
            Self::TopologyChange { .. } => event_type::TOPOLOGY_CHANGE,
            Self::StatusChange { .. } => event_type::STATUS_CHANGE,
            Self::SchemaChange(_) => event_type::SCHEMA_CHANGE,
            Self::Other { event_type, .. } => event_type,
        }
    }

    /// Decodes an EVENT body.
    pub fn decode(r: &mut Reader, version: ProtocolVersion) -> DecodeResult<Self> {
        let kind = r.read_string("event.type")?;
        Ok(match kind.as_str() {
            event_type::TOPOLOGY_CHANGE => Self::TopologyChange {
                change: TopologyChangeType::from_wire(r.read_string("event.change")?),
                node: r.read_inet("event.node")?,
            },
            event_type::STATUS_CHANGE => Self::StatusChange {
                change: StatusChangeType::from_wire(r.read_string("event.change")?),
                node: r.read_inet("event.node")?,
            },
            event_type::SCHEMA_CHANGE => Self::SchemaChange(SchemaChange::decode(r, version)?),
            _ => Self::Other {
                body: r.read_raw(r.remaining(), "event.body")?,
                event_type: kind,
            },
        })
    }

    /// Encodes an EVENT body.
    pub fn encode(&self, buf: &mut BytesMut, version: ProtocolVersion) -> EncodeResult<()> {
        put_string(buf, self.event_type(), "event.type")?;
        match self {
            Self::TopologyChange { change, node } => {
                put_string(buf, change.as_str(), "event.change")?;
                put_inet(buf, node);
            }
            Self::StatusChange { change, node } => {
                put_string(buf, change.as_str(), "event.change")?;
                put_inet(buf, node);
            }
            Self::SchemaChange(c) => c.encode(buf, version)?,
            Self::Other { body, .. } => buf.extend_from_slice(body),
        }
        Ok(())
    }
}
