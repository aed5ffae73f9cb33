//! Property tests of the token ring: primary ranges, owners, unwrap, split
//! and replica placement, over random rings of both partitioners.

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroUsize;

use ferry_conn::token::{Partitioner, ReplicationStrategy, RingNode, Token, TokenRange, TokenRing};
use proptest::prelude::*;

const RANDOM_MAX: u128 = 1 << 127;

/// Number of token values of each partitioner, minimum token included.
fn space_size(p: Partitioner) -> u128 {
    match p {
        Partitioner::Murmur3 => 1 << 64,
        Partitioner::Random => RANDOM_MAX + 2,
    }
}

fn murmur3_token() -> impl Strategy<Value = Token> {
    prop_oneof![
        4 => any::<i64>(),
        // Dense values make adjacent tokens and one-token ranges likely.
        2 => -20i64..20,
        1 => prop_oneof![Just(i64::MIN), Just(i64::MIN + 1), Just(i64::MAX), Just(i64::MAX - 1)],
    ]
    .prop_map(Token::murmur3)
}

fn random_token() -> impl Strategy<Value = Token> {
    let value = prop_oneof![
        4 => any::<u128>().prop_map(|v| v % (RANDOM_MAX + 1)),
        2 => 0u128..20,
        1 => prop_oneof![Just(RANDOM_MAX), Just(RANDOM_MAX - 1)],
    ]
    .prop_map(|v| Token::random(v).unwrap());
    prop_oneof![8 => value, 1 => Just(Partitioner::Random.min_token())]
}

fn token_of(p: Partitioner) -> BoxedStrategy<Token> {
    match p {
        Partitioner::Murmur3 => murmur3_token().boxed(),
        Partitioner::Random => random_token().boxed(),
    }
}

fn partitioner() -> impl Strategy<Value = Partitioner> {
    prop_oneof![Just(Partitioner::Murmur3), Just(Partitioner::Random)]
}

/// 1-10 nodes with 1-16 tokens each, in up to 3 datacenters of up to 3 racks.
/// Tokens repeated across nodes are dropped from the later claimant (a node
/// can end up with no token; the first node always keeps its first).
fn ring_nodes(p: Partitioner) -> impl Strategy<Value = Vec<RingNode<u32>>> {
    let node = (
        0u8..3,
        0u8..3,
        proptest::collection::vec(token_of(p), 1..=16),
    );
    proptest::collection::vec(node, 1..=10).prop_map(|raw| {
        let mut seen = BTreeSet::new();
        raw.into_iter()
            .enumerate()
            .map(|(i, (dc, rack, tokens))| RingNode {
                id: i as u32,
                datacenter: format!("dc{dc}"),
                rack: format!("rack{rack}"),
                tokens: tokens.into_iter().filter(|t| seen.insert(*t)).collect(),
            })
            .collect()
    })
}

/// A partitioner, a ring of it and probe tokens of it.
fn ring_and_probes() -> impl Strategy<Value = (TokenRing<u32>, Vec<Token>)> {
    partitioner().prop_flat_map(|p| {
        (ring_nodes(p), proptest::collection::vec(token_of(p), 1..40)).prop_map(
            move |(nodes, mut probes)| {
                let ring = TokenRing::new(p, nodes).unwrap();
                // Probe at, just before and just after every ring token, and
                // at both ends of the space.
                for (t, _) in ring.tokens() {
                    probes.push(t);
                    probes.extend(neighbours(t));
                }
                probes.push(p.min_token());
                probes.push(p.max_token());
                (ring, probes)
            },
        )
    })
}

/// The tokens just before and after `t` (inside the space).
fn neighbours(t: Token) -> Vec<Token> {
    match t.partitioner() {
        Partitioner::Murmur3 => {
            let v = t.murmur3_value().unwrap();
            [v.checked_sub(1), v.checked_add(1)]
                .into_iter()
                .flatten()
                .map(Token::murmur3)
                .collect()
        }
        Partitioner::Random => match t.random_value() {
            None => vec![Token::random(0).unwrap()],
            Some(0) => vec![Partitioner::Random.min_token(), Token::random(1).unwrap()],
            Some(v) => [Token::random(v - 1).ok(), Token::random(v + 1).ok()]
                .into_iter()
                .flatten()
                .collect(),
        },
    }
}

/// Node ids in ring order starting at the first token >= `t`, wrapping.
fn walk_from(ring: &TokenRing<u32>, t: Token) -> Vec<u32> {
    let tokens: Vec<(Token, u32)> = ring.tokens().map(|(t, id)| (t, *id)).collect();
    let first = tokens.iter().position(|(tok, _)| *tok >= t).unwrap_or(0);
    (0..tokens.len())
        .map(|i| tokens[(first + i) % tokens.len()].1)
        .collect()
}

