//! The CQL lexer: text in, [`Token`]s out, for anything a client may send.
//!
//! The lexer never fails and never panics. Whatever it does not recognise
//! becomes an [`Unknown`](TokenKind::Unknown) token of one character; a
//! string or comment that never closes becomes one
//! [`Unterminated`](TokenKind::Unterminated) token running to the end. Every
//! token is at least one character long and starts where the previous one
//! ended, so the tokens tile the text exactly: the classifier can trust that
//! nothing was skipped, and the rewriter can copy the text between tokens.
//!
//! The small pieces (a quoted string with doubled quotes, a number with an
//! exponent, a comment) are nom parsers over the text's bytes (every CQL
//! delimiter is ASCII, so byte offsets stay on char boundaries); the
//! dispatch on the first byte is a plain `match`, which keeps the common
//! case (words, spaces, punctuation) to one branch per token.
//!
//! It follows Cassandra's own lexer (`Lexer.g`) where that matters for
//! classification: `-3` is one number token (so `c = c -3` is a counter
//! update, as Cassandra parses it), `1h30m` is one duration token, `NaN` and
//! `Infinity` are numbers, and comments are `--`, `//` and non-nesting
//! `/* */`.

use nom::branch::alt;
use nom::bytes::complete::{
    is_not, tag, take_till, take_until, take_while, take_while1, take_while_m_n,
};
use nom::character::complete::{digit0, digit1, one_of};
use nom::combinator::{opt, recognize};
use nom::multi::many0_count;
use nom::{IResult, Parser};

use super::token::{Token, TokenKind};

/// A nom result whose error carries nothing: the lexer never reports why a
/// sub-parser did not match, it just tries the next reading.
type Lex<'a> = IResult<&'a [u8], &'a [u8], ()>;

/// Turns CQL text into tokens, whitespace and comments included.
///
/// Iterate it for every token, or call [`significant`](Lexer::significant)
/// to skip whitespace and comments.
///
/// Whether `:` starts a named bind marker depends on context (`{'k':v}` is
/// a map, `= :v` a marker), so the lexer remembers how deep it is in `{}`
/// and whether the previous token ended a term. That is the only state it
/// keeps.
///
/// Token offsets are `u32`: a text longer than 4 GiB (twice the protocol's
/// limit for a query) is lexed up to there and no further.
///
/// ```
/// use ferry_router::cql::{Lexer, TokenKind};
/// let text = "INSERT INTO t (k) VALUES ('it''s') -- done";
/// let tokens: Vec<_> = Lexer::new(text).collect();
/// // The tokens tile the text.
/// assert_eq!(tokens.first().unwrap().start, 0);
/// assert_eq!(tokens.last().unwrap().span().end, text.len());
/// assert!(tokens.windows(2).all(|w| w[0].end == w[1].start));
/// let string = tokens.iter().find(|t| t.kind == TokenKind::String).unwrap();
/// assert_eq!(string.text(text), "'it''s'");
/// assert_eq!(tokens.last().unwrap().kind, TokenKind::Comment);
/// ```
#[derive(Debug, Clone)]
pub struct Lexer<'a> {
    src: &'a str,
    /// Byte offset of the next token; always on a char boundary.
    pos: usize,
    /// How many `{` are open (saturating; only used to read `:`).
    brace_depth: u32,
    /// The kind of the last significant token (only used to read `:`).
    last: Option<TokenKind>,
}

impl<'a> Lexer<'a> {
    /// A lexer at the start of `src`.
    pub fn new(src: &'a str) -> Self {
        Lexer {
            src,
            pos: 0,
            brace_depth: 0,
            last: None,
        }
    }

    /// Only the tokens that are not whitespace or comments.
    pub fn significant(self) -> Significant<'a> {
        Significant { lexer: self }
    }

    /// Inside `{}` a `:` right after a term separates a map key or a user
    /// type field from its value; anywhere else it starts a named marker.
    /// (Cassandra decides this in its parser; a marker straight after a
    /// term inside braces, as in `{'k': (int):v}`, is read as a separator.)
    fn colon_starts_marker(&self) -> bool {
        !(self.brace_depth > 0 && self.last.is_some_and(ends_term))
    }

    fn remember(&mut self, kind: TokenKind) {
        match kind {
            TokenKind::Whitespace | TokenKind::Comment => return,
            TokenKind::LBrace => self.brace_depth = self.brace_depth.saturating_add(1),
            TokenKind::RBrace => self.brace_depth = self.brace_depth.saturating_sub(1),
            _ => {}
        }
        self.last = Some(kind);
    }
}

