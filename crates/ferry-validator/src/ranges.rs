//! Which token ranges a validation scans.
//!
//! By default: the source ring's primary ranges (one per vnode token), each
//! split into equal pieces so there are enough for the parallelism, and
//! unwrapped (`token(pk) > ? AND token(pk) <= ?` cannot express a range that
//! passes through the minimum token). Ranges follow the source ring so each
//! piece is read from replicas that hold it whole.
//!
//! Every piece is `(start, end]`, start excluded, end included, and the
//! pieces tile the ring exactly: no token is scanned twice or skipped (the
//! off-by-one of tools that start a split at `previous + 1` but read
//! `token > start` cannot happen).

use std::num::NonZeroUsize;

use ferry_conn::token::TokenRange;

/// Splits each of `ranges` into as many equal pieces as it takes to reach
/// about `target_pieces` in total, and unwraps them.
///
/// ```
/// use ferry_conn::token::{Partitioner, Token, TokenRange};
/// use ferry_validator::ranges::plan_ranges;
/// let ring = [
///     TokenRange::new(Token::murmur3(100), Token::murmur3(-100))?, // wraps
///     TokenRange::new(Token::murmur3(-100), Token::murmur3(100))?,
/// ];
/// let pieces = plan_ranges(&ring, 4);
/// assert!(pieces.iter().all(|r| !r.is_wrapping()));
/// let total: u128 = pieces.iter().map(|r| r.token_count()).sum();
/// assert_eq!(total, (1u128 << 64) - 1); // the whole ring but the minimum token
/// # Ok::<(), ferry_conn::token::TokenError>(())
/// ```
pub fn plan_ranges(ranges: &[TokenRange], target_pieces: usize) -> Vec<TokenRange> {
    let per_range = target_pieces.div_ceil(ranges.len().max(1)).max(1);
    let parts = NonZeroUsize::new(per_range).unwrap_or(NonZeroUsize::MIN);
    let mut pieces: Vec<TokenRange> = ranges
        .iter()
        .flat_map(|r| r.split(parts))
        .flat_map(|r| r.unwrap())
        .collect();
    pieces.sort_by_key(|r| r.start());
    pieces
}

/// The given ranges unwrapped, in ring order (not split: a range given
/// explicitly is scanned exactly as given).
pub fn unwrap_ranges(ranges: &[TokenRange]) -> Vec<TokenRange> {
    let mut pieces: Vec<TokenRange> = ranges.iter().flat_map(TokenRange::unwrap).collect();
    pieces.sort_by_key(|r| r.start());
    pieces
}

/// A deterministic pseudo-random choice of `percent` % of `ranges` (at least
/// one), in ring order. The same seed picks the same ranges.
///
/// ```
/// use ferry_conn::token::{Partitioner, TokenRange};
/// use ferry_validator::ranges::{plan_ranges, sample_ranges};
/// let all = plan_ranges(&[TokenRange::full_ring(Partitioner::Murmur3)], 200);
/// let some = sample_ranges(&all, 5.0, 42);
/// assert_eq!(some.len(), 10);
/// assert_eq!(some, sample_ranges(&all, 5.0, 42));
/// assert_ne!(some, sample_ranges(&all, 5.0, 43));
/// ```
pub fn sample_ranges(ranges: &[TokenRange], percent: f64, seed: u64) -> Vec<TokenRange> {
    if ranges.is_empty() {
        return Vec::new();
    }
    let n = ranges.len();
    let wanted = ((n as f64) * percent.clamp(0.0, 100.0) / 100.0).ceil() as usize;
    let wanted = wanted.clamp(1, n);
    let mut indexes: Vec<usize> = (0..n).collect();
    let mut state = seed;
    // Partial Fisher-Yates: the first `wanted` slots end up a uniform sample.
    for i in 0..wanted {
        let r = splitmix64(&mut state) as usize % (n - i);
        indexes.swap(i, i + r);
    }
    let mut chosen: Vec<TokenRange> = indexes
        .iter()
        .take(wanted)
        .filter_map(|&i| ranges.get(i).copied())
        .collect();
    chosen.sort_by_key(|r| r.start());
    chosen
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_conn::token::{Partitioner, Token};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn pieces_tile_the_ring(mut tokens in proptest::collection::btree_set(any::<i64>(), 1..20), target in 1usize..100) {
            let tokens: Vec<Token> = std::mem::take(&mut tokens).into_iter().map(Token::murmur3).collect();
            let ring: Vec<TokenRange> = (0..tokens.len())
                .map(|i| TokenRange::new(tokens[(i + tokens.len() - 1) % tokens.len()], tokens[i]).unwrap())
                .collect();
            let pieces = plan_ranges(&ring, target);
            let total: u128 = pieces.iter().map(|r| r.token_count()).sum();
            prop_assert_eq!(total, (1u128 << 64) - 1);
            // Adjacent, non-wrapping, from just above the minimum to the maximum.
            prop_assert_eq!(pieces[0].start(), Partitioner::Murmur3.min_token());
            prop_assert_eq!(pieces.last().unwrap().end(), Partitioner::Murmur3.max_token());
            for w in pieces.windows(2) {
                prop_assert_eq!(w[0].end(), w[1].start());
                prop_assert!(!w[0].is_wrapping());
            }
        }
    }
}
