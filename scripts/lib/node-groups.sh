# shellcheck shell=bash
# Start and stop the node groups listed in scripts/node-groups.conf (the one
# list of real Cassandra clusters the tests use). Source after deps.sh.
#
# Groups that are already running are left alone (and not stopped later), so
# a developer can keep nodes up between runs.

FERRY_NODES_SH="$FERRY_ROOT/scripts/cassandra-nodes.sh"
FERRY_NODE_GROUPS_CONF="$FERRY_ROOT/scripts/node-groups.conf"

# Prints the configured groups as "<name> <options...>" lines.
ferry_node_group_lines() {
    grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$FERRY_NODE_GROUPS_CONF"
}

# Starts the configured group $1 unless it is running; if it starts it,
# appends its name to the file $2 (so the caller can stop exactly those).
ferry_start_node_group() {
    local wanted="$1" started_file="$2" name options
    while read -r name options; do
        [ "$name" = "$wanted" ] || continue
        if "$FERRY_NODES_SH" status --name "$name" >/dev/null 2>&1; then
            ferry_log "node group $name is already running; leaving it as it is"
            return 0
        fi
        # Recorded only once started (a failed start is cleaned up here): a
        # group recorded before its start could be one that some other run
        # owns, and the caller's cleanup would then stop it.
        # shellcheck disable=SC2086 # options are words by design
        if "$FERRY_NODES_SH" start --name "$name" $options; then
            echo "$name" >>"$started_file"
            return 0
        fi
        "$FERRY_NODES_SH" stop --name "$name" >/dev/null 2>&1 || true
        ferry_die "starting node group $name failed (logs: scripts/cassandra-nodes.sh logs --name $name)"
    done < <(ferry_node_group_lines)
    ferry_die "node group $wanted is not listed in ${FERRY_NODE_GROUPS_CONF#"$FERRY_ROOT"/}"
}

# Starts every configured group that is not running (see ferry_start_node_group),
# except the demo's own groups (demo-*): scripts/demo.sh starts and stops
# those itself, and no cargo test uses them, so the test suite does not keep
# two more JVMs busy while it runs.
ferry_start_node_groups() {
    local started_file="$1" name options
    while read -r name options; do
        case "$name" in demo-*) continue ;; esac
        ferry_start_node_group "$name" "$started_file"
    done < <(ferry_node_group_lines)
}

# Stops the groups listed in file $1 (unless FERRY_KEEP_NODES=1).
ferry_stop_node_groups() {
    local started_file="$1" name
    [ -s "$started_file" ] || return 0
    if [ "${FERRY_KEEP_NODES:-0}" = 1 ]; then
        ferry_log "FERRY_KEEP_NODES=1: leaving node groups running: $(tr '\n' ' ' <"$started_file")"
        return 0
    fi
    while read -r name; do
        if [ -n "$name" ]; then "$FERRY_NODES_SH" stop --name "$name" || true; fi
    done <"$started_file"
}

# Prints the end of every configured group's node logs (for failed runs).
ferry_print_node_logs() {
    local name options
    while read -r name options; do
        "$FERRY_NODES_SH" logs --name "$name" --lines "${1:-80}" 2>/dev/null || true
    done < <(ferry_node_group_lines)
}
