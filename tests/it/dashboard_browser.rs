//! The dashboard page in a real headless Chromium during a live run: its figures match
//! the API, they move while orders arrive, the charts carry the exact totals, the live
//! events reach the screen within a second, and a screenshot lands in target/. Chromium
//! runs headless and is driven over the DevTools protocol, so the page runs in real time.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{free_addr, orderstream, sigterm, spawn_logged, wait_for_log, wait_ready};

/// What `tests/it/browser/cdp.mjs` prints after the page at `url` has run for `wait` in
/// headless Chromium, driven over the DevTools protocol: the live DOM, or with
/// `--measure` the charts' layout as JSON; `--width=PX` and `--screenshot=FILE` too.
fn chromium(url: &str, wait: Duration, options: &[String]) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/browser/cdp.mjs");
    let out = Command::new("node")
        .arg("--experimental-websocket")
        .arg(script)
        .args(["chromium", url, &wait.as_millis().to_string()])
        .args(options)
        .output()
        .expect("node is missing (scripts/test checks for it)");
    assert!(
        out.status.success(),
        "driving chromium failed (scripts/test installs the Debian package chromium): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The page's live DOM after it has run for `wait`; with `screenshot`, a PNG of it.
fn browse(url: &str, wait: Duration, screenshot: Option<&Path>) -> String {
    let options: Vec<String> =
        screenshot.map(|p| format!("--screenshot={}", p.display())).into_iter().collect();
    chromium(url, wait, &options)
}

fn dom(url: &str) -> String {
    browse(url, Duration::from_millis(4000), None)
}

/// The text of the element with `id`.
fn text_of(dom: &str, id: &str) -> String {
    let start = dom.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id} in:\n{dom}"));
    let rest = &dom[start..];
    let open = rest.find('>').unwrap() + 1;
    rest[open..open + rest[open..].find('<').unwrap()].to_string()
}

/// The count in the element with `id`, written with its thousands grouped (`6&nbsp;000`).
fn count_of(dom: &str, id: &str) -> u64 {
    let text = text_of(dom, id).replace("&nbsp;", "");
    text.parse().unwrap_or_else(|_| panic!("#{id} holds {text:?}, not a count"))
}

fn summary(base: &str) -> serde_json::Value {
    serde_json::from_str(
        &ureq::get(&format!("{base}/api/summary")).call().unwrap().body_mut().read_to_string().unwrap(),
    )
    .unwrap()
}

