#!/usr/bin/env bash
# Runs the ferry-wire vs scylla-cql benchmarks (`cargo bench -p ferry-benches
# --bench wire`) and writes the results into the "ferry-wire vs scylla-cql"
# section of docs/benchmarks.md.
#
# Usage: scripts/bench-wire.sh [PASSES]
#   PASSES (default 1): full runs of the bench. Each run gives, per
#   comparison, criterion's median for each library (run one after the
#   other) and a ratio from interleaved timing (the two libraries alternate
#   in short batches; see benches/src/paired.rs), which is what the goals are
#   checked against. With several passes, times are the lowest per-pass
#   medians and ratios the median of the passes' ratios. One pass takes
#   about 3 minutes on 2 cores, plus the build.
#
# Needs: cargo, python3. Leaves criterion's raw output in target/criterion.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
PASSES=${1:-1}
DOC="$ROOT/docs/benchmarks.md"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# The groups the `wire` bench defines (see benches/benches/wire.rs).
BENCH_GROUPS="rows_decode_typed rows_iterate_raw_cells encode_query encode_execute encode_batch
encode_query_with_values encode_execute_with_values encode_batch_with_values
segments_small_100x100B_plain segments_small_100x100B_lz4
segments_large_1MiB_plain segments_large_1MiB_lz4"

CMD="cargo bench -p ferry-benches --bench wire -- --noplot"
SHOWN_CMD="FERRY_PAIRED_OUT=<file> $CMD"

