# shellcheck shell=bash
# Helpers shared by scripts/bench-proxy.sh and scripts/bench-proxy-cpu.sh:
# building the binaries, starting ferry-proxy and reading its CPU time.
# Source after scripts/lib/deps.sh; defines functions only.

# Builds ferry-proxy and the load generator in release mode; sets
# BENCH_PROXY_BIN, BENCH_LOAD_BIN and BENCH_FAKE_BIN.
bench_proxy_build() {
    ferry_log "cargo build --release -p ferry-proxy -p ferry-router --bin ferry-proxy --example cql_load --example fake_backends"
    (cd "$FERRY_ROOT" && cargo build --release -q -p ferry-proxy -p ferry-router --bin ferry-proxy \
        --example cql_load --example fake_backends)
    BENCH_PROXY_BIN="$FERRY_ROOT/target/release/ferry-proxy"
    BENCH_LOAD_BIN="$FERRY_ROOT/target/release/examples/cql_load"
    BENCH_FAKE_BIN="$FERRY_ROOT/target/release/examples/fake_backends"
}

# bench_wait_port HOST PORT [SECONDS]: waits until something listens there.
bench_wait_port() {
    local host="$1" port="$2" limit="${3:-60}" i
    for ((i = 0; i < limit * 10; i++)); do
        if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    ferry_die "nothing listens on $host:$port after ${limit}s"
}

# bench_free_port: a TCP port nobody listens on (from the kernel).
bench_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# bench_cpu_seconds PID: user + system CPU seconds of a process (all threads).
bench_cpu_seconds() {
    local ticks
    ticks="$(getconf CLK_TCK)"
    # Fields 14 and 15 (utime, stime), counted after the ")" that ends the
    # command name (which may contain spaces).
    sed 's/^.*) //' "/proc/$1/stat" | awk -v t="$ticks" '{ printf "%.3f\n", ($12 + $13) / t }'
}

# bench_queue_idle METRICS_PORT [SECONDS]: waits until the proxy's target
# queue is empty (every mirrored write applied or logged).
bench_queue_idle() {
    local port="$1" limit="${2:-120}" i depth
    for ((i = 0; i < limit * 10; i++)); do
        depth="$(curl -fsS "http://127.0.0.1:$port/metrics" 2>/dev/null |
            sed -n 's/^ferry_proxy_target_queue_depth \([0-9]*\).*/\1/p')"
        if [ "$depth" = 0 ]; then return 0; fi
        sleep 0.1
    done
    ferry_log "warning: target queue still not empty after ${limit}s (depth ${depth:-?})"
}

# bench_metric METRICS_PORT NAME: one counter's value (labels included in NAME).
bench_metric() {
    curl -fsS "http://127.0.0.1:$1/metrics" 2>/dev/null | awk -v n="$2" '$1 == n { print $2 }'
}

# bench_merge_json JSON EXTRA_JSON: one JSON object with both's fields.
bench_merge_json() {
    python3 -c 'import json, sys; d = json.loads(sys.argv[1]); d.update(json.loads(sys.argv[2])); print(json.dumps(d))' "$1" "$2"
}
