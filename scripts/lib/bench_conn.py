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

`run` prints one JSON object on stdout (progress goes to stderr);
`report` turns the JSON of both clients into the Markdown section of
docs/benchmarks.md.
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
    sub = p.add_subparsers(dest="mode", required=True)
    r = sub.add_parser("run", help="run the workload, print one JSON object")
    r.add_argument("--host", required=True)
    r.add_argument("--port", type=int, default=9042)
    r.add_argument("--keyspace", required=True)
    r.add_argument("--table", default="python_rows")
    r.add_argument("--rows", type=int, default=200_000)
    r.add_argument("--concurrency", type=int, default=256)
    r.add_argument("--page-size", type=int, default=5000)
    r.add_argument("--ranges", type=int, default=64)
    r.add_argument("--range-parallelism", type=int, default=8)
    r.add_argument("--drop-keyspace", action="store_true")
    r.add_argument("--write-only", action="store_true", help="stop after the writes")
    r.add_argument(
        "--scan-only",
        action="store_true",
        help="skip creating and writing the table: scan one an earlier run wrote (same --rows)",
    )
    st = sub.add_parser(
        "settle", help="wait until the node runs no compaction, then pause (between writes and scans)"
    )
    st.add_argument("--host", required=True)
    st.add_argument("--port", type=int, default=9042)
    st.add_argument("--pause", type=float, default=10.0, help="seconds to wait once no compaction runs")
    st.add_argument("--max-wait", type=float, default=300.0)
    rep = sub.add_parser("report", help="summarize the JSON of both clients as Markdown")
    rep.add_argument("--results", required=True, help="directory of roundN-{rust,python}.json")
    rep.add_argument("--command", required=True, help="the command that produced them")
    rep.add_argument("--load-before", default="?")
    rep.add_argument("--rustc", default="?")
    rep.add_argument("--commit", default="?")
    rep.add_argument("--node", default="?")
    rep.add_argument("--settle", default="?", help="how the node was let settle, for the text")
    rep.add_argument("--doc", help="replace (or add) the section in this Markdown file")
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


def run(args):
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
    results = {}
    if not args.scan_only:
        session.execute(f"DROP TABLE IF EXISTS {ks}.{table}")
        session.execute(
            f"CREATE TABLE {ks}.{table} (k int PRIMARY KEY, a text, b bigint, c double, d blob)"
        )
        insert = session.prepare(f"INSERT INTO {ks}.{table} (k, a, b, c, d) VALUES (?, ?, ?, ?, ?)")
        insert.is_idempotent = True

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

    if not args.write_only:
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


# ---------------------------------------------------------------- report

SECTION_BEGIN = (
    "<!-- ferry-conn: begin (written by scripts/bench-conn.sh; edits here are overwritten) -->"
)
SECTION_END = "<!-- ferry-conn: end -->"

# (phase key in ferry-conn's JSON, phase key in Python's, label)
PHASES = [
    ("write", "write", "write: prepared INSERTs"),
    ("single", "single", "scan: one paged `SELECT *`"),
    ("range", "range", "scan: token ranges in parallel"),
    ("range_raw", "range", "scan: token ranges, cells read in place (Python: its range scan)"),
]


# Written by hand from a profile; the script does not re-measure it.
PROFILE_NOTES = """Where ferry-conn's client time goes (`perf record` of the bench, 100,000
writes, at commit `8086eba`, 2026-11-21; not re-measured by this script):

- Drive request loops from a spawned task. Run on the main thread of
  `#[tokio::main]` (`block_on`), the same 100,000 writes cost 1.6-1.8 s of
  CPU instead of 0.7-0.8 s: every response wakes the main thread through a
  futex, where a worker wakes a task on its own queue. The bench spawns.
- The future of `Session::execute` is 3,552 bytes (that of
  `Connection::send_raw_with_flags`, 528): `buffer_unordered` boxes and
  moves one per request, a large malloc and a 3.5 KB copy each. With
  `encode_for_prepared` (`session/values.rs`) serializing each bound value
  into a fresh buffer (two allocations per value), the allocator's
  functions take about 28% of the samples of such a run (mostly writes). Boxing the
  large inner futures of `Session::run` and reserving one buffer for all
  of a request's values are the next steps.
- `read_frame` (`connection/framing.rs`) reserved 64 KiB before every
  read; while earlier frames still share the buffer that allocates a new
  64 KiB buffer per read. It now grows the buffer only when under 8 KiB of
  room is left (no change measurable through this machine's noise)."""


