//! CQL types and values.

mod column_type;

pub use column_type::{ColumnType, MAX_TYPE_DEPTH};
