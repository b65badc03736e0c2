//! Generator throughput: one order generated and serialised to JSON per iteration (live
//! stamping, and a backfill's Poisson arrival + order), and the consumer's decode + CSV
//! row for comparison. Run with `cargo bench`.
// criterion_group! defines an undocumented public function.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use orderstream::generate::{Generator, GeneratorConfig};
use orderstream::order::{decode_json, write_csv_row, write_json};

fn generator(c: &mut Criterion) {
    let mut group = c.benchmark_group("order");
    group.throughput(Throughput::Elements(1));
    let mut generator =
        Generator::new(&GeneratorConfig { seed: Some(7), instance: Some(1), ..Default::default() });
    let mut buf = Vec::with_capacity(512);
    group.bench_function("generate+json", |b| {
        b.iter(|| {
            buf.clear();
            write_json(&generator.next_order(), &mut buf);
            std::hint::black_box(&buf);
        });
    });
    // A backfill through a year: each iteration draws the next arrival of the Poisson
    // process (recomputing the hour's plan when it changes) and makes the order there.
    let mut backfill =
        Generator::new(&GeneratorConfig { seed: Some(7), instance: Some(1), ..Default::default() });
    let mut t = 1_767_222_000_000_000.0; // 2026-01-01 00:00 in Poland
    group.bench_function("backfill-arrival+generate+json", |b| {
        b.iter(|| {
            t = backfill.next_arrival(t).unwrap();
            buf.clear();
            write_json(&backfill.order_at((t / 1000.0) as i64 * 1000), &mut buf);
            std::hint::black_box(&buf);
        });
    });
    let catalogue = generator.model().catalogue();
    let mut sample = Vec::new();
    write_json(&generator.next_order(), &mut sample);
    group.bench_function("decode+validate", |b| {
        b.iter(|| decode_json(std::hint::black_box(&sample), &catalogue).unwrap());
    });
    let order = decode_json(&sample, &catalogue).unwrap();
    group.bench_function("csv-row", |b| {
        b.iter(|| {
            buf.clear();
            write_csv_row(std::hint::black_box(&order), &mut buf);
        });
    });
    group.finish();
}

criterion_group!(benches, generator);
criterion_main!(benches);
