//! Test support for Ferry (see the crate description).

pub mod fake_server;
