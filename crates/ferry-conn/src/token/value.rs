//! A token: a position on the ring of one partitioner.

use std::fmt;

use super::random_partitioner::MAX_VALUE as RANDOM_MAX_VALUE;
use super::{serialize_partition_key, Partitioner, TokenError};

/// Flips the sign bit so that `i64` order becomes `u64` order.
const SIGN_BIT: u64 = 1 << 63;

/// A token of a [`Partitioner`]: `i64` for Murmur3Partitioner, `-1` or
/// `0..=2^127` for RandomPartitioner.
///
/// Internally a token is its partitioner plus its *ordinal*, its rank in the
/// partitioner's token space counted from the minimum token (ordinal 0). All
/// ring arithmetic (range sizes, splits) is exact integer arithmetic on
/// ordinals, which fit in a `u128` for both partitioners. Tokens of one
/// partitioner order like their numeric values; comparing tokens of two
/// partitioners is meaningless (Murmur3 tokens sort first).
///
/// `Display` prints the value as Cassandra does (`token(pk)` in `cqlsh`,
/// `system.local.tokens`), which is also a valid CQL literal.
///
/// ```
/// use ferry_conn::token::{Partitioner, Token};
///
/// // An int partition key 1, as its 4 big-endian bytes.
/// let t = Token::for_key(Partitioner::Murmur3, &[1i32.to_be_bytes()])?;
/// assert_eq!(t, Token::murmur3(-4069959284402364209));
/// assert_eq!(t.to_string(), "-4069959284402364209");
///
/// // Composite keys: one slice per partition key column, in key order.
/// let composite = Token::for_key(Partitioner::Murmur3, &[&10i32.to_be_bytes()[..], b"20"])?;
/// assert_eq!(composite, Token::murmur3(-9026262514124674157));
///
/// let parsed = Token::parse(Partitioner::Random, "170141183460469231731687303715884105728")?;
/// assert_eq!(parsed, Partitioner::Random.max_token());
/// # Ok::<(), ferry_conn::token::TokenError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Token {
    /// Field order matters: the derived `Ord` compares the partitioner first.
    partitioner: Partitioner,
    /// Rank from the minimum token, `0..partitioner.space_size()`.
    ordinal: u128,
}

impl Token {
    /// A Murmur3Partitioner token.
    pub fn murmur3(value: i64) -> Self {
        Self {
            partitioner: Partitioner::Murmur3,
            ordinal: u128::from((value as u64) ^ SIGN_BIT),
        }
    }

    /// A RandomPartitioner token in `0..=2^127` (the minimum token `-1` is
    /// [`Partitioner::min_token`]).
    pub fn random(value: u128) -> Result<Self, TokenError> {
        if value > RANDOM_MAX_VALUE {
            return Err(TokenError::InvalidToken {
                partitioner: Partitioner::Random,
                input: value.to_string(),
                reason: "RandomPartitioner tokens are at most 2^127",
            });
        }
        Ok(Self::from_ordinal(Partitioner::Random, value + 1))
    }

    /// The token of a partition key given as its components' serialized
    /// values, in partition key order: one component for a single-column key,
    /// several for a composite key (serialized as Cassandra's `CompositeType`,
    /// see [`serialize_partition_key`]).
    ///
    /// This is the token `SELECT token(k1, k2, ...)` returns for that key.
    /// Fails on zero components and on a composite component over 65535 bytes.
    pub fn for_key<C: AsRef<[u8]>>(
        partitioner: Partitioner,
        components: &[C],
    ) -> Result<Self, TokenError> {
        match components {
            [] => Err(TokenError::EmptyPartitionKey),
            // A single-column key is hashed as its bare value: no allocation.
            [single] => Ok(partitioner.token_of(single.as_ref())),
            _ => Ok(partitioner.token_of(&serialize_partition_key(components)?)),
        }
    }

    /// Parses a token as Cassandra prints it (`system.local.tokens`,
    /// `system.peers.tokens`, `nodetool ring`): a decimal integer.
    pub fn parse(partitioner: Partitioner, text: &str) -> Result<Self, TokenError> {
        let invalid = |reason| TokenError::InvalidToken {
            partitioner,
            input: text.to_owned(),
            reason,
        };
        let trimmed = text.trim();
        match partitioner {
            Partitioner::Murmur3 => trimmed
                .parse::<i64>()
                .map(Self::murmur3)
                .map_err(|_| invalid("not a 64-bit signed integer")),
            Partitioner::Random => {
                if trimmed == "-1" {
                    return Ok(partitioner.min_token());
                }
                let value = trimmed
                    .parse::<u128>()
                    .map_err(|_| invalid("not -1 or an integer in 0..=2^127"))?;
                Self::random(value).map_err(|_| invalid("above 2^127"))
            }
        }
    }

