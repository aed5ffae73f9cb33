#!/usr/bin/env python3
"""Write and full-table scan throughput of the DataStax Python driver
(cassandra-driver) against a real node: the reference half of
scripts/bench-conn.sh, which runs ferry-conn's `bench_conn` example on the
same workload in the same run.

Workload (the Rust side does exactly the same):
1. CREATE KEYSPACE IF NOT EXISTS <ks> (SimpleStrategy, RF 1), then drop and
   create <ks>.<table> (k int PRIMARY KEY, a text, b bigint, c double, d blob);
2. WRITE: --rows prepared INSERTs through execute_concurrent_with_args with
   --concurrency requests in flight (the driver's fastest stock path for
   many independent writes);
3. SCAN, each counting the rows and summing k (both must match what was
   written, or the run fails):
   - single: one paged SELECT * (fetch_size --page-size), iterated the
     usual way (the driver fetches the next page when the current one is
     used up);
   - range: the full Murmur3 ring split into --ranges token ranges, read
     --range-parallelism at a time with execute_async and page callbacks.
   Rows come back as plain tuples (tuple_factory: the cheapest row factory)
   decoded by the driver's Cython deserializers when it has them.

Prints one JSON object on stdout; progress goes to stderr.
"""

import argparse
import json
import resource
import sys
import threading
import time

from cassandra import ConsistencyLevel
from cassandra.cluster import Cluster, ExecutionProfile, EXEC_PROFILE_DEFAULT
from cassandra.concurrent import execute_concurrent_with_args
from cassandra.query import SimpleStatement, tuple_factory

MIN_TOKEN = -(2**63)
MAX_TOKEN = 2**63 - 1


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, default=9042)
    p.add_argument("--keyspace", required=True)
    p.add_argument("--table", default="python_rows")
    p.add_argument("--rows", type=int, default=200_000)
    p.add_argument("--concurrency", type=int, default=256)
    p.add_argument("--page-size", type=int, default=5000)
    p.add_argument("--ranges", type=int, default=64)
    p.add_argument("--range-parallelism", type=int, default=8)
    p.add_argument("--drop-keyspace", action="store_true")
    return p.parse_args()


def log(msg):
    print(f"[bench_conn.py] {msg}", file=sys.stderr, flush=True)


def row_values(k):
    """The row with key k: the same values as bench_conn.rs writes."""
    blob = bytes((k * 31 + i) & 0xFF for i in range(32))
    return (k, f"row-{k:08}-payload", k * 1000, k * 0.5, blob)


