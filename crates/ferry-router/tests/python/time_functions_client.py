"""Writes with now() and uuid() through ferry-proxy with
--replace-time-functions: simple, prepared and batched statements.

Usage: time_functions_client.py HOST PORT KEYSPACE
Prints one JSON object with what the driver saw of the prepared
statements (the proxy's extra bind markers must be invisible).
"""
import json
import sys

from cassandra.cluster import Cluster
from cassandra.query import BatchStatement, SimpleStatement

host, port, ks = sys.argv[1], int(sys.argv[2]), sys.argv[3]
cluster = Cluster([host], port=port, connect_timeout=15, control_connection_timeout=15)
session = cluster.connect()
out = {"protocol_version": cluster.protocol_version}

session.execute(
    "CREATE KEYSPACE %s WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}" % ks
)
session.execute("USE %s" % ks)
session.execute("CREATE TABLE events (id timeuuid PRIMARY KEY, note text)")
session.execute("CREATE TABLE items (id uuid PRIMARY KEY, note text)")
session.execute(
    "CREATE TABLE combo (k int, id timeuuid, u uuid, note text, PRIMARY KEY (k, id))"
)

# Simple statements: literals.
for i in range(3):
    session.execute("INSERT INTO events (id, note) VALUES (now(), 'simple %d')" % i)
    session.execute("INSERT INTO items (id, note) VALUES (uuid(), 'simple %d')" % i)
session.execute("UPDATE combo SET u = uuid(), note = 'update' WHERE k = 0 AND id = now()")

# Prepared statements: markers the driver must not see.
events = session.prepare("INSERT INTO events (id, note) VALUES (now(), ?)")
items = session.prepare("INSERT INTO items (id, note) VALUES (uuid(), ?)")
combo = session.prepare("INSERT INTO combo (k, id, u, note) VALUES (?, now(), uuid(), ?)")
out["bind_columns"] = {
    "events": [c.name for c in events.column_metadata],
    "items": [c.name for c in items.column_metadata],
    "combo": [c.name for c in combo.column_metadata],
}
out["routing_key_indexes"] = {
    "events": events.routing_key_indexes,
    "combo": combo.routing_key_indexes,
}
for i in range(5):
    session.execute(events, ("prepared %d" % i,))
    session.execute(items, ("prepared %d" % i,))
    session.execute(combo, (i % 2, "prepared %d" % i))
# Bound by name on the client side.
session.execute(combo, {"k": 7, "note": "by name"})

# A batch mixing both kinds.
batch = BatchStatement()
batch.add(events, ("batch prepared",))
batch.add(SimpleStatement("INSERT INTO items (id, note) VALUES (uuid(), 'batch simple')"))
batch.add(combo, (9, "batch prepared"))
session.execute(batch)

out["counts"] = {
    t: len(list(session.execute("SELECT * FROM %s" % t))) for t in ("events", "items", "combo")
}
cluster.shutdown()
print(json.dumps(out))
