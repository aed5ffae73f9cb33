#!/usr/bin/env python3
"""The report of scripts/demo.sh: gathers what the run left in .demo/ into
.demo/report.json, prints a short summary, and with --check exits 1 unless
the migration is proven: zero differences, every acknowledged write on the
target, failed writes logged during the outage and every one replayed.

Inputs (all written by scripts/demo.sh in --dir):
  phases.tsv          phase, start, end (epoch seconds)
  lag.tsv             time, oldest pending target write (s), queue depth,
                      failed-write log records, target writes ok
                      (ferry-proxy's /metrics, sampled every 0.5 s)
  metrics.final       the proxy's last /metrics before it stopped
  copy.json           ferry-copy --summary-json
  validate.json       ferry-validate --report-json
  workload.json       the application's own counts (demo_app.py run)
  check-target.json, check-source.json   demo_app.py check
  cutover, cutover-done   the cutover decision time and its delay
"""
import argparse
import json
import os
import re
import sys


def load_json(path, default=None):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def read_phases(path):
    phases = []
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 3:
                name, t0, t1 = parts[0], float(parts[1]), float(parts[2])
                phases.append({"phase": name, "start": t0, "end": t1, "seconds": round(t1 - t0, 2)})
    return phases


def read_samples(path):
    out = []
    try:
        with open(path) as f:
            for line in f:
                p = line.rstrip("\n").split("\t")
                try:
                    out.append({"t": float(p[0]), "lag": float(p[1] or 0), "depth": float(p[2] or 0),
                                "logged": float(p[3] or 0), "ok": float(p[4] or 0)})
                except (ValueError, IndexError):
                    continue
    except OSError:
        pass
    return out


def read_metrics(path):
    """Prometheus text -> {name{labels}: value}."""
    out = {}
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("#") or not line.strip():
                    continue
                name, _, value = line.rpartition(" ")
                try:
                    out[name] = float(value)
                except ValueError:
                    pass
    except OSError:
        pass
    return out


def parse_replay(line):
    # "CLUSTER N record(s): A applied (X not idempotent), S skipped, F failed"
    cluster, _, rest = line.partition(" ")
    m = re.match(r"(\d+) record\(s\): (\d+) applied \((\d+) not idempotent\), (\d+) skipped, (\d+) failed", rest)
    if not m:
        return {"onto": cluster, "raw": rest}
    n, a, x, s, f = map(int, m.groups())
    return {"onto": cluster, "records": n, "applied": a, "not_idempotent": x, "skipped": s, "failed": f}


def replayed_writes(replays):
    """Distinct writes applied by the replays: each run applies its whole
    log again, so per log the largest run counts."""
    best = {}
    for r in replays:
        best[r["onto"]] = max(best.get(r["onto"], 0), r.get("applied", 0))
    return sum(best.values())


