//! CQL column types as the schema tables describe them, parsed into one
//! representation so a source and a target of different Cassandra versions
//! can be compared.
//!
//! - Cassandra 2.x (`system.schema_columns.validator`) stores the Java
//!   class of the type: `org.apache.cassandra.db.marshal.ListType(
//!   org.apache.cassandra.db.marshal.Int32Type)`; a descending clustering
//!   column is wrapped in `ReversedType(...)`, a frozen value (2.1.3+) in
//!   `FrozenType(...)`, and a UDT spells out its keyspace, its name and its
//!   fields in hex: `UserType(ks,61646472,737472656574:...UTF8Type,...)`.
//!   Before 2.1.3 every UDT and tuple is frozen without saying so.
//! - Cassandra 3.0+ (`system_schema.columns.type`) stores CQL:
//!   `frozen<map<text, int>>`, a UDT by its name only (its fields are in
//!   `system_schema.types`), a custom type as a quoted class name.

use std::fmt;

use ferry_wire::types::ColumnType;

/// Deepest nesting accepted while parsing (schema strings come from the
/// server, but a bound keeps a corrupt one from exhausting the stack).
const MAX_DEPTH: usize = 32;

/// The Java package of Cassandra's types, which 2.x type strings carry.
const MARSHAL_PACKAGE: &str = "org.apache.cassandra.db.marshal.";

/// A CQL type that is not a collection, tuple or UDT.
///
/// ```
/// assert_eq!(ferry_conn::schema::NativeType::Text.cql_name(), "text");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum NativeType {
    Ascii,
    Bigint,
    Blob,
    Boolean,
    Counter,
    Date,
    Decimal,
    Double,
    Duration,
    Float,
    Inet,
    Int,
    Smallint,
    /// `text` and `varchar` (the same type under two names).
    Text,
    Time,
    Timestamp,
    Timeuuid,
    Tinyint,
    Uuid,
    Varint,
}

impl NativeType {
    /// The CQL name.
    pub fn cql_name(self) -> &'static str {
        match self {
            Self::Ascii => "ascii",
            Self::Bigint => "bigint",
            Self::Blob => "blob",
            Self::Boolean => "boolean",
            Self::Counter => "counter",
            Self::Date => "date",
            Self::Decimal => "decimal",
            Self::Double => "double",
            Self::Duration => "duration",
            Self::Float => "float",
            Self::Inet => "inet",
            Self::Int => "int",
            Self::Smallint => "smallint",
            Self::Text => "text",
            Self::Time => "time",
            Self::Timestamp => "timestamp",
            Self::Timeuuid => "timeuuid",
            Self::Tinyint => "tinyint",
            Self::Uuid => "uuid",
            Self::Varint => "varint",
        }
    }

    fn from_cql_name(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "ascii" => Self::Ascii,
            "bigint" => Self::Bigint,
            "blob" => Self::Blob,
            "boolean" => Self::Boolean,
            "counter" => Self::Counter,
            "date" => Self::Date,
            "decimal" => Self::Decimal,
            "double" => Self::Double,
            "duration" => Self::Duration,
            "float" => Self::Float,
            "inet" => Self::Inet,
            "int" => Self::Int,
            "smallint" => Self::Smallint,
            "text" | "varchar" => Self::Text,
            "time" => Self::Time,
            "timestamp" => Self::Timestamp,
            "timeuuid" => Self::Timeuuid,
            "tinyint" => Self::Tinyint,
            "uuid" => Self::Uuid,
            "varint" => Self::Varint,
            _ => return None,
        })
    }

    fn from_marshal_class(class: &str) -> Option<Self> {
        Some(match class {
            "AsciiType" => Self::Ascii,
            "LongType" => Self::Bigint,
            "BytesType" => Self::Blob,
            "BooleanType" => Self::Boolean,
            "CounterColumnType" => Self::Counter,
            "SimpleDateType" => Self::Date,
            "DecimalType" => Self::Decimal,
            "DoubleType" => Self::Double,
            "DurationType" => Self::Duration,
            "FloatType" => Self::Float,
            "InetAddressType" => Self::Inet,
            "Int32Type" => Self::Int,
            "ShortType" => Self::Smallint,
            "UTF8Type" => Self::Text,
            "TimeType" => Self::Time,
            // DateType is the pre-2.0 name of timestamp.
            "TimestampType" | "DateType" => Self::Timestamp,
            "TimeUUIDType" => Self::Timeuuid,
            "ByteType" => Self::Tinyint,
            "UUIDType" => Self::Uuid,
            "IntegerType" => Self::Varint,
            _ => return None,
        })
    }
}

