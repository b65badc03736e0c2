use super::*;
use crate::generate::{Generator, GeneratorConfig};
use crate::order::{Catalogue, EventTime, Region};

const T0: i64 = 1_780_000_000_000_000; // µs, 2026-05-28

fn orders(n: i64, step_us: i64) -> (Vec<Order>, &'static [Category]) {
    let mut g = Generator::new(&GeneratorConfig { seed: Some(1), instance: Some(2), ..Default::default() });
    let categories = g.model().categories();
    ((0..n).map(|i| g.order_at(T0 + i * step_us)).collect(), categories)
}

fn sums<'a>(orders: impl Iterator<Item = &'a Order>) -> Totals {
    let mut t = Totals::default();
    orders.for_each(|o| t.add(o));
    t
}

#[test]
fn summaries_equal_the_orders_recomputed_for_every_filter() {
    let (orders, categories) = orders(20_000, 9_000_000); // 50 hours: past the retention
    let config = AnalyticsConfig { retention: Duration::from_secs(100 * 3600), ..Default::default() };
    let mut analytics = Analytics::new(config, Catalogue::new(categories));
    for o in &orders {
        assert_eq!(analytics.record_from(0, o), Outcome::OnTime);
    }
    let all = analytics.summary(&Filter::default(), 5);
    assert_eq!(all.total, sums(orders.iter()).report());
    let region_sum = all.by_region.values().map(|r| r.gross_value_grosz).sum::<i64>();
    assert_eq!(region_sum, all.total.gross_value_grosz);

    // Window-aligned bounds (whole hours): a summary answers whole windows.
    let hour_ms = (T0 / 1000).div_euclid(3_600_000) * 3_600_000;
    let from_ms = hour_ms + 4 * 3_600_000;
    let to_ms = hour_ms + 20 * 3_600_000;
    let filter = Filter {
        from_ms: Some(from_ms),
        to_ms: Some(to_ms),
        regions: Choice::only([2]),
        categories: Choice::only([4]),
    };
    let want = sums(orders.iter().filter(|o| {
        let t = o.timestamp.utc_millis();
        (from_ms..to_ms).contains(&t)
            && o.region == Region::ALL[2]
            && o.kategoria_produktu.name == categories[4].name
    }));
    let got = analytics.summary(&filter, 5);
    assert!(want.orders > 50);
    assert_eq!(got.total, want.report());
    assert_eq!(got.by_category[categories[4].name], want.report());
    let series_total: u64 = analytics.series(&filter).iter().map(|(_, t)| t.orders).sum();
    assert_eq!(series_total, want.orders);
    assert!(got.top_products.iter().all(|p| p.group == categories[4].name));
    let time_only = Filter { regions: Choice::ANY, categories: Choice::ANY, ..filter };
    assert_eq!(analytics.cell_totals(&time_only)[&(2, 4)], want);
    assert_eq!(analytics.cell_totals(&Filter::default()).len(), Region::ALL.len() * categories.len());
    assert!(got.top_stores.iter().all(|s| s.group == Region::ALL[2].as_str()));

    // Several regions and categories at once (the dashboard's multi-select).
    let some = Filter { regions: Choice::only([0, 2]), categories: Choice::only([1, 3, 4]), ..filter };
    let want = sums(orders.iter().filter(|o| {
        let t = o.timestamp.utc_millis();
        (from_ms..to_ms).contains(&t)
            && [0, 2].contains(&o.region.index())
            && [1, 3, 4].contains(&o.kategoria_produktu.index)
    }));
    assert!(want.orders > 100);
    assert_eq!(analytics.summary(&some, 5).total, want.report());
    let nothing = Filter { regions: Choice::only([]), ..Filter::default() };
    assert_eq!(analytics.total(&nothing).orders, 0);
}

