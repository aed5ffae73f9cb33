//! What the classifier says about a statement: [`StatementInfo`] and the
//! kinds it is made of. The facts a dual-write proxy acts on: does it write,
//! where, and may the proxy give it a client timestamp.

use super::ident::Identifier;

/// What sort of statement this is.
///
/// ```
/// use ferry_router::cql::{classify, DdlKind, DdlOp, SchemaObject, StatementKind};
/// assert_eq!(classify("select * from t").kind, StatementKind::Select);
/// assert_eq!(
///     classify("CREATE INDEX ON ks.t (v)").kind,
///     StatementKind::Ddl(DdlKind { op: DdlOp::Create, object: SchemaObject::Index }),
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatementKind {
    /// `SELECT`.
    Select,
    /// `INSERT`.
    Insert,
    /// `UPDATE`.
    Update,
    /// `DELETE`.
    Delete,
    /// `BEGIN [UNLOGGED | COUNTER] BATCH ... APPLY BATCH`; see
    /// [`StatementInfo::batch`].
    Batch(BatchType),
    /// `USE keyspace`.
    Use,
    /// A schema statement (`CREATE`/`ALTER`/`DROP`) or `TRUNCATE`.
    Ddl(DdlKind),
    /// Access control: roles, users, permissions, identities.
    Dcl(DclKind),
    /// Anything else (`DESCRIBE`, vendor extensions, text that is not CQL).
    /// The proxy should not assume it is a read.
    Other,
}

/// The type of a batch, from `BEGIN [UNLOGGED | COUNTER] BATCH`.
///
/// ```
/// use ferry_router::cql::{classify, BatchType, StatementKind};
/// let info = classify("BEGIN UNLOGGED BATCH INSERT INTO t (k) VALUES (1) APPLY BATCH");
/// assert_eq!(info.kind, StatementKind::Batch(BatchType::Unlogged));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BatchType {
    /// `BEGIN BATCH`: goes through the batch log.
    Logged,
    /// `BEGIN UNLOGGED BATCH`.
    Unlogged,
    /// `BEGIN COUNTER BATCH`: counter updates only.
    Counter,
}

/// A DDL statement: the operation and the kind of schema object.
///
/// ```
/// use ferry_router::cql::{classify, DdlKind, DdlOp, SchemaObject, StatementKind};
/// let info = classify("DROP MATERIALIZED VIEW IF EXISTS ks.by_email");
/// assert_eq!(
///     info.kind,
///     StatementKind::Ddl(DdlKind { op: DdlOp::Drop, object: SchemaObject::MaterializedView }),
/// );
/// assert_eq!(info.table.unwrap(), "by_email");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DdlKind {
    /// Create, alter, drop or truncate.
    pub op: DdlOp,
    /// What is created, altered, dropped or truncated.
    pub object: SchemaObject,
}

/// The operation of a [`DdlKind`].
///
/// ```
/// use ferry_router::cql::{classify, DdlOp, StatementKind};
/// let StatementKind::Ddl(ddl) = classify("TRUNCATE ks.t").kind else { panic!() };
/// assert_eq!(ddl.op, DdlOp::Truncate);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DdlOp {
    /// `CREATE`.
    Create,
    /// `ALTER`.
    Alter,
    /// `DROP`.
    Drop,
    /// `TRUNCATE`: removes data, not schema.
    Truncate,
}

/// The schema object of a [`DdlKind`].
///
/// ```
/// use ferry_router::cql::{classify, SchemaObject, StatementKind};
/// let StatementKind::Ddl(ddl) = classify("CREATE OR REPLACE FUNCTION ks.f (x int) CALLED ON NULL INPUT RETURNS int LANGUAGE java AS 'return x;'").kind else { panic!() };
/// assert_eq!(ddl.object, SchemaObject::Function);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchemaObject {
    /// `KEYSPACE` (also `SCHEMA`).
    Keyspace,
    /// `TABLE` or `COLUMNFAMILY`.
    Table,
    /// `[CUSTOM] INDEX`.
    Index,
    /// `MATERIALIZED VIEW`.
    MaterializedView,
    /// `TYPE` (user-defined type).
    Type,
    /// `FUNCTION`.
    Function,
    /// `AGGREGATE`.
    Aggregate,
    /// `TRIGGER`.
    Trigger,
    /// Something else after `CREATE`/`ALTER`/`DROP` (vendor extensions).
    Other,
}

