//! Sessions against a real 3-node Cassandra 2.1 ring (group `ring` of
//! `scripts/node-groups.conf`): discovery, ring coverage, Ferry's tokens
//! against `SELECT token(...)` for several key types, and token-aware
//! routing checked with Cassandra's own tracing.

use std::collections::{BTreeSet, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferry_conn::session::{Page, QueryOptions, Session, SessionConfig};
use ferry_conn::token::{Partitioner, Token};
use ferry_testkit::{unique_keyspace_name, NodeGroup};
use ferry_wire::types::CqlValue;
use ferry_wire::Consistency;
use futures::{StreamExt, TryStreamExt};

const KEYS_PER_TYPE: u64 = 10_000;

fn session_config(nodes: &NodeGroup) -> SessionConfig {
    // Only the first node: the others must be discovered.
    ferry_testkit::session::session_config(nodes)
}

/// Creates `ks` and waits until every node of the ring has it (see
/// [`ddl`]).
async fn create_keyspace(session: &Session, ks: &str) {
    ddl(session, &ferry_testkit::session::create_keyspace_cql(ks, 1)).await;
}

/// Runs DDL at ALL, then waits until every node of the ring has the
/// change: the session's own wait gives up after 10 s, and under CI load
/// the ring has taken longer ("unconfigured columnfamily" on the next
/// INSERT). `ddl_agreed` keeps asking for up to a minute.
async fn ddl(session: &Session, cql: &str) {
    ferry_testkit::session::ddl_agreed(session, cql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_finds_the_three_nodes_and_their_ring() {
    let nodes = NodeGroup::require("ring");
    let session = Session::connect(session_config(&nodes)).await.unwrap();
    let found: BTreeSet<SocketAddr> = session.nodes().iter().map(|n| n.address).collect();
    let expected: BTreeSet<SocketAddr> = nodes.nodes.iter().map(|n| n.socket_addr()).collect();
    assert_eq!(found, expected);
    assert_eq!(
        session.cluster_name().as_deref(),
        Some(nodes.cluster_name.as_str())
    );
    assert_eq!(session.partitioner(), Some(Partitioner::Murmur3));
    for node in session.nodes() {
        assert_eq!(
            node.release_version.as_deref(),
            Some(nodes.cassandra_version.as_str())
        );
        assert!(!node.tokens.is_empty(), "{node} owns tokens");
        assert!(node.host_id.is_some());
        assert_eq!(
            session.open_connections(node.address),
            2,
            "{node} has its pool"
        );
    }

    // The primary ranges cover the ring exactly once: each starts where the
    // previous one ends, all the way round, one per token.
    let ring = session.ring().unwrap();
    let ranges = ring.ranges();
    let token_count: usize = session.nodes().iter().map(|n| n.tokens.len()).sum();
    assert_eq!(ranges.len(), token_count);
    for (i, r) in ranges.iter().enumerate() {
        let next = &ranges[(i + 1) % ranges.len()];
        assert_eq!(
            r.range.end(),
            next.range.start(),
            "gap or overlap after {}",
            r.range
        );
    }
    assert_eq!(ranges.iter().filter(|r| r.range.is_wrapping()).count(), 1);
    // Spot check: any token lies in exactly one range.
    for t in [i64::MIN + 1, -1, 0, 1, i64::MAX, 123_456_789] {
        let t = Token::murmur3(t);
        assert_eq!(ranges.iter().filter(|r| r.range.contains(t)).count(), 1);
    }
}

/// Deterministic pseudo-random bytes (splitmix64).
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Key `i` of a table whose partition key has these CQL types.
fn key_values(types: &[&str], i: u64) -> Vec<CqlValue> {
    types
        .iter()
        .enumerate()
        .map(|(c, ty)| {
            let r = mix(i * 8 + c as u64);
            match *ty {
                "int" => CqlValue::Int(r as i32),
                "bigint" => CqlValue::Bigint(r as i64),
                // Varied lengths, multi-byte UTF-8, tail bytes >= 0x80.
                "text" => CqlValue::from(format!("k{}é{}", i, "ü".repeat((r % 9) as usize))),
                "uuid" => {
                    let mut u = [0u8; 16];
                    u[..8].copy_from_slice(&r.to_be_bytes());
                    u[8..].copy_from_slice(&mix(r).to_be_bytes());
                    u[6] = (u[6] & 0x0f) | 0x40;
                    u[8] = (u[8] & 0x3f) | 0x80;
                    CqlValue::Uuid(u)
                }
                // Unique: one byte for the first 256 keys, then the key
                // number and a random tail of 0 to 39 bytes.
                "blob" if i < 256 => CqlValue::Blob(Bytes::from(vec![i as u8])),
                "blob" => {
                    let mut bytes = (i as u32).to_le_bytes().to_vec();
                    bytes.extend((0..r % 40).map(|j| mix(r + j) as u8));
                    CqlValue::Blob(Bytes::from(bytes))
                }
                other => panic!("no generator for {other}"),
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ferry_tokens_equal_cassandra_tokens_for_every_key_type() {
    let nodes = NodeGroup::require("ring");
    let session = Session::connect(session_config(&nodes)).await.unwrap();
    let ks = unique_keyspace_name("session_tokens");
    create_keyspace(&session, &ks).await;
    let key_types: [&[&str]; 6] = [
        &["int"],
        &["bigint"],
        &["text"],
        &["uuid"],
        &["blob"],
        &["int", "text"],
    ];
    for (t, types) in key_types.iter().enumerate() {
        let columns: Vec<String> = (0..types.len()).map(|c| format!("p{c}")).collect();
        let column_defs: Vec<String> = columns
            .iter()
            .zip(types.iter())
            .map(|(c, ty)| format!("{c} {ty}"))
            .collect();
        let key_list = columns.join(", ");
        ddl(
            &session,
            &format!(
                "CREATE TABLE {ks}.t{t} ({}, v int, PRIMARY KEY (({key_list})))",
                column_defs.join(", ")
            ),
        )
        .await;
        let markers = vec!["?"; types.len() + 1].join(", ");
        let insert = session
            .prepare(&format!(
                "INSERT INTO {ks}.t{t} ({key_list}, v) VALUES ({markers})"
            ))
            .await
            .unwrap();
        assert_eq!(insert.pk_indexes(), (0..types.len()).collect::<Vec<_>>());
        futures::stream::iter(0..KEYS_PER_TYPE)
            .map(|i| {
                let mut values = key_values(types, i);
                values.push(CqlValue::Int(i as i32));
                let (session, insert) = (&session, &insert);
                async move {
                    session
                        .execute(insert, values, QueryOptions::new().idempotent(true))
                        .await
                }
            })
            .buffer_unordered(128)
            .try_for_each(|_| async { Ok(()) })
            .await
            .unwrap();

        // token(pk) as Cassandra computes it, next to the key's bytes.
        let pages: Vec<Page> = session
            .query_pages(
                &format!("SELECT token({key_list}), {key_list} FROM {ks}.t{t}"),
                (),
                QueryOptions::new().with_page_size(2000),
            )
            .try_collect()
            .await
            .unwrap();
        let mut checked = 0u64;
        for page in &pages {
            for row in page.rows().rows() {
                let row = row.unwrap();
                let cells: Vec<&[u8]> = row.raw_cells().map(|c| c.unwrap()).collect();
                let theirs = Token::from_cql_bytes(Partitioner::Murmur3, cells[0]).unwrap();
                let ours = Token::for_key(Partitioner::Murmur3, &cells[1..]).unwrap();
                assert_eq!(ours, theirs, "{types:?} key {:02x?}", &cells[1..]);
                checked += 1;
            }
        }
        assert_eq!(checked, KEYS_PER_TYPE, "{types:?}");
    }
    ddl(&session, &format!("DROP KEYSPACE {ks}")).await;
}

/// The trace events of a traced request: (source, activity), waiting
/// until `done` holds for them (traces are written in the background).
async fn trace_events(
    session: &Session,
    tracing_id: [u8; 16],
    done: impl Fn(&[(IpAddr, String)]) -> bool,
) -> Vec<(IpAddr, String)> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let rows = session
            .query(
                "SELECT source, activity FROM system_traces.events WHERE session_id = ?",
                vec![CqlValue::Uuid(tracing_id)],
                QueryOptions::new()
                    .with_consistency(Consistency::One)
                    .idempotent(true),
            )
            .await
            .unwrap()
            .into_rows()
            .unwrap();
        let events: Vec<(IpAddr, String)> = rows
            .iter()
            .map(|r| match (r.get(0), r.get(1)) {
                (Some(CqlValue::Inet(ip)), Some(a)) => (*ip, a.as_text().unwrap_or("").to_owned()),
                other => panic!("unexpected trace row {other:?}"),
            })
            .collect();
        if done(&events) || Instant::now() > deadline {
            return events;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn reads_locally(events: &[(IpAddr, String)]) -> bool {
    events
        .iter()
        .any(|(_, a)| a.contains("single-partition query"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_go_to_the_replica_that_owns_the_key() {
    let nodes = NodeGroup::require("ring");
    let session = Session::connect(session_config(&nodes)).await.unwrap();
    let ks = unique_keyspace_name("session_routing");
    create_keyspace(&session, &ks).await;
    ddl(
        &session,
        &format!("CREATE TABLE {ks}.t (k int PRIMARY KEY, v int)"),
    )
    .await;
    let insert = session
        .prepare(&format!("INSERT INTO {ks}.t (k, v) VALUES (?, ?)"))
        .await
        .unwrap();
    let mut coordinators = HashSet::new();
    for k in 0..300 {
        let r = session
            .execute(
                &insert,
                vec![CqlValue::Int(k), CqlValue::Int(k)],
                QueryOptions::new(),
            )
            .await
            .unwrap();
        let token = Token::for_key(Partitioner::Murmur3, &[k.to_be_bytes()]).unwrap();
        assert_eq!(
            session.replicas(&ks, token).await.unwrap(),
            [r.coordinator],
            "key {k}"
        );
        coordinators.insert(r.coordinator);
    }
    assert_eq!(coordinators.len(), 3, "keys spread over the ring");

    // Cassandra's view: a traced read of a key at its owner runs entirely
    // on that node; sent elsewhere (forced by a routing token of another
    // node's range), the owner shows up in the trace.
    let select = session
        .prepare(&format!("SELECT v FROM {ks}.t WHERE k = ?"))
        .await
        .unwrap();
    let ring = session.ring().unwrap();
    for k in 0..5 {
        let traced = QueryOptions::new().with_tracing(true);
        let r = session
            .execute(&select, vec![CqlValue::Int(k)], traced.clone())
            .await
            .unwrap();
        let events = trace_events(&session, r.tracing_id.unwrap(), reads_locally).await;
        assert!(reads_locally(&events), "key {k}: no read in {events:?}");
        assert!(
            events
                .iter()
                .all(|(source, _)| *source == r.coordinator.ip()),
            "key {k} read at {}: {events:?}",
            r.coordinator
        );

        let owner = r.coordinator;
        let elsewhere = ring
            .ranges()
            .iter()
            .find(|p| *p.owner != owner)
            .map(|p| p.range.end())
            .unwrap();
        let r = session
            .execute(
                &select,
                vec![CqlValue::Int(k)],
                traced.with_routing_token(elsewhere),
            )
            .await
            .unwrap();
        assert_ne!(r.coordinator, owner);
        let events = trace_events(&session, r.tracing_id.unwrap(), |ev| {
            ev.iter().any(|(s, _)| *s == owner.ip())
        })
        .await;
        assert!(
            events.iter().any(|(s, _)| *s == owner.ip()),
            "key {k}: the owner {owner} took part: {events:?}"
        );
    }
    ddl(&session, &format!("DROP KEYSPACE {ks}")).await;
}
