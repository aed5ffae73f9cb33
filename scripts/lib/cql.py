#!/usr/bin/env python3
"""Run CQL statements against one real Cassandra node with the DataStax
Python driver (cassandra-driver), pinned to native protocol v3.

STOPGAP: Ferry has no Rust CQL client yet (ferry-conn does not exist). Until
it does, the test harness (scripts/cassandra-nodes.sh readiness probe and
ferry-testkit's `cql_exec`) runs CQL through this script.

Input (stdin): a JSON array of CQL statement strings, run in order.
Output (stdout): one JSON object
    {"results": [{"columns": [...], "rows": [[...], ...]}, ...]}
with one entry per statement (columns/rows empty for statements that return
no rows). Values that JSON cannot hold (UUID, Decimal, dates, blobs, ...) are
written as their str(); blobs as "0x" + hex.
Exit status: 0 on success; 1 with a message on stderr if any statement failed
(statements after the failing one are not run).
"""

import argparse
import json
import ssl
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", required=True, help="node address, e.g. 127.0.0.2")
    p.add_argument("--port", type=int, default=9042)
    p.add_argument("--username")
    p.add_argument("--password")
    p.add_argument("--ca-cert", help="PEM CA certificate: connect with TLS and verify the node")
    p.add_argument("--protocol-version", type=int, default=3)
    p.add_argument("--keyspace")
    p.add_argument(
        "--wait",
        type=float,
        default=0.0,
        help="keep retrying the connection for this many seconds (a new node "
        "may accept TCP before its default superuser exists)",
    )
    return p.parse_args()


def to_json(value):
    """Converts a driver value into something json.dumps accepts."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, dict) or hasattr(value, "items"):
        return [[to_json(k), to_json(v)] for k, v in value.items()]
    if isinstance(value, (list, tuple, set, frozenset)) or hasattr(value, "__iter__"):
        return [to_json(v) for v in value]
    return str(value)


def connect(args):
    from cassandra.auth import PlainTextAuthProvider
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import WhiteListRoundRobinPolicy

    kwargs = {
        "contact_points": [args.host],
        "port": args.port,
        "protocol_version": args.protocol_version,
        # Talk to exactly this node: tests address nodes individually.
        "execution_profiles": {
            EXEC_PROFILE_DEFAULT: ExecutionProfile(
                load_balancing_policy=WhiteListRoundRobinPolicy([args.host])
            )
        },
        "connect_timeout": 10,
        # Uncompressed frames: captures stay readable and do not depend on
        # whether the python lz4/snappy modules happen to be installed.
        "compression": False,
    }
    if args.username is not None:
        kwargs["auth_provider"] = PlainTextAuthProvider(args.username, args.password or "")
    if args.ca_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(args.ca_cert)
        ctx.check_hostname = True  # the node certificates carry IP SANs
        kwargs["ssl_context"] = ctx
    deadline = time.monotonic() + args.wait
    while True:
        # A fresh Cluster each attempt: the driver shuts a Cluster down after
        # some failures (e.g. bad credentials while a new node is still
        # creating its default superuser), and it cannot be reused.
        cluster = Cluster(**kwargs)
        try:
            return cluster, cluster.connect(args.keyspace)
        except Exception as e:  # noqa: BLE001 - retry any failure until the deadline
            cluster.shutdown()
            if time.monotonic() >= deadline:
                raise SystemExit(f"cql.py: cannot connect to {args.host}:{args.port}: {e}")
            time.sleep(0.5)


def main():
    args = parse_args()
    statements = json.load(sys.stdin)
    if not isinstance(statements, list) or not all(isinstance(s, str) for s in statements):
        raise SystemExit("cql.py: stdin must be a JSON array of strings")
    cluster, session = connect(args)
    results = []
    try:
        for stmt in statements:
            try:
                rs = session.execute(stmt)
            except Exception as e:  # noqa: BLE001
                raise SystemExit(f"cql.py: statement failed: {stmt!r}: {type(e).__name__}: {e}")
            columns = list(rs.column_names or [])
            rows = [[to_json(v) for v in row] for row in rs] if columns else []
            results.append({"columns": columns, "rows": rows})
    finally:
        cluster.shutdown()
    json.dump({"results": results}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
