//! Shared fixtures and measured work for the `wire` benchmark, which runs
//! ferry-wire and scylla-cql on the same input in one process.
//!
//! Each module builds its input once, exposes the exact function each
//! library runs inside the timed loop, and a `verify` that checks (outside
//! the loop) that both libraries did the same work with the same result.

pub mod cpu_clock;
pub mod paired;
pub mod requests;
pub mod rows;
pub mod segments;
