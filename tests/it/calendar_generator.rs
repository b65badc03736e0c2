//! The calendar-driven generator, checked statistically with fixed seeds. Expected
//! counts come from the load model itself (rate x time, summed over hours); orders arrive
//! as a Poisson process, so a count's standard deviation is the square root of its
//! expectation and every tolerance is five of those.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{Datelike, NaiveDate, Timelike, Weekday};
use orderstream::generate::calendar::{self, DayKind};
use orderstream::generate::load::{Cell, LoadModel, IN_STORE, ONLINE};
use orderstream::generate::source::{OrderSource, SourceConfig, Speed, Timing};
use orderstream::generate::GeneratorConfig;
use orderstream::order::{decode_json, write_json, Channel, Order};
use orderstream::shutdown::Shutdown;
use orderstream::stats::Stats;

const HOUR: i64 = 3_600_000_000;

fn midnight(day: &str) -> i64 {
    use chrono::TimeZone;
    let date: NaiveDate = day.parse().unwrap();
    chrono_tz::Europe::Warsaw
        .from_local_datetime(&date.and_time(chrono::NaiveTime::MIN))
        .earliest()
        .unwrap()
        .timestamp_micros()
}

fn model(base_per_minute: f64) -> Arc<LoadModel> {
    Arc::new(LoadModel::builtin().with_base_rate(base_per_minute))
}

/// Every order of a seeded backfill from `from` to `to` (local days, `to` excluded).
fn backfill(model: &Arc<LoadModel>, seed: u64, from: &str, to: &str) -> Vec<Order> {
    stream(model, seed, from, to).collect()
}

/// The same, one order at a time (for long ranges).
fn stream(model: &Arc<LoadModel>, seed: u64, from: &str, to: &str) -> impl Iterator<Item = Order> {
    let config = SourceConfig {
        generator: GeneratorConfig {
            seed: Some(seed),
            instance: Some(1),
            model: model.clone(),
            ..Default::default()
        },
        timing: Timing::Backfill {
            from: midnight(from),
            to: midnight(to),
            speed: Speed::Max,
            then_live: false,
        },
        count: None,
    };
    let (shutdown, stats) = (Shutdown::new(), Stats::new());
    let mut source = OrderSource::new(&config);
    std::iter::from_fn(move || source.next(&shutdown, &stats))
}

/// Expected number of orders in [from, to) (µs) whose cell passes `filter`.
fn expected(model: &LoadModel, from: i64, to: i64, filter: impl Fn(&Cell, NaiveDate, u32) -> bool) -> f64 {
    (from.div_euclid(HOUR)..to.div_euclid(HOUR))
        .map(|hour| {
            let plan = model.plan(hour);
            let local = local_time(hour * HOUR, plan.offset_secs);
            plan.rate_where(|c| filter(c, local.date(), local.hour())) * 3600.0
        })
        .sum()
}

fn local_time(utc_micros: i64, offset_secs: i32) -> chrono::NaiveDateTime {
    chrono::DateTime::from_timestamp_micros(utc_micros + i64::from(offset_secs) * 1_000_000)
        .unwrap()
        .naive_utc()
}

fn local(order: &Order) -> chrono::NaiveDateTime {
    local_time(order.timestamp.utc_micros, order.timestamp.offset_secs)
}

fn assert_near(what: &str, observed: usize, expected: f64) {
    let tolerance = 5.0 * expected.sqrt();
    assert!(
        (observed as f64 - expected).abs() <= tolerance,
        "{what}: observed {observed}, expected {expected:.0} +- {tolerance:.0}"
    );
}

#[test]
fn in_store_orders_only_in_opening_hours_and_never_on_holidays() {
    let model = model(3.0);
    let easter_monday = NaiveDate::from_ymd_opt(2026, 4, 6).unwrap();
    let (mut total, mut in_store, mut online_on_easter_monday, mut at_3am) = (0, 0, 0, 0);
    for order in stream(&model, 11, "2025-01-01", "2026-11-01") {
        total += 1;
        if local(&order).hour() == 3 {
            at_3am += 1;
        }
        if order.sales_channel == Channel::Online {
            online_on_easter_monday += usize::from(local(&order).date() == easter_monday);
            continue;
        }
        in_store += 1;
        let t = local(&order);
        let kind = calendar::day_kind(t.date());
        assert!(
            !matches!(kind, DayKind::Holiday | DayKind::Sunday),
            "in-store order on a closed day: {t} {kind:?}"
        );
        let (open, close) = model.opening_hours(t.date()).expect("open day");
        assert!((open..close).contains(&t.hour()), "in-store order at {t}, stores open {open}-{close}");
    }
    assert!(total > 1_000_000 && in_store > 300_000, "{total} orders, {in_store} in store");
    // Online never closes: orders on Easter Monday and at 3 a.m.
    assert!(online_on_easter_monday > 100 && at_3am > 1_000, "{online_on_easter_monday} {at_3am}");
}