/// A column's type.
///
/// Two types are the same CQL type exactly when they are equal (`text` and
/// `varchar` parse to the same [`NativeType::Text`]).
///
/// ```
/// use ferry_conn::schema::{CqlType, NativeType};
/// let legacy = CqlType::parse_marshal(
///     "org.apache.cassandra.db.marshal.MapType(org.apache.cassandra.db.marshal.UTF8Type,\
///      org.apache.cassandra.db.marshal.Int32Type)",
/// ).unwrap();
/// let modern = CqlType::parse_cql("map<varchar, int>", "ks", &|_| None).unwrap();
/// assert_eq!(legacy.0, modern);
/// assert_eq!(modern.to_string(), "map<text, int>");
/// assert!(modern.is_multi_cell_collection());
/// assert_eq!(CqlType::Native(NativeType::Int).to_string(), "int");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CqlType {
    /// A native type.
    Native(NativeType),
    /// `list<T>`; frozen or not.
    List {
        /// Element type.
        element: Box<CqlType>,
        /// Whether the list is stored as one cell.
        frozen: bool,
    },
    /// `set<T>`; frozen or not.
    Set {
        /// Element type.
        element: Box<CqlType>,
        /// Whether the set is stored as one cell.
        frozen: bool,
    },
    /// `map<K, V>`; frozen or not.
    Map {
        /// Key type.
        key: Box<CqlType>,
        /// Value type.
        value: Box<CqlType>,
        /// Whether the map is stored as one cell.
        frozen: bool,
    },
    /// `tuple<...>` (always frozen).
    Tuple(Vec<CqlType>),
    /// A user-defined type.
    Udt {
        /// Its keyspace.
        keyspace: String,
        /// Its name.
        name: String,
        /// Field names and types, in order.
        fields: Vec<(String, CqlType)>,
        /// Whether values are stored as one cell (always, before 3.6).
        frozen: bool,
    },
    /// A custom type, by its Java class name.
    Custom(String),
}

impl CqlType {
    /// Whether the type is a collection stored as one cell per element
    /// (a non-frozen list, set or map): whole-column `WRITETIME()` and
    /// `TTL()` cannot be read for it (before Cassandra 5.0).
    pub fn is_multi_cell_collection(&self) -> bool {
        matches!(
            self,
            Self::List { frozen: false, .. }
                | Self::Set { frozen: false, .. }
                | Self::Map { frozen: false, .. }
        )
    }

    /// Whether the type is a non-frozen list (whose re-writes append
    /// duplicates unless a newer timestamp deletes the earlier copy).
    pub fn is_multi_cell_list(&self) -> bool {
        matches!(self, Self::List { frozen: false, .. })
    }

    /// Whether values are stored as several cells (multi-cell collections
    /// and non-frozen UDTs).
    pub fn is_multi_cell(&self) -> bool {
        self.is_multi_cell_collection() || matches!(self, Self::Udt { frozen: false, .. })
    }

    /// Whether this is `counter`.
    pub fn is_counter(&self) -> bool {
        matches!(self, Self::Native(NativeType::Counter))
    }

    /// The same type, frozen, with everything inside it frozen too (how
    /// Cassandra treats a type nested in a frozen one).
    fn frozen(self) -> Self {
        match self {
            Self::List { element, .. } => Self::List {
                element: Box::new(element.frozen()),
                frozen: true,
            },
            Self::Set { element, .. } => Self::Set {
                element: Box::new(element.frozen()),
                frozen: true,
            },
            Self::Map { key, value, .. } => Self::Map {
                key: Box::new(key.frozen()),
                value: Box::new(value.frozen()),
                frozen: true,
            },
            Self::Tuple(items) => Self::Tuple(items.into_iter().map(Self::frozen).collect()),
            Self::Udt {
                keyspace,
                name,
                fields,
                ..
            } => Self::Udt {
                keyspace,
                name,
                fields: fields.into_iter().map(|(n, t)| (n, t.frozen())).collect(),
                frozen: true,
            },
            other => other,
        }
    }

