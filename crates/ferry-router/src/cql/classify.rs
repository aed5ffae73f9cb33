//! The classifier: from statement text to [`StatementInfo`].
//!
//! It is not a CQL parser. It reads the few landmarks that decide routing
//! (the leading keywords, the table after `FROM`/`INTO`/`UPDATE`, `IF`,
//! `USING ... TIMESTAMP`, `SET c = c + n`, function calls) from the
//! significant tokens, tracking bracket depth so that nothing inside
//! parentheses, brackets or braces is mistaken for a landmark. Strings and
//! comments are single tokens, so keywords inside them never count.
//!
//! Text that is not valid CQL still gets an answer (usually `Other`, or a
//! partial one); the server will reject it anyway. Classification never
//! fails and never panics.
//!
//! Cost: one lexing pass into a reusable token buffer, one pass over the
//! tokens, one more looking for function calls. Names borrow from the text.
//! The only allocation is the list of children of a batch (and the token
//! buffer, once, when a [`Classifier`] is reused).

use super::calls::{CallScan, CallTokens, VolatileFunction};
use super::ident::Identifier;
use super::lexer::Lexer;
use super::statement::{
    BatchInfo, BatchType, CounterUpdate, DclKind, DdlKind, DdlOp, SchemaObject, StatementInfo,
    StatementKind,
};
use super::token::{Token, TokenKind};

/// Above this many tokens the reused buffer is shrunk back after use, so one
/// huge batch does not pin its memory for the life of the connection.
const KEEP_TOKENS: usize = 16 * 1024;

/// Classifies statements, reusing one token buffer across calls (so
/// steady-state classification of non-batch statements allocates nothing).
///
/// ```
/// use ferry_router::cql::{Classifier, StatementKind};
/// let mut classifier = Classifier::new();
/// for text in ["SELECT * FROM ks.t", "UPDATE ks.t SET v = 1 WHERE k = 2"] {
///     let info = classifier.classify(text);
///     assert_eq!(info.table.unwrap(), "t");
/// }
/// assert_eq!(classifier.classify("USE other").kind, StatementKind::Use);
/// ```
#[derive(Debug, Default, Clone)]
pub struct Classifier {
    tokens: Vec<Token>,
}

impl Classifier {
    /// A classifier with an empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Classifies one statement (or one batch).
    pub fn classify<'a>(&mut self, text: &'a str) -> StatementInfo<'a> {
        self.tokens.clear();
        self.tokens.extend(Lexer::new(text).significant());
        let info = Parser {
            src: text,
            toks: &self.tokens,
            pos: 0,
        }
        .statement();
        if self.tokens.capacity() > KEEP_TOKENS {
            self.tokens = Vec::new();
        }
        info
    }
}

/// Classifies one statement with a fresh [`Classifier`].
///
/// ```
/// use ferry_router::cql::{classify, StatementKind};
/// let info = classify("DELETE FROM ks.users WHERE id = ? IF EXISTS");
/// assert_eq!(info.kind, StatementKind::Delete);
/// assert!(info.is_conditional);
/// ```
pub fn classify(text: &str) -> StatementInfo<'_> {
    Classifier::new().classify(text)
}

/// A statement with no facts yet.
fn blank<'a>(kind: StatementKind) -> StatementInfo<'a> {
    StatementInfo {
        kind,
        keyspace: None,
        table: None,
        is_write: false,
        is_schema_change: false,
        is_conditional: false,
        has_using_timestamp: false,
        counter: CounterUpdate::No,
        calls_now: false,
        calls_uuid: false,
        calls_current_time: false,
        batch: None,
    }
}

/// Where a DML scan is, for the keywords whose meaning depends on it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Clause {
    Other,
    Using,
    Set,
}

/// A cursor over the significant tokens of one text.
struct Parser<'a, 't> {
    src: &'a str,
    toks: &'t [Token],
    pos: usize,
}

