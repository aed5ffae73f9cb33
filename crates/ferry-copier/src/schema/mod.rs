//! Table schemas: reading them (the shared reader of
//! [`ferry_conn::schema`], with the copy's side named in errors) and
//! checking that a target table can receive a source table's rows.

mod compat;
mod read;

pub use compat::check_compatible;
pub use ferry_conn::schema::{
    quote, ColumnDef, ColumnKind, CqlType, NativeType, TableSchema, UdtLookup,
};
pub use read::SchemaReader;
