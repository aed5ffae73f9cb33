"""A steady write load through ferry-proxy, for the outage tests: prepared
INSERTs of (k, 'v<k>') into KEYSPACE.kv at RATE writes per second for
SECONDS, with at most CONCURRENCY in flight (execute_async, as
applications do), counting what the application sees.

Usage: write_load.py HOST PORT KEYSPACE SECONDS RATE CONCURRENCY READY_FILE STOP_FILE
READY_FILE is created once the first write was acknowledged, so the test
knows the load is under way before it breaks the target; the load stops
when STOP_FILE appears (or after SECONDS at most).
No client timestamps: the proxy adds them (so both clusters must end up
with the same WRITETIME).
Prints one JSON object: acked, errors, first_error, latency percentiles
(ms) and per-second counts.
"""
import json
import os
import sys
import threading
import time

from cassandra.cluster import Cluster

host, port, ks = sys.argv[1], int(sys.argv[2]), sys.argv[3]
seconds, rate, concurrency = float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
ready_file, stop_file = sys.argv[7], sys.argv[8]

cluster = Cluster([host], port=port, connect_timeout=15, control_connection_timeout=15)
session = cluster.connect(ks)
session.use_client_timestamp = False
session.default_timeout = 30
insert = session.prepare("INSERT INTO kv (k, v) VALUES (?, ?)")

lock = threading.Lock()
slots = threading.Semaphore(concurrency)
done = threading.Condition(lock)
state = {"acked": 0, "errors": 0, "first_error": None, "in_flight": 0}
latencies = []  # (start offset s, latency s)
per_second = {}  # second -> [acked, errors, max latency ms]
t0 = time.monotonic()


def finish(started, error):
    now = time.monotonic()
    second = int(started - t0)
    with lock:
        bucket = per_second.setdefault(second, [0, 0, 0.0])
        if error is None:
            state["acked"] += 1
            bucket[0] += 1
            if state["acked"] == 1:
                open(ready_file, "w").close()
        else:
            state["errors"] += 1
            bucket[1] += 1
            state["first_error"] = state["first_error"] or repr(error)
        bucket[2] = max(bucket[2], (now - started) * 1000)
        latencies.append(now - started)
        state["in_flight"] -= 1
        done.notify_all()
    slots.release()


k = 0
while time.monotonic() - t0 < seconds and not (k % 20 == 0 and os.path.exists(stop_file)):
    # Pace to RATE: the k-th write is not sent before k / RATE seconds.
    wait = t0 + k / rate - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    slots.acquire()
    started = time.monotonic()
    with lock:
        state["in_flight"] += 1
    future = session.execute_async(insert, (k, "v%d" % k))
    future.add_callbacks(
        callback=lambda _rows, s=started: finish(s, None),
        errback=lambda e, s=started: finish(s, e),
    )
    k += 1

with lock:
    while state["in_flight"] > 0:
        done.wait()
cluster.shutdown()

latencies.sort()


def pct(p):
    return round(latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000, 2) if latencies else None


print(json.dumps({
    "sent": k,
    "acked": state["acked"],
    "errors": state["errors"],
    "first_error": state["first_error"],
    "p50_ms": pct(0.5),
    "p99_ms": pct(0.99),
    "max_ms": pct(1.0),
    "per_second": [[s] + per_second[s] for s in sorted(per_second)],
}))
