//! Copies between two real Cassandra 2.1 clusters (groups `source` and
//! `target`), then reads both sides back and compares them row by row.

mod support;

use ferry_conn::session::Session;
use ferry_copier::progress::ProgressFile;
use ferry_wire::types::CqlValue;
use futures::StreamExt;
use support::{assert_same_rows, copy_options, exec, rows, run_copy};

/// Runs statements on `session`, 16 at a time.
async fn run_all(session: &Session, statements: Vec<String>) {
    futures::stream::iter(statements)
        .map(|cql| async move { exec(session, &cql).await })
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
}

const ALL_TYPES: &str = r#"
    k int, k2 text, c1 timeuuid, c2 bigint,
    s text static, s2 list<int> static,
    a ascii, bi bigint, bl blob, bo boolean, de decimal, db double, fl float,
    ine inet, i int, te text, ts timestamp, tu timeuuid, uu uuid, vc varchar, vi varint,
    li list<int>, se set<text>, ma map<text, int>, lu list<frozen<addr>>,
    mt map<int, frozen<tuple<int, text>>>, ud frozen<addr>,
    tp frozen<tuple<int, text, frozen<addr>>>,
    PRIMARY KEY ((k, k2), c1, c2)"#;

/// One row's INSERT: values derived from (k, j), some columns null.
fn row_insert(ks: &str, k: u32, j: u32) -> String {
    let columns = [
        ("a", format!("'ascii-{k}-{j}'")),
        (
            "bi",
            format!("{}", i64::from(k) * -1_000_000_007 + i64::from(j)),
        ),
        ("bl", format!("0x{:04x}{:02x}", k, j)),
        ("bo", format!("{}", (k + j) % 2 == 0)),
        ("de", format!("{}.{:03}", i64::from(k) - 30, j)),
        ("db", format!("{:.3}", f64::from(k) * 1.25 + 0.5)),
        ("fl", format!("{}.25", k)),
        (
            "ine",
            if k % 2 == 0 {
                format!("'10.0.{k}.{j}'")
            } else {
                format!("'2001:db8::{k:x}:{j:x}'")
            },
        ),
        ("i", format!("{}", i64::from(k) * 1000 + i64::from(j))),
        ("te", format!("'text {k}/{j} ünïcödé'")),
        (
            "ts",
            format!(
                "{}",
                1_500_000_000_000i64 + i64::from(k) * 86_400_000 + i64::from(j)
            ),
        ),
        ("tu", format!("{:08x}-1234-11e1-8080-{:012x}", k, j)),
        ("uu", format!("{:08x}-5678-4abc-9def-{:012x}", j, k)),
        ("vc", format!("'varchar {j}'")),
        (
            "vi",
            format!(
                "{}{:05}",
                123_456_789_012_345_678_901_234_567u128 * u128::from(k + 1),
                j
            ),
        ),
        ("li", format!("[{k}, {j}, {k}]")),
        ("se", format!("{{'x{k}', 'y{j}'}}")),
        ("ma", format!("{{'k{k}': {j}, 'z': -1}}")),
        (
            "lu",
            format!("[{{street: 's{k}', \"Num\": {j}, tags: {{'t'}}}}, {{street: 'other'}}]"),
        ),
        ("mt", format!("{{{j}: ({k}, 'tuple')}}")),
        (
            "ud",
            format!("{{street: 'street {k}', \"Num\": {j}, tags: {{'a', 'b{j}'}}}}"),
        ),
        ("tp", format!("({k}, 'tp{j}', {{street: 'in tuple'}})")),
    ];
    let mut names = vec!["k".to_owned(), "k2".into(), "c1".into(), "c2".into()];
    let mut values = vec![
        format!("{k}"),
        format!("'p{k}'"),
        format!("{:08x}-0000-11e1-8080-{:012x}", j, k),
        format!("{}", i64::from(j) - 1),
    ];
    for (index, (name, value)) in columns.iter().enumerate() {
        // Leave some cells null (never written).
        if (k + j + index as u32) % 7 != 0 {
            names.push((*name).to_owned());
            values.push(value.clone());
        }
    }
    let ttl = if j == 1 { " USING TTL 86400" } else { "" };
    format!(
        "INSERT INTO {ks}.all_types ({}) VALUES ({}){ttl}",
        names.join(", "),
        values.join(", ")
    )
}

