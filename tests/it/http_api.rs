//! The HTTP API of a live run: its aggregates equal the totals recomputed from the CSV
//! files of the same run, to the grosz; bad requests get 4xx JSON; metrics, health,
//! export and live events answer.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use crate::common::{csv_files, free_addr, grosz, orderstream, sigterm, spawn_logged, wait_for_log};

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Sums {
    orders: u64,
    units: u64,
    net: i64,
    gross: i64,
}

/// Sums of the CSV rows per (region, category).
fn csv_sums(dir: &Path) -> BTreeMap<(String, String), Sums> {
    let mut sums: BTreeMap<(String, String), Sums> = BTreeMap::new();
    for file in csv_files(dir) {
        for row in csv::Reader::from_path(&file).unwrap().records() {
            let row = row.unwrap();
            let (units, price) = (row[11].parse::<u64>().unwrap(), grosz(&row[12]));
            let s = sums.entry((row[3].to_string(), row[10].to_string())).or_default();
            s.orders += 1;
            s.units += units;
            s.net += price * units as i64;
            s.gross += grosz(&row[13]);
        }
    }
    sums
}

fn total(sums: impl Iterator<Item = Sums>) -> Sums {
    sums.fold(Sums::default(), |a, b| Sums {
        orders: a.orders + b.orders,
        units: a.units + b.units,
        net: a.net + b.net,
        gross: a.gross + b.gross,
    })
}

fn api_sums(v: &serde_json::Value) -> Sums {
    Sums {
        orders: v["orders"].as_u64().unwrap(),
        units: v["units"].as_u64().unwrap(),
        net: v["net_value_grosz"].as_i64().unwrap(),
        gross: v["gross_value_grosz"].as_i64().unwrap(),
    }
}

fn get(url: &str) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut response = agent.get(url).call().unwrap_or_else(|e| panic!("GET {url}: {e}"));
    (response.status().as_u16(), response.body_mut().read_to_string().unwrap())
}

