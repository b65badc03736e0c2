//! How fast the live analytics answer the dashboard: `/api/summary` over a year of
//! history (the daily rollup) and over a week (the hourly rollup), with no filter and
//! with several regions and categories chosen. The cost is per window and cell, not per
//! order, so a year at a few orders an hour fills every cell as a busy year does. Run
//! with `cargo bench --bench analytics`.
// criterion_group! defines an undocumented public function.
#![allow(missing_docs)]

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use orderstream::analytics::{Analytics, AnalyticsConfig, Choice, Filter};
use orderstream::generate::{Generator, GeneratorConfig};
use orderstream::order::Catalogue;

fn summaries(c: &mut Criterion) {
    let mut generator =
        Generator::new(&GeneratorConfig { seed: Some(7), instance: Some(1), ..Default::default() });
    let catalogue = Catalogue::new(generator.model().categories());
    let mut analytics = Analytics::new(AnalyticsConfig::default(), catalogue);
    analytics.assign(&[0]);
    // 400 days, an order every 90 s: 384,000 orders, every (region, category) cell of
    // every day and hour filled.
    let start: i64 = 1_767_222_000_000_000; // 2026-01-01 00:00 in Poland, µs
    let step = 90_000_000;
    let orders = 400 * 86_400_000_000 / step;
    for i in 0..orders {
        analytics.record_from(0, &generator.order_at(start + i * step));
    }
    let end_ms = (start + orders * step) / 1000;
    let year = Some(end_ms - 365 * 86_400_000);
    let week = Some(end_ms - 7 * 86_400_000);
    let some = (Choice::only([0, 2]), Choice::only([1, 3, 4]));
    let cases = [
        ("year, no filter", Filter { from_ms: year, ..Filter::default() }),
        (
            "year, 2 regions and 3 categories",
            Filter { from_ms: year, regions: some.0, categories: some.1, ..Filter::default() },
        ),
        ("week, no filter", Filter { from_ms: week, ..Filter::default() }),
        (
            "week, 2 regions and 3 categories",
            Filter { from_ms: week, regions: some.0, categories: some.1, ..Filter::default() },
        ),
    ];
    let mut group = c.benchmark_group("summary");
    group.measurement_time(Duration::from_secs(3));
    for (name, filter) in cases {
        group.bench_function(name, |b| b.iter(|| std::hint::black_box(analytics.summary(&filter, 10))));
    }
    group.finish();
}

criterion_group!(benches, summaries);
criterion_main!(benches);