    /// The protocol's description of the same type, which cells of the
    /// column are decoded with (`text` is sent as `varchar`; frozen or not
    /// makes no difference on the wire).
    ///
    /// ```
    /// use ferry_conn::schema::CqlType;
    /// use ferry_wire::types::ColumnType;
    /// let t = CqlType::parse_cql("map<text, frozen<list<int>>>", "ks", &|_| None).unwrap();
    /// assert_eq!(
    ///     t.to_column_type(),
    ///     ColumnType::Map(Box::new(ColumnType::Varchar), Box::new(ColumnType::List(Box::new(ColumnType::Int)))),
    /// );
    /// ```
    pub fn to_column_type(&self) -> ColumnType {
        match self {
            Self::Native(n) => match n {
                NativeType::Ascii => ColumnType::Ascii,
                NativeType::Bigint => ColumnType::Bigint,
                NativeType::Blob => ColumnType::Blob,
                NativeType::Boolean => ColumnType::Boolean,
                NativeType::Counter => ColumnType::Counter,
                NativeType::Date => ColumnType::Date,
                NativeType::Decimal => ColumnType::Decimal,
                NativeType::Double => ColumnType::Double,
                NativeType::Duration => ColumnType::Duration,
                NativeType::Float => ColumnType::Float,
                NativeType::Inet => ColumnType::Inet,
                NativeType::Int => ColumnType::Int,
                NativeType::Smallint => ColumnType::Smallint,
                NativeType::Text => ColumnType::Varchar,
                NativeType::Time => ColumnType::Time,
                NativeType::Timestamp => ColumnType::Timestamp,
                NativeType::Timeuuid => ColumnType::Timeuuid,
                NativeType::Tinyint => ColumnType::Tinyint,
                NativeType::Uuid => ColumnType::Uuid,
                NativeType::Varint => ColumnType::Varint,
            },
            Self::List { element, .. } => ColumnType::List(Box::new(element.to_column_type())),
            Self::Set { element, .. } => ColumnType::Set(Box::new(element.to_column_type())),
            Self::Map { key, value, .. } => ColumnType::Map(
                Box::new(key.to_column_type()),
                Box::new(value.to_column_type()),
            ),
            Self::Tuple(items) => {
                ColumnType::Tuple(items.iter().map(CqlType::to_column_type).collect())
            }
            Self::Udt {
                keyspace,
                name,
                fields,
                ..
            } => ColumnType::Udt {
                keyspace: keyspace.clone(),
                name: name.clone(),
                fields: fields
                    .iter()
                    .map(|(n, t)| (n.clone(), t.to_column_type()))
                    .collect(),
            },
            Self::Custom(class) => ColumnType::Custom(class.clone()),
        }
    }

    /// Parses a Cassandra 2.x type string (a marshal class, possibly with
    /// parameters). Returns the type and whether it was wrapped in
    /// `ReversedType` (a descending clustering column).
    pub fn parse_marshal(text: &str) -> Result<(CqlType, bool), String> {
        let mut parser = MarshalParser::new(text);
        let (ty, reversed) = parser.parse_top()?;
        parser.cursor.finish()?;
        Ok((ty, reversed))
    }

    /// Parses a Cassandra 3.0+ CQL type string. A user-defined type is
    /// looked up by `udt(name)`, which returns its field names and CQL
    /// type strings (resolved in `keyspace`).
    pub fn parse_cql(text: &str, keyspace: &str, udt: &UdtLookup<'_>) -> Result<CqlType, String> {
        let mut parser = CqlParser::new(text, 0, keyspace, udt);
        let ty = parser.parse()?;
        parser.cursor.finish()?;
        Ok(ty)
    }
}

