#!/usr/bin/env bash
# Bulk copy throughput and memory: ferry-copy beside cqlsh COPY TO/FROM, a
# Python cassandra-driver copy and cassandra-stress, on the same rows.
#
#   scripts/bench-copy.sh [ROWS] [--rounds N] [--slow-rounds N]
#                         [--small-rows N] [--stress-threads N]
#                         [--only TOOLS] [--no-doc] [--keep]
#                         [-- FERRY_COPY_FLAGS...]
#
# ROWS (default 1,000,000) rows are loaded into a fresh keyspace on the
# `source` node group (127.0.0.8) with cassandra-stress (its own table
# shape, created first as a regular CQL table), then copied to the same
# table on the `target` group (127.0.0.9) by each tool in turn, the target
# table truncated before each:
#   - ferry-copy (release build; FERRY_COPY_FLAGS are added to its command);
#   - cqlsh COPY TO a CSV file, then COPY FROM it (PyPI cqlsh in
#     .cache/cqlsh-venv, --protocol-version=3), timed separately;
#   - scripts/lib/bench_copy.py pycopy (cassandra-driver,
#     execute_concurrent_with_args);
#   - cassandra-stress write of the same ROWS rows straight into the target
#     table (the raw write reference; bundled tools/bin/cassandra-stress,
#     Java 17, protocol v2 through the 2.0 Java driver it bundles).
# --rounds (default 3) rounds of ferry-copy and COPY, --slow-rounds
# (default 1) of the Python copy and cassandra-stress, which take minutes.
# ferry-copy also copies a second table of --small-rows rows (default
# ROWS/10) once, to show that its memory does not grow with the table.
# --only ferry,copy,python,stress runs a subset (all by default).
# After every copy, the target's row count and a checksum of all its cells
# must equal the source's, or the run fails.
#
# The node groups must be running (scripts/cassandra-nodes.sh start, with
# the options of scripts/node-groups.conf); they are started here only if
# they do not answer, and then stopped at the end. The results replace the
# bench-copy section of docs/benchmarks.md unless --no-doc; raw results go
# to target/bench-copy/<time>/. The keyspaces are dropped at the end (and
# their snapshot files removed) unless --keep.
set -euo pipefail

# shellcheck source=scripts/lib/deps.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/deps.sh"
# shellcheck source=scripts/lib/node-groups.sh
source "$FERRY_ROOT/scripts/lib/node-groups.sh"
cd "$FERRY_ROOT"

command_line="scripts/bench-copy.sh${*:+ $*}"
rows=1000000 rounds=3 slow_rounds=1 small_rows="" stress_threads=64
only="ferry,copy,python,stress" write_doc=1 keep=0 ferry_extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) rounds="$2"; shift 2 ;;
        --slow-rounds) slow_rounds="$2"; shift 2 ;;
        --small-rows) small_rows="$2"; shift 2 ;;
        --stress-threads) stress_threads="$2"; shift 2 ;;
        --only) only="$2"; shift 2 ;;
        --no-doc) write_doc=0; shift ;;
        --keep) keep=1; shift ;;
        --) shift; ferry_extra=("$@"); break ;;
        -h|--help) sed -n '2,36p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        [0-9]*) rows="$1"; shift ;;
        *) ferry_die "unknown argument $1 (see --help)" ;;
    esac
done
[[ "$rows" =~ ^[1-9][0-9]*$ ]] || ferry_die "ROWS must be a positive number: $rows"
small_rows="${small_rows:-$((rows / 10))}"
wants() { [[ ",$only," == *",$1,"* ]]; }

ferry_log "cargo build --release -p ferry-copy"
cargo build --release -q -p ferry-copy
ferry_copy="$FERRY_ROOT/target/release/ferry-copy"
[ -x /usr/bin/time ] || ferry_apt_install time
ferry_ensure_python_driver
ferry_ensure_java
ferry_ensure_cassandra
python="$FERRY_PYTHON"
stress="$CASSANDRA_HOME/tools/bin/cassandra-stress"

# PyPI cqlsh in its own virtualenv (it pins its own driver version).
cqlsh="$FERRY_CACHE/cqlsh-venv/bin/cqlsh"
if [ ! -x "$cqlsh" ]; then
    ferry_log "creating .cache/cqlsh-venv with PyPI cqlsh"
    python3 -m venv --clear "$FERRY_CACHE/cqlsh-venv"
    "$FERRY_CACHE/cqlsh-venv/bin/pip" install -q --disable-pip-version-check cqlsh
fi

