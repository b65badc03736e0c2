//! Pipeline counters shared by the stages of a process, and what they say was made
//! durable (for the summary of a stop).

use std::sync::atomic::{AtomicI64, AtomicU64};
use std::sync::{Arc, Mutex};

use hdrhistogram::Histogram;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

/// Why records are missing: the label of `orderstream_records_lost_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GapReason {
    /// Below the partition's log start: deleted by retention or delete-records.
    Deleted,
    /// Still in the log or not knowable: the reader was moved past them (offset reset).
    Skipped,
}

impl GapReason {
    /// The label value in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            GapReason::Deleted => "deleted",
            GapReason::Skipped => "skipped",
        }
    }
}

/// A counter of the process: a Prometheus counter, registered once (see
/// [`Stats::register`]) and read by the progress line and the reports.
pub type Count = Counter<u64, AtomicU64>;

/// Counters of everything that moved through this process.
#[derive(Debug, Default)]
pub struct Stats {
    /// Orders handed to the Kafka producer.
    pub produced: Count,
    /// Orders the broker acknowledged.
    pub delivered: Count,
    /// Orders the producer could not deliver.
    pub delivery_failed: Count,
    /// Messages read from Kafka.
    pub consumed: Count,
    /// Orders durable in the CSV files.
    pub written: Count,
    /// Messages sent to the dead letters.
    pub dead_lettered: Count,
    /// Redelivered messages skipped because they were already written.
    pub duplicates_skipped: Count,
    /// Orders later than the analytics' allowed lateness (written, not in the windows).
    pub late: Count,
    /// Event time (ms since the Unix epoch) of the latest calendar-timed order, so a
    /// backfill's progress shows how far through history it is; 0 before the first.
    pub generated_up_to_ms: AtomicI64,
    /// Orders in the Google sheet (rows mode) or counted into its totals (aggregates).
    pub sheets_written: Count,
    /// Orders durable in the PostgreSQL table (new rows; ids it had already not counted).
    pub postgres_written: Count,
    /// Orders durable in the BigQuery table (new rows).
    pub bigquery_written: Count,
    /// Write requests sent to the Sheets API (quota: 60 a minute per user).
    pub sheets_write_requests: Count,
    /// Read requests sent to the Sheets and Drive APIs.
    pub sheets_read_requests: Count,
    /// Sheets answers of 429 (quota exceeded) despite our own limiter.
    pub sheets_throttled: Count,
    /// Sheets requests retried after a 429, a 5xx or a timeout.
    pub sheets_retries: Count,
    /// Orders not appended again because the sheet already had them.
    pub sheets_duplicates_skipped: Count,
    /// Records that were gone before a reader got them, per reader and reason.
    pub lost: LostRecords,
    /// Order timestamp to durable CSV row: the one latency histogram of the process.
    pub latency: Latency,
}

/// Labels of a per-sink counter.
type SinkReason = Vec<(String, String)>;

/// Records lost per (sink, reason).
#[derive(Debug, Default)]
pub struct LostRecords(Family<SinkReason, Count>);

impl LostRecords {
    /// Counts `n` records that `sink` found missing for `reason`.
    pub fn add(&self, sink: &'static str, reason: GapReason, n: u64) {
        self.0.get_or_create(&labels(sink, reason)).inc_by(n);
    }
}

fn labels(sink: &str, reason: GapReason) -> SinkReason {
    vec![("sink".into(), sink.into()), ("reason".into(), reason.as_str().into())]
}

/// Upper bounds (seconds) of the latency histogram's buckets in `/metrics`.
pub const LATENCY_BUCKETS: [f64; 17] = {
    let mut bounds = [0.0; 17];
    let mut i = 0;
    let mut bound = 0.001;
    while i < 17 {
        bounds[i] = bound;
        bound *= 2.0;
        i += 1;
    }
    bounds
};

/// Microseconds from an order's timestamp to its durable row, with exact quantiles
/// (HdrHistogram, 3 significant digits), exported to Prometheus as a bucketed histogram.
#[derive(Debug)]
pub struct Latency(Mutex<Histogram<u64>>);

impl Default for Latency {
    fn default() -> Self {
        let histogram = Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds");
        Latency(Mutex::new(histogram))
    }
}

impl Latency {
    fn histogram(&self) -> std::sync::MutexGuard<'_, Histogram<u64>> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records the latencies of orders with these event times (µs), made durable `now`.
    pub fn record(&self, now_micros: i64, event_times: &[i64]) {
        let mut histogram = self.histogram();
        for t in event_times {
            histogram.saturating_record((now_micros - t).max(0) as u64);
        }
    }

    /// p50, p99 and max in milliseconds, if anything was recorded.
    pub fn quantiles_ms(&self) -> Option<(f64, f64, f64)> {
        let h = self.histogram();
        if h.is_empty() {
            return None;
        }
        let ms = |v: u64| v as f64 / 1000.0;
        Some((ms(h.value_at_quantile(0.5)), ms(h.value_at_quantile(0.99)), ms(h.max())))
    }