#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "half a minute or more in a debug build; scripts/test runs it optimised"
)]
fn the_dashboard_shows_live_moving_exact_figures_in_chromium() {
    let work = tempfile::tempdir().unwrap();
    let log = work.path().join("run.log");
    let addr = free_addr();
    let mut child = spawn_logged(
        orderstream()
            .args(["run", "--count", "6000", "--rate", "400", "--http", &addr, "--csv-dir"])
            .arg(work.path().join("csv")),
        &log,
    );
    wait_ready(&addr, &mut child);
    let base = format!("http://{addr}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while summary(&base)["orders"].as_u64().unwrap() < 200 {
        assert!(Instant::now() < deadline, "no orders arrive");
        std::thread::sleep(Duration::from_millis(100));
    }

    // During the run: live, and moving.
    let first = dom(&format!("{base}/"));
    assert_eq!(text_of(&first, "status"), "na żywo", "the live events did not connect");
    let n1 = count_of(&first, "k-orders");
    let samples: Vec<i64> = first
        .split("data-samples=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("an order-to-screen sample")
        .split(',')
        .map(|s| s.parse().unwrap())
        .collect();
    let worst = *samples.iter().max().unwrap();
    eprintln!("order to screen in Chromium: {samples:?} ms");
    assert!((0..=1000).contains(&worst), "order to screen took {worst} ms: {samples:?}");
    std::thread::sleep(Duration::from_millis(1500));
    let second = dom(&format!("{base}/"));
    let n2 = count_of(&second, "k-orders");
    assert!(n2 > n1 && n1 > 0, "the figures did not move: {n1} then {n2}");
    assert!(!text_of(&second, "h-written").is_empty());

    // A region filter applies to the live ticker too.
    let polnoc = dom(&format!("{base}/?region=Polnoc"));
    let ticker = &polnoc[polnoc.find("id=\"ticker\"").expect("a ticker")..];
    let ticker = &ticker[..ticker.find("</table>").unwrap()];
    let stores: Vec<&str> =
        ticker.split("<tr>").skip(1).filter_map(|row| row.split("<td>").nth(2)?.split('<').next()).collect();
    assert!(!stores.is_empty(), "no order of the region in the ticker: {ticker}");
    let north: Vec<&str> = orderstream::order::Region::Polnoc.stores().iter().map(|s| s.id).collect();
    for store in &stores {
        assert!(north.contains(store), "{store} is not in Polnoc: {ticker}");
    }

    // Once every order is in: the page and the charts show exactly the API's totals.
    wait_for_log(&log, "still serving the HTTP API", &mut child);
    let api = summary(&base);
    assert_eq!(api["orders"], 6000);
    let done = dom(&format!("{base}/?range=all"));
    assert_eq!(text_of(&done, "k-orders"), "6&nbsp;000", "a count grouped the Polish way");
    let gross = api["gross_value_grosz"].as_i64().unwrap();
    let shown: String = text_of(&done, "k-gross").chars().filter(char::is_ascii_digit).collect();
    assert_eq!(shown.parse::<i64>().unwrap(), gross, "gross value on the page");
    assert!(done.contains("<td>") && done.contains("Najlepsze produkty"));
    let chart =
        ureq::get(&format!("{base}/chart/category.svg")).call().unwrap().body_mut().read_to_string().unwrap();
    for (category, v) in api["by_category"].as_object().unwrap() {
        let exact = format!("{category}: {} brutto", zl(v["gross_value_grosz"].as_i64().unwrap()));
        assert!(chart.contains(&exact), "the {category} bar's tooltip lacks {exact:?}");
    }

    let shot = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/dashboard.png");
    let _ = std::fs::remove_file(&shot);
    browse(&format!("{base}/?range=all"), Duration::from_millis(1500), Some(&shot));
    assert!(std::fs::metadata(&shot).unwrap().len() > 20_000, "screenshot too small");

    sigterm(&child);
    assert!(child.wait().unwrap().success());
}

/// An exact amount as the dashboard writes it: `88 138 037,42 zł`.
fn zl(grosz: i64) -> String {
    let digits = (grosz.abs() / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push('\u{a0}');
        }
        grouped.push(c);
    }
    format!("{}{grouped},{:02} zł", if grosz < 0 { "-" } else { "" }, grosz.abs() % 100)
}

const MONTHS: [&str; 12] =
    ["sty", "lut", "mar", "kwi", "maj", "cze", "lip", "sie", "wrz", "paź", "lis", "gru"];

/// `14:00`.
fn is_clock(label: &str) -> bool {
    let b = label.as_bytes();
    b.len() == 5
        && b[2] == b':'
        && label[..2].parse::<u32>().is_ok_and(|h| h < 24)
        && label[3..].parse::<u32>().is_ok_and(|m| m < 60)
}

/// `30 lis`, `1 sty 2027`, `lis`, `sty 2027`.
fn is_date(label: &str) -> bool {
    let parts: Vec<&str> = label.split(' ').collect();
    let year = |p: &str| p.len() == 4 && p.parse::<u32>().is_ok();
    match parts.as_slice() {
        [day, month] => {
            day.parse::<u32>().is_ok_and(|d| (1..=31).contains(&d)) && MONTHS.contains(month)
                || MONTHS.contains(&parts[0]) && year(parts[1])
        }
        [day, month, y] => {
            day.parse::<u32>().is_ok_and(|d| (1..=31).contains(&d)) && MONTHS.contains(month) && year(y)
        }
        [month] => MONTHS.contains(month),
        _ => false,
    }
}

