//! Test support for Ferry (see the crate description).
