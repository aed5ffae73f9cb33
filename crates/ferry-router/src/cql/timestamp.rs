//! Adding `USING TIMESTAMP` to a write's text.
//!
//! Protocol v2 has no "default timestamp" in QUERY, EXECUTE or BATCH, so
//! the only way for the proxy to give a v2 client's write the same write
//! time on both clusters is in the statement text: a literal for QUERY, a
//! bind marker for PREPARE (the proxy then supplies its value with every
//! EXECUTE).
//!
//! Where the clause goes follows the Cassandra 2.1 grammar:
//!
//! - `INSERT INTO t (..) VALUES (..) [IF NOT EXISTS] [USING ...]`: at the
//!   end (before a trailing `;`);
//! - `UPDATE t [USING ...] SET ... WHERE ...`: right after the table name,
//!   so its marker comes before the SET and WHERE markers;
//! - `DELETE [cols] FROM t [USING TIMESTAMP ...] WHERE ...`: after the
//!   table name;
//! - `BEGIN [UNLOGGED] BATCH [USING TIMESTAMP ...] ... APPLY BATCH`: after
//!   `BATCH` (the children then must not have their own, which callers
//!   check with [`StatementInfo::may_add_timestamp`](super::StatementInfo::may_add_timestamp)).
//!
//! An existing `USING TTL x` is extended to `USING TTL x AND TIMESTAMP t`.
//! Callers decide *whether* a statement may get a timestamp (not an LWT,
//! not a counter update, no `USING TIMESTAMP` already); this module only
//! decides *where*, and refuses (`None`) text whose shape it does not
//! recognise.

use super::lexer::Lexer;
use super::token::{Token, TokenKind};

/// `text` with a `USING TIMESTAMP <value>` clause added, and how many bind
/// markers come before `value` (its index when `value` is `?`).
///
/// `value` is written as given: a literal (`1437000000000000`) or a bind
/// marker (`?`). `None` if the text is not an INSERT, UPDATE, DELETE or
/// non-counter `BEGIN BATCH` the function can place the clause in, or
/// already sets a timestamp.
///
/// ```
/// use ferry_router::cql::add_using_timestamp;
/// let (text, before) = add_using_timestamp("UPDATE ks.t SET v = ? WHERE k = ?", "?").unwrap();
/// assert_eq!(text, "UPDATE ks.t USING TIMESTAMP ? SET v = ? WHERE k = ?");
/// assert_eq!(before, 0);
/// let (text, before) = add_using_timestamp("INSERT INTO t (k) VALUES (?) USING TTL ?;", "7").unwrap();
/// assert_eq!(text, "INSERT INTO t (k) VALUES (?) USING TTL ? AND TIMESTAMP 7;");
/// assert_eq!(before, 2);
/// assert!(add_using_timestamp("SELECT * FROM t", "7").is_none());
/// ```
pub fn add_using_timestamp(text: &str, value: &str) -> Option<(String, usize)> {
    let tokens: Vec<Token> = Lexer::new(text).significant().collect();
    let slot = slot(text, &tokens)?;
    let at = tokens.get(slot.after)?.end as usize;
    let clause = if slot.merge {
        format!(" AND TIMESTAMP {value}")
    } else {
        format!(" USING TIMESTAMP {value}")
    };
    let mut out = String::with_capacity(text.len() + clause.len());
    out.push_str(text.get(..at)?);
    out.push_str(&clause);
    out.push_str(text.get(at..)?);
    let before = tokens
        .iter()
        .take(slot.after + 1)
        .filter(|t| t.kind.is_marker())
        .count();
    Some((out, before))
}

/// Where the clause goes: after token `after`; `merge` when it extends an
/// existing `USING` clause.
struct Slot {
    after: usize,
    merge: bool,
}

