//! The shared schema reader against a real Cassandra 2.1 node (group
//! `source`, legacy `system.schema_*` tables): every kind of column, CQL
//! types including UDTs and tuples, the wire types cells decode with, and
//! unknown keyspaces and tables named in errors.

use std::time::Duration;

use ferry_conn::schema::{ColumnKind, CqlType, NativeType, SchemaError, SchemaReader};
use ferry_conn::session::{Session, SessionConfig};
use ferry_conn::ConnectionConfig;
use ferry_testkit::{unique_keyspace_name, NodeGroup};
use ferry_wire::types::ColumnType;

async fn run(session: &Session, cql: &str) {
    ferry_testkit::session::exec_all(session, cql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_every_kind_of_column_from_the_2_1_schema_tables() {
    let group = NodeGroup::require("source");
    let session = Session::connect(
        SessionConfig::new([group.first().socket_addr().to_string()]).with_connection(
            ConnectionConfig::new("").with_request_timeout(Duration::from_secs(30)),
        ),
    )
    .await
    .unwrap();
    let ks = unique_keyspace_name("conn_schema");
    run(&session, &format!("CREATE KEYSPACE {ks} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}")).await;
    let outcome = tokio::spawn(checks(session.clone(), ks.clone())).await;
    run(&session, &format!("DROP KEYSPACE {ks}")).await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

async fn checks(session: Session, ks: String) {
    run(
        &session,
        &format!(r#"CREATE TYPE {ks}.addr (street text, "Num" int)"#),
    )
    .await;
    run(
        &session,
        &format!(
            r#"CREATE TABLE {ks}."Items" (k int, k2 text, c1 timeuuid, c2 int, s int static,
               v varchar, l list<int>, m map<text, int>, st set<inet>, u frozen<addr>,
               tu frozen<tuple<int, text>>, lu list<frozen<addr>>, d decimal,
               PRIMARY KEY ((k, k2), c1, c2)) WITH CLUSTERING ORDER BY (c1 DESC, c2 ASC)"#
        ),
    )
    .await;
    run(
        &session,
        &format!("CREATE TABLE {ks}.cnt (k int PRIMARY KEY, c counter)"),
    )
    .await;

    let reader = SchemaReader::new(&session);
    assert!(reader.keyspace_exists(&ks).await.unwrap());
    assert_eq!(reader.tables(&ks).await.unwrap(), ["Items", "cnt"]);
    let t = reader.table(&ks, "Items").await.unwrap();
    let names = |cols: &[ferry_conn::schema::ColumnDef]| {
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
    assert_eq!(
        names(&t.regulars),
        ["d", "l", "lu", "m", "st", "tu", "u", "v"]
    );
    assert_eq!(t.cql_name(), format!("\"{ks}\".\"Items\""));
    let ty = |c: &str| t.column(c).unwrap().ty.to_string();
    assert_eq!(ty("v"), "text");
    assert_eq!(ty("l"), "list<int>");
    assert_eq!(ty("m"), "map<text, int>");
    assert_eq!(ty("st"), "set<inet>");
    assert_eq!(ty("u"), format!("frozen<{ks}.addr>"));
    assert_eq!(ty("tu"), "tuple<int, text>");
    assert_eq!(ty("lu"), format!("list<frozen<{ks}.addr>>"));
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
    // Which columns have one WRITETIME()/TTL().
    let with_metadata: Vec<&str> = t
        .columns()
        .filter(|c| c.has_cell_metadata())
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(with_metadata, ["s", "d", "tu", "u", "v"]);

    // The wire types match what the server sends for each column.
    let prepared = session
        .prepare(&format!("SELECT * FROM {}", t.cql_name()))
        .await
        .unwrap();
    let specs = prepared.result_columns().unwrap();
    assert_eq!(specs.len(), t.columns().count());
    for spec in specs {
        let mut expected = t.column(&spec.name).unwrap().ty.to_column_type();
        // The server may describe text as either id.
        if spec.column_type == ColumnType::Text && expected == ColumnType::Varchar {
            expected = ColumnType::Text;
        }
        assert_eq!(spec.column_type, expected, "column {}", spec.name);
    }

    assert!(!t.is_counter_table());
    let cnt = reader.table(&ks, "cnt").await.unwrap();
    assert!(cnt.is_counter_table());
    assert!(
        !cnt.regulars[0].has_cell_metadata(),
        "no WRITETIME of a counter"
    );

    let e = reader.table(&ks, "nope").await.unwrap_err();
    assert!(matches!(e, SchemaError::UnknownTable { .. }), "{e}");
    assert_eq!(e.to_string(), format!("table {ks}.nope does not exist"));
    let e = reader.table("no_such_keyspace_x", "t").await.unwrap_err();
    assert_eq!(e.to_string(), "keyspace no_such_keyspace_x does not exist");
    let e = reader.tables("no_such_keyspace_x").await.unwrap_err();
    assert!(matches!(e, SchemaError::UnknownKeyspace { .. }), "{e}");
}
