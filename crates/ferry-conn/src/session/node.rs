//! A node of the cluster as discovered from its system tables.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use crate::token::Token;

/// One node: where Ferry connects to it, and what the cluster says about it
/// (`system.local` for the contact node, `system.peers` /
/// `system.peers_v2` for the others).
///
/// Nodes are identified by [`Node::address`] throughout the session (the
/// token ring's node ids are these addresses).
///
/// ```
/// use ferry_conn::session::Node;
/// let node = Node {
///     address: "10.0.0.2:9042".parse().unwrap(),
///     advertised_address: Some("10.0.0.2".parse().unwrap()),
///     broadcast_address: Some("10.0.0.2".parse().unwrap()),
///     datacenter: "dc1".into(),
///     rack: "rack1".into(),
///     tokens: vec![],
///     host_id: None,
///     release_version: Some("2.1.0".into()),
/// };
/// assert_eq!(node.to_string(), "10.0.0.2:9042 (dc1/rack1)");
/// assert!(node.is_in_datacenter("dc1"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The address Ferry connects to (the advertised address after the
    /// session's [`AddressTranslator`](super::AddressTranslator); for the
    /// contact node, the address it was reached at).
    pub address: SocketAddr,
    /// The client address the node advertises (`rpc_address`, or
    /// `native_address` in `system.peers_v2`), if known.
    pub advertised_address: Option<IpAddr>,
    /// The node's address inside the cluster (`peer`, or the local node's
    /// `broadcast_address`), if known.
    pub broadcast_address: Option<IpAddr>,
    /// Its datacenter.
    pub datacenter: String,
    /// Its rack.
    pub rack: String,
    /// The tokens it owns (empty while it joins, or if unreadable).
    pub tokens: Vec<Token>,
    /// Its host id (`host_id`), in wire byte order.
    pub host_id: Option<[u8; 16]>,
    /// Its Cassandra release (`release_version`), e.g. `2.1.0`.
    pub release_version: Option<String>,
}

impl Node {
    /// Whether the node is in `datacenter`.
    pub fn is_in_datacenter(&self, datacenter: &str) -> bool {
        self.datacenter == datacenter
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}/{})", self.address, self.datacenter, self.rack)
    }
}
