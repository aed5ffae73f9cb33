#!/usr/bin/env bash
# Ferry's end-to-end demonstration: a complete live migration on this machine.
#
#   scripts/demo.sh [--small] [--check] [--profile release|debug] [--outage SECS]
#
# On a fresh Debian/Ubuntu machine with Rust it installs what is missing
# (Java 17, Apache Cassandra 2.1.0, the Python driver), builds ferry-proxy,
# ferry-copy and ferry-validate, starts two real single-node clusters (node
# groups demo-source 127.0.0.11 and demo-target 127.0.0.12 of
# scripts/node-groups.conf), and then migrates a small shop application
# while it runs:
#
#   schema     sample schema + historical rows on the source; the schema
#              copied to the target (scripts/copy-schema.sh)
#   proxy      ferry-proxy in front of both clusters, metrics on
#   workload   the application (scripts/lib/demo_app.py, Python driver)
#              writes, updates, deletes and reads through the proxy with
#              prepared and simple statements, recording every
#              acknowledged write
#   copy       ferry-copy of the historical rows, during the workload
#   outage     the target is stopped for --outage seconds and restarted;
#              the proxy logs what it could not apply
#   replay     ferry-proxy replay of the failed-write log
#   cutover    the proxy is switched to the target as primary (skipped when
#              this ferry-proxy has no --primary)
#   validate   the workload stops; ferry-validate compares both clusters
#   check      every acknowledged write is on the target
#
# and prints a report (also .demo/report.json): rows copied, writes
# dual-written, the target lag seen, failed writes logged and replayed,
# differences, the cutover time, and the time of each phase.
#
# --small    smaller volumes (the CI run: scripts/test.sh runs
#            `scripts/demo.sh --check --small --profile debug`)
# --check    exit 1 unless: zero differences, every acknowledged write on
#            the target, failed writes logged during the outage and all
#            replayed
# --profile  cargo profile of the binaries (default release)
#
# Everything it starts it stops on exit, failure or Ctrl-C: the proxy, the
# workload, and the node groups it started (groups already running are left
# running; FERRY_KEEP_NODES=1 keeps them). Work files are in .demo/ (replaced
# by the next run).
set -euo pipefail

# shellcheck source=scripts/lib/deps.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/deps.sh"
# shellcheck source=scripts/lib/node-groups.sh
source "$FERRY_ROOT/scripts/lib/node-groups.sh"
cd "$FERRY_ROOT"

small=0 check=0 profile=release outage_secs=5
while [ $# -gt 0 ]; do
    case "$1" in
        --small) small=1; shift ;;
        --check) check=1; shift ;;
        --profile) profile="$2"; shift 2 ;;
        --outage) outage_secs="$2"; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) ferry_die "unknown option: $1 (see scripts/demo.sh --help)" ;;
    esac
done
case "$profile" in release|debug) ;; *) ferry_die "--profile must be release or debug: $profile" ;; esac
[[ "$outage_secs" =~ ^[0-9]+$ ]] || ferry_die "--outage must be a number of seconds: $outage_secs"

# Volumes: historical rows loaded before the migration, and the workload's
# pace (operations per second, requests in flight).
if [ "$small" = 1 ]; then
    users=2000 orders=4000 rate=100 in_flight=8 warmup=2 after_cutover=2
else
    users=20000 orders=40000 rate=300 in_flight=32 warmup=5 after_cutover=4
fi
keyspace=ferry_demo
source_host=127.0.0.11 target_host=127.0.0.12
demo_dir="$FERRY_ROOT/.demo"
# The same directory, relative (the script runs from the repository root):
# the commands docs/migration-guide.md shows are exactly these.
rel=.demo
bin_dir="$FERRY_ROOT/target/$profile"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# ------------------------------------------------------------ phases --
# Each phase's start and end (epoch seconds) go to .demo/phases.tsv.
phase_name="" phase_t0=""
now() { date +%s.%N; }
phase() {
    phase_end
    phase_name="$1" phase_t0="$(now)"
    say "$1: $2"
}
phase_end() {
    if [ -n "$phase_name" ]; then
        printf '%s\t%s\t%s\n' "$phase_name" "$phase_t0" "$(now)" >>"$demo_dir/phases.tsv"
        phase_name=""
    fi
}

