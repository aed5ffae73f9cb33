//! Helpers shared by the `ferry-validate` binary's real-node tests: schema
//! on both clusters, a directory for report files, clean-up that runs even
//! when the test body panics, and readable output of a run.

// Each test binary uses a subset of these helpers.
#![allow(dead_code)]

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Output;

use ferry_conn::session::{QueryOptions, Session};
use ferry_wire::Consistency;

/// Runs DDL (or any statement) at consistency ALL; panics with the
/// statement on error.
pub use ferry_testkit::session::exec_all as ddl;

/// Creates `keyspace` (SimpleStrategy, RF 1) and its table
/// `t (<columns>)` on both sessions.
pub async fn create_keyspace_and_table(sessions: [&Session; 2], keyspace: &str, columns: &str) {
    for session in sessions {
        ddl(session, &format!("CREATE KEYSPACE {keyspace} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}")).await;
        ddl(session, &format!("CREATE TABLE {keyspace}.t ({columns})")).await;
    }
}

/// A directory for the test's files (reports, configs), named after its
/// unique keyspace.
pub fn test_dir(keyspace: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(keyspace);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Drops `keyspace` on both sessions and removes `dir`.
pub async fn drop_keyspace_and_dir(sessions: [&Session; 2], keyspace: &str, dir: &Path) {
    for session in sessions {
        ddl(session, &format!("DROP KEYSPACE {keyspace}")).await;
    }
    std::fs::remove_dir_all(dir).ok();
}

/// Runs `body` as a task, then `cleanup`, then fails the test with the
/// body's panic if it had one: the keyspaces are dropped even when an
/// assertion fails.
pub async fn run_then_clean_up(
    body: impl Future<Output = ()> + Send + 'static,
    cleanup: impl Future<Output = ()>,
) {
    let outcome = tokio::spawn(body).await;
    cleanup.await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// A run's stdout and stderr, for assertion messages.
pub fn text(o: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A run's stderr.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A JSON file (a report).
pub fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Runs `cql` with bound `values` at consistency ALL; panics with the
/// statement on error.
pub async fn write(session: &Session, cql: &str, values: Vec<ferry_wire::types::CqlValue>) {
    session
        .query(
            cql,
            values,
            QueryOptions::new().with_consistency(Consistency::All),
        )
        .await
        .unwrap_or_else(|e| panic!("{cql}: {e}"));
}

/// Two clusters with the test's keyspace and its table `t` on both, the
/// addresses the binary is given, and a directory for the test's files.
pub struct Clusters {
    /// Session to the source cluster.
    pub source: Session,
    /// Session to the target cluster.
    pub target: Session,
    /// The source's address, as passed to `--source`.
    pub source_addr: String,
    /// The target's address, as passed to `--target`.
    pub target_addr: String,
    /// The test's keyspace (on both clusters).
    pub keyspace: String,
    /// The test's directory ([`test_dir`]).
    pub dir: PathBuf,
}

impl Clusters {
    /// Creates a unique keyspace named after `test` and its table
    /// `t (<columns>)` on both clusters.
    pub async fn create(
        test: &str,
        (source, source_addr): (Session, String),
        (target, target_addr): (Session, String),
        columns: &str,
    ) -> Clusters {
        let keyspace = ferry_testkit::unique_keyspace_name(test);
        create_keyspace_and_table([&source, &target], &keyspace, columns).await;
        let dir = test_dir(&keyspace);
        Clusters {
            source,
            target,
            source_addr,
            target_addr,
            keyspace,
            dir,
        }
    }

    /// Drops the keyspace on both clusters and removes the directory.
    pub async fn teardown(&self) {
        drop_keyspace_and_dir([&self.source, &self.target], &self.keyspace, &self.dir).await;
    }
}
