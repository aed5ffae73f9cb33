//! Cutting the token ring into the ranges a copy scans.
//!
//! The ranges follow the source's own ring: each primary range (one per
//! vnode token, `(previous token, token]`) is unwrapped (the one that
//! wraps through the minimum token becomes `(t, max]` and `(min, t']`)
//! and split into equal parts, so that
//!
//! - every range lies inside one primary range, hence has one replica set
//!   and its scan runs on a node that holds all of it;
//! - the ranges cover every token exactly once (no key is read twice or
//!   missed at a boundary: each is `token > start AND token <= end`, and
//!   the next starts where this one ends);
//! - their number is close to the requested count, each primary range
//!   getting parts in proportion to its share of the ring (at least one).
//!
//! The order interleaves the ranges of different owners, so that the
//! ranges scanned at the same time load every node.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;

use ferry_conn::token::{TokenRange, TokenRing};

/// The ranges to scan for a ring, about `target_count` of them (never
/// fewer than the ring's primary ranges).
///
/// ```
/// use ferry_conn::token::{Partitioner, RingNode, Token, TokenRing};
/// use ferry_copier::plan::plan_ranges;
/// let node = |id: u8, tokens: &[i64]| RingNode {
///     id, datacenter: "dc1".into(), rack: "r1".into(),
///     tokens: tokens.iter().copied().map(Token::murmur3).collect(),
/// };
/// let ring = TokenRing::new(Partitioner::Murmur3, vec![node(1, &[-100]), node(2, &[100])])?;
/// // Primary ranges: (-100, 100] (tiny) and (100, -100], which wraps and is
/// // unwrapped into (100, max] and (min, -100]; each piece gets its share.
/// let ranges = plan_ranges(&ring, 7);
/// assert_eq!(ranges.len(), 7); // 3 + 3 + 1
/// // Never fewer ranges than pieces.
/// assert_eq!(plan_ranges(&ring, 1).len(), 3);
/// // Interleaved owners; each range inside one primary range, none wrapping.
/// assert!(ranges.iter().all(|r| !r.is_wrapping()));
/// let tokens: u128 = ranges.iter().map(|r| r.token_count()).sum();
/// assert_eq!(tokens, (1u128 << 64) - 1); // every token but the minimum, once
/// # Ok::<(), ferry_conn::token::TokenError>(())
/// ```
pub fn plan_ranges<N: Ord + Clone + std::fmt::Debug>(
    ring: &TokenRing<N>,
    target_count: usize,
) -> Vec<TokenRange> {
    plan_ranges_within(ring, target_count, None)
}

/// Like [`plan_ranges`], but only the tokens of `within` (a token
/// sub-range, `(start, end]`, which may wrap) are planned, and the
/// `target_count` ranges are cut from them alone. The result still lies
/// inside primary ranges and covers exactly the tokens of `within`.
///
/// ```
/// use ferry_conn::token::{Partitioner, RingNode, Token, TokenRange, TokenRing};
/// use ferry_copier::plan::plan_ranges_within;
/// let node = |id: u8, t: i64| RingNode { id, datacenter: "dc".into(), rack: "r".into(), tokens: vec![Token::murmur3(t)] };
/// let ring = TokenRing::new(Partitioner::Murmur3, vec![node(1, -100), node(2, 100)])?;
/// let within = TokenRange::new(Token::murmur3(0), Token::murmur3(1000))?;
/// let ranges = plan_ranges_within(&ring, 4, Some(within));
/// // (0, 100] and (100, 1000]: split in proportion, 4 ranges in all.
/// assert_eq!(ranges.len(), 4);
/// assert_eq!(ranges.iter().map(|r| r.token_count()).sum::<u128>(), 1000);
/// # Ok::<(), ferry_conn::token::TokenError>(())
/// ```
pub fn plan_ranges_within<N: Ord + Clone + std::fmt::Debug>(
    ring: &TokenRing<N>,
    target_count: usize,
    within: Option<TokenRange>,
) -> Vec<TokenRange> {
    let primaries = ring.ranges();
    let limits: Option<Vec<TokenRange>> = within.map(|w| w.unwrap());
    let pieces: Vec<(TokenRange, N)> = primaries
        .iter()
        .flat_map(|p| {
            p.range
                .unwrap()
                .into_iter()
                .map(move |r| (r, p.owner.clone()))
        })
        .flat_map(|(r, owner)| match &limits {
            None => vec![(r, owner)],
            Some(limits) => limits
                .iter()
                .filter_map(|l| intersect(&r, l))
                .map(|r| (r, owner.clone()))
                .collect(),
        })
        .collect();
    if pieces.is_empty() {
        return Vec::new();
    }
    let total: f64 = pieces.iter().map(|(r, _)| r.token_count() as f64).sum();
    // Parts per piece: proportional to its share, at least one, rounded by
    // largest remainder so the total is the target when it can be.
    let ideal: Vec<f64> = pieces
        .iter()
        .map(|(r, _)| r.token_count() as f64 / total * target_count as f64)
        .collect();
    let mut parts: Vec<usize> = ideal.iter().map(|x| (x.floor() as usize).max(1)).collect();
    let mut left = target_count.saturating_sub(parts.iter().sum());
    let mut by_remainder: Vec<usize> = (0..pieces.len()).collect();
    by_remainder.sort_by(|&a, &b| {
        let fa = ideal[a] - parts[a] as f64;
        let fb = ideal[b] - parts[b] as f64;
        fb.total_cmp(&fa).then(a.cmp(&b))
    });
    for &i in by_remainder.iter().cycle().take(pieces.len().max(1) * 2) {
        if left == 0 {
            break;
        }
        if ideal[i] > parts[i] as f64 {
            parts[i] += 1;
            left -= 1;
        }
    }
    let mut by_owner: BTreeMap<N, Vec<TokenRange>> = BTreeMap::new();
    for ((range, owner), parts) in pieces.into_iter().zip(parts) {
        let parts = NonZeroUsize::new(parts).unwrap_or(NonZeroUsize::MIN);
        by_owner
            .entry(owner)
            .or_default()
            .extend(range.split(parts));
    }
    // Round robin over owners.
    let mut queues: Vec<std::vec::IntoIter<TokenRange>> =
        by_owner.into_values().map(Vec::into_iter).collect();
    let mut out = Vec::new();
    loop {
        let mut any = false;
        for queue in &mut queues {
            if let Some(r) = queue.next() {
                out.push(r);
                any = true;
            }
        }
        if !any {
            return out;
        }
    }
}

