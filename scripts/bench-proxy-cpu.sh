#!/usr/bin/env bash
# ferry-proxy's own CPU cost per request, on a backend that answers at once
# (two in-process fake servers, ferry_testkit::fake_server, as source and
# target), so Cassandra's latency does not hide it.
#
#   scripts/bench-proxy-cpu.sh [--requests N] [--callgrind-requests N]
#                              [--in-flight N] [--modes "off async"]
#                              [--rounds K] [--no-callgrind] [--no-doc]
#
# For each write mode (off = pass-through, async = dual write):
# - CPU time: ferry-proxy runs natively; the load generator
#   (crates/ferry-router/examples/cql_load.rs: prepared INSERTs, 10% prepared
#   reads, --in-flight requests on one connection) sends a warm-up, then
#   --requests requests (default 200,000); the proxy's user+system CPU time
#   (/proc/PID/stat, every thread) over that run, once the target queue is
#   empty, divided by the requests. Repeated --rounds times (default 3),
#   median reported. The same load straight to the fake source gives the
#   direct op/s for comparison.
# - Instructions: ferry-proxy runs under `valgrind --tool=callgrind`; after
#   a warm-up the counters are zeroed (callgrind_control -z), then
#   --callgrind-requests requests (default 20,000) run, the target queue
#   empties, and the counters are dumped (callgrind_control -d): the
#   dump's instruction total divided by the requests is deterministic up
#   to scheduling (how many requests each wakeup finds). The dump and a
#   `callgrind_annotate` of it stay in target/bench-proxy-cpu/<time>/.
#
# Results replace the section between the <!-- bench-proxy-cpu: ... -->
# markers of docs/benchmarks.md unless --no-doc.
set -euo pipefail

# shellcheck source=scripts/lib/deps.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/deps.sh"
# shellcheck source=scripts/lib/bench-proxy-common.sh
source "$FERRY_ROOT/scripts/lib/bench-proxy-common.sh"
cd "$FERRY_ROOT"

command_line="scripts/bench-proxy-cpu.sh${*:+ $*}"
requests=200000 cg_requests=20000 in_flight=32 modes="off async" rounds=3
callgrind=1 write_doc=1
while [ $# -gt 0 ]; do
    case "$1" in
        --requests) requests="$2"; shift 2 ;;
        --callgrind-requests) cg_requests="$2"; shift 2 ;;
        --in-flight) in_flight="$2"; shift 2 ;;
        --modes) modes="$2"; shift 2 ;;
        --rounds) rounds="$2"; shift 2 ;;
        --no-callgrind) callgrind=0; shift ;;
        --no-doc) write_doc=0; shift ;;
        -h|--help) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) ferry_die "unknown argument $1 (see --help)" ;;
    esac
done
if [ "$callgrind" = 1 ] && ! command -v valgrind >/dev/null 2>&1; then
    ferry_apt_install valgrind
fi

bench_proxy_build
out="$FERRY_ROOT/target/bench-proxy-cpu/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
results="$out/results.jsonl"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"

