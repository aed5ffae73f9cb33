"""A schema change through the proxy, then a write into the new table on
the same session, as an application would send them (Python driver,
default 10 s request timeout, no client timestamps).

Usage: ddl_once.py HOST PORT KEYSPACE READY_FILE GO_FILE
Connects, creates READY_FILE, waits for GO_FILE, then runs
CREATE TABLE KEYSPACE.t2 and INSERT INTO t2. Prints
{"errors": [...], "ddl_seconds": S}.
"""
import json
import os
import sys
import time

from cassandra.cluster import Cluster

host, port, ks, ready_file, go_file = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
cluster = Cluster([host], port=port, connect_timeout=15, control_connection_timeout=15)
session = cluster.connect(ks)
session.use_client_timestamp = False
open(ready_file, "w").close()
while not os.path.exists(go_file):
    time.sleep(0.05)
errors = []
t0 = time.monotonic()
try:
    session.execute("CREATE TABLE t2 (k int PRIMARY KEY, v text)")
except Exception as e:  # what the application sees
    errors.append(repr(e))
ddl_seconds = round(time.monotonic() - t0, 2)
try:
    session.execute("INSERT INTO t2 (k, v) VALUES (1, 'after the ddl')")
except Exception as e:
    errors.append(repr(e))
cluster.shutdown()
print(json.dumps({"errors": errors, "ddl_seconds": ddl_seconds}))
