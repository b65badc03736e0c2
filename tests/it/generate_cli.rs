//! The calendar generator from the command line: reproducible backfills, scenario files
//! and their errors, and a backfill through the whole pipeline into the day's CSV file.

use std::time::Duration;

use crate::common::{assert_ok, csv_files, csv_ids, orderstream, run_within, stderr};

const SCENARIOS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios");

fn generate(args: &[&str]) -> std::process::Output {
    run_within(orderstream().arg("generate").args(args), Duration::from_secs(120))
}

#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "half a minute or more in a debug build; scripts/test runs it optimised"
)]
fn a_seeded_backfill_is_byte_identical_and_in_time_order() {
    let args = ["--from", "2026-03-01", "--to", "2026-03-02", "--seed", "42"];
    let (a, b) = (generate(&args), generate(&args));
    assert_ok(&a);
    assert_ok(&b);
    assert!(a.stdout.len() > 1_000_000, "{} bytes", a.stdout.len());
    assert!(a.stdout == b.stdout, "same seed and range gave different output");
    let other = generate(&["--from", "2026-03-01", "--to", "2026-03-02", "--seed", "43"]);
    assert!(other.stdout != a.stdout);

    let mut last = i64::MIN;
    for line in a.stdout.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let order = orderstream::order::decode_json(line, &orderstream::generate::builtin_catalogue())
            .expect("valid order");
        let date = order.timestamp.local_date().to_string();
        assert!(date == "2026-03-01" || date == "2026-03-02", "{date}");
        assert!(order.timestamp.utc_micros >= last);
        last = order.timestamp.utc_micros;
    }
}

