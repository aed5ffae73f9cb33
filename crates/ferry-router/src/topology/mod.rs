//! Topology-rewrite mode: the cluster, as drivers discover it, is the set
//! of proxy instances.
//!
//! Drivers read `system.local` and `system.peers` (`system.peers_v2` for
//! v4+ drivers) on their control connection and then connect to every node
//! listed there. Behind a proxy those are the *source*'s nodes, so the
//! driver would bypass the proxy. In this mode the proxy answers those
//! SELECTs itself:
//!
//! - `system.local` is the source node's real row with the addresses
//!   (`rpc_address`, `broadcast_address`, `listen_address`, and the native
//!   port where the table has one), `host_id` and `tokens` of **this**
//!   proxy instance;
//! - `system.peers` / `system.peers_v2` hold one row per **other** instance;
//!   `data_center`, `rack`, `release_version` and `schema_version` are the
//!   source's (so drivers see schema agreement), `host_id` is derived from
//!   the instance's address (every instance computes the same ids).
//! - The token ring (Murmur3, or Random) is split evenly among the
//!   instances, in list order.
//!
//! To have fresh values (`schema_version` changes with every DDL), every
//! such query is answered from a `SELECT * FROM system.local` sent to the
//! source in its place, on the client's own source connection and stream.
//! So `peers_v2` is answered even by a source that has no such table
//! (Cassandra before 4.0).
//!
//! - [`ProxyTopology`]: the instances and which one this is.
//! - `query`: recognising the SELECTs to answer.
//! - `ring`: tokens and host ids.
//! - `answer`: building the Rows result from the source's local row.
//! - `filter`: evaluating WHERE and LIMIT on those rows.
//!
//! A PREPARE of such a query is answered by the proxy too (from the same
//! `system.local` request): a prepared id of its own ([`prepared_id`]),
//! bind variables for the WHERE markers, the result columns the answers
//! will have. Its EXECUTEs are then answered like the QUERY, with the
//! bound values.

mod answer;
mod filter;
mod query;
mod ring;

use std::net::{IpAddr, SocketAddr};

pub(crate) use answer::{answer_frame, local_query_frame};
pub(crate) use query::{recognize, TopologyQuery};
pub use ring::{host_id_of, tokens_of};

/// The bound values of a QUERY or EXECUTE request (`frame`'s body
/// uncompressed, its message at `offset`), for a WHERE clause's markers.
pub(crate) fn bound_values(
    frame: &ferry_wire::frame::Frame,
    offset: usize,
) -> Option<ferry_wire::request::BoundValues> {
    use ferry_wire::request::{Execute, Query};
    let version = frame.header.version;
    if offset > frame.body.len() {
        return None;
    }
    let mut r = ferry_wire::Reader::new(frame.body.slice(offset..));
    let parameters = match frame.header.opcode {
        ferry_wire::Opcode::Query => Query::decode(&mut r, version).ok()?.parameters,
        ferry_wire::Opcode::Execute => Execute::decode(&mut r, version).ok()?.parameters,
        _ => return None,
    };
    parameters.values
}

/// The prepared id the proxy gives a topology query it prepares itself:
/// derived from the text and keyspace (the same on every instance and
/// after a restart), 16 bytes like Cassandra's, and prefixed so it never
/// equals the id of a statement the source prepared (an MD5 digest; a
/// clash would need those 4 bytes by chance, and then the same remaining
/// 12: ignored).
pub(crate) fn prepared_id(text: &str, keyspace: Option<&str>) -> bytes::Bytes {
    let key = format!("{}\u{0}{text}", keyspace.unwrap_or(""));
    let high = ring::fnv1a(key.as_bytes(), 0xcbf2_9ce4_8422_2325);
    let low = ring::fnv1a(key.as_bytes(), high ^ 0x9e37_79b9_7f4a_7c15);
    let mut id = Vec::with_capacity(16);
    id.extend_from_slice(b"FRRY");
    id.extend_from_slice(&high.to_be_bytes()[..4]);
    id.extend_from_slice(&low.to_be_bytes());
    bytes::Bytes::from(id)
}