def median(values):
    v = sorted(values)
    n = len(v)
    if n == 0:
        return float("nan")
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def load_rounds(directory):
    """[(round, first client, rust JSON, python JSON)] in round order; a
    client's phases may come from several runs (roundN-CLIENT-PART.json:
    the writes, then the scans), merged."""
    import os
    import re

    found = {}
    for name in sorted(os.listdir(directory)):
        m = re.fullmatch(r"round(\d+)-(rust|python)(?:-\w+)?\.json", name)
        if not m:
            continue
        path = os.path.join(directory, name)
        with open(path) as f:
            data = json.load(f)
        mtime = os.path.getmtime(path)
        slot = found.setdefault(int(m.group(1)), {})
        if m.group(2) in slot:
            merged, first_mtime = slot[m.group(2)]
            merged["results"].update(data["results"])
            merged["peak_rss_kib"] = max(merged["peak_rss_kib"] or 0, data["peak_rss_kib"] or 0)
            slot[m.group(2)] = (merged, min(first_mtime, mtime))
        else:
            slot[m.group(2)] = (data, mtime)
    rounds = []
    for n in sorted(found):
        both = found[n]
        if set(both) != {"rust", "python"}:
            raise SystemExit(f"round {n} lacks a client's results in {directory}")
        first = "ferry-conn" if both["rust"][1] < both["python"][1] else "Python"
        rounds.append((n, first, both["rust"][0], both["python"][0]))
    if not rounds:
        raise SystemExit(f"no results in {directory}")
    return rounds


def fmt_rate(x):
    return f"{x:,.0f}"


def fmt_ratio(values):
    m = median(values)
    if len(values) == 1:
        return f"**{m:.2f}**"
    return f"**{m:.2f}** ({min(values):.2f}–{max(values):.2f})"


def machine():
    import os
    import platform

    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({model}), Linux {platform.release()}"


