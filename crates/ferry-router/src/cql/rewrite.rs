//! Rewriting `now()`, `uuid()` and the other [`VolatileFunction`] calls so
//! that both clusters of a dual write store the same value.
//!
//! - A QUERY carries its text: [`replace_calls`] swaps each call for a
//!   literal the proxy generated (`now()` becomes
//!   `8e1e6a10-5f3a-11ef-8000-000000000001`).
//! - A PREPARE text is executed many times, each time needing fresh values,
//!   so a literal will not do: [`replace_calls_with_markers`] swaps each call
//!   for a new bind marker and says where the new markers sit among all the
//!   markers, so the proxy can splice generated values into every EXECUTE
//!   ([`PreparedRewrite::splice_values`]).
//!
//! Only tokens are replaced, so string literals, quoted names and comments
//! that happen to contain `now()` are copied untouched.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use super::calls::{span_of, CallScan, VolatileFunction};
use super::ident::Identifier;
use super::lexer::Lexer;
use super::token::{Token, TokenKind};

/// Replaces calls in QUERY text with literals from `literal`, which gets the
/// function and returns the CQL literal to put in its place (`None` leaves
/// that call alone). Returns the text unchanged (borrowed) if nothing was
/// replaced.
///
/// The literal must be valid CQL of the function's
/// [type](VolatileFunction::cql_type): a bare UUID for `now()` (a version 1
/// UUID) and `uuid()` (version 4); the `Display` of `uuid::Uuid` is exactly
/// that. For `currentTimestamp()` an integer of milliseconds or a quoted
/// date-time string works; return `None` to keep such calls.
///
/// A space is added where the literal would otherwise run into a word
/// (`now()AND` becomes `<uuid> AND`).
///
/// ```
/// use ferry_router::cql::{replace_calls, VolatileFunction};
/// let text = "INSERT INTO t (id, note) VALUES (now(), 'now() stays')";
/// let out = replace_calls(text, |f| match f {
///     VolatileFunction::Now => Some("50554d6e-29bb-11e5-b345-feff819cdc9f"),
///     _ => None,
/// });
/// assert_eq!(
///     out,
///     "INSERT INTO t (id, note) VALUES (50554d6e-29bb-11e5-b345-feff819cdc9f, 'now() stays')"
/// );
/// ```
pub fn replace_calls<F, R>(text: &str, mut literal: F) -> Cow<'_, str>
where
    F: FnMut(VolatileFunction) -> Option<R>,
    R: fmt::Display,
{
    let tokens: Vec<Token> = Lexer::new(text).significant().collect();
    let mut out = Splicer::new(text);
    for call in CallScan::new(text, &tokens) {
        if let Some(value) = literal(call.function) {
            out.replace(span_of(&tokens, call.first, call.last), |s| {
                // Writing to a String cannot fail.
                let _ = write!(s, "{value}");
            });
        }
    }
    out.finish()
}

/// The kind of bind marker [`replace_calls_with_markers`] inserts.
///
/// ```
/// use ferry_router::cql::{replace_calls_with_markers, MarkerStyle};
/// let named = replace_calls_with_markers("SELECT * FROM t WHERE id = now()", MarkerStyle::Named, |_| true);
/// assert_eq!(named.text, "SELECT * FROM t WHERE id = (timeuuid):ferry_now_0");
/// let positional = replace_calls_with_markers("SELECT * FROM t WHERE id = now()", MarkerStyle::Positional, |_| true);
/// assert_eq!(positional.text, "SELECT * FROM t WHERE id = (timeuuid)?");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MarkerStyle {
    /// `:ferry_now_0`, `:ferry_uuid_0`, ... (the recommended default). The
    /// names show up in the PREPARED result's bind metadata, so the proxy
    /// can check it found the right columns; and when a client EXECUTEs
    /// with named values, the proxy can add its values by name. Names are
    /// chosen not to clash with the statement's own named markers.
    #[default]
    Named,
    /// `?`. For servers or tools that dislike mixing named and positional
    /// markers; the inserted values are placed by index only.
    Positional,
}

/// One bind marker inserted by [`replace_calls_with_markers`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InsertedMarker {
    /// Its position (0-based) among all bind markers of the rewritten text:
    /// the index of its value in an EXECUTE with positional values.
    pub index: usize,
    /// The function it replaces, and so the type of value to generate.
    pub function: VolatileFunction,
    /// The marker's name, without the colon (`ferry_now_0`), for
    /// [`MarkerStyle::Named`].
    pub name: Option<String>,
}

