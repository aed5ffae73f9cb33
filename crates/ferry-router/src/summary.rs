//! What routing needs to remember about a statement, owned.
//!
//! The classifier's [`StatementInfo`] borrows the statement text; a
//! prepared statement is executed long after its PREPARE, so the proxy
//! keeps this small owned digest next to the prepared id instead.

use ferry_wire::types::ColumnType;

use crate::cql::{
    classify, CounterUpdate, DclKind, Lexer, StatementInfo, StatementKind, TokenKind,
};

/// How a statement is routed.
///
/// ```
/// use ferry_router::{StatementClass, StatementSummary};
/// assert_eq!(StatementSummary::of("SELECT * FROM ks.t").class, StatementClass::Read);
/// assert_eq!(StatementSummary::of("TRUNCATE ks.t").class, StatementClass::Write);
/// assert_eq!(StatementSummary::of("DROP TABLE ks.t").class, StatementClass::Schema);
/// assert_eq!(StatementSummary::of("USE ks").class, StatementClass::Use);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatementClass {
    /// SELECT, `LIST ...`: source only.
    Read,
    /// INSERT, UPDATE, DELETE, BATCH, TRUNCATE, and text the classifier
    /// does not recognise (it is not assumed to be a read): source and
    /// target.
    Write,
    /// CREATE / ALTER / DROP: source and target, answered after both.
    Schema,
    /// `USE keyspace`: source; the proxy notes the keyspace and switches
    /// the target leg to it before the next request it mirrors there.
    Use,
    /// Roles and permissions (GRANT, CREATE USER...): source only. Access
    /// control is usually set up separately on the target.
    AccessControl,
}

impl StatementClass {
    /// Whether statements of this class are mirrored on the target.
    pub fn goes_to_target(self) -> bool {
        matches!(self, Self::Write | Self::Schema)
    }
}

/// The routing facts of one statement.
///
/// ```
/// use ferry_router::{StatementClass, StatementSummary};
/// let s = StatementSummary::of("INSERT INTO ks.t (k) VALUES (?) IF NOT EXISTS");
/// assert_eq!(s.class, StatementClass::Write);
/// assert!(!s.may_add_timestamp); // LWT: Paxos picks the time
/// assert_eq!(s.keyspace.as_deref(), Some("ks"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementSummary {
    /// The classifier's kind.
    pub kind: StatementKind,
    /// How it is routed.
    pub class: StatementClass,
    /// Whether the proxy may give it a client timestamp (see
    /// [`StatementInfo::may_add_timestamp`]).
    pub may_add_timestamp: bool,
    /// A lightweight transaction (`IF ...`).
    pub is_conditional: bool,
    /// A counter update, certainly or possibly.
    pub is_counter: bool,
    /// What the text says about counters (`Possibly` for `c = c + ?`,
    /// which the bind types of the PREPARED answer settle).
    pub counter: CounterUpdate,
    /// Writes a list, as far as the text or bind types tell (`[...]`
    /// literals, list-typed bind markers). List appends and list literals
    /// get server-generated element ids, so applying such a write twice
    /// duplicates elements: it is not idempotent.
    pub touches_lists: bool,
    /// Sets its own write time (`USING TIMESTAMP`, on the statement or
    /// on a batch child).
    pub has_own_timestamp: bool,
    /// The keyspace named in the text (`USE ks`, `ks.table`), as Cassandra
    /// reads it (unquoted names lower-cased).
    pub keyspace: Option<String>,
    /// The table named in the text.
    pub table: Option<String>,
}

impl StatementSummary {
    /// Classifies `text`.
    pub fn of(text: &str) -> Self {
        let mut summary = Self::from_info(&classify(text));
        summary.touches_lists = summary.class == StatementClass::Write
            && Lexer::new(text)
                .significant()
                .any(|t| t.kind == TokenKind::LBracket);
        summary
    }

    /// Refines the summary of a prepared statement with the types of its
    /// bind markers: `c = c + ?` is a counter update only if the marker
    /// is a counter (otherwise a collection append, which may get a
    /// timestamp); list-typed markers make the write non-idempotent.
    ///
    /// ```
    /// use ferry_router::StatementSummary;
    /// use ferry_wire::types::ColumnType;
    /// let mut s = StatementSummary::of("UPDATE t SET l = l + ? WHERE k = ?");
    /// assert!(s.is_counter && !s.may_add_timestamp);
    /// s.settle_with_bind_types(&[ColumnType::List(Box::new(ColumnType::Int)), ColumnType::Int]);
    /// assert!(!s.is_counter && s.may_add_timestamp && s.touches_lists);
    /// ```
    pub fn settle_with_bind_types(&mut self, types: &[ColumnType]) {
        if types.iter().any(|t| matches!(t, ColumnType::List(_))) {
            self.touches_lists = true;
        }
        if self.counter == CounterUpdate::Possibly
            && !types.iter().any(|t| matches!(t, ColumnType::Counter))
        {
            self.counter = CounterUpdate::No;
            self.is_counter = false;
            self.may_add_timestamp = self.class == StatementClass::Write
                && self.kind == StatementKind::Update
                && !self.is_conditional
                && !self.has_own_timestamp;
        }
    }