impl Iterator for Lexer<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        let rest = self.src.get(self.pos..).filter(|r| !r.is_empty())?;
        let (kind, len) = if rest.as_bytes().first() == Some(&b':') {
            // Context is only needed here, so it is only worked out here.
            colon(rest.as_bytes(), self.colon_starts_marker())
        } else {
            lex_one(rest)
        };
        // Each reading consumes at least one whole character; this guard
        // only keeps the "always progresses" promise should that ever break.
        let len = if len == 0 || !rest.is_char_boundary(len) {
            first_char_len(rest)
        } else {
            len
        };
        let start = u32::try_from(self.pos).ok()?;
        let end = u32::try_from(self.pos.saturating_add(len)).ok()?;
        self.pos = end as usize;
        self.remember(kind);
        Some(Token { kind, start, end })
    }
}

/// The significant tokens of a [`Lexer`]: no whitespace, no comments.
///
/// ```
/// use ferry_router::cql::Lexer;
/// let text = "USE /* here */ ks";
/// let words: Vec<&str> = Lexer::new(text).significant().map(|t| t.text(text)).collect();
/// assert_eq!(words, ["USE", "ks"]);
/// ```
#[derive(Debug, Clone)]
pub struct Significant<'a> {
    lexer: Lexer<'a>,
}

impl Iterator for Significant<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        loop {
            // Fast path: about half of all tokens are whitespace; step over
            // it without making tokens (whitespace changes no lexer state).
            let rest = self.lexer.src.as_bytes().get(self.lexer.pos..)?;
            let blanks = rest.iter().take_while(|b| b.is_ascii_whitespace()).count();
            self.lexer.pos += blanks;
            let token = self.lexer.next()?;
            if !token.kind.is_trivia() {
                return Some(token);
            }
        }
    }
}

/// Whether a token of this kind can end a term (so a `:` after it inside
/// braces is a separator).
fn ends_term(kind: TokenKind) -> bool {
    kind.is_literal()
        || kind.is_name()
        || kind.is_marker()
        || matches!(
            kind,
            TokenKind::RParen | TokenKind::RBracket | TokenKind::RBrace
        )
}

/// Reads one token from the start of non-empty `rest`: its kind and byte
/// length.
///
/// The sub-parsers work on bytes: every delimiter in CQL is ASCII, so a
/// token that ends after an ASCII byte (or at the end) ends on a char
/// boundary, and byte scans are much faster than `char` iteration. Only
/// [`Unknown`](TokenKind::Unknown) needs the length of a whole character.
fn lex_one(rest: &str) -> (TokenKind, usize) {
    let bytes = rest.as_bytes();
    let Some(&first) = bytes.first() else {
        return (TokenKind::Unknown, 0);
    };
    let second = bytes.get(1).copied();
    let one = |kind| (kind, 1);
    match first {
        b'a'..=b'z' | b'A'..=b'Z' | b'_' => word_like(bytes),
        b if b.is_ascii_whitespace() => run(bytes, TokenKind::Whitespace, whitespace),
        b'(' => one(TokenKind::LParen),
        b')' => one(TokenKind::RParen),
        b',' => one(TokenKind::Comma),
        b'?' => one(TokenKind::Marker),
        b'=' => one(TokenKind::Eq),
        b'.' => one(TokenKind::Dot),
        b'\'' => run(bytes, TokenKind::String, |i| quoted(i, b"'", b"''")),
        b'"' => run(bytes, TokenKind::QuotedIdent, |i| quoted(i, b"\"", b"\"\"")),
        b'0'..=b'9' => {
            if let Some(len) = uuid_len(bytes) {
                (TokenKind::Uuid, len)
            } else if first == b'0' && matches!(second, Some(b'x' | b'X')) {
                let digits = hex_digits(bytes.get(2..).unwrap_or(&[]));
                (TokenKind::Blob, 2 + digits)
            } else {
                number(bytes)
            }
        }
        b'-' => match second {
            Some(b'-') => run(bytes, TokenKind::Comment, line_comment),
            Some(b'0'..=b'9') => {
                let (kind, len) = number(bytes.get(1..).unwrap_or(&[]));
                (kind, len + 1)
            }
            _ => match special_float(bytes.get(1..).unwrap_or(&[])) {
                Some(len) => (TokenKind::Float, len + 1),
                None => one(TokenKind::Minus),
            },
        },
        b'/' => match second {
            Some(b'/') => run(bytes, TokenKind::Comment, line_comment),
            Some(b'*') => run(bytes, TokenKind::Comment, block_comment),
            _ => one(TokenKind::Slash),
        },
        b'$' if second == Some(b'$') => run(bytes, TokenKind::DollarString, dollar_string),
        b':' => colon(bytes, true),
        b'[' => one(TokenKind::LBracket),
        b']' => one(TokenKind::RBracket),
        b'{' => one(TokenKind::LBrace),
        b'}' => one(TokenKind::RBrace),
        b';' => one(TokenKind::Semicolon),
        b'+' => one(TokenKind::Plus),
        b'*' => one(TokenKind::Star),
        b'%' => one(TokenKind::Percent),
        b'<' if second == Some(b'=') => (TokenKind::LtEq, 2),
        b'<' => one(TokenKind::Lt),
        b'>' if second == Some(b'=') => (TokenKind::GtEq, 2),
        b'>' => one(TokenKind::Gt),
        b'!' if second == Some(b'=') => (TokenKind::NotEq, 2),
        _ => (TokenKind::Unknown, first_char_len(rest)),
    }
}