/// An access-control statement.
///
/// ```
/// use ferry_router::cql::{classify, DclKind, StatementKind};
/// assert_eq!(classify("GRANT SELECT ON ks.t TO analyst").kind, StatementKind::Dcl(DclKind::Grant));
/// assert_eq!(classify("create user bob with password 'x'").kind, StatementKind::Dcl(DclKind::CreateRole));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DclKind {
    /// `GRANT` (permissions or roles).
    Grant,
    /// `REVOKE` (permissions or roles).
    Revoke,
    /// `LIST PERMISSIONS | ROLES | USERS ...`: a read.
    List,
    /// `CREATE ROLE` or `CREATE USER`.
    CreateRole,
    /// `ALTER ROLE` or `ALTER USER`.
    AlterRole,
    /// `DROP ROLE` or `DROP USER`.
    DropRole,
    /// `ADD IDENTITY` (Cassandra 5 mTLS identities).
    AddIdentity,
    /// `DROP IDENTITY`.
    DropIdentity,
}

/// Whether an `UPDATE` changes a counter, from the shape of its `SET`
/// clause (the classifier has no schema).
///
/// ```
/// use ferry_router::cql::{classify, CounterUpdate};
/// assert_eq!(classify("UPDATE t SET c = c + 1 WHERE k = 0").counter, CounterUpdate::Yes);
/// assert_eq!(classify("UPDATE t SET c = c + ? WHERE k = 0").counter, CounterUpdate::Possibly);
/// assert_eq!(classify("UPDATE t SET l = l + [1] WHERE k = 0").counter, CounterUpdate::No);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CounterUpdate {
    /// No `c = c ± ...` assignment.
    #[default]
    No,
    /// `c = c + 3`, `c = c - 3`, `c = c -3`, or a `COUNTER` batch: Cassandra
    /// only allows `x = x ± number` on counter columns.
    Yes,
    /// `c = c + ?` or `c = c - :n`: a counter, or a list/set/map append with
    /// a bound value. The proxy can settle it with the bind variable types
    /// of the PREPARED result (a counter column has type `counter`).
    Possibly,
}

/// Everything the classifier learned about one statement.
///
/// Names borrow from the statement text. All the flags are "as written":
/// the classifier has no schema, so a `DELETE` from a counter table, for
/// example, is not known to be a counter write.
///
/// ```
/// use ferry_router::cql::{classify, StatementKind};
/// let info = classify("INSERT INTO shop.orders (id, at) VALUES (?, now()) IF NOT EXISTS");
/// assert_eq!(info.kind, StatementKind::Insert);
/// assert_eq!(info.keyspace.unwrap(), "shop");
/// assert_eq!(info.table.unwrap(), "orders");
/// assert!(info.is_write && info.is_conditional && info.calls_now);
/// assert!(!info.may_add_timestamp()); // LWT: Cassandra refuses client timestamps
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementInfo<'a> {
    /// The sort of statement.
    pub kind: StatementKind,
    /// The keyspace named in the statement: `ks` of `ks.table`, the
    /// keyspace of `USE ks` and of keyspace DDL, the qualifier of a type,
    /// function or index name in DDL. `None` if unqualified (the session's
    /// keyspace applies) and for batches (see the children).
    pub keyspace: Option<Identifier<'a>>,
    /// The table read or written (`FROM`, `INTO`, `UPDATE`), or the table,
    /// view, or indexed/triggered table of DDL.
    pub table: Option<Identifier<'a>>,
    /// Writes data: `INSERT`, `UPDATE`, `DELETE`, a batch, `TRUNCATE`.
    pub is_write: bool,
    /// Changes the schema: `CREATE`, `ALTER`, `DROP` of keyspaces, tables,
    /// indexes, views, types, functions, aggregates, triggers. Not
    /// `TRUNCATE` (data) and not roles or permissions (DCL).
    pub is_schema_change: bool,
    /// A lightweight transaction: `INSERT ... IF NOT EXISTS`, `UPDATE` or
    /// `DELETE ... IF EXISTS` / `IF <conditions>`, or a batch with such a
    /// child. `CREATE TABLE IF NOT EXISTS` and friends are not.
    pub is_conditional: bool,
    /// The statement sets its own write time: `USING TIMESTAMP t`, alone
    /// or with `TTL`. For a batch: on the batch itself (children are in
    /// [`BatchInfo::children`]).
    pub has_using_timestamp: bool,
    /// Counter update, as far as the text tells.
    pub counter: CounterUpdate,
    /// Calls `now()` or `currentTimeUUID()` / `current_timeuuid()`.
    pub calls_now: bool,
    /// Calls `uuid()`.
    pub calls_uuid: bool,
    /// Calls `currentTimestamp()`, `currentDate()` or `currentTime()` (or
    /// their Cassandra 5 snake-case names): also evaluated per cluster.
    pub calls_current_time: bool,
    /// For a batch: its type and children.
    pub batch: Option<BatchInfo<'a>>,
}