/// After a 28-day backfill the page reads as a report should, on a laptop and on a
/// phone: every chart fills its card, nothing reaches past the screen, no two texts
/// overlap (their boxes as Chromium lays them out), the time axes read as Polish times
/// and days, the text stays readable, and the tooltips carry exact figures.
#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "half a minute or more in a debug build; scripts/test runs it optimised"
)]
fn after_a_28_day_backfill_the_page_reads_well_at_1400_and_390_px() {
    use chrono::TimeZone;
    let work = tempfile::tempdir().unwrap();
    let log = work.path().join("run.log");
    let addr = free_addr();
    let today = chrono_tz::Europe::Warsaw.from_utc_datetime(&chrono::Utc::now().naive_utc()).date_naive();
    let from = (today - chrono::Duration::days(28)).to_string();
    let mut child = spawn_logged(
        orderstream()
            .args(["run", "--from", &from, "--base-rate", "2", "--then-live", "--seed", "28"])
            .args(["--http", &addr, "--csv-dir"])
            .arg(work.path().join("csv")),
        &log,
    );
    wait_ready(&addr, &mut child);
    wait_for_log(&log, "backfill complete", &mut child);
    let base = format!("http://{addr}");
    // The backfill's orders are all in once two readings a second apart agree (live
    // orders trickle in at two a minute).
    let mut last = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let orders = summary(&base)["orders"].as_u64().unwrap();
        if orders > 10_000 && orders.abs_diff(last) <= 3 {
            break;
        }
        assert!(Instant::now() < deadline, "the backfill's orders did not settle: {orders}");
        last = orders;
        std::thread::sleep(Duration::from_secs(1));
    }

    // The scorecards compare with the period before only where the history reaches it:
    // for the last 30 days it does not (the history is 28 days long), so they do not
    // pretend to; and the range applies at once, even while a partition without orders
    // still holds the watermark back.
    let month = browse(&format!("{base}/?range=30d"), Duration::from_millis(1500), None);
    assert_eq!(text_of(&month, "k-orders-delta"), "&nbsp;", "{month}");

    for width in [1400, 390] {
        for range in ["30d", "24h"] {
            let shot = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join(format!("target/dashboard-28d-{range}-{width}.png"));
            let out = chromium(
                &format!("{base}/?range={range}"),
                Duration::from_millis(3000),
                &[format!("--width={width}"), "--measure".into(), format!("--screenshot={}", shot.display())],
            );
            let page: serde_json::Value = serde_json::from_str(&out).unwrap();
            let at = format!("{range} at {width} px");
            assert_eq!(page["overflowing"], serde_json::json!([]), "{at}: past the right edge");
            assert!(
                page["scrollWidth"].as_u64() <= page["screenWidth"].as_u64(),
                "{at}: scrolls sideways: {page}"
            );
            let charts = page["charts"].as_array().unwrap();
            assert_eq!(charts.len(), 8, "{at}: {page}");
            for chart in charts {
                let name = chart["name"].as_str().unwrap();
                let strings = |key: &str| -> Vec<String> {
                    chart[key].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect()
                };
                assert_eq!(chart["overlaps"], serde_json::json!([]), "{at}, {name}: texts overlap");
                assert_eq!(chart["outside"], serde_json::json!([]), "{at}, {name}: texts outside the chart");
                assert!(
                    chart["smallestPx"].as_f64().unwrap() >= 10.5,
                    "{at}, {name}: text too small: {chart}"
                );
                let (svg, card) = (chart["width"].as_f64().unwrap(), chart["card"].as_f64().unwrap());
                assert!(svg <= card && svg >= card - 30.0, "{at}, {name}: {svg} px in a {card} px card");
                if ["volume", "value", "value-region"].contains(&name) {
                    let ticks = strings("xTicks");
                    assert!(ticks.len() >= 3, "{at}, {name}: too few time ticks {ticks:?}");
                    assert!(ticks.iter().all(|t| is_clock(t) || is_date(t)), "{at}, {name}: ticks {ticks:?}");
                    if range == "24h" {
                        assert!(ticks.iter().any(|t| is_clock(t)), "{at}, {name}: no hour among {ticks:?}");
                    } else {
                        assert!(ticks.iter().all(|t| is_date(t)), "{at}, {name}: {ticks:?}");
                    }
                    assert!(
                        chart["subtitle"].as_str().unwrap().contains("czas polski"),
                        "{at}, {name}: {chart}"
                    );
                    let y = strings("yTicks");
                    assert!(
                        y.len() >= 3 && (name == "volume" || y.iter().all(|l| l.ends_with("zł"))),
                        "{at}, {name}: {y:?}"
                    );
                    assert!(chart["tooltips"].as_u64().unwrap() >= 20, "{at}, {name}: {chart}");
                } else if name == "map" {
                    // A circle per store city, each with its exact figures.
                    assert!(chart["circles"].as_u64().unwrap() >= 40, "{at}, {name}: {chart}");
                } else {
                    let labels = strings("labels");
                    assert!(labels.len() >= 4 && labels.len() % 2 == 0, "{at}, {name}: {labels:?}");
                    assert!(
                        labels.iter().skip(1).step_by(2).all(|l| l.contains("zł") && l.contains("zamówie")),
                        "{labels:?}"
                    );
                }
            }
            assert!(std::fs::metadata(&shot).unwrap().len() > 20_000, "{at}: screenshot too small");
            assert_eq!(page["brokenWords"], serde_json::json!([]), "{at}: words broken inside table cells");
            assert!(page["smallestTextPx"].as_f64().unwrap() >= 10.5, "{at}: page text too small: {page}");
        }
        controls_work_as_a_person_uses_them(&base, width);
    }

    // The tooltips hold exact figures.
    let dom = browse(&format!("{base}/?range=7d"), Duration::from_millis(2000), None);
    let delta = &dom[dom.find("id=\"k-gross-delta\"").expect("a gross value delta")..];
    let delta: String = delta.chars().take(250).collect();
    assert!(
        delta.starts_with("id=\"k-gross-delta\"><span class=\"")
            && delta.contains("%</span> wobec poprzedniego okresu"),
        "{delta}"
    );
    let api = summary(&base);
    let chart =
        ureq::get(&format!("{base}/chart/region.svg")).call().unwrap().body_mut().read_to_string().unwrap();
    for (region, v) in api["by_region"].as_object().unwrap() {
        // The API keeps the record's codes; the chart names regions in Polish.
        let name = orderstream::order::Region::parse(region).expect("a region code").polish_name();
        let exact = format!("{name}: {} brutto", zl(v["gross_value_grosz"].as_i64().unwrap()));
        assert!(chart.contains(&exact), "the {region} bar's tooltip lacks {exact:?}");
    }

    sigterm(&child);
    assert!(child.wait().unwrap().success());
}

