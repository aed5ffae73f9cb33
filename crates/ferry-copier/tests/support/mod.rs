//! Shared helpers of the real-node copier tests: sessions to the node
//! groups, DDL, and keyspaces dropped at the end of each test.

#![allow(dead_code)]

use ferry_conn::session::{QueryOptions, Row, Session};
use ferry_testkit::{unique_keyspace_name, NodeGroup};
use ferry_wire::types::CqlValue;
use ferry_wire::Consistency;
use futures::{StreamExt, TryStreamExt};

/// A session to every node of `group` (contact: the first node).
pub async fn session(group: &str) -> Session {
    let nodes = NodeGroup::require(group);
    Session::connect(session_config(&nodes))
        .await
        .unwrap_or_else(|e| panic!("cannot connect to group {group}: {e}"))
}

/// The session configuration for `nodes`.
pub use ferry_testkit::session::session_config;

/// Runs a statement (DDL or DML) at consistency ALL, panicking on error.
pub use ferry_testkit::session::exec_all as exec;

/// Every row of a query.
pub async fn rows(session: &Session, cql: &str) -> Vec<Row> {
    session
        .query_stream(
            cql,
            (),
            QueryOptions::new()
                .with_consistency(Consistency::All)
                .with_page_size(1000),
        )
        .try_collect()
        .await
        .unwrap_or_else(|e| panic!("{cql}: {e}"))
}

/// A keyspace created on several clusters under one unique name; dropped
/// when the guard goes away (also after a failed test), through the
/// testkit's synchronous CQL runner so no async runtime is needed.
pub struct Keyspace {
    /// Its name.
    pub name: String,
    groups: Vec<String>,
    sessions: Vec<Session>,
}

impl Keyspace {
    /// Creates the keyspace with replication factor `rf` (at most the
    /// group's node count) on each of `groups` (sessions to them in the
    /// same order).
    pub async fn create(test: &str, groups: &[(&str, &Session)], rf: usize) -> Keyspace {
        let name = unique_keyspace_name(test);
        for (group, s) in groups {
            let rf = rf.min(NodeGroup::require(group).nodes.len()).max(1);
            exec(
                s,
                &format!(
                    "CREATE KEYSPACE {name} WITH replication = \
                     {{'class': 'SimpleStrategy', 'replication_factor': {rf}}}"
                ),
            )
            .await;
        }
        Keyspace {
            name,
            groups: groups.iter().map(|(g, _)| (*g).to_owned()).collect(),
            sessions: groups.iter().map(|(_, s)| (*s).clone()).collect(),
        }
    }

    /// Runs DDL on every cluster (the same table on source and target).
    pub async fn ddl_all(&self, cql: &str) {
        for s in &self.sessions {
            exec(s, cql).await;
        }
    }
}

impl Drop for Keyspace {
    fn drop(&mut self) {
        for group in &self.groups {
            if let Ok(nodes) = NodeGroup::load(group) {
                let _ = nodes.cql_exec(
                    nodes.first(),
                    &[&format!("DROP KEYSPACE IF EXISTS {}", self.name)],
                );
            }
        }
    }
}

/// A text value.
pub fn text(s: &str) -> CqlValue {
    CqlValue::from(s.to_owned())
}