fn distinct_in_order(ids: impl IntoIterator<Item = u32>) -> Vec<u32> {
    let mut out = Vec::new();
    for id in ids {
        if !out.contains(&id) {
            out.push(id);
        }
    }
    out
}

fn node(ring: &TokenRing<u32>, id: u32) -> &RingNode<u32> {
    ring.nodes().iter().find(|n| n.id == id).unwrap()
}

/// Straightforward model of NetworkTopologyStrategy for one datacenter:
/// the first node met of each rack, in walk order, up to the wanted count;
/// when the racks run out, the earliest other nodes of the walk.
fn nts_model_for_dc(ring: &TokenRing<u32>, t: Token, dc: &str, rf: usize) -> BTreeSet<u32> {
    let members: Vec<u32> = distinct_in_order(walk_from(ring, t))
        .into_iter()
        .filter(|id| node(ring, *id).datacenter == dc)
        .collect();
    let wanted = rf.min(members.len());
    let mut racks = BTreeSet::new();
    let firsts: Vec<u32> = members
        .iter()
        .copied()
        .filter(|id| racks.insert(node(ring, *id).rack.clone()))
        .collect();
    if wanted <= firsts.len() {
        return firsts[..wanted].iter().copied().collect();
    }
    let others = members.iter().copied().filter(|id| !firsts.contains(id));
    firsts
        .iter()
        .copied()
        .chain(others.take(wanted - firsts.len()))
        .collect()
}