echo "building the bench..." >&2
cargo bench -p ferry-benches --bench wire --no-run >&2

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for pass in $(seq 1 "$PASSES"); do
    echo "pass $pass of $PASSES (load average: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
    # Stale results of a group that failed to run must not be reported.
    for g in $BENCH_GROUPS; do rm -rf "target/criterion/$g"; done
    mkdir -p "$WORK/pass-$pass"
    FERRY_PAIRED_OUT="$WORK/pass-$pass/paired.jsonl" $CMD 2>&1 | tee "$WORK/log-$pass.txt" >&2
    for g in $BENCH_GROUPS; do
        for est in target/criterion/"$g"/*/new/estimates.json; do
            [ -e "$est" ] || { echo "missing results for $g" >&2; exit 1; }
            fn=$(basename "$(dirname "$(dirname "$est")")")
            cp "$est" "$WORK/pass-$pass/$g--$fn.json"
        done
    done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

export WORK PASSES DOC SHOWN_CMD LOAD_BEFORE LOAD_AFTER
export MACHINE_CPUS=$(nproc)
export MACHINE_CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' || echo unknown)
export MACHINE_KERNEL=$(uname -sr)
export RUSTC_VERSION=$(rustc --version)
export GIT_COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
export GIT_DIRTY=$(git status --porcelain 2>/dev/null | grep -q . && echo " (uncommitted changes)" || true)
export RUN_DATE=$(date -u '+%Y-%m-%d %H:%M UTC')

python3 - <<'PY'
import glob, json, os, re

work, passes, doc = os.environ["WORK"], int(os.environ["PASSES"]), os.environ["DOC"]

def load(p):
    out = {}
    for f in glob.glob(f"{work}/pass-{p}/*.json"):
        group, fn = os.path.basename(f)[:-5].split("--")
        out[(group, fn)] = json.load(open(f))["median"]["point_estimate"]  # ns
    return out

def load_paired(p):
    out = {}
    for line in open(f"{work}/pass-{p}/paired.jsonl"):
        rec = json.loads(line)
        out[rec["group"]] = rec
    return out

runs = [load(p) for p in range(1, passes + 1)]
best = {k: min(r[k] for r in runs) for k in runs[0]}
pruns = [load_paired(p) for p in range(1, passes + 1)]

def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2

def fmt(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}" if ns / scale < 100 else f"{ns / scale:.0f} {unit}"
    return f"{ns:.3g} ns"

COMPARED = [
    ("rows_decode_typed", "RESULT Rows, 10,000 rows x 10 mixed columns, decoded into typed dynamic values", 1.5),
    ("rows_iterate_raw_cells", "Same body, every cell walked undecoded", 1.0),
    ("encode_query", "QUERY body: 5 values, page size, timestamp", 1.0),
    ("encode_execute", "EXECUTE body: same parameters", 1.0),
    ("encode_batch", "BATCH body: 10 prepared children x 3 values", 1.0),
    ("encode_query_with_values", "QUERY, starting from each value's bytes", 1.0),
    ("encode_execute_with_values", "EXECUTE, starting from each value's bytes", 1.0),
    ("encode_batch_with_values", "BATCH, starting from each value's bytes", 1.0),
]
lines = []
lines.append("| benchmark | work | ferry-wire | scylla-cql | ratio scylla/ferry, interleaved (quartiles) | ratio of the criterion medians | goal | met |")
lines.append("|---|---|---:|---:|---:|---:|---:|:---:|")
for group, what, goal in COMPARED:
    f, s = best[(group, "ferry-wire")], best[(group, "scylla-cql")]
    ratio = median([r[group]["ratio"] for r in pruns])
    q1 = median([r[group]["ratio_q1"] for r in pruns])
    q3 = median([r[group]["ratio_q3"] for r in pruns])
    lines.append(f"| `{group}` | {what} | {fmt(f)} | {fmt(s)} | **{ratio:.2f}** ({q1:.2f}–{q3:.2f}) | {s / f:.2f} | ≥ {goal} | {'yes' if ratio >= goal else 'NO'} |")
if passes > 1:
    lines.append("")
    lines.append("Interleaved ratio in each pass: " + "; ".join(
        f"`{g}` " + ", ".join(f"{r[g]['ratio']:.2f}" for r in pruns)
        for g, _, _ in COMPARED) + ".")

SEGMENTS = [
    ("segments_small_100x100B", "100 envelopes of 100 B (one self-contained segment)", 100 * 100),
    ("segments_large_1MiB", "one 1 MiB envelope (9 segments)", 1 << 20),
]
seg = ["| case | compression | encode | decode | encode throughput | decode throughput |",
       "|---|---|---:|---:|---:|---:|"]
for prefix, what, size in SEGMENTS:
    for mode in ("plain", "lz4"):
        g = f"{prefix}_{mode}"
        e, d = best[(g, "encode")], best[(g, "decode")]
        mib = lambda ns: f"{size / (ns / 1e9) / (1 << 20):,.0f} MiB/s"
        seg.append(f"| {what} | {mode} | {fmt(e)} | {fmt(d)} | {mib(e)} | {mib(d)} |")

log = open(f"{work}/log-1.txt").read()
checks = [l.strip() for l in log.splitlines()
          if l.startswith(("rows fixture:", "request bodies", "segments (ferry-wire only"))]

env = os.environ
section = f"""<!-- bench-wire: begin (written by scripts/bench-wire.sh; edits here are overwritten) -->
## ferry-wire vs scylla-cql

Both libraries run the same work on identical input bytes, in the same
process. All times are the benchmark thread's CPU time
(`CLOCK_THREAD_CPUTIME_ID`, see `benches/src/cpu_clock.rs`), not wall-clock
time, so stretches spent waiting for a core while other jobs run are not
counted; on an idle machine the two agree for this single-threaded work.
Each comparison is timed twice:

- by criterion, one library after the other: the **ferry-wire** and
  **scylla-cql** columns are criterion's median time per iteration{f" (with {passes} passes, the lowest of the per-pass medians)" if passes > 1 else ""};
- interleaved: the two alternate in short batches (A B, B A, ...) and each
  round gives one ratio from two back-to-back batches; the **interleaved
  ratio** is the median round (quartiles in brackets{f", median over the {passes} passes" if passes > 1 else ""}). Other jobs
  on this shared machine still slow the benchmark down through shared
  caches, in bursts of seconds; that skews sequential timings (compare the
  "criterion medians" column) but hits both sides of a round alike. The
  goals are checked against the interleaved ratio.

Ratios are scylla-cql time / ferry-wire time: above 1 means ferry-wire is
faster.

- Date: {env['RUN_DATE']}; ferry commit `{env['GIT_COMMIT']}`{env['GIT_DIRTY']}; {env['RUSTC_VERSION']}
- Machine: {env['MACHINE_CPUS']} CPUs ({env['MACHINE_CPU']}), {env['MACHINE_KERNEL']}.
  Shared with other jobs: load average {env['LOAD_BEFORE']} before, {env['LOAD_AFTER']} after.
  Single times can be off by 20% or more; the interleaved ratios are the steadier figures.
- Command: `scripts/bench-wire.sh {passes}`, which runs `{env['SHOWN_CMD']}` {passes} time(s).

{chr(10).join(lines)}

Checked once before timing (outside the timed loops), as printed by the bench:

{chr(10).join('- ' + c for c in checks)}

What each side does:

- **Rows** (protocol v4, the only version scylla-cql decodes). The body is
  encoded once and the same `Bytes` is handed to both. ferry-wire:
  `ResultResponse::decode` (metadata, plus one walk over every cell length to
  validate the result up front), then `RowView::values` per row, which decodes
  each cell in place into `ferry_wire::types::CqlValue`. scylla-cql:
  `deserialize_with_features` + `deserialize_metadata`, then
  `rows_iter::<Row>()`, its dynamic path into `scylla_cql::value::CqlValue`.
  Both collect the rows into a `Vec`, dropped inside the timed loop. ferry-wire's
  text and blob values share the frame's buffer (a reference count each);
  scylla-cql copies them into `String`/`Vec<u8>`. The raw variant walks every
  cell without decoding it (`RowView::raw_cells` vs `rows_iter::<ColumnIterator>()`).
- **Encode** (protocol v4; scylla-cql's request codec is v4 only). Both start
  from a request built in memory with its values already serialized and write
  the body into a reused, cleared buffer; the bench checks that both write the
  very same bytes. The one structural difference: scylla-cql keeps a
  statement's values as one `SerializedValues` buffer whose `[value]` length
  prefixes are already laid out, so it copies them in one go; ferry-wire keeps
  one `RawValue` (a `Bytes`) per value and writes each length and value. The
  `_with_values` rows start one step earlier, from each value's bytes, and
  include building each library's value form (ferry-wire: a new
  `Vec<RawValue>` per statement; scylla-cql: a new `SerializedValues` per
  statement, written by its `RowWriter`): there both sides write the value
  lengths inside the timed work.
- **v5 segments**: ferry-wire only. scylla-cql 2.0 has no protocol v5 framing
  (its frame header parser accepts version 4 only), so there is nothing to
  compare. Payloads are record-like bytes (LZ4 shrinks them to about a third
  for small envelopes and a half for the large one). Decoding includes
  checking both CRCs and, for LZ4, inflating.

{chr(10).join(seg)}
<!-- bench-wire: end -->
"""

if os.path.exists(doc):
    text = open(doc).read()
else:
    os.makedirs(os.path.dirname(doc), exist_ok=True)
    text = "# Benchmarks\n\nHow fast Ferry's pieces are, measured how, on what.\n"
pattern = re.compile(r"<!-- bench-wire: begin.*?<!-- bench-wire: end -->\n", re.S)
text = pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
open(doc, "w").write(text)
print("\n".join(lines))
print(f"\nwrote {doc}")
PY
