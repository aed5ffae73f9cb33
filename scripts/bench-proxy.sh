#!/usr/bin/env bash
# The same client load directly to the source node, through haproxy (a
# plain TCP forwarder), through ferry-proxy in pass-through
# (--write-mode off) and through ferry-proxy in dual write (--write-mode
# async, writes mirrored to the target node; and once more with a fake
# target that answers at once, to tell the proxy's own cost from the
# target node's): throughput and p50/p99 latency, and their ratios. And,
# as the ceiling of any dual write on this machine, the application
# writing both nodes itself with no proxy (client-dual: cql_load
# --also-write, every INSERT to both nodes with one client timestamp,
# answered when both have answered).
#
#   scripts/bench-proxy.sh [--rounds K] [--warmup S] [--duration S]
#                          [--in-flight N] [--connections N]
#                          [--stress-n N] [--stress-threads N]
#                          [--modes "direct haproxy off client-dual async async-fake"]
#                          [--no-load] [--no-stress] [--no-doc] [--pin]
#
# Uses the running `source` (127.0.0.8) and `target` (127.0.0.9) node
# groups as they are (never starts or stops them: other jobs share them).
# haproxy and both ferry-proxy instances listen on the source's own IP,
# on other ports, so cassandra-stress reaches its Thrift port (9160, for
# the schema) on the source directly and its CQL traffic through the
# forwarder under test.
#
# Two loads, each run once per configuration per round (default 3 rounds;
# the configurations' order rotates between rounds):
# - cql_load (crates/ferry-router/examples/cql_load.rs, on ferry-conn):
#   --in-flight requests (default 32) on --connections connections
#   (default 1), prepared INSERTs plus 10% prepared point reads, protocol
#   v3; --warmup seconds (default 3) not counted, then --duration seconds
#   (default 15) counted.
# - cassandra-stress 2.1.0 from the Cassandra bundle (.cache/):
#   `write n=<--stress-n> -mode native prepared cql3 -rate
#   threads=<--stress-threads>` (protocol v2: its Java driver 2.0), default
#   60,000 writes by 32 threads; its schema is made beforehand on both
#   nodes (stress makes it over Thrift on the node it is given). Not run
#   through async-fake: the fake target does not speak v2.
# The dual-write proxies run with --full-queue backpressure: both nodes
# share this machine's cores, and with the default (spill) a target that
# falls behind sends writes to the failed-write log instead of applying
# them; with backpressure the client runs at the pace both nodes keep up
# with and every write is applied. After a dual-write run, the next run
# waits for the proxy's target queue to empty, so runs do not overlap.
#
# --pin models a source cluster on machines of its own: for the run, the
# source node's JVM is pinned to CPU 0 and everything else (the target
# node, the load generator, haproxy, the proxies, the fake target,
# cassandra-stress) to CPU 1, so what the proxy and the target spend no
# longer comes out of the source node's CPU; both JVMs get both CPUs back
# at the end. Without --pin all of them share both CPUs.
#
# Results replace the section between the <!-- bench-proxy: ... -->
# markers (<!-- bench-proxy-pinned: ... --> with --pin) of
# docs/benchmarks.md unless --no-doc; raw JSON lines and logs stay in
# target/bench-proxy/<time>/.
set -euo pipefail

# shellcheck source=scripts/lib/deps.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/deps.sh"
# shellcheck source=scripts/lib/bench-proxy-common.sh
source "$FERRY_ROOT/scripts/lib/bench-proxy-common.sh"
cd "$FERRY_ROOT"

command_line="scripts/bench-proxy.sh${*:+ $*}"
rounds=3 warmup=3 duration=15 in_flight=32 connections=1
stress_n=60000 stress_threads=32 modes="direct haproxy off client-dual async async-fake"
run_load=1 run_stress=1 write_doc=1 pin=0
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) rounds="$2"; shift 2 ;;
        --warmup) warmup="$2"; shift 2 ;;
        --duration) duration="$2"; shift 2 ;;
        --in-flight) in_flight="$2"; shift 2 ;;
        --connections) connections="$2"; shift 2 ;;
        --stress-n) stress_n="$2"; shift 2 ;;
        --stress-threads) stress_threads="$2"; shift 2 ;;
        --modes) modes="$2"; shift 2 ;;
        --no-load) run_load=0; shift ;;
        --no-stress) run_stress=0; shift ;;
        --no-doc) write_doc=0; shift ;;
        --pin) pin=1; shift ;;
        -h|--help) sed -n '2,56p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) ferry_die "unknown argument $1 (see --help)" ;;
    esac
