//! CQL types as the protocol describes them (`[option]`): in Rows metadata,
//! Prepared metadata and nested inside collections, tuples and UDTs.

use bytes::{BufMut, BytesMut};

use crate::error::{DecodeErrorKind, DecodeResult, EncodeResult};
use crate::reader::Reader;
use crate::writer::put_string;

/// Deepest nesting of collection/tuple/UDT types accepted from the network:
/// a guard against stack exhaustion on hostile input. Cassandra itself has no
/// such limit, but real schemas stay far below it.
pub const MAX_TYPE_DEPTH: usize = 64;

/// A CQL column type.
///
/// `Text` (id 0x000A, only sent by old servers) and `Varchar` (0x000D) are
/// the same CQL type but kept apart so a frame re-encodes byte for byte.
///
/// ```
/// use ferry_wire::types::ColumnType;
/// let t = ColumnType::Map(Box::new(ColumnType::Varchar), Box::new(ColumnType::List(Box::new(ColumnType::Int))));
/// let mut buf = bytes::BytesMut::new();
/// t.encode(&mut buf).unwrap();
/// let mut r = ferry_wire::Reader::new(buf.freeze());
/// assert_eq!(ColumnType::decode(&mut r).unwrap(), t);
/// assert_eq!(t.to_string(), "map<varchar, list<int>>");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum ColumnType {
    /// A custom type, named by its Java class.
    Custom(String),
    Ascii,
    Bigint,
    Blob,
    Boolean,
    Counter,
    Decimal,
    Double,
    Float,
    Int,
    /// Id 0x000A: sent by protocol v1/v2 era servers; same as varchar.
    Text,
    Timestamp,
    Uuid,
    Varchar,
    Varint,
    Timeuuid,
    Inet,
    Date,
    Time,
    Smallint,
    Tinyint,
    Duration,
    List(Box<ColumnType>),
    Map(Box<ColumnType>, Box<ColumnType>),
    Set(Box<ColumnType>),
    /// A user-defined type.
    Udt {
        keyspace: String,
        name: String,
        fields: Vec<(String, ColumnType)>,
    },
    Tuple(Vec<ColumnType>),
}

impl ColumnType {
    /// The `[option]` id of this type.
    pub fn id(&self) -> u16 {
        match self {
            Self::Custom(_) => 0x0000,
            Self::Ascii => 0x0001,
            Self::Bigint => 0x0002,
            Self::Blob => 0x0003,
            Self::Boolean => 0x0004,
            Self::Counter => 0x0005,
            Self::Decimal => 0x0006,
            Self::Double => 0x0007,
            Self::Float => 0x0008,
            Self::Int => 0x0009,
            Self::Text => 0x000A,
            Self::Timestamp => 0x000B,
            Self::Uuid => 0x000C,
            Self::Varchar => 0x000D,
            Self::Varint => 0x000E,
            Self::Timeuuid => 0x000F,
            Self::Inet => 0x0010,
            Self::Date => 0x0011,
            Self::Time => 0x0012,
            Self::Smallint => 0x0013,
            Self::Tinyint => 0x0014,
            Self::Duration => 0x0015,
            Self::List(_) => 0x0020,
            Self::Map(_, _) => 0x0021,
            Self::Set(_) => 0x0022,
            Self::Udt { .. } => 0x0030,
            Self::Tuple(_) => 0x0031,
        }
    }

    /// Decodes an `[option]` type description.
    pub fn decode(r: &mut Reader) -> DecodeResult<ColumnType> {
        Self::decode_nested(r, 0)
    }

    fn decode_nested(r: &mut Reader, depth: usize) -> DecodeResult<ColumnType> {
        const F: &str = "option.type";
        if depth > MAX_TYPE_DEPTH {
            return Err(r.error(
                F,
                DecodeErrorKind::Invalid(format!(
                    "type nesting deeper than {MAX_TYPE_DEPTH} levels"
                )),
            ));
        }
        let start = r.offset();
        let id = r.read_short(F)?;
        let inner = |r: &mut Reader| Self::decode_nested(r, depth + 1).map(Box::new);
        Ok(match id {
            0x0000 => Self::Custom(r.read_string("option.custom_class")?),
            0x0001 => Self::Ascii,
            0x0002 => Self::Bigint,
            0x0003 => Self::Blob,
            0x0004 => Self::Boolean,
            0x0005 => Self::Counter,
            0x0006 => Self::Decimal,
            0x0007 => Self::Double,
            0x0008 => Self::Float,
            0x0009 => Self::Int,
            0x000A => Self::Text,
            0x000B => Self::Timestamp,
            0x000C => Self::Uuid,
            0x000D => Self::Varchar,
            0x000E => Self::Varint,
            0x000F => Self::Timeuuid,
            0x0010 => Self::Inet,
            0x0011 => Self::Date,
            0x0012 => Self::Time,
            0x0013 => Self::Smallint,
            0x0014 => Self::Tinyint,
            0x0015 => Self::Duration,
            0x0020 => Self::List(inner(r)?),
            0x0021 => {
                let k = inner(r)?;
                Self::Map(k, inner(r)?)
            }
            0x0022 => Self::Set(inner(r)?),
            0x0030 => {
                let keyspace = r.read_string("option.udt.keyspace")?;
                let name = r.read_string("option.udt.name")?;
                let n = r.read_short("option.udt.field_count")?;
                let mut fields = Vec::with_capacity(usize::from(n).min(r.remaining() / 4));
                for _ in 0..n {
                    let fname = r.read_string("option.udt.field_name")?;
                    fields.push((fname, Self::decode_nested(r, depth + 1)?));
                }
                Self::Udt {
                    keyspace,
                    name,
                    fields,
                }
            }
            0x0031 => {
                let n = r.read_short("option.tuple.count")?;
                let mut types = Vec::with_capacity(usize::from(n).min(r.remaining() / 2));
                for _ in 0..n {
                    types.push(Self::decode_nested(r, depth + 1)?);
                }
                Self::Tuple(types)
            }
            other => {
                return Err(crate::error::DecodeError::new(
                    F,
                    start,
                    DecodeErrorKind::Invalid(format!("unknown type id 0x{other:04x}")),
                ))
            }
        })
    }