#[test]
fn late_orders_update_their_window_until_the_allowed_lateness() {
    let (orders, categories) = orders(3, 1);
    let config = AnalyticsConfig { allowed_lateness: Duration::from_secs(600), ..Default::default() };
    let mut analytics = Analytics::new(config, Catalogue::new(categories));
    let at = |o: &Order, ms: i64| {
        let mut o = *o;
        o.timestamp.utc_micros = ms * 1000;
        o
    };
    let base = (T0 / 60_000_000) * 60_000; // a window start, ms
    assert_eq!(analytics.record_from(0, &at(&orders[0], base + 30 * 60_000)), Outcome::OnTime);
    // Out of order, 25 minutes back: its window ended 24 minutes before the watermark.
    assert_eq!(analytics.record_from(0, &at(&orders[1], base + 5 * 60_000)), Outcome::TooLate);
    // 8 minutes back: window ended 7 minutes ago, within the 10 allowed.
    assert_eq!(analytics.record_from(0, &at(&orders[2], base + 22 * 60_000)), Outcome::LateUpdated);
    let summary = analytics.summary(&Filter::default(), 3);
    assert_eq!(summary.total.orders, 2);
    assert_eq!(summary.late, Late { too_late_orders: 1, late_updates: 1 });
    assert_eq!(analytics.too_late().gross, orders[1].wartosc_brutto);
}

#[test]
fn windows_older_than_the_retention_are_dropped() {
    let (orders, categories) = orders(10_000, 60_000_000); // one order a minute for a week
    let config = AnalyticsConfig { retention: Duration::from_secs(2 * 3600), ..Default::default() };
    let mut analytics = Analytics::new(config, Catalogue::new(categories));
    orders.iter().for_each(|o| {
        analytics.record_from(0, o);
    });
    assert!(analytics.window_count() <= 121, "{} windows", analytics.window_count());
    // The last hour is answered from the minute windows...
    let last = orders.last().unwrap().timestamp.utc_millis();
    // The sixty minute windows up to the last order's, one order each.
    let recent =
        Filter { from_ms: Some(last.div_euclid(60_000) * 60_000 - 59 * 60_000), ..Filter::default() };
    assert_eq!(analytics.resolution(&recent), Width::Fixed(60_000));
    assert_eq!(analytics.summary(&recent, 1).total.orders, 60);
    // ...and the whole week, exactly, from the hourly rollup.
    assert_eq!(analytics.resolution(&Filter::default()), Width::Fixed(3_600_000));
    assert_eq!(analytics.summary(&Filter::default(), 1).total, sums(orders.iter()).report());
}

/// A year of history: the daily rollup holds it, per Polish calendar day, exactly.
#[test]
fn a_year_is_kept_in_daily_rollups() {
    let (orders, categories) = orders(20_000, 1_800_000_000); // one order every 30 minutes, 417 days
    let mut analytics = Analytics::new(AnalyticsConfig::default(), Catalogue::new(categories));
    orders.iter().for_each(|o| {
        analytics.record_from(0, o);
    });
    let last = orders.last().unwrap().timestamp.utc_millis();
    let year = Filter { from_ms: Some(last - 365 * 86_400_000), ..Filter::default() };
    assert_eq!(analytics.resolution(&year), Width::PolishDay);
    let series = analytics.series(&year);
    assert!((365..=367).contains(&series.len()), "{} days", series.len());
    // Each day's total is that of the orders of that Polish date.
    let (day_start, day) = series[100];
    let date = EventTime::in_poland(day_start * 1000).local_date();
    let want = sums(orders.iter().filter(|o| o.timestamp.local_date() == date));
    assert_eq!(day, want, "{date}");
}

/// A topic read from its start: each partition is in time order, but one partition is
/// read whole (days of event time) before the next. Nothing is late, and the sums are
/// those of every order.
#[test]
fn a_replay_one_partition_after_another_counts_nothing_as_late() {
    let (orders, categories) = orders(30_000, 20_000_000); // a week of orders
    let config = AnalyticsConfig { retention: Duration::from_secs(30 * 24 * 3600), ..Default::default() };
    let mut analytics = Analytics::new(config, Catalogue::new(categories));
    let partitions: Vec<i32> = (0..6).collect();
    analytics.assign(&partitions);
    for p in &partitions {
        let own = orders.iter().enumerate().filter(|(i, _)| *i as i32 % 6 == *p).map(|(_, o)| o);
        for o in own {
            assert_ne!(analytics.record_from(*p, o), Outcome::TooLate, "partition {p}");
        }
    }
    let summary = analytics.summary(&Filter::default(), 5);
    assert_eq!(summary.late.too_late_orders, 0);
    assert_eq!(summary.total, sums(orders.iter()).report());
}