# cassandra-stress 2.1 runs on Java 17 with the same --add-opens flags as
# the nodes (scripts/cassandra-nodes.sh); JDK_JAVA_OPTIONS reaches the
# `java` its launcher script runs.
opens=""
for p in java.lang java.lang.ref java.lang.reflect java.io java.nio java.nio.charset java.net \
    java.util java.util.concurrent java.util.concurrent.atomic java.util.concurrent.locks \
    sun.nio.ch jdk.internal.misc jdk.internal.ref java.math java.text java.security \
    sun.security.ssl; do
    opens+=" --add-opens java.base/$p=ALL-UNNAMED"
done
export JDK_JAVA_OPTIONS="$opens"
JAVA_HOME="$(dirname "$(dirname "$(readlink -f "$FERRY_JAVA")")")"
export JAVA_HOME

started="$(mktemp)"
stamp="$(date +%s)_$$"
keyspace="bench_copy_$stamp"
small_keyspace="bench_copy_small_$stamp"
table="Standard1" # cassandra-stress's table name
out="$FERRY_ROOT/target/bench-copy/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
results="$out/results.jsonl"
source_host="" target_host=""

cql() { # cql HOST STATEMENT...: runs statements with the Python driver
    local host="$1"; shift
    "$python" -c 'import json,sys; print(json.dumps(sys.argv[1:]))' "$@" |
        "$python" "$FERRY_ROOT/scripts/lib/cql.py" --host "$host" --port 9042 >/dev/null
}