/// A fresh directory for one test's files (progress, summaries).
pub fn temp_dir(test: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(unique_keyspace_name(test));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Copy options for tests: the keyspace, tables, a progress file in a
/// fresh temp dir, consistency ONE (single-node clusters).
pub fn copy_options(test: &str, keyspace: &str, tables: &[&str]) -> ferry_copier::CopyOptions {
    let mut options = ferry_copier::CopyOptions::new(keyspace);
    options.tables = tables.iter().map(|t| (*t).to_owned()).collect();
    options.progress_file = temp_dir(test).join("progress.jsonl");
    options.read_consistency = Consistency::One;
    options.write_consistency = Consistency::One;
    options
}

/// Runs a copy to its end.
pub async fn run_copy(
    source: &Session,
    target: &Session,
    options: &ferry_copier::CopyOptions,
) -> ferry_copier::CopySummary {
    ferry_copier::copy(source, target, options, ferry_copier::CopyControl::new())
        .await
        .unwrap_or_else(|e| panic!("copy failed to start: {e}"))
}

/// Every row of `ks.table` on both clusters, keyed by primary key (its
/// values' debug text) and compared row by row: same keys, same values.
pub async fn assert_same_rows(
    source: &Session,
    target: &Session,
    ks: &str,
    table: &str,
    key_len: usize,
) -> usize {
    let cql = format!("SELECT * FROM {ks}.\"{table}\"");
    let keyed = |rows: Vec<Row>| {
        let mut map = std::collections::BTreeMap::new();
        for row in rows {
            let key = format!("{:?}", &row.values()[..key_len]);
            let names: Vec<String> = row.columns().iter().map(|c| c.name.clone()).collect();
            assert!(
                map.insert(key, (names, row.into_values())).is_none(),
                "duplicate key"
            );
        }
        map
    };
    let s = keyed(rows(source, &cql).await);
    let t = keyed(rows(target, &cql).await);
    for (key, (names, values)) in &s {
        let Some((tnames, tvalues)) = t.get(key) else {
            panic!("{ks}.{table}: row {key} missing on the target");
        };
        assert_eq!(names, tnames, "column order");
        for ((name, a), b) in names.iter().zip(values).zip(tvalues) {
            assert_eq!(a, b, "{ks}.{table} row {key} column {name}");
        }
    }
    for key in t.keys() {
        assert!(
            s.contains_key(key),
            "{ks}.{table}: row {key} on the target only"
        );
    }
    s.len()
}

/// Sessions to the `source` and `target` groups and a keyspace (RF 1)
/// created on both under a unique name from `test`: the start of most
/// copy tests.
pub async fn source_and_target(test: &str) -> (Session, Session, Keyspace) {
    groups_and_keyspace(test, "source", "target", 1).await
}

/// Sessions to groups `source` and `target` and a keyspace with
/// replication factor `rf` created on both under a unique name from `test`.
pub async fn groups_and_keyspace(
    test: &str,
    source: &str,
    target: &str,
    rf: usize,
) -> (Session, Session, Keyspace) {
    let source_session = session(source).await;
    let target_session = session(target).await;
    let ks = Keyspace::create(
        test,
        &[(source, &source_session), (target, &target_session)],
        rf,
    )
    .await;
    (source_session, target_session, ks)
}

/// Runs `cql(i)` for every `i` in `0..n` on `session`, 32 at a time.
pub async fn fill(session: &Session, cql: impl Fn(u32) -> String, n: u32) {
    futures::stream::iter(0..n)
        .map(|i| {
            let cql = cql(i);
            async move { exec(session, &cql).await }
        })
        .buffer_unordered(32)
        .collect::<Vec<()>>()
        .await;
}

/// Fails the test, showing the whole summary, unless the copy completed.
pub fn assert_complete(summary: &ferry_copier::CopySummary) {
    assert_eq!(
        summary.status,
        ferry_copier::CopyStatus::Complete,
        "{}",
        summary.to_text()
    );
}

/// Creates `t (k int PRIMARY KEY, v int)` in `ks` on every cluster and
/// fills it on `source` with `n` rows k = v = 0..n.
pub async fn int_table_t(ks: &Keyspace, source: &Session, n: u32) {
    let name = &ks.name;
    ks.ddl_all(&format!("CREATE TABLE {name}.t (k int PRIMARY KEY, v int)"))
        .await;
    fill(
        source,
        |i| format!("INSERT INTO {name}.t (k, v) VALUES ({i}, {i})"),
        n,
    )
    .await;
}

/// Creates `t (k int, c int, v text, l list<int>, PRIMARY KEY (k, c))` in
/// `ks` on every cluster and fills it on `source` with `n` rows, five per
/// partition (k = i / 5, c = i % 5, v = 'value i', l = [i, i]).
pub async fn list_table_t(ks: &Keyspace, source: &Session, n: u32) {
    let name = &ks.name;
    ks.ddl_all(&format!(
        "CREATE TABLE {name}.t (k int, c int, v text, l list<int>, PRIMARY KEY (k, c))"
    ))
    .await;
    fill(
        source,
        |i| {
            format!(
                "INSERT INTO {name}.t (k, c, v, l) VALUES ({}, {}, 'value {i}', [{i}, {i}])",
                i / 5,
                i % 5
            )
        },
        n,
    )
    .await;
}