#[test]
fn weekends_and_hours_follow_the_load_curve() {
    // Three ordinary March weeks: no holiday, no season, no promotion.
    let model = model(60.0);
    let (from, to) = ("2026-03-02", "2026-03-23");
    let orders = backfill(&model, 5, from, to);
    let (start, end) = (midnight(from), midnight(to));

    let by_day = |day: Weekday, channel: Channel| {
        orders.iter().filter(|o| local(o).date().weekday() == day && o.sales_channel == channel).count()
    };
    let expect_day = |day: Weekday, channel: usize| {
        expected(&model, start, end, |c, date, _| date.weekday() == day && usize::from(c.channel) == channel)
    };
    for day in [Weekday::Tue, Weekday::Sat, Weekday::Sun] {
        assert_near(&format!("in-store on {day}"), by_day(day, Channel::InStore), expect_day(day, IN_STORE));
        assert_near(&format!("online on {day}"), by_day(day, Channel::Online), expect_day(day, ONLINE));
    }
    // The shape a retailer knows: Saturday is the big store day, closed Sundays are empty.
    assert!(
        by_day(Weekday::Sat, Channel::InStore) as f64 > 1.6 * by_day(Weekday::Tue, Channel::InStore) as f64
    );
    assert_eq!(by_day(Weekday::Sun, Channel::InStore), 0);

    for hour in [3, 9, 13, 20] {
        let observed =
            orders.iter().filter(|o| local(o).hour() == hour && o.sales_channel == Channel::Online).count();
        let want = expected(&model, start, end, |c, _, h| h == hour && usize::from(c.channel) == ONLINE);
        assert_near(&format!("online orders at {hour}:00"), observed, want);
    }
    let at = |hour| {
        orders.iter().filter(|o| local(o).hour() == hour && o.sales_channel == Channel::Online).count()
    };
    assert!(
        at(20) > 10 * at(4),
        "online should peak in the evening: {} at 20:00, {} at 04:00",
        at(20),
        at(4)
    );
}

#[test]
fn black_friday_lifts_demand_and_discounts_prices() {
    let model = model(30.0);
    let friday_before = backfill(&model, 7, "2025-11-21", "2025-11-22");
    let black_friday = backfill(&model, 7, "2025-11-28", "2025-11-29");
    let want = expected(&model, midnight("2025-11-28"), midnight("2025-11-29"), |_, _, _| true);
    assert_near("Black Friday orders", black_friday.len(), want);
    let uplift = black_friday.len() as f64 / friday_before.len() as f64;
    assert!((2.2..2.8).contains(&uplift), "Black Friday uplift {uplift:.2}, scenario says 2.5");

    // 15% off: every order carries its product's list price less 15%.
    for order in &black_friday {
        let category = model.categories().iter().find(|c| c.name == order.kategoria_produktu.name).unwrap();
        let item = category.items.iter().find(|i| i.name == order.nazwa_produktu).expect("a product sold");
        assert_eq!(order.cena_netto, (item.price_grosz as f64 * 0.85).round() as i64, "{order:?}");
    }
}

#[test]
fn seasons_shift_the_product_mix() {
    let model = model(60.0);
    let share = |orders: &[Order], category: &str| {
        orders.iter().filter(|o| o.kategoria_produktu.name == category).count() as f64 / orders.len() as f64
    };
    let march = backfill(&model, 3, "2026-03-02", "2026-03-09");
    let back_to_school = backfill(&model, 3, "2026-08-24", "2026-08-31");
    let world_cup = backfill(&model, 3, "2026-06-01", "2026-06-08");
    // Back to school weighs laptops 1.8 against 1.2 and 1 for the rest (about 1.5x their
    // usual share); the World Cup weighs TVs 2.5 (about 2.3x).
    assert!(share(&back_to_school, "Laptopy") > 1.3 * share(&march, "Laptopy"));
    assert!(share(&world_cup, "Telewizory") > 1.7 * share(&march, "Telewizory"));
    for (orders, from, to, category) in [
        (&back_to_school, "2026-08-24", "2026-08-31", "Laptopy"),
        (&world_cup, "2026-06-01", "2026-06-08", "Telewizory"),
    ] {
        let index = model.categories().iter().position(|c| c.name == category).unwrap();
        let want = expected(&model, midnight(from), midnight(to), |c, _, _| usize::from(c.category) == index);
        let observed = orders.iter().filter(|o| o.kategoria_produktu.name == category).count();
        assert_near(&format!("{category} from {from}"), observed, want);
    }
    // Accessories are steady outside their own promotions.
    assert!((share(&back_to_school, "Akcesoria") / share(&march, "Akcesoria") - 1.0).abs() < 0.25);
}

#[test]
fn customers_repeat_about_forty_percent_and_every_order_is_valid() {
    let model = model(60.0);
    let orders = backfill(&model, 9, "2026-05-04", "2026-05-07");
    let mut seen = HashSet::new();
    let repeats = orders.iter().filter(|o| !seen.insert(o.customer_id)).count();
    let n = orders.len() as f64;
    let share = repeats as f64 / n;
    let sd = (0.4f64 * 0.6 / n).sqrt();
    assert!((share - 0.4).abs() < 5.0 * sd + 0.005, "repeat share {share:.4} over {n} orders");

    let mut buf = Vec::new();
    for order in &orders {
        let category = model.categories().iter().find(|c| c.name == order.kategoria_produktu.name).unwrap();
        assert!((category.lowest_price_grosz..=category.max_price_grosz).contains(&order.cena_netto));
        buf.clear();
        write_json(order, &mut buf);
        assert_eq!(decode_json(&buf, &model.catalogue()).expect("valid order"), *order);
    }
}

#[test]
fn same_seed_and_range_give_the_same_stream() {
    let model = model(60.0);
    let render = |orders: Vec<Order>| {
        let mut out = Vec::new();
        for o in &orders {
            write_json(o, &mut out);
            out.push(b'\n');
        }
        out
    };
    let a = render(backfill(&model, 21, "2026-02-02", "2026-02-04"));
    let b = render(backfill(&model, 21, "2026-02-02", "2026-02-04"));
    let c = render(backfill(&model, 22, "2026-02-02", "2026-02-04"));
    assert!(a.len() > 100_000);
    assert_eq!(a, b);
    assert_ne!(a, c);
}