fn json(url: &str) -> serde_json::Value {
    let (status, body) = get(url);
    assert_eq!(status, 200, "{url}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// The first server-sent event of `/api/live`.
fn first_event(addr: &str) -> serde_json::Value {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(stream, "GET /api/live HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n").unwrap();
    let reader = BufReader::new(stream);
    for line in reader.lines() {
        let line = line.unwrap();
        if let Some(data) = line.strip_prefix("data: ") {
            return serde_json::from_str(data).unwrap();
        }
    }
    panic!("no event");
}

#[test]
fn the_api_of_a_run_matches_its_csv_files_to_the_grosz() {
    let work = tempfile::tempdir().unwrap();
    let (dir, log) = (work.path().join("csv"), work.path().join("run.log"));
    let addr = free_addr();
    let mut child = spawn_logged(
        orderstream().args(["run", "--count", "20000", "--http", &addr, "--csv-dir"]).arg(&dir),
        &log,
    );
    wait_for_log(&log, "still serving the HTTP API", &mut child);
    let base = format!("http://{addr}");

    let csv = csv_sums(&dir);
    let summary = json(&format!("{base}/api/summary"));
    assert_eq!(api_sums(&summary), total(csv.values().copied()));
    assert_eq!(summary["orders"], 20000);
    for (region, v) in summary["by_region"].as_object().unwrap() {
        let want = total(csv.iter().filter(|((r, _), _)| r == region).map(|(_, s)| *s));
        assert_eq!(api_sums(v), want, "region {region}");
    }
    for (category, v) in summary["by_category"].as_object().unwrap() {
        let want = total(csv.iter().filter(|((_, c), _)| c == category).map(|(_, s)| *s));
        assert_eq!(api_sums(v), want, "category {category}");
    }
    let filtered = json(&format!("{base}/api/summary?region=Polnoc&category=Audio&top=3"));
    assert_eq!(api_sums(&filtered), csv[&("Polnoc".to_string(), "Audio".to_string())]);
    assert!(filtered["top_stores"].as_array().unwrap().len() <= 3);
    let series = json(&format!("{base}/api/series?region=Polnoc"));
    let series_orders: u64 = series.as_array().unwrap().iter().map(|p| p["orders"].as_u64().unwrap()).sum();
    assert_eq!(series_orders, summary["by_region"]["Polnoc"]["orders"].as_u64().unwrap());

    for (query, parameter) in [
        ("/api/summary?region=Mazury", "region"),
        ("/api/summary?category=Drony", "category"),
        ("/api/summary?from=yesterday", "from"),
        // Times at the integer's limits are refused, not answered with nothing.
        ("/api/summary?from=-9223372036854775808", "from"),
        ("/api/summary?to=9223372036854775807", "to"),
        ("/api/series?from=253402300800000", "from"),
        ("/api/summary?top=0", "top"),
        ("/api/summary?colour=red", "colour"),
        ("/api/export?day=26.11.2026", "day"),
    ] {
        let (status, body) = get(&format!("{base}{query}"));
        assert_eq!(status, 400, "{query}: {body}");
        let error: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(error["parameter"], parameter, "{query}: {body}");
    }
    // The page answers a person: a readable error, and a typed-in range shown as chosen.
    let (status, body) = get(&format!("{base}/?region=Mazury"));
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("<p id=\"error\">")
            && body.contains("Mazury")
            && body.contains("Back to the dashboard"),
        "{body}"
    );
    let (status, body) = get(&format!("{base}/?range=2h"));
    assert_eq!(status, 200);
    assert!(
        body.contains("<option value=\"2h\" selected>ostatnie 2h</option>"),
        "the 2h range is not shown as chosen"
    );
    let (status, body) = get(&format!("{base}/no/such/page"));
    assert!(status == 404 && body.contains("no such path"), "{status} {body}");

    let metrics = get(&format!("{base}/metrics")).1;
    assert!(metrics.contains("orderstream_orders_written_total{sink=\"csv\"} 20000"), "{metrics}");
    assert!(
        metrics.contains("orderstream_business_orders_total{region=\"Polnoc\",category=\"Audio\"}"),
        "{metrics}"
    );
    assert_eq!(get(&format!("{base}/healthz")).0, 200);
    assert_eq!(get(&format!("{base}/readyz")).0, 200);

    let file = &csv_files(&dir)[0]; // orders_YYYY-MM-DD.csv
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    let day = &name["orders_".len().."orders_YYYY-MM-DD".len()];
    let (status, export) = get(&format!("{base}/api/export?day={day}"));
    assert_eq!(status, 200);
    assert_eq!(export, std::fs::read_to_string(file).unwrap());
    assert_eq!(get(&format!("{base}/api/export?day=2025-01-01")).0, 404);

    let event = first_event(&addr);
    assert_eq!(event["written"], 20000);
    assert_eq!(event["summary"]["orders"], 20000);
    assert_eq!(event["ticker"].as_array().unwrap().len(), 50);

    sigterm(&child);
    assert!(child.wait().unwrap().success());
}

/// Runs `run --count n --http` in `dir` until it serves, and returns its summary.
fn run_and_summarise(dir: &Path, log: &Path, n: &str) -> serde_json::Value {
    let _ = std::fs::remove_file(log);
    let addr = free_addr();
    let mut child =
        spawn_logged(orderstream().args(["run", "--count", n, "--http", &addr, "--csv-dir"]).arg(dir), log);
    wait_for_log(log, "still serving the HTTP API", &mut child);
    let summary = json(&format!("http://{addr}/api/summary"));
    sigterm(&child);
    assert!(child.wait().unwrap().success());
    summary
}

#[test]
fn a_restarted_run_rebuilds_its_analytics_from_the_csv_files() {
    let work = tempfile::tempdir().unwrap();
    let (dir, log) = (work.path().join("csv"), work.path().join("run.log"));
    let first = run_and_summarise(&dir, &log, "2000");
    assert_eq!(first["orders"], 2000);
    let second = run_and_summarise(&dir, &log, "1000");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("live analytics rebuilt from the CSV files"), "{text}");
    assert_eq!(second["orders"], 3000, "the second run's dashboard should include the first run's orders");
    assert_eq!(api_sums(&second), total(csv_sums(&dir).values().copied()));
}
