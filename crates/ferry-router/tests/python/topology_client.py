"""The Python driver against ferry-proxy in topology-rewrite mode: what
cluster does it discover, and do its queries work and spread over the
proxy instances?

Usage: topology_client.py HOST PORT KEYSPACE
Prints one JSON object with what the test checks.
"""
import json
import sys

from cassandra.cluster import Cluster
from cassandra.policies import RoundRobinPolicy
from cassandra.query import SimpleStatement

host, port, ks = sys.argv[1], int(sys.argv[2]), sys.argv[3]
# The default policy (token aware, DC aware): prepared writes go to the
# instance that owns the key's token in the ring the proxies describe.
cluster = Cluster([host], port=port, connect_timeout=15, control_connection_timeout=15)
session = cluster.connect()


def name(h):
    return "%s:%d" % (h.endpoint.address, h.endpoint.port)


out = {
    "protocol_version": cluster.protocol_version,
    "hosts": sorted(name(h) for h in cluster.metadata.all_hosts()),
    "up": sorted(name(h) for h in cluster.metadata.all_hosts() if h.is_up),
    "peers_v2": bool(getattr(cluster.control_connection, "_uses_peers_v2", False)),
    "cluster_name": cluster.metadata.cluster_name,
    "token_owners": sorted(
        {name(h) for h in cluster.metadata.token_map.token_to_host_owner.values()}
    ),
}

# Schema changes: the driver waits for schema agreement between the
# "nodes" (schema_version of local and peers) after each.
rs = session.execute(
    "CREATE KEYSPACE %s WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}" % ks
)
agreed = [rs.response_future.is_schema_agreed]
rs = session.execute("CREATE TABLE %s.kv (k int PRIMARY KEY, v text)" % ks)
agreed.append(rs.response_future.is_schema_agreed)
out["schema_agreed"] = agreed

coordinators = set()
insert = session.prepare("INSERT INTO %s.kv (k, v) VALUES (?, ?)" % ks)
for i in range(60):
    rs = session.execute(insert, (i, "v%d" % i))
    coordinators.add(name(rs.response_future.coordinator_host))
for i in range(20):
    rs = session.execute(SimpleStatement("SELECT v FROM %s.kv WHERE k = %d" % (ks, i)))
    coordinators.add(name(rs.response_future.coordinator_host))
out["coordinators"] = sorted(coordinators)
out["rows"] = len(list(session.execute("SELECT k FROM %s.kv" % ks)))

# The topology tables through prepared statements (the driver then asks
# for rows without metadata): answered by whichever instance serves them.
peers = session.prepare("SELECT peer, rpc_address AS addr, host_id FROM system.peers")
# (Cassandra 2.1.0's system.local has no address columns.)
local = session.prepare("SELECT host_id, tokens FROM system.local WHERE key = ?")
prepared = []
for _ in range(4):
    rs = session.execute(peers)
    served_by = name(rs.response_future.coordinator_host)
    prepared.append({"by": served_by, "peers": sorted(str(r.addr) for r in rs)})
    rs = session.execute(local, ("local",))
    row = list(rs)[0]
    prepared.append({"by": name(rs.response_future.coordinator_host), "local": str(row.host_id)})
out["prepared"] = prepared
out["host_ids"] = {name(h): str(h.host_id) for h in cluster.metadata.all_hosts()}

# A second client pinned to round robin reaches every instance too.
rr = Cluster([host], port=port, load_balancing_policy=RoundRobinPolicy(), connect_timeout=15)
rr_session = rr.connect()
rr_coordinators = set()
for i in range(10):
    rs = rr_session.execute("SELECT v FROM %s.kv WHERE k = %d" % (ks, i))
    rr_coordinators.add(name(rs.response_future.coordinator_host))
out["rr_coordinators"] = sorted(rr_coordinators)
rr.shutdown()
cluster.shutdown()
print(json.dumps(out))
