#!/usr/bin/env python3
"""Helpers of scripts/bench-copy.sh (bulk copy benchmark): the Python
cassandra-driver concurrent copy (the "Python script" reference), row
counts and checksums to check every copy, and the Markdown report.

Subcommands (each prints one JSON object on stdout; progress on stderr):

- `pycopy`: copies --table from --source to --target the way a short
  Python migration script does it: one paged full-table SELECT (pages of
  --page-size rows) on the source, rows written to the target in chunks of
  --chunk rows with `execute_concurrent_with_args` (--concurrency requests
  in flight) through a prepared `INSERT ... USING TIMESTAMP ?` (every row
  at one backdated timestamp, like ferry-copy's default).
- `digest`: row count and an order-independent checksum of every row's
  cells (sum of CRC-32s of the concatenated values, mod 2^64), read with
  token-range scans; the benchmark compares source and target after each
  tool, so a tool that loses or mangles rows fails the run.
- `report`: turns the JSON results of a run into the Markdown section of
  docs/benchmarks.md (between the bench-copy markers).
"""

import argparse
import json
import os
import resource
import statistics
import sys
import time
import zlib

MIN_TOKEN = -(2**63)
MAX_TOKEN = 2**63 - 1


def log(message):
    print(f"[bench-copy] {message}", file=sys.stderr, flush=True)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="mode", required=True)
    c = sub.add_parser("pycopy", help="copy a table with the Python driver")
    c.add_argument("--source", required=True)
    c.add_argument("--target", required=True)
    c.add_argument("--port", type=int, default=9042)
    c.add_argument("--keyspace", required=True)
    c.add_argument("--table", required=True)
    c.add_argument("--concurrency", type=int, default=100)
    c.add_argument("--page-size", type=int, default=5000)
    c.add_argument("--chunk", type=int, default=10000)
    d = sub.add_parser("digest", help="row count and checksum of a table")
    d.add_argument("--host", required=True)
    d.add_argument("--port", type=int, default=9042)
    d.add_argument("--keyspace", required=True)
    d.add_argument("--table", required=True)
    d.add_argument("--ranges", type=int, default=32)
    r = sub.add_parser("report", help="Markdown section from the results of a run")
    r.add_argument("--results", required=True, help="the run's results.jsonl")
    r.add_argument("--doc", help="replace (or add) the section in this Markdown file")
    return p.parse_args()


def connect(host, port):
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import WhiteListRoundRobinPolicy
    from cassandra.query import tuple_factory

    profile = ExecutionProfile(
        row_factory=tuple_factory,
        request_timeout=60,
        load_balancing_policy=WhiteListRoundRobinPolicy([host]),
    )
    cluster = Cluster(
        [host],
        port=port,
        protocol_version=3,
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
    )
    return cluster, cluster.connect()


def quote(name):
    return '"' + name.replace('"', '""') + '"'


def table_columns(session, keyspace, table):
    """Partition key columns and all columns (key first), from the 2.1 schema tables."""
    rows = session.execute(
        "SELECT column_name, type, component_index FROM system.schema_columns "
        "WHERE keyspace_name = %s AND columnfamily_name = %s",
        (keyspace, table),
    )
    rows = list(rows)
    if not rows:
        sys.exit(f"table {keyspace}.{table} not found")
    key = sorted((r for r in rows if r[1] == "partition_key"), key=lambda r: r[2] or 0)
    rest = sorted(r[0] for r in rows if r[1] != "partition_key")
    return [r[0] for r in key], [r[0] for r in key] + rest