proptest! {
    #[test]
    fn primary_ranges_cover_the_space_exactly_once((ring, probes) in ring_and_probes()) {
        let p = ring.partitioner();
        let ranges = ring.ranges();
        prop_assert_eq!(ranges.len(), ring.tokens().count());

        // Adjacent, in ring order, and their sizes add up to the whole space.
        let total: u128 = ranges.iter().map(|r| r.range.token_count()).sum();
        prop_assert_eq!(total, space_size(p));
        for (i, r) in ranges.iter().enumerate() {
            let next = &ranges[(i + 1) % ranges.len()];
            prop_assert_eq!(r.range.end(), next.range.start());
        }
        // Only the first range may wrap.
        prop_assert!(ranges.iter().skip(1).all(|r| !r.range.is_wrapping()));

        for &t in &probes {
            let holders: Vec<_> = ranges.iter().filter(|r| r.range.contains(t)).collect();
            prop_assert_eq!(holders.len(), 1, "token {} is in {} ranges", t, holders.len());
            let owner = ring.owner(t).unwrap();
            prop_assert_eq!(owner, holders[0].owner);
            let containing = ring.range_containing(t).unwrap();
            prop_assert_eq!(containing.range, holders[0].range);
        }
    }

    #[test]
    fn ranges_of_partition_the_primary_ranges((ring, _probes) in ring_and_probes()) {
        let mut all: Vec<TokenRange> = Vec::new();
        for n in ring.nodes() {
            let mine = ring.ranges_of(&n.id);
            prop_assert_eq!(mine.len(), n.tokens.len());
            for r in &mine {
                prop_assert_eq!(*ring.owner(r.end()).unwrap(), n.id);
            }
            all.extend(mine);
        }
        all.sort();
        let mut expected: Vec<TokenRange> = ring.ranges().iter().map(|r| r.range).collect();
        expected.sort();
        prop_assert_eq!(all, expected);
    }

    #[test]
    fn unwrap_keeps_every_real_token((ring, probes) in ring_and_probes()) {
        let p = ring.partitioner();
        let mut unwrapped_total = 0u128;
        for r in ring.ranges() {
            let pieces = r.range.unwrap();
            prop_assert!(pieces.len() <= 2);
            for piece in &pieces {
                prop_assert!(piece.start() < piece.end(), "{} is not a plain range", piece);
                prop_assert!(!piece.is_wrapping());
            }
            let pieces_total: u128 = pieces.iter().map(TokenRange::token_count).sum();
            let holds_min = u128::from(r.range.contains(p.min_token()));
            prop_assert_eq!(pieces_total, r.range.token_count() - holds_min);
            unwrapped_total += pieces_total;

            let bounds = r.range.cql_bounds();
            prop_assert_eq!(bounds.len(), pieces.len());
            for (b, piece) in bounds.iter().zip(&pieces) {
                prop_assert_eq!(b.lower_exclusive, piece.start());
                prop_assert_eq!(b.upper_inclusive, piece.end());
            }

            for &t in &probes {
                let in_pieces = pieces.iter().filter(|piece| piece.contains(t)).count();
                // CQL semantics of the bounds: lower < token(pk) <= upper.
                let in_bounds = bounds
                    .iter()
                    .filter(|b| b.lower_exclusive < t && t <= b.upper_inclusive)
                    .count();
                prop_assert_eq!(in_pieces, in_bounds);
                if t.is_min() {
                    prop_assert_eq!(in_pieces, 0);
                } else {
                    prop_assert_eq!(in_pieces, usize::from(r.range.contains(t)));
                }
            }
        }
        // Over the whole ring: everything but the minimum token.
        prop_assert_eq!(unwrapped_total, space_size(p) - 1);
    }

    #[test]
    fn split_is_exact_disjoint_and_even(
        (range, probes) in partitioner().prop_flat_map(|p| (
            token_of(p), token_of(p), proptest::collection::vec(token_of(p), 1..30)
        )).prop_map(|(a, b, probes)| (TokenRange::new(a, b).unwrap(), probes)),
        parts in 1usize..=40,
    ) {
        let pieces = range.split(NonZeroUsize::new(parts).unwrap());
        let size = range.token_count();
        prop_assert_eq!(pieces.len() as u128, (parts as u128).min(size));

        prop_assert_eq!(pieces[0].start(), range.start());
        prop_assert_eq!(pieces[pieces.len() - 1].end(), range.end());
        for w in pieces.windows(2) {
            prop_assert_eq!(w[0].end(), w[1].start());
        }
        let sizes: Vec<u128> = pieces.iter().map(TokenRange::token_count).collect();
        prop_assert_eq!(sizes.iter().sum::<u128>(), size);
        let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
        prop_assert!(max - min <= 1, "sizes {:?}", sizes);
        if pieces.len() > 1 {
            prop_assert!(pieces.iter().all(|p| !p.is_full_ring()));
        }

        let mut probes = probes;
        for piece in &pieces {
            probes.push(piece.end());
            probes.extend(neighbours(piece.end()));
        }
        for &t in &probes {
            let holders = pieces.iter().filter(|p| p.contains(t)).count();
            prop_assert_eq!(holders, usize::from(range.contains(t)), "token {}", t);
        }
    }

    #[test]
    fn simple_strategy_takes_the_next_distinct_nodes(
        (ring, probes) in ring_and_probes(),
        rf in 0usize..6,
    ) {
        let strategy = ReplicationStrategy::Simple { replication_factor: rf };
        let owning = ring.nodes().iter().filter(|n| !n.tokens.is_empty()).count();
        for &t in &probes {
            let replicas: Vec<u32> = ring.replicas(t, &strategy).unwrap().into_iter().copied().collect();
            prop_assert_eq!(replicas.len(), rf.min(owning));
            prop_assert_eq!(distinct_in_order(replicas.clone()), replicas.clone());
            let expected: Vec<u32> = distinct_in_order(walk_from(&ring, t)).into_iter().take(rf).collect();
            prop_assert_eq!(&replicas, &expected);
            if rf > 0 {
                prop_assert_eq!(replicas[0], *ring.owner(t).unwrap());
            }
        }
        let everywhere = ring.replicas(probes[0], &ReplicationStrategy::Everywhere).unwrap();
        prop_assert_eq!(everywhere.len(), owning);
    }

    #[test]
    fn network_topology_fills_each_dc_on_distinct_racks(
        (ring, probes) in ring_and_probes(),
        rfs in proptest::collection::vec(0usize..5, 4),
    ) {
        // dc0..dc2 exist in the generated rings; dc3 never does.
        let datacenters: BTreeMap<String, usize> =
            rfs.iter().enumerate().map(|(i, rf)| (format!("dc{i}"), *rf)).collect();
        let strategy = ReplicationStrategy::NetworkTopology { datacenters: datacenters.clone() };
        for &t in probes.iter().take(12) {
            let replicas: Vec<u32> = ring.replicas(t, &strategy).unwrap().into_iter().copied().collect();
            prop_assert_eq!(distinct_in_order(replicas.clone()), replicas.clone());

            for (dc, &rf) in &datacenters {
                let in_dc: BTreeSet<u32> = replicas
                    .iter()
                    .copied()
                    .filter(|id| &node(&ring, *id).datacenter == dc)
                    .collect();
                let members: Vec<&RingNode<u32>> = ring
                    .nodes()
                    .iter()
                    .filter(|n| &n.datacenter == dc && !n.tokens.is_empty())
                    .collect();
                prop_assert_eq!(in_dc.len(), rf.min(members.len()), "dc {}", dc);

                // As many distinct racks as possible.
                let racks: BTreeSet<&str> = members.iter().map(|n| n.rack.as_str()).collect();
                let used: BTreeSet<&str> =
                    in_dc.iter().map(|id| node(&ring, *id).rack.as_str()).collect();
                prop_assert_eq!(used.len(), in_dc.len().min(racks.len()));

                prop_assert_eq!(&in_dc, &nts_model_for_dc(&ring, t, dc, rf), "dc {}", dc);
            }
        }
    }
}
