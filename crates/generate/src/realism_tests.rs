//! The built-in scenario is a believable chain: checked statistically over seeded
//! orders, against the bounds docs/cli.md states ("The chain in the data").

use std::collections::{HashMap, HashSet};

use crate::order::{Channel, Order, Payment, Region};
use crate::{Generator, GeneratorConfig};

fn seeded(seed: u64) -> Generator {
    Generator::new(&GeneratorConfig { seed: Some(seed), instance: Some(5), ..Default::default() })
}

/// 2026-03-02T00:00:00Z: a March without seasons or promotions.
const MARCH: i64 = 1_772_409_600_000_000;
const MICROS_PER_HOUR: i64 = 3_600_000_000;

/// `n` orders following the load curve from `start` (µs since the epoch).
fn orders_from(g: &mut Generator, start: i64, n: usize) -> Vec<Order> {
    let mut t = start as f64;
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        t = g.next_arrival(t).expect("demand");
        out.push(g.order_at(t as i64));
    }
    out
}

#[test]
fn a_year_of_the_default_scenario_is_a_large_chain_not_a_country() {
    let mut g = seeded(11);
    let model = g.model().clone();
    // Expected orders: the load curve summed over every hour of 2026.
    let start = 1_767_225_600_000_000 / MICROS_PER_HOUR; // 2026-01-01T00:00Z
    let orders: f64 = (start..start + 365 * 24).map(|h| model.plan(h).rate_per_sec * 3600.0).sum();
    // The average ticket over orders drawn across the year.
    let sample: Vec<Order> =
        (0..200_000).map(|i| g.order_at((start + i % (365 * 24)) * MICROS_PER_HOUR + i)).collect();
    let ticket = sample.iter().map(|o| o.wartosc_brutto as f64).sum::<f64>() / sample.len() as f64 / 100.0;
    let gross_bn = orders * ticket / 1e9;
    eprintln!("a year: {orders:.0} orders, average ticket {ticket:.0} zł, {gross_bn:.2} bn zł gross");
    assert!((3.0..=15.0).contains(&gross_bn), "{gross_bn} bn zł a year");
    assert!((300.0..=2500.0).contains(&ticket), "{ticket} zł a ticket");
    // Live, a new order every second or so on average.
    let per_second = orders / (365.0 * 86_400.0);
    assert!((0.2..=2.0).contains(&per_second), "{per_second} orders/s");
}

#[test]
fn each_product_has_its_own_price_and_brand_and_a_long_tail() {
    let orders = orders_from(&mut seeded(3), MARCH, 150_000);
    let catalogue = seeded(3).model().catalogue();
    let mut by_product: HashMap<(&str, &str), (Vec<i64>, &str)> = HashMap::new();
    for o in &orders {
        let entry =
            by_product.entry((o.kategoria_produktu.name, o.nazwa_produktu)).or_insert((Vec::new(), o.marka));
        entry.0.push(o.cena_netto);
        assert_eq!(entry.1, o.marka, "{} is made by one brand", o.nazwa_produktu);
    }
    for category in catalogue.categories() {
        let items = category.items;
        assert!(items.len() >= 30, "{}: {} products", category.name, items.len());
        // Without a promotion, every order of a product carries its list price.
        for item in items {
            if let Some((prices, _)) = by_product.get(&(category.name, item.name)) {
                assert!(prices.iter().all(|p| *p == item.price_grosz), "{}", item.name);
            }
        }
        // Shelf prices cluster (49, 79, 99 zł), but a category spans a wide range.
        let distinct: HashSet<i64> = items.iter().map(|i| i.price_grosz).collect();
        assert!(distinct.len() >= 15, "{}: {} distinct prices", category.name, distinct.len());
        let (lo, hi) = (distinct.iter().min().unwrap(), distinct.iter().max().unwrap());
        assert!(*hi > 5 * lo, "{}: prices from {lo} to {hi} grosz", category.name);
        // Long tail: the best-selling fifth of the products sells at least 40 % (twice
        // what a uniform draw gives).
        let mut counts: Vec<usize> = items
            .iter()
            .map(|i| by_product.get(&(category.name, i.name)).map_or(0, |(p, _)| p.len()))
            .collect();
        counts.sort_unstable_by(|a, b| b.cmp(a));
        let total: usize = counts.iter().sum();
        let top: usize = counts.iter().take(items.len().div_ceil(5)).sum();
        assert!(top * 5 >= total * 2, "{}: top fifth sells {top} of {total}", category.name);
    }
    // The mean net price of the products whose names start with `prefix`.
    let mean = |prefix: &str| {
        let prices: Vec<i64> = by_product
            .iter()
            .filter(|((_, n), _)| n.starts_with(prefix))
            .flat_map(|(_, (p, _))| p.clone())
            .collect();
        assert!(prices.len() > 20, "{prefix}: {} orders", prices.len());
        prices.iter().sum::<i64>() as f64 / prices.len() as f64
    };
    // A 55-inch OLED costs about twice a 55-inch LED.
    let (oled, led) = (mean("Telewizor OLED 55"), mean("Telewizor LED 55"));
    assert!(oled > 1.8 * led, "OLED {oled} against LED {led} grosz");
}