/// Looks up a user-defined type of the keyspace by name: its fields as
/// `(name, CQL type string)`.
pub type UdtLookup<'a> = dyn Fn(&str) -> Option<Vec<(String, String)>> + 'a;

impl fmt::Display for CqlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let open = |f: &mut fmt::Formatter<'_>, frozen: bool| {
            if frozen {
                f.write_str("frozen<")
            } else {
                Ok(())
            }
        };
        let close = |f: &mut fmt::Formatter<'_>, frozen: bool| {
            if frozen {
                f.write_str(">")
            } else {
                Ok(())
            }
        };
        match self {
            Self::Native(n) => f.write_str(n.cql_name()),
            Self::List { element, frozen } => {
                open(f, *frozen)?;
                write!(f, "list<{element}>")?;
                close(f, *frozen)
            }
            Self::Set { element, frozen } => {
                open(f, *frozen)?;
                write!(f, "set<{element}>")?;
                close(f, *frozen)
            }
            Self::Map { key, value, frozen } => {
                open(f, *frozen)?;
                write!(f, "map<{key}, {value}>")?;
                close(f, *frozen)
            }
            Self::Tuple(items) => {
                f.write_str("tuple<")?;
                for (i, t) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{t}")?;
                }
                f.write_str(">")
            }
            Self::Udt {
                keyspace,
                name,
                frozen,
                ..
            } => {
                open(f, *frozen)?;
                write!(f, "{keyspace}.{name}")?;
                close(f, *frozen)
            }
            Self::Custom(class) => write!(f, "'{class}'"),
        }
    }
}

/// A position in a type string: what the two parsers agree on (peeking,
/// punctuation, nesting depth, errors that name the offset).
struct Cursor<'a> {
    text: &'a str,
    pos: usize,
    depth: usize,
    /// What separates tokens: marshal strings use `' '` only, CQL any
    /// white space.
    is_space: fn(char) -> bool,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str, depth: usize, is_space: fn(char) -> bool) -> Self {
        Self {
            text,
            pos: 0,
            depth,
            is_space,
        }
    }

    fn skip_spaces(&mut self) {
        while let Some(c) = self.peek().filter(|&c| (self.is_space)(c)) {
            self.pos += c.len_utf8();
        }
    }

    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn expect(&mut self, c: char) -> Result<(), String> {
        self.skip_spaces();
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            Ok(())
        } else {
            Err(format!(
                "expected {c:?} at offset {} of type {:?}",
                self.pos, self.text
            ))
        }
    }

    /// Fails unless only spaces are left.
    fn finish(&mut self) -> Result<(), String> {
        self.skip_spaces();
        if self.pos != self.text.len() {
            return Err(format!(
                "unexpected text at offset {} of type {:?}",
                self.pos, self.text
            ));
        }
        Ok(())
    }

    /// Moves past a group opened by `open` and closed by the matching
    /// `close`; false if the text ends first.
    fn skip_balanced(&mut self, open: char, close: char) -> bool {
        let mut level = 0usize;
        while let Some(c) = self.peek() {
            self.pos += c.len_utf8();
            if c == open {
                level += 1;
            } else if c == close {
                level = level.saturating_sub(1);
                if level == 0 {
                    return true;
                }
            }
        }
        false
    }
}

/// What both parsers do the same way around their own grammar: parse a
/// type with a bound on nesting, and parse a list of type parameters.
trait TypeParser<'a> {
    fn cursor(&mut self) -> &mut Cursor<'a>;

    /// One type at the cursor (the grammar proper, without the bound).
    fn parse_unbounded(&mut self) -> Result<CqlType, String>;

    /// One type at the cursor, nested no deeper than [`MAX_DEPTH`].
    fn parse(&mut self) -> Result<CqlType, String> {
        let cursor = self.cursor();
        cursor.depth += 1;
        if cursor.depth > MAX_DEPTH {
            return Err(format!("type nested too deeply: {:?}", cursor.text));
        }
        let result = self.parse_unbounded();
        self.cursor().depth -= 1;
        result
    }

    /// `open` type, type, ... `close`.
    fn type_params(&mut self, open: char, close: char) -> Result<Vec<CqlType>, String> {
        self.cursor().expect(open)?;
        let mut out = Vec::new();
        loop {
            out.push(self.parse()?);
            let cursor = self.cursor();
            cursor.skip_spaces();
            match cursor.peek() {
                Some(',') => cursor.pos += 1,
                Some(c) if c == close => {
                    cursor.pos += 1;
                    return Ok(out);
                }
                _ => {
                    return Err(format!(
                        "expected ',' or '{close}' at offset {} of type {:?}",
                        cursor.pos, cursor.text
                    ))
                }
            }
        }
    }
}