def cpu_seconds():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def pycopy(args):
    from cassandra.concurrent import execute_concurrent_with_args
    from cassandra.query import SimpleStatement

    src_cluster, src = connect(args.source, args.port)
    dst_cluster, dst = connect(args.target, args.port)
    _, columns = table_columns(src, args.keyspace, args.table)
    names = ", ".join(quote(c) for c in columns)
    qualified = f"{quote(args.keyspace)}.{quote(args.table)}"
    select = SimpleStatement(f"SELECT {names} FROM {qualified}", fetch_size=args.page_size)
    insert = dst.prepare(
        f"INSERT INTO {qualified} ({names}) VALUES ({', '.join('?' * len(columns))}) USING TIMESTAMP ?"
    )
    timestamp = int(time.time() * 1_000_000)
    started = time.monotonic()
    cpu_before = cpu_seconds()
    rows = 0
    value_bytes = 0
    chunk = []

    def flush():
        results = execute_concurrent_with_args(
            dst, insert, chunk, concurrency=args.concurrency, raise_on_first_error=True
        )
        for ok, result in results:
            if not ok:
                raise result

    for row in src.execute(select):
        chunk.append(row + (timestamp,))
        value_bytes += sum(len(v) for v in row if v is not None)
        if len(chunk) >= args.chunk:
            flush()
            rows += len(chunk)
            chunk = []
            if rows % 100_000 < args.chunk:
                log(f"python copy: {rows} rows")
    if chunk:
        flush()
        rows += len(chunk)
    elapsed = time.monotonic() - started
    out = {
        "rows": rows,
        "bytes": value_bytes,
        "seconds": elapsed,
        "cpu_seconds": cpu_seconds() - cpu_before,
        "max_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "concurrency": args.concurrency,
    }
    src_cluster.shutdown()
    dst_cluster.shutdown()
    print(json.dumps(out))


def digest(args):
    from cassandra.query import SimpleStatement

    cluster, session = connect(args.host, args.port)
    key, columns = table_columns(session, args.keyspace, args.table)
    names = ", ".join(quote(c) for c in columns)
    token = f"token({', '.join(quote(k) for k in key)})"
    qualified = f"{quote(args.keyspace)}.{quote(args.table)}"
    cql = f"SELECT {names} FROM {qualified} WHERE {token} > %s AND {token} <= %s"
    step = (MAX_TOKEN - MIN_TOKEN) // args.ranges
    bounds = [MIN_TOKEN + i * step for i in range(args.ranges)] + [MAX_TOKEN]
    rows = 0
    total = 0
    value_bytes = 0
    for lo, hi in zip(bounds, bounds[1:]):
        statement = SimpleStatement(cql, fetch_size=5000)
        for row in session.execute(statement, (lo, hi)):
            rows += 1
            # A 4-byte length before each value (-1 for null): cells that
            # move between columns change the sum.
            parts = []
            for v in row:
                if v is None:
                    parts.append(b"\xff\xff\xff\xff")
                else:
                    b = v if isinstance(v, (bytes, bytearray)) else str(v).encode()
                    value_bytes += len(b)
                    parts.append(len(b).to_bytes(4, "big") + b)
            total = (total + zlib.crc32(b"".join(parts))) % (2**64)
    cluster.shutdown()
    print(json.dumps({"rows": rows, "checksum": total, "bytes": value_bytes}))


# ---------------------------------------------------------------- report

BEGIN = "<!-- bench-copy: begin (written by scripts/bench-copy.sh; edits here are overwritten) -->"
END = "<!-- bench-copy: end -->"


def fmt_int(v):
    return f"{v:,.0f}"


def fmt_mb(v):
    return f"{v:.1f}"


def median(values):
    return statistics.median(values) if values else None


