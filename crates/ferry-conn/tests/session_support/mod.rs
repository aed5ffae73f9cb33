//! A fake cluster for session tests: several fake servers that answer the
//! system and schema queries a session makes as a described cluster would,
//! plus whatever a test scripts on top.
//!
//! Nodes advertise made-up addresses 127.0.0.{10+i}:9042 (in `system.local`
//! and the peers tables); the session reaches them through an address
//! translator mapping those to the fake servers' real ports (or, with
//! `peers_v2`, through the `native_port` column).

#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use ferry_conn::session::{AddressTranslator, SessionConfig};
use ferry_conn::token::{Partitioner, Token};
use ferry_conn::ConnectionConfig;
use ferry_testkit::fake_server::{Action, FakeServer, ReceivedRequest};
use ferry_wire::request::{BoundValues, Request};
use ferry_wire::response::{
    ColumnSpec, ErrorDetails, Response, ResultResponse, RowsBuilder, RowsMetadata,
};
use ferry_wire::types::{ColumnType, CqlValue};
use ferry_wire::{ProtocolVersion, RawValue};

/// One node of the described cluster.
#[derive(Debug, Clone)]
pub struct FakeNode {
    pub datacenter: String,
    pub rack: String,
    pub tokens: Vec<i64>,
}

impl FakeNode {
    pub fn new(datacenter: &str, tokens: &[i64]) -> Self {
        Self {
            datacenter: datacenter.into(),
            rack: "rack1".into(),
            tokens: tokens.to_vec(),
        }
    }
}

/// The described cluster.
#[derive(Debug, Clone)]
pub struct ClusterSpec {
    pub nodes: Vec<FakeNode>,
    /// Whether `system.peers_v2` exists (else it is an Invalid error).
    pub peers_v2: bool,
    /// `release_version` of every node.
    pub release_version: String,
    /// Whether the nodes have the legacy schema tables (`system.schema_*`,
    /// Cassandra 2.x) instead of `system_schema`.
    pub legacy_schema: bool,
    /// Highest protocol version the servers speak.
    pub max_version: ProtocolVersion,
    /// `system_schema.keyspaces.replication` of every keyspace (the legacy
    /// tables get the equivalent class and JSON options).
    pub replication: Vec<(String, String)>,
    /// Partition key columns of every table.
    pub partition_key: Vec<String>,
}

impl ClusterSpec {
    /// Like Cassandra 2.1: protocol v3, legacy schema tables.
    #[must_use]
    pub fn cassandra_21(mut self) -> Self {
        self.release_version = "2.1.0".into();
        self.legacy_schema = true;
        self.max_version = ProtocolVersion::V3;
        self
    }

    /// `n` nodes in datacenter1 with evenly spread single tokens,
    /// SimpleStrategy RF 1, partition key `k`, Cassandra 3.11 (no
    /// peers_v2), protocol v4.
    pub fn simple(n: usize) -> Self {
        // Token i sits in the middle of the i-th n-th of the ring.
        let nodes = (0..n)
            .map(|i| {
                let offset = (2 * i as i128 + 1) * (1i128 << 64) / (2 * n as i128);
                FakeNode::new("datacenter1", &[(i64::MIN as i128 + offset) as i64])
            })
            .collect();
        Self {
            nodes,
            peers_v2: false,
            release_version: "3.11.4".into(),
            legacy_schema: false,
            max_version: ProtocolVersion::V4,
            replication: vec![
                (
                    "class".into(),
                    "org.apache.cassandra.locator.SimpleStrategy".into(),
                ),
                ("replication_factor".into(), "1".into()),
            ],
            partition_key: vec!["k".into()],
        }
    }
}

/// A test's own answers: `(node index, request)` to an action, or `None`
/// for the support module's (then the fake server's) default.
pub type Script = Arc<dyn Fn(usize, &ReceivedRequest) -> Option<Action> + Send + Sync>;

/// No scripted answers.
pub fn no_script() -> Script {
    Arc::new(|_, _| None)
}

/// The running fake cluster.
pub struct FakeCluster {
    pub servers: Vec<FakeServer>,
    pub spec: ClusterSpec,
}

/// The address node `i` advertises.
pub fn advertised(i: usize) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 10 + i as u8)), 9042)
}

