//! The token ring of a cluster: which node owns which range, and which nodes
//! replicate a token.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;

use super::replicas::{self, DatacenterShape};
use super::{Partitioner, ReplicationStrategy, Token, TokenError, TokenRange};

/// A node as the ring needs it: its id, location and tokens (as read from
/// `system.local` / `system.peers`: `data_center`, `rack`, `tokens`).
///
/// `N` is whatever identifies a node to the caller: an address, a host id...
///
/// ```
/// use std::net::{IpAddr, Ipv4Addr};
/// use ferry_conn::token::{Partitioner, RingNode, Token};
///
/// // A row of system.peers: tokens is a set<text>.
/// let tokens = ["-3074457345618258603", "3074457345618258602"];
/// let node = RingNode {
///     id: IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)),
///     datacenter: "datacenter1".to_owned(),
///     rack: "rack1".to_owned(),
///     tokens: tokens
///         .iter()
///         .map(|t| Token::parse(Partitioner::Murmur3, t))
///         .collect::<Result<_, _>>()?,
/// };
/// assert_eq!(node.tokens.len(), 2);
/// # Ok::<(), ferry_conn::token::TokenError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RingNode<N> {
    /// The node's id.
    pub id: N,
    /// Its datacenter name.
    pub datacenter: String,
    /// Its rack name.
    pub rack: String,
    /// The tokens it owns (one per vnode). A node without tokens (still
    /// joining, or with unreadable metadata) owns nothing and is ignored for
    /// placement.
    pub tokens: Vec<Token>,
}

/// One primary range and the node that owns it.
///
/// ```
/// use ferry_conn::token::{Partitioner, RingNode, Token, TokenRing};
///
/// let ring = TokenRing::new(
///     Partitioner::Murmur3,
///     [RingNode { id: 7, datacenter: "dc".into(), rack: "r".into(), tokens: vec![Token::murmur3(0)] }],
/// )?;
/// let primary = ring.range_containing(Token::murmur3(123))?;
/// assert_eq!(*primary.owner, 7);
/// assert!(primary.range.is_full_ring()); // one token: it owns everything
/// # Ok::<(), ferry_conn::token::TokenError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrimaryRange<'a, N> {
    /// The range `(previous token, token]`.
    pub range: TokenRange,
    /// The node owning `range.end()`, hence the whole range.
    pub owner: &'a N,
}

/// The token ring: every node's tokens, sorted.
///
/// Each token `t` of the ring owns the *primary range* `(previous token, t]`,
/// the first token owning the wrap-around range from the last token through
/// the minimum token. The primary ranges cover the whole token space exactly
/// once.
///
/// ```
/// use ferry_conn::token::{Partitioner, ReplicationStrategy, RingNode, Token, TokenRing};
///
/// let node = |id: &'static str, tokens: &[i64]| RingNode {
///     id,
///     datacenter: "dc1".to_owned(),
///     rack: "r1".to_owned(),
///     tokens: tokens.iter().copied().map(Token::murmur3).collect(),
/// };
/// let ring = TokenRing::new(
///     Partitioner::Murmur3,
///     vec![node("a", &[-100, 200]), node("b", &[0]), node("c", &[100])],
/// )?;
///
/// let ranges: Vec<String> = ring
///     .ranges()
///     .iter()
///     .map(|p| format!("{} {}", p.range, p.owner))
///     .collect();
/// assert_eq!(ranges, ["(200, -100] a", "(-100, 0] b", "(0, 100] c", "(100, 200] a"]);
///
/// assert_eq!(*ring.owner(Token::murmur3(50))?, "c");
/// assert_eq!(*ring.owner(Token::murmur3(201))?, "a"); // wraps around
///
/// let rf2 = ReplicationStrategy::Simple { replication_factor: 2 };
/// assert_eq!(ring.replicas(Token::murmur3(50), &rf2)?, [&"c", &"a"]);
/// # Ok::<(), ferry_conn::token::TokenError>(())
/// ```
#[derive(Debug, Clone)]
pub struct TokenRing<N> {
    /// The partitioner of every token.
    partitioner: Partitioner,
    /// The nodes, as given.
    nodes: Vec<RingNode<N>>,
    /// Every token with the index of its node in `nodes`, sorted by token,
    /// without duplicates. Never empty.
    entries: Vec<(Token, usize)>,
    /// Node and rack counts per datacenter, over nodes that own tokens.
    datacenters: BTreeMap<String, DatacenterShape>,
}

impl<N: PartialEq + Debug> TokenRing<N> {
    /// Builds the ring. Fails if a token is not of `partitioner`, if two
    /// tokens are equal, if a node id repeats, or if there are no tokens.
    pub fn new(
        partitioner: Partitioner,
        nodes: impl IntoIterator<Item = RingNode<N>>,
    ) -> Result<Self, TokenError> {
        let nodes: Vec<RingNode<N>> = nodes.into_iter().collect();
        for (i, node) in nodes.iter().enumerate() {
            if nodes[..i].iter().any(|earlier| earlier.id == node.id) {
                return Err(TokenError::DuplicateNode(format!("{:?}", node.id)));
            }
        }

        let mut entries = Vec::new();
        for (index, node) in nodes.iter().enumerate() {
            for &token in &node.tokens {
                if token.partitioner() != partitioner {
                    return Err(TokenError::PartitionerMismatch {
                        expected: partitioner,
                        found: token.partitioner(),
                    });
                }
                entries.push((token, index));
            }
        }
        if entries.is_empty() {
            return Err(TokenError::EmptyRing);
        }
        entries.sort_unstable();
        if let Some(pair) = entries.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(TokenError::DuplicateToken {
                token: pair[0].0,
                first: format!("{:?}", nodes[pair[0].1].id),
                second: format!("{:?}", nodes[pair[1].1].id),
            });
        }

