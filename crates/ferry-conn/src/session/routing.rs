//! Query plans: the order in which nodes are tried for one request.
//!
//! A request whose token is known goes to a replica of that token first
//! (the coordinator then serves it locally, saving a network hop), and to
//! the local datacenter before remote ones. Within each group the starting
//! node rotates from request to request to spread the load. Nodes that are
//! down (no open connection) go last: they are tried only when every other
//! node has failed.

use std::net::SocketAddr;

/// A node as the planner sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Candidate<'a> {
    /// The node.
    pub(crate) address: SocketAddr,
    /// Its datacenter.
    pub(crate) datacenter: &'a str,
    /// Whether it has an open connection.
    pub(crate) up: bool,
}

/// Datacenter preferences.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Preferences<'a> {
    /// Nodes of this datacenter first; all nodes are local if `None`.
    pub(crate) local_datacenter: Option<&'a str>,
    /// Whether nodes of other datacenters may be used at all.
    pub(crate) allow_remote: bool,
}

/// The nodes to try, in order: local replicas, other local nodes, then (if
/// allowed) remote replicas and other remote nodes; up nodes before down
/// ones. `replicas` are the token's replicas in ring order (empty when the
/// request is not routed by token); `rotation` varies the starting node.
pub(crate) fn query_plan(
    nodes: &[Candidate<'_>],
    replicas: &[SocketAddr],
    preferences: Preferences<'_>,
    rotation: usize,
) -> Vec<SocketAddr> {
    let is_local = |n: &Candidate<'_>| {
        preferences
            .local_datacenter
            .map_or(true, |dc| n.datacenter == dc)
    };
    let find = |a: &SocketAddr| nodes.iter().find(|n| n.address == *a);
    let known_replicas: Vec<&Candidate<'_>> = replicas.iter().filter_map(find).collect();
    let is_replica = |n: &Candidate<'_>| replicas.contains(&n.address);

    let mut tiers: Vec<Vec<&Candidate<'_>>> = vec![
        known_replicas
            .iter()
            .copied()
            .filter(|n| is_local(n))
            .collect(),
        nodes
            .iter()
            .filter(|n| is_local(n) && !is_replica(n))
            .collect(),
    ];
    if preferences.allow_remote && preferences.local_datacenter.is_some() {
        tiers.push(
            known_replicas
                .iter()
                .copied()
                .filter(|n| !is_local(n))
                .collect(),
        );
        tiers.push(
            nodes
                .iter()
                .filter(|n| !is_local(n) && !is_replica(n))
                .collect(),
        );
    }

    let mut ordered: Vec<&Candidate<'_>> = Vec::with_capacity(nodes.len());
    for mut tier in tiers {
        if !tier.is_empty() {
            let by = rotation % tier.len();
            tier.rotate_left(by);
        }
        ordered.extend(tier);
    }
    // Up nodes first, each group keeping its order.
    let (up, down): (Vec<&Candidate<'_>>, Vec<&Candidate<'_>>) =
        ordered.into_iter().partition(|n| n.up);
    up.into_iter().chain(down).map(|n| n.address).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(n: u8) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, n], 9042))
    }

    fn node(n: u8, dc: &str, up: bool) -> Candidate<'_> {
        Candidate {
            address: addr(n),
            datacenter: dc,
            up,
        }
    }

    const LOCAL_ONLY: Preferences<'static> = Preferences {
        local_datacenter: Some("dc1"),
        allow_remote: false,
    };
    const WITH_REMOTE: Preferences<'static> = Preferences {
        local_datacenter: Some("dc1"),
        allow_remote: true,
    };

    #[test]
    fn local_replicas_come_first_then_local_nodes_then_remote() {
        let nodes = [
            node(1, "dc1", true),
            node(2, "dc1", true),
            node(3, "dc2", true),
            node(4, "dc2", true),
            node(5, "dc1", true),
        ];
        let replicas = [addr(3), addr(2)];
        let plan = query_plan(&nodes, &replicas, WITH_REMOTE, 0);
        assert_eq!(plan, [addr(2), addr(1), addr(5), addr(3), addr(4)]);
        let plan = query_plan(&nodes, &replicas, LOCAL_ONLY, 0);
        assert_eq!(plan, [addr(2), addr(1), addr(5)]);
    }

    #[test]
    fn rotation_spreads_requests_over_replicas() {
        let nodes = [
            node(1, "dc1", true),
            node(2, "dc1", true),
            node(3, "dc1", true),
        ];
        let replicas = [addr(1), addr(2)];
        let firsts: Vec<SocketAddr> = (0..4)
            .map(|r| query_plan(&nodes, &replicas, LOCAL_ONLY, r)[0])
            .collect();
        assert_eq!(firsts, [addr(1), addr(2), addr(1), addr(2)]);
        for r in 0..4 {
            let plan = query_plan(&nodes, &replicas, LOCAL_ONLY, r);
            assert_eq!(plan.len(), 3);
            assert_eq!(plan[2], addr(3), "non-replica last");
        }
    }

    #[test]
    fn down_nodes_go_last_and_no_datacenter_means_all_local() {
        let nodes = [node(1, "a", false), node(2, "b", true), node(3, "c", true)];
        let none = Preferences {
            local_datacenter: None,
            allow_remote: false,
        };
        let plan = query_plan(&nodes, &[addr(1), addr(3)], none, 0);
        assert_eq!(plan, [addr(3), addr(2), addr(1)]);
    }

    #[test]
    fn unknown_replicas_are_ignored() {
        let nodes = [node(1, "dc1", true)];
        let plan = query_plan(&nodes, &[addr(9)], LOCAL_ONLY, 3);
        assert_eq!(plan, [addr(1)]);
    }
}