impl FakeCluster {
    pub async fn start(spec: ClusterSpec, script: Script) -> Self {
        // Ports are known only once the servers listen, but only the
        // peers_v2 rows need them: start with placeholders, then fill in.
        let ports: Arc<std::sync::OnceLock<Vec<u16>>> = Arc::new(std::sync::OnceLock::new());
        let mut servers = Vec::new();
        for i in 0..spec.nodes.len() {
            let spec_i = spec.clone();
            let script = script.clone();
            let ports = ports.clone();
            let server = FakeServer::builder()
                .max_version(spec.max_version)
                .handler(move |req| {
                    if let Some(action) = script(i, req) {
                        return Some(action);
                    }
                    system_answer(&spec_i, i, req, ports.get().map(Vec::as_slice))
                })
                .start()
                .await
                .expect("fake server starts");
            servers.push(server);
        }
        let _ = ports.set(servers.iter().map(|s| s.addr().port()).collect());
        Self { servers, spec }
    }

    /// The real address of node `i`.
    pub fn addr(&self, i: usize) -> SocketAddr {
        self.servers[i].addr()
    }

    /// Which node a session address is.
    pub fn index_of(&self, addr: SocketAddr) -> usize {
        self.servers
            .iter()
            .position(|s| s.addr() == addr)
            .unwrap_or_else(|| panic!("{addr} is not a fake node"))
    }

    /// Maps advertised addresses to the servers.
    pub fn translator(&self) -> Arc<dyn AddressTranslator> {
        let real: Vec<SocketAddr> = self.servers.iter().map(FakeServer::addr).collect();
        Arc::new(move |a: SocketAddr| {
            (0..real.len())
                .find(|&i| advertised(i) == a)
                .map_or(a, |i| real[i])
        })
    }

    /// A session config: node 0 as contact point, the translator, one
    /// connection per node, no heartbeat, short timeouts.
    pub fn config(&self) -> SessionConfig {
        SessionConfig::new([self.servers[0].address()])
            .with_connection(
                ConnectionConfig::new("")
                    .with_max_version(self.spec.max_version)
                    .with_heartbeat(None)
                    .with_request_timeout(Duration::from_secs(5)),
            )
            .with_address_translator(self.translator())
            .with_connections_per_node(1)
    }

    /// The ring owner (SimpleStrategy RF 1 replica) of `token`.
    pub fn owner(&self, token: Token) -> usize {
        let mut all: Vec<(i64, usize)> = self
            .spec
            .nodes
            .iter()
            .enumerate()
            .flat_map(|(i, n)| n.tokens.iter().map(move |t| (*t, i)))
            .collect();
        all.sort();
        let t = token.murmur3_value().expect("Murmur3 token");
        all.iter()
            .find(|(nt, _)| *nt >= t)
            .or(all.first())
            .map(|(_, i)| *i)
            .expect("tokens")
    }

    /// Requests node `i` received with this opcode, handshake excluded.
    pub fn requests(&self, i: usize, opcode: ferry_wire::Opcode) -> Vec<ReceivedRequest> {
        self.servers[i]
            .received_with(opcode)
            .into_iter()
            .filter(|r| r.after_ready)
            .collect()
    }
}

/// The token of an `int` partition key.
pub fn int_token(k: i32) -> Token {
    Token::for_key(Partitioner::Murmur3, &[k.to_be_bytes()]).unwrap()
}

/// A RESULT Rows action; cells encoded from typed values.
pub fn rows_action(
    columns: &[(&str, ColumnType)],
    rows: &[Vec<Option<CqlValue>>],
    paging_state: Option<Bytes>,
) -> Action {
    let specs: Vec<ColumnSpec> = columns
        .iter()
        .map(|(n, t)| ColumnSpec::new("ks", "t", *n, t.clone()))
        .collect();
    let mut metadata = RowsMetadata::with_columns(None, specs);
    metadata.paging_state = paging_state;
    let mut b = RowsBuilder::new(metadata);
    for row in rows {
        let cells: Vec<Option<Bytes>> = row
            .iter()
            .zip(columns)
            .map(|(v, (_, t))| {
                v.as_ref().map(|v| {
                    let mut buf = BytesMut::new();
                    v.encode(t, &mut buf, ProtocolVersion::V4)
                        .expect("encodable");
                    buf.freeze()
                })
            })
            .collect();
        b.push_row(cells.iter().map(|c| c.as_deref()))
            .expect("row fits");
    }
    Action::Respond(Response::Result(ResultResponse::Rows(b.build())))
}