impl StatementInfo<'_> {
    /// A counter update, certainly or possibly ([`CounterUpdate::Yes`] or
    /// [`CounterUpdate::Possibly`]).
    pub fn is_counter_update(&self) -> bool {
        self.counter != CounterUpdate::No
    }

    /// Whether the proxy may give this statement a client timestamp (the
    /// QUERY/EXECUTE/BATCH timestamp flag) so both clusters store the same
    /// write time. True for writes, except:
    ///
    /// - lightweight transactions: Cassandra refuses client timestamps on
    ///   conditional statements and batches (Paxos picks the time);
    /// - counter updates, including [`CounterUpdate::Possibly`]: Cassandra
    ///   refuses them; counters are not idempotent anyway, so identical
    ///   write times would not make the clusters agree. When the prepared
    ///   metadata proves a `Possibly` is a collection append, the proxy can
    ///   override this;
    /// - `USING TIMESTAMP` already present: the statement's own time wins,
    ///   both clusters get it, nothing to add;
    /// - `TRUNCATE`: it writes no cells, there is no write time to align.
    ///
    /// ```
    /// use ferry_router::cql::classify;
    /// assert!(classify("INSERT INTO t (k, v) VALUES (1, 2)").may_add_timestamp());
    /// assert!(!classify("UPDATE t SET v = 2 WHERE k = 1 IF v = 1").may_add_timestamp());
    /// assert!(!classify("UPDATE t USING TIMESTAMP 5 SET v = 2 WHERE k = 1").may_add_timestamp());
    /// assert!(!classify("SELECT * FROM t").may_add_timestamp());
    /// ```
    pub fn may_add_timestamp(&self) -> bool {
        let truncate = matches!(
            self.kind,
            StatementKind::Ddl(DdlKind {
                op: DdlOp::Truncate,
                ..
            })
        );
        self.is_write
            && !truncate
            && !self.is_conditional
            && !self.is_counter_update()
            && !self.has_using_timestamp
    }
}

/// The inside of a batch.
///
/// ```
/// use ferry_router::cql::{classify, BatchType, StatementKind};
/// let info = classify(
///     "BEGIN BATCH USING TIMESTAMP 42
///        INSERT INTO ks.a (k) VALUES (1);
///        DELETE FROM ks.b WHERE k = 1 IF EXISTS;
///      APPLY BATCH;",
/// );
/// let batch = info.batch.as_ref().unwrap();
/// assert_eq!(batch.batch_type, BatchType::Logged);
/// assert_eq!(batch.children.len(), 2);
/// assert_eq!(batch.children[1].kind, StatementKind::Delete);
/// assert!(batch.children[1].is_conditional);
/// assert!(info.has_using_timestamp && info.is_conditional);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchInfo<'a> {
    /// Logged, unlogged or counter.
    pub batch_type: BatchType,
    /// The statements between `BATCH` and `APPLY BATCH`, each classified on
    /// its own (`INSERT`, `UPDATE`, `DELETE`; anything else is `Other`).
    pub children: Vec<StatementInfo<'a>>,
    /// Whether `APPLY BATCH` was found. Without it the server rejects the
    /// text; the children are what came before the end.
    pub applied: bool,
}

impl BatchInfo<'_> {
    /// Whether some child has its own `USING TIMESTAMP`.
    pub fn any_child_has_using_timestamp(&self) -> bool {
        self.children.iter().any(|c| c.has_using_timestamp)
    }
}