def expected(n):
    return (n, n * (n - 1) // 2)


def check(what, got, want):
    if got != want:
        raise SystemExit(
            f"bench_conn.py: FAILED: {what}: read {got[0]} rows (key sum {got[1]}), "
            f"expected {want[0]} (key sum {want[1]})"
        )
    log(f"{what}: {got[0]} rows verified")


def split_ring(parts):
    """The full ring (MIN_TOKEN, MAX_TOKEN] as `parts` contiguous
    (lower exclusive, upper inclusive] ranges. The minimum token itself
    holds no key (Murmur3 never yields it)."""
    span = MAX_TOKEN - MIN_TOKEN
    bounds = [MIN_TOKEN + span * i // parts for i in range(parts)] + [MAX_TOKEN]
    return list(zip(bounds[:-1], bounds[1:]))


class RangeScan:
    """Reads token ranges with at most `parallelism` in flight, following
    each range's pages through the driver's async callbacks."""

    def __init__(self, session, statement, ranges, parallelism):
        self.session = session
        self.statement = statement
        self.pending = list(reversed(ranges))
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.in_flight = 0
        self.rows = 0
        self.key_sum = 0
        self.error = None
        for _ in range(min(parallelism, len(ranges))):
            self._start_next()

    def _start_next(self):
        with self.lock:
            if self.error is not None or not self.pending:
                if self.in_flight == 0:
                    self.done.set()
                return
            lower, upper = self.pending.pop()
            self.in_flight += 1
        future = self.session.execute_async(self.statement, (lower, upper))
        future.add_callbacks(self._on_page, self._on_error, callback_args=(future,))

    def _on_page(self, rows, future):
        n = len(rows)
        s = sum(r[0] for r in rows)
        with self.lock:
            self.rows += n
            self.key_sum += s
        if future.has_more_pages:
            future.start_fetching_next_page()
            return
        with self.lock:
            self.in_flight -= 1
        self._start_next()

    def _on_error(self, exc, future):
        with self.lock:
            self.error = exc
            self.in_flight -= 1
            if self.in_flight == 0:
                self.done.set()

    def wait(self):
        self.done.wait()
        if self.error is not None:
            raise self.error
        return (self.rows, self.key_sum)


class Stopwatch:
    """Wall-clock and CPU time (every thread of the process) since a phase
    started."""

    def __init__(self):
        self.wall = time.perf_counter()
        self.cpu = time.process_time()

    def finish(self, rows):
        seconds = time.perf_counter() - self.wall
        return {
            "rows": rows,
            "seconds": seconds,
            "rows_per_sec": rows / seconds,
            "client_cpu_seconds": time.process_time() - self.cpu,
        }


def main():
    args = parse_args()
    profile = ExecutionProfile(
        consistency_level=ConsistencyLevel.ONE,
        row_factory=tuple_factory,
        request_timeout=60,
    )
    cluster = Cluster(
        [args.host],
        port=args.port,
        protocol_version=3,
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
    )
    session = cluster.connect()
    ks, table = args.keyspace, args.table
    session.execute(
        f"CREATE KEYSPACE IF NOT EXISTS {ks} WITH replication = "
        "{'class': 'SimpleStrategy', 'replication_factor': 1}"
    )
    session.execute(f"DROP TABLE IF EXISTS {ks}.{table}")
    session.execute(
        f"CREATE TABLE {ks}.{table} (k int PRIMARY KEY, a text, b bigint, c double, d blob)"
    )
    insert = session.prepare(f"INSERT INTO {ks}.{table} (k, a, b, c, d) VALUES (?, ?, ?, ?, ?)")
    insert.is_idempotent = True
    results = {}

    log(f"writing {args.rows} rows, {args.concurrency} in flight")
    params = (row_values(k) for k in range(args.rows))
    clock = Stopwatch()
    for ok, result in execute_concurrent_with_args(
        session,
        insert,
        params,
        concurrency=args.concurrency,
        raise_on_first_error=True,
        results_generator=True,
    ):
        if not ok:
            raise result
    results["write"] = clock.finish(args.rows)

    want = expected(args.rows)

    log(f"scan single: SELECT * in pages of {args.page_size}")
    clock = Stopwatch()
    n = s = 0
    for row in session.execute(SimpleStatement(f"SELECT * FROM {ks}.{table}", fetch_size=args.page_size)):
        n += 1
        s += row[0]
    check("single", (n, s), want)
    results["single"] = clock.finish(n)

    ranges = split_ring(args.ranges)
    log(f"scan range: {len(ranges)} ranges, {args.range_parallelism} at a time")
    scan = session.prepare(f"SELECT * FROM {ks}.{table} WHERE token(k) > ? AND token(k) <= ?")
    scan.fetch_size = args.page_size
    clock = Stopwatch()
    got = RangeScan(session, scan, ranges, args.range_parallelism).wait()
    check("range", got, want)
    results["range"] = clock.finish(got[0])

    if args.drop_keyspace:
        session.execute(f"DROP KEYSPACE {ks}")
    cluster.shutdown()

    try:
        from cassandra import cython_deps

        cython = bool(cython_deps.HAVE_CYTHON)
    except ImportError:
        cython = False
    import cassandra

    print(
        json.dumps(
            {
                "client": "python cassandra-driver",
                "driver_version": cassandra.__version__,
                "python_version": sys.version.split()[0],
                "connection_class": cluster.connection_class.__name__,
                "cython": cython,
                "rows": args.rows,
                "concurrency": args.concurrency,
                "page_size": args.page_size,
                "ranges": args.ranges,
                "range_parallelism": args.range_parallelism,
                "protocol_version": 3,
                "results": results,
                # Linux reports ru_maxrss in KiB.
                "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            }
        )
    )


if __name__ == "__main__":
    main()