/// The tokens two non-wrapping ranges have in common, if any.
fn intersect(a: &TokenRange, b: &TokenRange) -> Option<TokenRange> {
    let start = a.start().max(b.start());
    let end = a.end().min(b.end());
    (start < end)
        .then(|| TokenRange::new(start, end).ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_conn::token::{Partitioner, RingNode, Token};

    fn ring(partitioner: Partitioner, nodes: &[&[Token]]) -> TokenRing<usize> {
        TokenRing::new(
            partitioner,
            nodes
                .iter()
                .enumerate()
                .map(|(id, tokens)| RingNode {
                    id,
                    datacenter: "dc".into(),
                    rack: "r".into(),
                    tokens: tokens.to_vec(),
                })
                .collect::<Vec<_>>(),
        )
        .unwrap()
    }

    /// The ranges sorted by start cover (min, max] exactly once.
    fn assert_exact_cover(ranges: &[TokenRange], partitioner: Partitioner) {
        let mut sorted = ranges.to_vec();
        sorted.sort_by_key(|r| r.start());
        assert_eq!(sorted[0].start(), partitioner.min_token());
        for pair in sorted.windows(2) {
            assert_eq!(pair[0].end(), pair[1].start(), "gap or overlap");
        }
        assert_eq!(sorted.last().unwrap().end(), partitioner.max_token());
        assert!(ranges.iter().all(|r| !r.is_wrapping()));
    }

    #[test]
    fn murmur3_rings_are_covered_exactly_once() {
        let m = Token::murmur3;
        for nodes in [
            vec![vec![m(0)]],
            vec![vec![m(i64::MIN)]],
            vec![vec![m(i64::MAX)]],
            vec![
                vec![m(-5), m(7)],
                vec![m(3)],
                vec![m(i64::MAX), m(i64::MIN + 1)],
            ],
        ] {
            let refs: Vec<&[Token]> = nodes.iter().map(|v| v.as_slice()).collect();
            let r = ring(Partitioner::Murmur3, &refs);
            for target in [1, 2, 7, 100] {
                let ranges = plan_ranges(&r, target);
                assert!(ranges.len() >= r.ranges().len().min(target));
                assert_exact_cover(&ranges, Partitioner::Murmur3);
                // Each planned range lies inside one primary range.
                for range in &ranges {
                    let primary = r.range_containing(range.end()).unwrap();
                    assert!(
                        primary.range.start() == range.start()
                            || primary.range.contains(range.start()),
                        "{range} not inside {}",
                        primary.range
                    );
                }
            }
        }
    }

    #[test]
    fn sub_ranges_are_covered_exactly_once() {
        let m = Token::murmur3;
        let r = ring(Partitioner::Murmur3, &[&[m(-5), m(7)], &[m(3)]]);
        // A wrapping sub-range: (100, max] and (min, -1000].
        let within = TokenRange::new(m(100), m(-1000)).unwrap();
        let ranges = plan_ranges_within(&r, 10, Some(within));
        assert!(ranges.len() >= 10);
        let total: u128 = ranges.iter().map(|x| x.token_count()).sum();
        // Every token of the sub-range but the minimum (which holds no key).
        assert_eq!(total, within.token_count() - 1);
        assert!(ranges.iter().all(|x| within.contains(x.end())
            && (within.contains(x.start()) || x.start() == within.start() || x.start().is_min())));
        let inside = TokenRange::new(m(0), m(5)).unwrap();
        let ranges = plan_ranges_within(&r, 3, Some(inside));
        assert_eq!(ranges.iter().map(|x| x.token_count()).sum::<u128>(), 5);
        for x in &ranges {
            let primary = r.range_containing(x.end()).unwrap();
            assert!(primary.range.contains(x.start()) || primary.range.start() == x.start());
        }
    }

    #[test]
    fn random_partitioner_rings_are_covered_exactly_once() {
        let t = |v: u128| Token::random(v).unwrap();
        let max = 1u128 << 127;
        let r = ring(Partitioner::Random, &[&[t(0), t(max)], &[t(1 << 126)]]);
        for target in [1, 5, 64] {
            let ranges = plan_ranges(&r, target);
            assert_exact_cover(&ranges, Partitioner::Random);
        }
    }

    #[test]
    fn counts_follow_the_target_and_owners_interleave() {
        let m = Token::murmur3;
        let r = ring(
            Partitioner::Murmur3,
            &[
                &[m(-6_000_000_000_000_000_000)],
                &[m(0)],
                &[m(6_000_000_000_000_000_000)],
            ],
        );
        let ranges = plan_ranges(&r, 60);
        assert_eq!(ranges.len(), 60);
        let owners: Vec<usize> = ranges
            .iter()
            .take(3)
            .map(|x| *r.owner(x.end()).unwrap())
            .collect();
        let mut distinct = owners.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(
            distinct.len(),
            3,
            "first three ranges on three owners: {owners:?}"
        );
    }
}