# ----------------------------------------------------------- cleanup --
started="$(mktemp)"
proxy_pid="" workload_pid="" sampler_pid="" target_stopped=0 src_start="" tgt_start=""
stop_pid() {  # stop_pid PID NAME: SIGTERM, then SIGKILL after 40 s
    local pid="$1" i
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 400; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        ferry_log "$2 (pid $pid) did not stop; killing it"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    local rc=$?
    trap - INT TERM
    stop_pid "$sampler_pid" "metrics sampler"
    stop_pid "$workload_pid" "workload"
    stop_pid "$proxy_pid" "ferry-proxy"
    # Node starts still running (Ctrl-C during the nodes phase: background
    # jobs ignore SIGINT) record their group when done; wait, then stop it.
    if [ -n "$src_start" ]; then wait "$src_start" 2>/dev/null || true; fi
    if [ -n "$tgt_start" ]; then wait "$tgt_start" 2>/dev/null || true; fi
    # A target we stopped for the outage, in a group we did not start: start
    # it again (we leave other runs' groups as we found them).
    if [ "$target_stopped" = 1 ] && ! grep -qx demo-target "$started"; then
        scripts/cassandra-nodes.sh start-node --name demo-target --node 1 || true
    fi
    ferry_stop_node_groups "$started"
    rm -f "$started"
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 130 ]; then
        ferry_log "the demo failed (exit $rc); its files are in ${demo_dir#"$FERRY_ROOT"/}/ (proxy.log, workload.log, ...)"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rm -rf "$demo_dir"
mkdir -p "$demo_dir"
: >"$demo_dir/phases.tsv"

# ------------------------------------------------------------- setup --
phase setup "tools (Java 17, Apache Cassandra $CASSANDRA_VERSION, the Python driver, Rust)"
ferry_ensure_java
ferry_ensure_cassandra
ferry_ensure_python_driver
command -v cargo >/dev/null 2>&1 || ferry_die "cargo not found: install Rust (https://rustup.rs), then run scripts/demo.sh again"
command -v curl >/dev/null 2>&1 || ferry_apt_install curl ca-certificates
ferry_log "python with cassandra-driver: $FERRY_PYTHON"

phase build "ferry-proxy, ferry-copy, ferry-validate ($profile; the first release build takes several minutes)"
build_flags=()
[ "$profile" = release ] && build_flags+=(--release)
cargo build -q "${build_flags[@]}" -p ferry-proxy -p ferry-copy -p ferry-validate
proxy_bin="$bin_dir/ferry-proxy" copy_bin="$bin_dir/ferry-copy" validate_bin="$bin_dir/ferry-validate"

phase nodes "two real Cassandra clusters: demo-source $source_host, demo-target $target_host"
# In parallel: each start waits for its JVM (tens of seconds).
ferry_start_node_group demo-source "$started" >"$demo_dir/nodes-source.log" 2>&1 & src_start=$!
ferry_start_node_group demo-target "$started" >"$demo_dir/nodes-target.log" 2>&1 & tgt_start=$!
nodes_rc=0
wait "$src_start" || nodes_rc=1
wait "$tgt_start" || nodes_rc=1
src_start="" tgt_start=""
cat "$demo_dir/nodes-source.log" "$demo_dir/nodes-target.log" >&2
[ "$nodes_rc" = 0 ] || ferry_die "starting the demo node groups failed (see above)"

cql() {  # cql HOST STATEMENT...: run statements with the Python driver
    local host="$1"; shift
    "$FERRY_PYTHON" -c 'import json,sys; print(json.dumps(sys.argv[1:]))' "$@" |
        "$FERRY_PYTHON" scripts/lib/cql.py --host "$host" --wait 30 >/dev/null
}