/// An Invalid (0x2200) error.
pub fn invalid(message: &str) -> Action {
    Action::error(ErrorDetails::Invalid, message)
}

/// The bound values of a QUERY or EXECUTE, positional.
pub fn bound_values(req: &ReceivedRequest) -> Vec<RawValue> {
    let params = match &req.request {
        Some(Request::Query(q)) => &q.parameters,
        Some(Request::Execute(e)) => &e.parameters,
        _ => return Vec::new(),
    };
    match &params.values {
        Some(BoundValues::Positional(v)) => v.clone(),
        _ => Vec::new(),
    }
}

/// The text of a bound value.
pub fn bound_text(req: &ReceivedRequest, i: usize) -> Option<String> {
    match bound_values(req).get(i)? {
        RawValue::Bytes(b) => String::from_utf8(b.to_vec()).ok(),
        _ => None,
    }
}

fn text(s: &str) -> Option<CqlValue> {
    Some(CqlValue::from(s.to_owned()))
}

fn set_of(items: &[i64]) -> Option<CqlValue> {
    Some(CqlValue::Set(
        items.iter().map(|t| text(&t.to_string())).collect(),
    ))
}

fn inet(a: SocketAddr) -> Option<CqlValue> {
    Some(CqlValue::Inet(a.ip()))
}

fn host_id(i: usize) -> Option<CqlValue> {
    let mut id = [0u8; 16];
    id[15] = i as u8;
    Some(CqlValue::Uuid(id))
}

