//! Classification cost per statement: the proxy classifies every QUERY and
//! PREPARE it forwards, so this is on the request path.
//!
//! Run with `cargo bench -p ferry-router --bench classify`.

// `criterion_group!` defines an undocumented public function.
#![allow(missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ferry_router::cql::{classify, Classifier, Lexer};

/// A typical 200-byte prepared INSERT.
const INSERT: &str = "INSERT INTO shop.orders (order_id, customer_id, created_at, status, \
     total_cents, currency, items, shipping_address, billing_address, order_notes) \
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL 864000";

const UPDATE_LWT: &str = "UPDATE shop.inventory USING TTL 3600 SET qty = ?, updated_at = \
     toTimestamp(now()) WHERE sku = ? AND warehouse = ? IF qty = ?";

const BATCH: &str = "BEGIN UNLOGGED BATCH \
     INSERT INTO shop.orders (order_id, status) VALUES (?, 'new'); \
     UPDATE shop.customers SET last_order = ? WHERE customer_id = ?; \
     DELETE FROM shop.carts WHERE customer_id = ?; \
     APPLY BATCH;";

fn bench(c: &mut Criterion) {
    assert_eq!(INSERT.len(), 200);
    let mut group = c.benchmark_group("classify");
    for (name, text) in [
        ("insert", INSERT),
        ("update_lwt", UPDATE_LWT),
        ("batch", BATCH),
    ] {
        group.throughput(Throughput::Bytes(text.len() as u64));
        let mut classifier = Classifier::new();
        group.bench_function(format!("{name}/reused"), |b| {
            b.iter(|| {
                let info = classifier.classify(black_box(text));
                black_box(info.may_add_timestamp())
            })
        });
        group.bench_function(format!("{name}/fresh"), |b| {
            b.iter(|| black_box(classify(black_box(text)).may_add_timestamp()))
        });
        group.bench_function(format!("{name}/lex_only"), |b| {
            b.iter(|| Lexer::new(black_box(text)).significant().count())
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
