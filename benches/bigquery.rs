//! The BigQuery sink's own cost per order: writing a batch as statement text, apart from
//! what BigQuery (or the emulator) then does with it. Run with
//! `cargo bench --bench bigquery`.
// criterion_group! defines an undocumented public function.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use orderstream::bigquery::order_statements;
use orderstream::generate::{Generator, GeneratorConfig};

fn statements(c: &mut Criterion) {
    let mut generator =
        Generator::new(&GeneratorConfig { seed: Some(7), instance: Some(1), ..Default::default() });
    let orders: Vec<_> = (0..10_000).map(|_| generator.next_order()).collect();
    let rows: Vec<_> = orders.iter().collect();
    let text: usize = order_statements("orderstream", "orders", &rows).iter().map(|(s, _)| s.len()).sum();
    println!("FIGURE statement text per order: {} bytes", text / rows.len());
    let mut group = c.benchmark_group("bigquery");
    group.throughput(Throughput::Elements(rows.len() as u64));
    group.bench_function("statements_for_10000_orders", |b| {
        b.iter(|| order_statements("orderstream", "orders", &rows));
    });
    group.finish();
}

criterion_group!(benches, statements);
criterion_main!(benches);