/// Orders read back from the files are final: out of order by days, none is late.
#[test]
fn orders_from_the_files_are_never_late() {
    let (orders, categories) = orders(5_000, 60_000_000);
    let mut analytics = Analytics::new(AnalyticsConfig::default(), Catalogue::new(categories));
    for o in orders.iter().rev() {
        assert_eq!(analytics.record_final(o, 60_000_000_000), Outcome::OnTime);
    }
    assert_eq!(analytics.summary(&Filter::default(), 5).late.too_late_orders, 0);
}

/// A rebuild of 40 days of files after a restart keeps each resolution to its own
/// retention (minutes for two days, not forty), and every span is still answered
/// exactly: the last day from minutes, the last week from hours, all of it from days.
#[test]
fn a_rebuild_from_weeks_of_files_keeps_each_resolution_to_its_retention_and_stays_exact() {
    let (orders, categories) = orders(40 * 24 * 6, 600_000_000); // one every 10 min, 40 days
    let now_ms = orders.last().unwrap().timestamp.utc_millis() + 1;
    let mut analytics = Analytics::new(AnalyticsConfig::default(), Catalogue::new(categories));
    for o in &orders {
        assert_eq!(analytics.record_final(o, now_ms), Outcome::OnTime);
    }
    assert!(analytics.window_count() <= 48 * 60 + 1, "{} minute windows", analytics.window_count());
    for days in [1, 7, 35] {
        let from_ms = now_ms - days * 86_400_000;
        let filter = Filter { from_ms: Some(from_ms), ..Default::default() };
        let width = analytics.resolution(&filter);
        let start = match width {
            Width::Fixed(w) => from_ms.div_euclid(w) * w,
            Width::PolishDay => {
                EventTime::polish_midnight_millis(EventTime::in_poland(from_ms * 1000).local_date())
            }
        };
        let want = sums(orders.iter().filter(|o| o.timestamp.utc_millis() >= start));
        assert_eq!(analytics.summary(&filter, 5).total, want.report(), "the last {days} days at {width:?}");
    }
    assert_eq!(analytics.summary(&Filter::default(), 5).total, sums(orders.iter()).report());
}

/// A backfill read faster than the idle timeout, from a topic with a partition that never
/// sends: the watermark is held back all along, yet the minute windows stay bounded
/// (twice the retention behind the newest order) and every figure stays exact.
#[test]
fn a_silent_partition_does_not_make_a_fast_backfill_keep_every_minute() {
    let (orders, categories) = orders(20 * 24 * 12, 300_000_000); // every 5 min, 20 days
    let config = AnalyticsConfig { retention: Duration::from_secs(24 * 3600), ..Default::default() };
    let mut analytics = Analytics::new(config, Catalogue::new(categories));
    analytics.assign(&[0, 1]);
    for o in &orders {
        assert_eq!(analytics.record_from(0, o), Outcome::OnTime, "partition 1 holds the watermark back");
    }
    assert_eq!(analytics.watermark_ms(), None);
    assert!(analytics.window_count() <= 2 * 24 * 12 + 1, "{} minute windows kept", analytics.window_count());
    assert_eq!(analytics.summary(&Filter::default(), 5).total, sums(orders.iter()).report());
    let newest = orders.last().unwrap().timestamp.utc_millis();
    let day = Filter { from_ms: Some(newest - 86_400_000), ..Default::default() };
    let want = sums(orders.iter().filter(|o| o.timestamp.utc_millis() >= newest - 86_400_000));
    assert_eq!(analytics.summary(&day, 5).total, want.report());
}
