//! Schema reading and compatibility checks against real Cassandra 2.1
//! nodes (groups `source` and `target`).

mod support;

use ferry_copier::schema::{check_compatible, ColumnKind, CqlType, NativeType, SchemaReader};
use ferry_copier::{CopyError, Side};
use support::{session, Keyspace};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_every_kind_of_column_from_the_2_1_schema_tables() {
    let source = session("source").await;
    let ks = Keyspace::create("schema_read", &[("source", &source)], 1).await;
    let name = &ks.name;
    ks.ddl_all(&format!(
        r#"CREATE TYPE {name}.addr (street text, "Num" int)"#
    ))
    .await;
    ks.ddl_all(&format!(
        r#"CREATE TABLE {name}."Items" (k int, k2 text, c1 timeuuid, c2 int, s int static,
           v varchar, l list<int>, m map<text, int>, st set<inet>, u frozen<addr>,
           tu frozen<tuple<int, text>>, lu list<frozen<addr>>,
           PRIMARY KEY ((k, k2), c1, c2)) WITH CLUSTERING ORDER BY (c1 DESC, c2 ASC)"#
    ))
    .await;
    ks.ddl_all(&format!(
        "CREATE TABLE {name}.cnt (k int PRIMARY KEY, c counter)"
    ))
    .await;

    let reader = SchemaReader::new(&source, Side::Source);
    assert_eq!(reader.tables(name).await.unwrap(), ["Items", "cnt"]);
    let t = reader.table(name, "Items").await.unwrap();
    let names = |cols: &[ferry_copier::schema::ColumnDef]| {
        cols.iter().map(|c| c.name.clone()).collect::<Vec<_>>()
    };
    assert_eq!(names(&t.partition_key), ["k", "k2"]);
    assert_eq!(names(&t.clustering), ["c1", "c2"]);
    assert_eq!(
        t.clustering[0].kind,
        ColumnKind::Clustering { descending: true }
    );
    assert_eq!(
        t.clustering[1].kind,
        ColumnKind::Clustering { descending: false }
    );
    assert_eq!(names(&t.statics), ["s"]);
    assert_eq!(names(&t.regulars), ["l", "lu", "m", "st", "tu", "u", "v"]);
    let ty = |c: &str| t.column(c).unwrap().ty.to_string();
    assert_eq!(ty("v"), "text");
    assert_eq!(ty("l"), "list<int>");
    assert_eq!(ty("m"), "map<text, int>");
    assert_eq!(ty("st"), "set<inet>");
    assert_eq!(ty("u"), format!("frozen<{name}.addr>"));
    assert_eq!(ty("tu"), "tuple<int, text>");
    assert_eq!(ty("lu"), format!("list<frozen<{name}.addr>>"));
    match &t.column("u").unwrap().ty {
        CqlType::Udt { fields, .. } => {
            assert_eq!(
                fields[0],
                ("street".into(), CqlType::Native(NativeType::Text))
            );
            assert_eq!(fields[1], ("Num".into(), CqlType::Native(NativeType::Int)));
        }
        other => panic!("u is {other:?}"),
    }
    assert!(!t.is_counter_table());
    assert!(reader.table(name, "cnt").await.unwrap().is_counter_table());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_tables_and_mismatches_are_named() {
    let (source, target, ks) = support::source_and_target("schema_mismatch").await;
    let name = &ks.name;
    ks.ddl_all(&format!(
        "CREATE TABLE {name}.t (k int, c int, v text, w int, PRIMARY KEY (k, c))"
    ))
    .await;
    let src = SchemaReader::new(&source, Side::Source);
    let tgt = SchemaReader::new(&target, Side::Target);

    let e = src.table(name, "nope").await.unwrap_err();
    assert!(
        matches!(
            e,
            CopyError::UnknownTable {
                side: Side::Source,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        format!("table {name}.nope does not exist on the source cluster")
    );
    let e = src.table("no_such_keyspace_x", "t").await.unwrap_err();
    assert!(
        e.to_string()
            .contains("keyspace no_such_keyspace_x does not exist"),
        "{e}"
    );

    let s = src.table(name, "t").await.unwrap();
    assert!(check_compatible(&s, &tgt.table(name, "t").await.unwrap())
        .unwrap()
        .is_empty());

    support::exec(&target, &format!("ALTER TABLE {name}.t DROP w")).await;
    let e = check_compatible(&s, &tgt.table(name, "t").await.unwrap()).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("target table {name}.t has no column \"w\" (the source table has it)")
    );

    support::exec(&target, &format!("ALTER TABLE {name}.t ADD w bigint")).await;
    let e = check_compatible(&s, &tgt.table(name, "t").await.unwrap()).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("column \"w\" of {name}.t is int on the source but bigint on the target")
    );
}
