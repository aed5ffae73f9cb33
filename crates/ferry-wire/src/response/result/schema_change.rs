//! A schema change, as carried by a Schema_change RESULT and a
//! SCHEMA_CHANGE EVENT (the two share one layout).
//!
//! v2: `<change><keyspace><table>`, three `[string]`s, the table empty for a
//! keyspace change. v3+: `<change_type><target><options>`, where the options
//! depend on the target (KEYSPACE, TABLE, TYPE; v4+ also FUNCTION and
//! AGGREGATE, which add a `[string list]` of argument types).

use bytes::{Bytes, BytesMut};

use crate::error::{DecodeResult, EncodeError, EncodeResult};
use crate::reader::Reader;
use crate::version::ProtocolVersion;
use crate::writer::{put_string, put_string_list};

/// What happened to the schema object (`<change_type>`).
///
/// ```
/// use ferry_wire::response::SchemaChangeType;
/// assert_eq!(SchemaChangeType::Dropped.as_str(), "DROPPED");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SchemaChangeType {
    /// `CREATED`.
    Created,
    /// `UPDATED`.
    Updated,
    /// `DROPPED`.
    Dropped,
    /// Any other string, kept so it re-encodes as received.
    Other(String),
}

impl SchemaChangeType {
    /// The protocol string.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Created => "CREATED",
            Self::Updated => "UPDATED",
            Self::Dropped => "DROPPED",
            Self::Other(s) => s,
        }
    }

    fn from_wire(s: String) -> Self {
        match s.as_str() {
            "CREATED" => Self::Created,
            "UPDATED" => Self::Updated,
            "DROPPED" => Self::Dropped,
            _ => Self::Other(s),
        }
    }
}

/// Which schema object changed (`<target><options>`).
///
/// ```
/// use ferry_wire::response::SchemaChangeTarget;
/// let t = SchemaChangeTarget::Type { keyspace: "ks".into(), name: "address".into() };
/// assert_eq!(t.target_name(), "TYPE");
/// assert_eq!(t.keyspace(), Some("ks"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SchemaChangeTarget {
    /// `KEYSPACE`: the keyspace itself.
    Keyspace {
        /// Keyspace name.
        keyspace: String,
    },
    /// `TABLE`.
    Table {
        /// Keyspace of the table.
        keyspace: String,
        /// Table name.
        table: String,
    },
    /// `TYPE`: a user-defined type (v3+).
    Type {
        /// Keyspace of the type.
        keyspace: String,
        /// Type name.
        name: String,
    },
    /// `FUNCTION`: a user-defined function (v4+).
    Function {
        /// Keyspace of the function.
        keyspace: String,
        /// Function name.
        name: String,
        /// Argument types, as CQL type names.
        arg_types: Vec<String>,
    },
    /// `AGGREGATE`: a user-defined aggregate (v4+).
    Aggregate {
        /// Keyspace of the aggregate.
        keyspace: String,
        /// Aggregate name.
        name: String,
        /// Argument types, as CQL type names.
        arg_types: Vec<String>,
    },
    /// A target this codec does not know (v3+), with the undecoded rest of
    /// the message so it can be forwarded unchanged.
    Other {
        /// The target string.
        target: String,
        /// The raw `<options>`.
        options: Bytes,
    },
}

impl SchemaChangeTarget {
    /// The protocol's `<target>` string.
    pub fn target_name(&self) -> &str {
        match self {
            Self::Keyspace { .. } => "KEYSPACE",
            Self::Table { .. } => "TABLE",
            Self::Type { .. } => "TYPE",
            Self::Function { .. } => "FUNCTION",
            Self::Aggregate { .. } => "AGGREGATE",
            Self::Other { target, .. } => target,
        }
    }

    /// The keyspace the change is in, when known.
    pub fn keyspace(&self) -> Option<&str> {
        match self {
            Self::Keyspace { keyspace }
            | Self::Table { keyspace, .. }
            | Self::Type { keyspace, .. }
            | Self::Function { keyspace, .. }
            | Self::Aggregate { keyspace, .. } => Some(keyspace),
            Self::Other { .. } => None,
        }
    }
}

/// A schema change (RESULT kind Schema_change, or a SCHEMA_CHANGE event).
///
/// ```
/// use ferry_wire::response::{SchemaChange, SchemaChangeTarget, SchemaChangeType};
/// use ferry_wire::{ProtocolVersion, Reader};
/// let change = SchemaChange {
///     change: SchemaChangeType::Created,
///     target: SchemaChangeTarget::Table { keyspace: "ks".into(), table: "t".into() },
/// };
/// let mut v2 = bytes::BytesMut::new();
/// change.encode(&mut v2, ProtocolVersion::V2).unwrap();
/// assert_eq!(&v2[..], b"\x00\x07CREATED\x00\x02ks\x00\x01t");
/// let mut v4 = bytes::BytesMut::new();
/// change.encode(&mut v4, ProtocolVersion::V4).unwrap();
/// assert_eq!(&v4[..], b"\x00\x07CREATED\x00\x05TABLE\x00\x02ks\x00\x01t");
/// assert_eq!(SchemaChange::decode(&mut Reader::new(v4.freeze()), ProtocolVersion::V4).unwrap(), change);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SchemaChange {
    /// What happened.
    pub change: SchemaChangeType,
    /// To which object.
    pub target: SchemaChangeTarget,
}