# ------------------------------------------------------------ schema --
phase schema "the application's schema and $users users + $orders orders on the source; schema copied to the target"
# A fresh start, also when the groups were left running by an earlier run.
cql "$source_host" "DROP KEYSPACE IF EXISTS $keyspace"
cql "$target_host" "DROP KEYSPACE IF EXISTS $keyspace"
"$FERRY_PYTHON" scripts/lib/demo_app.py schema "$source_host" "$keyspace"
"$FERRY_PYTHON" scripts/lib/demo_app.py load "$source_host" "$keyspace" "$users" "$orders"
scripts/copy-schema.sh "$source_host" "$target_host" "$keyspace" "$rel/$keyspace.schema.cql"

# ------------------------------------------------------------- proxy --
phase proxy "ferry-proxy in front of both clusters"
read -r proxy_port metrics_port < <("$FERRY_PYTHON" -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])')
metrics="http://127.0.0.1:$metrics_port"
failed_log="$rel/failed-writes.log"
proxy_cmd=("$proxy_bin" "$source_host" "$target_host" --disable-source-tls --disable-target-tls
    --proxy-port "$proxy_port" --metrics-port "$metrics_port" --failed-write-log "$failed_log")
printf '%q ' "${proxy_cmd[@]}" | sed "s|$FERRY_ROOT/||g" >"$demo_dir/proxy.cmd"
ferry_log "$(cat "$demo_dir/proxy.cmd")"
"${proxy_cmd[@]}" >"$demo_dir/proxy.log" 2>&1 &
proxy_pid=$!
for ((i = 0; ; i++)); do
    curl -fsS --max-time 1 "$metrics/health/live" >/dev/null 2>&1 && break
    kill -0 "$proxy_pid" 2>/dev/null || { cat "$demo_dir/proxy.log" >&2; ferry_die "ferry-proxy exited at startup"; }
    [ "$i" -lt 300 ] || ferry_die "ferry-proxy not answering on $metrics/health/live after 30 s"
    sleep 0.1
done
ferry_log "ferry-proxy on 127.0.0.1:$proxy_port, metrics on $metrics/metrics"

# The metrics sampler: every 0.5 s the target's lag (age of the oldest write
# not yet applied there), the queue depth and the failed-write log records.
(
    while :; do
        m="$(curl -fsS --max-time 1 "$metrics/metrics" 2>/dev/null)" || { sleep 0.5; continue; }
        printf '%s\t%s\t%s\t%s\t%s\n' "$(now)" \
            "$(awk '$1=="ferry_proxy_target_oldest_pending_seconds"{print $2}' <<<"$m")" \
            "$(awk '$1=="ferry_proxy_target_queue_depth"{print $2}' <<<"$m")" \
            "$(awk '$1=="ferry_proxy_failed_write_log_records_total"{print $2}' <<<"$m")" \
            "$(awk '$1=="ferry_proxy_target_writes_ok_total"{print $2}' <<<"$m")"
        printf '%s\n' "$m" >"$demo_dir/metrics.last.tmp" && mv "$demo_dir/metrics.last.tmp" "$demo_dir/metrics.last"
        sleep 0.5
    done
) >"$demo_dir/lag.tsv" &
sampler_pid=$!

metric() {  # the current value of one proxy metric
    curl -fsS --max-time 2 "$metrics/metrics" | awk -v n="$1" '$1==n{print $2}'
}
# Waits until the proxy has no target write pending (after the outage).
wait_queue_empty() {
    local i depth
    for ((i = 0; i < 1200; i++)); do
        depth="$(metric ferry_proxy_target_queue_depth || echo x)"
        [ "$depth" = 0 ] && return 0
        sleep 0.1
    done
    ferry_log "the proxy's target queue is still not empty (depth $depth) after 120 s"
    return 1
}

# ---------------------------------------------------------- workload --
phase workload "the application through the proxy (~$rate operations/s, $in_flight in flight)"
"$FERRY_PYTHON" scripts/lib/demo_app.py run 127.0.0.1 "$proxy_port" "$keyspace" "$demo_dir" \
    "$users" "$orders" "$rate" "$in_flight" >"$demo_dir/workload.log" 2>&1 &
