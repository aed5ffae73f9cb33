"""A real application's traffic through ferry-proxy, with the DataStax
Python driver, NOT pinned to a protocol version: the driver starts at its
highest version (DSE_V2) and must step down through the proxy.

Usage: dual_write_client.py HOST PORT KEYSPACE [--server-timestamps]
With --server-timestamps the driver sends no client timestamps (as many
drivers and older configurations do), so the proxy must add them.
Prints one JSON object with what the test checks on the client side.
"""
import json
import sys

from cassandra.cluster import Cluster
from cassandra.query import BatchStatement, SimpleStatement

host, port, ks = sys.argv[1], int(sys.argv[2]), sys.argv[3]
cluster = Cluster([host], port=port, connect_timeout=15, control_connection_timeout=15)
session = cluster.connect()
if "--server-timestamps" in sys.argv[4:]:
    session.use_client_timestamp = False
out = {"protocol_version": cluster.protocol_version}

# Schema changes go to both clusters.
session.execute(
    "CREATE KEYSPACE %s WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}" % ks
)
session.execute("USE %s" % ks)
session.execute("CREATE TABLE kv (k int PRIMARY KEY, v text)")
session.execute("CREATE TABLE lwt (k int PRIMARY KEY, v text)")
session.execute("CREATE TABLE counters (k int PRIMARY KEY, c counter)")
session.execute("CREATE TYPE address (street text, zip int)")
session.execute(
    "CREATE TABLE people (k int PRIMARY KEY, name text, tags set<text>, "
    "scores map<text, int>, visits list<int>, home frozen<address>)"
)

# Simple statements (unqualified: the USE above applies on both clusters).
session.execute("INSERT INTO kv (k, v) VALUES (1, 'one')")
session.execute("UPDATE kv SET v = 'two' WHERE k = 2")
session.execute("INSERT INTO kv (k, v) VALUES (3, 'three')")
session.execute("DELETE FROM kv WHERE k = 3")
session.execute("INSERT INTO %s.kv (k, v) VALUES (4, 'qualified')" % ks)

# Prepared statements.
insert = session.prepare("INSERT INTO kv (k, v) VALUES (?, ?)")
for i in range(10, 60):
    session.execute(insert, (i, "p%d" % i))
update = session.prepare("UPDATE kv SET v = ? WHERE k = ?")
session.execute(update, ("p10-updated", 10))

# A batch mixing prepared and simple children.
batch = BatchStatement()
batch.add(insert, (100, "b100"))
batch.add(SimpleStatement("INSERT INTO kv (k, v) VALUES (101, 'b101')"))
batch.add(insert, (102, "b102"))
session.execute(batch)

# Collections and a UDT, through a prepared statement.
people = session.prepare(
    "INSERT INTO people (k, name, tags, scores, visits, home) VALUES (?, ?, ?, ?, ?, ?)"
)
session.execute(
    people,
    (1, "ada", {"x", "y"}, {"math": 10, "art": 7}, [3, 1, 2], ("Main", 12345)),
)
session.execute("UPDATE people SET tags = tags + {'z'}, visits = visits + [9] WHERE k = 1")

# A paged read (source only).
rows = list(session.execute(SimpleStatement("SELECT k, v FROM kv", fetch_size=7)))
out["rows"] = len(rows)

# Lightweight transactions: both clusters, no timestamp added.
first = session.execute("INSERT INTO lwt (k, v) VALUES (1, 'first') IF NOT EXISTS").one()
second = session.execute("INSERT INTO lwt (k, v) VALUES (1, 'second') IF NOT EXISTS").one()
out["lwt"] = [bool(first[0]), bool(second[0])]

# Counters: both clusters, no timestamp added.
for _ in range(3):
    session.execute("UPDATE counters SET c = c + 2 WHERE k = 1")

cluster.shutdown()
print(json.dumps(out))
