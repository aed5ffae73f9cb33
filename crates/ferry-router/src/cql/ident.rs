//! Names as written in a statement (`ks`, `"MyTable"`), borrowed from the
//! text, with Cassandra's rule for what they mean: unquoted names are
//! case-insensitive (lower-cased), quoted names keep their case and `""`
//! stands for one `"`.

use std::borrow::Cow;
use std::ops::Range;

use super::token::{Token, TokenKind};

/// A keyspace, table or other name in a statement, borrowed from its text.
///
/// Nothing is copied until you ask for [`name`](Identifier::name), and even
/// then only when the name differs from the text (upper-case letters in a
/// bare name, `""` in a quoted one). Comparing with a `&str` compares
/// against the name, without allocating.
///
/// ```
/// use ferry_router::cql::classify;
/// let info = classify(r#"SELECT * FROM MyKs."My""Table" WHERE k = 1"#);
/// let ks = info.keyspace.unwrap();
/// let table = info.table.unwrap();
/// assert_eq!(ks.raw(), "MyKs");
/// assert_eq!(ks.name(), "myks");
/// assert!(!ks.is_quoted());
/// assert_eq!(table.name(), "My\"Table");
/// assert!(table.is_quoted());
/// assert_eq!(table, "My\"Table");
/// assert_ne!(table, "my\"table");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Identifier<'a> {
    /// The token text, quotes included.
    raw: &'a str,
    /// Byte offset of `raw` in the statement text.
    start: usize,
}

impl<'a> Identifier<'a> {
    /// The identifier for a name token of `src`; `None` for other tokens.
    pub(crate) fn from_token(src: &'a str, token: &Token) -> Option<Self> {
        token.kind.is_name().then(|| Identifier {
            raw: token.text(src),
            start: token.span().start,
        })
    }

    /// The name exactly as written, quotes included.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// Where the name is in the statement text (byte range).
    pub fn span(&self) -> Range<usize> {
        self.start..self.start.saturating_add(self.raw.len())
    }

    /// Whether the name was double-quoted (and so keeps its case).
    pub fn is_quoted(&self) -> bool {
        self.raw.starts_with('"')
    }

    /// The name Cassandra uses: a bare name lower-cased, a quoted one
    /// unquoted with `""` turned into `"`. Borrows when it can.
    pub fn name(&self) -> Cow<'a, str> {
        if let Some(inner) = self.quoted_inner() {
            if inner.contains("\"\"") {
                Cow::Owned(inner.replace("\"\"", "\""))
            } else {
                Cow::Borrowed(inner)
            }
        } else if self.raw.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(self.raw.to_ascii_lowercase())
        } else {
            Cow::Borrowed(self.raw)
        }
    }

    /// Whether this names the same thing as `other` (`Foo` and `"foo"` do,
    /// `"Foo"` and `foo` do not). Does not allocate.
    pub fn same_name(&self, other: &Identifier<'_>) -> bool {
        self.name_bytes().eq(other.name_bytes())
    }

    /// The bytes of [`name`](Identifier::name), computed on the fly.
    fn name_bytes(&self) -> NameBytes<'a> {
        match self.quoted_inner() {
            Some(inner) => NameBytes::Quoted(inner.as_bytes().iter()),
            None => NameBytes::Bare(self.raw.as_bytes().iter()),
        }
    }

    /// Between the quotes of a quoted name.
    fn quoted_inner(&self) -> Option<&'a str> {
        self.raw.strip_prefix('"')?.strip_suffix('"').or(Some(""))
    }
}

impl PartialEq<str> for Identifier<'_> {
    /// Compares the *name* (see [`Identifier::name`]) with `other`.
    fn eq(&self, other: &str) -> bool {
        self.name_bytes().eq(other.bytes())
    }
}

impl PartialEq<&str> for Identifier<'_> {
    /// Compares the *name* (see [`Identifier::name`]) with `other`.
    fn eq(&self, other: &&str) -> bool {
        self == *other
    }
}

/// Whether a token is a name equal to `name` (already normalised).
pub(crate) fn token_names(src: &str, token: &Token, name: &str) -> bool {
    match token.kind {
        TokenKind::Ident => token.text(src).eq_ignore_ascii_case(name),
        TokenKind::QuotedIdent => Identifier::from_token(src, token).is_some_and(|id| id == name),
        _ => false,
    }
}

/// Iterator over a name's normalised bytes.
enum NameBytes<'a> {
    Bare(std::slice::Iter<'a, u8>),
    Quoted(std::slice::Iter<'a, u8>),
}

impl Iterator for NameBytes<'_> {
    type Item = u8;

    fn next(&mut self) -> Option<u8> {
        match self {
            NameBytes::Bare(bytes) => bytes.next().map(u8::to_ascii_lowercase),
            NameBytes::Quoted(bytes) => {
                let b = *bytes.next()?;
                if b == b'"' {
                    // The lexer only lets `"` inside a quoted name as `""`.
                    bytes.next();
                }
                Some(b)
            }
        }
    }
}
