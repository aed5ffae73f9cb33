//! Running CQL against real nodes: a STOPGAP through Python.
//!
//! Ferry has no Rust CQL client yet (that will be ferry-conn). Until it does,
//! tests that need to create keyspaces or look at data run CQL through
//! `scripts/lib/cql.py`, which uses the DataStax Python driver pinned to
//! native protocol v3. Replace the body of this module with ferry-conn calls
//! once it exists; its API is meant to survive that change.
//!
//! These functions block (they wait for a child process). From async tests,
//! call them inside `tokio::task::spawn_blocking`.

use std::io::Write;
use std::net::SocketAddr;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::keyspace::unique_keyspace_name;
use crate::node_group::{Node, NodeGroup};
use crate::workspace::workspace_root;

/// The result of one CQL statement: column names and rows (empty for
/// statements that return no rows). Values are JSON as written by cql.py:
/// numbers, strings, booleans, null; UUIDs, decimals and dates as strings;
/// blobs as `"0x…"`; collections as arrays (maps as arrays of pairs).
///
/// ```
/// use ferry_testkit::CqlRows;
/// let rows = CqlRows { columns: vec!["k".into()], rows: vec![vec![serde_json::json!(1)]] };
/// assert_eq!(rows.column("k"), vec![&serde_json::json!(1)]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CqlRows {
    /// Column names, in result order.
    pub columns: Vec<String>,
    /// Rows; each has one value per column.
    pub rows: Vec<Vec<Value>>,
}

impl CqlRows {
    /// Every row's value in the column `name` (empty if there is no such column).
    pub fn column(&self, name: &str) -> Vec<&Value> {
        match self.columns.iter().position(|c| c == name) {
            Some(i) => self.rows.iter().filter_map(|r| r.get(i)).collect(),
            None => Vec::new(),
        }
    }
}

/// Why [`NodeGroup::cql_exec`] failed.
#[derive(Debug, thiserror::Error)]
pub enum CqlExecError {
    /// python3 could not be started.
    #[error("cannot run {python}: {source}")]
    Spawn {
        /// The interpreter tried.
        python: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// cql.py failed: connection, login, or a statement was rejected.
    #[error("cql.py failed ({status}): {stderr}")]
    Failed {
        /// Its exit status.
        status: String,
        /// What it printed on stderr (the driver's error message).
        stderr: String,
    },
    /// cql.py printed something that is not the expected JSON.
    #[error("unexpected output from cql.py: {0}")]
    BadOutput(String),
}

impl NodeGroup {
    /// Runs `statements` in order on `node` (one connection, only to that
    /// node) with the group's credentials and TLS settings, and returns one
    /// [`CqlRows`] per statement. Stops at the first failing statement.
    ///
    /// STOPGAP: goes through python3 + cassandra-driver; see the module docs.
    pub fn cql_exec(&self, node: &Node, statements: &[&str]) -> Result<Vec<CqlRows>, CqlExecError> {
        self.cql_exec_at(node.socket_addr(), statements)
    }

    /// Like [`NodeGroup::cql_exec`], but connects to `addr` (for example a
    /// [`crate::RecordingRelay`] in front of a node) with the group's
    /// credentials and TLS settings.
    pub fn cql_exec_at(
        &self,
        addr: SocketAddr,
        statements: &[&str],
    ) -> Result<Vec<CqlRows>, CqlExecError> {
        let script = workspace_root().join("scripts/lib/cql.py");
        let mut cmd = Command::new(&self.python);
        cmd.arg(script)
            .arg("--host")
            .arg(addr.ip().to_string())
            .arg("--port")
            .arg(addr.port().to_string())
            .arg("--protocol-version")
            .arg(self.protocol_version.to_string());
        if let Some(c) = &self.credentials {
            cmd.arg("--username")
                .arg(&c.username)
                .arg("--password")
                .arg(&c.password);
        }
        if let Some(ca) = &self.tls_ca {
            cmd.arg("--ca-cert").arg(ca);
        }
        run(cmd, &self.python.display().to_string(), statements)
    }

    /// Creates a fresh keyspace for `test` (see [`unique_keyspace_name`]) with
    /// SimpleStrategy and a replication factor of min(3, nodes), and returns
    /// its name.
    ///
    /// # Panics
    /// If the keyspace cannot be created (test-only helper).
    pub fn create_test_keyspace(&self, test: &str) -> String {
        let name = unique_keyspace_name(test);
        let rf = self.nodes.len().clamp(1, 3);
        let statement = format!(
            "CREATE KEYSPACE {name} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': {rf}}}"
        );
        if let Err(e) = self.cql_exec(self.first(), &[&statement]) {
            panic!("cannot create keyspace {name} on group {}: {e}", self.name);
        }
        name
    }
}

fn run(mut cmd: Command, python: &str, statements: &[&str]) -> Result<Vec<CqlRows>, CqlExecError> {
    let input =
        serde_json::to_vec(statements).map_err(|e| CqlExecError::BadOutput(e.to_string()))?;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| CqlExecError::Spawn {
            python: python.to_string(),
            source,
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        // A write error means the child died early; its stderr says why.
        let _ = stdin.write_all(&input);
    }
    let output = child
        .wait_with_output()
        .map_err(|source| CqlExecError::Spawn {
            python: python.to_string(),
            source,
        })?;
    if !output.status.success() {
        return Err(CqlExecError::Failed {
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    parse_output(&output.stdout)
}

/// Parses cql.py's `{"results": [{"columns": [...], "rows": [[...]]}]}`.
fn parse_output(stdout: &[u8]) -> Result<Vec<CqlRows>, CqlExecError> {
    let bad = || CqlExecError::BadOutput(String::from_utf8_lossy(stdout).into_owned());
    let value: Value = serde_json::from_slice(stdout).map_err(|_| bad())?;
    let results = value
        .get("results")
        .and_then(Value::as_array)
        .ok_or_else(bad)?;
    results
        .iter()
        .map(|r| {
            let columns = r
                .get("columns")
                .and_then(Value::as_array)
                .ok_or_else(bad)?
                .iter()
                .map(|c| c.as_str().map(str::to_string).ok_or_else(bad))
                .collect::<Result<Vec<_>, _>>()?;
            let rows = r
                .get("rows")
                .and_then(Value::as_array)
                .ok_or_else(bad)?
                .iter()
                .map(|row| row.as_array().cloned().ok_or_else(bad))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(CqlRows { columns, rows })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_results() {
        let out = br#"{"results": [{"columns": [], "rows": []}, {"columns": ["a", "b"], "rows": [[1, "x"], [2, null]]}]}"#;
        let results = parse_output(out).unwrap();
        assert_eq!(results.len(), 2);
        assert!(results[0].rows.is_empty());
        assert_eq!(results[1].column("a"), vec![&json!(1), &json!(2)]);
        assert_eq!(results[1].column("b"), vec![&json!("x"), &Value::Null]);
        assert!(results[1].column("c").is_empty());
    }

    #[test]
    fn rejects_unexpected_output() {
        for out in [
            &b"not json"[..],
            b"{}",
            br#"{"results": [{"columns": [1], "rows": []}]}"#,
        ] {
            assert!(matches!(parse_output(out), Err(CqlExecError::BadOutput(_))));
        }
    }
}