done

# The node groups, as they run.
group_env() {
    local env="$FERRY_ROOT/.nodes/$1/nodes.env"
    [ -f "$env" ] || ferry_die "node group $1 is not running ($env missing); start it with scripts/cassandra-nodes.sh (see scripts/node-groups.conf)"
    sed -n "s/^$2=//p" "$env"
}
source_host="$(group_env source FERRY_NODES)"; source_host="${source_host%%,*}"
source_port="$(group_env source FERRY_NATIVE_PORT)"
target_host="$(group_env target FERRY_NODES)"; target_host="${target_host%%,*}"
target_port="$(group_env target FERRY_NATIVE_PORT)"
python="$(group_env source FERRY_PYTHON)"
cassandra_version="$(group_env source FERRY_CASSANDRA_VERSION)"
(exec 3<>"/dev/tcp/$source_host/$source_port") 2>/dev/null || ferry_die "the source node $source_host:$source_port does not answer"
(exec 3<>"/dev/tcp/$target_host/$target_port") 2>/dev/null || ferry_die "the target node $target_host:$target_port does not answer"

if ! command -v haproxy >/dev/null 2>&1; then ferry_apt_install haproxy; fi
if [ "$run_stress" = 1 ]; then
    ferry_ensure_java
    ferry_ensure_cassandra
fi
bench_proxy_build

out="$FERRY_ROOT/target/bench-proxy/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
results="$out/results.jsonl"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
stamp="$(date +%s)_$$"
keyspace="bench_proxy_$stamp"
stress_keyspace="bench_stress_$stamp"

# With --pin: the source JVM on CPU 0, the rest on CPU 1 (see --help).
on_rest=() source_pid="" target_pid=""
unpin() {
    local pid
    for pid in "$source_pid" "$target_pid"; do taskset -a -p -c 0-1 "$pid" >/dev/null 2>&1 || true; done
}

pids=()
cleanup() {
    local rc=$? pid host
    if [ "$pin" = 1 ]; then unpin; fi
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    for host in "$source_host:$source_port" "$target_host:$target_port"; do
        printf '["DROP KEYSPACE IF EXISTS %s", "DROP KEYSPACE IF EXISTS %s"]' "$keyspace" "$stress_keyspace" |
            timeout 120 "$python" "$FERRY_ROOT/scripts/lib/cql.py" --host "${host%:*}" --port "${host##*:}" >/dev/null 2>&1 ||
            ferry_log "could not drop the benchmark keyspaces on $host"
    done
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
if [ "$pin" = 1 ]; then
    [ "$(nproc)" -ge 2 ] || ferry_die "--pin needs at least 2 CPUs"
    command -v taskset >/dev/null 2>&1 || ferry_die "--pin needs taskset (Debian package util-linux)"
    source_pid="$(group_env source FERRY_PIDS)" target_pid="$(group_env target FERRY_PIDS)"
    [ -n "$source_pid" ] && [ -n "$target_pid" ] || ferry_die "--pin: the node groups' FERRY_PIDS are missing"
    taskset -a -p -c 0 "$source_pid" >/dev/null || ferry_die "--pin: cannot pin the source JVM (pid $source_pid)"
    taskset -a -p -c 1 "$target_pid" >/dev/null || { unpin; ferry_die "--pin: cannot pin the target JVM (pid $target_pid)"; }
    on_rest=(taskset -c 1)
    ferry_log "pinned: source JVM (pid $source_pid) on CPU 0; target JVM (pid $target_pid) and everything else on CPU 1"
fi

# haproxy, in the foreground (-db), one frontend to the source.
haproxy_port="$(bench_free_port)"
cat >"$out/haproxy.cfg" <<EOF
global
    maxconn 1024
defaults
    mode tcp
    timeout connect 5s
    timeout client 1h
    timeout server 1h
listen cql
    bind $source_host:$haproxy_port
    server source $source_host:$source_port
EOF
"${on_rest[@]}" haproxy -db -f "$out/haproxy.cfg" >"$out/haproxy.log" 2>&1 &
pids+=($!)
bench_wait_port "$source_host" "$haproxy_port" 30

# A fake target (answers at once) for the async-fake configuration.
"${on_rest[@]}" "$BENCH_FAKE_BIN" >"$out/fake.addresses" 2>"$out/fake.log" &
pids+=($!)
for _ in $(seq 100); do
    grep -q '^TARGET=' "$out/fake.addresses" 2>/dev/null && break
    sleep 0.1
done
fake_target="$(sed -n 's/^TARGET=//p' "$out/fake.addresses")"
[ -n "$fake_target" ] || ferry_die "the fake target did not start (see $out/fake.log)"

# ferry-proxy, once per configuration, on the source's IP.
declare -A proxy_port metrics_port
for mode in off async async-fake; do
    proxy_port[$mode]="$(bench_free_port)"
    metrics_port[$mode]="$(bench_free_port)"
    args=("$source_host" "$target_host" --target-port "$target_port" --write-mode "${mode%-fake}")
    case "$mode" in
        async) args+=(--full-queue backpressure) ;;
        # The fake target is no Cassandra: no startup check, v3 as the source.
        async-fake) args=("$source_host" "${fake_target%:*}" --target-port "${fake_target##*:}"
            --write-mode async --full-queue backpressure --skip-startup-check --protocol-version 3) ;;
    esac
    "${on_rest[@]}" "$BENCH_PROXY_BIN" "${args[@]}" --source-port "$source_port" --bind "$source_host" \
        --proxy-port "${proxy_port[$mode]}" --disable-source-tls --disable-target-tls \
        --metrics-port "${metrics_port[$mode]}" --failed-write-log "$out/failed-$mode.log" \
        --log-level warn >"$out/proxy-$mode.log" 2>&1 &
    pids+=($!)
