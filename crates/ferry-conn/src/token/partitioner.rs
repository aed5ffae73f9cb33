//! Which partitioner a cluster uses, parsed from the class name that
//! `system.local.partitioner` reports.

use std::fmt;
use std::str::FromStr;

use super::random_partitioner::MAX_VALUE as RANDOM_MAX_VALUE;
use super::{murmur3, random_partitioner, Token, TokenError};

/// Package prefix of Cassandra's partitioner classes.
const DHT_PACKAGE: &str = "org.apache.cassandra.dht.";

/// A partitioner whose tokens Ferry can compute.
///
/// ```
/// use ferry_conn::token::Partitioner;
///
/// let p = Partitioner::from_class_name("org.apache.cassandra.dht.Murmur3Partitioner")?;
/// assert_eq!(p, Partitioner::Murmur3);
/// assert_eq!(p.min_token().to_string(), "-9223372036854775808");
/// assert_eq!(Partitioner::Random.min_token().to_string(), "-1");
/// # Ok::<(), ferry_conn::token::TokenError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Partitioner {
    /// `org.apache.cassandra.dht.Murmur3Partitioner` (the default since
    /// Cassandra 1.2): tokens are `i64`, minimum `i64::MIN`.
    Murmur3,
    /// `org.apache.cassandra.dht.RandomPartitioner`: tokens are `0..=2^127`,
    /// minimum `-1`.
    Random,
}

impl Partitioner {
    /// Parses a partitioner class name, fully qualified
    /// (`org.apache.cassandra.dht.Murmur3Partitioner`) or short
    /// (`Murmur3Partitioner`). Any other partitioner is
    /// [`TokenError::UnsupportedPartitioner`].
    pub fn from_class_name(name: &str) -> Result<Self, TokenError> {
        let trimmed = name.trim();
        match trimmed.strip_prefix(DHT_PACKAGE).unwrap_or(trimmed) {
            "Murmur3Partitioner" => Ok(Self::Murmur3),
            "RandomPartitioner" => Ok(Self::Random),
            _ => Err(TokenError::UnsupportedPartitioner(name.to_owned())),
        }
    }

    /// The fully qualified Java class name.
    pub fn class_name(self) -> &'static str {
        match self {
            Self::Murmur3 => "org.apache.cassandra.dht.Murmur3Partitioner",
            Self::Random => "org.apache.cassandra.dht.RandomPartitioner",
        }
    }

    /// The minimum token: `i64::MIN` or `-1`. It precedes every real token and
    /// no non-empty key hashes to it, so the range `(min, t]` holds every key
    /// whose token is at most `t`.
    pub fn min_token(self) -> Token {
        Token::from_ordinal(self, 0)
    }

    /// The maximum token: `i64::MAX` or `2^127`.
    pub fn max_token(self) -> Token {
        Token::from_ordinal(self, self.space_size() - 1)
    }

    /// The token of an already serialized partition key (for composite keys
    /// see [`crate::token::serialize_partition_key`], or use
    /// [`Token::for_key`] which does both). The empty key gets the minimum
    /// token, as in Cassandra.
    pub fn token_of(self, serialized_key: &[u8]) -> Token {
        match self {
            Self::Murmur3 => Token::murmur3(murmur3::token(serialized_key)),
            Self::Random => match random_partitioner::token_value(serialized_key) {
                // The value is at most 2^127 by construction, so it is a valid token.
                Some(value) => Token::from_ordinal(self, value + 1),
                None => self.min_token(),
            },
        }
    }

    /// Number of distinct token values, the minimum included: `2^64` for
    /// Murmur3, `2^127 + 2` for Random (`-1` and `0..=2^127`).
    ///
    /// The ring arithmetic works on "ordinals", positions `0..space_size()`
    /// where ordinal 0 is the minimum token; see [`Token`].
    pub(crate) fn space_size(self) -> u128 {
        match self {
            Self::Murmur3 => 1u128 << 64,
            Self::Random => RANDOM_MAX_VALUE + 2,
        }
    }
}

impl FromStr for Partitioner {
    type Err = TokenError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_class_name(s)
    }
}

impl fmt::Display for Partitioner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.class_name())
    }
}