/// A token starting with `:`: a named marker where one may start, else a
/// separator.
fn colon(bytes: &[u8], marker_may_start: bool) -> (TokenKind, usize) {
    match named_marker(bytes) {
        Ok((after, _)) if marker_may_start => (TokenKind::NamedMarker, bytes.len() - after.len()),
        _ => (TokenKind::Colon, 1),
    }
}

/// A token starting with a letter or `_`: a word, a uuid such as
/// `a0eebc99-...`, or `NaN` / `Infinity`.
fn word_like(bytes: &[u8]) -> (TokenKind, usize) {
    if let Some(len) = uuid_len(bytes) {
        return (TokenKind::Uuid, len);
    }
    // The dispatch saw a letter or `_`, so the word is the run of word
    // bytes from here.
    let len = word_tail(bytes).map_or(1, |(after, _)| bytes.len() - after.len());
    let text = bytes.get(..len).unwrap_or(&[]);
    if text.eq_ignore_ascii_case(b"nan") || text.eq_ignore_ascii_case(b"infinity") {
        (TokenKind::Float, len)
    } else {
        (TokenKind::Ident, len)
    }
}

/// Runs a delimited-token parser: its match is a token of `kind`; no match
/// means the closing delimiter is missing, so the rest is one
/// [`Unterminated`](TokenKind::Unterminated) token.
fn run<'a>(
    bytes: &'a [u8],
    kind: TokenKind,
    parser: impl Fn(&'a [u8]) -> Lex<'a>,
) -> (TokenKind, usize) {
    match parser(bytes) {
        Ok((after, _)) => (kind, bytes.len() - after.len()),
        Err(_) => (TokenKind::Unterminated, bytes.len()),
    }
}

fn first_char_len(rest: &str) -> usize {
    rest.chars().next().map_or(1, char::len_utf8)
}

/// `[A-Za-z0-9_]` as a table: word scanning is the lexer's hottest loop,
/// and one load beats four range checks per byte.
static WORD_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || c == b'_';
        b += 1;
    }
    table
};

fn is_word_byte(b: u8) -> bool {
    WORD_BYTES[usize::from(b)]
}

fn hex_digits(bytes: &[u8]) -> usize {
    bytes.iter().take_while(|b| b.is_ascii_hexdigit()).count()
}

fn whitespace(i: &[u8]) -> Lex<'_> {
    take_while1(|b: u8| b.is_ascii_whitespace()).parse(i)
}

/// `-- ...` or `// ...`, stopping before the line break (which is
/// whitespace).
fn line_comment(i: &[u8]) -> Lex<'_> {
    recognize((
        alt((tag(&b"--"[..]), tag(&b"//"[..]))),
        take_till(|b| b == b'\n' || b == b'\r'),
    ))
    .parse(i)
}

/// `/* ... */`; CQL block comments do not nest.
fn block_comment(i: &[u8]) -> Lex<'_> {
    recognize((tag(&b"/*"[..]), take_until(&b"*/"[..]), tag(&b"*/"[..]))).parse(i)
}

/// A `q`-quoted run where `qq` (the quote doubled) stands for one quote:
/// `'it''s'`, `"Foo"" bar"`.
fn quoted<'a>(i: &'a [u8], q: &'static [u8], qq: &'static [u8]) -> Lex<'a> {
    recognize((tag(q), many0_count(alt((is_not(q), tag(qq)))), tag(q))).parse(i)
}