/// The types that take type parameters, with their 2.x class and 3.0+
/// CQL names.
#[derive(Debug, Clone, Copy)]
enum Generic {
    List,
    Set,
    Map,
    Tuple,
    Frozen,
}

const GENERICS: [(&str, &str, Generic); 5] = [
    ("ListType", "list", Generic::List),
    ("SetType", "set", Generic::Set),
    ("MapType", "map", Generic::Map),
    ("TupleType", "tuple", Generic::Tuple),
    ("FrozenType", "frozen", Generic::Frozen),
];

impl Generic {
    fn from_marshal_class(short: &str) -> Option<Self> {
        GENERICS.iter().find(|g| g.0 == short).map(|g| g.2)
    }

    fn from_cql_name(word: &str) -> Option<Self> {
        GENERICS.iter().find(|g| g.1 == word).map(|g| g.2)
    }

    /// The type, from its parsed parameters; `what` names it in errors.
    /// Whatever sits inside a collection or tuple is frozen, said or not.
    fn build(self, params: Vec<CqlType>, what: &str) -> Result<CqlType, String> {
        let exactly_one = |params: Vec<CqlType>| {
            let mut params = params.into_iter();
            match (params.next(), params.next()) {
                (Some(t), None) => Ok(t),
                _ => Err(format!("{what} takes exactly one type parameter")),
            }
        };
        Ok(match self {
            Self::List => CqlType::List {
                element: Box::new(exactly_one(params)?.frozen()),
                frozen: false,
            },
            Self::Set => CqlType::Set {
                element: Box::new(exactly_one(params)?.frozen()),
                frozen: false,
            },
            Self::Map => {
                let [k, v]: [CqlType; 2] = params
                    .try_into()
                    .map_err(|_| format!("{what} takes exactly two type parameters"))?;
                CqlType::Map {
                    key: Box::new(k.frozen()),
                    value: Box::new(v.frozen()),
                    frozen: false,
                }
            }
            // Tuples are always frozen; before 2.1.3 nothing says so.
            Self::Tuple => CqlType::Tuple(params.into_iter().map(CqlType::frozen).collect()),
            Self::Frozen => exactly_one(params)?.frozen(),
        })
    }
}

/// Parser of 2.x marshal type strings.
struct MarshalParser<'a> {
    cursor: Cursor<'a>,
}

impl<'a> TypeParser<'a> for MarshalParser<'a> {
    fn cursor(&mut self) -> &mut Cursor<'a> {
        &mut self.cursor
    }

    fn parse_unbounded(&mut self) -> Result<CqlType, String> {
        let class = self.name().to_owned();
        if class.is_empty() {
            return Err(format!(
                "expected a type name at offset {} of {:?}",
                self.cursor.pos, self.cursor.text
            ));
        }
        let short = short_class(&class);
        if let Some(native) = NativeType::from_marshal_class(short) {
            return Ok(CqlType::Native(native));
        }
        if let Some(generic) = Generic::from_marshal_class(short) {
            let params = self.type_params('(', ')')?;
            return generic.build(params, short);
        }
        match short {
            "UserType" => self.user_type(),
            "ReversedType" => Err(format!(
                "ReversedType nested inside another type: {:?}",
                self.cursor.text
            )),
            _ => {
                // An unknown (custom) class, maybe with parameters: keep
                // the whole text.
                let start = self.cursor.pos - class.len();
                if self.cursor.peek() == Some('(') && !self.cursor.skip_balanced('(', ')') {
                    return Err(format!(
                        "unbalanced parentheses in type {:?}",
                        self.cursor.text
                    ));
                }
                Ok(CqlType::Custom(
                    self.cursor.text[start..self.cursor.pos].to_owned(),
                ))
            }
        }
    }
}