        let mut racks: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        let mut node_counts: BTreeMap<&str, usize> = BTreeMap::new();
        for node in nodes.iter().filter(|n| !n.tokens.is_empty()) {
            racks
                .entry(&node.datacenter)
                .or_default()
                .insert(&node.rack);
            *node_counts.entry(&node.datacenter).or_default() += 1;
        }
        let datacenters = node_counts
            .into_iter()
            .map(|(dc, nodes)| {
                let racks = racks.get(dc).map_or(0, BTreeSet::len);
                (dc.to_owned(), DatacenterShape { nodes, racks })
            })
            .collect();

        Ok(Self {
            partitioner,
            nodes,
            entries,
            datacenters,
        })
    }

    /// The ring's partitioner.
    pub fn partitioner(&self) -> Partitioner {
        self.partitioner
    }

    /// The nodes, in the order given to [`TokenRing::new`].
    pub fn nodes(&self) -> &[RingNode<N>] {
        &self.nodes
    }

    /// Every token with its node, in ring order.
    pub fn tokens(&self) -> impl Iterator<Item = (Token, &N)> + '_ {
        self.entries
            .iter()
            .map(|&(token, index)| (token, &self.nodes[index].id))
    }

    /// The primary ranges in ring order, one per token, starting with the
    /// wrap-around range `(last token, first token]`. With a single token it
    /// is the whole ring `(t, t]`. Together they hold every token exactly once.
    pub fn ranges(&self) -> Vec<PrimaryRange<'_, N>> {
        (0..self.entries.len())
            .map(|i| self.primary_range_at(i))
            .collect()
    }

    /// The primary ranges owned by the node `id`, in ring order (empty for an
    /// unknown node).
    pub fn ranges_of(&self, id: &N) -> Vec<TokenRange> {
        (0..self.entries.len())
            .filter(|&i| self.nodes[self.entries[i].1].id == *id)
            .map(|i| self.primary_range_at(i).range)
            .collect()
    }

    /// The primary range holding `token`, with its owner.
    pub fn range_containing(&self, token: Token) -> Result<PrimaryRange<'_, N>, TokenError> {
        Ok(self.primary_range_at(self.first_at_or_after(token)?))
    }

    /// The primary replica of `token`: the node of the first ring token at or
    /// after it, wrapping round to the first token.
    pub fn owner(&self, token: Token) -> Result<&N, TokenError> {
        let index = self.entries[self.first_at_or_after(token)?].1;
        Ok(&self.nodes[index].id)
    }

    /// The replicas of `token` under `strategy`, primary replica first, as
    /// Cassandra computes them:
    ///
    /// - `Simple { rf }`: walking the ring clockwise from the owner, the first
    ///   `rf` distinct nodes (fewer if the ring has fewer nodes).
    /// - `NetworkTopology`: per datacenter, `min(rf, nodes in the dc)` nodes,
    ///   following Cassandra 2.1's `calculateNaturalEndpoints`: walking
    ///   clockwise, a node is taken if its rack has no replica yet in its
    ///   datacenter, otherwise set aside; once every rack of the datacenter
    ///   holds one, the set-aside nodes are taken in order, then any node met.
    ///   Datacenters with `rf = 0` or no nodes are skipped.
    /// - `Everywhere`: every node owning tokens.
    /// - `Local` and unknown strategies: [`TokenError::UnsupportedStrategy`].
    pub fn replicas(
        &self,
        token: Token,
        strategy: &ReplicationStrategy,
    ) -> Result<Vec<&N>, TokenError> {
        let first = self.first_at_or_after(token)?;
        let walk = (0..self.entries.len()).map(|step| {
            let (_, index) = self.entries[(first + step) % self.entries.len()];
            index
        });
        let indices = match strategy {
            ReplicationStrategy::Simple { replication_factor } => {
                replicas::simple(walk, *replication_factor)
            }
            ReplicationStrategy::Everywhere => replicas::simple(walk, usize::MAX),
            ReplicationStrategy::NetworkTopology { datacenters } => {
                replicas::network_topology(walk, &self.nodes, &self.datacenters, datacenters)
            }
            ReplicationStrategy::Local => {
                return Err(TokenError::UnsupportedStrategy(
                    "LocalStrategy (every node keeps its own data; nothing is placed by token)"
                        .into(),
                ))
            }
            ReplicationStrategy::Other { class, .. } => {
                return Err(TokenError::UnsupportedStrategy(class.clone()))
            }
        };
        Ok(indices.into_iter().map(|i| &self.nodes[i].id).collect())
    }

    /// The primary range ending at `entries[i]`.
    fn primary_range_at(&self, i: usize) -> PrimaryRange<'_, N> {
        let len = self.entries.len();
        let (start, _) = self.entries[(i + len - 1) % len];
        let (end, index) = self.entries[i];
        PrimaryRange {
            // Every ring token is of `self.partitioner` (checked in `new`).
            range: TokenRange::same_partitioner(start, end),
            owner: &self.nodes[index].id,
        }
    }

    /// Index in `entries` of the first token `>= token`, wrapping to 0.
    fn first_at_or_after(&self, token: Token) -> Result<usize, TokenError> {
        if token.partitioner() != self.partitioner {
            return Err(TokenError::PartitionerMismatch {
                expected: self.partitioner,
                found: token.partitioner(),
            });
        }
        let i = self.entries.partition_point(|&(t, _)| t < token);
        Ok(if i == self.entries.len() { 0 } else { i })
    }
}
