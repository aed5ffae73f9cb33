"""INSERTs through the proxy over TLS (the driver's ssl_context).

Usage: tls_writes.py HOST PORT KEYSPACE N CA_PEM [CLIENT_CERT CLIENT_KEY]
Writes k = 0..N-1 into KEYSPACE.kv (k int PRIMARY KEY, v text) with a
prepared INSERT, then reads the table back; prints
{"written": N, "read": R, "protocol_version": V}.
"""
import json
import ssl
import sys

from cassandra.cluster import Cluster
from cassandra.policies import WhiteListRoundRobinPolicy

host, port, ks, n, ca = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
context = ssl.create_default_context(cafile=ca)  # chain and host name checked
if len(sys.argv) > 7:
    context.load_cert_chain(certfile=sys.argv[6], keyfile=sys.argv[7])
cluster = Cluster(
    [host],
    port=port,
    ssl_context=context,
    ssl_options={"server_hostname": host},
    load_balancing_policy=WhiteListRoundRobinPolicy([host]),
    connect_timeout=15,
    control_connection_timeout=15,
)
session = cluster.connect(ks)
insert = session.prepare("INSERT INTO kv (k, v) VALUES (?, ?)")
for k in range(n):
    session.execute(insert, (k, "tls%d" % k))
rows = list(session.execute("SELECT k FROM kv"))
version = cluster.protocol_version
cluster.shutdown()
print(json.dumps({"written": n, "read": len(rows), "protocol_version": version}))