fake_pid="" proxy_pid=""
stop_proxy() {
    if [ -n "$proxy_pid" ]; then
        kill -TERM "$proxy_pid" 2>/dev/null || true
        wait "$proxy_pid" 2>/dev/null || true
        proxy_pid=""
    fi
}
cleanup() {
    local rc=$?
    stop_proxy
    if [ -n "$fake_pid" ]; then kill -TERM "$fake_pid" 2>/dev/null || true; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The fake source and target.
"$BENCH_FAKE_BIN" >"$out/fake.addresses" 2>"$out/fake.log" &
fake_pid=$!
for _ in $(seq 100); do
    grep -q '^TARGET=' "$out/fake.addresses" 2>/dev/null && break
    sleep 0.1
done
source_addr="$(sed -n 's/^SOURCE=//p' "$out/fake.addresses")"
target_addr="$(sed -n 's/^TARGET=//p' "$out/fake.addresses")"
[ -n "$target_addr" ] || ferry_die "the fake servers did not start (see $out/fake.log)"
ferry_log "fake source $source_addr, fake target $target_addr"

# start_proxy MODE [WRAPPER...]: ferry-proxy in front of the fakes; sets
# proxy_pid, proxy_port and metrics_port.
start_proxy() {
    local mode="$1"; shift
    proxy_port="$(bench_free_port)"
    metrics_port="$(bench_free_port)"
    rm -f "$out/failed-$mode.log"
    "$@" "$BENCH_PROXY_BIN" 127.0.0.1 127.0.0.1 \
        --source-port "${source_addr##*:}" --target-port "${target_addr##*:}" \
        --proxy-port "$proxy_port" --disable-source-tls --disable-target-tls \
        --skip-startup-check --write-mode "$mode" --metrics-port "$metrics_port" \
        --failed-write-log "$out/failed-$mode.log" --log-level warn \
        2>>"$out/proxy-$mode.log" &
    proxy_pid=$!
    bench_wait_port 127.0.0.1 "$proxy_port" 120
    bench_wait_port 127.0.0.1 "$metrics_port" 30
}

# load ADDRESS LABEL REQUESTS: one counted run of the load generator.
load() {
    "$BENCH_LOAD_BIN" --address "$1" --keyspace bench_cpu --label "$2" \
        --requests "$3" --in-flight "$in_flight" --connections 1 --protocol 3
}

for round in $(seq 1 "$rounds"); do
    ferry_log "round $round: direct to the fake source, $requests requests"
    line="$(load "$source_addr" direct "$requests")"
    bench_merge_json "$line" "{\"phase\": \"cpu\", \"mode\": \"direct\", \"round\": $round}" >>"$results"
    for mode in $modes; do
        start_proxy "$mode"
        load "127.0.0.1:$proxy_port" warmup 5000 >/dev/null
        bench_queue_idle "$metrics_port"
        before="$(bench_cpu_seconds "$proxy_pid")"
        ferry_log "round $round: through ferry-proxy --write-mode $mode, $requests requests"
        line="$(load "127.0.0.1:$proxy_port" "$mode" "$requests")"
        bench_queue_idle "$metrics_port"
        after="$(bench_cpu_seconds "$proxy_pid")"
        ok="$(bench_metric "$metrics_port" ferry_proxy_target_writes_ok_total)"
        bench_merge_json "$line" "{\"phase\": \"cpu\", \"mode\": \"$mode\", \"round\": $round,
            \"proxy_cpu_before_s\": $before, \"proxy_cpu_after_s\": $after, \"target_writes_ok\": ${ok:-0}}" >>"$results"
        stop_proxy
    done
done

if [ "$callgrind" = 1 ]; then
    for mode in $modes; do
        ferry_log "callgrind: ferry-proxy --write-mode $mode, $cg_requests requests"
        start_proxy "$mode" valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.$mode.%p"
        load "127.0.0.1:$proxy_port" warmup 2000 >/dev/null
        bench_queue_idle "$metrics_port"
        callgrind_control -z "$proxy_pid" >/dev/null
        line="$(load "127.0.0.1:$proxy_port" "$mode" "$cg_requests")"
        bench_queue_idle "$metrics_port"
        callgrind_control -d "$proxy_pid" >/dev/null
        dump="$(ls -t "$out"/callgrind."$mode"."$proxy_pid".* 2>/dev/null | head -n 1)"
        stop_proxy
        [ -n "$dump" ] || ferry_die "callgrind wrote no dump for mode $mode"
        ir="$(sed -n 's/^summary: \([0-9]*\).*/\1/p; s/^totals: \([0-9]*\).*/\1/p' "$dump" | head -n 1)"
        callgrind_annotate --inclusive=no "$dump" 2>/dev/null | head -n 60 >"$out/annotate.$mode.txt" || true
        bench_merge_json "$line" "{\"phase\": \"callgrind\", \"mode\": \"$mode\", \"instructions\": ${ir:-0},
            \"dump\": \"${dump#"$FERRY_ROOT"/}\"}" >>"$results"
    done
fi

report_args=(cpu --results "$results" --command "$command_line" --load-before "$load_before"
    --commit "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- crates bins || echo '+changes')")
if [ "$write_doc" = 1 ]; then report_args+=(--doc "$FERRY_ROOT/docs/benchmarks.md"); fi
python3 "$FERRY_ROOT/scripts/lib/bench_proxy_report.py" "${report_args[@]}"
ferry_log "raw results: ${out#"$FERRY_ROOT"/}"
