//! Token ranges `(start, end]` on the ring, possibly wrapping, and how to scan
//! them with CQL.

use std::fmt;
use std::num::NonZeroUsize;

use super::{Partitioner, Token, TokenError};

/// A range of tokens `(start, end]`: `start` excluded, `end` included, going
/// clockwise around the ring. This is Cassandra's `Range<Token>`.
///
/// - `start < end`: the plain interval.
/// - `start > end`: the range *wraps*: it holds `(start, max]` then the
///   minimum token and `(min, end]`.
/// - `start == end`: the whole ring (a one-token ring's only range).
///
/// ```
/// use std::num::NonZeroUsize;
/// use ferry_conn::token::{Token, TokenRange};
///
/// // The wrap-around range of a ring whose tokens are -100 and 100.
/// let wrap = TokenRange::new(Token::murmur3(100), Token::murmur3(-100))?;
/// assert!(wrap.is_wrapping());
/// assert!(wrap.contains(Token::murmur3(i64::MAX)));
/// assert!(wrap.contains(Token::murmur3(-100)));
/// assert!(!wrap.contains(Token::murmur3(0)));
///
/// // CQL `token(pk) > a AND token(pk) <= b` cannot wrap: scan it in two pieces.
/// let bounds: Vec<String> = wrap.cql_bounds().iter().map(|b| b.to_cql("pk")).collect();
/// assert_eq!(bounds, [
///     "token(pk) > 100 AND token(pk) <= 9223372036854775807",
///     "token(pk) > -9223372036854775808 AND token(pk) <= -100",
/// ]);
///
/// // Split a plain range into 4 nearly equal, adjacent pieces.
/// let plain = TokenRange::new(Token::murmur3(0), Token::murmur3(10))?;
/// let pieces = plain.split(NonZeroUsize::new(4).unwrap());
/// let ends: Vec<String> = pieces.iter().map(|r| r.to_string()).collect();
/// assert_eq!(ends, ["(0, 2]", "(2, 5]", "(5, 7]", "(7, 10]"]);
/// # Ok::<(), ferry_conn::token::TokenError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenRange {
    /// Excluded lower bound.
    start: Token,
    /// Included upper bound.
    end: Token,
}

/// Bounds for one non-wrapping piece of a range, for
/// `token(pk) > lower_exclusive AND token(pk) <= upper_inclusive`.
///
/// A lower bound equal to the minimum token excludes no key: no non-empty key
/// hashes to it (Murmur3 moves a hash of `i64::MIN` to `i64::MAX`; MD5 values
/// are never `-1`), and Cassandra refuses empty partition keys.
///
/// ```
/// use ferry_conn::token::{Partitioner, Token, TokenRange};
///
/// let p = Partitioner::Random;
/// let first_range = TokenRange::new(p.min_token(), Token::random(1000)?)?;
/// let [bounds] = first_range.cql_bounds()[..] else { unreachable!() };
/// assert_eq!(bounds.lower_exclusive.to_string(), "-1");
/// assert_eq!(bounds.to_cql(r#""id""#), r#"token("id") > -1 AND token("id") <= 1000"#);
/// // Binding instead of inlining: the varint bytes of each bound.
/// assert_eq!(bounds.upper_inclusive.to_cql_bytes(), [0x03, 0xe8]);
/// # Ok::<(), ferry_conn::token::TokenError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CqlTokenBounds {
    /// Keys must have a token strictly greater than this.
    pub lower_exclusive: Token,
    /// Keys must have a token at most this.
    pub upper_inclusive: Token,
}

impl CqlTokenBounds {
    /// The CQL restriction with the bounds as literals.
    ///
    /// `partition_key` is the partition key column list exactly as it goes
    /// between the parentheses of `token(...)`, already quoted as needed
    /// (e.g. `"id"` or `"a", "b"`).
    pub fn to_cql(&self, partition_key: &str) -> String {
        format!(
            "token({partition_key}) > {} AND token({partition_key}) <= {}",
            self.lower_exclusive, self.upper_inclusive
        )
    }
}

impl TokenRange {
    /// The range `(start, end]`. Fails if the tokens belong to different
    /// partitioners.
    pub fn new(start: Token, end: Token) -> Result<Self, TokenError> {
        if start.partitioner() != end.partitioner() {
            return Err(TokenError::PartitionerMismatch {
                expected: start.partitioner(),
                found: end.partitioner(),
            });
        }
        Ok(Self { start, end })
    }

    /// `(start, end]` for tokens known to share a partitioner.
    pub(crate) fn same_partitioner(start: Token, end: Token) -> Self {
        debug_assert_eq!(start.partitioner(), end.partitioner());
        Self { start, end }
    }

    /// The whole ring, as `(min, min]`.
    pub fn full_ring(partitioner: Partitioner) -> Self {
        let min = partitioner.min_token();
        Self {
            start: min,
            end: min,
        }
    }