/// The result of [`replace_calls_with_markers`]: the text to PREPARE on both
/// clusters and where its extra bind markers are.
///
/// The proxy must also hide the inserted markers from the client: drop them
/// from the bind variable metadata of the PREPARED result and renumber the
/// partition key indexes ([`original_index`](Self::original_index)), and
/// remember the mapping from the client's statement id to the rewritten
/// statement's.
///
/// ```
/// use ferry_router::cql::{replace_calls_with_markers, MarkerStyle, VolatileFunction};
/// let rw = replace_calls_with_markers(
///     "INSERT INTO t (a, id, b) VALUES (?, uuid(), ?)",
///     MarkerStyle::Named,
///     |_| true,
/// );
/// assert_eq!(rw.text, "INSERT INTO t (a, id, b) VALUES (?, (uuid):ferry_uuid_0, ?)");
/// assert_eq!(rw.inserted[0].index, 1);
/// assert_eq!(rw.original_markers, 2);
/// // The client sends values for its two markers; the proxy adds its own.
/// let values = rw.splice_values(vec!["a", "b"], |m| {
///     assert_eq!(m.function, VolatileFunction::Uuid);
///     "generated"
/// });
/// assert_eq!(values.unwrap(), ["a", "generated", "b"]);
/// assert_eq!(rw.original_index(2), Some(1));
/// assert_eq!(rw.original_index(1), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedRewrite<'a> {
    /// The rewritten text (borrowed when nothing was replaced).
    pub text: Cow<'a, str>,
    /// The inserted markers, in text order (so by increasing `index`).
    pub inserted: Vec<InsertedMarker>,
    /// How many bind markers the original text had.
    pub original_markers: usize,
    /// The index of a `USING TIMESTAMP ?` marker the proxy added (protocol
    /// v2, which has no default timestamp; see
    /// [`add_timestamp_marker`](Self::add_timestamp_marker)), among all
    /// markers of the rewritten text. Not one of `inserted`.
    pub timestamp: Option<usize>,
}

/// Why [`PreparedRewrite::splice_values`] could not place the values.
///
/// ```
/// use ferry_router::cql::{replace_calls_with_markers, MarkerStyle, SpliceError};
/// let rw = replace_calls_with_markers("UPDATE t SET v = ? WHERE k = now()", MarkerStyle::Named, |_| true);
/// let err = rw.splice_values(vec![1, 2], |_| 0).unwrap_err();
/// assert_eq!(err, SpliceError::ValueCount { expected: 1, got: 2 });
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpliceError {
    /// The client sent a different number of values than the original text
    /// has markers (the server would reject it too).
    #[error("the statement has {expected} bind markers but {got} values were sent")]
    ValueCount {
        /// Markers in the original text.
        expected: usize,
        /// Values received.
        got: usize,
    },
    /// The statement has a `USING TIMESTAMP ?` marker the proxy added, and
    /// no value was given for it.
    #[error("the statement has a timestamp marker but no timestamp was given")]
    NoTimestamp,
}