impl<'a> MarshalParser<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            cursor: Cursor::new(text, 0, |c| c == ' '),
        }
    }

    /// A name: everything up to a delimiter.
    fn name(&mut self) -> &str {
        let cursor = &mut self.cursor;
        cursor.skip_spaces();
        let start = cursor.pos;
        while let Some(c) = cursor.peek() {
            if matches!(c, '(' | ')' | ',' | ':' | ' ') {
                break;
            }
            cursor.pos += c.len_utf8();
        }
        &cursor.text[start..cursor.pos]
    }

    fn parse_top(&mut self) -> Result<(CqlType, bool), String> {
        self.cursor.skip_spaces();
        let save = self.cursor.pos;
        let class = self.name().to_owned();
        if short_class(&class) == "ReversedType" {
            self.cursor.expect('(')?;
            let inner = self.parse()?;
            self.cursor.expect(')')?;
            return Ok((inner, true));
        }
        self.cursor.pos = save;
        Ok((self.parse()?, false))
    }

    /// `(ks,hexname,hexfield:type,...)`. UDTs are frozen unless a later
    /// version says otherwise (3.6+ non-frozen UDTs never reach 2.x
    /// schema tables).
    fn user_type(&mut self) -> Result<CqlType, String> {
        self.cursor.expect('(')?;
        let keyspace = self.name().to_owned();
        self.cursor.expect(',')?;
        let name = unhex(self.name())?;
        let mut fields = Vec::new();
        loop {
            self.cursor.skip_spaces();
            match self.cursor.peek() {
                Some(')') => {
                    self.cursor.pos += 1;
                    break;
                }
                Some(',') => {
                    self.cursor.pos += 1;
                    let field = unhex(self.name())?;
                    self.cursor.expect(':')?;
                    fields.push((field, self.parse()?.frozen()));
                }
                _ => {
                    return Err(format!(
                        "malformed UserType at offset {} of {:?}",
                        self.cursor.pos, self.cursor.text
                    ))
                }
            }
        }
        Ok(CqlType::Udt {
            keyspace,
            name,
            fields,
            frozen: true,
        })
    }
}

/// The class name without its package.
fn short_class(class: &str) -> &str {
    class
        .strip_prefix(MARSHAL_PACKAGE)
        .unwrap_or_else(|| class.rsplit('.').next().unwrap_or(class))
}

/// Decodes a hex-encoded UTF-8 name.
fn unhex(hex: &str) -> Result<String, String> {
    if hex.len() % 2 != 0 {
        return Err(format!("odd-length hex name {hex:?}"));
    }
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad hex name {hex:?}"))
        })
        .collect::<Result<Vec<u8>, String>>()?;
    String::from_utf8(bytes).map_err(|_| format!("hex name {hex:?} is not UTF-8"))
}

/// Parser of 3.0+ CQL type strings.
struct CqlParser<'a> {
    cursor: Cursor<'a>,
    keyspace: &'a str,
    udt: &'a UdtLookup<'a>,
}

impl<'a> TypeParser<'a> for CqlParser<'a> {
    fn cursor(&mut self) -> &mut Cursor<'a> {
        &mut self.cursor
    }

    fn parse_unbounded(&mut self) -> Result<CqlType, String> {
        let (word, custom) = self.word()?;
        if custom {
            return Ok(CqlType::Custom(word));
        }
        if let Some(generic) = Generic::from_cql_name(&word) {
            let params = self.type_params('<', '>')?;
            return generic.build(params, &word);
        }
        if word == "vector" {
            // Cassandra 5.0 `vector<type, n>`: kept as an opaque custom
            // type (compared by its text), as far as it goes.
            let start = self.cursor.pos;
            self.cursor.skip_balanced('<', '>');
            return Ok(CqlType::Custom(format!(
                "vector{}",
                self.cursor.text[start..self.cursor.pos].replace(' ', "")
            )));
        }
        if let Some(native) = NativeType::from_cql_name(&word) {
            return Ok(CqlType::Native(native));
        }
        self.user_type(&word)
    }
}