    /// Appends the `[option]` encoding.
    pub fn encode(&self, buf: &mut BytesMut) -> EncodeResult<()> {
        buf.put_u16(self.id());
        match self {
            Self::Custom(class) => put_string(buf, class, "option.custom_class")?,
            Self::List(t) | Self::Set(t) => t.encode(buf)?,
            Self::Map(k, v) => {
                k.encode(buf)?;
                v.encode(buf)?;
            }
            Self::Udt {
                keyspace,
                name,
                fields,
            } => {
                put_string(buf, keyspace, "option.udt.keyspace")?;
                put_string(buf, name, "option.udt.name")?;
                let n = u16::try_from(fields.len()).map_err(|_| {
                    crate::error::EncodeError::TooLong {
                        field: "option.udt.field_count",
                        length: fields.len(),
                        max: usize::from(u16::MAX),
                    }
                })?;
                buf.put_u16(n);
                for (fname, t) in fields {
                    put_string(buf, fname, "option.udt.field_name")?;
                    t.encode(buf)?;
                }
            }
            Self::Tuple(types) => {
                let n =
                    u16::try_from(types.len()).map_err(|_| crate::error::EncodeError::TooLong {
                        field: "option.tuple.count",
                        length: types.len(),
                        max: usize::from(u16::MAX),
                    })?;
                buf.put_u16(n);
                for t in types {
                    t.encode(buf)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Whether values of this type are only legal from protocol v`n` on
    /// (UDT/tuple: v3; date/time/smallint/tinyint: v4; duration: v5).
    pub fn min_version(&self) -> u8 {
        match self {
            Self::Duration => 5,
            Self::Date | Self::Time | Self::Smallint | Self::Tinyint => 4,
            Self::Udt { fields, .. } => fields
                .iter()
                .map(|(_, t)| t.min_version())
                .max()
                .unwrap_or(3)
                .max(3),
            Self::Tuple(ts) => ts.iter().map(Self::min_version).max().unwrap_or(3).max(3),
            Self::List(t) | Self::Set(t) => t.min_version(),
            Self::Map(k, v) => k.min_version().max(v.min_version()),
            _ => 2,
        }
    }
}

impl std::fmt::Display for ColumnType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Custom(c) => write!(f, "'{c}'"),
            Self::Ascii => f.write_str("ascii"),
            Self::Bigint => f.write_str("bigint"),
            Self::Blob => f.write_str("blob"),
            Self::Boolean => f.write_str("boolean"),
            Self::Counter => f.write_str("counter"),
            Self::Decimal => f.write_str("decimal"),
            Self::Double => f.write_str("double"),
            Self::Float => f.write_str("float"),
            Self::Int => f.write_str("int"),
            Self::Text => f.write_str("text"),
            Self::Timestamp => f.write_str("timestamp"),
            Self::Uuid => f.write_str("uuid"),
            Self::Varchar => f.write_str("varchar"),
            Self::Varint => f.write_str("varint"),
            Self::Timeuuid => f.write_str("timeuuid"),
            Self::Inet => f.write_str("inet"),
            Self::Date => f.write_str("date"),
            Self::Time => f.write_str("time"),
            Self::Smallint => f.write_str("smallint"),
            Self::Tinyint => f.write_str("tinyint"),
            Self::Duration => f.write_str("duration"),
            Self::List(t) => write!(f, "list<{t}>"),
            Self::Set(t) => write!(f, "set<{t}>"),
            Self::Map(k, v) => write!(f, "map<{k}, {v}>"),
            Self::Udt { keyspace, name, .. } => write!(f, "{keyspace}.{name}"),
            Self::Tuple(ts) => {
                f.write_str("tuple<")?;
                for (i, t) in ts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{t}")?;
                }
                f.write_str(">")
            }
        }
    }
}
