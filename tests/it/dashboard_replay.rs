//! The dashboard over a topic filled by a backfill: read from the earliest offset, one
//! partition far ahead of another, its figures must equal the CSV files to the grosz,
//! with nothing counted late.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::*;

/// Orders, units and gross value in grosz.
type Sums = (u64, u64, i64);

/// Sums of the CSV rows per value of `column` (region 3, channel 4, category 10).
fn csv_sums(dir: &Path, column: usize) -> BTreeMap<String, Sums> {
    let mut sums: BTreeMap<String, Sums> = BTreeMap::new();
    for file in csv_files(dir) {
        for row in csv::Reader::from_path(&file).unwrap().records() {
            let row = row.unwrap();
            let s = sums.entry(row[column].to_string()).or_default();
            s.0 += 1;
            s.1 += row[11].parse::<u64>().unwrap();
            s.2 += grosz(&row[13]);
        }
    }
    sums
}

fn api_sums(v: &serde_json::Value) -> Sums {
    (v["orders"].as_u64().unwrap(), v["units"].as_u64().unwrap(), v["gross_value_grosz"].as_i64().unwrap())
}

fn get(url: &str) -> String {
    ureq::get(url).call().unwrap_or_else(|e| panic!("GET {url}: {e}")).body_mut().read_to_string().unwrap()
}

#[test]
#[ignore = "needs Apache Kafka: four weeks of orders, more than the mock cluster keeps; scripts/test runs it"]
fn a_dashboard_replaying_four_weeks_matches_the_csv_files_and_counts_nothing_late() {
    let (brokers, topic) = (real_brokers(), topic("replay"));
    orderstream::clock::init_from_env().unwrap();
    let now = orderstream::clock::now_micros();
    let at = |micros: i64| chrono::DateTime::from_timestamp_micros(micros).unwrap().to_rfc3339();
    let (from, to) = (at(now - 28 * 86_400_000_000), at(now - 3_600_000_000));
    assert_ok(&run_within(
        orderstream()
            .args(["produce", "--brokers", &brokers, "--topic", &topic, "--seed", "5", "--base-rate", "4"])
            .args(["--from", &from, "--to", &to]),
        Duration::from_secs(300),
    ));
    let csv = tempfile::tempdir().unwrap();
    let group = unique("g");
    assert_ok(&run_within(
        orderstream()
            .args(["consume", "--brokers", &brokers, "--topic", &topic, "--group", &group])
            .args(["--idle-exit", "3s", "--csv-dir"])
            .arg(csv.path()),
        Duration::from_secs(300),
    ));
    let by_region = csv_sums(csv.path(), 3);
    let written: u64 = by_region.values().map(|s| s.0).sum();
    assert!(written > 50_000, "{written} orders: a backfill of four weeks");

    let (work, addr) = (tempfile::tempdir().unwrap(), free_addr());
    let log = work.path().join("dashboard.log");
    let mut dashboard = spawn_logged(
        orderstream()
            .args(["dashboard", "--brokers", &brokers, "--topic", &topic, "--group", &unique("dash")])
            .args(["--http", &addr]),
        &log,
    );
    wait_ready(&addr, &mut dashboard);
    let base = format!("http://{addr}");
    let deadline = Instant::now() + Duration::from_secs(180);
    let summary = loop {
        let summary: serde_json::Value =
            serde_json::from_str(&get(&format!("{base}/api/summary?range=all"))).unwrap();
        let seen = summary["orders"].as_u64().unwrap() + summary["late"]["too_late_orders"].as_u64().unwrap();
        if seen >= written {
            break summary;
        }
        assert!(Instant::now() < deadline, "the dashboard read {seen} of {written} orders");
        std::thread::sleep(Duration::from_millis(500));
    };
    let series_json = get(&format!("{base}/api/series?range=all"));
    sigterm(&dashboard);
    let _ = dashboard.wait();

    assert_eq!(summary["late"]["too_late_orders"], 0, "{}", summary["late"]);
    assert_eq!(summary["orders"].as_u64().unwrap(), written);
    for (column, key) in [(3, "by_region"), (10, "by_category"), (4, "by_channel")] {
        let want = csv_sums(csv.path(), column);
        let got: BTreeMap<String, Sums> =
            summary[key].as_object().unwrap().iter().map(|(k, v)| (k.clone(), api_sums(v))).collect();
        assert_eq!(got, want, "{key}");
    }
    // Per Polish day, from the hourly rollup (four weeks are past the minute windows),
    // against the rows of each daily file.
    let series: serde_json::Value = serde_json::from_str(&series_json).unwrap();
    let mut per_day: BTreeMap<String, u64> = BTreeMap::new();
    for point in series.as_array().unwrap() {
        *per_day.entry(point["start"].as_str().unwrap()[..10].to_string()).or_default() +=
            point["orders"].as_u64().unwrap();
    }
    let files: BTreeMap<String, u64> = csv_files(csv.path())
        .iter()
        .map(|f| {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            let rows = csv::Reader::from_path(f).unwrap().records().count() as u64;
            (name["orders_".len().."orders_YYYY-MM-DD".len()].to_string(), rows)
        })
        .collect();
    assert_eq!(per_day, files);

    // A restarted `consume --http` has nothing new to read: its dashboard comes from the
    // four weeks of files alone (minutes, hours and days rebuilt), and matches them.
    let addr = free_addr();
    let log = work.path().join("restarted.log");
    let mut restarted = spawn_logged(
        orderstream()
            .args(["consume", "--brokers", &brokers, "--topic", &topic, "--group", &group])
            .args(["--http", &addr, "--csv-dir"])
            .arg(csv.path()),
        &log,
    );
    wait_ready(&addr, &mut restarted);
    let rebuilt: serde_json::Value =
        serde_json::from_str(&get(&format!("http://{addr}/api/summary?range=all"))).unwrap();
    assert_eq!(rebuilt["late"]["too_late_orders"], 0);
    assert_eq!(rebuilt["orders"].as_u64().unwrap(), written, "{}", std::fs::read_to_string(&log).unwrap());
    for (column, key) in [(3, "by_region"), (10, "by_category"), (4, "by_channel")] {
        let want = csv_sums(csv.path(), column);
        let got: BTreeMap<String, Sums> =
            rebuilt[key].as_object().unwrap().iter().map(|(k, v)| (k.clone(), api_sums(v))).collect();
        assert_eq!(got, want, "{key} after the rebuild");
    }
    // The 7 days before the newest order of the files, from the start of its hour (the
    // hourly rollup answers a week).
    let times: Vec<i64> = csv_files(csv.path())
        .iter()
        .flat_map(|f| {
            csv::Reader::from_path(f)
                .unwrap()
                .records()
                .map(|r| chrono::DateTime::parse_from_rfc3339(&r.unwrap()[1]).unwrap().timestamp_millis())
                .collect::<Vec<_>>()
        })
        .collect();
    let newest = *times.iter().max().unwrap();
    let week: serde_json::Value =
        serde_json::from_str(&get(&format!("http://{addr}/api/summary?from={}", newest - 7 * 86_400_000)))
            .unwrap();
    sigterm(&restarted);
    assert!(restarted.wait().unwrap().success());
    let from = (newest - 7 * 86_400_000).div_euclid(3_600_000) * 3_600_000;
    let want = times.iter().filter(|t| **t >= from).count() as u64;
    assert_eq!(week["orders"].as_u64().unwrap(), want, "orders in the last 7 days after the rebuild");
}
