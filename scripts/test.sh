#!/usr/bin/env bash
# Runs Ferry's whole test suite against real Cassandra nodes.
#
#   scripts/test.sh [extra cargo test arguments]
#
# Starts the node groups listed in scripts/node-groups.conf that are not
# already running (installing Java 17, Cassandra 2.1.0 and the Python driver
# on first use), runs `cargo test --workspace`, then the end-to-end
# migration as a test (`scripts/demo.sh --check --small --profile debug`:
# it fails unless validation finds zero differences, every write the sample
# application saw acknowledged is on the target, and the writes logged
# during the target outage were all replayed), then stops the groups it
# started. The end-to-end run is skipped when cargo arguments select part of
# the suite (other than --locked), or with FERRY_SKIP_DEMO=1.
# FERRY_KEEP_NODES=1 keeps the nodes running for faster re-runs;
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

run_demo=1
for arg in "$@"; do [ "$arg" = --locked ] || run_demo=0; done
if [ "${FERRY_SKIP_DEMO:-0}" = 1 ] || [ "$run_demo" = 0 ]; then
    ferry_log "skipping the end-to-end migration (scripts/demo.sh --check --small)"
    exit 0
fi
ferry_log "the end-to-end migration: scripts/demo.sh --check --small --profile debug"
scripts/demo.sh --check --small --profile debug
