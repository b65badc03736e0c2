//! The dashboard's views as an analyst slices them: periods counted from now (presets and
//! a from/to span of days), several regions and categories at once, the link onto the
//! newest data, and the exports. Every figure equals a reference computed from the CSV
//! files of the same run, to the grosz; the XLSX export is read back by Python's
//! openpyxl (in a test of its own, which scripts/test runs with openpyxl installed).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use chrono::TimeZone;

use crate::common::{csv_files, free_addr, grosz, orderstream, sigterm, spawn_logged, wait_for_log};

/// The sums the API reports.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Sums {
    orders: u64,
    units: u64,
    net: i64,
    gross: i64,
}

impl Sums {
    fn of(v: &serde_json::Value) -> Sums {
        Sums {
            orders: v["orders"].as_u64().unwrap(),
            units: v["units"].as_u64().unwrap(),
            net: v["net_value_grosz"].as_i64().unwrap(),
            gross: v["gross_value_grosz"].as_i64().unwrap(),
        }
    }

    fn add(&mut self, row: &Row) {
        self.orders += 1;
        self.units += row.units;
        self.net += row.net;
        self.gross += row.gross;
    }
}

/// One CSV row, as much of it as the figures need.
#[derive(Debug, Clone)]
struct Row {
    id: u64,
    ms: i64,
    region: String,
    category: String,
    units: u64,
    net: i64,
    gross: i64,
}

fn row(record: &csv::StringRecord) -> Row {
    let units: u64 = record[11].parse().unwrap();
    Row {
        id: record[0].parse().unwrap(),
        ms: chrono::DateTime::parse_from_rfc3339(&record[1]).unwrap().timestamp_millis(),
        region: record[3].to_string(),
        category: record[10].to_string(),
        units,
        net: grosz(&record[12]) * units as i64,
        gross: grosz(&record[13]),
    }
}

fn csv_rows(dir: &Path) -> Vec<Row> {
    csv_files(dir)
        .iter()
        .flat_map(|f| {
            csv::Reader::from_path(f).unwrap().records().map(|r| row(&r.unwrap())).collect::<Vec<_>>()
        })
        .collect()
}

fn get(url: &str) -> (u16, Vec<u8>) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut response = agent.get(url).call().unwrap_or_else(|e| panic!("GET {url}: {e}"));
    (response.status().as_u16(), response.body_mut().with_config().limit(1 << 30).read_to_vec().unwrap())
}

fn json(url: &str) -> serde_json::Value {
    let (status, body) = get(url);
    assert_eq!(status, 200, "{url}: {}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).unwrap()
}

/// The values of `key` in a query (repeated or comma-separated).
fn values<'a>(query: &'a str, key: &str) -> Vec<&'a str> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .filter(|(k, _)| *k == key)
        .flat_map(|(_, v)| v.split(','))
        .collect()
}

/// The rows a view's figures cover: its span as the API reports it (whole windows), and
/// its regions and categories.
fn covered<'a>(rows: &'a [Row], summary: &serde_json::Value, query: &str) -> Vec<&'a Row> {
    let (from, to) = (summary["from_ms"].as_i64(), summary["to_ms"].as_i64());
    let (regions, categories) = (values(query, "region"), values(query, "category"));
    rows.iter()
        .filter(|r| from.is_none_or(|f| r.ms >= f) && to.is_none_or(|t| r.ms < t))
        .filter(|r| regions.is_empty() || regions.contains(&r.region.as_str()))
        .filter(|r| categories.is_empty() || categories.contains(&r.category.as_str()))
        .collect()
}

/// Today in Poland by the clock the processes run on (`ORDERSTREAM_CLOCK` moves it).
fn polish_today() -> chrono::NaiveDate {
    let now = std::env::var(orderstream::clock::CLOCK_ENV)
        .ok()
        .map(|t| chrono::DateTime::parse_from_rfc3339(&t).unwrap().with_timezone(&chrono::Utc))
        .unwrap_or_else(chrono::Utc::now);
    chrono_tz::Europe::Warsaw.from_utc_datetime(&now.naive_utc()).date_naive()
}

const FILTERS: [&str; 6] = [
    "",
    "region=Polnoc",
    "region=Polnoc&region=Wschod",
    "category=Audio,Laptopy",
    "region=Central&category=Smartfony&category=Telewizory",
    "region=Zachod,Poludnie&category=Akcesoria",
];

