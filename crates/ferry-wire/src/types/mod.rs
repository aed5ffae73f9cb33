//! CQL types and values.
//!
//! [`ColumnType`] is a type as the protocol describes it; [`CqlValue`] is a
//! value of any of those types, decoded from or encoded into a cell's bytes
//! for protocol v2 to v5, and renderable as a CQL literal.

mod column_type;
pub mod date_time;
mod decimal;
mod decode;
mod duration;
mod encode;
mod layout;
mod literal;
mod text;
mod value;
mod varint;

pub use column_type::{ColumnType, MAX_TYPE_DEPTH};
pub use decimal::Decimal;
pub use decode::{decode_cell, decode_cell_in};
pub use duration::CqlDuration;
pub use encode::encode_cell;
pub use text::CqlText;
pub use value::CqlValue;
pub use varint::{Varint, VarintOverflow};
