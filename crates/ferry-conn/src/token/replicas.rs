//! Replica placement: which nodes hold a token, given the clockwise walk of
//! the ring from the token's owner.
//!
//! Both algorithms take the walk as the sequence of node indices met at each
//! ring token (a node with several vnodes appears several times) and return
//! node indices, primary replica first.
//!
//! NetworkTopologyStrategy follows Cassandra 2.1's
//! `NetworkTopologyStrategy.calculateNaturalEndpoints`, in one pass:
//!
//! - Datacenters named in the options with `rf > 0` and at least one node are
//!   filled, each up to `min(rf, nodes in the dc)` replicas.
//! - Walking the ring, a node of a datacenter still short of replicas is
//!   taken if its rack has not been used yet in that datacenter; otherwise it
//!   is set aside ("skipped"), in walk order.
//! - Once every rack of the datacenter holds a replica, the set-aside nodes
//!   are taken first, in order, then any further node met, until the
//!   datacenter is full.
//!
//! So each datacenter gets one node from each of its first racks met, and
//! only when there are fewer racks than replicas, the earliest other nodes.
//! (Cassandra 3.x reorganised the code with an "acceptable rack repeats"
//! counter; it selects the same nodes.)

use std::collections::BTreeMap;

use super::RingNode;

/// Size of one datacenter, counting only nodes that own tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DatacenterShape {
    /// Number of nodes.
    pub(crate) nodes: usize,
    /// Number of distinct rack names.
    pub(crate) racks: usize,
}

/// SimpleStrategy: the first `replication_factor` distinct nodes of the walk.
pub(crate) fn simple(walk: impl Iterator<Item = usize>, replication_factor: usize) -> Vec<usize> {
    let mut replicas = Vec::new();
    for node in walk {
        if replicas.len() >= replication_factor {
            break;
        }
        if !replicas.contains(&node) {
            replicas.push(node);
        }
    }
    replicas
}

/// Progress of one datacenter during the walk.
struct DatacenterFill<'a> {
    /// Replicas wanted: `min(rf, nodes in the dc)`.
    wanted: usize,
    /// Racks in the dc.
    rack_count: usize,
    /// Replicas chosen so far, in choice order.
    chosen: Vec<usize>,
    /// Racks holding a chosen replica.
    seen_racks: Vec<&'a str>,
    /// Nodes passed over because their rack was already used, in walk order.
    skipped: Vec<usize>,
}

impl DatacenterFill<'_> {
    /// Whether the datacenter has all its replicas.
    fn is_full(&self) -> bool {
        self.chosen.len() >= self.wanted
    }

    /// Chooses `node` (once), recording it in the overall order too.
    fn choose(&mut self, node: usize, order: &mut Vec<usize>) {
        if !self.chosen.contains(&node) {
            self.chosen.push(node);
            order.push(node);
        }
    }
}

/// NetworkTopologyStrategy (see the module docs).
pub(crate) fn network_topology<N>(
    walk: impl Iterator<Item = usize>,
    nodes: &[RingNode<N>],
    shapes: &BTreeMap<String, DatacenterShape>,
    replication: &BTreeMap<String, usize>,
) -> Vec<usize> {
    let mut fills: BTreeMap<&str, DatacenterFill<'_>> = BTreeMap::new();
    for (dc, &rf) in replication {
        match shapes.get(dc) {
            Some(shape) if rf > 0 && shape.nodes > 0 => {
                fills.insert(
                    dc,
                    DatacenterFill {
                        wanted: rf.min(shape.nodes),
                        rack_count: shape.racks,
                        chosen: Vec::new(),
                        seen_racks: Vec::new(),
                        skipped: Vec::new(),
                    },
                );
            }
            _ => {}
        }
    }

    let mut order = Vec::new();
    for index in walk {
        if fills.values().all(DatacenterFill::is_full) {
            break;
        }
        let Some(node) = nodes.get(index) else {
            continue;
        };
        let Some(fill) = fills.get_mut(node.datacenter.as_str()) else {
            continue;
        };
        if fill.is_full() {
            continue;
        }
        if fill.seen_racks.len() >= fill.rack_count {
            // Every rack already holds a replica: racks no longer matter.
            fill.choose(index, &mut order);
        } else if fill.seen_racks.contains(&node.rack.as_str()) {
            if !fill.skipped.contains(&index) {
                fill.skipped.push(index);
            }
        } else {
            fill.choose(index, &mut order);
            fill.seen_racks.push(&node.rack);
            if fill.seen_racks.len() >= fill.rack_count {
                // Racks are exhausted: take the nodes passed over, in order.
                for skipped in std::mem::take(&mut fill.skipped) {
                    if fill.is_full() {
                        break;
                    }
                    fill.choose(skipped, &mut order);
                }
            }
        }
    }
    order
}