cleanup() {
    local rc=$?
    if [ "$keep" = 0 ] && [ -n "$source_host" ]; then
        for ks in "$keyspace" "$small_keyspace"; do
            for h in "$source_host" "$target_host"; do
                cql "$h" "DROP KEYSPACE IF EXISTS $ks" 2>/dev/null || ferry_log "could not drop $ks on $h"
            done
            # Truncates and the drop leave snapshots (auto_snapshot): only
            # this run's keyspace directories are removed.
            for g in source target; do
                for d in "$FERRY_ROOT"/.nodes/"$g"/node*/data/"$ks"; do
                    [ -d "$d" ] && rm -rf "$d"
                done
            done
        done
    fi
    rm -f "$out/data.csv"
    ferry_stop_node_groups "$started"
    rm -f "$started"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

node_answers() { # node_answers GROUP
    local env="$FERRY_ROOT/.nodes/$1/nodes.env" h p
    [ -f "$env" ] || return 1
    h="$(sed -n 's/^FERRY_NODES=\([^,]*\).*/\1/p' "$env")"
    p="$(sed -n 's/^FERRY_NATIVE_PORT=//p' "$env")"
    [ -n "$h" ] && [ -n "$p" ] && (exec 3<>"/dev/tcp/$h/$p") 2>/dev/null
}
for g in source target; do
    if node_answers "$g"; then
        ferry_log "node group $g is running; using it as it is"
    else
        starting="$(mktemp)"
        ferry_start_node_group "$g" "$starting"
        cat "$starting" >>"$started"
        rm -f "$starting"
    fi
done
source_host="$(sed -n 's/^FERRY_NODES=\([^,]*\).*/\1/p' .nodes/source/nodes.env)"
target_host="$(sed -n 's/^FERRY_NODES=\([^,]*\).*/\1/p' .nodes/target/nodes.env)"
cassandra_version="$(sed -n 's/^FERRY_CASSANDRA_VERSION=//p' .nodes/source/nodes.env)"

create_table() { # create_table HOST KEYSPACE
    cql "$1" "CREATE KEYSPACE $2 WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}" \
        "CREATE TABLE $2.\"$table\" (key blob PRIMARY KEY, \"C0\" blob, \"C1\" blob, \"C2\" blob, \"C3\" blob, \"C4\" blob)"
}
for ks in "$keyspace" "$small_keyspace"; do
    create_table "$source_host" "$ks"
    create_table "$target_host" "$ks"
done

# time_json FILE: the wall, CPU and peak RSS of a `/usr/bin/time -v` report.
time_json() {
    awk -F': ' '
        /User time/ {u=$2} /System time/ {s=$2}
        /Maximum resident set size/ {m=$2}
        END {printf "\"cpu_seconds\": %.3f, \"max_rss_kib\": %d", u + s, m}' "$1"
}
now() { date +%s.%N; }
# record TOOL SIZE ROWS BYTES SECONDS [EXTRA_JSON]
record() {
    printf '{"tool": "%s", "size": "%s", "rows": %s, "bytes": %s, "seconds": %s%s}\n' \
        "$1" "$2" "$3" "$4" "$5" "${6:+, $6}" >>"$results"
}
settle() { # settle HOST: no compaction for 3 s, then a short pause
    "$python" "$FERRY_ROOT/scripts/lib/bench_conn.py" settle --host "$1" --port 9042 --pause 5 --max-wait 60 >&2
}
digest() { # digest HOST KEYSPACE -> JSON
    "$python" "$FERRY_ROOT/scripts/lib/bench_copy.py" digest --host "$1" --keyspace "$2" --table "$table"
}
json_field() { "$python" -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

# check KEYSPACE TOOL [rows]: the target must hold exactly the source's
# rows (only as many, with "rows": cassandra-stress writes, not copies).
declare -A source_digest
check() {
    local got
    got="$(digest "$target_host" "$1")"
    if [ "$(json_field "$got" rows)" != "$(json_field "${source_digest[$1]}" rows)" ] ||
        { [ "${3:-}" != rows ] &&
            [ "$(json_field "$got" checksum)" != "$(json_field "${source_digest[$1]}" checksum)" ]; }; then
        ferry_die "$2 left the target different from the source: target $got, source ${source_digest[$1]}"
    fi
    ferry_log "$2: target matches the source ($(json_field "$got" rows) rows, same checksum)"
}
truncate_target() {
    cql "$target_host" "TRUNCATE $1.\"$table\""
    settle "$target_host"
}

stress_args=(-mode native cql3 prepared -rate "threads=$stress_threads" -col "n=FIXED(5)" "size=FIXED(34)")
stress_write() { # stress_write HOST KEYSPACE ROWS LOG
    "$stress" write "n=$3" no_warmup cl=ONE -key "populate=1..$3" -schema "keyspace=$2" \
        "${stress_args[@]}" -node "$1" >"$4" 2>&1 ||
        { tail -n 30 "$4" >&2; ferry_die "cassandra-stress failed (log: $4)"; }
}

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
ferry_log "loading $rows rows into $keyspace.$table on the source with cassandra-stress"
t0="$(now)"
stress_write "$source_host" "$keyspace" "$rows" "$out/load.log"
ferry_log "loaded in $(awk -v a="$t0" -v b="$(now)" 'BEGIN {printf "%.0f", b - a}') s"
ferry_log "loading $small_rows rows into $small_keyspace.$table"
stress_write "$source_host" "$small_keyspace" "$small_rows" "$out/load-small.log"
settle "$source_host"
source_digest[$keyspace]="$(digest "$source_host" "$keyspace")"
source_digest[$small_keyspace]="$(digest "$source_host" "$small_keyspace")"
[ "$(json_field "${source_digest[$keyspace]}" rows)" = "$rows" ] ||
    ferry_die "the source holds $(json_field "${source_digest[$keyspace]}" rows) rows, $rows expected"
value_bytes="$(json_field "${source_digest[$keyspace]}" bytes)"

ferry_args=(--source "$source_host" --target "$target_host" --disable-source-tls --disable-target-tls
    --table "$table" --quiet "${ferry_extra[@]}")
run_ferry() { # run_ferry ROUND KEYSPACE SIZE
    local tag="ferry-$3-$1" t1 t2 summary
    truncate_target "$2"
    ferry_log "round $1: ferry-copy ($3 table)"
    rm -f "$out/$tag.progress.jsonl"
    t1="$(now)"
    /usr/bin/time -v -o "$out/$tag.time" "$ferry_copy" "${ferry_args[@]}" --keyspace "$2" \
        --progress "$out/$tag.progress.jsonl" --summary-json "$out/$tag.summary.json" \
        >"$out/$tag.log" 2>&1 || { tail -n 30 "$out/$tag.log" >&2; ferry_die "ferry-copy failed"; }
    t2="$(now)"
    summary="$(cat "$out/$tag.summary.json")"
    record ferry-copy "$3" "$(json_field "$summary" rows)" "$(json_field "$summary" bytes)" \
        "$(awk -v a="$t1" -v b="$t2" 'BEGIN {print b - a}')" \
        "$(time_json "$out/$tag.time"), \"tool_seconds\": $(json_field "$summary" elapsed_seconds)"
    check "$2" "ferry-copy"
}
run_cqlsh_copy() { # run_cqlsh_copy ROUND
    local t1 t2 t3
    truncate_target "$keyspace"
    rm -f "$out/data.csv"
    ferry_log "round $1: cqlsh COPY TO"
    t1="$(now)"
    "$cqlsh" --protocol-version=3 "$source_host" \
        -e "COPY $keyspace.\"$table\" TO '$out/data.csv'" >"$out/copy-to-$1.log" 2>&1 ||
        { tail -n 20 "$out/copy-to-$1.log" >&2; ferry_die "COPY TO failed"; }
    t2="$(now)"
    ferry_log "round $1: cqlsh COPY FROM"
    "$cqlsh" --protocol-version=3 "$target_host" \
        -e "COPY $keyspace.\"$table\" FROM '$out/data.csv'" >"$out/copy-from-$1.log" 2>&1 ||
        { tail -n 20 "$out/copy-from-$1.log" >&2; ferry_die "COPY FROM failed"; }
    t3="$(now)"
    record copy_to main "$rows" "$value_bytes" "$(awk -v a="$t1" -v b="$t2" 'BEGIN {print b - a}')"
    record copy_from main "$rows" "$value_bytes" "$(awk -v a="$t2" -v b="$t3" 'BEGIN {print b - a}')"
    rm -f "$out/data.csv"
    check "$keyspace" "cqlsh COPY FROM"
}
run_python() { # run_python ROUND
    truncate_target "$keyspace"
    ferry_log "round $1: Python concurrent copy"
    local got
    got="$("$python" "$FERRY_ROOT/scripts/lib/bench_copy.py" pycopy --source "$source_host" \
        --target "$target_host" --keyspace "$keyspace" --table "$table")"
    record python main "$(json_field "$got" rows)" "$(json_field "$got" bytes)" \
        "$(json_field "$got" seconds)" \
        "\"cpu_seconds\": $(json_field "$got" cpu_seconds), \"max_rss_kib\": $(json_field "$got" max_rss_kib)"
    check "$keyspace" "Python copy"
}
run_stress() { # run_stress ROUND
    truncate_target "$keyspace"
    ferry_log "round $1: cassandra-stress write on the target"
    local t1 t2
    t1="$(now)"
    stress_write "$target_host" "$keyspace" "$rows" "$out/stress-$1.log"
    t2="$(now)"
    # The tool's own rate (without its JVM start and schema pause) too.
    local op_rate
    op_rate="$(sed -n 's/^op rate *: *\([0-9]*\).*/\1/p' "$out/stress-$1.log" | tail -n 1)"
    record stress main "$rows" "$value_bytes" "$(awk -v a="$t1" -v b="$t2" 'BEGIN {print b - a}')" \
        "\"tool_rows_per_second\": ${op_rate:-0}"
    check "$keyspace" "cassandra-stress" rows
}

for round in $(seq 1 "$rounds"); do
    # Who goes first alternates, so neither always meets the node right
    # after the other's writes.
    if [ $((round % 2)) = 1 ]; then
        wants ferry && run_ferry "$round" "$keyspace" main
        wants copy && run_cqlsh_copy "$round"
    else
        wants copy && run_cqlsh_copy "$round"
        wants ferry && run_ferry "$round" "$keyspace" main
    fi
    if [ "$round" -le "$slow_rounds" ]; then
        wants python && run_python "$round"
        wants stress && run_stress "$round"
    fi
done
wants ferry && run_ferry 1 "$small_keyspace" small

load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
"$python" - "$results" <<PY
import json, sys
meta = {
    "kind": "meta",
    "rows": $rows,
    "small_rows": $small_rows,
    "command": """$command_line""",
    "date": "$(date -u '+%Y-%m-%d %H:%M UTC')",
    "commit": "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- crates bins || echo '+changes')",
    "rustc": "$(rustc --version)",
    "machine": "$(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)), Linux $(uname -r), Cassandra $cassandra_version",
    "load_before": "$load_before",
    "load_after": "$load_after",
    "rounds": $rounds,
    "slow_rounds": $slow_rounds,
    "cqlsh_version": "$("$cqlsh" --version 2>&1 | awk '{print $2}')",
    "driver_version": "$("$python" -c 'import cassandra; print(cassandra.__version__)')",
    "stress_args": "\`write n=$rows cl=ONE -mode native cql3 prepared -rate threads=$stress_threads\` (protocol v2, Java 17)",
    "ferry_args": "default options${ferry_extra[*]:+ plus \`${ferry_extra[*]}\`}",
}
with open(sys.argv[1], "a") as f:
    f.write(json.dumps(meta) + "\n")
PY
report_args=(report --results "$results")
[ "$write_doc" = 1 ] && report_args+=(--doc "$FERRY_ROOT/docs/benchmarks.md")
"$python" "$FERRY_ROOT/scripts/lib/bench_copy.py" "${report_args[@]}"
ferry_log "raw results: ${out#"$FERRY_ROOT"/}"