impl PreparedRewrite<'_> {
    /// How many bind markers the rewritten text has.
    pub fn total_markers(&self) -> usize {
        self.original_markers + self.inserted.len() + usize::from(self.timestamp.is_some())
    }

    /// Adds a `USING TIMESTAMP ?` marker to the rewritten text (see
    /// [`add_using_timestamp`](super::add_using_timestamp)), renumbering
    /// the inserted markers after it. `None` (and no change) if the text
    /// has no place for one or already has it.
    ///
    /// ```
    /// use ferry_router::cql::{replace_calls_with_markers, MarkerStyle};
    /// let rw = replace_calls_with_markers("UPDATE t SET id = uuid() WHERE k = ?", MarkerStyle::Named, |_| true);
    /// let rw = rw.add_timestamp_marker().unwrap();
    /// assert_eq!(rw.text, "UPDATE t USING TIMESTAMP ? SET id = (uuid):ferry_uuid_0 WHERE k = ?");
    /// assert_eq!((rw.timestamp, rw.inserted[0].index), (Some(0), 1));
    /// let values = rw.splice_values_with_timestamp(vec!["k"], |_| "id", "ts").unwrap();
    /// assert_eq!(values, ["ts", "id", "k"]);
    /// ```
    pub fn add_timestamp_marker(self) -> Option<PreparedRewrite<'static>> {
        if self.timestamp.is_some() {
            return None;
        }
        let (text, at) = super::add_using_timestamp(&self.text, "?")?;
        let inserted = self
            .inserted
            .into_iter()
            .map(|mut m| {
                if m.index >= at {
                    m.index += 1;
                }
                m
            })
            .collect();
        Some(PreparedRewrite {
            text: Cow::Owned(text),
            inserted,
            original_markers: self.original_markers,
            timestamp: Some(at),
        })
    }

    /// The positional values for the rewritten statement: the client's
    /// `values` (one per original marker, in order) with a generated value
    /// at each inserted marker's index.
    pub fn splice_values<T>(
        &self,
        values: Vec<T>,
        generate: impl FnMut(&InsertedMarker) -> T,
    ) -> Result<Vec<T>, SpliceError> {
        self.splice(values, generate, None)
    }

    /// [`splice_values`](Self::splice_values) for a rewrite with a
    /// timestamp marker: `timestamp` goes at its index.
    pub fn splice_values_with_timestamp<T>(
        &self,
        values: Vec<T>,
        generate: impl FnMut(&InsertedMarker) -> T,
        timestamp: T,
    ) -> Result<Vec<T>, SpliceError> {
        self.splice(values, generate, Some(timestamp))
    }

    fn splice<T>(
        &self,
        values: Vec<T>,
        mut generate: impl FnMut(&InsertedMarker) -> T,
        mut timestamp: Option<T>,
    ) -> Result<Vec<T>, SpliceError> {
        if self.timestamp.is_some() && timestamp.is_none() {
            return Err(SpliceError::NoTimestamp);
        }
        if values.len() != self.original_markers {
            return Err(SpliceError::ValueCount {
                expected: self.original_markers,
                got: values.len(),
            });
        }
        let mut out = Vec::with_capacity(self.total_markers());
        let mut client = values.into_iter();
        let mut inserted = self.inserted.iter().peekable();
        for index in 0..self.total_markers() {
            if self.timestamp == Some(index) {
                out.extend(timestamp.take());
                continue;
            }
            match inserted.next_if(|m| m.index == index) {
                Some(marker) => out.push(generate(marker)),
                None => out.extend(client.next()),
            }
        }
        Ok(out)
    }

    /// For a marker index of the rewritten text, the index of the same
    /// marker in the original text; `None` for an inserted marker or an
    /// index past the end. Use it to map the PREPARED result's metadata
    /// (bind variables, partition key indexes) back to the client's view.
    pub fn original_index(&self, rewritten: usize) -> Option<usize> {
        if rewritten >= self.total_markers() {
            return None;
        }
        let mut before = 0;
        match self.timestamp {
            Some(t) if t == rewritten => return None,
            Some(t) if t < rewritten => before += 1,
            _ => {}
        }
        for marker in &self.inserted {
            if marker.index == rewritten {
                return None;
            }
            if marker.index < rewritten {
                before += 1;
            }
        }
        Some(rewritten - before)
    }
}

