//! Replication settings as stored by Cassandra 2.1 and 3.0+, ring
//! construction errors, and replica placement on hand-checked rings.

use std::collections::BTreeMap;

use ferry_conn::token::{Partitioner, ReplicationStrategy, RingNode, Token, TokenError, TokenRing};

fn dcs(entries: &[(&str, usize)]) -> ReplicationStrategy {
    ReplicationStrategy::NetworkTopology {
        datacenters: entries.iter().map(|(d, rf)| (d.to_string(), *rf)).collect(),
    }
}

#[test]
fn replication_map_of_cassandra_3() {
    let simple = ReplicationStrategy::from_replication_map([
        ("class", "org.apache.cassandra.locator.SimpleStrategy"),
        ("replication_factor", "3"),
    ]);
    assert_eq!(
        simple,
        Ok(ReplicationStrategy::Simple {
            replication_factor: 3
        })
    );

    let nts = ReplicationStrategy::from_replication_map(vec![
        (
            "class".to_string(),
            "org.apache.cassandra.locator.NetworkTopologyStrategy".to_string(),
        ),
        ("DC1".to_string(), "3".to_string()),
        ("dc-2".to_string(), "0".to_string()),
    ]);
    assert_eq!(nts, Ok(dcs(&[("DC1", 3), ("dc-2", 0)])));

    // Short class names (as accepted in CREATE KEYSPACE) parse too.
    assert_eq!(
        ReplicationStrategy::from_replication_map([
            ("class", "SimpleStrategy"),
            ("replication_factor", "1")
        ]),
        Ok(ReplicationStrategy::Simple {
            replication_factor: 1
        })
    );
    assert_eq!(
        ReplicationStrategy::from_replication_map([(
            "class",
            "org.apache.cassandra.locator.LocalStrategy"
        )]),
        Ok(ReplicationStrategy::Local)
    );
    assert_eq!(
        ReplicationStrategy::from_replication_map([(
            "class",
            "org.apache.cassandra.locator.EverywhereStrategy"
        )]),
        Ok(ReplicationStrategy::Everywhere)
    );
    // Cassandra 4.0 transient replication: "total/transient".
    assert_eq!(
        ReplicationStrategy::from_replication_map([
            ("class", "NetworkTopologyStrategy"),
            ("dc1", "3/1")
        ]),
        Ok(dcs(&[("dc1", 3)]))
    );

    let other = ReplicationStrategy::from_replication_map([
        ("class", "com.example.CustomStrategy"),
        ("foo", "bar"),
    ])
    .unwrap();
    assert_eq!(
        other,
        ReplicationStrategy::Other {
            class: "com.example.CustomStrategy".into(),
            options: BTreeMap::from([("foo".into(), "bar".into())]),
        }
    );
    assert_eq!(other.total_replication_factor(), None);
}

#[test]
fn invalid_replication_maps() {
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![("replication_factor", "3")],
        vec![("class", "SimpleStrategy")],
        vec![("class", "SimpleStrategy"), ("replication_factor", "three")],
        vec![("class", "SimpleStrategy"), ("replication_factor", "-1")],
        vec![("class", "NetworkTopologyStrategy"), ("dc1", "")],
        vec![("class", "NetworkTopologyStrategy"), ("dc1", "1/2")],
        vec![
            ("class", "NetworkTopologyStrategy"),
            ("replication_factor", "3"),
        ],
    ];
    for case in cases {
        assert!(
            matches!(
                ReplicationStrategy::from_replication_map(case.clone()),
                Err(TokenError::InvalidReplication(_))
            ),
            "{case:?}"
        );
    }
}

#[test]
fn strategy_class_and_options_of_cassandra_2_1() {
    assert_eq!(
        ReplicationStrategy::from_class_and_json_options(
            "org.apache.cassandra.locator.SimpleStrategy",
            r#"{"replication_factor":"1"}"#
        ),
        Ok(ReplicationStrategy::Simple {
            replication_factor: 1
        })
    );
    let nts = ReplicationStrategy::from_class_and_json_options(
        "org.apache.cassandra.locator.NetworkTopologyStrategy",
        r#"{"dc1":"3", "dc2": 2}"#,
    )
    .unwrap();
    assert_eq!(nts, dcs(&[("dc1", 3), ("dc2", 2)]));
    assert_eq!(nts.total_replication_factor(), Some(5));
    // The system keyspace: LocalStrategy with no options.
    for empty in ["{}", ""] {
        assert_eq!(
            ReplicationStrategy::from_class_and_json_options(
                "org.apache.cassandra.locator.LocalStrategy",
                empty
            ),
            Ok(ReplicationStrategy::Local)
        );
    }
    for bad in [r#"{"dc1":"3""#, r#"["dc1"]"#, r#"{"dc1":{"x":1}}"#, "null"] {
        assert!(
            matches!(
                ReplicationStrategy::from_class_and_json_options("NetworkTopologyStrategy", bad),
                Err(TokenError::InvalidReplication(_))
            ),
            "{bad}"
        );
    }
}