#[test]
fn quantity_follows_the_category() {
    let orders = orders_from(&mut seeded(4), MARCH, 100_000);
    let share_single = |category: &str| {
        let of: Vec<&Order> = orders.iter().filter(|o| o.kategoria_produktu.name == category).collect();
        of.iter().filter(|o| o.ilosc == 1).count() as f64 / of.len() as f64
    };
    assert!(share_single("Telewizory") > 0.94, "{}", share_single("Telewizory"));
    assert!(share_single("Akcesoria") < 0.65, "{}", share_single("Akcesoria"));
}

#[test]
fn payment_mix_per_channel_is_the_scenarios_and_instalments_follow_the_basket() {
    let mut g = seeded(5);
    let mix = g.model().mix().clone();
    let orders = orders_from(&mut g, MARCH, 300_000);
    for channel in Channel::ALL {
        // In the 500-2,000 zł band the shares are the file's as written.
        let band: Vec<&Order> = orders
            .iter()
            .filter(|o| o.sales_channel == *channel && (50_000..200_000).contains(&o.wartosc_brutto))
            .collect();
        assert!(band.len() > 10_000, "{channel}: {}", band.len());
        for (payment, want) in mix.payment_shares(*channel, 100_000) {
            let got = band.iter().filter(|o| o.payment_method == payment).count() as f64 / band.len() as f64;
            // Binomial sd is at most 0.005 here; the tolerance is 4 sd.
            assert!((got - want).abs() < 0.02, "{channel} {payment}: {got:.3} against {want:.3}");
        }
    }
    let online = |o: &&Order| o.sales_channel == Channel::Online;
    let share = |p: Payment, of: &[&Order]| {
        of.iter().filter(|o| o.payment_method == p).count() as f64 / of.len() as f64
    };
    let all_online: Vec<&Order> = orders.iter().filter(online).collect();
    let all_store: Vec<&Order> = orders.iter().filter(|o| !online(o)).collect();
    assert!(share(Payment::Blik, &all_online) > share(Payment::CreditCard, &all_online));
    assert!(share(Payment::CreditCard, &all_store) > share(Payment::Cash, &all_store));
    assert!(share(Payment::Cash, &all_store) > share(Payment::Blik, &all_store));
    assert_eq!(share(Payment::BankTransfer, &all_store), 0.0, "no bank transfers at the till");
    for of in [&all_online, &all_store] {
        let cheap: Vec<&Order> = of.iter().copied().filter(|o| o.wartosc_brutto < 50_000).collect();
        let dear: Vec<&Order> = of.iter().copied().filter(|o| o.wartosc_brutto >= 200_000).collect();
        assert!(share(Payment::Instalments, &dear) > 5.0 * share(Payment::Instalments, &cheap));
        assert!(share(Payment::Voucher, of) < 0.05);
    }
}

