//! ferry-wire beside scylla-cql on the same work, in one process.
//!
//! Each comparison is a criterion group with a `ferry-wire` and a
//! `scylla-cql` function over identical input; `scripts/bench-wire.sh` reads
//! the estimates and writes the ratios to `docs/benchmarks.md`. Before any
//! timing, every fixture is checked once: same bytes written, same rows and
//! values read (see the `verify` functions in `ferry_benches`).
//!
//! Settings are sized for a shared 2-core machine: the whole run stays
//! within a few minutes.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ferry_benches::cpu_clock::ThreadCpuTime;
use ferry_benches::{paired, requests, rows, segments};

const FERRY: &str = "ferry-wire";
const SCYLLA: &str = "scylla-cql";

/// With `FERRY_PAIRED_OUT=<file>` set (as `scripts/bench-wire.sh` does),
/// each comparison is also timed interleaved (see `ferry_benches::paired`)
/// and one JSON line per group is appended to the file: criterion's
/// sequential timings give each library's time, the interleaved rounds give
/// a ratio that load coming and going on a shared machine cannot skew.
fn interleaved(group: &str, budget: Duration, ferry: impl FnMut(), scylla: impl FnMut()) {
    let Some(out) = std::env::var_os("FERRY_PAIRED_OUT") else {
        return;
    };
    let p = paired::paired(ferry, scylla, budget, Duration::from_millis(2));
    eprintln!(
        "{group}: interleaved ratio scylla/ferry {:.2} (quartiles {:.2}..{:.2}, {} rounds of {} iterations)",
        p.ratio, p.ratio_q1, p.ratio_q3, p.rounds, p.iters
    );
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(out)
        .expect("FERRY_PAIRED_OUT is writable");
    writeln!(file, "{}", p.to_json(group)).expect("FERRY_PAIRED_OUT is writable");
}

fn rows_benches(c: &mut Criterion<ThreadCpuTime>) {
    let fixture = rows::RowsFixture::new();
    let check = rows::verify(&fixture).expect("both libraries read the same rows");
    eprintln!(
        "rows fixture: {} rows x {} columns, {} body bytes; verified {} rows, {} sampled values equal",
        rows::ROW_COUNT,
        rows::COLUMNS.len(),
        fixture.body.len(),
        check.rows,
        check.compared_values
    );

    let mut group = c.benchmark_group("rows_decode_typed");
    group.throughput(Throughput::Elements(rows::ROW_COUNT as u64));
    group.measurement_time(Duration::from_secs(8));
    group.bench_function(FERRY, |b| {
        b.iter(|| rows::ferry_decode_typed(black_box(&fixture.body)))
    });
    group.bench_function(SCYLLA, |b| {
        b.iter(|| rows::scylla_decode_typed(black_box(&fixture.body)))
    });
    group.finish();
    interleaved(
        "rows_decode_typed",
        Duration::from_secs(6),
        || {
            drop(black_box(rows::ferry_decode_typed(black_box(
                &fixture.body,
            ))))
        },
        || {
            drop(black_box(rows::scylla_decode_typed(black_box(
                &fixture.body,
            ))))
        },
    );

    let mut group = c.benchmark_group("rows_iterate_raw_cells");
    group.throughput(Throughput::Elements(rows::ROW_COUNT as u64));
    group.bench_function(FERRY, |b| {
        b.iter(|| rows::ferry_raw_cells(black_box(&fixture.body)))
    });
    group.bench_function(SCYLLA, |b| {
        b.iter(|| rows::scylla_raw_cells(black_box(&fixture.body)))
    });
    group.finish();
    interleaved(
        "rows_iterate_raw_cells",
        Duration::from_secs(3),
        || {
            black_box(rows::ferry_raw_cells(black_box(&fixture.body)));
        },
        || {
            black_box(rows::scylla_raw_cells(black_box(&fixture.body)));
        },
    );
}

