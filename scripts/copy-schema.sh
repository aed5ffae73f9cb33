#!/usr/bin/env bash
# Copies a keyspace's schema (keyspace, types, tables, indexes) from the
# source cluster to the target, the first step of a migration.
#
#   scripts/copy-schema.sh SOURCE_HOST[:PORT] TARGET_HOST[:PORT] KEYSPACE [SCHEMA_FILE]
#
# Writes the source's `DESCRIBE KEYSPACE` text to SCHEMA_FILE (default
# ./KEYSPACE.schema.cql; review and edit it before it is applied when the
# clusters' versions or replication differ), then runs it on the target.
# Same as `cqlsh SOURCE -e 'DESCRIBE KEYSPACE ks' > ks.cql; cqlsh TARGET -f ks.cql`,
# but through the Python driver's schema metadata, so it also works where
# cqlsh cannot describe (cqlsh 6 against Cassandra before 4.0).
set -euo pipefail
# shellcheck source=scripts/lib/deps.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/deps.sh"

if [ $# -lt 3 ] || [ $# -gt 4 ]; then
    sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
fi
source_host="$1" target_host="$2" keyspace="$3" file="${4:-./$3.schema.cql}"
ferry_ensure_python_driver
"$FERRY_PYTHON" "$FERRY_ROOT/scripts/lib/cql_schema.py" describe "$source_host" "$keyspace" >"$file.tmp"
mv "$file.tmp" "$file"
ferry_log "schema of $keyspace on $source_host written to $file"
"$FERRY_PYTHON" "$FERRY_ROOT/scripts/lib/cql_schema.py" apply "$target_host" "$file"