workload_pid=$!
for ((i = 0; ; i++)); do
    [ -f "$demo_dir/workload.started" ] && break
    kill -0 "$workload_pid" 2>/dev/null || { cat "$demo_dir/workload.log" >&2; ferry_die "the workload exited at startup"; }
    [ "$i" -lt 600 ] || ferry_die "the workload did not connect through the proxy in 60 s (see .demo/workload.log)"
    sleep 0.1
done
sleep "$warmup"
workload_alive() {
    kill -0 "$workload_pid" 2>/dev/null || { cat "$demo_dir/workload.log" >&2; ferry_die "the workload stopped unexpectedly"; }
}

# -------------------------------------------------------------- copy --
phase copy "ferry-copy of the historical rows, while the application writes"
rm -f "$demo_dir/copy.progress.jsonl"
"$copy_bin" --source "$source_host" --target "$target_host" --disable-source-tls --disable-target-tls \
    --keyspace "$keyspace" --progress "$rel/copy.progress.jsonl" \
    --summary-json "$rel/copy.json" 2>&1 | sed 's/^/  /'
workload_alive

# ------------------------------------------------------------ outage --
phase outage "the target is stopped for ${outage_secs}s (then started again), the application keeps writing"
target_stopped=1
scripts/cassandra-nodes.sh stop-node --name demo-target --node 1
sleep "$outage_secs"
scripts/cassandra-nodes.sh start-node --name demo-target --node 1
target_stopped=0
workload_alive

phase catch-up "the proxy applies the writes it queued while the target was down"
# Writes still queued or being retried are applied (or logged) before the
# log is replayed.
wait_queue_empty
workload_alive

# ------------------------------------------------------------ replay --
phase replay "ferry-proxy replay of the failed-write log onto the target"
replays=()
run_replay() {  # run_replay LOG HOST CLUSTER: apply LOG to HOST; records "CLUSTER <summary line>"
    local out
    out="$("$proxy_bin" replay "$1" --target "$2" --disable-target-tls --log-level warn)" ||
        { printf '%s\n' "$out" >&2; ferry_die "ferry-proxy replay of $1 failed"; }
    printf '  %s\n' "$out"
    replays+=("$3 $(head -n 1 <<<"$out")")
}
if [ -f "$failed_log" ]; then
    run_replay "$failed_log" "$target_host" target
else
    ferry_log "no failed-write log: nothing to replay"
fi
workload_alive

# ----------------------------------------------------------- cutover --
# The proxy's runtime switch (ferry-proxy --primary and POST /primary):
# existing client connections are closed once their in-flight requests are
# answered, the driver reconnects, and new connections use the new primary.
# The workload times each switch: from the decision (written to
# .demo/switches just before the POST) to the first write acknowledged on a
# connection opened after it. Three switches: the cutover to the target, a
# rollback drill back to the source, and the final cutover.
cutover_status=skipped switch_seq=0
switch_primary() {  # switch_primary CLUSTER: POST, then wait (30 s at most) for the first write on a new connection
    local cluster="$1" i
    switch_seq=$((switch_seq + 1))
    { cat "$demo_dir/switches" 2>/dev/null || true; printf '%s %s %s\n' "$switch_seq" "$(now)" "$cluster"; } \
        >"$demo_dir/switches.tmp"
    mv "$demo_dir/switches.tmp" "$demo_dir/switches"
    ferry_log "curl -fsS --max-time 10 -X POST '$metrics/primary?cluster=$cluster'"
    curl -fsS --max-time 10 -X POST "$metrics/primary?cluster=$cluster" >"$demo_dir/switch-$switch_seq.response" 2>&1 ||
        { cat "$demo_dir/switch-$switch_seq.response" >&2; ferry_die "POST $metrics/primary?cluster=$cluster failed"; }
    for ((i = 0; i < 300; i++)); do
        if [ -f "$demo_dir/switch-$switch_seq.done" ]; then
            ferry_log "first write acknowledged with $cluster as primary $(cat "$demo_dir/switch-$switch_seq.done") s after the decision"
            return 0
        fi
        sleep 0.1
    done
    ferry_log "no write acknowledged with $cluster as primary within 30 s of the switch"
    cutover_status=incomplete
}
# (The help is captured first: `grep -q` on a pipe could SIGPIPE the writer,
# which pipefail would report as "not found".)
proxy_help="$("$proxy_bin" --help)"
if grep -q -- '--primary' <<<"$proxy_help"; then
    phase cutover "the target becomes the primary (POST /primary?cluster=target), a rollback drill, and the final cutover"
    cutover_status=complete
    switch_primary target
    sleep "$after_cutover"
    switch_primary source
    sleep "$after_cutover"
    switch_primary target
    sleep "$after_cutover"
