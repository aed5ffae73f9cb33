//! Table metadata read from a cluster's schema tables: which columns a
//! table has, their roles (partition key, clustering, static, regular) and
//! their CQL types, on both schema layouts (`system.schema_*` of Cassandra
//! 2.x, `system_schema.*` of 3.0+).
//!
//! Tools that read or write whole tables (the bulk copier, the validator)
//! share this: [`SchemaReader`] lists a keyspace's tables and reads a
//! [`TableSchema`]; [`CqlType`] parses both layouts' type strings into one
//! representation, so a 2.1 source and a 4.0 target can be compared, and
//! converts to the wire's [`ColumnType`](ferry_wire::types::ColumnType) to
//! decode cells.
//!
//! ```no_run
//! # async fn demo(session: &ferry_conn::Session) -> Result<(), ferry_conn::schema::SchemaError> {
//! use ferry_conn::schema::SchemaReader;
//! let schema = SchemaReader::new(session).table("shop", "orders").await?;
//! for column in schema.primary_key() {
//!     println!("{} {}", column.name, column.ty);
//! }
//! # Ok(()) }
//! ```

mod error;
mod read;
mod table;
mod types;

pub use error::SchemaError;
pub use read::SchemaReader;
pub use table::{quote, ColumnDef, ColumnKind, TableSchema};
pub use types::{CqlType, NativeType, UdtLookup};