    /// The sum (seconds), the count and the count in each bucket of [`LATENCY_BUCKETS`]
    /// (then +Inf), for a Prometheus histogram.
    pub fn buckets(&self) -> (f64, u64, Vec<(f64, u64)>) {
        let h = self.histogram();
        let count = h.len();
        let sum = h.mean() * count as f64 / 1e6;
        let mut below = 0;
        let mut buckets = Vec::with_capacity(LATENCY_BUCKETS.len() + 1);
        for bound in LATENCY_BUCKETS {
            let cumulative = if count == 0 { 0 } else { h.count_between(0, (bound * 1e6) as u64) };
            buckets.push((bound, cumulative.saturating_sub(below)));
            below = below.max(cumulative);
        }
        buckets.push((f64::INFINITY, count.saturating_sub(below)));
        (sum, count, buckets)
    }
}

impl Stats {
    /// Shared, zeroed counters.
    pub fn new() -> Arc<Self> {
        Arc::new(Stats::default())
    }

    /// Adds `n` to a counter.
    pub fn add(counter: &Count, n: u64) {
        counter.inc_by(n);
    }

    /// Reads a counter.
    pub fn get(counter: &Count) -> u64 {
        counter.get()
    }

    /// Registers every counter with `registry`, once: they are shared, so the registry
    /// reads them live at each scrape.
    pub fn register(&self, registry: &mut Registry) {
        let counters: [(&str, &str, &Count); 10] = [
            ("orders_produced", "Orders handed to the Kafka producer", &self.produced),
            ("orders_delivered", "Orders the broker acknowledged", &self.delivered),
            ("delivery_failures", "Orders the producer could not deliver", &self.delivery_failed),
            ("messages_consumed", "Messages read from Kafka", &self.consumed),
            ("dead_letters", "Messages sent to the dead letters", &self.dead_lettered),
            (
                "late_orders",
                "Orders later than the allowed lateness (in the CSV, not in the windows)",
                &self.late,
            ),
            ("sheets_throttled", "Google answers of 429 (quota exceeded)", &self.sheets_throttled),
            (
                "sheets_retries",
                "Sheets requests retried after a 429, a 5xx or a timeout",
                &self.sheets_retries,
            ),
            (
                "sheets_duplicates_skipped",
                "Orders not appended again because the sheet already had them",
                &self.sheets_duplicates_skipped,
            ),
            (
                "redeliveries_skipped",
                "Redelivered messages skipped because they were already written",
                &self.duplicates_skipped,
            ),
        ];
        for (name, help, counter) in counters {
            registry.register(name, help, counter.clone());
        }
        let written = SinkFamily {
            name: "orders_written",
            help: "Orders durable in a sink.",
            label: "sink",
            counters: vec![
                ("csv", self.written.clone()),
                ("sheets", self.sheets_written.clone()),
                ("postgres", self.postgres_written.clone()),
                ("bigquery", self.bigquery_written.clone()),
            ],
        };
        let requests = SinkFamily {
            name: "sheets_requests",
            help: "Requests sent to the Google Sheets and Drive APIs.",
            label: "kind",
            counters: vec![
                ("write", self.sheets_write_requests.clone()),
                ("read", self.sheets_read_requests.clone()),
            ],
        };
        registry.register_collector(Box::new(written));
        registry.register_collector(Box::new(requests));
        // The CSV sink's series exists from the start, so that alerts see a zero.
        let _ = self.lost.0.get_or_create(&labels("csv", GapReason::Deleted));
        registry.register(
            "records_lost",
            "Records gone from Kafka before a sink read them (retention, delete-records, offset reset)",
            self.lost.0.clone(),
        );
    }
}

/// Counters of one family told apart by one label, each also a field of [`Stats`].
#[derive(Debug)]
struct SinkFamily {
    name: &'static str,
    help: &'static str,
    label: &'static str,
    counters: Vec<(&'static str, Count)>,
}

impl Collector for SinkFamily {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let family: Family<SinkReason, Count> = Family::default();
        for (value, counter) in &self.counters {
            family.get_or_create(&vec![(self.label.to_string(), value.to_string())]).inc_by(counter.get());
        }
        let metric = encoder.encode_descriptor(self.name, self.help, None, family.metric_type())?;
        family.encode(metric)
    }
}

/// The sinks other than the CSV files, by name, with their counters.
pub(crate) fn other_sinks(stats: &Stats) -> [(&'static str, u64); 3] {
    [
        ("sheets", Stats::get(&stats.sheets_written)),
        ("postgres", Stats::get(&stats.postgres_written)),
        ("bigquery", Stats::get(&stats.bigquery_written)),
    ]
}

/// What each sink holds, for last words: only the sinks that wrote something.
pub fn durable_summary(stats: &Stats) -> String {
    let mut parts = Vec::new();
    let csv = Stats::get(&stats.written);
    if csv > 0 {
        parts.push(format!("{csv} orders in the CSV files"));
    }
    for (name, count) in other_sinks(stats) {
        if count > 0 {
            let place = match name {
                "sheets" => "the sheet",
                "postgres" => "the PostgreSQL table",
                _ => "the BigQuery table",
            };
            parts.push(format!("{count} in {place}"));
        }
    }
    if parts.is_empty() {
        "no order durable yet".into()
    } else {
        parts.join(", ")
    }
}
