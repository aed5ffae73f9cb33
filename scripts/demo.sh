#!/usr/bin/env bash
# Ferry demonstration: what exists today, against real Cassandra nodes.
#
#   scripts/demo.sh
#
# Sets up the machine on first use (Java 17, Apache Cassandra 2.1.0, the
# Python Cassandra driver), starts the `default` (one node, 127.0.0.2) and
# `ring` (three nodes, 127.0.0.3-5) node groups unless they are running, and
# runs ferry-conn's tour: protocol negotiation, ring discovery, a concurrent
# prepared write load, and a token-range scan that must read every row back
# exactly once. It stops the nodes it started (FERRY_KEEP_NODES=1 keeps them).
#
# Honest status: the dual-write proxy, bulk copy and validation are being
# built; when they land this script becomes the local end-to-end migration.
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

say "1. Real Apache Cassandra $CASSANDRA_VERSION nodes (node groups 'default' and 'ring')"
ferry_start_node_group default "$started"
ferry_start_node_group ring "$started"

say "2. Build ferry-conn's tour (release; the first build takes a few minutes)"
cargo build -q --release -p ferry-conn --example tour

say "3. The tour"
rows="${FERRY_DEMO_ROWS:-20000}"
cargo run -q --release -p ferry-conn --example tour -- 127.0.0.2:9042 127.0.0.3:9042 "$rows"

say "What this showed"
cat <<'TEXT'
 - ferry-conn reached a Cassandra 2.1 node asking for protocol v5 first and
   stepped down to v3, although 2.1 answers with a server error rather than a
   protocol error (the case where the Python driver gives up).
 - From one contact point it discovered the 3-node ring, and the ring's ranges
   cover the token space exactly once.
 - A prepared write load with many requests in flight on few connections.
 - A scan range by range, each range routed to a replica that owns it, read
   every row back exactly once; Ferry's Murmur3 equals the server's token().
 - Being built next: the dual-write proxy (ferry-proxy), the historical copy
   (ferry-copy) and validation (ferry-validate).
TEXT