def report(args):
    meta = {}
    results = []
    with open(args.results) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            record = json.loads(line)
            if record.get("kind") == "meta":
                meta.update(record)
            else:
                results.append(record)

    def runs(tool, size="main"):
        return [r for r in results if r["tool"] == tool and r.get("size", "main") == size]

    def rates(tool, size="main"):
        # cassandra-stress: its own op rate (its JVM start and the pause it
        # takes after its schema step would otherwise dominate small runs).
        return [
            r.get("tool_rows_per_second") or r["rows"] / r["seconds"]
            for r in runs(tool, size)
            if r["seconds"] > 0
        ]

    rows = meta["rows"]
    tools = [
        ("ferry-copy", "ferry-copy source → target (read + write)", "`ferry-copy` (release build), " + meta.get("ferry_args", "")),
        ("copy_to", "`cqlsh COPY TO` (read, to a CSV file)", "cqlsh " + meta.get("cqlsh_version", "?") + ", `--protocol-version=3`, default COPY options"),
        ("copy_from", "`cqlsh COPY FROM` (write, from that CSV file)", "same"),
        ("copy_to_from", "`COPY TO` + `COPY FROM` (read + write, one after the other)", "sum of the two times"),
        ("python", "Python concurrent copy (read + write)", "`scripts/lib/bench_copy.py pycopy`: cassandra-driver " + meta.get("driver_version", "?") + ", `execute_concurrent_with_args`, concurrency 100"),
        ("stress", "cassandra-stress write (write only, raw reference)", "bundled cassandra-stress 2.1.0, " + meta.get("stress_args", "") + "; rows/s is its own reported op rate (wall clock: " + ", ".join(fmt_int(r["rows"] / r["seconds"]) for r in runs("stress")) + " rows/s, JVM start included)"),
    ]
    copy_to_from = []
    for a, b in zip(runs("copy_to"), runs("copy_from")):
        copy_to_from.append({"tool": "copy_to_from", "rows": a["rows"], "seconds": a["seconds"] + b["seconds"]})
    results.extend(copy_to_from)

    def med_rate(tool, size="main"):
        return median(rates(tool, size))

    ferry = med_rate("ferry-copy")
    lines = [BEGIN, "## ferry-copy vs cqlsh COPY, a Python copy and cassandra-stress (real nodes)", ""]
    lines += [
        f"Copies of one table of {fmt_int(rows)} rows from the `source` node (127.0.0.8) to the `target` node",
        "(127.0.0.9), both Cassandra 2.1.0 (protocol v3, one node each, 512 MB heap), each tool in",
        "turn on the same source rows, the target table truncated before each tool. The table is",
        "cassandra-stress's own shape, created by the script as a regular CQL table",
        "(`key blob PRIMARY KEY, \"C0\"..\"C4\" blob`, 10-byte keys, five 34-byte values: 180 bytes of",
        f"values per row), loaded with `cassandra-stress write n={rows}` on the source. After every",
        "copy the script counts the target's rows and checks a checksum of all their cells against",
        "the source's (a run with a wrong copy fails).",
        "",
        "- **rows/s**: rows over the wall-clock time of the tool's process (start to exit, connecting",
        "  included); the median over the rounds, and every round.",
        "- **MB/s**: value bytes (10^6) over the same time.",
        "- **peak RSS**: the process's maximum resident set (`/usr/bin/time -v`; for the Python copy,",
        "  `ru_maxrss`).",
        "",
        f"- Date: {meta.get('date', '?')}; ferry commit `{meta.get('commit', '?')}`; {meta.get('rustc', '?')}.",
        f"- Machine: {meta.get('machine', '?')}. **2 cores shared by both Cassandra nodes, the tool",
        "  being measured and other jobs** (the nodes also serve other tests of this repository);",
        f"  load average {meta.get('load_before', '?')} before, {meta.get('load_after', '?')} after. A copy on this",
        "  machine measures how little CPU a tool leaves unused as much as the tool itself.",
        f"- Command: `{meta.get('command', '?')}`: {meta.get('rounds', '?')} round(s) of ferry-copy and cqlsh COPY,",
        f"  {meta.get('slow_rounds', '?')} of the Python copy and cassandra-stress (they take minutes each).",
        "",
        "| tool | how | rows/s (median) | every round | MB/s | peak RSS |",
        "|---|---|---:|---|---:|---:|",
    ]
    for tool, label, how in tools:
        rs = rates(tool)
        if not rs:
            continue
        m = median(rs)
        mbs = median([x * r["bytes"] / r["rows"] / 1e6 for x, r in zip(rs, runs(tool)) if r.get("bytes")])
        rss = [r["max_rss_kib"] for r in runs(tool) if r.get("max_rss_kib")]
        lines.append(
            f"| {label} | {how} | **{fmt_int(m)}** | {', '.join(fmt_int(x) for x in rs)} | "
            f"{fmt_mb(mbs) if mbs else '–'} | {f'{max(rss) / 1024:.0f} MiB' if rss else '–'} |"
        )
    lines.append("")

    def ratio_line(label, other, goal):
        o = med_rate(other)
        if not ferry or not o:
            return
        r = ferry / o
        if goal is None:
            lines.append(f"| {label} | {r:.2f} | – | – |")
            return
        met = "yes" if r >= goal else "NO"
        # Rounds run both tools back to back: their ratios, round by round.
        pairs = [a / b for a, b in zip(rates("ferry-copy"), rates(other))]
        per_round = f" (rounds: {', '.join(f'{x:.2f}' for x in pairs)})" if len(pairs) > 1 else ""
        lines.append(f"| {label} | {r:.2f}{per_round} | ≥ {goal} | {met} |")

    lines += ["| goal | ratio (medians) | goal | met |", "|---|---:|---:|:---:|"]
    ratio_line("ferry-copy (read + write) vs `COPY FROM` alone (write only)", "copy_from", 1.5)
    ratio_line("ferry-copy vs `COPY TO` + `COPY FROM`", "copy_to_from", 1.0)
    ratio_line("ferry-copy vs the Python concurrent copy", "python", 5)
    ratio_line("ferry-copy vs cassandra-stress writes (for information)", "stress", None)
    mem = []
    for size in ("main", "small"):
        for r in runs("ferry-copy", size):
            mem.append((r["rows"], r["max_rss_kib"] / 1024))
    if mem:
        worst = max(m for _, m in mem)
        lines.append(
            f"| ferry-copy peak RSS, any table size | {worst:.0f} MiB | < 200 MiB | {'yes' if worst < 200 else 'NO'} |"
        )
    lines.append("")
    if mem:
        by_size = {}
        for n, m in mem:
            by_size.setdefault(n, []).append(m)
        sizes = ", ".join(
            f"{fmt_int(n)} rows: "
            + (f"{min(ms):.0f}" if f"{min(ms):.0f}" == f"{max(ms):.0f}" else f"{min(ms):.0f}–{max(ms):.0f}")
            + f" MiB ({len(ms)} run(s))"
            for n, ms in sorted(by_size.items())
        )
        lines += [
            f"ferry-copy's peak RSS by table size: {sizes}. It is bounded by the pages and writes in",
            "flight (`--concurrency`, `--page-size`, `--max-in-flight-writes`), not by the table.",
            "",
        ]
    cpu = [r for r in runs("ferry-copy") if r.get("cpu_seconds")]
    if cpu:
        per_row = median([r["cpu_seconds"] / r["rows"] * 1e6 for r in cpu])
        lines += [
            f"ferry-copy's own CPU time (user + system, all threads): **{per_row:.1f} µs per row** (median);",
            "the rest of the two cores goes to the two nodes.",
            "",
        ]
    if meta.get("notes"):
        lines += [meta["notes"], ""]
    lines.append(END)
    section = "\n".join(lines) + "\n"
    if args.doc:
        text = open(args.doc).read() if os.path.exists(args.doc) else "# Benchmarks\n"
        if BEGIN.split(" (")[0] in text and END in text:
            head = text[: text.index(BEGIN.split(" (")[0])]
            tail = text[text.index(END) + len(END) :].lstrip("\n")
            text = head + section + ("\n" + tail if tail else "")
        else:
            text = text.rstrip("\n") + "\n\n" + section
        with open(args.doc, "w") as f:
            f.write(text)
        log(f"wrote the bench-copy section of {args.doc}")
    else:
        sys.stdout.write(section)


def main():
    args = parse_args()
    {"pycopy": pycopy, "digest": digest, "report": report}[args.mode](args)


if __name__ == "__main__":
    main()
