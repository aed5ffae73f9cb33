"""Writes through ferry-proxy with the driver pinned to protocol v2 (no
default timestamp in the protocol): simple, prepared, TTL, DELETE, batches,
plus LWT and counter writes, which must still work untouched.

Usage: v2_writes.py HOST PORT KEYSPACE
Prints one JSON object: the negotiated protocol version, what the driver
saw of its prepared statements' bind variables, and LWT/counter results.
"""
import json
import sys

from cassandra.cluster import Cluster
from cassandra.query import BatchStatement, BatchType, SimpleStatement

host, port, ks = sys.argv[1], int(sys.argv[2]), sys.argv[3]
cluster = Cluster(
    [host], port=port, protocol_version=2, connect_timeout=15, control_connection_timeout=15
)
session = cluster.connect()
out = {"protocol_version": cluster.protocol_version}

session.execute(
    "CREATE KEYSPACE %s WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}" % ks
)
session.execute("USE %s" % ks)
session.execute("CREATE TABLE t (k int PRIMARY KEY, a text, b int)")
session.execute("CREATE TABLE wide (k int, c int, v text, PRIMARY KEY (k, c))")
session.execute("CREATE TABLE counters (k int PRIMARY KEY, n counter)")
session.execute("CREATE TABLE lwt (k int PRIMARY KEY, a text)")

# Simple statements (QUERY): USING TIMESTAMP literals.
for k in range(1, 4):
    session.execute("INSERT INTO t (k, a, b) VALUES (%d, 'simple', %d)" % (k, k))
session.execute("INSERT INTO t (k, a, b) VALUES (4, 'ttl', 4) USING TTL 3600;")
session.execute("UPDATE t SET b = 10 WHERE k = 1")
session.execute("UPDATE t USING TTL 3600 SET a = 'updated with ttl' WHERE k = 3")
session.execute("DELETE b FROM t WHERE k = 2")
session.execute("INSERT INTO wide (k, c, v) VALUES (1, 1, 'x')")
session.execute("DELETE FROM wide WHERE k = 1 AND c = 1")

# Prepared statements: a hidden USING TIMESTAMP marker.
insert = session.prepare("INSERT INTO t (k, a, b) VALUES (?, ?, ?)")
update = session.prepare("UPDATE t SET a = ? WHERE k = ?")
insert_ttl = session.prepare("INSERT INTO t (k, a, b) VALUES (?, ?, ?) USING TTL ?")
update_ttl = session.prepare("UPDATE t USING TTL ? SET b = ? WHERE k = ?")
delete = session.prepare("DELETE a FROM t WHERE k = ?")
named = session.prepare("INSERT INTO wide (k, c, v) VALUES (:k, :c, :v)")
out["bind_columns"] = {
    name: [c.name for c in stmt.column_metadata]
    for name, stmt in [
        ("insert", insert),
        ("update", update),
        ("insert_ttl", insert_ttl),
        ("update_ttl", update_ttl),
        ("delete", delete),
        ("named", named),
    ]
}
for k in range(10, 15):
    session.execute(insert, (k, "prepared", k))
session.execute(update, ("prepared update", 10))
session.execute(insert_ttl, (15, "prepared ttl", 15, 3600))
session.execute(update_ttl, (3600, 150, 15))
session.execute(delete, (11,))
for c in range(3):
    session.execute(named, (2, c, "named %d" % c))

# BATCH messages: prepared and text children.
batch = BatchStatement()
batch.add(insert, (20, "batch prepared", 20))
batch.add(SimpleStatement("INSERT INTO t (k, a, b) VALUES (21, 'batch simple', 21)"))
batch.add(update, ("batch update", 12))
batch.add(SimpleStatement("UPDATE wide SET v = 'batch' WHERE k = 3 AND c = 0"))
session.execute(batch)
unlogged = BatchStatement(batch_type=BatchType.UNLOGGED)
unlogged.add(insert, (22, "unlogged", 22))
unlogged.add(SimpleStatement("DELETE b FROM t WHERE k = 22"))
session.execute(unlogged)
# BATCH as QUERY text.
session.execute(
    "BEGIN BATCH INSERT INTO t (k, a, b) VALUES (30, 'text batch', 30); "
    "UPDATE t SET b = 31 WHERE k = 31; APPLY BATCH"
)
session.execute(
    "BEGIN UNLOGGED BATCH INSERT INTO wide (k, c, v) VALUES (4, 0, 'text unlogged') APPLY BATCH"
)

# LWT and counters: no timestamp may be added (Cassandra refuses them).
out["lwt"] = [
    session.execute("INSERT INTO lwt (k, a) VALUES (1, 'first') IF NOT EXISTS").one()[0],
    session.execute("UPDATE lwt SET a = 'second' WHERE k = 1 IF a = 'first'").one()[0],
]
lwt_prepared = session.prepare("INSERT INTO lwt (k, a) VALUES (?, ?) IF NOT EXISTS")
out["lwt"].append(session.execute(lwt_prepared, (2, "prepared")).one()[0])
session.execute("UPDATE counters SET n = n + 1 WHERE k = 1")
bump = session.prepare("UPDATE counters SET n = n + ? WHERE k = ?")
session.execute(bump, (2, 1))
counter_batch = BatchStatement(batch_type=BatchType.COUNTER)
counter_batch.add(bump, (3, 1))
session.execute(counter_batch)
out["counter"] = session.execute("SELECT n FROM counters WHERE k = 1").one()[0]

cluster.shutdown()
print(json.dumps(out))
