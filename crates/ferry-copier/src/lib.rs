//! # ferry-copier
//!
//! The historical part of a live migration: copies every existing row of
//! one or more tables from a source cluster to a target cluster while a
//! dual-writing proxy sends new writes to both.

pub mod error;
pub mod schema;

pub use error::{CopyError, Side};
