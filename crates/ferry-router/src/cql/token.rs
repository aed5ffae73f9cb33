//! Tokens: what the lexer hands out. A token is a kind plus a byte span into
//! the statement text; it owns nothing, so lexing allocates nothing.

use std::ops::Range;

/// What a [`Token`] is.
///
/// Keywords are not a kind of their own: CQL has many unreserved keywords
/// that are also valid column names (`ttl`, `timestamp`, `key`, ...), so the
/// lexer calls every bare word an [`Ident`](TokenKind::Ident) and the
/// classifier decides from context, comparing case-insensitively with
/// [`Token::is_keyword`].
///
/// ```
/// use ferry_router::cql::{Lexer, TokenKind};
/// let kinds: Vec<TokenKind> = Lexer::new("x = ?").significant().map(|t| t.kind).collect();
/// assert_eq!(kinds, [TokenKind::Ident, TokenKind::Eq, TokenKind::Marker]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// Spaces, tabs, newlines (ASCII whitespace).
    Whitespace,
    /// `-- ...` or `// ...` up to (not including) the end of the line, or a
    /// terminated `/* ... */`.
    Comment,
    /// A bare word `[A-Za-z_][A-Za-z0-9_]*`: a keyword or an unquoted name.
    Ident,
    /// A double-quoted name, `"Foo"" bar"` (`""` stands for one `"`).
    QuotedIdent,
    /// A single-quoted string, `'it''s'` (`''` stands for one `'`).
    String,
    /// A dollar-quoted string, `$$ anything $$` (no escapes).
    DollarString,
    /// An integer, `42` or `-7`.
    Integer,
    /// A float: `1.5`, `-1.5e10`, `2E-3`, `NaN`, `Infinity`, `-Infinity`.
    Float,
    /// A hex blob, `0xCAFE` (also `0x` alone, the empty blob).
    Blob,
    /// A UUID literal, `123e4567-e89b-12d3-a456-426655440000`.
    Uuid,
    /// A duration literal in unit form, `1h30m`, `-2d`, `500ms`.
    Duration,
    /// A positional bind marker, `?`.
    Marker,
    /// A named bind marker, `:name` or `:"Name"` (the span covers the colon).
    NamedMarker,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `[`
    LBracket,
    /// `]`
    RBracket,
    /// `{`
    LBrace,
    /// `}`
    RBrace,
    /// `,`
    Comma,
    /// `;`
    Semicolon,
    /// `.`
    Dot,
    /// `:` as a map or user-type separator (`{'k': 1}`).
    Colon,
    /// `=`
    Eq,
    /// `!=`
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    LtEq,
    /// `>`
    Gt,
    /// `>=`
    GtEq,
    /// `+`
    Plus,
    /// `-` when it does not start a number or a comment.
    Minus,
    /// `*`
    Star,
    /// `/` when it does not start a comment.
    Slash,
    /// `%`
    Percent,
    /// A string, quoted name, dollar string or block comment that never
    /// closes; it runs to the end of the text. The server would reject the
    /// statement; the lexer just keeps going (there is nothing after it).
    Unterminated,
    /// Any other character (one character, possibly multi-byte).
    Unknown,
}

impl TokenKind {
    /// Whitespace or a comment: tokens the classifier skips.
    pub fn is_trivia(self) -> bool {
        matches!(self, TokenKind::Whitespace | TokenKind::Comment)
    }

    /// A bind marker, positional or named.
    pub fn is_marker(self) -> bool {
        matches!(self, TokenKind::Marker | TokenKind::NamedMarker)
    }

    /// A literal constant (string, number, blob, uuid, duration).
    pub fn is_literal(self) -> bool {
        matches!(
            self,
            TokenKind::String
                | TokenKind::DollarString
                | TokenKind::Integer
                | TokenKind::Float
                | TokenKind::Blob
                | TokenKind::Uuid
                | TokenKind::Duration
        )
    }

    /// A numeric literal (integer or float).
    pub fn is_number(self) -> bool {
        matches!(self, TokenKind::Integer | TokenKind::Float)
    }

    /// A name, bare or quoted.
    pub fn is_name(self) -> bool {
        matches!(self, TokenKind::Ident | TokenKind::QuotedIdent)
    }
}

/// One token: its kind and the byte range it covers in the text it came
/// from.
///
/// ```
/// use ferry_router::cql::{Lexer, TokenKind};
/// let text = "SELECT * FROM ks.t";
/// let from = Lexer::new(text).significant().nth(2).unwrap();
/// assert_eq!(from.kind, TokenKind::Ident);
/// assert_eq!(from.text(text), "FROM");
/// assert!(from.is_keyword(text, "from"));
/// assert_eq!(from.span(), 9..13);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Token {
    /// What the token is.
    pub kind: TokenKind,
    /// Byte offset of the first byte. (Offsets are `u32` to keep a token
    /// at 12 bytes, which the lexer hands back in registers; a CQL query
    /// is at most 2 GiB.)
    pub start: u32,
    /// Byte offset one past the last byte.
    pub end: u32,
}

impl Token {
    /// The byte range `start..end`.
    pub fn span(&self) -> Range<usize> {
        self.start as usize..self.end as usize
    }

    /// The token's text in `src` (the text it was lexed from). Empty if
    /// `src` is some other, shorter text: never panics.
    pub fn text<'a>(&self, src: &'a str) -> &'a str {
        src.get(self.span()).unwrap_or("")
    }

    /// Whether this is a bare word equal to `keyword`, ignoring ASCII case.
    /// Quoted names are never keywords (`"select"` is a column name).
    pub fn is_keyword(&self, src: &str, keyword: &str) -> bool {
        self.kind == TokenKind::Ident && self.text(src).eq_ignore_ascii_case(keyword)
    }
}