#[test]
fn every_open_store_sells_in_proportion_to_its_city_and_closed_ones_never() {
    let orders = orders_from(&mut seeded(6), MARCH, 200_000);
    let mut sold: HashMap<&str, usize> = HashMap::new();
    for o in &orders {
        *sold.entry(o.store_id).or_default() += 1;
    }
    for region in Region::ALL {
        for store in region.stores() {
            let n = sold.get(store.id).copied().unwrap_or(0);
            if store.weight > 0.0 {
                assert!(n > 0, "{} sold nothing", store.id);
            } else {
                assert_eq!(n, 0, "{} is closed", store.id);
            }
        }
    }
    assert!(sold["Warszawa Mokotów"] > 3 * sold["Siedlce"]);
}

#[test]
fn orders_of_the_prototypes_chain_and_catalogue_still_decode() {
    let catalogue = crate::builtin_catalogue();
    let old = r#"{"id":7,"timestamp":"2025-11-26T09:15:02.345+01:00","store_id":"Krakow","region":"Poludnie","sales_channel":"in_store","device_type":"store","customer_id":"8d3f2c1e-9a4b-4c5d-8e6f-0a1b2c3d4e5f","payment_method":"voucher","nazwa_produktu":"Smartfon budzetowy","marka":"Sony","kategoria_produktu":"Smartfony","ilosc":4,"cena_netto":5999.99,"wartosc_brutto":29519.95,"sprzedawca":"Ewa Jankowska"}"#;
    let order = crate::order::decode_json(old.as_bytes(), &catalogue).expect("a prototype order decodes");
    assert_eq!((order.store_id, order.nazwa_produktu, order.marka), ("Krakow", "Smartfon budzetowy", "Sony"));
    let new = orders_from(&mut seeded(8), MARCH, 1)[0];
    assert!(new.store_id != "Krakow");
}

/// The figures the table in docs/cli.md shows: November 2026 (Black Friday included) with
/// seed 1. Run with `--nocapture` to print them.
#[test]
fn a_seeded_november_lands_within_the_stated_bounds() {
    let mut g = seeded(1);
    let (from, to) = (1_793_487_600_000_000_f64, 1_796_079_600_000_000_f64); // 2026-11-01/12-01, Polish time
    let mut t = from;
    let mut orders = Vec::new();
    while let Some(next) = g.next_arrival(t).filter(|n| *n < to) {
        t = next;
        orders.push(g.order_at(t as i64));
    }
    let gross: i64 = orders.iter().map(|o| o.wartosc_brutto).sum();
    let ticket = gross as f64 / orders.len() as f64 / 100.0;
    let gross_m = gross as f64 / 1e8;
    println!(
        "| orders | {} |\n| gross | {gross_m:.0} M zł |\n| average ticket | {ticket:.0} zł |",
        orders.len()
    );
    let mut by_category: Vec<(&str, i64)> = Vec::new();
    for o in &orders {
        match by_category.iter_mut().find(|(n, _)| *n == o.kategoria_produktu.name) {
            Some((_, v)) => *v += o.wartosc_brutto,
            None => by_category.push((o.kategoria_produktu.name, o.wartosc_brutto)),
        }
    }
    by_category.sort_by_key(|(_, v)| -v);
    for (name, v) in &by_category {
        println!("| {name} | {:.1} % of gross |", *v as f64 * 100.0 / gross as f64);
    }
    for channel in Channel::ALL {
        let of: Vec<&Order> = orders.iter().filter(|o| o.sales_channel == *channel).collect();
        let mix: Vec<String> = Payment::ALL
            .iter()
            .map(|p| {
                let n = of.iter().filter(|o| o.payment_method == *p).count();
                format!("{p} {:.0} %", n as f64 * 100.0 / of.len() as f64)
            })
            .collect();
        println!("| {channel} ({} orders) | {} |", of.len(), mix.join(", "));
    }
    // A month of a chain turning over 3-15 bn zł a year; November runs above the average.
    assert!((250.0..=1900.0).contains(&gross_m), "{gross_m} M zł");
    assert!((300.0..=2500.0).contains(&ticket), "{ticket} zł");
    assert_eq!(by_category.len(), 5);
    let stores: HashSet<&str> = orders.iter().map(|o| o.store_id).collect();
    assert_eq!(stores.len(), 70, "every store sells in a month");
}
