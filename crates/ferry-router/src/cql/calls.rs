//! Calls to CQL functions whose value each cluster computes for itself:
//! `now()`, `uuid()`, `currentTimestamp()` and friends. Sent as-is to two
//! clusters, they store different values, so the proxy needs to find them
//! (and may replace them, see [`rewrite`](super::rewrite)).

use std::ops::Range;

use super::ident::token_names;
use super::lexer::Lexer;
use super::token::{Token, TokenKind};

/// A function evaluated by the coordinator, so it differs between clusters.
///
/// ```
/// use ferry_router::cql::VolatileFunction;
/// assert_eq!(VolatileFunction::Now.cql_type(), "timeuuid");
/// assert_eq!(VolatileFunction::Uuid.cql_type(), "uuid");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VolatileFunction {
    /// `now()`, `currentTimeUUID()`, `current_timeuuid()`: a new timeuuid.
    Now,
    /// `uuid()`: a new random (version 4) uuid.
    Uuid,
    /// `currentTimestamp()`, `current_timestamp()`.
    CurrentTimestamp,
    /// `currentDate()`, `current_date()`.
    CurrentDate,
    /// `currentTime()`, `current_time()`.
    CurrentTime,
}

impl VolatileFunction {
    /// The CQL type the function returns.
    pub fn cql_type(self) -> &'static str {
        match self {
            VolatileFunction::Now => "timeuuid",
            VolatileFunction::Uuid => "uuid",
            VolatileFunction::CurrentTimestamp => "timestamp",
            VolatileFunction::CurrentDate => "date",
            VolatileFunction::CurrentTime => "time",
        }
    }

    /// A short lower-case name, used in generated marker names.
    pub fn short_name(self) -> &'static str {
        match self {
            VolatileFunction::Now => "now",
            VolatileFunction::Uuid => "uuid",
            VolatileFunction::CurrentTimestamp => "current_timestamp",
            VolatileFunction::CurrentDate => "current_date",
            VolatileFunction::CurrentTime => "current_time",
        }
    }
}

/// Every name (lower case, as Cassandra registers them) and its function.
const NAMES: [(&str, VolatileFunction); 10] = [
    ("now", VolatileFunction::Now),
    ("uuid", VolatileFunction::Uuid),
    ("currenttimeuuid", VolatileFunction::Now),
    ("current_timeuuid", VolatileFunction::Now),
    ("currenttimestamp", VolatileFunction::CurrentTimestamp),
    ("current_timestamp", VolatileFunction::CurrentTimestamp),
    ("currentdate", VolatileFunction::CurrentDate),
    ("current_date", VolatileFunction::CurrentDate),
    ("currenttime", VolatileFunction::CurrentTime),
    ("current_time", VolatileFunction::CurrentTime),
];

/// One call found in a statement text.
///
/// ```
/// use ferry_router::cql::{find_calls, VolatileFunction};
/// let text = "INSERT INTO t (id, at) VALUES (uuid(), system.now())";
/// let calls = find_calls(text);
/// assert_eq!(calls[0].function, VolatileFunction::Uuid);
/// assert_eq!(&text[calls[1].span.clone()], "system.now()");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FunctionCall {
    /// Which function.
    pub function: VolatileFunction,
    /// The whole call, `system.` qualifier and parentheses included.
    pub span: Range<usize>,
}

/// A call located in a slice of significant tokens: the function and the
/// indexes of its first and last tokens.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallTokens {
    pub function: VolatileFunction,
    pub first: usize,
    pub last: usize,
}

/// Every call to a [`VolatileFunction`] in `text`, in order, outside string
/// literals and comments. A call is the function name (bare, quoted, or
/// qualified by `system`), `(` and `)`; names qualified by another keyspace
/// are user functions and do not count.
pub fn find_calls(text: &str) -> Vec<FunctionCall> {
    let tokens: Vec<Token> = Lexer::new(text).significant().collect();
    CallScan::new(text, &tokens)
        .map(|c| FunctionCall {
            function: c.function,
            span: span_of(&tokens, c.first, c.last),
        })
        .collect()
}

/// The byte range from token `first` to token `last`.
pub(crate) fn span_of(tokens: &[Token], first: usize, last: usize) -> Range<usize> {
    let start = tokens.get(first).map_or(0, |t| t.span().start);
    let end = tokens.get(last).map_or(start, |t| t.span().end);
    start..end
}

/// Iterator over the calls in a slice of significant tokens.
pub(crate) struct CallScan<'s, 't> {
    src: &'s str,
    tokens: &'t [Token],
    next: usize,
}

impl<'s, 't> CallScan<'s, 't> {
    pub(crate) fn new(src: &'s str, tokens: &'t [Token]) -> Self {
        CallScan {
            src,
            tokens,
            next: 0,
        }
    }
}

impl Iterator for CallScan<'_, '_> {
    type Item = CallTokens;

    fn next(&mut self) -> Option<CallTokens> {
        while self.next < self.tokens.len() {
            let i = self.next;
            self.next += 1;
            if let Some(call) = call_at(self.src, self.tokens, i) {
                self.next = call.last + 1;
                return Some(call);
            }
        }
        None
    }
}

/// The call starting at token `i`, if one does.
fn call_at(src: &str, tokens: &[Token], i: usize) -> Option<CallTokens> {
    let kind = |n: usize| tokens.get(n).map(|t| t.kind);
    // A name qualified by something other than `system` is a user function
    // (a `system.` qualifier is matched from the `system` token).
    if i > 0 && kind(i - 1) == Some(TokenKind::Dot) {
        return None;
    }
    let qualified = kind(i + 1) == Some(TokenKind::Dot)
        && tokens.get(i).is_some_and(|t| token_names(src, t, "system"));
    let name = if qualified { i + 2 } else { i };
    if kind(name + 1) != Some(TokenKind::LParen) || kind(name + 2) != Some(TokenKind::RParen) {
        return None;
    }
    let token = tokens.get(name)?;
    let function = function_named(src, token)?;
    Some(CallTokens {
        function,
        first: i,
        last: name + 2,
    })
}

/// The volatile function a name token names, if any.
fn function_named(src: &str, token: &Token) -> Option<VolatileFunction> {
    if !token.kind.is_name() {
        return None;
    }
    NAMES
        .iter()
        .find(|(name, _)| token_names(src, token, name))
        .map(|&(_, f)| f)
}
