//! The bundled `cassandra-stress` (Cassandra 2.1.0: the Java driver 2.0,
//! native protocol **v2**, prepared statements) writing through the proxy
//! in front of the real `source` and `target` groups.
//!
//! cassandra-stress creates its schema over Thrift (port 9160) on its
//! `-node` host, and the proxy does not speak Thrift. So the proxy listens
//! on the source's own address (127.0.0.8, another port) and stress gets
//! `-node 127.0.0.8 -port native=<proxy port>`: its Thrift goes straight
//! to the source, its CQL through the proxy. Schema made over Thrift never
//! reaches the target, so the test creates the same table there (CQL)
//! first.

mod support;

use std::time::Duration;

use ferry_router::{Cluster, RequestKind};
use ferry_testkit::{unique_keyspace_name, CassandraTools, NodeGroup};

/// Rows stress writes.
const OPERATIONS: usize = 2000;

/// stress 2.1's `Standard1`, as it creates it over Thrift (read back with
/// the Python driver's `export_as_string`).
fn standard1(ks: &str) -> Vec<String> {
    vec![
        format!("CREATE KEYSPACE {ks} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}"),
        format!(
            "CREATE TABLE {ks}.\"Standard1\" (key blob PRIMARY KEY, \"C0\" blob, \"C1\" blob, \
             \"C2\" blob, \"C3\" blob, \"C4\" blob) WITH COMPACT STORAGE"
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cassandra_stress_over_protocol_v2_reaches_the_target() {
    let source = NodeGroup::require("source");
    let target = NodeGroup::require("target");
    let tools = CassandraTools::find().expect("cassandra-stress and Java 17");
    let ks = unique_keyspace_name("proxy_stress");
    support::cql(&target, standard1(&ks)).await;

    let dir = support::temp_dir("stress");
    let mut config = support::config_for(
        &source,
        target.first().socket_addr().to_string(),
        &dir.join("failed.log"),
    );
    // The source's own address (see the module docs), any free port.
    config.listen = std::net::SocketAddr::new(source.first().address, 0);
    let proxy = support::start(config).await;
    let port = proxy.local_addr().port();

    let mut stress = tools.stress_command();
    stress
        .arg("write")
        .arg(format!("n={OPERATIONS}"))
        // Without it, stress 2.1 first writes 50,000 warm-up rows: on the
        // shared test machine the target falls that far behind and the
        // queue (10,000) spills to the log, as designed but not what this
        // test is about (seen: 1,439 spilled of 52,000).
        .arg("no_warmup")
        .args(["-mode", "native", "prepared", "cql3"])
        .arg("-schema")
        .arg(format!("keyspace={ks}"))
        .args(["-node", &source.first().address.to_string()])
        .arg("-port")
        .arg(format!("native={port}"))
        .arg(format!("thrift={}", 9160))
        .args(["-rate", "threads=4"]);
    let output = tokio::task::spawn_blocking(move || stress.output().expect("stress runs"))
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("END"),
        "cassandra-stress failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    // Its summary, for the report (not asserted on: shared machine).
    if let Some(summary) = stdout.find("Results:") {
        eprintln!("{}", &stdout[summary..]);
    }

    support::wait_queue_empty(&proxy, Duration::from_secs(60)).await;
    let m = proxy.metrics();
    if m.failed_log_records() > 0 {
        let reasons: std::collections::BTreeSet<String> =
            ferry_router::failed_log::read_log(dir.join("failed.log"))
                .unwrap()
                .map(|r| match r {
                    Ok((_, r)) => format!("{:?} v{}: {}", r.opcode, r.version, r.reason),
                    Err(e) => format!("unreadable: {e}"),
                })
                .collect();
        panic!(
            "{} target write(s) failed: {reasons:#?}\n{}",
            m.failed_log_records(),
            m.render()
        );
    }
    // Every write went through the proxy (none bypassed it to the source).
    let writes = |cluster| m.counters().requests(RequestKind::Write, cluster);
    assert_eq!(writes(Cluster::Source), OPERATIONS as u64, "{}", m.render());
    assert_eq!(writes(Cluster::Target), OPERATIONS as u64, "{}", m.render());
    proxy.shutdown().await;

    // Same keys and values on both clusters. (v2 has no protocol-level
    // timestamp, so write times differ: documented in docs/proxy.md.)
    let query = vec![format!(
        "SELECT key, \"C0\", \"C1\", \"C2\", \"C3\", \"C4\" FROM {ks}.\"Standard1\""
    )];
    let on_source = support::sorted(&support::cql(&source, query.clone()).await[0]);
    let on_target = support::sorted(&support::cql(&target, query).await[0]);
    assert_eq!(on_source.len(), OPERATIONS);
    assert_eq!(on_target.len(), OPERATIONS, "rows missing on the target");
    assert!(on_source == on_target, "the target's rows differ");
    std::fs::remove_dir_all(&dir).ok();
}
