"""Writes in a loop for SECONDS through the proxy, one prepared INSERT at a
time, and reports what the application saw: used by hand to measure what
a primary switch costs a client (see docs/proxy.md, Primary and mirror).

Usage: write_loop.py HOST PORT KEYSPACE SECONDS [RECONNECT_DELAY_S]
(RECONNECT_DELAY_S: a ConstantReconnectionPolicy instead of the driver's
default exponential one.) Prints {"writes", "errors", "first_errors",
"max_gap_s"}: max_gap_s is the longest time between two successful writes.
"""
import json
import sys
import time

from cassandra.cluster import Cluster
from cassandra.policies import ConstantReconnectionPolicy, WhiteListRoundRobinPolicy

host, port, ks, secs = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
kw = {}
if len(sys.argv) > 5:
    kw["reconnection_policy"] = ConstantReconnectionPolicy(float(sys.argv[5]), None)
cluster = Cluster([host], port=port, load_balancing_policy=WhiteListRoundRobinPolicy([host]), **kw)
session = cluster.connect()
session.execute(
    "CREATE KEYSPACE IF NOT EXISTS %s WITH replication = "
    "{'class': 'SimpleStrategy', 'replication_factor': 1}" % ks
)
session.execute("CREATE TABLE IF NOT EXISTS %s.kv (k int PRIMARY KEY, v text)" % ks)
insert = session.prepare("INSERT INTO %s.kv (k, v) VALUES (?, ?)" % ks)
start = time.time()
k, errors, last_ok, max_gap = 0, [], time.time(), 0.0
while time.time() - start < secs:
    try:
        session.execute(insert, (k, "v"))
        now = time.time()
        max_gap, last_ok = max(max_gap, now - last_ok), now
    except Exception as e:  # what the application would see
        errors.append("%.3f %s: %s" % (time.time() - start, type(e).__name__, str(e)[:120]))
    k += 1
cluster.shutdown()
print(json.dumps({"writes": k, "errors": len(errors), "first_errors": errors[:3], "max_gap_s": round(max_gap, 3)}))
