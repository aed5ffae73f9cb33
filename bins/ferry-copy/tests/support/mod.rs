//! Helpers of the `ferry-copy` command's tests: the copier crate's real-node
//! helpers (sessions, keyspaces, filled tables), plus the command-line
//! arguments every real-node run of the binary shares.

// Each test binary uses a subset of these helpers.
#![allow(dead_code)]

#[path = "../../../../crates/ferry-copier/tests/support/mod.rs"]
mod copier;

pub use copier::*;

/// The arguments of a copy of table `t` of keyspace `keyspace` from the
/// `source` group (127.0.0.8) to the `target` group (127.0.0.9), plain
/// text, consistency ONE both ways, in `splits` ranges. Tests append the
/// progress and scale-out flags they exercise.
pub fn copy_args<'a>(keyspace: &'a str, splits: &'a str) -> Vec<&'a str> {
    vec![
        "--source",
        "127.0.0.8",
        "--target",
        "127.0.0.9",
        "--disable-source-tls",
        "--disable-target-tls",
        "--keyspace",
        keyspace,
        "--table",
        "t",
        "--consistency-read",
        "ONE",
        "--consistency-write",
        "ONE",
        "--splits",
        splits,
    ]
}