def render(args, rounds):
    import datetime

    rust0, py0 = rounds[0][2], rounds[0][3]
    n_rounds = len(rounds)
    with open("/proc/loadavg") as f:
        load_after = " ".join(f.read().split()[:3])
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        SECTION_BEGIN,
        "## ferry-conn vs the Python driver (real node)",
        "",
        "Write and full-table scan throughput of a ferry-conn `Session` and of the",
        "DataStax Python driver (the raw capacity reference), doing the same work",
        f"against the same node in the same run: {n_rounds} round(s). A round runs both",
        "clients' writes, lets the node settle (" + args.settle + "), then both clients'",
        "scans, the same client first each time (alternating between rounds). Each",
        "client works on its own fresh table:",
        "",
        f"- **write** {rust0['rows']:,} rows `(k int PRIMARY KEY, a text, b bigint, c double,",
        f"  d blob)` (72 bytes of values per row) with a prepared INSERT,",
        f"  {rust0['concurrency']} requests in flight. ferry-conn: `Session::execute` futures in",
        f"  `buffer_unordered({rust0['concurrency']})`, driven by one task on a worker thread, over",
        f"  {rust0['connections_per_node']} connections; Python: `execute_concurrent_with_args(concurrency="
        f"{py0['concurrency']})`",
        f"  over its one connection ({py0['connection_class']}, Cython: {py0['cython']}).",
        "- **scan** the whole table, counting the rows and summing the keys (both must",
        "  equal what was written, or the run fails): one paged `SELECT *`, then the",
        f"  token ring in {rust0['ranges']} ranges read {rust0['range_parallelism']} at a time "
        "(ferry-conn: `Session::scan_range`,",
        "  one spawned task per range; Python: `execute_async` with page callbacks),",
        f"  pages of {rust0['page_size']} rows. Rows are decoded (ferry-conn: `Row`s of `CqlValue`s;",
        "  Python: tuples), except in ferry-conn's *cells read in place* scan",
        "  (`Session::scan_range_pages`, the key cell read from the page bytes).",
        "",
        "**rows/s** is wall-clock throughput, the median over the rounds; **ratio** is",
        "ferry-conn / Python rows/s, the median of the per-round ratios (range in",
        "brackets). **CPU µs/row** is the client process's own user + system CPU time",
        "(every thread) per row, and **busy** that CPU time over the phase's wall time",
        "(100% = one core).",
        "",
        f"- Date: {date}; ferry commit `{args.commit}`; {args.rustc}; Python {py0['python_version']},",
        f"  cassandra-driver {py0['driver_version']}.",
        f"- Machine: {machine()}. **Shared and noisy**: other jobs run",
        f"  on the same cores (load average {args.load_before} before, {load_after} after),",
        "  and so does the node, so wall-clock figures move by 20% or more between",
        "  runs; CPU per row is the steadier measure of each client's own cost.",
        f"- Node: {args.node}, on the same machine.",
        f"- Command: `{args.command}` (builds `cargo build --release -p ferry-conn --example",
        "  bench_conn`, runs it and `scripts/lib/bench_conn.py run` with the same settings).",
        "",
        "| phase | ferry-conn rows/s | Python rows/s | ratio ferry/Python | ferry-conn CPU µs/row (busy) | Python CPU µs/row (busy) |",
        "|---|---:|---:|---:|---:|---:|",
    ]

    def cpu(phase):
        c = phase.get("client_cpu_seconds")
        return None if c is None else (c * 1e6 / phase["rows"], c / phase["seconds"])

    def fmt_cpu(values):
        values = [v for v in values if v is not None]
        if not values:
            return "?"
        return f"{median([v[0] for v in values]):.1f} ({median([v[1] for v in values]):.0%})"

    for rk, pk, label in PHASES:
        rr = [r[2]["results"][rk] for r in rounds]
        pr = [r[3]["results"][pk] for r in rounds]
        ratios = [a["rows_per_sec"] / b["rows_per_sec"] for a, b in zip(rr, pr)]
        lines.append(
            f"| {label} | {fmt_rate(median([a['rows_per_sec'] for a in rr]))} "
            f"| {fmt_rate(median([b['rows_per_sec'] for b in pr]))} | {fmt_ratio(ratios)} "
            f"| {fmt_cpu([cpu(a) for a in rr])} | {fmt_cpu([cpu(b) for b in pr])} |"
        )
    rss_rust = max(r[2]["peak_rss_kib"] or 0 for r in rounds)
    rss_py = max(r[3]["peak_rss_kib"] or 0 for r in rounds)
    lines += [
        "",
        f"Peak RSS: ferry-conn **{rss_rust / 1024:.1f} MiB** (`VmHWM` of the whole bench process, "
        f"the largest of its write and scan runs); Python {rss_py / 1024:.1f} MiB (`ru_maxrss`).",
        "",
        "Every round (rows/s, ferry-conn / Python):",
        "",
        "| round | first | write | scan `SELECT *` | scan ranges | scan ranges, cells in place |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for n, first, rust, py in rounds:
        cells = [
            f"{fmt_rate(rust['results'][rk]['rows_per_sec'])} / "
            f"{fmt_rate(py['results'][pk]['rows_per_sec'])}"
            for rk, pk, _ in PHASES
        ]
        cells[-1] = fmt_rate(rust["results"]["range_raw"]["rows_per_sec"])
        lines.append(f"| {n} | {first} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "How to read it: the node shares the machine's cores with both clients, so",
        "once a client is cheap enough, its rows/s is the node's capacity on what",
        "is left of the machine, not the client's. A client whose *busy* figure",
        "nears 100% is limited by itself (the Python driver does its work under",
        "one interpreter lock); ferry-conn's CPU per row says how much of the",
        "machine it leaves to the node.",
        "",
        PROFILE_NOTES,
        SECTION_END,
    ]
    return "\n".join(lines) + "\n"


def replace_section(path, section):
    """Puts `section` in place of the old one in `path`, or appends it;
    creates the file if needed. Leaves every other section alone."""
    import os

    text = ""
    if os.path.exists(path):
        with open(path) as f:
            text = f.read()
    begin = text.find(SECTION_BEGIN.split(" (")[0])
    end = text.find(SECTION_END)
    if begin >= 0 and end > begin:
        rest = text[end + len(SECTION_END) :].lstrip("\n")
        text = text[:begin] + section + ("\n" + rest if rest else "")
    elif text:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        text = "# Benchmarks\n\nHow fast Ferry's pieces are, measured how, on what.\n\n" + section
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def report(args):
    rounds = load_rounds(args.results)
    section = render(args, rounds)
    print(section)
    if args.doc:
        replace_section(args.doc, section)
        log(f"wrote the ferry-conn section of {args.doc}")


def settle(args):
    """Waits until system.compactions_in_progress has stayed empty for 3 s
    (flushes of the written memtables start compactions), then `--pause`
    seconds more, so a client's scans do not pay for the previous writes."""
    cluster = Cluster([args.host], port=args.port, protocol_version=3)
    session = cluster.connect()
    start = time.monotonic()
    quiet_since = None
    while time.monotonic() - start < args.max_wait:
        running = list(session.execute("SELECT id FROM system.compactions_in_progress"))
        now = time.monotonic()
        if running:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = now
        elif now - quiet_since >= 3:
            break
        time.sleep(0.5)
    else:
        log(f"compactions still running after {args.max_wait:.0f} s; going on")
    cluster.shutdown()
    time.sleep(args.pause)
    log(f"node settled in {time.monotonic() - start:.1f} s")


def main():
    args = parse_args()
    if args.mode == "run":
        run(args)
    elif args.mode == "settle":
        settle(args)
    else:
        report(args)


if __name__ == "__main__":
    main()
