#!/usr/bin/env bash
# Runs Ferry's whole test suite against real Cassandra nodes.
#
#   scripts/test.sh [extra cargo test arguments]
#
# Starts the node groups listed in scripts/node-groups.conf that are not
# already running (installing Java 17, Cassandra 2.1.0 and the Python driver
# on first use), runs `cargo test --workspace`, then stops the groups it
# started. FERRY_KEEP_NODES=1 keeps them running for faster re-runs;
# `scripts/cassandra-nodes.sh stop --all` stops everything.
set -euo pipefail

# shellcheck source=scripts/lib/deps.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/deps.sh"
# shellcheck source=scripts/lib/node-groups.sh
source "$FERRY_ROOT/scripts/lib/node-groups.sh"
cd "$FERRY_ROOT"

started="$(mktemp)"
cleanup() {
    local rc=$?
    ferry_stop_node_groups "$started"
    rm -f "$started"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ferry_start_node_groups "$started"
ferry_log "cargo test --workspace $*"
cargo test --workspace "$@"
