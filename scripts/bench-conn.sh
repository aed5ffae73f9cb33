#!/usr/bin/env bash
# Write and full-table scan throughput of ferry-conn against a real node,
# beside the DataStax Python driver doing the same work in the same run.
#
#   scripts/bench-conn.sh [--rows N] [--concurrency C] [--page-size P]
#                         [--ranges R] [--range-parallelism K]
#                         [--connections N] [--rounds K] [--settle S] [--no-doc]
#
# Defaults: 200,000 rows, 256 requests in flight, pages of 5000 rows, the
# ring in 64 token ranges read 8 at a time, 2 connections (ferry-conn),
# 3 rounds, 10 s of settling.
#
# Builds the `bench_conn` example of ferry-conn in release mode, starts the
# `default` node group (one Cassandra 2.1.0 node on 127.0.0.2) unless it
# runs, then runs --rounds rounds: both clients write, the node settles (no
# compaction running for 3 s, then --settle seconds), both clients scan;
# which client goes first alternates between rounds.
# Each client writes its own table in a fresh keyspace (dropped at the end)
# and checks that every scan returns exactly the rows written. The results
# replace the "ferry-conn vs the Python driver" section of
# docs/benchmarks.md (between its <!-- ferry-conn: ... --> markers) unless
# --no-doc is given; the raw JSON lines are kept in target/bench-conn/.
set -euo pipefail

# shellcheck source=scripts/lib/deps.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/deps.sh"
# shellcheck source=scripts/lib/node-groups.sh
source "$FERRY_ROOT/scripts/lib/node-groups.sh"
cd "$FERRY_ROOT"

command_line="scripts/bench-conn.sh${*:+ $*}"
rows=200000 concurrency=256 page_size=5000 ranges=64 range_parallelism=8
connections=2 rounds=3 settle_pause=10 write_doc=1
while [ $# -gt 0 ]; do
    case "$1" in
        --rows) rows="$2"; shift 2 ;;
        --concurrency) concurrency="$2"; shift 2 ;;
        --page-size) page_size="$2"; shift 2 ;;
        --ranges) ranges="$2"; shift 2 ;;
        --range-parallelism) range_parallelism="$2"; shift 2 ;;
        --connections) connections="$2"; shift 2 ;;
        --rounds) rounds="$2"; shift 2 ;;
        --settle) settle_pause="$2"; shift 2 ;;
        --no-doc) write_doc=0; shift ;;
        -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) ferry_die "unknown argument $1 (see --help)" ;;
    esac
done

ferry_log "cargo build --release -p ferry-conn --example bench_conn"
cargo build --release -q -p ferry-conn --example bench_conn
rust_bin="$FERRY_ROOT/target/release/examples/bench_conn"

started="$(mktemp)"
keyspace="bench_conn_$(date +%s)_$$"
host="" port="" python=""
cleanup() {
    local rc=$?
    if [ -n "$host" ]; then
        ferry_log "dropping keyspace $keyspace"
        printf '["DROP KEYSPACE IF EXISTS %s"]' "$keyspace" |
            "$python" "$FERRY_ROOT/scripts/lib/cql.py" --host "$host" --port "$port" >/dev/null ||
            ferry_log "could not drop keyspace $keyspace"
    fi
    ferry_stop_node_groups "$started"
    rm -f "$started"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A group whose nodes.env exists and whose first node answers is used as it
# is, never started or stopped here: `cassandra-nodes.sh status` recognizes
# a node by the path it was started from, so from a git worktree whose
# .nodes links to another checkout's it would see the running node as
# stopped. Otherwise the group is started, and stopped at the end only once
# it did start (a failed start must not "stop" someone else's node).
node_answers() {
    local env="$FERRY_ROOT/.nodes/default/nodes.env" h p
    [ -f "$env" ] || return 1
    h="$(sed -n 's/^FERRY_NODES=\([^,]*\).*/\1/p' "$env")"
    p="$(sed -n 's/^FERRY_NATIVE_PORT=//p' "$env")"
    [ -n "$h" ] && [ -n "$p" ] && (exec 3<>"/dev/tcp/$h/$p") 2>/dev/null
}
if node_answers; then
    ferry_log "node group default is running; using it as it is"
else
    starting="$(mktemp)"
    ferry_start_node_group default "$starting"
    cat "$starting" >>"$started"
    rm -f "$starting"
fi
# shellcheck disable=SC1091 # written by cassandra-nodes.sh
source "$FERRY_ROOT/.nodes/default/nodes.env"
host="${FERRY_NODES%%,*}"
port="$FERRY_NATIVE_PORT"
python="$FERRY_PYTHON"

out="$FERRY_ROOT/target/bench-conn/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
common=(--host "$host" --port "$port" --keyspace "$keyspace" --rows "$rows"
    --concurrency "$concurrency" --page-size "$page_size" --ranges "$ranges"
    --range-parallelism "$range_parallelism")

# run_CLIENT ROUND PART [ARGS...]: one run of a client, its JSON kept as
# roundROUND-CLIENT-PART.json.
run_rust() {
    local round="$1" part="$2"; shift 2
    ferry_log "round $round: ferry-conn, $part"
    "$rust_bin" "${common[@]}" --connections "$connections" --table rust_rows "$@" \
        >"$out/round$round-rust-$part.json"
}
run_python() {
    local round="$1" part="$2"; shift 2
    ferry_log "round $round: Python driver, $part"
    "$python" "$FERRY_ROOT/scripts/lib/bench_conn.py" run "${common[@]}" --table python_rows "$@" \
        >"$out/round$round-python-$part.json"
}
settle() {
    ferry_log "letting the node settle"
    "$python" "$FERRY_ROOT/scripts/lib/bench_conn.py" settle --host "$host" --port "$port" \
        --pause "$settle_pause"
}
for round in $(seq 1 "$rounds"); do
    # Writes first, then scans, so neither client's scans run while the
    # node still flushes and compacts what was just written (a fast writer
    # would otherwise slow its own scans down). Who goes first alternates.
    if [ $((round % 2)) = 1 ]; then order=(python rust); else order=(rust python); fi
    for client in "${order[@]}"; do "run_$client" "$round" write --write-only; done
    settle
    for client in "${order[@]}"; do "run_$client" "$round" scan --scan-only; done
done

report_args=(report --results "$out" --command "$command_line"
    --load-before "$load_before" --rustc "$(rustc --version)"
    --commit "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- crates || echo '+changes')"
    --node "Cassandra $FERRY_CASSANDRA_VERSION, one node ($host), protocol v$FERRY_PROTOCOL_VERSION"
    --settle "no compaction in progress for 3 s, then ${settle_pause} s more")
if [ "$write_doc" = 1 ]; then
    report_args+=(--doc "$FERRY_ROOT/docs/benchmarks.md")
fi
"$python" "$FERRY_ROOT/scripts/lib/bench_conn.py" "${report_args[@]}"
ferry_log "raw results: ${out#"$FERRY_ROOT"/}"