/// Statements filling `all_types`: partitions with 0..4 rows, static values
/// on two partitions out of three (so some partitions are static-only),
/// edge values, explicit nulls, cells with their own TTL.
fn all_types_data(ks: &str) -> Vec<String> {
    let mut out = Vec::new();
    for k in 0..60u32 {
        let rows = k % 5;
        for j in 0..rows {
            out.push(row_insert(ks, k, j));
        }
        if k % 3 != 0 {
            out.push(format!(
                "INSERT INTO {ks}.all_types (k, k2, s, s2) VALUES ({k}, 'p{k}', 'static {k}', [{k}, 0])"
            ));
        }
    }
    // Edge values, and explicit nulls (tombstones on the source).
    out.push(format!(
        "INSERT INTO {ks}.all_types (k, k2, c1, c2, a, bl, db, fl, te, vi, de, ine, ts, bi, i)
         VALUES (1000, '', 00000000-0000-1000-8000-000000000000, {}, '', 0x, NaN, -Infinity, '',
                 -99999999999999999999999999999999999, -0.000000000000001, '::1', -1000, {}, {})",
        i64::MIN,
        i64::MAX,
        i32::MIN
    ));
    out.push(format!(
        "INSERT INTO {ks}.all_types (k, k2, c1, c2, a, te, li) VALUES (1001, 'nulls', 00000000-0000-1000-8000-000000000001, 0, null, null, null)"
    ));
    // Cells with their own TTL on rows without one.
    out.push(format!(
        "UPDATE {ks}.all_types USING TTL 7200 SET te = 'expiring' WHERE k = 2 AND k2 = 'p2' AND c1 = 00000000-0000-11e1-8080-000000000002 AND c2 = -1"
    ));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_every_2_1_type_static_columns_collections_udts_tuples_ttls_and_nulls() {
    let (source, target, ks) = support::source_and_target("copy_all_types").await;
    let name = ks.name.clone();
    ks.ddl_all(&format!(
        r#"CREATE TYPE {name}.addr (street text, "Num" int, tags set<text>)"#
    ))
    .await;
    ks.ddl_all(&format!(
        "CREATE TABLE {name}.all_types ({ALL_TYPES}) WITH CLUSTERING ORDER BY (c1 DESC, c2 ASC)"
    ))
    .await;
    // A second table: no clustering columns, a case-sensitive name.
    ks.ddl_all(&format!(
        r#"CREATE TABLE {name}."Simple" ("Id" uuid PRIMARY KEY, "Value" text, n int)"#
    ))
    .await;
    run_all(&source, all_types_data(&name)).await;
    run_all(
        &source,
        (0..300u32)
            .map(|i| {
                format!(
                    r#"INSERT INTO {name}."Simple" ("Id", "Value", n) VALUES ({:08x}-0000-4000-8000-000000000000, 'v{i}', {})"#,
                    i,
                    if i % 10 == 0 { "null".to_owned() } else { i.to_string() }
                )
            })
            .collect(),
    )
    .await;

    let mut options = copy_options("copy_all_types", &name, &[]);
    options.splits = Some(40);
    options.concurrency = 4;
    let summary = run_copy(&source, &target, &options).await;
    support::assert_complete(&summary);
    assert!(summary.errors.is_empty());
    assert_eq!(summary.tables.len(), 2);

    let copied = assert_same_rows(&source, &target, &name, "all_types", 4).await;
    let expected_rows: u32 = (0..60u32)
        .map(|k| {
            if k % 5 == 0 {
                u32::from(k % 3 != 0)
            } else {
                k % 5
            }
        })
        .sum::<u32>()
        + 2;
    assert_eq!(
        copied as u32, expected_rows,
        "rows incl. static-only partitions"
    );
    assert_eq!(
        assert_same_rows(&source, &target, &name, "Simple", 1).await,
        300
    );
    // Rows read = rows in the tables: nothing read twice.
    let read: u64 = summary.tables.iter().map(|t| t.rows).sum();
    assert_eq!(read, u64::from(expected_rows) + 300);

    // Nulls were not written as tombstones (no cell, hence no writetime),
    // and TTLs were kept (default mode reads them).
    let t = rows(
        &target,
        &format!("SELECT k, c2, te, TTL(te), TTL(a), WRITETIME(te) FROM {name}.all_types"),
    )
    .await;
    let s = rows(
        &source,
        &format!("SELECT k, c2, te, TTL(te), TTL(a), WRITETIME(te) FROM {name}.all_types"),
    )
    .await;
    assert_eq!(s.len(), t.len());
    for (srow, trow) in s.iter().zip(&t) {
        assert_eq!(srow.get(0), trow.get(0));
        assert_eq!(srow.get(1), trow.get(1));
        for col in [3, 4] {
            match (srow.get(col), trow.get(col)) {
                (None, None) => {}
                (Some(CqlValue::Int(a)), Some(CqlValue::Int(b))) => {
                    // Same expiry within the copy's duration (and the
                    // second between the two reads).
                    assert!(
                        *b <= a + 2 && *b > a - 120,
                        "TTL {b} on the target vs {a} on the source"
                    );
                }
                other => panic!("TTL presence differs: {other:?}"),
            }
        }
        if trow.get(2).is_some() {
            assert_eq!(
                trow.get(5),
                Some(&CqlValue::Bigint(summary.job_timestamp_micros)),
                "copied cells carry the job's timestamp"
            );
        }
    }

    // The progress file records every range once.
    let state = ProgressFile::read(&options.progress_file).unwrap();
    let planned: usize = state.plans.values().map(Vec::len).sum();
    assert!(
        (78..=84).contains(&planned),
        "about 40 ranges per table: {planned}"
    );
    assert_eq!(state.done.len(), planned);
    assert_eq!(state.range_records.len(), planned);
    assert_eq!(summary.ranges_done as usize, planned);
}
