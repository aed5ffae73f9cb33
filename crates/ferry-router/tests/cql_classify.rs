//! Classification of real-world statements, each with hand-written
//! expectations (what Cassandra would do with the statement), including the
//! tricky ones: keywords inside strings and comments, quoted names, mixed
//! case, multi-line text, LWT vs DDL `IF NOT EXISTS`, counters, batches.

use ferry_router::cql::{
    classify, BatchType, Classifier, CounterUpdate, DclKind, DdlKind, DdlOp, SchemaObject,
    StatementInfo, StatementKind,
};

/// What a statement should classify as. Unset fields expect the default
/// (no keyspace, no table, every flag false, no counter).
#[derive(Clone)]
struct Expect {
    kind: StatementKind,
    keyspace: Option<&'static str>,
    table: Option<&'static str>,
    write: bool,
    schema: bool,
    conditional: bool,
    timestamp: bool,
    counter: CounterUpdate,
    now: bool,
    uuid: bool,
    current_time: bool,
}

fn expect(kind: StatementKind) -> Expect {
    let write = matches!(
        kind,
        StatementKind::Insert
            | StatementKind::Update
            | StatementKind::Delete
            | StatementKind::Batch(_)
    );
    Expect {
        kind,
        keyspace: None,
        table: None,
        write,
        schema: false,
        conditional: false,
        timestamp: false,
        counter: CounterUpdate::No,
        now: false,
        uuid: false,
        current_time: false,
    }
}

impl Expect {
    fn ks(mut self, ks: &'static str) -> Self {
        self.keyspace = Some(ks);
        self
    }
    fn table(mut self, table: &'static str) -> Self {
        self.table = Some(table);
        self
    }
    fn write(mut self) -> Self {
        self.write = true;
        self
    }
    fn schema(mut self) -> Self {
        self.schema = true;
        self
    }
    fn lwt(mut self) -> Self {
        self.conditional = true;
        self
    }
    fn ts(mut self) -> Self {
        self.timestamp = true;
        self
    }
    fn counter(mut self, c: CounterUpdate) -> Self {
        self.counter = c;
        self
    }
    fn now(mut self) -> Self {
        self.now = true;
        self
    }
    fn uuid(mut self) -> Self {
        self.uuid = true;
        self
    }
    fn current_time(mut self) -> Self {
        self.current_time = true;
        self
    }

    #[track_caller]
    fn check<'t>(&self, text: &'t str) -> StatementInfo<'t> {
        let info = classify(text);
        self.check_info(text, &info);
        info
    }

    #[track_caller]
    fn check_info(&self, text: &str, info: &StatementInfo<'_>) {
        let name =
            |id: Option<ferry_router::cql::Identifier<'_>>| id.map(|i| i.name().into_owned());
        assert_eq!(info.kind, self.kind, "kind of {text:?}");
        assert_eq!(
            name(info.keyspace).as_deref(),
            self.keyspace,
            "keyspace of {text:?}"
        );
        assert_eq!(name(info.table).as_deref(), self.table, "table of {text:?}");
        assert_eq!(info.is_write, self.write, "is_write of {text:?}");
        assert_eq!(
            info.is_schema_change, self.schema,
            "is_schema_change of {text:?}"
        );
        assert_eq!(
            info.is_conditional, self.conditional,
            "is_conditional of {text:?}"
        );
        assert_eq!(
            info.has_using_timestamp, self.timestamp,
            "has_using_timestamp of {text:?}"
        );
        assert_eq!(info.counter, self.counter, "counter of {text:?}");
        assert_eq!(info.calls_now, self.now, "calls_now of {text:?}");
        assert_eq!(info.calls_uuid, self.uuid, "calls_uuid of {text:?}");
        assert_eq!(
            info.calls_current_time, self.current_time,
            "calls_current_time of {text:?}"
        );
    }
}

use StatementKind::{Delete, Insert, Select, Update};

fn ddl(op: DdlOp, object: SchemaObject) -> StatementKind {
    StatementKind::Ddl(DdlKind { op, object })
}

// ---------------------------------------------------------------- SELECT