fn request_benches(c: &mut Criterion<ThreadCpuTime>) {
    let data = requests::RequestData::new();
    let sizes = requests::verify(&data).expect("both libraries write the same bodies");
    eprintln!(
        "request bodies (identical in both libraries): QUERY {} B, EXECUTE {} B, BATCH {} B",
        sizes[0], sizes[1], sizes[2]
    );
    let ferry = data.ferry();
    let scylla = data.scylla();
    for (name, which) in [
        ("encode_query", requests::Which::Query),
        ("encode_execute", requests::Which::Execute),
        ("encode_batch", requests::Which::Batch),
    ] {
        let mut group = c.benchmark_group(name);
        // Buffers are grown once here and only cleared in the loop.
        let mut ours = BytesMut::with_capacity(4096);
        let mut theirs = Vec::with_capacity(4096);
        group.bench_function(FERRY, |b| {
            b.iter(|| requests::ferry_encode(black_box(&ferry), which, &mut ours))
        });
        group.bench_function(SCYLLA, |b| {
            b.iter(|| requests::scylla_encode(black_box(&scylla), which, &mut theirs))
        });
        group.finish();
        let (mut ours2, mut theirs2) = (BytesMut::with_capacity(4096), Vec::with_capacity(4096));
        interleaved(
            name,
            Duration::from_secs(3),
            || requests::ferry_encode(black_box(&ferry), which, &mut ours2),
            || requests::scylla_encode(black_box(&scylla), which, &mut theirs2),
        );

        let mut group = c.benchmark_group(format!("{name}_with_values"));
        let mut ferry_mut = data.ferry();
        group.bench_function(FERRY, |b| {
            b.iter(|| {
                requests::ferry_encode_with_values(
                    &mut ferry_mut,
                    black_box(&data),
                    which,
                    &mut ours,
                )
            })
        });
        group.bench_function(SCYLLA, |b| {
            b.iter(|| requests::scylla_encode_with_values(black_box(&data), which, &mut theirs))
        });
        group.finish();
        interleaved(
            &format!("{name}_with_values"),
            Duration::from_secs(3),
            || {
                requests::ferry_encode_with_values(
                    &mut ferry_mut,
                    black_box(&data),
                    which,
                    &mut ours,
                )
            },
            || requests::scylla_encode_with_values(black_box(&data), which, &mut theirs),
        );
    }
}

fn segment_benches(c: &mut Criterion<ThreadCpuTime>) {
    let fixture = segments::SegmentFixture::new();
    let sizes = segments::verify(&fixture).expect("segments round-trip");
    eprintln!(
        "segments (ferry-wire only; scylla-cql has no v5 framing): 100 x 100 B -> {} B plain, {} B lz4; 1 MiB -> {} B plain, {} B lz4",
        sizes[0], sizes[1], sizes[2], sizes[3]
    );
    for (label, frames) in [
        ("small_100x100B", &fixture.small),
        ("large_1MiB", &fixture.large),
    ] {
        for lz4 in [false, true] {
            let mode = if lz4 { "lz4" } else { "plain" };
            let mut group = c.benchmark_group(format!("segments_{label}_{mode}"));
            group.throughput(Throughput::Bytes(segments::envelope_bytes(frames) as u64));
            let mut codec = segments::codec(lz4);
            let mut wire = BytesMut::with_capacity(2 << 20);
            group.bench_function("encode", |b| {
                b.iter(|| segments::encode(&mut codec, black_box(frames), &mut wire))
            });
            segments::encode(&mut codec, frames, &mut wire);
            let encoded = wire.clone().freeze();
            let mut decoder = segments::decoder(lz4);
            // The decoder consumes its input: each run gets a fresh copy,
            // made outside the timing.
            group.bench_function("decode", |b| {
                b.iter_batched_ref(
                    || BytesMut::from(&encoded[..]),
                    |w| segments::decode(&mut decoder, w),
                    BatchSize::LargeInput,
                )
            });
            group.finish();
        }
    }
}

/// Times are the benchmark thread's CPU time, not wall-clock time: see
/// `ferry_benches::cpu_clock`.
fn config() -> Criterion<ThreadCpuTime> {
    Criterion::default()
        .with_measurement(ThreadCpuTime)
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args()
}

criterion_group! {
    name = wire;
    config = config();
    targets = rows_benches, request_benches, segment_benches
}
criterion_main!(wire);