done
for mode in off async async-fake; do bench_wait_port "$source_host" "${proxy_port[$mode]}" 60; done

address_of() {
    case "$1" in
        direct|client-dual) echo "$source_host:$source_port" ;;
        haproxy) echo "$source_host:$haproxy_port" ;;
        off|async|async-fake) echo "$source_host:${proxy_port[$1]}" ;;
        *) ferry_die "unknown mode $1 (direct, haproxy, off, client-dual, async, async-fake)" ;;
    esac
}

# settle MODE: after a dual-write run, wait for the target to catch up.
settle() {
    case "$1" in async|async-fake) bench_queue_idle "${metrics_port[$1]}" 300 ;; esac
}

# The order of the configurations in round R (rotated by R-1).
order_of() {
    local r="$1" list=() i n
    read -r -a list <<<"$modes"
    n=${#list[@]}
    for ((i = 0; i < n; i++)); do printf '%s ' "${list[$(((i + r - 1) % n))]}"; done
}

ferry_log "creating $keyspace on both nodes"
"$BENCH_LOAD_BIN" --setup "$source_host:$source_port" --setup "$target_host:$target_port" \
    --keyspace "$keyspace" --protocol 3

if [ "$run_load" = 1 ]; then
    workload="cql_load: prepared INSERTs + 10% prepared reads, $in_flight in flight on $connections connection(s), protocol v3, ${duration} s counted after ${warmup} s"
    for round in $(seq 1 "$rounds"); do
        for mode in $(order_of "$round"); do
            ferry_log "round $round: cql_load via $mode ($(address_of "$mode"))"
            also=()
            if [ "$mode" = client-dual ]; then also=(--also-write "$target_host:$target_port"); fi
            line="$("${on_rest[@]}" "$BENCH_LOAD_BIN" --address "$(address_of "$mode")" --keyspace "$keyspace" \
                --label "$mode" --in-flight "$in_flight" --connections "$connections" \
                --warmup-secs "$warmup" --duration-secs "$duration" --protocol 3 "${also[@]}")"
            bench_merge_json "$line" "{\"tool\": \"cql_load\", \"workload\": \"$workload\", \"mode\": \"$mode\", \"round\": $round}" >>"$results"
            settle "$mode"
        done
    done
fi

if [ "$run_stress" = 1 ]; then
    stress="$CASSANDRA_HOME/tools/bin/cassandra-stress"
    opens=""
    for p in java.lang java.lang.ref java.lang.reflect java.io java.nio java.nio.charset java.net \
        java.util java.util.concurrent java.util.concurrent.atomic java.util.concurrent.locks \
        sun.nio.ch jdk.internal.misc jdk.internal.ref java.math java.text java.security sun.security.ssl; do
        opens+=" --add-opens java.base/$p=ALL-UNNAMED"
    done
    export JAVA_HOME="${FERRY_JAVA%/bin/java}" JDK_JAVA_OPTIONS="$opens"
    # stress NODE PORT N LOG: one cassandra-stress write run.
    run_stress_once() {
        "${on_rest[@]}" "$stress" write n="$3" cl=ONE -mode native prepared cql3 -rate threads="$stress_threads" \
            -node "$1" -port native="$2" thrift=9160 -schema keyspace="$stress_keyspace" >"$4" 2>&1
    }
    # Its schema on both nodes (made over Thrift on the node given), and
    # the JVM path warmed once.
    for node in "$target_host:$target_port" "$source_host:$source_port"; do
        ferry_log "cassandra-stress: schema of $stress_keyspace on ${node%:*}"
        run_stress_once "${node%:*}" "${node##*:}" 2000 "$out/stress-schema-${node%:*}.log" ||
            ferry_die "cassandra-stress failed on ${node%:*} (see $out/stress-schema-${node%:*}.log)"
    done
    workload="cassandra-stress $cassandra_version: write n=$stress_n, $stress_threads threads, -mode native prepared cql3 (protocol v2)"
    for round in $(seq 1 "$rounds"); do
        for mode in $(order_of "$round"); do
            # cassandra-stress speaks v2, which the fake target does not,
            # and it cannot write two clusters itself.
            if [ "$mode" = async-fake ] || [ "$mode" = client-dual ]; then continue; fi
            address="$(address_of "$mode")"
            log="$out/stress-$mode-$round.log"
            ferry_log "round $round: cassandra-stress via $mode ($address)"
            if ! run_stress_once "${address%:*}" "${address##*:}" "$stress_n" "$log"; then
                ferry_log "cassandra-stress via $mode failed (see $log)"
                continue
            fi
            value() { sed -n "s/^$1 *: *\([0-9.]*\).*/\1/p" "$log" | tail -n 1; }
            rate="$(value 'op rate')" p50="$(value 'latency median')" p99="$(value 'latency 99th percentile')"
            errors="$(grep -c -i 'exception\|error' "$log" || true)"
            bench_merge_json "{\"ops_per_s\": ${rate:-0}, \"p50_us\": $(python3 -c "print(${p50:-0} * 1000)"), \"p99_us\": $(python3 -c "print(${p99:-0} * 1000)"), \"errors\": ${errors:-0}}" \
                "{\"tool\": \"stress\", \"workload\": \"$workload\", \"mode\": \"$mode\", \"round\": $round}" >>"$results"
            settle "$mode"
        done
    done
fi

counters=""
for mode in async async-fake; do
    ok="$(bench_metric "${metrics_port[$mode]}" ferry_proxy_target_writes_ok_total)"
    failed="$(bench_metric "${metrics_port[$mode]}" ferry_proxy_failed_write_log_records_total)"
    ferry_log "ferry-proxy $mode: target writes ok ${ok:-?}, failed-write log records ${failed:-?}"
    counters+="${counters:+; }$mode: ${ok:-?} target writes applied, ${failed:-?} in the failed-write log"
done

# (sed, not head: with pipefail, head's early exit would fail the script.)
haproxy_version="$(haproxy -v 2>/dev/null | sed -n '1s/^.* version \([^ ]*\).*/\1/p')"
report_args=(load --results "$results" --command "$command_line" --load-before "$load_before"
    --load-after "$(cut -d' ' -f1-3 /proc/loadavg)"
    --commit "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- crates bins || echo '+changes')"
    --nodes "Cassandra $cassandra_version, source $source_host and target $target_host (one node each, same machine$([ "$pin" = 1 ] && echo '; source JVM pinned to CPU 0, the target JVM and everything else to CPU 1')); haproxy $haproxy_version; dual-write proxies over the whole run: $counters")
if [ "$pin" = 1 ]; then report_args+=(--pinned); fi
if [ "$write_doc" = 1 ]; then report_args+=(--doc "$FERRY_ROOT/docs/benchmarks.md"); fi
python3 "$FERRY_ROOT/scripts/lib/bench_proxy_report.py" "${report_args[@]}"
ferry_log "raw results: ${out#"$FERRY_ROOT"/}"