fn node(id: &'static str, dc: &str, rack: &str, tokens: &[i64]) -> RingNode<&'static str> {
    RingNode {
        id,
        datacenter: dc.into(),
        rack: rack.into(),
        tokens: tokens.iter().copied().map(Token::murmur3).collect(),
    }
}

/// dc1: a, b on rack r1; c, d on r2; e on r3. dc2: f, g both on r1.
/// Ring order: a10 f15 b20 c30 g35 d40 e50.
fn two_dc_ring() -> TokenRing<&'static str> {
    TokenRing::new(
        Partitioner::Murmur3,
        vec![
            node("a", "dc1", "r1", &[10]),
            node("b", "dc1", "r1", &[20]),
            node("c", "dc1", "r2", &[30]),
            node("d", "dc1", "r2", &[40]),
            node("e", "dc1", "r3", &[50]),
            node("f", "dc2", "r1", &[15]),
            node("g", "dc2", "r1", &[35]),
            node("h", "dc2", "r1", &[]),
        ],
    )
    .unwrap()
}

#[test]
fn network_topology_prefers_new_racks_then_skipped_nodes() {
    let ring = two_dc_ring();
    let t = Token::murmur3(5);
    // dc1 picks a (r1), skips b (r1 again), picks c (r2), skips d, picks e (r3).
    // dc2 has one rack, so it takes f then g as met.
    assert_eq!(
        ring.replicas(t, &dcs(&[("dc1", 3), ("dc2", 2)])).unwrap(),
        [&"a", &"f", &"c", &"g", &"e"]
    );
    // With 4 in dc1, once all three racks are used the first skipped node (b)
    // comes next, before any later node.
    assert_eq!(
        ring.replicas(t, &dcs(&[("dc1", 4)])).unwrap(),
        [&"a", &"c", &"e", &"b"]
    );
    // More replicas than nodes: every node of the dc (h owns no token: not counted).
    assert_eq!(
        ring.replicas(t, &dcs(&[("dc1", 9), ("dc2", 9)])).unwrap(),
        [&"a", &"f", &"c", &"g", &"e", &"b", &"d"]
    );
    // Starting past the last token wraps round to a.
    assert_eq!(
        ring.replicas(Token::murmur3(51), &dcs(&[("dc1", 2)]))
            .unwrap(),
        [&"a", &"c"]
    );
    // Starting at d (r2): d, then e (r3), then a (r1).
    assert_eq!(
        ring.replicas(Token::murmur3(40), &dcs(&[("dc1", 3)]))
            .unwrap(),
        [&"d", &"e", &"a"]
    );
    // Unknown and zero-rf datacenters are ignored.
    assert_eq!(
        ring.replicas(t, &dcs(&[("dc9", 3), ("dc1", 0), ("dc2", 1)]))
            .unwrap(),
        [&"f"]
    );
}

#[test]
fn simple_everywhere_and_unsupported_strategies() {
    let ring = two_dc_ring();
    let t = Token::murmur3(31);
    let simple = |rf| ReplicationStrategy::Simple {
        replication_factor: rf,
    };
    assert_eq!(ring.replicas(t, &simple(0)).unwrap(), Vec::<&&str>::new());
    assert_eq!(ring.replicas(t, &simple(3)).unwrap(), [&"g", &"d", &"e"]);
    assert_eq!(
        ring.replicas(t, &simple(100)).unwrap().len(),
        7,
        "h owns no token"
    );
    assert_eq!(
        ring.replicas(t, &ReplicationStrategy::Everywhere).unwrap(),
        [&"g", &"d", &"e", &"a", &"f", &"b", &"c"]
    );
    assert!(matches!(
        ring.replicas(t, &ReplicationStrategy::Local),
        Err(TokenError::UnsupportedStrategy(_))
    ));
    let other = ReplicationStrategy::Other {
        class: "com.example.X".into(),
        options: BTreeMap::new(),
    };
    assert_eq!(
        ring.replicas(t, &other),
        Err(TokenError::UnsupportedStrategy("com.example.X".into()))
    );
}

