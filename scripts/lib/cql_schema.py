#!/usr/bin/env python3
"""Copy a keyspace's schema from one cluster to another, as cqlsh's
`DESCRIBE KEYSPACE` + `cqlsh -f` would (used by scripts/copy-schema.sh).

  cql_schema.py describe HOST[:PORT] KEYSPACE   print the CREATE statements
  cql_schema.py apply HOST[:PORT] FILE          run the statements of FILE

`describe` prints the same text cqlsh's DESCRIBE prints (both come from the
driver's schema metadata), so it works on servers where the installed cqlsh
cannot describe: cqlsh 6 only asks the server, and DESCRIBE runs server side
from Cassandra 4.0 on.
`apply` runs statements one by one (split at ';' ending a line) and stops at
the first error, naming the statement.
"""
import sys
import time


def connect(hostport):
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import WhiteListRoundRobinPolicy

    from cassandra.cluster import NoHostAvailable

    host, _, port = hostport.partition(":")
    # The driver's newest protocol first; Cassandra 2.1 refuses the probe
    # with a server error the driver does not step down on, so then v3.
    for version in (None, 3):
        kwargs = dict(
            port=int(port or 9042), connect_timeout=15, compression=False,
            execution_profiles={EXEC_PROFILE_DEFAULT: ExecutionProfile(
                load_balancing_policy=WhiteListRoundRobinPolicy([host]), request_timeout=60)},
        )
        if version:
            kwargs["protocol_version"] = version
        cluster = Cluster([host], **kwargs)
        try:
            return cluster, cluster.connect()
        except NoHostAvailable:
            cluster.shutdown()
            if version:
                raise


def describe(hostport, keyspace):
    cluster, _ = connect(hostport)
    ks = cluster.metadata.keyspaces.get(keyspace)
    if ks is None:
        sys.exit("keyspace %s does not exist on %s (known: %s)" % (
            keyspace, hostport, ", ".join(sorted(cluster.metadata.keyspaces))))
    print(ks.export_as_string())
    cluster.shutdown()


def statements(text):
    stmt = []
    for line in text.splitlines():
        if not stmt and not line.strip():
            continue
        stmt.append(line)
        if line.rstrip().endswith(";"):
            yield "\n".join(stmt)
            stmt = []
    if any(l.strip() for l in stmt):
        yield "\n".join(stmt)


def apply(hostport, path):
    cluster, session = connect(hostport)
    n = 0
    for stmt in statements(open(path).read()):
        try:
            session.execute(stmt)
        except Exception as e:
            sys.exit("%s: statement %d failed on %s: %s\n%s" % (path, n + 1, hostport, e, stmt))
        n += 1
    # Let the new tables settle before clients use them (2.1 applies schema
    # asynchronously on other nodes; one round trip checks agreement).
    cluster.control_connection.wait_for_schema_agreement()
    time.sleep(0.2)
    print("%s: %d statement(s) applied on %s" % (path, n, hostport))
    cluster.shutdown()


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("describe", "apply"):
        sys.exit(__doc__)
    (describe if sys.argv[1] == "describe" else apply)(sys.argv[2], sys.argv[3])
