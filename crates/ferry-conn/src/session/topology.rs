//! Discovering the cluster from one node's system tables.
//!
//! `system.local` describes the node we are connected to (and the cluster:
//! name, partitioner); `system.peers` lists every other node as this node
//! sees it. Cassandra 4.0 added `system.peers_v2`, which also has each
//! peer's native port; it is tried first and, on servers without it (an
//! Invalid "unconfigured table" error), `system.peers` is read instead.

use std::net::{IpAddr, SocketAddr};

use ferry_wire::request::Query;
use ferry_wire::response::{ErrorCode, ResultResponse};
use ferry_wire::Consistency;

use super::config::AddressTranslator;
use super::fields;
use super::node::Node;
use super::row::{decode_all, Row};
use super::statement::columns_of;
use super::values::{encode_for_query, Values};
use super::SessionError;
use crate::connection::Connection;
use crate::error::ConnError;
use crate::token::{Partitioner, RingNode, Token, TokenRing};

/// What one node's system tables say about the cluster.
#[derive(Debug, Clone)]
pub(crate) struct Discovery {
    /// `system.local.cluster_name`.
    pub(crate) cluster_name: Option<String>,
    /// `system.local.partitioner`, as stored.
    pub(crate) partitioner_class: Option<String>,
    /// The partitioner, if Ferry can compute its tokens.
    pub(crate) partitioner: Option<Partitioner>,
    /// Every node, the one we asked first.
    pub(crate) nodes: Vec<Node>,
    /// Whether `system.peers_v2` exists.
    pub(crate) has_peers_v2: bool,
}

/// Reads `system.local` and the peers table through `conn`.
///
/// `peers_v2` is what an earlier discovery learned about `system.peers_v2`
/// (`None`: try it).
pub(crate) async fn discover(
    conn: &Connection,
    default_port: u16,
    translator: &dyn AddressTranslator,
    peers_v2: Option<bool>,
) -> Result<Discovery, SessionError> {
    let node = conn.peer_addr();
    let failed = |source: ConnError| SessionError::Request {
        node,
        attempts: 1,
        source: Box::new(source),
    };
    let local_rows = query_rows(
        conn,
        "SELECT * FROM system.local WHERE key = 'local'",
        &Values::None,
    )
    .await
    .map_err(failed)?;
    let local = local_rows.first().ok_or_else(|| SessionError::Topology {
        node,
        message: "system.local has no row".into(),
    })?;

    let partitioner_class = fields::text(local, "partitioner");
    let partitioner = match partitioner_class
        .as_deref()
        .map(Partitioner::from_class_name)
    {
        Some(Ok(p)) => Some(p),
        Some(Err(e)) => {
            tracing::warn!(error = %e, "token-aware routing is off");
            None
        }
        None => None,
    };

    let (peer_rows, has_peers_v2) = read_peers(conn, peers_v2).await.map_err(failed)?;

    let mut nodes = vec![Node {
        address: node,
        advertised_address: fields::inet(local, "rpc_address"),
        broadcast_address: fields::inet(local, "broadcast_address"),
        datacenter: fields::text(local, "data_center").unwrap_or_default(),
        rack: fields::text(local, "rack").unwrap_or_default(),
        tokens: parse_tokens(partitioner, &fields::text_set(local, "tokens"), node),
        host_id: fields::uuid(local, "host_id"),
        release_version: fields::text(local, "release_version"),
    }];
    for row in &peer_rows {
        let Some(peer) = peer_from_row(row, partitioner, default_port, translator) else {
            continue;
        };
        if nodes.iter().any(|n| n.address == peer.address) {
            tracing::warn!(node = %peer.address, "two peers rows map to one address; keeping the first");
            continue;
        }
        nodes.push(peer);
    }

    Ok(Discovery {
        cluster_name: fields::text(local, "cluster_name"),
        partitioner_class,
        partitioner,
        nodes,
        has_peers_v2,
    })
}