#[test]
fn a_scenario_typo_names_the_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("typo.toml");
    std::fs::write(&path, "base_rate_per_minute = 60.0\n\n[[promotions]]\nname = \"Sale\"\nfrom = \"06-01\"\nto = \"06-07\"\nuplfit = 2.0\n").unwrap();
    let out = generate(&["--count", "1", "--scenario", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("typo.toml") && err.contains("line 7") && err.contains("unknown field `uplfit`"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");

    std::fs::write(&path, "[channels.online]\nshare = 1.0\nhours = [1.0, 2.0]\nweekdays = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]\n").unwrap();
    let err = stderr(&generate(&["--count", "1", "--scenario", path.to_str().unwrap()]));
    assert!(err.contains("channels.online.hours") && err.contains("needs 24 values"), "{err}");

    std::fs::write(
        &path,
        "[[seasons]]\nname = \"X\"\nfrom = \"12-01\"\nto = \"12-24\"\ncategories = { Konsole = 2.0 }\n",
    )
    .unwrap();
    let err = stderr(&generate(&["--count", "1", "--scenario", path.to_str().unwrap()]));
    assert!(
        err.contains("seasons[0] (X).categories")
            && err.contains("Konsole")
            && err.contains("unknown category"),
        "{err}"
    );

    let err = stderr(&generate(&["--count", "1", "--scenario", "/nonexistent/s.toml"]));
    assert!(err.contains("cannot read scenario file /nonexistent/s.toml"), "{err}");
}

#[test]
fn bad_time_flags_get_clear_errors() {
    let err = stderr(&generate(&["--from", "2024-06-01", "--to", "2024-06-02"]));
    assert!(err.contains("before 2025-01-01"), "{err}");
    let err = stderr(&generate(&["--from", "2026-03-02", "--to", "2026-03-01"]));
    assert!(err.contains("--to must be after --from"), "{err}");
    let err = stderr(&generate(&["--from", "2026-01-01", "--to", "2999-01-01"]));
    assert!(err.contains("in the future"), "{err}");
    let err = stderr(&generate(&["--from", "yesterday"]));
    assert!(err.contains("invalid time \"yesterday\""), "{err}");
    let out = generate(&["--from", "2026-01-01", "--rate", "10"]);
    assert!(!out.status.success() && stderr(&out).contains("--rate"), "{}", stderr(&out));
}

#[test]
fn the_example_scenario_replaces_the_catalogue_and_its_launch_week_sells_consoles() {
    let example = format!("{SCENARIOS}/example-gaming-launch.toml");
    let share = |from: &str| {
        let out = generate(&[
            "--scenario",
            &example,
            "--from",
            from,
            "--to",
            from,
            "--seed",
            "1",
            "--base-rate",
            "20",
        ]);
        assert_ok(&out);
        let text = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.iter().all(|l| l.contains("\"kategoria_produktu\":\"Konsole\"")
            || l.contains("\"kategoria_produktu\":\"Gry\"")
            || l.contains("\"kategoria_produktu\":\"Akcesoria\"")));
        let consoles = lines.iter().filter(|l| l.contains("\"Konsole\"")).count();
        (consoles as f64 / lines.len() as f64, lines.len())
    };
    let (before, n_before) = share("2026-10-08");
    let (launch, n_launch) = share("2026-10-15");
    assert!(n_launch as f64 > 1.3 * n_before as f64, "{n_before} orders before, {n_launch} in launch week");
    assert!(launch > 1.5 * before, "console share {before:.3} before, {launch:.3} in launch week");
}

#[test]
fn a_backfill_through_the_pipeline_lands_in_that_days_file() {
    let dir = tempfile::tempdir().unwrap();
    let example = format!("{SCENARIOS}/example-gaming-launch.toml");
    let out = run_within(
        orderstream()
            .args(["run", "--from", "2026-01-10", "--to", "2026-01-10", "--base-rate", "5", "--seed", "4"])
            .args(["--scenario", &example, "--csv-dir"])
            .arg(dir.path()),
        Duration::from_secs(120),
    );
    assert_ok(&out);
    let files = csv_files(dir.path());
    let names: Vec<String> =
        files.iter().map(|f| f.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["orders_2026-01-10.csv"]);
    let ids = csv_ids(dir.path());
    assert!(ids.len() > 1_000, "{} orders", ids.len());
    let err = stderr(&out);
    assert!(err.contains("dead_letters=0"), "the consumer must accept the scenario's catalogue:\n{err}");
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(text.contains(",Konsole,") || text.contains(",Gry,"), "{}", &text[..text.len().min(500)]);
}

#[test]
fn then_live_carries_on_in_real_time_after_the_backfill() {
    use std::io::BufRead;
    orderstream::clock::init_from_env().unwrap();
    let started = orderstream::clock::now_micros();
    let from = chrono::DateTime::from_timestamp_micros(started - 600_000_000).unwrap().to_rfc3339();
    // One run, stopped once it has emitted orders made after it started: how many the
    // backfill holds (the time of day decides) does not matter.
    let mut child = orderstream()
        .args(["generate", "--from", &from, "--then-live", "--base-rate", "6000", "--seed", "3"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    std::thread::spawn(move || {
        // A run that emits nothing must not hang the suite.
        std::thread::sleep(Duration::from_secs(150));
        let _ = std::process::Command::new("kill").args(["-9", &pid]).status();
    });
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut orders = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    let (mut live, mut stopped) = (0, false);
    // Read to the end: the orders flushed after the signal belong to the run too.
    for line in stdout.lines() {
        let order = orderstream::order::decode_json(
            line.unwrap().as_bytes(),
            &orderstream::generate::builtin_catalogue(),
        )
        .unwrap();
        live += usize::from(order.timestamp.utc_micros > started + 1_000_000);
        orders.push(order);
        if !stopped && (live >= 5 || std::time::Instant::now() > deadline) {
            crate::common::sigterm(&child);
            stopped = true;
        }
    }
    let out = crate::common::wait_output(child, Duration::from_secs(30));
    assert_ok(&out);
    assert!(live >= 5, "only {live} live orders within 90 s; stderr:\n{}", stderr(&out));
    assert!(stderr(&out).contains("backfill complete; continuing live"), "{}", stderr(&out));
    assert!(orders.len() > live, "the backfill emitted nothing before the live orders");
    assert!(orders.windows(2).all(|w| w[0].timestamp.utc_micros <= w[1].timestamp.utc_micros));
    // Timestamps are whole milliseconds.
    assert!(orders[0].timestamp.utc_micros >= started - 600_000_000 - 1_000);
    let last = orders.last().unwrap().timestamp.utc_micros;
    assert!(last <= orderstream::clock::now_micros(), "live orders are not from the future");
}
