//! Filters and renames against real Cassandra 2.1 nodes: a token
//! sub-range, a writetime window, a column subset, a renamed target table
//! and renamed columns, and the schema errors they can cause.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use ferry_copier::filter::TableMapping;
use support::{copy_options, exec, fill, rows, run_copy};

/// k, c, s, a, b of a copied row.
type Copied = (i64, i64, Option<String>, Option<String>, i64);

fn int(v: &Option<ferry_wire::types::CqlValue>) -> i64 {
    v.as_ref().and_then(|v| v.as_i64()).expect("an integer")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_sub_range_copies_exactly_its_rows() {
    let (source, target, ks) = support::source_and_target("f_tokens").await;
    let name = ks.name.clone();
    support::int_table_t(&ks, &source, 1000).await;
    // A wrapping sub-range, to cover the minimum-token edge too:
    // (4611686018427387904, max] and (min, -4611686018427387904].
    let (start, end) = (4_611_686_018_427_387_904i64, -4_611_686_018_427_387_904i64);
    let mut options = copy_options("f_tokens", &name, &["t"]);
    options.filters.token_range = Some((start.to_string(), end.to_string()));
    options.splits = Some(16);
    let summary = run_copy(&source, &target, &options).await;
    support::assert_complete(&summary);

    let inside = |t: i64| t > start || t <= end;
    let expected: BTreeSet<i64> = rows(&source, &format!("SELECT k, token(k) FROM {name}.t"))
        .await
        .iter()
        .filter(|r| inside(int(&r.values()[1])))
        .map(|r| int(&r.values()[0]))
        .collect();
    let copied: BTreeSet<i64> = rows(&target, &format!("SELECT k FROM {name}.t"))
        .await
        .iter()
        .map(|r| int(&r.values()[0]))
        .collect();
    assert!(
        expected.len() > 300 && expected.len() < 700,
        "{}",
        expected.len()
    );
    assert_eq!(copied, expected);
    assert_eq!(summary.rows, expected.len() as u64);
    // The range is part of the job: another range on the same file is refused.
    options.filters.token_range = Some(("0".into(), "5".into()));
    let e = ferry_copier::copy(&source, &target, &options, ferry_copier::CopyControl::new())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("belongs to another job (filters"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writetime_window_copies_rows_by_their_newest_cell() {
    let (source, target, ks) = support::source_and_target("f_window").await;
    let name = ks.name.clone();
    ks.ddl_all(&format!(
        "CREATE TABLE {name}.t (k int, c int, s int static, a int, b int, PRIMARY KEY (k, c))"
    ))
    .await;
    let (t1, t2, t3) = (
        1_600_000_000_000_000i64,
        1_700_000_000_000_000i64,
        1_750_000_000_000_000i64,
    );
    // Partition k: rows c = 0..10, each at t1 (old), t2 (in the window)
    // or t3 (too new) by c % 3; the static at t1.
    for k in 0..20 {
        exec(
            &source,
            &format!("INSERT INTO {name}.t (k, s) VALUES ({k}, {k}) USING TIMESTAMP {t1}"),
        )
        .await;
    }
    fill(
        &source,
        |i| {
            let (k, c) = (i / 10, i % 10);
            let ts = [t1, t2, t3][(c % 3) as usize];
            format!("INSERT INTO {name}.t (k, c, a) VALUES ({k}, {c}, {i}) USING TIMESTAMP {ts}")
        },
        200,
    )
    .await;
    // A row with cells of two ages: its newest (t2 + 1) is in the window.
    exec(
        &source,
        &format!("INSERT INTO {name}.t (k, c, a) VALUES (100, 0, 1) USING TIMESTAMP {t1}"),
    )
    .await;
    exec(
        &source,
        &format!(
            "UPDATE {name}.t USING TIMESTAMP {} SET b = 2 WHERE k = 100 AND c = 0",
            t2 + 1
        ),
    )
    .await;
    // A partition with only old rows: not copied, static included.
    exec(
        &source,
        &format!("INSERT INTO {name}.t (k, c, a, s) VALUES (101, 0, 1, 7) USING TIMESTAMP {t1}"),
    )
    .await;

    let mut options = copy_options("f_window", &name, &["t"]);
    options.filters.written_after = Some(t2);
    options.filters.written_before = Some(t3);
    let summary = run_copy(&source, &target, &options).await;
    support::assert_complete(&summary);

    let got: BTreeMap<(i64, i64), Vec<Option<i64>>> =
        rows(&target, &format!("SELECT k, c, s, a, b FROM {name}.t"))
            .await
            .iter()
            .map(|r| {
                let v = r.values();
                (
                    (int(&v[0]), int(&v[1])),
                    v[2..]
                        .iter()
                        .map(|x| x.as_ref().and_then(|x| x.as_i64()))
                        .collect(),
                )
            })
            .collect();
    let mut expected = BTreeMap::new();
    for i in 0..200i64 {
        let (k, c) = (i / 10, i % 10);
        if c % 3 == 1 {
            // The static comes with the partition's first copied row.
            expected.insert((k, c), vec![Some(k), Some(i), None]);
        }
    }
    expected.insert((100, 0), vec![None, Some(1), Some(2)]);
    assert_eq!(got, expected);
    // Rows outside the window: 200 - 60 in the window + the old partition.
    assert_eq!(summary.rows_filtered, 200 - 60 + 1);
    assert_eq!(summary.rows, 61);
    // The window does not change the writetime written: the job's.
    let wt = rows(
        &target,
        &format!("SELECT WRITETIME(a) FROM {name}.t WHERE k = 0 AND c = 1"),
    )
    .await;
    assert_eq!(int(&wt[0].values()[0]), summary.job_timestamp_micros);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_column_subset_goes_to_a_renamed_table_and_columns() {
    let (source, target, ks) = support::source_and_target("f_rename").await;
    let name = ks.name.clone();
    exec(&source, &format!(
        "CREATE TABLE {name}.src (k int, c int, s text static, a text, b int, d blob, PRIMARY KEY (k, c))"
    ))
    .await;
    exec(&target, &format!(
        "CREATE TABLE {name}.dst (key int, c int, s text static, alpha text, b int, extra int, PRIMARY KEY (key, c))"
    ))
    .await;
    fill(
        &source,
        |i| {
            format!(
                "INSERT INTO {name}.src (k, c, s, a, b, d) VALUES ({}, {}, 's{}', 'a{i}', {i}, 0xff)",
                i / 4,
                i % 4,
                i / 4
            )
        },
        400,
    )
    .await;
    let mapping = |columns: &[&str], renames: &[(&str, &str)]| TableMapping {
        columns: Some(columns.iter().map(|c| (*c).to_owned()).collect()),
        renames: renames
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect(),
        target_keyspace: Some(name.clone()),
        target_table: Some("dst".into()),
    };
    let mut options = copy_options("f_rename", &name, &["src"]);
    options.filters.tables.insert(
        "src".into(),
        mapping(&["a", "b", "s"], &[("k", "key"), ("a", "alpha")]),
    );
    let summary = run_copy(&source, &target, &options).await;
    support::assert_complete(&summary);
    assert!(
        summary.warnings.iter().any(|w| w.contains("extra")),
        "{:?}",
        summary.warnings
    );
    let text = |v: &Option<ferry_wire::types::CqlValue>| {
        v.as_ref().and_then(|v| v.as_text()).map(str::to_owned)
    };
    let copied = |rows: Vec<ferry_conn::session::Row>| -> BTreeSet<Copied> {
        rows.iter()
            .map(|r| {
                let v = r.values();
                (int(&v[0]), int(&v[1]), text(&v[2]), text(&v[3]), int(&v[4]))
            })
            .collect()
    };
    let src = copied(rows(&source, &format!("SELECT k, c, s, a, b FROM {name}.src")).await);
    let dst = copied(
        rows(
            &target,
            &format!("SELECT key, c, s, alpha, b FROM {name}.dst"),
        )
        .await,
    );
    assert_eq!(src.len(), 400);
    assert_eq!(dst, src);
    let extra = rows(&target, &format!("SELECT extra FROM {name}.dst")).await;
    assert!(extra.iter().all(|r| r.values()[0].is_none()));

    // Schema errors name the rename or the subset.
    let fails = |m: TableMapping| {
        let mut o = copy_options("f_rename_err", &name, &["src"]);
        o.filters.tables.insert("src".into(), m);
        let (source, target) = (source.clone(), target.clone());
        async move {
            ferry_copier::copy(&source, &target, &o, ferry_copier::CopyControl::new())
                .await
                .unwrap_err()
                .to_string()
        }
    };
    // d is not renamed and dst has no column d.
    let e = fails(mapping(&["a", "d"], &[("k", "key"), ("a", "alpha")])).await;
    assert_eq!(
        e,
        format!("target table {name}.dst has no column \"d\" (the source table has it)")
    );
    let e = fails(mapping(&["a"], &[("k", "key"), ("a", "alfa")])).await;
    assert_eq!(
        e,
        format!(
            "target table {name}.dst has no column \"alfa\" (source column {name}.src.a is renamed to it by --rename-column a=alfa)"
        )
    );
    let e = fails(mapping(&["b"], &[("k", "key"), ("b", "alpha")])).await;
    assert_eq!(
        e,
        format!("column \"alpha\" of {name}.dst is int on the source but text on the target")
    );
    let e = fails(mapping(&["nope"], &[("k", "key")])).await;
    assert!(
        e.contains("--columns: source table") && e.contains("no column \"nope\""),
        "{e}"
    );
    // Without the key rename, the keys differ.
    let e = fails(mapping(&["a"], &[("a", "alpha")])).await;
    assert!(
        e.contains("the partition key differs: (k) on the source, (key) on the target"),
        "{e}"
    );
    let mut m = mapping(&["a"], &[("k", "key"), ("a", "alpha")]);
    m.target_table = Some("missing".into());
    let e = fails(m).await;
    assert_eq!(
        e,
        format!("table {name}.missing does not exist on the target cluster")
    );
}