impl<'a> Parser<'a, '_> {
    fn kind_at(&self, i: usize) -> Option<TokenKind> {
        self.toks.get(i).map(|t| t.kind)
    }

    fn kw_at(&self, i: usize, kw: &str) -> bool {
        self.toks.get(i).is_some_and(|t| t.is_keyword(self.src, kw))
    }

    fn peek_kw(&self, kw: &str) -> bool {
        self.kw_at(self.pos, kw)
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        let hit = self.peek_kw(kw);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn ident_at(&self, i: usize) -> Option<Identifier<'a>> {
        Identifier::from_token(self.src, self.toks.get(i)?)
    }

    /// `name` or `qualifier.name`: returns (qualifier, name).
    fn qualified_name(&mut self) -> (Option<Identifier<'a>>, Option<Identifier<'a>>) {
        let Some(first) = self.ident_at(self.pos) else {
            return (None, None);
        };
        self.pos += 1;
        if self.kind_at(self.pos) == Some(TokenKind::Dot) {
            if let Some(second) = self.ident_at(self.pos + 1) {
                self.pos += 2;
                return (Some(first), Some(second));
            }
        }
        (None, Some(first))
    }

    /// `IF EXISTS` or `IF NOT EXISTS` of DDL (not a condition).
    fn skip_if_exists(&mut self) {
        if self.peek_kw("IF") {
            let not = usize::from(self.kw_at(self.pos + 1, "NOT"));
            if self.kw_at(self.pos + 1 + not, "EXISTS") {
                self.pos += 2 + not;
            }
        }
    }

    /// Whether the token at `i` ends a statement inside a batch: `;` or a
    /// reserved word that starts the next statement or closes the batch.
    /// Callers only ask at bracket depth 0.
    fn ends_statement(&self, i: usize) -> bool {
        let Some(t) = self.toks.get(i) else {
            return true;
        };
        match t.kind {
            TokenKind::Semicolon => true,
            TokenKind::Ident => {
                let w = t.text(self.src);
                // Cheap length filter before the comparisons.
                matches!(w.len(), 5 | 6)
                    && ["INSERT", "UPDATE", "DELETE", "APPLY", "BEGIN"]
                        .iter()
                        .any(|k| w.eq_ignore_ascii_case(k))
            }
            _ => false,
        }
    }

    /// Moves to the first `keyword` at bracket depth 0 before the end of the
    /// statement; returns whether it found one (and stands on it).
    fn seek_keyword(&mut self, keyword: &str) -> bool {
        let mut depth = 0u32;
        while let Some(t) = self.toks.get(self.pos) {
            match t.kind {
                TokenKind::LParen | TokenKind::LBracket | TokenKind::LBrace => {
                    depth = depth.saturating_add(1)
                }
                TokenKind::RParen | TokenKind::RBracket | TokenKind::RBrace => {
                    depth = depth.saturating_sub(1)
                }
                _ if depth > 0 => {}
                _ if t.is_keyword(self.src, keyword) => return true,
                _ if self.ends_statement(self.pos) => return false,
                _ => {}
            }
            self.pos += 1;
        }
        false
    }

    /// The whole text, from the first token.
    fn statement(mut self) -> StatementInfo<'a> {
        let Some(first) = self.toks.first() else {
            return blank(StatementKind::Other);
        };
        let word = if first.kind == TokenKind::Ident {
            first.text(self.src)
        } else {
            ""
        };
        let is = |kw: &str| word.eq_ignore_ascii_case(kw);
        // DML and batches find their calls themselves (per statement).
        if is("INSERT") || is("UPDATE") || is("DELETE") {
            return self.dml().0;
        } else if is("BEGIN") {
            return self.batch();
        }
        let mut info = if is("SELECT") {
            self.select()
        } else if is("USE") {
            self.use_keyspace()
        } else if is("TRUNCATE") {
            self.truncate()
        } else if is("CREATE") || is("ALTER") || is("DROP") {
            self.schema()
        } else if is("GRANT") {
            blank(StatementKind::Dcl(DclKind::Grant))
        } else if is("REVOKE") {
            blank(StatementKind::Dcl(DclKind::Revoke))
        } else if is("LIST") {
            blank(StatementKind::Dcl(DclKind::List))
        } else if is("ADD") && self.kw_at(1, "IDENTITY") {
            blank(StatementKind::Dcl(DclKind::AddIdentity))
        } else {
            blank(StatementKind::Other)
        };
        note_calls(&mut info, CallScan::new(self.src, self.toks));
        info
    }

    fn select(&mut self) -> StatementInfo<'a> {
        let mut info = blank(StatementKind::Select);
        self.pos = 1;
        if self.seek_keyword("FROM") {
            self.pos += 1;
            (info.keyspace, info.table) = self.qualified_name();
        }
        info
    }

    fn use_keyspace(&mut self) -> StatementInfo<'a> {
        let mut info = blank(StatementKind::Use);
        info.keyspace = self.ident_at(1);
        info
    }

    fn truncate(&mut self) -> StatementInfo<'a> {
        let mut info = blank(StatementKind::Ddl(DdlKind {
            op: DdlOp::Truncate,
            object: SchemaObject::Table,
        }));
        info.is_write = true;
        self.pos = 1;
        let _ = self.eat_kw("TABLE") || self.eat_kw("COLUMNFAMILY");
        (info.keyspace, info.table) = self.qualified_name();
        info
    }

    /// `INSERT`, `UPDATE` or `DELETE` starting at `self.pos`; returns the
    /// statement and the index of the token that ended it (`;`, the next
    /// statement of a batch, `APPLY`, or the end).
    fn dml(&mut self) -> (StatementInfo<'a>, usize) {
        let start = self.pos;
        let kind = if self.eat_kw("INSERT") {
            self.eat_kw("INTO");
            StatementKind::Insert
        } else if self.eat_kw("UPDATE") {
            StatementKind::Update
        } else {
            self.pos += 1; // DELETE
            if self.seek_keyword("FROM") {
                self.pos += 1;
            }
            StatementKind::Delete
        };
        let mut info = blank(kind);
        info.is_write = true;
        if !self.ends_statement(self.pos) {
            (info.keyspace, info.table) = self.qualified_name();
        }

        let mut depth = 0u32;
        let mut clause = Clause::Other;
        while let Some(t) = self.toks.get(self.pos) {
            match t.kind {
                TokenKind::LParen | TokenKind::LBracket | TokenKind::LBrace => {
                    depth = depth.saturating_add(1)
                }
                TokenKind::RParen | TokenKind::RBracket | TokenKind::RBrace => {
                    depth = depth.saturating_sub(1)
                }
                _ if depth > 0 => {}
                TokenKind::Ident => {
                    if self.ends_statement(self.pos) {
                        break;
                    }
                    let w = t.text(self.src);
                    if w.eq_ignore_ascii_case("IF") {
                        // IF is reserved: at depth 0 in DML it can only
                        // open a condition (`IF EXISTS`, `IF NOT EXISTS`,
                        // `IF v = 1`).
                        info.is_conditional = true;
                        clause = Clause::Other;
                    } else if w.eq_ignore_ascii_case("USING") {
                        clause = Clause::Using;
                    } else if w.eq_ignore_ascii_case("SET") {
                        clause = Clause::Set;
                    } else if w.eq_ignore_ascii_case("WHERE") {
                        clause = Clause::Other;
                    } else if clause == Clause::Using && w.eq_ignore_ascii_case("TIMESTAMP") {
                        // In `USING TTL ? AND TIMESTAMP ?` the values are
                        // literals or markers, never words, so a bare
                        // TIMESTAMP here is the option's name.
                        info.has_using_timestamp = true;
                    }
                }
                TokenKind::Semicolon => break,
                TokenKind::Eq if clause == Clause::Set && kind == StatementKind::Update => {
                    info.counter = info.counter.max_with(self.counter_assignment(self.pos));
                }
                _ => {}
            }
            self.pos += 1;
        }
        let end = self.pos.max(start + 1);
        note_calls(
            &mut info,
            CallScan::new(self.src, self.toks.get(start..end).unwrap_or(&[])),
        );
        (info, end)
    }

    /// Reads the assignment whose `=` is token `eq`: `c = c + 1` is a
    /// counter update; `c = c + ?` may be one.
    fn counter_assignment(&self, eq: usize) -> CounterUpdate {
        // The left side must be a whole column (`SET c =` or `, c =`), not
        // an element or field (`m['k'] =`, `u.f =`).
        let (Some(lhs_at), Some(before)) = (eq.checked_sub(1), eq.checked_sub(2)) else {
            return CounterUpdate::No;
        };
        let whole_column =
            self.kw_at(before, "SET") || self.kind_at(before) == Some(TokenKind::Comma);
        let (Some(lhs), Some(rhs)) = (self.ident_at(lhs_at), self.ident_at(eq + 1)) else {
            return CounterUpdate::No;
        };
        if !whole_column || !lhs.same_name(&rhs) {
            return CounterUpdate::No;
        }
        match self.kind_at(eq + 2) {
            Some(TokenKind::Plus | TokenKind::Minus) => match self.kind_at(eq + 3) {
                Some(k) if k.is_number() => CounterUpdate::Yes,
                // A marker or a type hint `(bigint)?`: counter or
                // collection, only the column type can tell.
                Some(k) if k.is_marker() || k == TokenKind::LParen => CounterUpdate::Possibly,
                _ => CounterUpdate::No,
            },
            // `c = c -3`: the lexer reads `-3` as one number, as Cassandra's
            // grammar does (its `cident INTEGER` counter form).
            Some(k) if k.is_number() => {
                let negative = self
                    .toks
                    .get(eq + 2)
                    .is_some_and(|t| t.text(self.src).starts_with('-'));
                if negative {
                    CounterUpdate::Yes
                } else {
                    CounterUpdate::No
                }
            }
            _ => CounterUpdate::No,
        }
    }

    fn batch(&mut self) -> StatementInfo<'a> {
        self.pos = 1;
        let batch_type = if self.eat_kw("UNLOGGED") {
            BatchType::Unlogged
        } else if self.eat_kw("COUNTER") {
            BatchType::Counter
        } else {
            BatchType::Logged
        };
        if !self.eat_kw("BATCH") {
            // `BEGIN TRANSACTION` (Accord) and whatever else.
            return blank(StatementKind::Other);
        }
        let mut info = blank(StatementKind::Batch(batch_type));
        info.is_write = true;
        if self.eat_kw("USING") {
            while !self.ends_statement(self.pos) {
                if self.peek_kw("TIMESTAMP") {
                    info.has_using_timestamp = true;
                }
                self.pos += 1;
            }
        }
        let mut children = Vec::new();
        let mut applied = false;
        while self.pos < self.toks.len() {
            if self.kind_at(self.pos) == Some(TokenKind::Semicolon) {
                self.pos += 1;
                continue;
            }
            if self.peek_kw("APPLY") {
                applied = self.kw_at(self.pos + 1, "BATCH");
                break;
            }
            let child =
                if self.peek_kw("INSERT") || self.peek_kw("UPDATE") || self.peek_kw("DELETE") {
                    let (child, end) = self.dml();
                    self.pos = end;
                    child
                } else {
                    // Not allowed in a batch: skip to the next statement.
                    self.pos += 1;
                    while !self.ends_statement(self.pos) {
                        self.pos += 1;
                    }
                    blank(StatementKind::Other)
                };
            children.push(child);
        }
        info.is_conditional = children.iter().any(|c| c.is_conditional);
        info.calls_now = children.iter().any(|c| c.calls_now);
        info.calls_uuid = children.iter().any(|c| c.calls_uuid);
        info.calls_current_time = children.iter().any(|c| c.calls_current_time);
        info.counter = if batch_type == BatchType::Counter {
            CounterUpdate::Yes
        } else {
            children
                .iter()
                .fold(CounterUpdate::No, |acc, c| acc.max_with(c.counter))
        };
        info.batch = Some(BatchInfo {
            batch_type,
            children,
            applied,
        });
        info
    }

    /// `CREATE`, `ALTER` or `DROP` at token 0.
    fn schema(&mut self) -> StatementInfo<'a> {
        let op = if self.kw_at(0, "CREATE") {
            DdlOp::Create
        } else if self.kw_at(0, "ALTER") {
            DdlOp::Alter
        } else {
            DdlOp::Drop
        };
        self.pos = 1;
        if op == DdlOp::Create && self.eat_kw("OR") {
            self.eat_kw("REPLACE");
        }
        if self.peek_kw("ROLE") || self.peek_kw("USER") {
            return blank(StatementKind::Dcl(match op {
                DdlOp::Create => DclKind::CreateRole,
                DdlOp::Alter => DclKind::AlterRole,
                _ => DclKind::DropRole,
            }));
        }
        if op == DdlOp::Drop && self.peek_kw("IDENTITY") {
            return blank(StatementKind::Dcl(DclKind::DropIdentity));
        }
        let object = self.schema_object();
        let mut info = blank(StatementKind::Ddl(DdlKind { op, object }));
        info.is_schema_change = true;
        self.skip_if_exists();
        match object {
            SchemaObject::Keyspace => info.keyspace = self.ident_at(self.pos),
            SchemaObject::Table | SchemaObject::MaterializedView => {
                (info.keyspace, info.table) = self.qualified_name();
            }
            SchemaObject::Index if op == DdlOp::Create => {
                // `CREATE INDEX [name] ON [ks.]table`: report the table.
                if !self.peek_kw("ON") {
                    self.qualified_name();
                }
                if self.eat_kw("ON") {
                    (info.keyspace, info.table) = self.qualified_name();
                }
            }
            SchemaObject::Trigger => {
                // `... TRIGGER name ON [ks.]table`.
                self.qualified_name();
                if self.eat_kw("ON") {
                    (info.keyspace, info.table) = self.qualified_name();
                }
            }
            SchemaObject::Index
            | SchemaObject::Type
            | SchemaObject::Function
            | SchemaObject::Aggregate => info.keyspace = self.qualified_name().0,
            SchemaObject::Other => {}
        }
        info
    }

    /// The object word(s) after `CREATE`/`ALTER`/`DROP`, consumed.
    fn schema_object(&mut self) -> SchemaObject {
        let one_word = [
            ("KEYSPACE", SchemaObject::Keyspace),
            ("SCHEMA", SchemaObject::Keyspace),
            ("TABLE", SchemaObject::Table),
            ("COLUMNFAMILY", SchemaObject::Table),
            ("INDEX", SchemaObject::Index),
            ("TYPE", SchemaObject::Type),
            ("FUNCTION", SchemaObject::Function),
            ("AGGREGATE", SchemaObject::Aggregate),
            ("TRIGGER", SchemaObject::Trigger),
        ];
        if self.kw_at(self.pos, "CUSTOM") && self.kw_at(self.pos + 1, "INDEX") {
            self.pos += 2;
            return SchemaObject::Index;
        }
        if self.kw_at(self.pos, "MATERIALIZED") && self.kw_at(self.pos + 1, "VIEW") {
            self.pos += 2;
            return SchemaObject::MaterializedView;
        }
        for (word, object) in one_word {
            if self.eat_kw(word) {
                return object;
            }
        }
        SchemaObject::Other
    }
}

impl CounterUpdate {
    /// The stronger of two readings: `Yes` over `Possibly` over `No`.
    fn max_with(self, other: CounterUpdate) -> CounterUpdate {
        match (self, other) {
            (CounterUpdate::Yes, _) | (_, CounterUpdate::Yes) => CounterUpdate::Yes,
            (CounterUpdate::Possibly, _) | (_, CounterUpdate::Possibly) => CounterUpdate::Possibly,
            _ => CounterUpdate::No,
        }
    }
}

/// Sets the `calls_*` flags from the calls found.
fn note_calls(info: &mut StatementInfo<'_>, calls: impl Iterator<Item = CallTokens>) {
    for call in calls {
        match call.function {
            VolatileFunction::Now => info.calls_now = true,
            VolatileFunction::Uuid => info.calls_uuid = true,
            VolatileFunction::CurrentTimestamp
            | VolatileFunction::CurrentDate
            | VolatileFunction::CurrentTime => info.calls_current_time = true,
        }
    }
}
