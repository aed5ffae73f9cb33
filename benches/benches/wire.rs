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
use ferry_benches::{requests, rows, segments};

const FERRY: &str = "ferry-wire";
const SCYLLA: &str = "scylla-cql";

fn rows_benches(c: &mut Criterion) {
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

    let mut group = c.benchmark_group("rows_iterate_raw_cells");
    group.throughput(Throughput::Elements(rows::ROW_COUNT as u64));
    group.bench_function(FERRY, |b| {
        b.iter(|| rows::ferry_raw_cells(black_box(&fixture.body)))
    });
    group.bench_function(SCYLLA, |b| {
        b.iter(|| rows::scylla_raw_cells(black_box(&fixture.body)))
    });
    group.finish();
}

fn request_benches(c: &mut Criterion) {
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
    }
}

fn segment_benches(c: &mut Criterion) {
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

fn config() -> Criterion {
    Criterion::default()
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