impl SchemaChange {
    /// Decodes a schema change.
    pub fn decode(r: &mut Reader, version: ProtocolVersion) -> DecodeResult<Self> {
        let change = SchemaChangeType::from_wire(r.read_string("schema_change.change")?);
        if version < ProtocolVersion::V3 {
            let keyspace = r.read_string("schema_change.keyspace")?;
            let table = r.read_string("schema_change.table")?;
            let target = if table.is_empty() {
                SchemaChangeTarget::Keyspace { keyspace }
            } else {
                SchemaChangeTarget::Table { keyspace, table }
            };
            return Ok(Self { change, target });
        }
        let target = r.read_string("schema_change.target")?;
        let target = match target.as_str() {
            "KEYSPACE" => SchemaChangeTarget::Keyspace {
                keyspace: r.read_string("schema_change.keyspace")?,
            },
            "TABLE" => SchemaChangeTarget::Table {
                keyspace: r.read_string("schema_change.keyspace")?,
                table: r.read_string("schema_change.table")?,
            },
            "TYPE" => SchemaChangeTarget::Type {
                keyspace: r.read_string("schema_change.keyspace")?,
                name: r.read_string("schema_change.name")?,
            },
            // Accepted from v3 on even though only v4 defines them: decoding
            // what a server sends is more useful than rejecting it.
            "FUNCTION" | "AGGREGATE" => {
                let keyspace = r.read_string("schema_change.keyspace")?;
                let name = r.read_string("schema_change.name")?;
                let arg_types = r.read_string_list("schema_change.arg_types")?;
                if target == "FUNCTION" {
                    SchemaChangeTarget::Function {
                        keyspace,
                        name,
                        arg_types,
                    }
                } else {
                    SchemaChangeTarget::Aggregate {
                        keyspace,
                        name,
                        arg_types,
                    }
                }
            }
            _ => SchemaChangeTarget::Other {
                options: r.read_raw(r.remaining(), "schema_change.options")?,
                target,
            },
        };
        Ok(Self { change, target })
    }

    /// Encodes a schema change. In v2 only keyspace and table changes exist;
    /// other targets fail with [`EncodeError::UnsupportedInVersion`].
    pub fn encode(&self, buf: &mut BytesMut, version: ProtocolVersion) -> EncodeResult<()> {
        put_string(buf, self.change.as_str(), "schema_change.change")?;
        if version < ProtocolVersion::V3 {
            let (keyspace, table) = match &self.target {
                SchemaChangeTarget::Keyspace { keyspace } => (keyspace, ""),
                SchemaChangeTarget::Table { keyspace, table } => (keyspace, table.as_str()),
                other => {
                    return Err(EncodeError::UnsupportedInVersion {
                        what: match other {
                            SchemaChangeTarget::Type { .. } => "schema change of a TYPE",
                            SchemaChangeTarget::Function { .. } => "schema change of a FUNCTION",
                            SchemaChangeTarget::Aggregate { .. } => "schema change of an AGGREGATE",
                            _ => "schema change of an unknown target",
                        },
                        version: version.number(),
                    })
                }
            };
            put_string(buf, keyspace, "schema_change.keyspace")?;
            return put_string(buf, table, "schema_change.table");
        }
        put_string(buf, self.target.target_name(), "schema_change.target")?;
        match &self.target {
            SchemaChangeTarget::Keyspace { keyspace } => {
                put_string(buf, keyspace, "schema_change.keyspace")?;
            }
            SchemaChangeTarget::Table {
                keyspace,
                table: name,
            }
            | SchemaChangeTarget::Type { keyspace, name } => {
                put_string(buf, keyspace, "schema_change.keyspace")?;
                put_string(buf, name, "schema_change.name")?;
            }
            SchemaChangeTarget::Function {
                keyspace,
                name,
                arg_types,
            }
            | SchemaChangeTarget::Aggregate {
                keyspace,
                name,
                arg_types,
            } => {
                put_string(buf, keyspace, "schema_change.keyspace")?;
                put_string(buf, name, "schema_change.name")?;
                put_string_list(buf, arg_types, "schema_change.arg_types")?;
            }
            SchemaChangeTarget::Other { options, .. } => buf.extend_from_slice(options),
        }
        Ok(())
    }
}