#[test]
fn views_and_exports_equal_the_csv_files_for_every_period_and_filter() {
    let work = tempfile::tempdir().unwrap();
    let (dir, log) = (work.path().join("csv"), work.path().join("run.log"));
    let addr = free_addr();
    let from = (polish_today() - chrono::Duration::days(12)).to_string();
    let mut child = spawn_logged(
        orderstream()
            .args(["run", "--from", &from, "--base-rate", "3", "--seed", "11", "--http", &addr])
            // Ten days of history for twelve of files: the oldest days are dropped, and the
            // figures and exports must say so alike.
            .args(["--history", "10d", "--csv-dir"])
            .arg(&dir),
        &log,
    );
    wait_for_log(&log, "still serving the HTTP API", &mut child);
    let base = format!("http://{addr}");
    let rows = csv_rows(&dir);
    assert!(rows.len() > 5000, "{} orders", rows.len());
    // A backfill read in time order counts nothing late, even when the consumer's
    // leaving at the end overtakes the batches the analytics have yet to take in.
    let all = json(&format!("{base}/api/summary"));
    assert_eq!(all["late"], serde_json::json!({"too_late_orders": 0, "late_updates": 0}), "{all}");

    // A span of days picked in the date picker, from the days the files hold.
    let mut days: Vec<chrono::NaiveDate> = rows
        .iter()
        .map(|r| chrono_tz::Europe::Warsaw.timestamp_millis_opt(r.ms).unwrap().date_naive())
        .collect();
    days.sort_unstable();
    days.dedup();
    let custom = format!("from={}&to={}", days[2], days[days.len() - 4]);
    let ranges = ["range=7d", "range=yesterday", "range=this-month", custom.as_str()];
    let mut with_orders = 0;
    for range in ranges {
        for filter in FILTERS {
            let query =
                [range, filter].iter().filter(|q| !q.is_empty()).copied().collect::<Vec<_>>().join("&");
            let summary = json(&format!("{base}/api/summary?{query}"));
            let mut want = Sums::default();
            covered(&rows, &summary, &query).into_iter().for_each(|r| want.add(r));
            assert_eq!(Sums::of(&summary), want, "/api/summary?{query}: late {}", summary["late"]);
            with_orders += usize::from(want.orders > 0);
            // The page shows the same count, grouped the Polish way (asked again if the
            // clock passed an hour between the two requests and moved a rolling period).
            let shown = (0..2)
                .map(|_| {
                    let page = String::from_utf8(get(&format!("{base}/?{query}&static=1")).1).unwrap();
                    let shown = page.split("id=\"k-orders\">").nth(1).unwrap().split('<').next().unwrap();
                    shown.replace('\u{a0}', "")
                })
                .find(|shown| *shown == want.orders.to_string());
            assert!(shown.is_some(), "the page of {query} does not show {} orders", want.orders);
        }
    }
    assert!(with_orders >= 14, "too few views hold orders for the check to mean much: {with_orders}");

    // The custom span is its days, whole, in Polish time.
    let summary = json(&format!("{base}/api/summary?{custom}"));
    let midnight = |d: chrono::NaiveDate| {
        chrono_tz::Europe::Warsaw
            .from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap())
            .unwrap()
            .timestamp_millis()
    };
    assert_eq!(summary["from_ms"], midnight(days[2]));
    assert_eq!(summary["to_ms"], midnight(days[days.len() - 4] + chrono::Duration::days(1)));

    // The page of several regions shows them chosen, and the language can be English.
    let page = String::from_utf8(get(&format!("{base}/?region=Polnoc&region=Wschod&static=1")).1).unwrap();
    for region in ["Polnoc", "Wschod"] {
        assert!(page.contains(&format!("value=\"{region}\" checked>")), "{region} is not shown as chosen");
    }
    assert!(!page.contains("value=\"Central\" checked>"));
    assert!(page.contains("<html lang=\"pl\">") && page.contains("Sklep stacjonarny"), "Polish first");
    assert!(!page.contains(">in_store<") && !page.contains(">credit_card<"), "codes are labelled");
    assert!(page.contains("data-live=\"false\""), "?static=1 leaves the live stream out");
    assert!(!page.contains("Google Sheets"), "no Sheets sink runs, so the health table has none");
    let english = String::from_utf8(get(&format!("{base}/?lang=en&static=1")).1).unwrap();
    assert!(english.contains("<html lang=\"en\">") && english.contains("In store"));
    let (status, body) = get(&format!("{base}/api/summary?lang=de"));
    assert!(status == 400 && String::from_utf8_lossy(&body).contains("lang"));
    let (status, body) = get(&format!("{base}/api/summary?range=fortnight"));
    assert!(status == 400 && String::from_utf8_lossy(&body).contains("last-month"));
    assert_eq!(get(&format!("{base}/api/summary?range=0s")).0, 400, "a period of no length");
    let (status, body) = get(&format!("{base}/api/summary?range=7d&from={}&to={}", days[0], days[1]));
    let body = String::from_utf8_lossy(&body);
    assert!(status == 400 && body.contains("\"range\"") && body.contains("overlap"), "{status} {body}");
    // Everything kept: the export holds the orders the figures count and no others,
    // though the files reach further back than the history.
    let all = json(&format!("{base}/api/summary?range=all"));
    let (_, body) = get(&format!("{base}/api/orders.csv?range=all"));
    let exported = csv::Reader::from_reader(body.as_slice()).records().count() as u64;
    assert!(exported < rows.len() as u64, "nothing was dropped from the history");
    assert_eq!(exported, all["orders"].as_u64().unwrap(), "range=all: from {}", all["from_ms"]);
    // "Data up to" is the newest order read, not the watermark.
    let newest = rows.iter().map(|r| r.ms).max().unwrap();
    assert_eq!(json(&format!("{base}/api/summary"))["newest_ms"], newest);

    // A span before the data: the page offers the newest data, and the link shows it.
    let before = days[0] - chrono::Duration::days(10);
    let query = format!("from={before}&to={}", before + chrono::Duration::days(6));
    let page = String::from_utf8(get(&format!("{base}/?{query}&static=1")).1).unwrap();
    assert!(page.contains("dane do "), "the page says how far the data reaches");
    let jump = page.split("<a id=\"jump\" href=\"/?").nth(1).expect("a link onto the newest data");
    let jump = jump.split('"').next().unwrap().replace("&amp;", "&");
    assert!(jump.contains("static=1"), "the link keeps the view static: {jump}");
    let jump: String = jump.split('&').filter(|p| *p != "static=1").collect::<Vec<_>>().join("&");
    let moved = json(&format!("{base}/api/summary?{jump}"));
    assert!(moved["orders"].as_u64().unwrap() > 0, "{jump}: {moved}");
    assert_eq!(moved["to_ms"], midnight(*days.last().unwrap() + chrono::Duration::days(1)), "{jump}");

    // The orders behind a view: exactly the rows of the files its figures sum.
    for query in
        ["range=7d&region=Polnoc&region=Wschod&category=Audio,Laptopy", &format!("{custom}&region=Central")]
    {
        let summary = json(&format!("{base}/api/summary?{query}"));
        let (status, body) = get(&format!("{base}/api/orders.csv?{query}"));
        assert_eq!(status, 200);
        let mut reader = csv::Reader::from_reader(body.as_slice());
        let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
        assert_eq!(header, orderstream::order::CSV_HEADER);
        let exported: Vec<Row> = reader.records().map(|r| row(&r.unwrap())).collect();
        let mut got = Sums::default();
        exported.iter().for_each(|r| got.add(r));
        assert_eq!(got, Sums::of(&summary), "orders.csv?{query}");
        let ids: BTreeSet<u64> = exported.iter().map(|r| r.id).collect();
        let want: BTreeSet<u64> = covered(&rows, &summary, query).iter().map(|r| r.id).collect();
        assert_eq!(ids.len(), exported.len(), "an order exported twice");
        assert_eq!(ids, want, "orders.csv?{query}");
    }

    // The same orders as pages a person reads, a hundred at a time.
    let query = format!("{custom}&region=Central");
    let (_, csv_body) = get(&format!("{base}/api/orders.csv?{query}"));
    let exported: Vec<String> = csv::Reader::from_reader(csv_body.as_slice())
        .records()
        .map(|r| r.unwrap()[1][..19].replace('T', " "))
        .collect();
    assert!(exported.len() > 200, "{} orders", exported.len());
    let page = |n: usize| String::from_utf8(get(&format!("{base}/orders?{query}&page={n}")).1).unwrap();
    let times = |html: &str| -> Vec<String> {
        html.split("<tr><td>").skip(1).map(|row| row.split('<').next().unwrap().to_string()).collect()
    };
    let (first, second) = (page(1), page(2));
    assert_eq!(times(&first), exported[..100], "the first page");
    assert_eq!(times(&second), exported[100..200], "the second page");
    assert!(first.contains("page=2\">następne") && first.contains("Centrum"), "a next link and labels");
    assert!(second.contains("page=1\">← poprzednie"));
    let last = page(exported.len().div_ceil(100));
    assert_eq!(times(&last).len(), (exported.len() - 1) % 100 + 1, "the last page");
    assert!(!last.contains("następne"));
    assert_eq!(get(&format!("{base}/orders?page=0")).0, 400);

    let query = "range=this-month&region=Polnoc,Poludnie";
    let summary = json(&format!("{base}/api/summary?{query}"));

    // The figures behind each chart, as CSV: every chart's rows add up to the view.
    let page = String::from_utf8(get(&format!("{base}/?{query}&static=1")).1).unwrap();
    assert_eq!(
        page.matches("class=\"panel-csv\" href=\"/api/panel.csv?chart=").count(),
        8,
        "a CSV link per chart"
    );
    for (chart, column) in
        [("region", 4), ("category", 4), ("payment", 4), ("map", 6), ("volume", 4), ("value-region", 4)]
    {
        let (status, body) = get(&format!("{base}/api/panel.csv?chart={chart}&{query}"));
        assert_eq!(status, 200, "{chart}");
        let mut reader = csv::Reader::from_reader(body.as_slice());
        let (mut orders, mut gross) = (0u64, 0i64);
        for record in reader.records() {
            let record = record.unwrap();
            orders += record[column - 2].parse::<u64>().unwrap();
            gross += grosz(&record[column]);
        }
        assert_eq!(orders, summary["orders"].as_u64().unwrap(), "panel {chart}");
        assert_eq!(gross, summary["gross_value_grosz"].as_i64().unwrap(), "panel {chart}");
    }
    assert_eq!(get(&format!("{base}/api/panel.csv?chart=pie")).0, 400);

    sigterm(&child);
    assert!(child.wait().unwrap().success());
}

