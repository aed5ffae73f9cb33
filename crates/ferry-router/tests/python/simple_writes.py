"""N simple INSERTs into KEYSPACE.kv through the proxy, counting errors.

Usage: simple_writes.py HOST PORT KEYSPACE N [FIRST_KEY]
Prints {"errors": E, "first_error": "..."}.
"""
import json
import sys

from cassandra.cluster import Cluster

host, port, ks, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
first = int(sys.argv[5]) if len(sys.argv) > 5 else 0
cluster = Cluster([host], port=port, connect_timeout=15, control_connection_timeout=15)
session = cluster.connect(ks)
session.use_client_timestamp = False
errors, first_error = 0, None
for k in range(first, first + n):
    try:
        session.execute("INSERT INTO kv (k, v) VALUES (%d, 'v%d')" % (k, k))
    except Exception as e:  # the test counts what the application sees
        errors += 1
        first_error = first_error or str(e)
cluster.shutdown()
print(json.dumps({"errors": errors, "first_error": first_error}))
