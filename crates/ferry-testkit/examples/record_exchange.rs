//! Captures one real exchange between the DataStax Python driver and a real
//! Cassandra node through the [`RecordingRelay`], writes the recording file,
//! and prints what passed through (raw bytes; nothing is decoded yet).
//!
//! ```text
//! cargo run -p ferry-testkit --example record_exchange -- [GROUP] [OUT_FILE]
//! ```
//! GROUP defaults to `default`; OUT_FILE to `target/recordings/system_local.rec`.

use ferry_testkit::{workspace_root, Direction, NodeGroup, RecordingRelay};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let group = args.next().unwrap_or_else(|| "default".to_string());
    let out = args
        .next()
        .map(Into::into)
        .unwrap_or_else(|| workspace_root().join("target/recordings/system_local.rec"));

    let nodes = NodeGroup::require(&group);
    let node = nodes.first().socket_addr();
    let relay = RecordingRelay::start_recording_to(node, &out).await?;
    println!(
        "relay {} -> node {} (cluster {}, Cassandra {})",
        relay.local_addr(),
        node,
        nodes.cluster_name,
        nodes.cassandra_version
    );

    let query = "SELECT release_version, cluster_name FROM system.local";
    let relay_addr = relay.local_addr();
    let group_copy = nodes.clone();
    let results =
        tokio::task::spawn_blocking(move || group_copy.cql_exec_at(relay_addr, &[query])).await??;
    println!(
        "python driver (protocol v{}) ran: {query}",
        nodes.protocol_version
    );
    println!(
        "  -> columns {:?}, rows {:?}",
        results[0].columns, results[0].rows
    );

    println!("\nrecorded chunks (connection, direction, size, first bytes):");
    for chunk in relay.chunks() {
        let arrow = match chunk.direction {
            Direction::ClientToServer => "driver -> node",
            Direction::ServerToClient => "node -> driver",
        };
        let head: String = chunk
            .bytes
            .iter()
            .take(16)
            .map(|b| format!("{b:02x} "))
            .collect();
        println!(
            "  conn {} {arrow} {:>5} bytes  {head}{}",
            chunk.connection,
            chunk.bytes.len(),
            if chunk.bytes.len() > 16 { "..." } else { "" }
        );
    }
    println!("\nrecording written to {}", out.display());
    println!("(frames are not decoded here yet: that is ferry-wire's job, being built.)");
    relay.stop();
    Ok(())
}
