//! Runs one benchmark's measured function in a plain loop, for profilers
//! (`perf stat -e cycles:u`, `valgrind --tool=callgrind`), which count the
//! work of this process alone and so stay usable on a busy machine where
//! criterion's wall-clock times are noisy.
//!
//! ```text
//! cargo build --release -p ferry-benches --example profile_loop
//! perf stat -e cycles:u,instructions:u target/release/examples/profile_loop rows-typed-ferry 200
//! ```
#![allow(missing_docs)]

use std::hint::black_box;

use bytes::BytesMut;
use ferry_benches::{requests, rows};

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_default();
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(100);
    let fixture = rows::RowsFixture::new();
    let data = requests::RequestData::new();
    let (ferry, scylla) = (data.ferry(), data.scylla());
    let mut ours = BytesMut::with_capacity(4096);
    let mut theirs = Vec::with_capacity(4096);
    let request = |name: &str| match name {
        "query" => requests::Which::Query,
        "execute" => requests::Which::Execute,
        _ => requests::Which::Batch,
    };
    let started = std::time::Instant::now();
    for _ in 0..n {
        match which.as_str() {
            "rows-typed-ferry" => drop(black_box(rows::ferry_decode_typed(&fixture.body))),
            "rows-typed-scylla" => drop(black_box(rows::scylla_decode_typed(&fixture.body))),
            "rows-raw-ferry" => drop(black_box(rows::ferry_raw_cells(&fixture.body))),
            "rows-raw-scylla" => drop(black_box(rows::scylla_raw_cells(&fixture.body))),
            w if w.starts_with("encode-ferry-") => {
                requests::ferry_encode(&ferry, request(&w[13..]), &mut ours)
            }
            w if w.starts_with("encode-scylla-") => {
                requests::scylla_encode(&scylla, request(&w[14..]), &mut theirs)
            }
            other => {
                eprintln!(
                    "unknown {other:?}: rows-{{typed,raw}}-{{ferry,scylla}}, \
                     encode-{{ferry,scylla}}-{{query,execute,batch}}"
                );
                std::process::exit(2);
            }
        }
    }
    let per_iter = started.elapsed() / n.max(1) as u32;
    eprintln!("{which}: {per_iter:?} per iteration (wall clock, {n} iterations)");
}