/// At `width` px: pick a period, tick two regions, apply, then click a category's bar;
/// the page then shows that view, its address holds it, and its export holds the
/// orders it counts.
fn controls_work_as_a_person_uses_them(base: &str, width: u32) {
    let steps = [
        "pick:#range=7d",
        "click:#pick-region summary",
        "click:#pick-region input[value=\"Polnoc\"]",
        "click:#pick-region input[value=\"Wschod\"]",
        "click:#filters button[type=submit]",
        // The page of the new view has loaded, and its charts have been drawn for their cards.
        "until:location.search.includes('Wschod') && document.readyState === 'complete'",
        "until:document.querySelectorAll('figure[data-chart]:not([data-fitted])').length === 0",
        "click:figure[data-chart=\"category\"] rect[data-value=\"Audio\"]",
        "until:location.search.includes('Audio') && document.readyState === 'complete'",
        "until:document.querySelectorAll('figure[data-chart]:not([data-fitted])').length === 0",
    ];
    let mut options = vec![format!("--width={width}")];
    options.extend(steps.iter().map(|s| format!("--act={s}")));
    let dom = chromium(&format!("{base}/?range=30d"), Duration::from_millis(2500), &options);
    let at = format!("the controls at {width} px");
    let export = dom.split("id=\"export-orders\" href=\"/api/orders.csv?").nth(1).expect("an export link");
    let query = export.split('"').next().unwrap().replace("&amp;", "&");
    let mut pairs: Vec<&str> = query.split('&').collect();
    pairs.sort_unstable();
    assert_eq!(pairs, ["category=Audio", "range=7d", "region=Polnoc", "region=Wschod"], "{at}: {query}");
    for region in ["Polnoc", "Wschod"] {
        assert!(dom.contains(&format!("value=\"{region}\" checked")), "{at}: {region} not ticked");
    }
    // Live orders trickle in (two a minute), so the page, the API and the export, read
    // a moment apart, may differ by an order or two.
    let shown = count_of(&dom, "k-orders");
    let api: serde_json::Value = serde_json::from_str(
        &ureq::get(&format!("{base}/api/summary?{query}"))
            .call()
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap(),
    )
    .unwrap();
    let counted = api["orders"].as_u64().unwrap();
    assert!(shown > 50 && counted.abs_diff(shown) <= 3, "{at}: the page shows {shown}, the API {counted}");
    let csv = ureq::get(&format!("{base}/api/orders.csv?{query}"))
        .call()
        .unwrap()
        .body_mut()
        .with_config()
        .limit(1 << 30)
        .read_to_string()
        .unwrap();
    let rows = csv::Reader::from_reader(csv.as_bytes()).records().count() as u64;
    assert!(rows.abs_diff(counted) <= 3, "{at}: the export holds {rows} orders, the page counts {counted}");
}