/// The token ring of `nodes`, if the partitioner is known and some node
/// owns tokens.
pub(crate) fn build_ring(
    partitioner: Option<Partitioner>,
    nodes: &[Node],
) -> Option<TokenRing<SocketAddr>> {
    let partitioner = partitioner?;
    let ring_nodes = nodes.iter().map(|n| RingNode {
        id: n.address,
        datacenter: n.datacenter.clone(),
        rack: n.rack.clone(),
        tokens: n.tokens.clone(),
    });
    match TokenRing::new(partitioner, ring_nodes) {
        Ok(ring) => Some(ring),
        Err(e) => {
            tracing::warn!(error = %e, "cannot build the token ring; token-aware routing is off");
            None
        }
    }
}

/// The peers rows, from `system.peers_v2` if it exists.
async fn read_peers(
    conn: &Connection,
    peers_v2: Option<bool>,
) -> Result<(Vec<Row>, bool), ConnError> {
    if peers_v2 != Some(false) {
        match query_rows(conn, "SELECT * FROM system.peers_v2", &Values::None).await {
            Ok(rows) => return Ok((rows, true)),
            // "unconfigured table peers_v2" (3.x) / "unconfigured
            // columnfamily peers_v2" (2.x).
            Err(e) if e.server_code() == Some(ErrorCode::INVALID) => {}
            Err(e) => return Err(e),
        }
    }
    let rows = query_rows(conn, "SELECT * FROM system.peers", &Values::None).await?;
    Ok((rows, false))
}

/// A node from a `system.peers` or `system.peers_v2` row; `None` (and a
/// warning) for rows too incomplete to use, which Cassandra leaves behind
/// for nodes that were removed.
fn peer_from_row(
    row: &Row,
    partitioner: Option<Partitioner>,
    default_port: u16,
    translator: &dyn AddressTranslator,
) -> Option<Node> {
    let broadcast = fields::inet(row, "peer");
    let advertised =
        fields::inet(row, "native_address").or_else(|| fields::inet(row, "rpc_address"));
    // A node listening on all interfaces advertises 0.0.0.0: its cluster
    // address is then the best guess.
    let ip: IpAddr = match advertised {
        Some(ip) if !ip.is_unspecified() => ip,
        _ => broadcast?,
    };
    let port = fields::int(row, "native_port")
        .and_then(|p| u16::try_from(p).ok())
        .unwrap_or(default_port);
    let address = translator.translate(SocketAddr::new(ip, port));
    let Some(datacenter) = fields::text(row, "data_center") else {
        tracing::warn!(node = %address, "peers row without data_center ignored");
        return None;
    };
    Some(Node {
        address,
        advertised_address: advertised,
        broadcast_address: broadcast,
        datacenter,
        rack: fields::text(row, "rack").unwrap_or_default(),
        tokens: parse_tokens(partitioner, &fields::text_set(row, "tokens"), address),
        host_id: fields::uuid(row, "host_id"),
        release_version: fields::text(row, "release_version"),
    })
}

fn parse_tokens(
    partitioner: Option<Partitioner>,
    texts: &[String],
    node: SocketAddr,
) -> Vec<Token> {
    let Some(partitioner) = partitioner else {
        return Vec::new();
    };
    let mut tokens = Vec::with_capacity(texts.len());
    for text in texts {
        match Token::parse(partitioner, text) {
            Ok(t) => tokens.push(t),
            Err(e) => tracing::warn!(%node, error = %e, "unreadable token ignored"),
        }
    }
    tokens
}

/// Runs a one-page query on `conn` and decodes its rows.
pub(crate) async fn query_rows(
    conn: &Connection,
    cql: &str,
    values: &Values,
) -> Result<Vec<Row>, ConnError> {
    let mut query = Query::new(cql.to_owned(), Consistency::One);
    query.parameters.values = encode_for_query(values, conn.protocol_version())
        .map_err(|e| ConnError::Encode(ferry_wire::EncodeError::Invalid(e.to_string())))?;
    match conn.query_with(query).await? {
        ResultResponse::Rows(rows) => {
            let columns = columns_of(&rows, None).map_err(|e| protocol(conn, e))?;
            decode_all(rows, columns, conn.protocol_version()).map_err(ConnError::Decode)
        }
        other => Err(protocol(
            conn,
            format!(
                "{cql:?} answered with result kind {} instead of Rows",
                other.kind()
            ),
        )),
    }
}

fn protocol(conn: &Connection, message: impl ToString) -> ConnError {
    ConnError::Protocol {
        address: conn.address().to_owned(),
        message: message.to_string(),
    }
}