/// `$$ ... $$`: no escapes, ends at the first `$$`.
fn dollar_string(i: &[u8]) -> Lex<'_> {
    recognize((tag(&b"$$"[..]), take_until(&b"$$"[..]), tag(&b"$$"[..]))).parse(i)
}

/// `[A-Za-z_][A-Za-z0-9_]*`.
fn word(i: &[u8]) -> Lex<'_> {
    recognize((
        take_while_m_n(1, 1, |b: u8| b.is_ascii_alphabetic() || b == b'_'),
        take_while(is_word_byte),
    ))
    .parse(i)
}

/// `[A-Za-z0-9_]*`: the rest of a word whose first byte was checked.
fn word_tail(i: &[u8]) -> Lex<'_> {
    take_while(is_word_byte).parse(i)
}

/// `:name` or `:"Name"`.
fn named_marker(i: &[u8]) -> Lex<'_> {
    recognize((tag(&b":"[..]), alt((word, |i| quoted(i, b"\"", b"\"\""))))).parse(i)
}

/// `NaN` or `Infinity` (any case) as a whole word; used after a `-`.
fn special_float(i: &[u8]) -> Option<usize> {
    let (_, w) = word(i).ok()?;
    (w.eq_ignore_ascii_case(b"nan") || w.eq_ignore_ascii_case(b"infinity")).then_some(w.len())
}

/// An unsigned number starting at a digit: `12`, `1.5`, `1.`, `2e10`,
/// `1.5E-3`, or a duration `1h30m`. Always consumes at least the digits.
fn number(i: &[u8]) -> (TokenKind, usize) {
    let Ok((after_int, _)) = digit1::<_, ()>(i) else {
        return (TokenKind::Unknown, 1);
    };
    let fraction = opt(recognize((tag::<_, _, ()>(&b"."[..]), digit0)));
    let exponent = opt(recognize((one_of("eE"), opt(one_of("+-")), digit1)));
    let parsed: Lex<'_> = recognize((fraction, exponent)).parse(after_int);
    let after = match parsed {
        Ok((after, _)) => after,
        Err(_) => after_int,
    };
    if after.len() < after_int.len() {
        return (TokenKind::Float, i.len() - after.len());
    }
    match duration_tail(after_int) {
        Some(len) => (TokenKind::Duration, i.len() - after_int.len() + len),
        None => (TokenKind::Integer, i.len() - after_int.len()),
    }
}

/// After a number's digits: the rest of a unit-form duration
/// (`h`, `h30m`, `ms`, ...), if the word that follows is exactly that.
fn duration_tail(i: &[u8]) -> Option<usize> {
    let mut rest = i;
    loop {
        let (after_unit, _) = duration_unit(rest).ok()?;
        match digit1::<_, ()>(after_unit) {
            Ok((after_digits, _)) => rest = after_digits,
            Err(_) => {
                rest = after_unit;
                break;
            }
        }
    }
    // `1hello` is the number 1 and the word `hello`, not a duration.
    if rest.first().is_some_and(|&b| is_word_byte(b)) {
        return None;
    }
    Some(i.len() - rest.len())
}

/// One duration unit; two-letter units first so `ms` is not `m` + `s`.
fn duration_unit(i: &[u8]) -> Lex<'_> {
    use nom::bytes::complete::tag_no_case as t;
    alt((
        t(&b"mo"[..]),
        t(&b"ms"[..]),
        t(&b"us"[..]),
        t("µs".as_bytes()),
        t(&b"ns"[..]),
        t(&b"y"[..]),
        t(&b"w"[..]),
        t(&b"d"[..]),
        t(&b"h"[..]),
        t(&b"m"[..]),
        t(&b"s"[..]),
    ))
    .parse(i)
}

/// The length of a UUID literal at the start of `b` (36), if there is one
/// that is not followed by more word characters.
fn uuid_len(b: &[u8]) -> Option<usize> {
    let candidate = b.get(..36)?;
    let shaped = candidate.iter().enumerate().all(|(n, c)| match n {
        8 | 13 | 18 | 23 => *c == b'-',
        _ => c.is_ascii_hexdigit(),
    });
    let boundary = b.get(36).map_or(true, |&c| !is_word_byte(c));
    (shaped && boundary).then_some(36)
}