def lag_stats(samples, t0=None, t1=None):
    sel = [s for s in samples if (t0 is None or s["t"] >= t0) and (t1 is None or s["t"] <= t1)]
    if not sel:
        return {"samples": 0}
    lags = sorted(s["lag"] for s in sel)
    depths = [s["depth"] for s in sel]
    return {
        "samples": len(sel),
        "max_seconds": round(lags[-1], 3),
        "p50_seconds": round(lags[len(lags) // 2], 3),
        "p95_seconds": round(lags[min(len(lags) - 1, int(len(lags) * 0.95))], 3),
        "max_queue_depth": int(max(depths)),
        "mean_queue_depth": round(sum(depths) / len(depths), 1),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--validate-exit", type=int, required=True)
    ap.add_argument("--cutover", default="skipped")
    ap.add_argument("--outage-secs", type=float, default=0)
    ap.add_argument("--profile", default="release")
    ap.add_argument("--users", type=int, default=0)
    ap.add_argument("--orders", type=int, default=0)
    ap.add_argument("--replay", action="append", default=[])
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    d = a.dir

    phases = read_phases(os.path.join(d, "phases.tsv"))
    ph = {p["phase"]: p for p in phases}
    samples = read_samples(os.path.join(d, "lag.tsv"))
    metrics = read_metrics(os.path.join(d, "metrics.final"))
    copy = load_json(os.path.join(d, "copy.json"), {})
    validate = load_json(os.path.join(d, "validate.json"), {})
    workload = load_json(os.path.join(d, "workload.json"), {})
    check_t = load_json(os.path.join(d, "check-target.json"), {})
    check_s = load_json(os.path.join(d, "check-source.json"), {})
    replays = [parse_replay(r) for r in a.replay]

    def m(name):
        return int(metrics.get(name, 0))

    source_writes = sum(v for k, v in metrics.items()
                        if k.startswith("ferry_proxy_requests_total{") and 'cluster="source"' in k
                        and ('kind="write"' in k or 'kind="batch"' in k))
    # Lag while the target was up (workload running, outside the outage and
    # the replay), and during the outage (writes pile up, then are logged).
    wl_start = ph.get("workload", {}).get("start")
    outage = ph.get("outage", {})
    normal = [s for s in samples if wl_start and s["t"] >= wl_start
              and not (outage and outage["start"] <= s["t"] <= ph.get("replay", outage)["end"])]
    logged = m("ferry_proxy_failed_write_log_records_total")
    replayed_applied = replayed_writes(replays)
    replay_failed = sum(r.get("failed", 0) for r in replays)
    # Recovery point during the outage: writes missing on the target from
    # the moment it stopped until the replay had applied them.
    outage_rpo = None
    if outage and "replay" in ph and logged:
        outage_rpo = round(ph["replay"]["end"] - outage["start"], 1)

    vt = validate.get("totals", {}) if isinstance(validate, dict) else {}
    differences = None
    if vt:
        differences = sum(int(vt.get(k, 0)) for k in
                          ("missing_on_target", "extra_on_target", "differing", "static_differing"))
    switches = workload.get("switches") or []
    for sw in switches:
        sw["role"] = {1: "cutover", 2: "rollback drill", 3: "final cutover"}.get(sw.get("seq"), "switch")
        # The proxy's own answer to the POST (switch_seconds: until the old
        # connections were closed).
        sw["proxy_answer"] = load_json(os.path.join(d, "switch-%s.response" % sw.get("seq")))

    report = {
        "profile": a.profile,
        "volumes": {"initial_users": a.users, "initial_orders": a.orders},
        "phases": [{k: p[k] for k in ("phase", "seconds")} for p in phases],
        "total_seconds": round(phases[-1]["end"] - phases[0]["start"], 1) if phases else None,
        "copy": {k: copy.get(k) for k in ("status", "rows", "writes", "retries", "elapsed_seconds",
                                          "rows_per_second", "ranges_total", "ranges_done")},
        "workload": {
            "writes_acknowledged": workload.get("writes_acked"),
            "reads": workload.get("reads"),
            "reads_not_matching_acknowledged_writes": workload.get("reads_mismatched"),
            "retried_requests": workload.get("retries"),
            "errors_seen": workload.get("errors"),
            "unfinished": workload.get("unfinished"),
            "by_operation": workload.get("by_op"),
            "protocol_version": workload.get("protocol_version"),
        },
        "proxy": {
            "writes_sent_to_source": int(source_writes),
            "writes_dual_written": m("ferry_proxy_target_writes_ok_total"),
            "target_retries": m("ferry_proxy_target_retries_total"),
            "target_failures": m("ferry_proxy_target_failures_total"),
            "queue_spills": m("ferry_proxy_queue_spills_total"),
            "failed_writes_logged": logged,
            "client_connections_total": m("ferry_proxy_client_connections_total"),
        },
        "lag": {
            "while_target_up": lag_stats(normal),
            "during_outage_and_replay": lag_stats(samples, outage.get("start"), ph.get("replay", {}).get("end")),
            "outage_recovery_point_seconds": outage_rpo,
            "note": "lag = ferry_proxy_target_oldest_pending_seconds, the age of the oldest write "
                    "the target has not applied yet, sampled every 0.5 s; writes moved to the "
                    "failed-write log during the outage are missing on the target until replayed "
                    "(outage_recovery_point_seconds: from the outage to the end of the replay)",
        },
        "outage": {"target_stopped_seconds": a.outage_secs,
                   "seconds_until_target_back": outage.get("seconds"),
                   "catch_up_seconds": ph.get("catch-up", {}).get("seconds")},
        "replay": {"runs": replays, "applied": replayed_applied, "failed": replay_failed},
        "cutover": {
            "status": a.cutover,
            "seconds": switches[0]["seconds"] if switches else None,
            "rollback_seconds": switches[1]["seconds"] if len(switches) > 1 else None,
            "switches": [{k: sw.get(k) for k in ("seq", "role", "cluster", "seconds", "first_op", "proxy_answer")}
                         for sw in switches],
            "note": "from the decision (just before POST /primary) to the first write "
                    "acknowledged on a connection opened after it (new connections use the new "
                    "primary)",
        },
        "validation": {"exit_code": a.validate_exit, "status": validate.get("status"),
                       "differences": differences, "totals": vt},
        "acknowledged_writes": {
            "recorded": check_t.get("acked_writes"),
            "keys_checked": check_t.get("keys_checked"),
            "target": {k: check_t.get(k) for k in ("rows_found", "expected_rows", "missing", "differing", "extra")},
            "source": {k: check_s.get(k) for k in ("rows_found", "expected_rows", "missing", "differing", "extra")},
            "examples": (check_t.get("examples") or [])[:3],
        },
    }

    # The verdict --check asserts.
    failures = []
    if a.validate_exit != 0 or differences != 0:
        failures.append("ferry-validate: exit %s, %s difference(s)" % (a.validate_exit, differences))
    for side, c in (("target", check_t), ("source", check_s)):
        bad = [k for k in ("missing", "differing", "extra") if c.get(k) != 0]
        if bad:
            failures.append("acknowledged writes on the %s: %s" % (
                side, ", ".join("%s %s" % (k, c.get(k)) for k in ("missing", "differing", "extra"))))
    if not check_t.get("acked_writes"):
        failures.append("the workload recorded no acknowledged write")
    if workload.get("unfinished"):
        failures.append("%s workload operation(s) never acknowledged" % workload.get("unfinished"))
    if workload.get("reads_mismatched"):
        failures.append("%s read(s) through the proxy did not return the last acknowledged write"
                        % workload.get("reads_mismatched"))
    if copy.get("status") != "complete" or not copy.get("rows"):
        failures.append("ferry-copy: status %s, %s rows" % (copy.get("status"), copy.get("rows")))
    if a.outage_secs > 0 and logged == 0:
        failures.append("the target was stopped but no write was logged for replay")
    if replay_failed or replayed_applied < logged:
        failures.append("replay: %d of %d logged write(s) applied, %d failed"
                        % (replayed_applied, logged, replay_failed))
    if a.cutover == "incomplete" or any(sw.get("seconds") is None for sw in switches):
        failures.append("cutover: a primary switch saw no acknowledged write on a new connection within 30 s")
    report["verdict"] = {"passed": not failures, "failures": failures}

    with open(os.path.join(d, "report.json"), "w") as f:
        json.dump(report, f, indent=2)
    print_summary(report)
    if a.check and failures:
        print("\nCHECK FAILED:\n  " + "\n  ".join(failures), file=sys.stderr)
        sys.exit(1)


def print_summary(r):
    w, p, lag, cut, ack = r["workload"], r["proxy"], r["lag"], r["cutover"], r["acknowledged_writes"]
    up = lag["while_target_up"]
    print("\n\033[1m== Report (also .demo/report.json)\033[0m")
    print("  rows copied (historical)        %s in %ss (%s)" % (
        r["copy"]["rows"], r["copy"]["elapsed_seconds"] and round(r["copy"]["elapsed_seconds"], 1),
        r["copy"]["status"]))
    print("  application writes acknowledged %s (reads %s, retried requests %s)" % (
        w["writes_acknowledged"], w["reads"], w["retried_requests"]))
    print("  writes dual-written             %s applied on the target by the proxy (%s to the source)" % (
        p["writes_dual_written"], p["writes_sent_to_source"]))
    if up.get("samples"):
        print("  target lag, target up           max %.2fs, p95 %.2fs, p50 %.2fs; queue depth max %d" % (
            up["max_seconds"], up["p95_seconds"], up["p50_seconds"], up["max_queue_depth"]))
    o = r["outage"]
    print("  target outage                   stopped %ss, answering again after %ss, queue drained %ss later" % (
        o["target_stopped_seconds"], o["seconds_until_target_back"], o["catch_up_seconds"]))
    out_lag = lag["during_outage_and_replay"]
    if out_lag.get("samples"):
        print("  target lag, outage + catch-up   max %.1fs, queue depth max %d; recovery point %ss" % (
            out_lag["max_seconds"], out_lag["max_queue_depth"], lag["outage_recovery_point_seconds"]))
    print("  failed target writes            %s logged, %s replayed, %s replay failures" % (
        p["failed_writes_logged"], r["replay"]["applied"], r["replay"]["failed"]))
    if cut["status"] == "skipped":
        print("  cutover                         not available in this build (ferry-proxy has no --primary)")
    else:
        for sw in cut["switches"]:
            print("  %-31s %s as primary: first write acknowledged %ss after the decision" % (
                sw["role"], sw["cluster"], sw["seconds"]))
    print("  differences (ferry-validate)    %s (exit %s)" % (r["validation"]["differences"], r["validation"]["exit_code"]))
    t = ack["target"]
    print("  acknowledged writes on target   %s recorded; %s keys checked: %s missing, %s differing, %s extra" % (
        ack["recorded"], ack["keys_checked"], t["missing"], t["differing"], t["extra"]))
    print("  phases                          " + ", ".join(
        "%s %.1fs" % (ph["phase"], ph["seconds"]) for ph in r["phases"]))
    print("  verdict                         %s" % ("PASSED" if r["verdict"]["passed"] else
                                                    "FAILED: " + "; ".join(r["verdict"]["failures"])))


if __name__ == "__main__":
    main()
