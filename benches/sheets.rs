//! Google Sheets sink throughput against the local fake of Google (the one the tests
//! use, with Google's real quota: 60 write requests per minute per user, sliding).
//!
//! - rows mode: orders as fast as the writer takes them, for ORDERSTREAM_BENCH_SHEETS_SECS
//!   seconds (default 150): rows per second overall and in steady state (after the first
//!   minute, whose 60-request burst Google's quota allows), requests per minute, request
//!   sizes.
//! - aggregates mode: a day of backfill orders through the writer with a write every 5 s
//!   of wall time, in orders per second, beside the consumer's rate.
//!
//! Run with `cargo bench --bench sheets`.

#[path = "../tests/it/common/fake_google.rs"]
mod fake_google;

use std::sync::Arc;
use std::time::{Duration, Instant};

use fake_google::{account_key, FakeGoogle, Options};
use orderstream::generate::{Generator, GeneratorConfig};
use orderstream::sheets::aggregates::AggregateWriter;
use orderstream::sheets::raw::RawWriter;
use orderstream::sheets::{SheetsClient, SheetsConfig, SheetsMode, Target};
use orderstream::stats::Stats;

fn config(
    google: &FakeGoogle,
    creds: std::path::PathBuf,
    spreadsheet: &str,
    mode: SheetsMode,
) -> SheetsConfig {
    SheetsConfig {
        mode,
        sheets_api: google.url(),
        drive_api: google.url(),
        max_cells_per_tab: 10_000_000,
        ..SheetsConfig::new(creds, Target::Id(spreadsheet.to_string()))
    }
}

fn rows_mode(google: &FakeGoogle, creds: std::path::PathBuf, secs: u64) {
    let spreadsheet = google.create_spreadsheet("bench-rows", true);
    let mut config = config(google, creds, &spreadsheet, SheetsMode::Rows);
    let stats = Stats::new();
    let mut client = SheetsClient::new(&config, stats.clone()).expect("client");
    let mut writer = RawWriter::open(&mut client, &config).expect("open");
    let (mut workbooks, mut in_workbook) = (1, 0);
    let mut generator =
        Generator::new(&GeneratorConfig { seed: Some(11), instance: Some(3), ..Default::default() });
    let started = Instant::now();
    let mut offset = 0i64;
    let mut flushed: Vec<(Instant, u64)> = Vec::new();
    while started.elapsed() < Duration::from_secs(secs) {
        let order = generator.next_order();
        if writer.push(0, offset, &order, &stats) {
            let result = writer.flush(&mut client, &stats).expect("flush");
            flushed.push((Instant::now(), result.rows));
            in_workbook += result.rows;
            // 10 million cells are about 666,000 rows: at this rate a workbook is full
            // in about a minute. Carry on in a new one before it is.
            if in_workbook > 600_000 {
                config.target = Target::Id(google.create_spreadsheet("bench-rows", true));
                writer = RawWriter::open(&mut client, &config).expect("open");
                (workbooks, in_workbook) = (workbooks + 1, 0);
            }
        }
        offset += 1;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let rows: u64 = flushed.iter().map(|f| f.1).sum();
    let minute = Duration::from_secs(60);
    let steady: u64 = flushed.iter().filter(|f| f.0.duration_since(started) >= minute).map(|f| f.1).sum();
    let steady_secs = (elapsed - 60.0).max(1.0);
    let appends: Vec<_> = google.log().into_iter().filter(|l| l.path.ends_with(":append")).collect();
    let mean_bytes = appends.iter().map(|a| a.body_bytes).sum::<usize>() / appends.len().max(1);
    let max_bytes = appends.iter().map(|a| a.body_bytes).max().unwrap_or(0);
    let throttled = appends.iter().filter(|a| a.status == 429).count();
    println!("rows mode, {elapsed:.0} s: {rows} rows in {} appends, {workbooks} workbooks", appends.len());
    println!("  overall            {:>8.0} rows/s", rows as f64 / elapsed);
    println!("  steady (after 60 s) {:>7.0} rows/s", steady as f64 / steady_secs);
    println!("  rows per request   {:>8.0}", rows as f64 / appends.len().max(1) as f64);
    println!("  request bytes      mean {mean_bytes}, max {max_bytes} (limit {})", config.max_request_bytes);
    println!(
        "  busiest minute     {} write requests (limit 60); 429s: {throttled}",
        google.busiest_write_window()
    );
}

fn aggregates_mode(google: &FakeGoogle, creds: std::path::PathBuf) {
    let spreadsheet = google.create_spreadsheet("bench-aggregates", true);
    let config = config(google, creds, &spreadsheet, SheetsMode::Aggregates);
    let stats = Arc::new(Stats::default());
    let mut client = SheetsClient::new(&config, stats.clone()).expect("client");
    let mut writer = AggregateWriter::open(&mut client, &config).expect("open");
    let mut generator =
        Generator::new(&GeneratorConfig { seed: Some(12), instance: Some(4), ..Default::default() });
    // 2026-11-20 (a Friday) in Poland, at the default load curve.
    let (from, to) = (1_795_129_200_000_000.0, 1_795_215_600_000_000.0);
    let mut t = from;
    let started = Instant::now();
    let (mut orders, mut last_flush) = (0u64, Instant::now());
    while let Some(next) = generator.next_arrival(t).filter(|n| *n < to) {
        t = next;
        let order = generator.order_at(t as i64);
        let full = writer.push(0, orders as i64, &order);
        orders += 1;
        if full || last_flush.elapsed() >= config.flush_interval {
            writer.flush(&mut client, &stats).expect("flush");
            last_flush = Instant::now();
        }
    }
    writer.flush(&mut client, &stats).expect("flush");
    let elapsed = started.elapsed().as_secs_f64();
    let rows = google.rows(&spreadsheet, "Data").len() - 1;
    println!("aggregates mode: a day of backfill, {orders} orders in {elapsed:.1} s");
    let writes = Stats::get(&stats.sheets_write_requests);
    println!(
        "  {:>9.0} orders/s into {rows} per-minute rows, {writes} write requests",
        orders as f64 / elapsed
    );
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing and only
    // checks that this builds and starts.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let secs =
        std::env::var("ORDERSTREAM_BENCH_SHEETS_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(150);
    let keys = tempfile::tempdir().expect("temp dir");
    // One fake each, so that each mode has the whole quota.
    let google = FakeGoogle::start(Options::default());
    aggregates_mode(&google, google.key_file(keys.path(), account_key()));
    let google = FakeGoogle::start(Options::default());
    rows_mode(&google, google.key_file(keys.path(), account_key()), secs);
}