/// The answers of a node of `spec` to the session's system queries.
fn system_answer(
    spec: &ClusterSpec,
    me: usize,
    req: &ReceivedRequest,
    ports: Option<&[u16]>,
) -> Option<Action> {
    let q = req.query_text()?;
    if !matches!(req.request, Some(Request::Query(_))) {
        return None;
    }
    let legacy = spec.legacy_schema;
    let set_text = ColumnType::Set(Box::new(ColumnType::Varchar));
    if q.starts_with("SELECT * FROM system.local") {
        let node = &spec.nodes[me];
        return Some(rows_action(
            &[
                ("key", ColumnType::Varchar),
                ("cluster_name", ColumnType::Varchar),
                ("partitioner", ColumnType::Varchar),
                ("data_center", ColumnType::Varchar),
                ("rack", ColumnType::Varchar),
                ("tokens", set_text),
                ("release_version", ColumnType::Varchar),
                ("rpc_address", ColumnType::Inet),
                ("broadcast_address", ColumnType::Inet),
                ("host_id", ColumnType::Uuid),
            ],
            &[vec![
                text("local"),
                text("fake cluster"),
                text("org.apache.cassandra.dht.Murmur3Partitioner"),
                text(&node.datacenter),
                text(&node.rack),
                set_of(&node.tokens),
                text(&spec.release_version),
                inet(advertised(me)),
                inet(advertised(me)),
                host_id(me),
            ]],
            None,
        ));
    }
    if q == "SELECT * FROM system.peers_v2" {
        if !spec.peers_v2 {
            return Some(invalid("unconfigured table peers_v2"));
        }
        let ports = ports?;
        let rows: Vec<Vec<Option<CqlValue>>> = (0..spec.nodes.len())
            .filter(|&j| j != me)
            .map(|j| {
                let mut row = vec![
                    inet(advertised(j)),
                    Some(CqlValue::Int(7000)),
                    // The servers all listen on 127.0.0.1, each on its port.
                    Some(CqlValue::Inet(IpAddr::V4(Ipv4Addr::LOCALHOST))),
                    Some(CqlValue::Int(i32::from(ports[j]))),
                ];
                row.extend(peer_details(spec, j));
                row
            })
            .collect();
        let mut columns = vec![
            ("peer", ColumnType::Inet),
            ("peer_port", ColumnType::Int),
            ("native_address", ColumnType::Inet),
            ("native_port", ColumnType::Int),
        ];
        columns.extend(peer_detail_columns());
        return Some(rows_action(&columns, &rows, None));
    }
    if q == "SELECT * FROM system.peers" {
        return Some(peers_action(spec, me, |_| true));
    }
    if q.contains("system_schema.") && legacy {
        return Some(invalid("Keyspace system_schema does not exist"));
    }
    if q.contains("system.schema_") && !legacy {
        return Some(invalid("unconfigured table schema_keyspaces"));
    }
    if q.starts_with("SELECT replication FROM system_schema.keyspaces") {
        let map = spec
            .replication
            .iter()
            .map(|(k, v)| (text(k), text(v)))
            .collect();
        return Some(rows_action(
            &[(
                "replication",
                ColumnType::Map(Box::new(ColumnType::Varchar), Box::new(ColumnType::Varchar)),
            )],
            &[vec![Some(CqlValue::Map(map))]],
            None,
        ));
    }
    if q.starts_with("SELECT strategy_class, strategy_options FROM system.schema_keyspaces") {
        let class = spec
            .replication
            .iter()
            .find(|(k, _)| k == "class")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let options: Vec<String> = spec
            .replication
            .iter()
            .filter(|(k, _)| k != "class")
            .map(|(k, v)| format!("\"{k}\":\"{v}\""))
            .collect();
        return Some(rows_action(
            &[
                ("strategy_class", ColumnType::Varchar),
                ("strategy_options", ColumnType::Varchar),
            ],
            &[vec![
                text(&class),
                text(&format!("{{{}}}", options.join(","))),
            ]],
            None,
        ));
    }
    if q.starts_with("SELECT column_name, kind, position FROM system_schema.columns") {
        let mut rows: Vec<Vec<Option<CqlValue>>> = spec
            .partition_key
            .iter()
            .enumerate()
            .map(|(i, c)| {
                vec![
                    text(c),
                    text("partition_key"),
                    Some(CqlValue::Int(i as i32)),
                ]
            })
            .collect();
        rows.push(vec![text("v"), text("regular"), Some(CqlValue::Int(-1))]);
        return Some(rows_action(
            &[
                ("column_name", ColumnType::Varchar),
                ("kind", ColumnType::Varchar),
                ("position", ColumnType::Int),
            ],
            &rows,
            None,
        ));
    }
    if q.starts_with("SELECT column_name, type, component_index FROM system.schema_columns") {
        let single = spec.partition_key.len() == 1;
        let mut rows: Vec<Vec<Option<CqlValue>>> = spec
            .partition_key
            .iter()
            .enumerate()
            .map(|(i, c)| {
                // 2.1 leaves component_index null for a one-column key.
                let index = (!single).then(|| CqlValue::Int(i as i32));
                vec![text(c), text("partition_key"), index]
            })
            .collect();
        rows.push(vec![text("v"), text("regular"), None]);
        return Some(rows_action(
            &[
                ("column_name", ColumnType::Varchar),
                ("type", ColumnType::Varchar),
                ("component_index", ColumnType::Int),
            ],
            &rows,
            None,
        ));
    }
    None
}

/// The `system.peers` answer of node `me`: every other node for which
/// `listed` holds.
pub fn peers_action(spec: &ClusterSpec, me: usize, listed: impl Fn(usize) -> bool) -> Action {
    let rows: Vec<Vec<Option<CqlValue>>> = (0..spec.nodes.len())
        .filter(|&j| j != me && listed(j))
        .map(|j| {
            let mut row = vec![inet(advertised(j)), inet(advertised(j))];
            row.extend(peer_details(spec, j));
            row
        })
        .collect();
    let mut columns = vec![
        ("peer", ColumnType::Inet),
        ("rpc_address", ColumnType::Inet),
    ];
    columns.extend(peer_detail_columns());
    rows_action(&columns, &rows, None)
}

/// The columns `system.peers` and `system.peers_v2` share after their
/// address columns.
fn peer_detail_columns() -> [(&'static str, ColumnType); 5] {
    [
        ("data_center", ColumnType::Varchar),
        ("rack", ColumnType::Varchar),
        ("tokens", ColumnType::Set(Box::new(ColumnType::Varchar))),
        ("host_id", ColumnType::Uuid),
        ("release_version", ColumnType::Varchar),
    ]
}

/// Node `j`'s values of [`peer_detail_columns`].
fn peer_details(spec: &ClusterSpec, j: usize) -> [Option<CqlValue>; 5] {
    let n = &spec.nodes[j];
    [
        text(&n.datacenter),
        text(&n.rack),
        set_of(&n.tokens),
        host_id(j),
        text(&spec.release_version),
    ]
}
