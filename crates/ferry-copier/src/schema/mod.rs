//! Table schemas: reading them from either schema layout, parsing column
//! types, and checking that a target table can receive a source table's
//! rows.

mod compat;
mod read;
mod table;
mod types;

pub use compat::check_compatible;
pub use read::SchemaReader;
pub use table::{quote, ColumnDef, ColumnKind, TableSchema};
pub use types::{CqlType, NativeType, UdtLookup};
