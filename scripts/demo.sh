#!/usr/bin/env bash
# Ferry demonstration: shows what exists today, against a real Cassandra node.
#
#   scripts/demo.sh
#
# Sets up the machine on first use (Java 17, Apache Cassandra 2.1.0, the
# Python Cassandra driver), starts the `default` node group (one real node on
# 127.0.0.2) unless it is running, and captures one real exchange between
# the DataStax Python driver and the node through ferry-testkit's
# RecordingRelay. It stops the node afterwards if it started it
# (FERRY_KEEP_NODES=1 keeps it).
#
# Honest status: the proxy, bulk copy and validation do not exist yet, and
# the frames captured here are printed as raw bytes, not decoded.
set -euo pipefail

# shellcheck source=scripts/lib/deps.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/deps.sh"
# shellcheck source=scripts/lib/node-groups.sh
source "$FERRY_ROOT/scripts/lib/node-groups.sh"
cd "$FERRY_ROOT"

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }

started="$(mktemp)"
cleanup() {
    local rc=$?
    ferry_stop_node_groups "$started"
    rm -f "$started"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "1. A real Apache Cassandra $CASSANDRA_VERSION node (node group 'default')"
ferry_start_node_group default "$started"

say "2. Build ferry-testkit's example (first build takes a minute)"
cargo build -q -p ferry-testkit --example record_exchange

say "3. The Python driver queries the node through Ferry's RecordingRelay"
cargo run -q -p ferry-testkit --example record_exchange -- default target/recordings/demo.rec

say "What this showed"
cat <<'TEXT'
 - scripts/cassandra-nodes.sh runs real Cassandra clusters on loopback
   addresses; every Ferry test runs against them (scripts/test.sh).
 - The RecordingRelay captured the driver <-> node byte streams: the OPTIONS/
   SUPPORTED and STARTUP/READY handshake, QUERY and RESULT frames (protocol v3:
   requests start with 0x03, responses with 0x83; the fifth byte is the opcode).
   They are saved in target/recordings/demo.rec as golden data.
 - Not built yet: decoding these frames (ferry-wire, in progress), the
   dual-write proxy, bulk copy and validation.
TEXT
