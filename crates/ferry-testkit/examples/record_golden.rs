//! Records ferry-wire's golden frames: runs the Python driver session in
//! `crates/ferry-wire/tests/golden/capture.py` through a [`RecordingRelay`]
//! in front of a real Cassandra 2.1.0 node, then writes each relayed
//! connection's two byte streams to `crates/ferry-wire/tests/golden/`
//! (`connN.c2s.bin`, `connN.s2c.bin`), replacing the previous recording.
//!
//! ```text
//! scripts/cassandra-nodes.sh start --name golden --first-ip 127.0.0.20 --cluster ferry-golden
//! pip install --target target/capture-pylib lz4   # once, for the LZ4 connection
//! cargo run -p ferry-testkit --example record_golden -- golden
//! cargo test -p ferry-wire --test golden_frames
//! ```
//! The group argument defaults to `default`.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use ferry_testkit::{workspace_root, Direction, NodeGroup, RecordingRelay};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let group = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "default".to_string());
    let nodes = NodeGroup::require(&group);
    let node = nodes.first().socket_addr();
    let golden = workspace_root().join("crates/ferry-wire/tests/golden");
    let script = golden.join("capture.py");

    let relay = RecordingRelay::start(node).await?;
    let relay_addr = relay.local_addr();
    println!(
        "relay {relay_addr} -> node {node} (Cassandra {}, protocol v{})",
        nodes.cassandra_version, nodes.protocol_version
    );
    let python = nodes.python.clone();
    // capture.py's compressed connection needs the lz4 module, installed
    // privately (`pip install --target target/capture-pylib lz4`) so the
    // shared python the other tests use keeps compression off.
    let pylib = workspace_root().join("target/capture-pylib");
    let status = tokio::task::spawn_blocking(move || {
        let mut command = Command::new(python);
        command
            .arg(&script)
            .arg(relay_addr.ip().to_string())
            .arg(relay_addr.port().to_string());
        if pylib.is_dir() {
            let mut path = std::ffi::OsString::from(pylib.as_os_str());
            if let Some(old) = std::env::var_os("PYTHONPATH") {
                path.push(":");
                path.push(old);
            }
            command.env("PYTHONPATH", path);
        }
        command.status()
    })
    .await??;
    if !status.success() {
        return Err(format!("capture.py failed: {status}").into());
    }
    // The driver has closed its sockets; let the relay read the last bytes.
    tokio::time::sleep(Duration::from_millis(500)).await;

    for entry in std::fs::read_dir(&golden)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "bin") {
            std::fs::remove_file(path)?;
        }
    }
    let mut total = 0;
    for conn in relay.connections() {
        for (direction, suffix) in [
            (Direction::ClientToServer, "c2s"),
            (Direction::ServerToClient, "s2c"),
        ] {
            let bytes = relay.stream(conn, direction);
            total += bytes.len();
            let path = golden.join(format!("conn{conn}.{suffix}.bin"));
            std::fs::write(&path, &bytes)?;
            println!("{:>8} bytes  {}", bytes.len(), display(&path));
        }
    }
    println!(
        "{total} bytes in {} connection(s)",
        relay.connections().len()
    );
    relay.stop();
    Ok(())
}

fn display(path: &Path) -> String {
    path.strip_prefix(workspace_root())
        .unwrap_or(path)
        .display()
        .to_string()
}
