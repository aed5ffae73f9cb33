//! Two in-process fake CQL servers (`ferry_testkit::fake_server`) standing
//! in for the source and the target, for `scripts/bench-proxy-cpu.sh`:
//! they answer at once, so the proxy's own cost per request is not hidden
//! behind Cassandra's latency.
//!
//! Prints `SOURCE=127.0.0.1:<port>` and `TARGET=127.0.0.1:<port>` on
//! stdout (one line each), then serves until killed (SIGTERM / Ctrl-C).
//!
//! ```text
//! cargo run --release -p ferry-router --example fake_backends
//! ```
//!
//! The fake servers record every request they get (for tests), so memory
//! grows with the requests served: a few hundred bytes each.

use std::io::Write;

use ferry_testkit::fake_server::FakeServer;
use ferry_wire::ProtocolVersion;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    // v3 (the load generator pins it, as against Cassandra 2.1) and v4.
    let start = || {
        FakeServer::builder()
            .max_version(ProtocolVersion::V4)
            .start()
    };
    let source = start().await?;
    let target = start().await?;
    let mut out = std::io::stdout();
    writeln!(out, "SOURCE={}", source.address())?;
    writeln!(out, "TARGET={}", target.address())?;
    out.flush()?;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r?,
        _ = term.recv() => {}
    }
    drop((source, target));
    Ok(())
}