#[test]
fn vnodes_count_each_node_once() {
    // x owns three consecutive tokens; SimpleStrategy must skip its repeats.
    let ring = TokenRing::new(
        Partitioner::Murmur3,
        vec![
            node("x", "dc1", "r1", &[1, 2, 3]),
            node("y", "dc1", "r1", &[4]),
            node("z", "dc1", "r2", &[5]),
        ],
    )
    .unwrap();
    let rf2 = ReplicationStrategy::Simple {
        replication_factor: 2,
    };
    assert_eq!(
        ring.replicas(Token::murmur3(0), &rf2).unwrap(),
        [&"x", &"y"]
    );
    // NTS: x (r1), y skipped (r1), z (r2).
    assert_eq!(
        ring.replicas(Token::murmur3(0), &dcs(&[("dc1", 2)]))
            .unwrap(),
        [&"x", &"z"]
    );
    assert_eq!(ring.ranges_of(&"x").len(), 3);
    assert_eq!(ring.ranges_of(&"nobody"), []);
}

#[test]
fn ring_construction_errors() {
    assert_eq!(
        TokenRing::<&str>::new(Partitioner::Murmur3, vec![]).unwrap_err(),
        TokenError::EmptyRing
    );
    assert_eq!(
        TokenRing::new(Partitioner::Murmur3, vec![node("a", "d", "r", &[])]).unwrap_err(),
        TokenError::EmptyRing
    );
    assert_eq!(
        TokenRing::new(
            Partitioner::Murmur3,
            vec![node("a", "d", "r", &[1]), node("b", "d", "r", &[2, 1])]
        )
        .unwrap_err(),
        TokenError::DuplicateToken {
            token: Token::murmur3(1),
            first: "\"a\"".into(),
            second: "\"b\"".into()
        }
    );
    assert_eq!(
        TokenRing::new(
            Partitioner::Murmur3,
            vec![node("a", "d", "r", &[1]), node("a", "d", "r", &[2])]
        )
        .unwrap_err(),
        TokenError::DuplicateNode("\"a\"".into())
    );
    assert_eq!(
        TokenRing::new(Partitioner::Random, vec![node("a", "d", "r", &[1])]).unwrap_err(),
        TokenError::PartitionerMismatch {
            expected: Partitioner::Random,
            found: Partitioner::Murmur3
        }
    );

    let ring = two_dc_ring();
    let foreign = Token::random(1).unwrap();
    assert!(ring.owner(foreign).is_err());
    assert!(ring.range_containing(foreign).is_err());
    assert!(ring
        .replicas(foreign, &ReplicationStrategy::Everywhere)
        .is_err());
}

#[test]
fn random_partitioner_ring() {
    // Tokens as system.peers reports them, parsed as text.
    let tokens = |texts: &[&str]| -> Vec<Token> {
        texts
            .iter()
            .map(|s| Token::parse(Partitioner::Random, s).unwrap())
            .collect()
    };
    let ring = TokenRing::new(
        Partitioner::Random,
        vec![
            RingNode {
                id: 1,
                datacenter: "dc1".into(),
                rack: "r1".into(),
                tokens: tokens(&["0", "85070591730234615865843651857942052864"]),
            },
            RingNode {
                id: 2,
                datacenter: "dc1".into(),
                rack: "r1".into(),
                tokens: tokens(&["42535295865117307932921825928971026432"]),
            },
        ],
    )
    .unwrap();
    let ranges = ring.ranges();
    assert_eq!(
        ranges[0].range.to_string(),
        "(85070591730234615865843651857942052864, 0]"
    );
    assert_eq!(*ranges[0].owner, 1);
    // The MD5 token of "123" (42767516990368493138776584305024125808) is past
    // node 2's token, so node 1 owns it.
    let key_token = Token::for_key(Partitioner::Random, &[b"123"]).unwrap();
    assert_eq!(*ring.owner(key_token).unwrap(), 1);
    assert_eq!(*ring.owner(Partitioner::Random.max_token()).unwrap(), 1);
    assert_eq!(*ring.owner(Partitioner::Random.min_token()).unwrap(), 1);
}