    /// The excluded lower bound.
    pub fn start(&self) -> Token {
        self.start
    }

    /// The included upper bound.
    pub fn end(&self) -> Token {
        self.end
    }

    /// The partitioner of both bounds.
    pub fn partitioner(&self) -> Partitioner {
        self.start.partitioner()
    }

    /// Whether the range passes through the minimum token (`start >= end`);
    /// the whole ring counts as wrapping.
    pub fn is_wrapping(&self) -> bool {
        self.start >= self.end
    }

    /// Whether the range is the whole ring (`start == end`).
    pub fn is_full_ring(&self) -> bool {
        self.start == self.end
    }

    /// Whether `token` lies in the range. A token of another partitioner is
    /// never in it.
    pub fn contains(&self, token: Token) -> bool {
        if token.partitioner() != self.partitioner() {
            return false;
        }
        match self.offset_to(token) {
            // `token == start`: only the whole ring comes back round to it.
            0 => self.is_full_ring(),
            d => d <= self.token_count(),
        }
    }

    /// How many token values the range holds (the minimum token counts as
    /// one when the range wraps through it). At least 1; the whole ring holds
    /// `2^64` Murmur3 tokens or `2^127 + 2` Random tokens.
    pub fn token_count(&self) -> u128 {
        match self.offset_to(self.end) {
            0 => self.partitioner().space_size(),
            d => d,
        }
    }

    /// The range as at most two non-wrapping ranges (`start < end`), as CQL
    /// token restrictions need: a wrapping range becomes `(start, max]` and
    /// `(min, end]`.
    ///
    /// The minimum token itself is dropped (no key has it, see
    /// [`CqlTokenBounds`]); so are pieces left empty by it: `(max, end]` gives
    /// only `(min, end]`, `(start, min]` only `(start, max]`, and `(max, min]`,
    /// which holds nothing but the minimum token, gives nothing.
    pub fn unwrap(&self) -> Vec<TokenRange> {
        if !self.is_wrapping() {
            return vec![*self];
        }
        let partitioner = self.partitioner();
        let mut pieces = Vec::with_capacity(2);
        if !self.start.is_max() {
            pieces.push(Self {
                start: self.start,
                end: partitioner.max_token(),
            });
        }
        if !self.end.is_min() {
            pieces.push(Self {
                start: partitioner.min_token(),
                end: self.end,
            });
        }
        pieces
    }

    /// Splits the range into `parts` adjacent sub-ranges, in ring order, whose
    /// union is exactly this range and whose token counts differ by at most
    /// one (exact integer arithmetic). The first starts at `start`, the last
    /// ends at `end`. A range holding fewer than `parts` tokens is split into
    /// one-token ranges instead (never an empty range, which `(t, t]` cannot
    /// express).
    pub fn split(&self, parts: NonZeroUsize) -> Vec<TokenRange> {
        let partitioner = self.partitioner();
        let space = partitioner.space_size();
        let size = self.token_count();
        let parts = (parts.get() as u128).min(size);
        let (quotient, remainder) = (size / parts, size % parts);
        let start = self.start.ordinal();

        let mut out = Vec::with_capacity(parts as usize);
        let mut previous = self.start;
        for k in 1..=parts {
            // floor(k * size / parts) without overflow: k * remainder < parts^2 <= 2^128
            // because parts came from a usize.
            let advance = k * quotient + k * remainder / parts;
            let end = Token::from_ordinal(partitioner, add_mod(start, advance, space));
            out.push(Self {
                start: previous,
                end,
            });
            previous = end;
        }
        out
    }

    /// The bounds of [`unwrap`](Self::unwrap)'s pieces, for
    /// `token(pk) > lower AND token(pk) <= upper` scans that together read
    /// every key of the range exactly once.
    pub fn cql_bounds(&self) -> Vec<CqlTokenBounds> {
        self.unwrap()
            .into_iter()
            .map(|r| CqlTokenBounds {
                lower_exclusive: r.start,
                upper_inclusive: r.end,
            })
            .collect()
    }

    /// Clockwise distance from `start` to `token`, in `0..space_size`.
    fn offset_to(&self, token: Token) -> u128 {
        let (from, to) = (self.start.ordinal(), token.ordinal());
        if to >= from {
            to - from
        } else {
            self.partitioner().space_size() - (from - to)
        }
    }
}

/// `(ordinal + advance) mod space` for `ordinal < space` and
/// `advance <= space`, without overflowing (Random's space is over 2^127).
fn add_mod(ordinal: u128, advance: u128, space: u128) -> u128 {
    let room = space - ordinal;
    if advance >= room {
        advance - room
    } else {
        ordinal + advance
    }
}

impl fmt::Display for TokenRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}, {}]", self.start, self.end)
    }
}