/// Replaces calls in PREPARE text with new bind markers, for the functions
/// `select` picks (usually `Now` and `Uuid`).
///
/// Each marker gets a type hint, `(timeuuid):ferry_now_0` or
/// `(timeuuid)?`: a bare marker has no type where the call sat in a
/// function argument, and Cassandra rejects e.g. `toTimestamp(?)` as
/// ambiguous. With the hint, the marker's bind type is the function's
/// return type, which is also the type of value the proxy must generate.
///
/// See [`PreparedRewrite`] for what the proxy does with the result.
///
/// ```
/// use ferry_router::cql::{replace_calls_with_markers, MarkerStyle, VolatileFunction};
/// let rw = replace_calls_with_markers(
///     "UPDATE t SET at = toTimestamp(now()), id = uuid() WHERE k = :k",
///     MarkerStyle::Named,
///     |f| matches!(f, VolatileFunction::Now | VolatileFunction::Uuid),
/// );
/// assert_eq!(
///     rw.text,
///     "UPDATE t SET at = toTimestamp((timeuuid):ferry_now_0), id = (uuid):ferry_uuid_0 WHERE k = :k"
/// );
/// let indexes: Vec<usize> = rw.inserted.iter().map(|m| m.index).collect();
/// assert_eq!(indexes, [0, 1]);
/// ```
pub fn replace_calls_with_markers(
    text: &str,
    style: MarkerStyle,
    mut select: impl FnMut(VolatileFunction) -> bool,
) -> PreparedRewrite<'_> {
    let tokens: Vec<Token> = Lexer::new(text).significant().collect();
    let mut names = MarkerNames::new(text, &tokens);
    let mut calls = CallScan::new(text, &tokens).peekable();
    let mut out = Splicer::new(text);
    let mut inserted = Vec::new();
    let mut markers = 0usize;
    let mut i = 0;
    while i < tokens.len() {
        if let Some(call) = calls.next_if(|c| c.first == i) {
            i = call.last + 1;
            if select(call.function) {
                let name = match style {
                    MarkerStyle::Named => Some(names.fresh(call.function)),
                    MarkerStyle::Positional => None,
                };
                out.replace(span_of(&tokens, call.first, call.last), |s| {
                    s.push('(');
                    s.push_str(call.function.cql_type());
                    s.push(')');
                    match &name {
                        Some(name) => {
                            s.push(':');
                            s.push_str(name);
                        }
                        None => s.push('?'),
                    }
                });
                inserted.push(InsertedMarker {
                    index: markers,
                    function: call.function,
                    name,
                });
                markers += 1;
            }
            continue;
        }
        if tokens.get(i).is_some_and(|t| t.kind.is_marker()) {
            markers += 1;
        }
        i += 1;
    }
    PreparedRewrite {
        text: out.finish(),
        original_markers: markers - inserted.len(),
        inserted,
        timestamp: None,
    }
}

/// Builds the output text: copies the original between replacements.
struct Splicer<'a> {
    src: &'a str,
    out: Option<String>,
    /// End of the text already copied or replaced.
    done: usize,
}

impl<'a> Splicer<'a> {
    fn new(src: &'a str) -> Self {
        Splicer {
            src,
            out: None,
            done: 0,
        }
    }

    /// Replaces `span` (after everything replaced so far) with what `write`
    /// appends, padding with a space where it would touch a word.
    fn replace(&mut self, span: std::ops::Range<usize>, write: impl FnOnce(&mut String)) {
        let Some(before) = self.src.get(self.done..span.start) else {
            return;
        };
        let out = self
            .out
            .get_or_insert_with(|| String::with_capacity(self.src.len() + 32));
        out.push_str(before);
        let touches = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        if touches(out.chars().next_back()) {
            out.push(' ');
        }
        write(out);
        let after = self.src.get(span.end..).and_then(|r| r.chars().next());
        if touches(after) {
            out.push(' ');
        }
        self.done = span.end;
    }

    fn finish(self) -> Cow<'a, str> {
        match self.out {
            None => Cow::Borrowed(self.src),
            Some(mut out) => {
                out.push_str(self.src.get(self.done..).unwrap_or(""));
                Cow::Owned(out)
            }
        }
    }
}

/// Hands out marker names that the statement does not already use.
struct MarkerNames {
    /// The statement's own named markers (normalised names).
    taken: Vec<String>,
    /// Next number per function, indexed like [`VolatileFunction`]s.
    next: [usize; 5],
}

impl MarkerNames {
    fn new(src: &str, tokens: &[Token]) -> Self {
        let taken = tokens
            .iter()
            .filter(|t| t.kind == TokenKind::NamedMarker)
            .filter_map(|t| {
                // The name is the marker without its colon.
                let name = Token {
                    kind: if t.text(src).starts_with(":\"") {
                        TokenKind::QuotedIdent
                    } else {
                        TokenKind::Ident
                    },
                    start: t.start.saturating_add(1),
                    end: t.end,
                };
                Identifier::from_token(src, &name).map(|id| id.name().into_owned())
            })
            .collect();
        MarkerNames {
            taken,
            next: [0; 5],
        }
    }

    fn fresh(&mut self, function: VolatileFunction) -> String {
        let slot = match function {
            VolatileFunction::Now => 0,
            VolatileFunction::Uuid => 1,
            VolatileFunction::CurrentTimestamp => 2,
            VolatileFunction::CurrentDate => 3,
            VolatileFunction::CurrentTime => 4,
        };
        loop {
            let n = self.next[slot];
            self.next[slot] += 1;
            let name = format!("ferry_{}_{n}", function.short_name());
            if !self.taken.contains(&name) {
                return name;
            }
        }
    }
}
