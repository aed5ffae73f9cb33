//! Locating the repository, whose `.nodes/` and `scripts/` the harness uses.

use std::path::{Path, PathBuf};

/// The root of the Ferry repository.
///
/// `$FERRY_ROOT` if set (to use nodes started from another checkout),
/// otherwise the workspace this crate was built in.
///
/// ```
/// let root = ferry_testkit::workspace_root();
/// assert!(root.join("scripts/cassandra-nodes.sh").exists());
/// ```
pub fn workspace_root() -> PathBuf {
    if let Some(root) = std::env::var_os("FERRY_ROOT") {
        return PathBuf::from(root);
    }
    // crates/ferry-testkit -> repository root.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}
