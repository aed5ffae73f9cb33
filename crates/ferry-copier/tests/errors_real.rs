//! Bad input against real Cassandra 2.1 clusters: each refused before
//! anything is written, with an error naming what is wrong.

mod support;

use ferry_copier::{copy, CopyControl, CopyError, Side};
use support::{copy_options, exec, rows};

async fn copy_error(
    source: &ferry_conn::session::Session,
    target: &ferry_conn::session::Session,
    options: &ferry_copier::CopyOptions,
) -> CopyError {
    let e = copy(source, target, options, CopyControl::new())
        .await
        .expect_err("the copy must be refused");
    assert!(
        !options.progress_file.exists(),
        "no progress file for a refused copy: {e}"
    );
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_keyspaces_and_tables_are_named() {
    let (source, target, ks) = support::source_and_target("errors_unknown").await;
    let name = ks.name.clone();
    exec(
        &source,
        &format!("CREATE TABLE {name}.only_on_source (k int PRIMARY KEY, v int)"),
    )
    .await;

    let options = copy_options("errors_unknown", &name, &["nope"]);
    let e = copy_error(&source, &target, &options).await;
    assert_eq!(
        e.to_string(),
        format!("table {name}.nope does not exist on the source cluster")
    );

    let options = copy_options("errors_unknown", &name, &["only_on_source"]);
    let e = copy_error(&source, &target, &options).await;
    assert!(matches!(
        e,
        CopyError::UnknownTable {
            side: Side::Target,
            ..
        }
    ));
    assert_eq!(
        e.to_string(),
        format!("table {name}.only_on_source does not exist on the target cluster")
    );

    let options = copy_options("errors_unknown", "no_such_ks_for_ferry", &[]);
    let e = copy_error(&source, &target, &options).await;
    assert_eq!(
        e.to_string(),
        "keyspace no_such_ks_for_ferry does not exist on the source cluster"
    );

    // The whole (empty) keyspace.
    exec(&source, &format!("DROP TABLE {name}.only_on_source")).await;
    let options = copy_options("errors_unknown", &name, &[]);
    let e = copy_error(&source, &target, &options).await;
    assert_eq!(
        e.to_string(),
        format!("keyspace {name} on the source cluster has no tables")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_mismatches_and_counter_tables_are_refused() {
    let (source, target, ks) = support::source_and_target("errors_schema").await;
    let name = ks.name.clone();
    exec(
        &source,
        &format!("CREATE TABLE {name}.t (k int, c int, v text, s int static, PRIMARY KEY (k, c))"),
    )
    .await;
    exec(
        &target,
        &format!("CREATE TABLE {name}.t (k int, c int, v blob, s int static, PRIMARY KEY (k, c))"),
    )
    .await;
    exec(
        &source,
        &format!("INSERT INTO {name}.t (k, c, v) VALUES (1, 1, 'x')"),
    )
    .await;
    let options = copy_options("errors_schema", &name, &["t"]);
    let e = copy_error(&source, &target, &options).await;
    assert_eq!(
        e.to_string(),
        format!("column \"v\" of {name}.t is text on the source but blob on the target")
    );

    exec(
        &target,
        &format!("CREATE TABLE {name}.keys (k int, c int, v text, PRIMARY KEY (k, c))"),
    )
    .await;
    exec(
        &source,
        &format!("CREATE TABLE {name}.keys (k int, c int, v text, PRIMARY KEY ((k, c)))"),
    )
    .await;
    let options = copy_options("errors_schema", &name, &["keys"]);
    let e = copy_error(&source, &target, &options).await.to_string();
    assert_eq!(
        e,
        format!("{name}.keys: the partition key differs: (k, c) on the source, (k) on the target")
    );

    ks.ddl_all(&format!(
        "CREATE TABLE {name}.hits (k int PRIMARY KEY, n counter)"
    ))
    .await;
    let options = copy_options("errors_schema", &name, &["hits"]);
    let e = copy_error(&source, &target, &options).await;
    assert!(
        matches!(e, CopyError::CounterTable { ref column, .. } if column == "n"),
        "{e}"
    );
    assert!(
        e.to_string()
            .starts_with(&format!("{name}.hits is a counter table (column \"n\")")),
        "{e}"
    );

    // Nothing was written.
    assert!(rows(&target, &format!("SELECT * FROM {name}.t"))
        .await
        .is_empty());
}
