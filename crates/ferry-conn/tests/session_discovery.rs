//! Session discovery against fake clusters: system.local, peers_v2 with
//! its fallback to peers, address translation and native ports, the ring,
//! pools per node, datacenter preference, contact point failover.

mod session_support;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferry_conn::session::{IdentityTranslator, QueryOptions, Session, SessionError};
use ferry_conn::token::{Partitioner, ReplicationStrategy, Token};
use ferry_wire::response::{Event, TopologyChangeType};
use ferry_wire::Opcode;
use session_support::{
    advertised, no_script, peers_action, ClusterSpec, FakeCluster, FakeNode, Script,
};

fn queries(cluster: &FakeCluster, i: usize) -> Vec<String> {
    cluster
        .requests(i, Opcode::Query)
        .iter()
        .filter_map(|r| r.query_text().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn discovery_finds_every_node_with_its_tokens_and_builds_the_ring() {
    let cluster = FakeCluster::start(ClusterSpec::simple(3), no_script()).await;
    let session = Session::connect(cluster.config()).await.unwrap();

    let nodes = session.nodes();
    assert_eq!(nodes.len(), 3);
    assert_eq!(nodes[0].address, cluster.addr(0), "contact node first");
    let found: HashSet<_> = nodes.iter().map(|n| n.address).collect();
    let expected: HashSet<_> = (0..3).map(|i| cluster.addr(i)).collect();
    assert_eq!(found, expected);
    for node in &nodes {
        let i = cluster.index_of(node.address);
        let spec = &cluster.spec.nodes[i];
        let tokens: Vec<Token> = spec.tokens.iter().copied().map(Token::murmur3).collect();
        assert_eq!(node.tokens, tokens, "node {i}");
        assert_eq!(node.datacenter, "datacenter1");
        assert_eq!(node.rack, "rack1");
        assert_eq!(node.advertised_address, Some(advertised(i).ip()));
        assert_eq!(node.host_id.unwrap()[15], i as u8);
        assert_eq!(node.release_version.as_deref(), Some("3.11.4"));
    }
    assert_eq!(session.cluster_name().as_deref(), Some("fake cluster"));
    assert_eq!(session.partitioner(), Some(Partitioner::Murmur3));

    let ring = session.ring().expect("a ring");
    let owners: Vec<usize> = ring
        .ranges()
        .iter()
        .map(|r| cluster.index_of(*r.owner))
        .collect();
    assert_eq!(owners, [0, 1, 2], "one range per node, in token order");

    // peers_v2 first; on "unconfigured table", peers.
    let asked = queries(&cluster, 0);
    let v2 = asked
        .iter()
        .position(|q| q == "SELECT * FROM system.peers_v2");
    let v1 = asked.iter().position(|q| q == "SELECT * FROM system.peers");
    assert!(v2.is_some() && v1.is_some() && v2 < v1, "{asked:?}");

    // One connection per node; the discovery connection is reused.
    for i in 0..3 {
        assert_eq!(session.open_connections(cluster.addr(i)), 1, "node {i}");
        assert_eq!(cluster.servers[i].stats().connections, 1, "node {i}");
    }
}

#[tokio::test]
async fn peers_v2_gives_native_ports_without_a_translator() {
    let mut spec = ClusterSpec::simple(3);
    spec.peers_v2 = true;
    let cluster = FakeCluster::start(spec, no_script()).await;
    let config = cluster
        .config()
        .with_address_translator(Arc::new(IdentityTranslator));
    let session = Session::connect(config).await.unwrap();
    let found: HashSet<_> = session.nodes().iter().map(|n| n.address).collect();
    let expected: HashSet<_> = (0..3).map(|i| cluster.addr(i)).collect();
    assert_eq!(found, expected);
    assert!(
        !queries(&cluster, 0).contains(&"SELECT * FROM system.peers".to_owned()),
        "peers_v2 exists, so peers is not read"
    );
    for i in 0..3 {
        assert_eq!(session.open_connections(cluster.addr(i)), 1);
    }
}

#[tokio::test]
async fn replication_and_replicas_come_from_the_schema_tables() {
    for legacy in [false, true] {
        let mut spec = ClusterSpec::simple(3);
        if legacy {
            spec = spec.cassandra_21();
        }
        spec.replication = vec![
            (
                "class".into(),
                "org.apache.cassandra.locator.SimpleStrategy".into(),
            ),
            ("replication_factor".into(), "2".into()),
        ];
        let cluster = FakeCluster::start(spec, no_script()).await;
        let session = Session::connect(cluster.config()).await.unwrap();
        let strategy = session.keyspace_replication("ks").await.unwrap();
        assert_eq!(
            strategy,
            ReplicationStrategy::Simple {
                replication_factor: 2
            },
            "legacy: {legacy}"
        );
        // Node 1's token: owner 1, then node 2.
        let t = Token::murmur3(cluster.spec.nodes[1].tokens[0]);
        let replicas = session.replicas("ks", t).await.unwrap();
        assert_eq!(
            replicas,
            [cluster.addr(1), cluster.addr(2)],
            "legacy: {legacy}"
        );

        let all: Vec<String> = (0..3).flat_map(|i| queries(&cluster, i)).collect();
        let (wanted, unwanted) = if legacy {
            ("system.schema_keyspaces", "system_schema.keyspaces")
        } else {
            ("system_schema.keyspaces", "system.schema_keyspaces")
        };
        assert!(all.iter().any(|q| q.contains(wanted)), "{all:?}");
        assert!(
            !all.iter().any(|q| q.contains(unwanted)),
            "the release version picked the layout: {all:?}"
        );
    }
}

#[tokio::test]
async fn schema_layout_falls_back_when_the_guess_is_wrong_and_remembers() {
    // A 3.0 release string, but only the legacy tables: the guess
    // (system_schema) fails with Invalid and the legacy tables answer.
    let mut spec = ClusterSpec::simple(1);
    spec.release_version = "3.0.0".into();
    spec.legacy_schema = true;
    let cluster = FakeCluster::start(spec, no_script()).await;
    let session = Session::connect(cluster.config()).await.unwrap();
    assert_eq!(
        session.partition_key_columns("ks", "t").await.unwrap(),
        ["k"]
    );
    session.keyspace_replication("ks").await.unwrap();
    let asked = queries(&cluster, 0);
    let modern = asked
        .iter()
        .filter(|q| q.contains("system_schema."))
        .count();
    let legacy = asked
        .iter()
        .filter(|q| q.contains("system.schema_"))
        .count();
    assert_eq!((modern, legacy), (1, 2), "{asked:?}");
}

#[tokio::test]
async fn local_datacenter_nodes_get_connections_and_requests() {
    let mut spec = ClusterSpec::simple(3);
    spec.nodes = vec![
        FakeNode::new("dc1", &[-6_000_000_000_000_000_000]),
        FakeNode::new("dc2", &[0]),
        FakeNode::new("dc1", &[6_000_000_000_000_000_000]),
    ];
    let cluster = FakeCluster::start(spec, no_script()).await;
    let config = cluster
        .config()
        .with_local_datacenter("dc1")
        .with_remote_datacenters(false);
    let session = Session::connect(config).await.unwrap();
    assert_eq!(session.open_connections(cluster.addr(1)), 0, "remote node");
    assert_eq!(cluster.servers[1].stats().connections, 0);
    for i in 0..30 {
        session
            .query(
                &format!("SELECT * FROM ks.t WHERE k = {i}"),
                (),
                QueryOptions::new(),
            )
            .await
            .unwrap();
    }
    let per_node: Vec<usize> = (0..3)
        .map(|i| {
            queries(&cluster, i)
                .iter()
                .filter(|q| q.contains("ks.t"))
                .count()
        })
        .collect();
    assert_eq!(per_node[1], 0, "{per_node:?}");
    assert_eq!(per_node[0] + per_node[2], 30);
    assert!(
        per_node[0] > 5 && per_node[2] > 5,
        "round robin: {per_node:?}"
    );
}

#[tokio::test]
async fn remote_datacenter_is_used_when_the_local_one_is_down() {
    let mut spec = ClusterSpec::simple(2);
    spec.nodes = vec![FakeNode::new("dc1", &[-100]), FakeNode::new("dc2", &[100])];
    let cluster = FakeCluster::start(spec, no_script()).await;
    let session = Session::connect(cluster.config().with_local_datacenter("dc1"))
        .await
        .unwrap();
    let (local, remote) = (cluster.addr(0), cluster.addr(1));
    assert_eq!(
        session.open_connections(remote),
        0,
        "remote pools open lazily"
    );
    // The local node goes away for good.
    let mut servers = cluster.servers;
    let remote_server = servers.remove(1);
    drop(servers);
    for _ in 0..100 {
        if session.open_connections(local) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let r = session
        .query("SELECT * FROM ks.t", (), QueryOptions::new())
        .await
        .unwrap();
    assert_eq!(r.coordinator, remote_server.addr());
    assert_eq!(r.attempts, 1, "the down node was skipped, not attempted");
}

#[tokio::test]
async fn unreachable_contact_points_are_skipped() {
    let cluster = FakeCluster::start(ClusterSpec::simple(2), no_script()).await;
    // A port nobody listens on (bound then released).
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let mut config = cluster.config();
    config.contact_points = vec![dead.clone(), cluster.servers[0].address()];
    let session = Session::connect(config.clone()).await.unwrap();
    assert_eq!(session.nodes().len(), 2);

    config.contact_points = vec![dead.clone()];
    match Session::connect(config).await {
        Err(SessionError::ContactPoints { tried }) => {
            assert_eq!(tried.len(), 1);
            assert_eq!(tried[0].0, dead);
        }
        other => panic!("expected ContactPoints, got {other:?}"),
    }
}

#[tokio::test]
async fn refresh_follows_nodes_joining_and_leaving() {
    // 0: initial three nodes; 1: node 3 joined; 2: node 2 left.
    let phase = Arc::new(AtomicUsize::new(0));
    let spec = ClusterSpec::simple(4);
    let (p, s) = (phase.clone(), spec.clone());
    let script: Script = Arc::new(move |me, req| {
        if req.query_text() != Some("SELECT * FROM system.peers") {
            return None;
        }
        let phase = p.load(Ordering::SeqCst);
        Some(peers_action(&s, me, |j| match phase {
            0 => j != 3,
            1 => true,
            _ => j != 2,
        }))
    });
    let cluster = FakeCluster::start(spec, script).await;
    let session = Session::connect(cluster.config()).await.unwrap();
    let indexes = |s: &Session| -> Vec<usize> {
        let mut v: Vec<usize> = s
            .nodes()
            .iter()
            .map(|n| cluster.index_of(n.address))
            .collect();
        v.sort();
        v
    };
    assert_eq!(indexes(&session), [0, 1, 2]);
    assert_eq!(session.ring().unwrap().ranges().len(), 3);
    assert_eq!(cluster.servers[3].stats().connections, 0);

    phase.store(1, Ordering::SeqCst);
    session.refresh_topology().await.unwrap();
    assert_eq!(indexes(&session), [0, 1, 2, 3]);
    assert_eq!(session.ring().unwrap().ranges().len(), 4);
    assert_eq!(
        session.open_connections(cluster.addr(3)),
        1,
        "joined node gets a pool"
    );
    for i in 0..3 {
        assert_eq!(
            cluster.servers[i].stats().connections,
            1,
            "existing pools are kept"
        );
    }

    phase.store(2, Ordering::SeqCst);
    // Node 2 itself still reports itself (system.local): refresh until a
    // node that dropped it answers; the plan rotates over the nodes.
    for _ in 0..8 {
        session.refresh_topology().await.unwrap();
        if !indexes(&session).contains(&2) {
            break;
        }
    }
    assert_eq!(indexes(&session), [0, 1, 3]);
    assert_eq!(session.open_connections(cluster.addr(2)), 0);
    for _ in 0..200 {
        if cluster.servers[2].stats().disconnects == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        cluster.servers[2].stats().disconnects,
        1,
        "left node's pool closed"
    );
}

#[tokio::test]
async fn topology_events_trigger_a_refresh() {
    let grown = Arc::new(AtomicUsize::new(0));
    let spec = ClusterSpec::simple(4);
    let (g, s) = (grown.clone(), spec.clone());
    let script: Script = Arc::new(move |me, req| {
        if req.query_text() != Some("SELECT * FROM system.peers") {
            return None;
        }
        let grown = g.load(Ordering::SeqCst) == 1;
        Some(peers_action(&s, me, |j| grown || j != 3))
    });
    let cluster = FakeCluster::start(spec, script).await;
    let session = Session::connect(cluster.config()).await.unwrap();
    assert_eq!(session.nodes().len(), 3);
    let registered = |c: &FakeCluster| (0..3).any(|i| !c.requests(i, Opcode::Register).is_empty());
    for _ in 0..200 {
        if registered(&cluster) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(registered(&cluster), "one connection listens for events");

    grown.store(1, Ordering::SeqCst);
    let event = Event::TopologyChange {
        change: TopologyChangeType::NewNode,
        node: advertised(3),
    };
    let sent: usize = cluster
        .servers
        .iter()
        .map(|s| s.push_event(event.clone()))
        .sum();
    assert_eq!(sent, 1);
    for _ in 0..300 {
        if session.nodes().len() == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(session.nodes().len(), 4, "refreshed after the event");
    assert_eq!(session.open_connections(cluster.addr(3)), 1);
}

#[tokio::test]
async fn dropping_the_session_closes_every_connection() {
    let cluster = FakeCluster::start(ClusterSpec::simple(3), no_script()).await;
    let session = Session::connect(cluster.config().with_connections_per_node(2))
        .await
        .unwrap();
    session
        .query("SELECT * FROM ks.t", (), QueryOptions::new())
        .await
        .unwrap();
    drop(session);
    for _ in 0..300 {
        let open: usize = cluster
            .servers
            .iter()
            .map(|s| s.stats().connections - s.stats().disconnects)
            .sum();
        if open == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("connections left open after the session was dropped");
}
