//! Pipeline counters shared by the stages of a process, and the progress line that
//! long runs print.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tracing::info;

use crate::kafka::gaps::GapReason;
use crate::shutdown::Shutdown;

/// Counters of everything that moved through this process.
#[derive(Debug, Default)]
pub struct Stats {
    /// Orders handed to the Kafka producer.
    pub produced: AtomicU64,
    /// Orders the broker acknowledged.
    pub delivered: AtomicU64,
    /// Orders the producer could not deliver.
    pub delivery_failed: AtomicU64,
    /// Messages read from Kafka.
    pub consumed: AtomicU64,
    /// Orders durable in the CSV files.
    pub written: AtomicU64,
    /// Messages sent to the dead letters.
    pub dead_lettered: AtomicU64,
    /// Redelivered messages skipped because they were already written.
    pub duplicates_skipped: AtomicU64,
    /// Orders later than the analytics' allowed lateness (written, not in the windows).
    pub late: AtomicU64,
    /// Event time (ms since the Unix epoch) of the latest calendar-timed order, so a
    /// backfill's progress shows how far through history it is; 0 before the first.
    pub generated_up_to_ms: AtomicI64,
    /// Orders in the Google sheet (rows mode) or counted into its totals (aggregates).
    pub sheets_written: AtomicU64,
    /// Write requests sent to the Sheets API (quota: 60 a minute per user).
    pub sheets_write_requests: AtomicU64,
    /// Read requests sent to the Sheets and Drive APIs.
    pub sheets_read_requests: AtomicU64,
    /// Sheets answers of 429 (quota exceeded) despite our own limiter.
    pub sheets_throttled: AtomicU64,
    /// Sheets requests retried after a 429, a 5xx or a timeout.
    pub sheets_retries: AtomicU64,
    /// Orders not appended again because the sheet already had them.
    pub sheets_duplicates_skipped: AtomicU64,
    /// Records that were gone before a reader got them, per reader and reason.
    pub lost: LostRecords,
}

/// Counts of records lost per (sink, reason): gaps are rare, so a lock is cheap.
#[derive(Debug, Default)]
pub struct LostRecords(std::sync::Mutex<std::collections::BTreeMap<(&'static str, GapReason), u64>>);

impl LostRecords {
    /// Counts `n` records that `sink` found missing for `reason`.
    pub fn add(&self, sink: &'static str, reason: GapReason, n: u64) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()).entry((sink, reason)).or_default() += n;
    }

    /// Every (sink, reason) with its count.
    pub fn snapshot(&self) -> Vec<((&'static str, GapReason), u64)> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).iter().map(|(k, v)| (*k, *v)).collect()
    }

    /// Records `sink` found missing, for any reason.
    pub fn of_sink(&self, sink: &str) -> u64 {
        self.snapshot().into_iter().filter(|((s, _), _)| *s == sink).map(|(_, n)| n).sum()
    }
}

impl Stats {
    /// Shared, zeroed counters.
    pub fn new() -> Arc<Self> {
        Arc::new(Stats::default())
    }

    /// Adds `n` to a counter.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Reads a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// Logs totals and rates every interval while it lives; dropping it stops the thread.
pub struct ProgressReporter {
    stop: Shutdown,
    thread: Option<JoinHandle<()>>,
}

impl ProgressReporter {
    /// Starts logging the progress of `stats` every `every`.
    pub fn start(stats: Arc<Stats>, every: Duration) -> Self {
        let stop = Shutdown::new();
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("progress".into())
            .spawn(move || report_until(&stats, every, &flag))
            .ok();
        ProgressReporter { stop, thread }
    }
}

impl Drop for ProgressReporter {
    fn drop(&mut self) {
        self.stop.request();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn report_until(stats: &Stats, every: Duration, stop: &Shutdown) {
    let mut last = (Instant::now(), 0u64, 0u64, 0u64);
    while stop.sleep_until(Instant::now() + every) {
        let now = Instant::now();
        let produced = Stats::get(&stats.delivered);
        let written = Stats::get(&stats.written);
        let in_sheet = Stats::get(&stats.sheets_written);
        let secs = now.duration_since(last.0).as_secs_f64().max(1e-9);
        if produced == last.1 && written == last.2 && in_sheet == last.3 {
            continue;
        }
        let sheets = (in_sheet > 0).then(|| {
            format!(
                "{in_sheet} ({:.0}/s, {} write requests)",
                (in_sheet - last.3) as f64 / secs,
                Stats::get(&stats.sheets_write_requests)
            )
        });
        let up_to = stats.generated_up_to_ms.load(Ordering::Relaxed);
        let event_time = (up_to != 0).then(|| {
            let mut text = Vec::new();
            crate::order::EventTime::in_poland(up_to * 1000).write_iso8601(&mut text);
            String::from_utf8_lossy(&text).into_owned()
        });
        info!(
            event_time = event_time.unwrap_or_default(),
            produced,
            produce_rate = format!("{:.0}/s", (produced - last.1) as f64 / secs),
            written,
            write_rate = format!("{:.0}/s", (written - last.2) as f64 / secs),
            in_sheet = sheets.unwrap_or_default(),
            dead_letters = Stats::get(&stats.dead_lettered),
            delivery_failures = Stats::get(&stats.delivery_failed),
            "progress"
        );
        last = (now, produced, written, in_sheet);
    }
}
