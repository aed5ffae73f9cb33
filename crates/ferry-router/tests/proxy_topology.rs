//! Topology-rewrite mode, end to end: two proxy instances on different
//! loopback addresses with the same port, in front of the real `source`
//! and `target` nodes; the Python driver connects to one and must discover
//! exactly the two proxies (never the source node), agree on the schema,
//! and spread its queries over both.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use ferry_router::{Cluster, Proxy, ProxyTopology, RequestKind};
use ferry_testkit::{unique_keyspace_name, NodeGroup};
use serde_json::json;

/// Starts one proxy per address of `addresses` (all with the same port),
/// each told the whole list and its own position.
async fn start_instances(
    source: &NodeGroup,
    target: &NodeGroup,
    dir: &std::path::Path,
    ips: [&str; 2],
) -> (Vec<Proxy>, Vec<SocketAddr>) {
    // A port free on both addresses (another test may hold one: retry).
    for _ in 0..20 {
        let port = {
            let probe = std::net::TcpListener::bind((ips[0], 0)).expect("bind a loopback address");
            probe.local_addr().unwrap().port()
        };
        let addresses: Vec<SocketAddr> = ips
            .iter()
            .map(|ip| format!("{ip}:{port}").parse().unwrap())
            .collect();
        let mut proxies = Vec::new();
        for (i, address) in addresses.iter().enumerate() {
            let mut config = support::config_for(
                source,
                target.first().socket_addr().to_string(),
                &dir.join(format!("failed-{i}.log")),
            );
            config.listen = *address;
            config.topology = Some(ProxyTopology::new(addresses.clone(), i).unwrap());
            match Proxy::start(config).await {
                Ok(p) => proxies.push(p),
                Err(_) => break,
            }
        }
        if proxies.len() == addresses.len() {
            return (proxies, addresses);
        }
        for p in proxies {
            p.shutdown().await;
        }
    }
    panic!("no port free on both {ips:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_driver_discovers_the_proxy_instances_and_uses_both() {
    let source = NodeGroup::require("source");
    let target = NodeGroup::require("target");
    let dir = support::temp_dir("topology");
    let (proxies, addresses) =
        start_instances(&source, &target, &dir, ["127.0.0.20", "127.0.0.21"]).await;
    let ks = unique_keyspace_name("proxy_topology");

    let client = {
        let source = source.clone();
        let args = vec![
            addresses[0].ip().to_string(),
            addresses[0].port().to_string(),
            ks.clone(),
        ];
        tokio::task::spawn_blocking(move || {
            support::run_python(&source, "topology_client.py", &args)
        })
        .await
        .unwrap()
    };
    let expected: Vec<String> = addresses.iter().map(ToString::to_string).collect();
    // Exactly the proxies: the source node (127.0.0.8) is nowhere.
    assert_eq!(client["hosts"], json!(expected), "{client}");
    assert_eq!(client["up"], json!(expected), "{client}");
    assert!(!client.to_string().contains("127.0.0.8"), "{client}");
    // peers_v2 answered although Cassandra 2.1 has no such table.
    assert_eq!(client["peers_v2"], json!(true), "{client}");
    assert_eq!(
        client["cluster_name"],
        json!(source.cluster_name),
        "{client}"
    );
    // Each instance owns part of the ring.
    assert_eq!(client["token_owners"], json!(expected), "{client}");
    // local and peers report the same schema version.
    assert_eq!(client["schema_agreed"], json!([true, true]), "{client}");
    // Queries went through both instances, and worked.
    assert_eq!(client["coordinators"], json!(expected), "{client}");
    assert_eq!(client["rr_coordinators"], json!(expected), "{client}");
    assert_eq!(client["rows"], json!(60), "{client}");

    // Prepared queries on the topology tables: each instance describes
    // itself in local, and the other one in peers.
    let ips: Vec<String> = addresses.iter().map(|a| a.ip().to_string()).collect();
    for answer in client["prepared"].as_array().unwrap() {
        let by: SocketAddr = answer["by"].as_str().unwrap().parse().unwrap();
        let others: Vec<&String> = ips
            .iter()
            .filter(|ip| **ip != by.ip().to_string())
            .collect();
        if let Some(local) = answer.get("local") {
            // The host id the driver has for that instance.
            assert_eq!(local, &client["host_ids"][by.to_string()], "{client}");
        } else {
            assert_eq!(answer["peers"], json!(others), "{answer}");
        }
    }
    let host_ids: Vec<&serde_json::Value> =
        client["host_ids"].as_object().unwrap().values().collect();
    assert_eq!(host_ids.len(), 2);
    assert_ne!(host_ids[0], host_ids[1]);

    for (proxy, address) in proxies.iter().zip(&addresses) {
        let m = proxy.metrics();
        let counters = m.counters();
        assert!(
            counters.requests(RequestKind::Write, Cluster::Source) > 0
                && counters.requests(RequestKind::Read, Cluster::Source) > 0,
            "{address} served no queries:\n{}",
            m.render()
        );
    }
    // The writes were mirrored as usual.
    for proxy in &proxies {
        support::wait_queue_empty(proxy, Duration::from_secs(30)).await;
        assert_eq!(proxy.metrics().failed_log_records(), 0);
    }
    let count = format!("SELECT k FROM {ks}.kv");
    let on_target = support::cql(&target, vec![count]).await;
    assert_eq!(on_target[0].rows.len(), 60);

    for proxy in proxies {
        proxy.shutdown().await;
    }
    std::fs::remove_dir_all(&dir).ok();
}