#[test]
fn selects() {
    expect(Select)
        .ks("ks")
        .table("t")
        .check("SELECT * FROM ks.t WHERE k = 1");
    expect(Select)
        .ks("MyKs")
        .table("My Table")
        .check(r#"select count(*) from "MyKs"."My Table""#);
    expect(Select)
        .ks("ks")
        .table("users")
        .check("SELECT DISTINCT k FROM Ks.USERS");
    expect(Select)
        .table("t")
        .check("SELECT CAST(a AS text), writetime(b), ttl(c) FROM t WHERE k IN (1, 2) LIMIT 10;");
    expect(Select)
        .table("events")
        .now()
        .check("SELECT JSON a, b FROM events WHERE id = now() ALLOW FILTERING");
    expect(Select)
        .table("t")
        .now()
        .check("SELECT * FROM t WHERE id > maxTimeuuid('2013-01-01') AND id < minTimeuuid(toTimestamp(now()))");
    // A column that happens to be called `now` is not a call.
    expect(Select).table("t").check("SELECT now, uuid FROM t");
    // `FROM` inside a function call's parentheses does not count.
    expect(Select)
        .ks("ks")
        .table("t")
        .check(r#"SELECT "from", fn(x) FROM ks.t"#);
}

#[test]
fn select_without_from_is_still_a_select() {
    expect(Select).check("SELECT");
    expect(Select).check("SELECT a, b");
}

// ---------------------------------------------------------------- INSERT

#[test]
fn inserts() {
    expect(Insert)
        .ks("ks")
        .table("t")
        .check("INSERT INTO ks.t (a, b) VALUES (1, 'x')");
    expect(Insert)
        .table("t")
        .check("insert into t (k, v) values (?, ?)");
    expect(Insert)
        .ks("Shop")
        .table("orders")
        .check(r#"INSERT INTO "Shop".Orders (id) VALUES (:id)"#);
}

#[test]
fn insert_if_not_exists_is_conditional() {
    expect(Insert)
        .ks("ks")
        .table("t")
        .lwt()
        .check("INSERT INTO ks.t (a) VALUES (1) IF NOT EXISTS");
    expect(Insert)
        .table("t")
        .lwt()
        .check("INSERT INTO t (a) VALUES (1) IF NOT EXISTS USING TTL 10");
    expect(Insert)
        .table("t")
        .lwt()
        .ts()
        .check("insert into t (a) values (1) if not exists using ttl 10 and timestamp 5");
}

#[test]
fn keywords_in_strings_and_comments_do_not_count() {
    expect(Insert)
        .ks("ks")
        .table("t")
        .check("INSERT INTO ks.t (a, b) VALUES (1, 'IF NOT EXISTS')");
    expect(Insert)
        .table("t")
        .check("-- IF NOT EXISTS\nINSERT INTO t (k) VALUES (1) /* IF EXISTS USING TIMESTAMP 5 */;");
    expect(Insert)
        .table("t")
        .check("INSERT INTO t (k, body) VALUES (1, $$ IF EXISTS; USING TIMESTAMP 1 $$)");
    expect(Insert).table("t").check(
        r#"INSERT INTO t JSON '{"k": 1, "note": "USING TIMESTAMP 3 IF NOT EXISTS"}' DEFAULT UNSET"#,
    );
    expect(Update)
        .table("t")
        .check("UPDATE t SET v = 'c = c + 1 IF EXISTS' WHERE k = 1 // IF v = 2");
    expect(Delete)
        .table("t")
        .check("delete from t where k = 'IF EXISTS'");
}

#[test]
fn using_timestamp_alone_and_with_ttl() {
    expect(Insert)
        .table("t")
        .ts()
        .check("INSERT INTO t (a) VALUES (1) USING TIMESTAMP 1234567890");
    expect(Insert)
        .table("t")
        .ts()
        .check("INSERT INTO t (a) VALUES (1) USING TTL 10 AND TIMESTAMP 123");
    expect(Insert)
        .table("t")
        .ts()
        .check("insert into t (a) values (?) using timestamp ?");
    expect(Insert)
        .table("t")
        .ts()
        .check("INSERT INTO t (a) VALUES (?) USING TIMESTAMP :ts AND TTL :ttl");
    expect(Insert)
        .table("t")
        .check("INSERT INTO t (a) VALUES (1) USING TTL 86400");
    // Scylla's per-query timeout is not a timestamp.
    expect(Insert)
        .table("t")
        .check("INSERT INTO t (a) VALUES (1) USING TIMEOUT 500ms");
}

#[test]
fn a_column_named_timestamp_is_not_using_timestamp() {
    expect(Insert)
        .table("t")
        .check("INSERT INTO t (k, timestamp, ttl) VALUES (1, 2, 3)");
    expect(Update)
        .table("t")
        .check("UPDATE t SET timestamp = 5 WHERE k = 1");
    expect(Delete)
        .table("t")
        .check("DELETE timestamp FROM t WHERE k = 1");
}

#[test]
fn inserts_calling_time_functions() {
    expect(Insert)
        .ks("ks")
        .table("t")
        .now()
        .uuid()
        .check("INSERT INTO ks.t (id, at, k) VALUES (uuid(), now(), 1)");
    expect(Insert)
        .table("t")
        .now()
        .current_time()
        .check("INSERT INTO t (a, b) VALUES (toTimestamp(now()), currentTimestamp())");
    expect(Insert)
        .table("t")
        .now()
        .check("INSERT INTO t (a) VALUES (currentTimeUUID())");
    expect(Insert).table("t").now().current_time().check(
        "INSERT INTO t (a, b, c) VALUES (current_timeuuid(), current_date(), currentTime())",
    );
    expect(Insert)
        .table("t")
        .uuid()
        .check("INSERT INTO t (a) VALUES (system.uuid ( ))");
    // A user function in another keyspace, a string, and a comment.
    expect(Insert)
        .table("t")
        .check("INSERT INTO t (a, b) VALUES (myks.now(), 'now()') -- uuid()");
    // A now() with arguments is not the system function.
    expect(Insert)
        .table("t")
        .check("INSERT INTO t (a) VALUES (now(1))");
}

// ---------------------------------------------------------------- UPDATE

#[test]
fn updates() {
    expect(Update)
        .ks("ks")
        .table("t")
        .check("UPDATE ks.t SET v = 1 WHERE k = 2");
    expect(Update)
        .ks("ks")
        .table("t")
        .ts()
        .check("UPDATE ks.t USING TIMESTAMP 123 SET v = 1 WHERE k = 2");
    expect(Update)
        .table("t")
        .ts()
        .lwt()
        .check("UPDATE t USING TTL 5 AND TIMESTAMP 7 SET v = 1 WHERE k = 2 IF v = 0");
    expect(Update)
        .table("t")
        .lwt()
        .check("UPDATE t SET v = 1 WHERE k = 2 IF EXISTS");
    expect(Update)
        .table("t")
        .lwt()
        .check("update t set v = 1 where k in (1, 2) if v in (1, 2) and w != null");
    expect(Update)
        .table("t")
        .now()
        .check("UPDATE t SET m = m + {'seen': now()}, s = s + {'a'} WHERE k = 1");
    expect(Update)
        .table("t")
        .check("UPDATE t SET m['key'] = 'v', u.field = 3, l[0] = 1 WHERE k = 1");
}

#[test]
fn counter_updates() {
    let yes = CounterUpdate::Yes;
    let maybe = CounterUpdate::Possibly;
    expect(Update)
        .table("t")
        .counter(yes)
        .check("UPDATE t SET c = c + 1 WHERE k = 1");
    expect(Update)
        .ks("ks")
        .table("page_views")
        .counter(yes)
        .check("UPDATE ks.page_views SET views = views - 3, clicks = clicks + 2 WHERE url = ?");
    // `-3` lexes as one number; Cassandra accepts `c = c -3`.
    expect(Update)
        .table("t")
        .counter(yes)
        .check("UPDATE t SET c = c -3 WHERE k = 1");
    expect(Update)
        .table("t")
        .counter(yes)
        .check("UPDATE t SET c = c + -3 WHERE k = 1");
    // Unquoted names are case-insensitive; a quoted one matches its exact text.
    expect(Update)
        .table("t")
        .counter(yes)
        .check(r#"UPDATE t SET "c" = C + 1 WHERE k = 1"#);
    expect(Update)
        .table("t")
        .check(r#"UPDATE t SET "C" = c + 1 WHERE k = 1"#);
    // A bound value: a counter or a collection append.
    expect(Update)
        .table("t")
        .counter(maybe)
        .check("UPDATE t SET c = c + ? WHERE k = ?");
    expect(Update)
        .table("t")
        .counter(maybe)
        .check("UPDATE t SET c = c - :delta WHERE k = :k");
    // A literal number beats a marker elsewhere.
    expect(Update)
        .table("t")
        .counter(yes)
        .check("UPDATE t SET a = a + ?, b = b + 1 WHERE k = 1");
    // LWT on a counter is invalid CQL, but both facts are reported.
    expect(Update)
        .table("t")
        .counter(yes)
        .lwt()
        .check("UPDATE t SET c = c + 1 WHERE k = 1 IF EXISTS");
}

#[test]
fn collection_appends_are_not_counters() {
    for text in [
        "UPDATE t SET l = l + [1, 2] WHERE k = 1",
        "UPDATE t SET s = s - {3} WHERE k = 1",
        "UPDATE t SET m = m + {'a': 1} WHERE k = 1",
        "UPDATE t SET l = [0] + l WHERE k = 1",
        "UPDATE t SET a = b + 1 WHERE k = 1",
        "UPDATE t SET a = 1 WHERE c = c + 1",
        "UPDATE t SET m['k'] = m + 1 WHERE k = 1",
        // A field of a user type is not a whole column.
        "UPDATE t SET u.c = c + 1 WHERE k = 1",
    ] {
        expect(Update).table("t").check(text);
    }
}

// ---------------------------------------------------------------- DELETE

#[test]
fn deletes() {
    expect(Delete)
        .ks("ks")
        .table("t")
        .lwt()
        .check("DELETE FROM ks.t WHERE k = 1 IF EXISTS");
    expect(Delete)
        .ks("ks")
        .table("t")
        .ts()
        .check("DELETE a, m['x'], l[1] FROM ks.t USING TIMESTAMP 99 WHERE k = 1");
    expect(Delete)
        .table("t")
        .lwt()
        .check("DELETE FROM t WHERE k = 1 IF v = 3 AND w != null");
    expect(Delete)
        .table("Events")
        .check(r#"delete v from "Events" where k = ?;"#);
}

// ---------------------------------------------------------------- BATCH

#[test]
fn batch_with_mixed_children() {
    let text = "BEGIN BATCH
        INSERT INTO ks.a (k, v) VALUES (1, now());
        UPDATE ks.b USING TIMESTAMP 5 SET v = 2 WHERE k = 1;
        DELETE FROM c WHERE k = 3
    APPLY BATCH;";
    let info = expect(StatementKind::Batch(BatchType::Logged))
        .now()
        .check(text);
    assert!(info.may_add_timestamp());
    let batch = info.batch.as_ref().expect("batch info");
    assert_eq!(batch.batch_type, BatchType::Logged);
    assert!(batch.applied);
    assert_eq!(batch.children.len(), 3);
    expect(Insert)
        .ks("ks")
        .table("a")
        .now()
        .check_info(text, &batch.children[0]);
    expect(Update)
        .ks("ks")
        .table("b")
        .ts()
        .check_info(text, &batch.children[1]);
    expect(Delete)
        .table("c")
        .check_info(text, &batch.children[2]);
    assert!(batch.any_child_has_using_timestamp());
}

#[test]
fn batch_level_using_timestamp() {
    let text = "begin unlogged batch using timestamp 10
        insert into t (k) values (1)
        insert into t (k) values (2)
        apply batch";
    let info = expect(StatementKind::Batch(BatchType::Unlogged))
        .ts()
        .check(text);
    let batch = info.batch.as_ref().expect("batch info");
    // No semicolons: children still split at each INSERT.
    assert_eq!(batch.children.len(), 2);
    assert!(!batch.any_child_has_using_timestamp());
    assert!(!info.may_add_timestamp());
}

#[test]
fn counter_batch() {
    let text = "BEGIN COUNTER BATCH
        UPDATE t SET c = c + 1 WHERE k = 1;
        UPDATE t SET c = c + ? WHERE k = 2;
    APPLY BATCH";
    let info = expect(StatementKind::Batch(BatchType::Counter))
        .counter(CounterUpdate::Yes)
        .check(text);
    let children = &info.batch.as_ref().expect("batch").children;
    assert_eq!(children[0].counter, CounterUpdate::Yes);
    assert_eq!(children[1].counter, CounterUpdate::Possibly);
    assert!(!info.may_add_timestamp());
}

#[test]
fn conditional_batch() {
    let text = "BEGIN BATCH
        INSERT INTO t (k, c, v) VALUES (1, 1, 'x') IF NOT EXISTS;
        UPDATE t SET v = 'y' WHERE k = 1 AND c = 2 IF v = 'IF';
    APPLY BATCH;";
    let info = expect(StatementKind::Batch(BatchType::Logged))
        .lwt()
        .check(text);
    assert!(info
        .batch
        .as_ref()
        .expect("batch")
        .children
        .iter()
        .all(|c| c.is_conditional));
    assert!(!info.may_add_timestamp());
    // A counter child in a logged batch is flagged too.
    let text =
        "BEGIN BATCH UPDATE t SET c = c + 1 WHERE k = 1; INSERT INTO u (k) VALUES (2); APPLY BATCH";
    expect(StatementKind::Batch(BatchType::Logged))
        .counter(CounterUpdate::Yes)
        .check(text);
}

#[test]
fn broken_batches() {
    let info = expect(StatementKind::Batch(BatchType::Logged))
        .check("BEGIN BATCH INSERT INTO t (k) VALUES (1);");
    let batch = info.batch.expect("batch");
    assert!(!batch.applied);
    assert_eq!(batch.children.len(), 1);
    // Something that is not DML inside a batch becomes an `Other` child.
    let info = expect(StatementKind::Batch(BatchType::Logged))
        .check("BEGIN BATCH SELECT * FROM t; INSERT INTO t (k) VALUES (1); APPLY BATCH");
    let kinds: Vec<_> = info
        .batch
        .expect("batch")
        .children
        .iter()
        .map(|c| c.kind)
        .collect();
    assert_eq!(kinds, [StatementKind::Other, Insert]);
    // Not a batch at all.
    expect(StatementKind::Other)
        .check("BEGIN TRANSACTION LET x = (SELECT * FROM t WHERE k = 1); COMMIT TRANSACTION");
}

// ---------------------------------------------------------------- DDL

#[test]
fn create_if_not_exists_is_ddl_not_lwt() {
    let info = expect(ddl(DdlOp::Create, SchemaObject::Table))
        .ks("ks")
        .table("t")
        .schema()
        .check("CREATE TABLE IF NOT EXISTS ks.t (k int PRIMARY KEY, v text) WITH comment = 'IF EXISTS'");
    assert!(!info.may_add_timestamp());
    expect(ddl(DdlOp::Create, SchemaObject::Keyspace))
        .ks("Ks")
        .schema()
        .check(r#"CREATE KEYSPACE IF NOT EXISTS "Ks" WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 3}"#);
    expect(ddl(DdlOp::Create, SchemaObject::Table))
        .table("t")
        .schema()
        .check("create columnfamily T (k int primary key)");
}

#[test]
fn views_and_indexes() {
    expect(ddl(DdlOp::Create, SchemaObject::MaterializedView))
        .ks("ks")
        .table("by_email")
        .schema()
        .check(
            "CREATE MATERIALIZED VIEW ks.by_email AS\n  SELECT * FROM ks.users\n  \
             WHERE email IS NOT NULL AND id IS NOT NULL\n  PRIMARY KEY (email, id)",
        );
    expect(ddl(DdlOp::Drop, SchemaObject::MaterializedView))
        .ks("ks")
        .table("by_email")
        .schema()
        .check("DROP MATERIALIZED VIEW IF EXISTS ks.by_email");
    expect(ddl(DdlOp::Alter, SchemaObject::MaterializedView))
        .table("mv")
        .schema()
        .check("ALTER MATERIALIZED VIEW mv WITH comment = 'x'");
    expect(ddl(DdlOp::Create, SchemaObject::Index))
        .ks("ks")
        .table("t")
        .schema()
        .check("CREATE INDEX IF NOT EXISTS idx ON ks.t (v)");
    expect(ddl(DdlOp::Create, SchemaObject::Index))
        .table("t")
        .schema()
        .check("CREATE CUSTOM INDEX ON t (v) USING 'org.apache.cassandra.index.sasi.SASIIndex'");
    expect(ddl(DdlOp::Create, SchemaObject::Index))
        .table("t")
        .schema()
        .check("CREATE INDEX ON t (KEYS(m))");
    expect(ddl(DdlOp::Drop, SchemaObject::Index))
        .ks("ks")
        .schema()
        .check("DROP INDEX IF EXISTS ks.idx");
}

#[test]
fn other_ddl() {
    expect(ddl(DdlOp::Alter, SchemaObject::Table))
        .ks("ks")
        .table("t")
        .schema()
        .check("ALTER TABLE ks.t ADD v text");
    expect(ddl(DdlOp::Drop, SchemaObject::Table))
        .table("t")
        .schema()
        .check("drop table if exists t;");
    expect(ddl(DdlOp::Alter, SchemaObject::Keyspace))
        .ks("ks")
        .schema()
        .check("ALTER KEYSPACE ks WITH durable_writes = false");
    expect(ddl(DdlOp::Drop, SchemaObject::Keyspace))
        .ks("ks")
        .schema()
        .check("DROP SCHEMA ks");
    expect(ddl(DdlOp::Create, SchemaObject::Type))
        .ks("ks")
        .schema()
        .check("CREATE TYPE ks.address (street text, city text)");
    expect(ddl(DdlOp::Create, SchemaObject::Function))
        .ks("ks")
        .schema()
        .check(
            "CREATE OR REPLACE FUNCTION ks.fLog (input double) CALLED ON NULL INPUT \
             RETURNS double LANGUAGE java AS $$ return Double.valueOf(Math.log(input)); $$",
        );
    expect(ddl(DdlOp::Create, SchemaObject::Aggregate))
        .schema()
        .check("CREATE AGGREGATE IF NOT EXISTS average(int) SFUNC avgState STYPE tuple<int,bigint> FINALFUNC avgFinal INITCOND (0, 0)");
    expect(ddl(DdlOp::Drop, SchemaObject::Function))
        .ks("ks")
        .schema()
        .check("DROP FUNCTION IF EXISTS ks.flog(double)");
    expect(ddl(DdlOp::Create, SchemaObject::Trigger))
        .ks("ks")
        .table("t")
        .schema()
        .check("CREATE TRIGGER trg ON ks.t USING 'org.example.Trigger'");
    expect(ddl(DdlOp::Drop, SchemaObject::Trigger))
        .table("t")
        .schema()
        .check("DROP TRIGGER trg ON t");
    expect(ddl(DdlOp::Create, SchemaObject::Other))
        .schema()
        .check("CREATE SERVICE LEVEL sl WITH timeout = 10ms");
}

#[test]
fn truncate_is_a_write_without_timestamps() {
    let truncate = ddl(DdlOp::Truncate, SchemaObject::Table);
    let info = expect(truncate)
        .ks("ks")
        .table("t")
        .write()
        .check("TRUNCATE TABLE ks.t");
    assert!(!info.may_add_timestamp());
    expect(truncate).table("t").write().check("truncate t;");
    expect(truncate)
        .ks("KS")
        .table("t")
        .write()
        .check(r#"TRUNCATE COLUMNFAMILY "KS".t"#);
}

// ---------------------------------------------------------------- USE, DCL, other

#[test]
fn use_statements() {
    expect(StatementKind::Use).ks("ks").check("use KS;");
    expect(StatementKind::Use).ks("MyKs").check(r#"USE "MyKs""#);
    expect(StatementKind::Use).check("USE");
}

#[test]
fn access_control() {
    let cases = [
        ("GRANT SELECT ON KEYSPACE ks TO analyst", DclKind::Grant),
        ("grant role admin to alice", DclKind::Grant),
        ("REVOKE MODIFY ON ks.t FROM bob", DclKind::Revoke),
        ("LIST ROLES", DclKind::List),
        ("LIST ALL PERMISSIONS OF alice", DclKind::List),
        (
            "CREATE ROLE IF NOT EXISTS r WITH PASSWORD = 'p' AND LOGIN = true",
            DclKind::CreateRole,
        ),
        (
            "CREATE USER bob WITH PASSWORD 'x' NOSUPERUSER",
            DclKind::CreateRole,
        ),
        ("ALTER USER bob WITH PASSWORD 'y'", DclKind::AlterRole),
        ("ALTER ROLE r WITH LOGIN = false", DclKind::AlterRole),
        ("DROP ROLE IF EXISTS r", DclKind::DropRole),
        ("DROP USER bob", DclKind::DropRole),
        (
            "ADD IDENTITY 'spiffe://x' TO ROLE 'r'",
            DclKind::AddIdentity,
        ),
        ("DROP IDENTITY 'spiffe://x'", DclKind::DropIdentity),
    ];
    for (text, kind) in cases {
        expect(StatementKind::Dcl(kind)).check(text);
    }
}

#[test]
fn other_statements() {
    for text in [
        "",
        "   ",
        ";",
        "-- just a comment",
        "DESCRIBE TABLES",
        "'SELECT * FROM t'",
        "\"SELECT\" * FROM t",
        "ADD x",
        "LIST",
    ] {
        let info = classify(text);
        if text == "LIST" {
            assert_eq!(info.kind, StatementKind::Dcl(DclKind::List));
            continue;
        }
        expect(StatementKind::Other).check(text);
        assert!(!info.may_add_timestamp());
    }
}

// ---------------------------------------------------------------- shape and spans

#[test]
fn multi_line_mixed_case_with_comments() {
    let text = "  /* header */\n\tInSeRt   INTO\n  -- the table\n  Ks . \"Tbl\"\n (\"K\", v)\n\
                VALUES (?, ?)\n  If   Not\n Exists\n;  ";
    expect(Insert).ks("ks").table("Tbl").lwt().check(text);
}

#[test]
fn names_point_back_into_the_text() {
    let text = r#"UPDATE "My""Ks".tab SET v = 1 WHERE k = 1"#;
    let info = classify(text);
    let ks = info.keyspace.expect("keyspace");
    let table = info.table.expect("table");
    assert_eq!(&text[ks.span()], r#""My""Ks""#);
    assert_eq!(ks.raw(), r#""My""Ks""#);
    assert_eq!(ks.name(), "My\"Ks");
    assert_eq!(&text[table.span()], "tab");
    assert!(matches!(table.name(), std::borrow::Cow::Borrowed("tab")));
}

#[test]
fn may_add_timestamp_follows_the_rules() {
    let cases = [
        ("INSERT INTO t (k) VALUES (1)", true),
        ("UPDATE t SET v = 1 WHERE k = 1", true),
        ("DELETE FROM t WHERE k = 1", true),
        ("BEGIN BATCH INSERT INTO t (k) VALUES (1) APPLY BATCH", true),
        ("INSERT INTO t (k) VALUES (1) IF NOT EXISTS", false),
        ("DELETE FROM t WHERE k = 1 IF EXISTS", false),
        ("UPDATE t SET c = c + 1 WHERE k = 1", false),
        ("UPDATE t SET c = c + ? WHERE k = 1", false),
        ("INSERT INTO t (k) VALUES (1) USING TIMESTAMP 3", false),
        ("SELECT * FROM t", false),
        ("CREATE TABLE t (k int PRIMARY KEY)", false),
        ("TRUNCATE t", false),
        ("USE ks", false),
    ];
    for (text, may) in cases {
        assert_eq!(classify(text).may_add_timestamp(), may, "{text}");
    }
}

#[test]
fn a_reused_classifier_gives_the_same_answers() {
    let texts = [
        "SELECT * FROM ks.t",
        "BEGIN BATCH INSERT INTO a (k) VALUES (1); DELETE FROM b WHERE k = 1 IF EXISTS; APPLY BATCH",
        "UPDATE t SET c = c + 1 WHERE k = 1",
        "",
        "CREATE INDEX ON ks.t (v)",
    ];
    let mut classifier = Classifier::new();
    for _ in 0..2 {
        for text in texts {
            assert_eq!(classifier.classify(text), classify(text), "{text}");
        }
    }
}

#[test]
fn garbage_does_not_panic() {
    for text in [
        "INSERT",
        "INSERT INTO",
        "INSERT INTO ks.",
        "UPDATE",
        "UPDATE t SET",
        "UPDATE t SET c =",
        "UPDATE t SET c = c +",
        "UPDATE t SET = c + 1",
        "DELETE",
        "DELETE FROM",
        "DELETE x INSERT INTO t (k) VALUES (1)",
        "BEGIN",
        "BEGIN BATCH",
        "BEGIN BATCH USING",
        "BEGIN BATCH APPLY",
        "CREATE",
        "CREATE INDEX",
        "CREATE INDEX ON",
        "DROP TRIGGER x ON",
        "))))(((( IF",
        "UPDATE t SET c = c + 1 )))) IF",
        "'unterminated",
        "SELECT * FROM \"unterminated",
    ] {
        let _ = classify(text);
    }
    // The trailing `INSERT` ends the DELETE; it is not taken as its table.
    assert_eq!(
        classify("DELETE x INSERT INTO t (k) VALUES (1)").table,
        None
    );
}
