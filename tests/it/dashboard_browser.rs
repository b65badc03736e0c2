//! The dashboard page in a real headless Chromium during a live run: its figures match
//! the API, they move while orders arrive, the charts carry the exact totals, the live
//! events reach the screen within a second, and a screenshot lands in target/. Chromium
//! runs headless and is driven over the DevTools protocol, so the page runs in real time.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{free_addr, orderstream, sigterm, spawn_logged, wait_for_log, wait_ready};

/// The page's live DOM after it has run for `wait` in headless Chromium, driven over the
/// DevTools protocol by `tests/it/browser/cdp.mjs`; with `screenshot`, a PNG of the page.
fn browse(url: &str, wait: Duration, screenshot: Option<&Path>) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/browser/cdp.mjs");
    let mut cmd = Command::new("node");
    cmd.arg("--experimental-websocket").arg(script).args(["chromium", url, &wait.as_millis().to_string()]);
    if let Some(path) = screenshot {
        cmd.arg(path);
    }
    let out = cmd.output().expect("node is missing (scripts/test checks for it)");
    assert!(
        out.status.success(),
        "driving chromium failed (scripts/test installs the Debian package chromium): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn dom(url: &str) -> String {
    browse(url, Duration::from_millis(2500), None)
}

/// The text of the element with `id`.
fn text_of(dom: &str, id: &str) -> String {
    let start = dom.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id} in:\n{dom}"));
    let rest = &dom[start..];
    let open = rest.find('>').unwrap() + 1;
    rest[open..open + rest[open..].find('<').unwrap()].to_string()
}

fn summary(base: &str) -> serde_json::Value {
    serde_json::from_str(
        &ureq::get(&format!("{base}/api/summary")).call().unwrap().body_mut().read_to_string().unwrap(),
    )
    .unwrap()
}

#[test]
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
    assert_eq!(text_of(&first, "status"), "live", "the live events did not connect");
    let n1: u64 = text_of(&first, "k-orders").parse().unwrap();
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
    let n2: u64 = text_of(&second, "k-orders").parse().unwrap();
    assert!(n2 > n1 && n1 > 0, "the figures did not move: {n1} then {n2}");
    assert!(!text_of(&second, "h-written").is_empty());

    // A region filter applies to the live ticker too.
    let polnoc = dom(&format!("{base}/?region=Polnoc"));
    let ticker = &polnoc[polnoc.find("id=\"ticker\"").expect("a ticker")..];
    let ticker = &ticker[..ticker.find("</table>").unwrap()];
    let stores: Vec<&str> =
        ticker.split("<tr>").skip(1).filter_map(|row| row.split("<td>").nth(2)?.split('<').next()).collect();
    assert!(!stores.is_empty(), "no order of the region in the ticker: {ticker}");
    for store in &stores {
        assert!(
            ["Gdansk", "Gdynia", "Bydgoszcz", "Sopot", "Szczecin"].contains(store),
            "{store} is not in Polnoc: {ticker}"
        );
    }

    // Once every order is in: the page and the charts show exactly the API's totals.
    wait_for_log(&log, "still serving the HTTP API", &mut child);
    let api = summary(&base);
    assert_eq!(api["orders"], 6000);
    let done = dom(&format!("{base}/?range=all"));
    assert_eq!(text_of(&done, "k-orders"), "6000");
    let gross = api["gross_value_grosz"].as_i64().unwrap();
    let shown: String = text_of(&done, "k-gross").chars().filter(char::is_ascii_digit).collect();
    assert_eq!(shown.parse::<i64>().unwrap(), gross, "gross value on the page");
    assert!(done.contains("<td>") && done.contains("Top products"));
    let chart =
        ureq::get(&format!("{base}/chart/category.svg")).call().unwrap().body_mut().read_to_string().unwrap();
    for (category, v) in api["by_category"].as_object().unwrap() {
        let label = format!("{:.2} PLN / {} orders", v["gross_value"].as_f64().unwrap(), v["orders"]);
        assert!(chart.contains(&label), "the {category} bar lacks {label:?}");
    }

    let shot = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/dashboard.png");
    let _ = std::fs::remove_file(&shot);
    browse(&format!("{base}/?range=all"), Duration::from_millis(1500), Some(&shot));
    assert!(std::fs::metadata(&shot).unwrap().len() > 20_000, "screenshot too small");

    sigterm(&child);
    assert!(child.wait().unwrap().success());
}
