//! # ferry-router
//!
//! The routing layer of Ferry's dual-write proxy: it will sit between
//! clients and two clusters (source and target), forward reads to one and
//! writes to both, and keep the writes identical. The router itself (on top
//! of `ferry-wire`'s frame peeking and `ferry-conn`'s connections) comes
//! later.
//!
//! For now the crate holds what the router needs to decide, per QUERY or
//! PREPARE, what a statement is: the [`cql`] module, a CQL lexer and
//! statement classifier (read or write, keyspace and table, lightweight
//! transaction, counter update, `USING TIMESTAMP`, calls to `now()` and
//! `uuid()`), and the rewriting of those calls so both clusters get the same
//! values.
//!
//! ```
//! use ferry_router::cql::classify;
//! let info = classify("INSERT INTO ks.users (id, name) VALUES (?, ?)");
//! assert!(info.is_write);
//! assert!(info.may_add_timestamp());
//! ```
#![forbid(unsafe_code)]

pub mod cql;