/// The workbook of a view, read back by Python's openpyxl: the same totals as the API.
#[test]
#[ignore = "needs Python's openpyxl, which scripts/test installs into its venv"]
fn the_workbook_of_a_view_opens_in_openpyxl_with_its_totals() {
    let work = tempfile::tempdir().unwrap();
    let (dir, log) = (work.path().join("csv"), work.path().join("run.log"));
    let addr = free_addr();
    let from = (polish_today() - chrono::Duration::days(40)).to_string();
    let mut child = spawn_logged(
        orderstream()
            .args(["run", "--from", &from, "--base-rate", "1", "--seed", "13", "--http", &addr, "--csv-dir"])
            .arg(&dir),
        &log,
    );
    wait_for_log(&log, "still serving the HTTP API", &mut child);
    let base = format!("http://{addr}");
    for query in ["range=last-month&region=Polnoc,Poludnie", "range=30d&category=Audio&lang=en"] {
        let summary = json(&format!("{base}/api/summary?{query}"));
        assert!(summary["orders"].as_u64().unwrap() > 100, "{query}: {summary}");
        let (status, xlsx) = get(&format!("{base}/api/view.xlsx?{query}"));
        assert_eq!(status, 200);
        let file = work.path().join("view.xlsx");
        std::fs::write(&file, xlsx).unwrap();
        let book = openpyxl(&file);
        let at = format!("{query}: {book}");
        assert_eq!(book["orders"].as_f64().unwrap() as u64, summary["orders"].as_u64().unwrap(), "{at}");
        assert_eq!(book["units"].as_f64().unwrap() as u64, summary["units"].as_u64().unwrap(), "{at}");
        let cents = |v: &serde_json::Value| (v.as_f64().unwrap() * 100.0).round() as i64;
        assert_eq!(cents(&book["gross"]), summary["gross_value_grosz"].as_i64().unwrap(), "{at}");
        assert_eq!(cents(&book["net"]), summary["net_value_grosz"].as_i64().unwrap(), "{at}");
        assert_eq!(cents(&book["regions_gross"]), summary["gross_value_grosz"].as_i64().unwrap(), "{at}");
        let regions = if query.contains("region=") { 2 } else { 5 };
        assert_eq!(book["region_rows"], regions, "{at}");
    }
    sigterm(&child);
    assert!(child.wait().unwrap().success());
}