impl<'a> CqlParser<'a> {
    fn new(text: &'a str, depth: usize, keyspace: &'a str, udt: &'a UdtLookup<'a>) -> Self {
        Self {
            cursor: Cursor::new(text, depth, char::is_whitespace),
            keyspace,
            udt,
        }
    }

    /// An identifier, unquoted (lowercased as CQL does) or double-quoted,
    /// or a single-quoted custom class; returns (text, was it single-quoted).
    fn word(&mut self) -> Result<(String, bool), String> {
        let cursor = &mut self.cursor;
        cursor.skip_spaces();
        match cursor.peek() {
            Some(q @ ('"' | '\'')) => {
                cursor.pos += 1;
                let mut out = String::new();
                loop {
                    let c = cursor
                        .peek()
                        .ok_or_else(|| format!("unterminated quote in type {:?}", cursor.text))?;
                    cursor.pos += c.len_utf8();
                    if c == q {
                        if cursor.peek() == Some(q) {
                            cursor.pos += 1;
                            out.push(q);
                        } else {
                            return Ok((out, q == '\''));
                        }
                    } else {
                        out.push(c);
                    }
                }
            }
            _ => {
                let start = cursor.pos;
                while let Some(c) = cursor.peek() {
                    if c.is_alphanumeric() || c == '_' || c == '.' {
                        cursor.pos += c.len_utf8();
                    } else {
                        break;
                    }
                }
                if start == cursor.pos {
                    return Err(format!(
                        "expected a type name at offset {start} of {:?}",
                        cursor.text
                    ));
                }
                Ok((cursor.text[start..cursor.pos].to_ascii_lowercase(), false))
            }
        }
    }

