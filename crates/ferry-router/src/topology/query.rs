//! Which SELECTs the topology mode answers: `SELECT * | col [AS alias], ...
//! FROM system.local | system.peers | system.peers_v2 [WHERE ...] [LIMIT n]`.
//!
//! `WHERE` is a conjunction of `column = value` and `column IN (values)`,
//! values being literals or bind markers (drivers ask
//! `WHERE key='local'`, `WHERE peer = ?`, `WHERE peer = :address AND
//! peer_port = :port`); the proxy evaluates it on the rows it
//! synthesizes (see [`super::filter`]). A WHERE of another shape is not
//! evaluated (every row is returned, and a PREPARE of it goes to the
//! source). Selections with functions or `JSON` are left to the source.

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

/// A value in a WHERE or LIMIT clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Operand {
    /// A constant, as written (strings without their quotes).
    Literal { kind: TokenKind, text: String },
    /// A bind marker: its position among the statement's markers, and its
    /// name for `:name` markers.
    Marker { index: usize, name: Option<String> },
}

/// `column = value` (one operand) or `column IN (values)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Condition {
    pub(crate) column: String,
    pub(crate) operands: Vec<Operand>,
}

/// A recognised topology query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TopologyQuery {
    pub(crate) table: SystemTable,
    /// `None` for `*`.
    pub(crate) selection: Option<Vec<Selector>>,
    /// The WHERE conditions (all must hold); `None` when the WHERE clause
    /// has a shape the proxy does not evaluate.
    pub(crate) conditions: Option<Vec<Condition>>,
    /// `LIMIT n` or `LIMIT ?`.
    pub(crate) limit: Option<Operand>,
    /// For each bind marker, in order, the column it restricts (`[limit]`
    /// for LIMIT's): the bind variables of a PREPARE.
    pub(crate) markers: Vec<String>,
    /// The request's bound values (QUERY with values, EXECUTE).
    pub(crate) values: Option<ferry_wire::request::BoundValues>,
    /// Set when answering a PREPARE: the prepared id to answer with.
    pub(crate) prepare_id: Option<bytes::Bytes>,
}

impl TopologyQuery {
    /// Whether the proxy can answer a PREPARE of it (its WHERE clause, if
    /// any, is one it evaluates).
    pub(crate) fn preparable(&self) -> bool {
        self.conditions.is_some()
    }
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
    let mut query = TopologyQuery {
        table,
        selection,
        conditions: None,
        limit: None,
        markers: Vec::new(),
        values: None,
        prepare_id: None,
    };
    let mut tail = Tail {
        cursor: p,
        markers: Vec::new(),
    };
    if let Some((conditions, limit)) = tail.parse() {
        query.conditions = Some(conditions);
        query.limit = limit;
        query.markers = tail.markers;
    }
    Some(query)
}

/// The clauses after the table name, with the markers met.
struct Tail<'a, 't> {
    cursor: Cursor<'a, 't>,
    markers: Vec<String>,
}

impl Tail<'_, '_> {
    /// `[WHERE cond (AND cond)*] [LIMIT v] [ALLOW FILTERING] [;]`, or
    /// `None` if the rest has another shape.
    fn parse(&mut self) -> Option<(Vec<Condition>, Option<Operand>)> {
        let mut conditions = Vec::new();
        if self.cursor.keyword("where") {
            loop {
                conditions.push(self.condition()?);
                if !self.cursor.keyword("and") {
                    break;
                }
            }
        }
        let limit = if self.cursor.keyword("limit") {
            Some(self.operand("[limit]")?)
        } else {
            None
        };
        if self.cursor.keyword("allow") && !self.cursor.keyword("filtering") {
            return None;
        }
        self.cursor.eat(TokenKind::Semicolon);
        (self.cursor.pos == self.cursor.toks.len()).then_some((conditions, limit))
    }

    fn condition(&mut self) -> Option<Condition> {
        let column = self.cursor.name()?;
        let mut operands = Vec::new();
        if self.cursor.eat(TokenKind::Eq) {
            operands.push(self.operand(&column)?);
        } else if self.cursor.keyword("in") && self.cursor.eat(TokenKind::LParen) {
            loop {
                operands.push(self.operand(&column)?);
                if !self.cursor.eat(TokenKind::Comma) {
                    break;
                }
            }
            if !self.cursor.eat(TokenKind::RParen) {
                return None;
            }
        } else {
            return None;
        }
        Some(Condition { column, operands })
    }

    /// A literal or a bind marker (recorded as restricting `column`).
    fn operand(&mut self, column: &str) -> Option<Operand> {
        let c = &mut self.cursor;
        let token = *c.toks.get(c.pos)?;
        let raw = token.text(c.src);
        let operand = match token.kind {
            TokenKind::Marker | TokenKind::NamedMarker => {
                let name = (token.kind == TokenKind::NamedMarker).then(|| marker_name(raw));
                self.markers.push(column.to_owned());
                Operand::Marker {
                    index: self.markers.len() - 1,
                    name,
                }
            }
            TokenKind::String => Operand::Literal {
                kind: token.kind,
                text: raw
                    .get(1..raw.len().saturating_sub(1))
                    .unwrap_or("")
                    .replace("''", "'"),
            },
            TokenKind::Integer | TokenKind::Uuid => Operand::Literal {
                kind: token.kind,
                text: raw.to_owned(),
            },
            _ => return None,
        };
        c.pos += 1;
        Some(operand)
    }
}

/// A named marker's name (`:Name` is `name`, `:"Name"` is `Name`).
fn marker_name(raw: &str) -> String {
    let name = raw.trim_start_matches(':');
    match name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
        Some(quoted) => quoted.replace("\"\"", "\""),
        None => name.to_ascii_lowercase(),
    }
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

    fn literal(kind: TokenKind, text: &str) -> Operand {
        Operand::Literal {
            kind,
            text: text.to_owned(),
        }
    }

    #[test]
    fn where_clauses_drivers_send_are_understood() {
        let q = recognize("SELECT * FROM system.local WHERE key='local'", None).unwrap();
        assert_eq!(
            q.conditions,
            Some(vec![Condition {
                column: "key".into(),
                operands: vec![literal(TokenKind::String, "local")],
            }])
        );
        let q = recognize(
            "SELECT * FROM system.peers_v2 WHERE peer = :address and PEER_PORT = :\"Port\"",
            None,
        )
        .unwrap();
        let conditions = q.conditions.unwrap();
        assert_eq!(conditions[1].column, "peer_port");
        assert_eq!(
            conditions[1].operands,
            [Operand::Marker {
                index: 1,
                name: Some("Port".into())
            }]
        );
        assert_eq!(q.markers, ["peer", "peer_port"]);
        let q = recognize(
            "SELECT peer FROM system.peers WHERE peer IN ('127.0.0.1', ?) LIMIT ? ALLOW FILTERING;",
            None,
        )
        .unwrap();
        assert_eq!(
            q.conditions.unwrap()[0].operands,
            [
                literal(TokenKind::String, "127.0.0.1"),
                Operand::Marker {
                    index: 0,
                    name: None
                }
            ]
        );
        assert_eq!(
            q.limit,
            Some(Operand::Marker {
                index: 1,
                name: None
            })
        );
        assert_eq!(q.markers, ["peer", "[limit]"]);
        // Other shapes: recognised, not evaluated, not preparable.
        let q = recognize("SELECT * FROM system.peers WHERE token(peer) > 0", None).unwrap();
        assert!(q.conditions.is_none() && !q.preparable());
        assert!(recognize("SELECT * FROM system.peers", None)
            .unwrap()
            .preparable());
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