fn slot(src: &str, tokens: &[Token]) -> Option<Slot> {
    let kw = |i: usize, k: &str| tokens.get(i).is_some_and(|t| t.is_keyword(src, k));
    // Without trailing semicolons.
    let mut end = tokens.len();
    while end > 0 && tokens[end - 1].kind == TokenKind::Semicolon {
        end -= 1;
    }
    let tokens = tokens.get(..end)?;
    if kw(0, "insert") {
        if !kw(1, "into") {
            return None;
        }
        let last = tokens.len().checked_sub(1)?;
        return Some(match using_at_depth_zero(src, tokens, 2) {
            Some(using) => Slot {
                after: using_clause_end(src, tokens, using)?,
                merge: true,
            },
            None => Slot {
                after: last,
                merge: false,
            },
        });
    }
    if kw(0, "update") {
        let name_end = table_name_end(tokens, 1)?;
        return after_name(src, tokens, name_end);
    }
    if kw(0, "delete") {
        let from = (1..tokens.len()).find(|&i| {
            kw(i, "from")
                && depth_before(tokens, i) == 0
                && tokens.get(i + 1).is_some_and(|t| t.kind.is_name())
                && !kw(i + 1, "from")
        })?;
        let name_end = table_name_end(tokens, from + 1)?;
        return after_name(src, tokens, name_end);
    }
    if kw(0, "begin") {
        let batch = match () {
            () if kw(1, "batch") => 1,
            () if kw(1, "unlogged") && kw(2, "batch") => 2,
            _ => return None, // COUNTER batches refuse timestamps
        };
        if kw(batch + 1, "using") {
            return None; // the batch has its own timestamp
        }
        return Some(Slot {
            after: batch,
            merge: false,
        });
    }
    None
}

/// After a table name ending at `name_end` (UPDATE, DELETE): a new clause
/// there, or an extension of the `USING` clause that follows.
fn after_name(src: &str, tokens: &[Token], name_end: usize) -> Option<Slot> {
    if tokens
        .get(name_end + 1)
        .is_some_and(|t| t.is_keyword(src, "using"))
    {
        return Some(Slot {
            after: using_clause_end(src, tokens, name_end + 1)?,
            merge: true,
        });
    }
    // Something must follow the name (SET, WHERE), or it is not a statement.
    tokens.get(name_end + 1)?;
    Some(Slot {
        after: name_end,
        merge: false,
    })
}

/// The last token of `name` or `ks.name` starting at `i`.
fn table_name_end(tokens: &[Token], i: usize) -> Option<usize> {
    if !tokens.get(i)?.kind.is_name() {
        return None;
    }
    let dotted = tokens.get(i + 1).is_some_and(|t| t.kind == TokenKind::Dot)
        && tokens.get(i + 2).is_some_and(|t| t.kind.is_name());
    Some(if dotted { i + 2 } else { i })
}

/// The last token of `USING obj (AND obj)*` starting at `using`, where
/// `obj` is `TTL v` or `TIMESTAMP v`. `None` if it already sets a
/// timestamp or does not have that shape.
fn using_clause_end(src: &str, tokens: &[Token], using: usize) -> Option<usize> {
    let mut i = using + 1;
    loop {
        let word = tokens.get(i)?;
        if word.is_keyword(src, "timestamp") || !word.is_keyword(src, "ttl") {
            return None;
        }
        let value = tokens.get(i + 1)?;
        if !(value.kind == TokenKind::Integer || value.kind.is_marker()) {
            return None;
        }
        if tokens.get(i + 2).is_some_and(|t| t.is_keyword(src, "and")) {
            i += 3;
        } else {
            return Some(i + 1);
        }
    }
}

/// A `USING` keyword outside parentheses, at or after `from`.
fn using_at_depth_zero(src: &str, tokens: &[Token], from: usize) -> Option<usize> {
    let mut depth = 0i32;
    for (i, t) in tokens.iter().enumerate() {
        match t.kind {
            TokenKind::LParen | TokenKind::LBracket | TokenKind::LBrace => depth += 1,
            TokenKind::RParen | TokenKind::RBracket | TokenKind::RBrace => depth -= 1,
            _ if i >= from && depth == 0 && t.is_keyword(src, "using") => return Some(i),
            _ => {}
        }
    }
    None
}