    fn user_type(&mut self, name: &str) -> Result<CqlType, String> {
        // `ks.name` or `name` (in the table's keyspace).
        let (keyspace, bare) = match name.split_once('.') {
            Some((ks, n)) => (ks.to_owned(), n.to_owned()),
            None => (self.keyspace.to_owned(), name.to_owned()),
        };
        let fields = (self.udt)(&bare).ok_or_else(|| {
            format!(
                "unknown type {name:?} in {:?} (not a CQL type, not a user type of keyspace {keyspace})",
                self.cursor.text
            )
        })?;
        let mut parsed = Vec::with_capacity(fields.len());
        for (field, ty) in fields {
            let mut inner = CqlParser::new(&ty, self.cursor.depth, self.keyspace, self.udt);
            let t = inner.parse()?;
            parsed.push((field, t));
        }
        Ok(CqlType::Udt {
            keyspace,
            name: bare,
            fields: parsed,
            frozen: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: &str = "org.apache.cassandra.db.marshal.";

    fn marshal(s: &str) -> (CqlType, bool) {
        CqlType::parse_marshal(&s.replace("M.", M)).unwrap()
    }

    fn no_udts(_: &str) -> Option<Vec<(String, String)>> {
        None
    }

    #[test]
    fn natives_parse_from_both_layouts() {
        let pairs = [
            ("AsciiType", "ascii"),
            ("LongType", "bigint"),
            ("BytesType", "blob"),
            ("BooleanType", "boolean"),
            ("CounterColumnType", "counter"),
            ("DecimalType", "decimal"),
            ("DoubleType", "double"),
            ("FloatType", "float"),
            ("InetAddressType", "inet"),
            ("Int32Type", "int"),
            ("UTF8Type", "text"),
            ("UTF8Type", "varchar"),
            ("TimestampType", "timestamp"),
            ("DateType", "timestamp"),
            ("TimeUUIDType", "timeuuid"),
            ("UUIDType", "uuid"),
            ("IntegerType", "varint"),
            ("SimpleDateType", "date"),
            ("TimeType", "time"),
            ("ShortType", "smallint"),
            ("ByteType", "tinyint"),
            ("DurationType", "duration"),
        ];
        for (class, cql) in pairs {
            let (legacy, reversed) = marshal(&format!("M.{class}"));
            assert!(!reversed);
            let modern = CqlType::parse_cql(cql, "ks", &no_udts).unwrap();
            assert_eq!(legacy, modern, "{class} vs {cql}");
        }
    }

    #[test]
    fn reversed_and_collections() {
        let (t, reversed) = marshal("M.ReversedType(M.TimeUUIDType)");
        assert!(reversed);
        assert_eq!(t, CqlType::Native(NativeType::Timeuuid));
        let (t, _) = marshal("M.ListType(M.Int32Type)");
        assert!(t.is_multi_cell_list());
        assert_eq!(t.to_string(), "list<int>");
        let (t, _) = marshal("M.FrozenType(M.MapType(M.UTF8Type,M.SetType(M.Int32Type)))");
        assert!(!t.is_multi_cell_collection());
        assert_eq!(t.to_string(), "frozen<map<text, frozen<set<int>>>>");
        let modern =
            CqlType::parse_cql("frozen<map<text, frozen<set<int>>>>", "ks", &no_udts).unwrap();
        assert_eq!(t, modern);
        // Inside frozen, inner frozen<> is implied.
        let implied = CqlType::parse_cql("frozen<map<text, set<int>>>", "ks", &no_udts).unwrap();
        assert_eq!(t, implied);
        assert_ne!(
            CqlType::parse_cql("list<int>", "ks", &no_udts).unwrap(),
            CqlType::parse_cql("frozen<list<int>>", "ks", &no_udts).unwrap()
        );
    }

    #[test]
    fn user_types_and_tuples_from_both_layouts() {
        let legacy_udt = "M.UserType(ks,61646472,737472656574:M.UTF8Type,4e756d:M.Int32Type)";
        let (legacy, _) = marshal(legacy_udt);
        let lookup = |name: &str| {
            (name == "addr").then(|| {
                vec![
                    ("street".to_owned(), "text".to_owned()),
                    ("Num".to_owned(), "int".to_owned()),
                ]
            })
        };
        let modern = CqlType::parse_cql("frozen<addr>", "ks", &lookup).unwrap();
        assert_eq!(legacy, modern);
        assert_eq!(modern.to_string(), "frozen<ks.addr>");
        assert!(CqlType::parse_cql("frozen<nope>", "ks", &lookup)
            .unwrap_err()
            .contains("nope"));

        let (tuple, _) = marshal(&format!("M.TupleType(M.Int32Type,{legacy_udt})"));
        let modern_tuple =
            CqlType::parse_cql("frozen<tuple<int, frozen<addr>>>", "ks", &lookup).unwrap();
        assert_eq!(tuple, modern_tuple);
        let (list_of_udt, _) = marshal(&format!("M.ListType({legacy_udt})"));
        assert_eq!(
            list_of_udt,
            CqlType::parse_cql("list<frozen<addr>>", "ks", &lookup).unwrap()
        );
        // 3.6+ non-frozen UDT differs from the frozen one.
        assert_ne!(
            CqlType::parse_cql("addr", "ks", &lookup).unwrap(),
            modern,
            "frozen matters"
        );
    }

    #[test]
    fn custom_types_are_kept_whole() {
        let (t, _) = marshal("org.example.MyType(M.Int32Type)");
        assert_eq!(
            t,
            CqlType::Custom(format!("org.example.MyType({M}Int32Type)"))
        );
        assert_eq!(
            CqlType::parse_cql("'org.example.MyType'", "ks", &no_udts).unwrap(),
            CqlType::Custom("org.example.MyType".into())
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bad in [
            "",
            "M.ListType(",
            "M.MapType(M.Int32Type)",
            "M.ListType(M.Int32Type))",
            "M.UserType(ks,zz)",
            "M.ListType(M.ReversedType(M.Int32Type))",
        ] {
            assert!(
                CqlType::parse_marshal(&bad.replace("M.", M)).is_err(),
                "{bad}"
            );
        }
        for bad in ["", "list<", "map<int>", "frozen<>", "list<int", "\"x"] {
            assert!(CqlType::parse_cql(bad, "ks", &no_udts).is_err(), "{bad}");
        }
        let deep = "list<".repeat(100) + "int" + &">".repeat(100);
        assert!(CqlType::parse_cql(&deep, "ks", &no_udts).is_err());
    }
}