/// The headline figures and the regions sheet of a workbook, as openpyxl reads them, in
/// either language.
fn openpyxl(file: &Path) -> serde_json::Value {
    let python = std::env::var("ORDERSTREAM_TEST_PYTHON").unwrap_or_else(|_| {
        panic!("ORDERSTREAM_TEST_PYTHON is not set: run this test with scripts/test, which installs openpyxl")
    });
    let script = r#"
import json, sys, openpyxl
book = openpyxl.load_workbook(sys.argv[1], read_only=True)
pl = "Podsumowanie" in book.sheetnames
summary = {r[0]: r[1] for r in book["Podsumowanie" if pl else "Summary"].iter_rows(values_only=True) if r and r[0]}
regions = [r for r in book["Regiony" if pl else "Regions"].iter_rows(min_row=2, values_only=True) if r[0]]
name = lambda p, e: summary[p if pl else e]
print(json.dumps({
    "orders": name("Zamówienia", "Orders"), "units": name("Sztuki", "Units"),
    "gross": name("Wartość brutto", "Gross value"), "net": name("Wartość netto", "Net value"),
    "regions_gross": sum(r[4] for r in regions if r[2]), "region_rows": sum(1 for r in regions if r[2]),
}))
"#;
    let out = Command::new(python).args(["-c", script]).arg(file).output().unwrap();
    assert!(out.status.success(), "openpyxl: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// With well over a year of history, the scorecards compare a period with the same
/// dates a year earlier, and those figures equal the CSV files' too.
#[test]
fn a_period_is_compared_with_the_same_dates_a_year_earlier() {
    let work = tempfile::tempdir().unwrap();
    let (dir, log) = (work.path().join("csv"), work.path().join("run.log"));
    let addr = free_addr();
    // Last month a year earlier starts up to 396 days back: the history (400 days by
    // default) is made longer than the backfill.
    let from = (polish_today() - chrono::Duration::days(430)).to_string();
    let mut child = spawn_logged(
        orderstream()
            .args(["run", "--from", &from, "--base-rate", "0.3", "--seed", "12", "--http", &addr])
            .args(["--history", "440d", "--csv-dir"])
            .arg(&dir),
        &log,
    );
    wait_for_log(&log, "still serving the HTTP API", &mut child);
    let base = format!("http://{addr}");
    let rows = csv_rows(&dir);
    for query in ["range=last-month", "range=last-month&region=Polnoc,Central&category=Audio", "range=30d"] {
        let summary = json(&format!("{base}/api/summary?{query}"));
        let year_ago = &summary["year_ago"];
        assert!(year_ago.is_object(), "{query}: no comparison with a year earlier: {summary}");
        let (from, to) = (year_ago["from_ms"].as_i64().unwrap(), year_ago["to_ms"].as_i64().unwrap());
        let shifted = |ms: i64| {
            let t = chrono_tz::Europe::Warsaw.timestamp_millis_opt(ms).unwrap();
            (t - chrono::Months::new(12)).timestamp_millis()
        };
        // The same dates (a year back only days are kept, so a span starting within a day
        // starts at that day's midnight).
        let same = shifted(summary["from_ms"].as_i64().unwrap());
        assert!(from <= same && same - from < 25 * 3_600_000, "{query}: the same dates a year earlier");
        let (regions, categories) = (values(query, "region"), values(query, "category"));
        let mut want = Sums::default();
        rows.iter()
            .filter(|r| (from..to).contains(&r.ms))
            .filter(|r| regions.is_empty() || regions.contains(&r.region.as_str()))
            .filter(|r| categories.is_empty() || categories.contains(&r.category.as_str()))
            .for_each(|r| want.add(r));
        assert!(want.orders > 0);
        assert_eq!(Sums::of(year_ago), want, "{query}: a year earlier");
        let page = String::from_utf8(get(&format!("{base}/?{query}&static=1")).1).unwrap();
        let yoy = page.split("id=\"k-orders-yoy\">").nth(1).unwrap().split("</div>").next().unwrap();
        assert!(yoy.contains("% rok do roku") || yoy.contains("%</span> rok do roku"), "{query}: {yoy}");
    }
    // Everything kept: the export holds the orders the figures count and no others, even
    // where the oldest day has been dropped from the history.
    let all = json(&format!("{base}/api/summary?range=all"));
    let (_, body) = get(&format!("{base}/api/orders.csv?range=all"));
    let exported = csv::Reader::from_reader(body.as_slice()).records().count() as u64;
    assert_eq!(exported, all["orders"].as_u64().unwrap(), "range=all: {all}");
    // A period whose year before holds nothing has no comparison.
    let first = rows.iter().map(|r| r.ms).min().unwrap();
    let first = chrono_tz::Europe::Warsaw.timestamp_millis_opt(first).unwrap().date_naive();
    let summary = json(&format!("{base}/api/summary?from={first}&to={}", first + chrono::Duration::days(10)));
    assert!(summary["orders"].as_u64().unwrap() > 0 && summary["year_ago"].is_null(), "{summary}");
    sigterm(&child);
    assert!(child.wait().unwrap().success());
}