else
    say "cutover: not available in this build (ferry-proxy has no --primary); skipped"
fi
workload_alive

# ---------------------------------------------------------- validate --
phase stop "the application stops; the proxy drains and stops"
touch "$demo_dir/stop"
wait "$workload_pid" || { cat "$demo_dir/workload.log" >&2; ferry_die "the workload failed"; }
workload_pid=""
wait_queue_empty || true
curl -fsS --max-time 2 "$metrics/metrics" >"$demo_dir/metrics.final" 2>/dev/null || cp "$demo_dir/metrics.last" "$demo_dir/metrics.final"
stop_pid "$sampler_pid" "metrics sampler"; sampler_pid=""
stop_pid "$proxy_pid" "ferry-proxy"; proxy_pid=""
# Writes logged after the first replay (none, unless the target failed
# again): replay the whole log once more. Records carry their timestamps,
# so writes replayed twice leave the same cells.
logged_total=0
if [ -f "$failed_log" ]; then logged_total="$("$proxy_bin" dump "$failed_log" | wc -l)"; fi
replayed_first=0
[ "${#replays[@]}" -gt 0 ] && replayed_first="$(awk '{print $2}' <<<"${replays[0]}")"
if [ "$logged_total" -gt "$replayed_first" ]; then
    ferry_log "$((logged_total - replayed_first)) write(s) were logged after the replay: replaying the log again"
    run_replay "$failed_log" "$target_host" target
fi
# While the target was primary, writes mirrored to the source that failed
# went to the proxy's second log (--source-failed-write-log, by default the
# same name with .to-source): replay it onto the source.
source_failed_log="$rel/failed-writes.to-source.log"
if [ -f "$source_failed_log" ] && [ "$("$proxy_bin" dump "$source_failed_log" | wc -l)" -gt 0 ]; then
    ferry_log "writes meant for the source were logged while the target was primary: replaying them onto the source"
    run_replay "$source_failed_log" "$source_host" source
fi

phase validate "ferry-validate compares the source and the target"
validate_rc=0
"$validate_bin" --source "$source_host" --target "$target_host" --keyspace "$keyspace" \
    --recheck-delay 2 --report-json "$rel/validate.json" >"$demo_dir/validate.out" 2>&1 || validate_rc=$?
sed 's/^/  /' "$demo_dir/validate.out"

phase check "every acknowledged write is on the target (and on the source)"
"$FERRY_PYTHON" scripts/lib/demo_app.py check "$target_host" "$keyspace" "$demo_dir" "$users" "$orders" >"$demo_dir/check-target.json"
"$FERRY_PYTHON" scripts/lib/demo_app.py check "$source_host" "$keyspace" "$demo_dir" "$users" "$orders" >"$demo_dir/check-source.json"
phase_end

# ------------------------------------------------------------ report --
report_args=(--dir "$demo_dir" --validate-exit "$validate_rc" --cutover "$cutover_status"
    --outage-secs "$outage_secs" --profile "$profile" --users "$users" --orders "$orders")
for r in "${replays[@]}"; do report_args+=(--replay "$r"); done
[ "$check" = 1 ] && report_args+=(--check)
"$FERRY_PYTHON" scripts/lib/demo_report.py "${report_args[@]}"
