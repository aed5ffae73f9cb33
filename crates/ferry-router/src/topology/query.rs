//! Which SELECTs the topology mode answers: `SELECT * | col [AS alias], ...
//! FROM system.local | system.peers | system.peers_v2 [WHERE ...]`.
//!
//! `WHERE` is not evaluated: `system.local` has one row, and the answer
//! lists every other instance for the peers tables (drivers filter by
//! `peer` only when the source announced a new node, which in this mode
//! the client never connects to). Selections with functions or `JSON` are
//! left to the source.

use crate::cql::{Identifier, Lexer, Token, TokenKind};

/// A system table the topology mode rewrites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SystemTable {
    Local,
    Peers,
    PeersV2,
}

impl SystemTable {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Peers => "peers",
            Self::PeersV2 => "peers_v2",
        }
    }
}

/// One selected column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Selector {
    /// The column's name.
    pub(crate) column: String,
    /// The name the result shows (the alias, or the column).
    pub(crate) shown: String,
}

/// A recognised topology query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TopologyQuery {
    pub(crate) table: SystemTable,
    /// `None` for `*`.
    pub(crate) selection: Option<Vec<Selector>>,
}

/// The topology query in `text`, run in `keyspace` (the connection's), or
/// `None` if it is anything else.
pub(crate) fn recognize(text: &str, keyspace: Option<&str>) -> Option<TopologyQuery> {
    let tokens: Vec<Token> = Lexer::new(text).significant().collect();
    let mut p = Cursor {
        src: text,
        toks: &tokens,
        pos: 0,
    };
    if !p.keyword("select") {
        return None;
    }
    if p.peek_keyword("json") {
        return None;
    }
    let selection = if p.eat(TokenKind::Star) {
        None
    } else {
        let mut list = Vec::new();
        loop {
            let column = p.name()?;
            let shown = if p.keyword("as") {
                p.name()?
            } else {
                column.clone()
            };
            list.push(Selector { column, shown });
            if !p.eat(TokenKind::Comma) {
                break;
            }
        }
        Some(list)
    };
    if !p.keyword("from") {
        return None;
    }
    let first = p.name()?;
    let (ks, table) = if p.eat(TokenKind::Dot) {
        (Some(first), p.name()?)
    } else {
        (keyspace.map(str::to_owned), first)
    };
    if ks.as_deref() != Some("system") {
        return None;
    }
    let table = match table.as_str() {
        "local" => SystemTable::Local,
        "peers" => SystemTable::Peers,
        "peers_v2" => SystemTable::PeersV2,
        _ => return None,
    };
    // Only WHERE, LIMIT, ALLOW FILTERING or the end may follow.
    match p.toks.get(p.pos) {
        None => {}
        Some(t) if t.kind == TokenKind::Semicolon => {}
        Some(t)
            if t.is_keyword(text, "where")
                || t.is_keyword(text, "limit")
                || t.is_keyword(text, "allow") => {}
        Some(_) => return None,
    }
    Some(TopologyQuery { table, selection })
}

struct Cursor<'a, 't> {
    src: &'a str,
    toks: &'t [Token],
    pos: usize,
}

impl Cursor<'_, '_> {
    fn peek_keyword(&self, word: &str) -> bool {
        self.toks
            .get(self.pos)
            .is_some_and(|t| t.is_keyword(self.src, word))
    }

    fn keyword(&mut self, word: &str) -> bool {
        let found = self.peek_keyword(word);
        if found {
            self.pos += 1;
        }
        found
    }

    fn eat(&mut self, kind: TokenKind) -> bool {
        let found = self.toks.get(self.pos).is_some_and(|t| t.kind == kind);
        if found {
            self.pos += 1;
        }
        found
    }

    /// A name, as Cassandra reads it; not followed by `(` (a function).
    fn name(&mut self) -> Option<String> {
        let token = self.toks.get(self.pos)?;
        let id = Identifier::from_token(self.src, token)?;
        if self
            .toks
            .get(self.pos + 1)
            .is_some_and(|t| t.kind == TokenKind::LParen)
        {
            return None;
        }
        self.pos += 1;
        Some(id.name().into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(list: &[(&str, &str)]) -> Option<Vec<Selector>> {
        Some(
            list.iter()
                .map(|(c, s)| Selector {
                    column: (*c).to_owned(),
                    shown: (*s).to_owned(),
                })
                .collect(),
        )
    }

    #[test]
    fn recognises_driver_queries() {
        let q = recognize("SELECT * FROM system.local WHERE key='local'", None).unwrap();
        assert_eq!((q.table, q.selection), (SystemTable::Local, None));
        let q = recognize("select * from system.PEERS_V2", Some("ks")).unwrap();
        assert_eq!(q.table, SystemTable::PeersV2);
        let q = recognize(
            "SELECT peer, rpc_address AS addr, \"schema_version\" FROM system.peers",
            None,
        )
        .unwrap();
        assert_eq!(q.table, SystemTable::Peers);
        assert_eq!(
            q.selection,
            sel(&[
                ("peer", "peer"),
                ("rpc_address", "addr"),
                ("schema_version", "schema_version")
            ])
        );
        // Unqualified, in the system keyspace.
        assert!(recognize("SELECT * FROM local;", Some("system")).is_some());
    }

    #[test]
    fn leaves_everything_else_alone() {
        for text in [
            "SELECT * FROM local",
            "SELECT * FROM ks.local",
            "SELECT * FROM system.schema_keyspaces",
            "SELECT count(*) FROM system.peers",
            "SELECT JSON * FROM system.local",
            "SELECT * FROM system.\"Local\"",
            "INSERT INTO system.local (key) VALUES ('x')",
            "SELECT * FROM system.peers extra",
        ] {
            assert_eq!(recognize(text, None), None, "{text}");
        }
    }
}