/// Bracket depth before token `i`.
fn depth_before(tokens: &[Token], i: usize) -> i32 {
    tokens.iter().take(i).fold(0, |d, t| match t.kind {
        TokenKind::LParen | TokenKind::LBracket | TokenKind::LBrace => d + 1,
        TokenKind::RParen | TokenKind::RBracket | TokenKind::RBrace => d - 1,
        _ => d,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(text: &str) -> Option<(String, usize)> {
        add_using_timestamp(text, "?")
    }

    #[test]
    fn inserts_get_the_clause_at_the_end() {
        assert_eq!(
            add("INSERT INTO ks.t (k, v) VALUES (?, ?)").unwrap(),
            (
                "INSERT INTO ks.t (k, v) VALUES (?, ?) USING TIMESTAMP ?".into(),
                2
            )
        );
        assert_eq!(
            add_using_timestamp("insert into t (k) values (1) ; ", "5")
                .unwrap()
                .0,
            "insert into t (k) values (1) USING TIMESTAMP 5 ; "
        );
        // A comment at the end stays at the end.
        assert_eq!(
            add("INSERT INTO t (k) VALUES (?) -- note").unwrap().0,
            "INSERT INTO t (k) VALUES (?) USING TIMESTAMP ? -- note"
        );
    }

    #[test]
    fn ttl_clauses_are_extended() {
        assert_eq!(
            add("INSERT INTO t (k) VALUES (?) USING TTL 60").unwrap(),
            (
                "INSERT INTO t (k) VALUES (?) USING TTL 60 AND TIMESTAMP ?".into(),
                1
            )
        );
        assert_eq!(
            add("UPDATE t USING TTL ? SET v = ? WHERE k = ?").unwrap(),
            (
                "UPDATE t USING TTL ? AND TIMESTAMP ? SET v = ? WHERE k = ?".into(),
                1
            )
        );
    }

    #[test]
    fn updates_and_deletes_get_it_after_the_table() {
        assert_eq!(
            add("UPDATE \"Ks\".t SET v = ? WHERE k = ?").unwrap(),
            (
                "UPDATE \"Ks\".t USING TIMESTAMP ? SET v = ? WHERE k = ?".into(),
                0
            )
        );
        assert_eq!(
            add("DELETE m[?], v FROM t WHERE k = ?").unwrap(),
            (
                "DELETE m[?], v FROM t USING TIMESTAMP ? WHERE k = ?".into(),
                1
            )
        );
        assert_eq!(
            add("DELETE FROM ks.t\nWHERE k = 1").unwrap().0,
            "DELETE FROM ks.t USING TIMESTAMP ?\nWHERE k = 1"
        );
    }

    #[test]
    fn batches_get_it_after_batch() {
        assert_eq!(
            add_using_timestamp(
                "BEGIN UNLOGGED BATCH INSERT INTO t (k) VALUES (1); APPLY BATCH",
                "9"
            )
            .unwrap()
            .0,
            "BEGIN UNLOGGED BATCH USING TIMESTAMP 9 INSERT INTO t (k) VALUES (1); APPLY BATCH"
        );
        assert!(
            add("BEGIN COUNTER BATCH UPDATE t SET c = c + 1 WHERE k = 1; APPLY BATCH").is_none()
        );
        assert!(add("BEGIN BATCH USING TIMESTAMP 5 APPLY BATCH").is_none());
    }

    #[test]
    fn own_timestamps_and_other_statements_are_left_alone() {
        assert!(add("INSERT INTO t (k) VALUES (1) USING TIMESTAMP 5").is_none());
        assert!(add("INSERT INTO t (k) VALUES (1) USING TTL 5 AND TIMESTAMP 5").is_none());
        assert!(add("UPDATE t USING TIMESTAMP 5 SET v = 1 WHERE k = 1").is_none());
        assert!(add("SELECT * FROM t").is_none());
        assert!(add("TRUNCATE t").is_none());
        assert!(add("UPDATE").is_none());
        assert!(add("DELETE FROM").is_none());
        assert!(add("").is_none());
    }
}
