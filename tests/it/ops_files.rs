//! The operations files: the Prometheus alert rules pass promtool's check and their unit
//! tests, and every metric the rules and the Grafana dashboard query is one that
//! orderstream really exports.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use crate::common::{free_addr, orderstream, sigterm, spawn_logged, wait_for_log};

const DEPLOY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy");

fn promtool(args: &[&str]) {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(Path::new(DEPLOY).join("prometheus"))
        .output()
        .expect("promtool is missing: scripts/test installs it (Debian package prometheus)");
    assert!(
        out.status.success(),
        "promtool {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn alert_rules_pass_promtool_and_their_unit_tests() {
    promtool(&["check", "rules", "alerts.yml"]);
    promtool(&["test", "rules", "alerts_test.yml"]);
}

/// Metric names (`orderstream_...`) used in `text`, without histogram suffixes.
fn referenced(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (i, _) in text.match_indices("orderstream_") {
        let name: String = text[i..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        let base = ["_bucket", "_count", "_sum"]
            .iter()
            .fold(name.clone(), |n, s| n.strip_suffix(s).map_or(n.clone(), str::to_string));
        names.insert(base);
    }
    names
}

#[test]
fn dashboards_and_alerts_query_metrics_that_exist() {
    let grafana: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{DEPLOY}/grafana/orderstream.json")).unwrap())
            .unwrap();
    let panels = grafana["panels"].as_array().expect("panels");
    assert!(panels.len() >= 6);
    let exprs: Vec<String> = panels
        .iter()
        .flat_map(|p| {
            p["targets"].as_array().unwrap().iter().map(|t| t["expr"].as_str().unwrap().to_string())
        })
        .collect();
    let alerts = std::fs::read_to_string(format!("{DEPLOY}/prometheus/alerts.yml")).unwrap();
    let mut wanted = referenced(&exprs.join("\n"));
    wanted.extend(referenced(&alerts));

    let work = tempfile::tempdir().unwrap();
    let log = work.path().join("run.log");
    let addr = free_addr();
    let mut child = spawn_logged(
        orderstream()
            .args(["run", "--count", "300", "--http", &addr, "--csv-dir"])
            .arg(work.path().join("csv")),
        &log,
    );
    wait_for_log(&log, "still serving the HTTP API", &mut child);
    let metrics =
        ureq::get(&format!("http://{addr}/metrics")).call().unwrap().body_mut().read_to_string().unwrap();
    sigterm(&child);
    assert!(child.wait().unwrap().success());

    // Sample names, plus the declared families (a gauge family with no sample yet, such
    // as the lag before the first statistics, is still exported).
    let exported: BTreeSet<String> = metrics
        .lines()
        .filter_map(|l| match l.strip_prefix("# TYPE ") {
            Some(declared) => declared.split(' ').next(),
            None if !l.starts_with('#') => l.split(['{', ' ']).next(),
            None => None,
        })
        .flat_map(referenced)
        .collect();
    let missing: Vec<&String> = wanted.iter().filter(|n| !exported.contains(*n)).collect();
    assert!(missing.is_empty(), "queried but not exported: {missing:?}\nexported: {exported:?}");
}