    /// Classifies raw statement bytes; text that is not UTF-8 is routed as
    /// an unknown write (the server will refuse it on both clusters).
    pub fn of_bytes(text: &[u8]) -> Self {
        match std::str::from_utf8(text) {
            Ok(text) => Self::of(text),
            Err(_) => Self {
                kind: StatementKind::Other,
                class: StatementClass::Write,
                may_add_timestamp: false,
                is_conditional: false,
                is_counter: false,
                counter: CounterUpdate::No,
                touches_lists: false,
                has_own_timestamp: false,
                keyspace: None,
                table: None,
            },
        }
    }

    /// Digests the classifier's result.
    pub fn from_info(info: &StatementInfo<'_>) -> Self {
        let class = match info.kind {
            StatementKind::Select | StatementKind::Dcl(DclKind::List) => StatementClass::Read,
            StatementKind::Use => StatementClass::Use,
            StatementKind::Dcl(_) => StatementClass::AccessControl,
            _ if info.is_schema_change => StatementClass::Schema,
            // Writes, TRUNCATE, and whatever the classifier cannot name.
            _ => StatementClass::Write,
        };
        Self {
            kind: info.kind,
            class,
            may_add_timestamp: info.may_add_timestamp(),
            is_conditional: info.is_conditional,
            is_counter: info.is_counter_update(),
            counter: info.counter,
            touches_lists: false,
            has_own_timestamp: info.has_using_timestamp
                || info
                    .batch
                    .as_ref()
                    .is_some_and(|b| b.any_child_has_using_timestamp()),
            keyspace: info.keyspace.as_ref().map(|k| k.name().into_owned()),
            table: info.table.as_ref().map(|t| t.name().into_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_of_common_statements() {
        let cases = [
            ("select * from t", StatementClass::Read, false),
            ("LIST USERS", StatementClass::Read, false),
            ("INSERT INTO t (k) VALUES (1)", StatementClass::Write, true),
            (
                "UPDATE t SET c = c + 1 WHERE k = 1",
                StatementClass::Write,
                false,
            ),
            (
                "UPDATE t USING TIMESTAMP 5 SET v = 1 WHERE k = 1",
                StatementClass::Write,
                false,
            ),
            ("DELETE FROM t WHERE k = 1", StatementClass::Write, true),
            (
                "BEGIN BATCH INSERT INTO t (k) VALUES (1); APPLY BATCH",
                StatementClass::Write,
                true,
            ),
            ("TRUNCATE t", StatementClass::Write, false),
            (
                "CREATE TABLE t (k int PRIMARY KEY)",
                StatementClass::Schema,
                false,
            ),
            ("use \"MyKs\"", StatementClass::Use, false),
            (
                "GRANT SELECT ON ks.t TO bob",
                StatementClass::AccessControl,
                false,
            ),
            ("DESCRIBE KEYSPACES", StatementClass::Write, false),
        ];
        for (text, class, ts) in cases {
            let s = StatementSummary::of(text);
            assert_eq!(s.class, class, "{text}");
            assert_eq!(s.may_add_timestamp, ts, "{text}");
        }
    }

    #[test]
    fn quoted_keyspaces_keep_their_case() {
        assert_eq!(
            StatementSummary::of("USE \"MyKs\"").keyspace.as_deref(),
            Some("MyKs")
        );
        assert_eq!(
            StatementSummary::of("USE MyKs").keyspace.as_deref(),
            Some("myks")
        );
    }

    #[test]
    fn list_literals_are_noticed_in_writes_only() {
        assert!(StatementSummary::of("UPDATE t SET l = l + [1] WHERE k = 1").touches_lists);
        assert!(StatementSummary::of("INSERT INTO t (k, l) VALUES (1, [1, 2])").touches_lists);
        assert!(!StatementSummary::of("INSERT INTO t (k, s) VALUES (1, {1, 2})").touches_lists);
        assert!(!StatementSummary::of("INSERT INTO t (k, v) VALUES (1, '[x]')").touches_lists);
    }

    #[test]
    fn counter_binds_stay_counters() {
        let mut s = StatementSummary::of("UPDATE t SET c = c + ? WHERE k = ?");
        s.settle_with_bind_types(&[ColumnType::Counter, ColumnType::Int]);
        assert!(s.is_counter && !s.may_add_timestamp);
        let mut lwt = StatementSummary::of("UPDATE t SET s = s + ? WHERE k = ? IF v = 1");
        lwt.settle_with_bind_types(&[ColumnType::Set(Box::new(ColumnType::Int)), ColumnType::Int]);
        assert!(!lwt.is_counter && !lwt.may_add_timestamp);
    }

    #[test]
    fn invalid_utf8_is_an_unknown_write() {
        let s = StatementSummary::of_bytes(&[0xff, 0xfe]);
        assert_eq!(s.class, StatementClass::Write);
        assert!(!s.may_add_timestamp);
    }
}