/// Why a topology setting is wrong.
///
/// ```
/// use ferry_router::ProxyTopology;
/// let err = ProxyTopology::parse("127.0.0.20,127.0.0.21", 29042, 2).unwrap_err();
/// assert!(err.to_string().contains("--proxy-topology-index"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopologyError {
    /// The address list is empty.
    #[error("--proxy-topology-addresses is empty: list every proxy instance as HOST[:PORT],...")]
    Empty,
    /// An entry is not an IP address with an optional port.
    #[error(
        "--proxy-topology-addresses entry {entry:?} is not IP[:PORT] \
         (drivers connect to these addresses: use IP addresses, not host names)"
    )]
    BadAddress {
        /// The entry as written.
        entry: String,
    },
    /// The same address twice.
    #[error("--proxy-topology-addresses lists {0} twice")]
    Duplicate(SocketAddr),
    /// The index is past the end of the list.
    #[error("--proxy-topology-index {index} is out of range: the list has {count} instance(s), indexes 0 to {}", count.saturating_sub(1))]
    IndexOutOfRange {
        /// The index given.
        index: usize,
        /// Number of instances.
        count: usize,
    },
}

/// The proxy instances that clients should see as the cluster, and which
/// one of them this proxy is.
///
/// ```
/// use ferry_router::ProxyTopology;
/// let t = ProxyTopology::parse("127.0.0.20, 127.0.0.21:9043", 29042, 1).unwrap();
/// assert_eq!(t.this().to_string(), "127.0.0.21:9043");
/// assert_eq!(t.instances()[0].to_string(), "127.0.0.20:29042");
/// assert_eq!(t.others().count(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyTopology {
    instances: Vec<SocketAddr>,
    index: usize,
}

impl ProxyTopology {
    /// The instances, in order (every instance must be given the same
    /// list), and this instance's position in it.
    pub fn new(instances: Vec<SocketAddr>, index: usize) -> Result<Self, TopologyError> {
        let topology = Self { instances, index };
        topology.check()?;
        Ok(topology)
    }

    /// Parses `IP[:PORT],IP[:PORT],...` (IPv6 as `[::1]:PORT`); entries
    /// without a port get `default_port` (the proxy's own port).
    pub fn parse(list: &str, default_port: u16, index: usize) -> Result<Self, TopologyError> {
        let mut instances = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let address = if let Ok(addr) = entry.parse::<SocketAddr>() {
                addr
            } else if let Ok(ip) = entry
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
            {
                SocketAddr::new(ip, default_port)
            } else {
                return Err(TopologyError::BadAddress {
                    entry: entry.to_owned(),
                });
            };
            instances.push(address);
        }
        Self::new(instances, index)
    }

    fn check(&self) -> Result<(), TopologyError> {
        if self.instances.is_empty() {
            return Err(TopologyError::Empty);
        }
        for (i, a) in self.instances.iter().enumerate() {
            if self.instances[..i].contains(a) {
                return Err(TopologyError::Duplicate(*a));
            }
        }
        if self.index >= self.instances.len() {
            return Err(TopologyError::IndexOutOfRange {
                index: self.index,
                count: self.instances.len(),
            });
        }
        Ok(())
    }

    /// The checks of [`new`](Self::new), as a message (for
    /// [`ProxyConfig::validate`](crate::ProxyConfig::validate)).
    pub fn validate(&self) -> Result<(), String> {
        self.check().map_err(|e| e.to_string())
    }

    /// Every instance, in order.
    pub fn instances(&self) -> &[SocketAddr] {
        &self.instances
    }

    /// This instance's position.
    pub fn index(&self) -> usize {
        self.index
    }

    /// This instance's address.
    pub fn this(&self) -> SocketAddr {
        self.instances[self.index]
    }

    /// The other instances with their positions (the rows of `peers`).
    pub fn others(&self) -> impl Iterator<Item = (usize, SocketAddr)> + '_ {
        self.instances
            .iter()
            .copied()
            .enumerate()
            .filter(move |(i, _)| *i != self.index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_ports_v6_and_spaces() {
        let t = ProxyTopology::parse(" 10.0.0.1 ,[::1]:9000,10.0.0.2:1", 29042, 0).unwrap();
        let shown: Vec<String> = t.instances().iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["10.0.0.1:29042", "[::1]:9000", "10.0.0.2:1"]);
        let others: Vec<usize> = t.others().map(|(i, _)| i).collect();
        assert_eq!(others, [1, 2]);
    }

    #[test]
    fn parse_refuses_names_duplicates_and_bad_indexes() {
        assert!(matches!(
            ProxyTopology::parse("proxy1:9042", 1, 0),
            Err(TopologyError::BadAddress { .. })
        ));
        assert!(matches!(
            ProxyTopology::parse("10.0.0.1,10.0.0.1:29042", 29042, 0),
            Err(TopologyError::Duplicate(_))
        ));
        assert_eq!(ProxyTopology::parse(" , ", 1, 0), Err(TopologyError::Empty));
        let e = ProxyTopology::parse("10.0.0.1", 1, 1).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--proxy-topology-index 1 is out of range: the list has 1 instance(s), indexes 0 to 0"
        );
    }
}