    /// Reads a token from its CQL value, as returned for a `token(...)` column
    /// or bound for a `token(...) > ?` marker: a `bigint` (8 bytes, big-endian)
    /// for Murmur3, a `varint` (big-endian two's complement) for Random.
    pub fn from_cql_bytes(partitioner: Partitioner, bytes: &[u8]) -> Result<Self, TokenError> {
        let invalid = |reason| TokenError::InvalidToken {
            partitioner,
            input: hex(bytes),
            reason,
        };
        match partitioner {
            Partitioner::Murmur3 => <[u8; 8]>::try_from(bytes)
                .map(|b| Self::murmur3(i64::from_be_bytes(b)))
                .map_err(|_| invalid("a bigint token is exactly 8 bytes")),
            Partitioner::Random => {
                let (&first, _) = bytes
                    .split_first()
                    .ok_or_else(|| invalid("an empty varint"))?;
                if first & 0x80 != 0 {
                    // Negative: only -1, whose two's complement is all one-bits.
                    return if bytes.iter().all(|&b| b == 0xFF) {
                        Ok(partitioner.min_token())
                    } else {
                        Err(invalid("negative and not -1"))
                    };
                }
                // Non-negative: leading zero bytes are redundant sign bytes.
                let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
                let digits = &bytes[start..];
                if digits.len() > 16 {
                    return Err(invalid("above 2^127"));
                }
                let value = digits
                    .iter()
                    .fold(0u128, |acc, &b| (acc << 8) | u128::from(b));
                Self::random(value).map_err(|_| invalid("above 2^127"))
            }
        }
    }

    /// The token as a CQL value: `bigint` bytes for Murmur3, minimal `varint`
    /// bytes for Random (what Java's `BigInteger.toByteArray` gives).
    pub fn to_cql_bytes(self) -> Vec<u8> {
        match self.partitioner {
            Partitioner::Murmur3 => self.murmur3_value_unchecked().to_be_bytes().to_vec(),
            Partitioner::Random => match self.random_value() {
                None => vec![0xFF],
                Some(value) => {
                    let be = value.to_be_bytes();
                    // Keep one leading zero byte when the top digit has its high
                    // bit set (2^127), so the varint stays non-negative.
                    let first = be.iter().position(|&b| b != 0).unwrap_or(be.len() - 1);
                    let mut out = Vec::with_capacity(17);
                    if be[first] & 0x80 != 0 {
                        out.push(0);
                    }
                    out.extend_from_slice(&be[first..]);
                    out
                }
            },
        }
    }

    /// The partitioner this token belongs to.
    pub fn partitioner(self) -> Partitioner {
        self.partitioner
    }

    /// Whether this is the partitioner's minimum token (`i64::MIN` or `-1`).
    pub fn is_min(self) -> bool {
        self.ordinal == 0
    }

    /// Whether this is the partitioner's maximum token (`i64::MAX` or `2^127`).
    pub fn is_max(self) -> bool {
        self.ordinal == self.partitioner.space_size() - 1
    }

    /// The value of a Murmur3 token; `None` for a Random token.
    pub fn murmur3_value(self) -> Option<i64> {
        (self.partitioner == Partitioner::Murmur3).then(|| self.murmur3_value_unchecked())
    }

    /// The value of a Random token other than the minimum (`0..=2^127`);
    /// `None` for the minimum token `-1` and for a Murmur3 token.
    pub fn random_value(self) -> Option<u128> {
        match self.partitioner {
            Partitioner::Random => self.ordinal.checked_sub(1),
            Partitioner::Murmur3 => None,
        }
    }

    /// The token's rank from the minimum token (see the type docs).
    pub(crate) fn ordinal(self) -> u128 {
        self.ordinal
    }

    /// The token at `ordinal`; callers keep `ordinal < partitioner.space_size()`.
    pub(crate) fn from_ordinal(partitioner: Partitioner, ordinal: u128) -> Self {
        debug_assert!(ordinal < partitioner.space_size());
        Self {
            partitioner,
            ordinal,
        }
    }

    /// The i64 of a Murmur3 ordinal (which always fits in 64 bits).
    fn murmur3_value_unchecked(self) -> i64 {
        ((self.ordinal as u64) ^ SIGN_BIT) as i64
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.partitioner {
            Partitioner::Murmur3 => write!(f, "{}", self.murmur3_value_unchecked()),
            Partitioner::Random => match self.random_value() {
                Some(value) => write!(f, "{value}"),
                None => f.write_str("-1"),
            },
        }
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.partitioner {
            Partitioner::Murmur3 => "Murmur3",
            Partitioner::Random => "Random",
        };
        write!(f, "{name}({self})")
    }
}

/// Lower-case hex of bytes, for error messages.
fn hex(bytes: &[u8]) -> String {
    let mut out = String::from("0x");
    for b in bytes {
        out.push_str(&format!("{b:02x}"));
    }
    out
}
