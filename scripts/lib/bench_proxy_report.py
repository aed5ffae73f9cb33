#!/usr/bin/env python3
"""Turns the JSON lines of scripts/bench-proxy.sh and bench-proxy-cpu.sh
into the Markdown sections of docs/benchmarks.md.

    bench_proxy_report.py cpu  --results R.jsonl --command C --load-before L --commit X [--doc FILE]
    bench_proxy_report.py load --results R.jsonl --command C --load-before L --commit X [--doc FILE] ...

Without --doc the section is printed. With it, the text between the
section's begin/end markers is replaced (the markers are appended at the
end of the file the first time).
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time


def read_lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def machine():
    cpus = os.cpu_count()
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpus} CPUs ({model or 'unknown model'}), Linux {platform.release()}"


def rustc():
    try:
        return subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "rustc (unknown)"


def replace_section(doc, name, body, script=None):
    begin = f"<!-- {name}: begin (written by scripts/{script or name}.sh; edits here are overwritten) -->"
    end = f"<!-- {name}: end -->"
    with open(doc) as f:
        text = f.read()
    block = f"{begin}\n{body.rstrip()}\n{end}"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = head + block + tail
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    with open(doc, "w") as f:
        f.write(text)


def fmt_int(x):
    return f"{x:,.0f}"


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def span(values):
    values = [v for v in values if v is not None]
    if len(values) < 2:
        return ""
    return f" ({fmt_num(min(values))}–{fmt_num(max(values))})"


def fmt_num(x):
    if x is None:
        return "—"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def ms(us):
    return "—" if us is None else f"{us / 1000:.2f} ms"


MODE_NAMES = {
    "direct": "direct to the source",
    "haproxy": "haproxy (plain TCP forwarder)",
    "off": "ferry-proxy pass-through (`--write-mode off`)",
    "client-dual": "no proxy: the application writes both nodes itself",
    "async": "ferry-proxy dual write (`--write-mode async`)",
    "async-fake": "ferry-proxy dual write, fake target (answers at once)",
    "sync": "ferry-proxy dual write (`--write-mode sync`)",
}


def cpu_report(args):
    rows = read_lines(args.results)
    cpu = [r for r in rows if r.get("phase") == "cpu"]
    cg = [r for r in rows if r.get("phase") == "callgrind"]
    modes = []
    for r in cpu + cg:
        if r["mode"] not in modes:
            modes.append(r["mode"])
    direct_rate = med([r["ops_per_s"] for r in cpu if r["mode"] == "direct"])
    lines = []
    lines.append("## ferry-proxy CPU cost per request (fake backends)")
    lines.append("")
    lines.append(
        "The proxy's own cost, with a source and a target that answer at once "
        "(two in-process `ferry_testkit::fake_server`s), so Cassandra's latency "
        "does not hide it. Load: `cql_load` (crates/ferry-router/examples), "
        "prepared INSERTs of 3 columns plus 10% prepared point reads, "
        f"{cpu[0]['in_flight'] if cpu else '?'} requests in flight on one connection, protocol v3.")
    lines.append("")
    lines.append(
        "- **CPU µs/request**: ferry-proxy's user+system CPU time (`/proc/PID/stat`, all "
        "threads) over a counted run, until its target queue is empty, divided by the "
        "requests; median of the rounds (range). Includes the kernel's socket work.")
    lines.append(
        "- **instructions/request**: `valgrind --tool=callgrind` on ferry-proxy, counters "
        "zeroed after a warm-up and dumped after the counted run (user-space instructions "
        "only, no kernel); varies a little with how many frames each wakeup finds.")
    lines.append(
        "- **op/s**: the load generator's throughput through the proxy (direct to the fake "
        "source for the first row); the load generator, the fakes and the proxy share the "
        "machine's cores, so this is a rough figure.")
    lines.append("")
    lines.append(f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; ferry commit `{args.commit}`; {rustc()}")
    lines.append(f"- Machine: {machine()}; shared with other jobs (load average {args.load_before} before).")
    lines.append(f"- Command: `{args.command}`")
    lines.append("")
    lines.append("| mode | CPU µs/request | instructions/request | op/s (vs direct) | p50 | p99 | rounds |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|")
    for mode in modes:
        runs = [r for r in cpu if r["mode"] == mode]
        per_req = [
            (r["proxy_cpu_after_s"] - r["proxy_cpu_before_s"]) * 1e6 / r["requests"]
            for r in runs if "proxy_cpu_after_s" in r and r["requests"]
        ]
        ir = [r["instructions"] / r["requests"] for r in cg if r["mode"] == mode and r["requests"]]
        rate = med([r["ops_per_s"] for r in runs])
        ratio = f" ({rate / direct_rate:.2f})" if rate and direct_rate and mode != "direct" else ""
        lines.append(
            f"| {MODE_NAMES.get(mode, mode)} | {fmt_num(med(per_req)) + span(per_req) if per_req else '—'} "
            f"| {fmt_int(med(ir)) if ir else '—'} | {fmt_int(rate) if rate else '—'}{ratio} "
            f"| {ms(med([r['p50_us'] for r in runs]))} | {ms(med([r['p99_us'] for r in runs]))} | {len(runs)} |")
    errors = sum(r.get("errors", 0) for r in rows)
    lines.append("")
    lines.append(f"Load generator errors over all runs: {errors}.")
    body = "\n".join(lines) + "\n"
    if args.doc:
        replace_section(args.doc, "bench-proxy-cpu", body)
    else:
        sys.stdout.write(body)


def ratio(a, b):
    return f"{a / b:.2f}" if a is not None and b else "—"


def load_report(args):
    rows = read_lines(args.results)
    lines = []
    if args.pinned:
        lines.append("## ferry-proxy vs direct vs haproxy (real nodes, the source node on a CPU of its own)")
        lines.append("")
        lines.append(
            "As below, but modelling a source cluster on machines of its own "
            "(`--pin`): the source node's JVM ran on CPU 0 only, and everything else (the "
            "target node, the load generator, haproxy, the proxies, the fake target, "
            "cassandra-stress) on CPU 1. What the proxy and the target node spend then no "
            "longer comes out of the source node's CPU, as on separate machines; but the "
            "source node has one core instead of two, and the target node, the proxy and the "
            "load generator share the other one.")
    else:
        lines.append("## ferry-proxy vs direct vs haproxy (real nodes)")
    lines.append("")
    lines.append(
        "The same client load, in one run, directly to the `source` node, through "
        "haproxy (Debian's, `mode tcp`, its default threads), through ferry-proxy in pass-through "
        "(`--write-mode off`), through ferry-proxy in dual write (`--write-mode async "
        "--full-queue backpressure`, writes mirrored to the `target` node), and in dual write "
        "to a fake target that answers at once (the proxy's own dual-write cost without the "
        "second node's). Each configuration runs once per round, in rotating order; the "
        "figures are medians over the rounds. *added p99* is a path's p99 minus the direct "
        "p99 of the same load, next to haproxy's.")
    lines.append("")
    lines.append(
        "*client dual write* is the same load with no proxy, the application writing both "
        "nodes itself (`cql_load --also-write`: every INSERT to both, one client timestamp, "
        "answered when both have answered). Both nodes share this machine's cores, so a "
        "write mirrored to the target costs the source node CPU: that row is the ceiling of "
        "any dual write here, and *vs client dual write* is how close a path comes to it. "
        "On separate machines the target's work would not slow the source down.")
    lines.append("")
    lines.append(f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; ferry commit `{args.commit}`; {rustc()}")
    lines.append(
        f"- Machine: {machine()}. **Shared and noisy**: both Cassandra nodes, the load "
        f"generator, the forwarder or proxy and other jobs run on the same cores "
        f"(load average {args.load_before} before, {args.load_after} after).")
    lines.append(f"- Nodes: {args.nodes}")
    lines.append(f"- Command: `{args.command}`")
    lines.append("")
    groups = []
    for r in rows:
        key = (r["tool"], r["workload"])
        if key not in groups:
            groups.append(key)
    for tool, workload in groups:
        sel = [r for r in rows if r["tool"] == tool and r["workload"] == workload]
        lines.append(f"### {workload}")
        lines.append("")
        modes = []
        for r in sel:
            if r["mode"] not in modes:
                modes.append(r["mode"])

        def stat(mode, field):
            return med([r[field] for r in sel if r["mode"] == mode and r.get(field) is not None])

        d_rate, d50, d99 = stat("direct", "ops_per_s"), stat("direct", "p50_us"), stat("direct", "p99_us")
        h99 = stat("haproxy", "p99_us")
        h_rate = stat("haproxy", "ops_per_s")
        c_rate = stat("client-dual", "ops_per_s")
        dual_col = c_rate is not None
        def same_round(mode, base):
            # The nodes slow down as the run adds data to them, so a ratio
            # taken within one round (a minute or two apart) is steadier
            # than a ratio of medians taken over the whole run.
            ratios = []
            for rd in sorted({r["round"] for r in sel}):
                a = [r["ops_per_s"] for r in sel if r["round"] == rd and r["mode"] == mode]
                b = [r["ops_per_s"] for r in sel if r["round"] == rd and r["mode"] == base]
                if a and b and b[0]:
                    ratios.append(a[0] / b[0])
            return f"{med(ratios):.2f}" if ratios else "—"

        lines.append("| path | op/s | vs direct | vs direct, same round |"
                     + (" vs client dual write, same round |" if dual_col else "") + " vs haproxy |"
                     + " p50 | p99 | p50 vs direct | p99 vs direct | added p99 vs haproxy's | errors | rounds |")
        lines.append("|---|---:|---:|---:|" + ("---:|" if dual_col else "") + "---:|---:|---:|---:|---:|---:|---:|---:|")
        for mode in modes:
            rate, p50, p99 = stat(mode, "ops_per_s"), stat(mode, "p50_us"), stat(mode, "p99_us")
            added = "—"
            if mode not in ("direct", "haproxy", "client-dual") and p99 is not None and h99 is not None and d99 is not None:
                ha = h99 - d99
                fa = p99 - d99
                added = f"{fa / 1000:+.2f} ms vs {ha / 1000:+.2f} ms"
            errs = sum(r.get("errors", 0) for r in sel if r["mode"] == mode)
            n = len([r for r in sel if r["mode"] == mode])
            lines.append(
                f"| {MODE_NAMES.get(mode, mode)} | {fmt_int(rate) if rate else '—'} | {ratio(rate, d_rate)} | {same_round(mode, 'direct')} |"
                + (f" {same_round(mode, 'client-dual') if mode.startswith(('async', 'sync', 'client')) else '—'} |" if dual_col else "")
                + f" {ratio(rate, h_rate)} |"
                + f" {ms(p50)} | {ms(p99)} | {ratio(p50, d50)} | {ratio(p99, d99)} "
                f"| {added} | {errs} | {n} |")
        lines.append("")
        lines.append("Every round (op/s, p99):")
        lines.append("")
        rounds = sorted({r["round"] for r in sel})
        lines.append("| round | " + " | ".join(modes) + " |")
        lines.append("|---:|" + "---:|" * len(modes))
        for rd in rounds:
            cells = []
            for mode in modes:
                rr = [r for r in sel if r["round"] == rd and r["mode"] == mode]
                cells.append(f"{fmt_int(rr[0]['ops_per_s'])}, {ms(rr[0]['p99_us'])}" if rr else "—")
            lines.append(f"| {rd} | " + " | ".join(cells) + " |")
        lines.append("")
    body = "\n".join(lines) + "\n"
    if args.doc:
        replace_section(args.doc, "bench-proxy-pinned" if args.pinned else "bench-proxy", body, script="bench-proxy")
    else:
        sys.stdout.write(body)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("what", choices=["cpu", "load"])
    p.add_argument("--results", required=True)
    p.add_argument("--command", required=True)
    p.add_argument("--load-before", default="?")
    p.add_argument("--load-after", default="?")
    p.add_argument("--commit", default="?")
    p.add_argument("--nodes", default="")
    p.add_argument("--doc")
    p.add_argument("--pinned", action="store_true",
                   help="the run pinned the source JVM to its own CPU (bench-proxy.sh --pin)")
    args = p.parse_args()
    if args.what == "cpu":
        cpu_report(args)
    else:
        load_report(args)


if __name__ == "__main__":
    main()
