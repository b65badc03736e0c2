//! What the HTTP server shares with the pipeline: the analytics behind a lock, the
//! pipeline counters, and the latest live snapshot for streaming clients.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use crate::analytics::{Analytics, AnalyticsConfig, Outcome};
use crate::kafka::observer::PipelineObserver;
use crate::order::Catalogue;
use crate::order::Order;
use crate::stats::Stats;

/// Durable orders with the partitions they came from.
type OrderBatch = Vec<(i32, Order)>;

/// What the analytics thread takes, in the order the consumer said it: a change of
/// assignment applies after the batches handed over before it, so that partitions
/// revoked at the end of a run still hold the watermark back for their queued orders.
#[derive(Debug)]
enum Work {
    /// Durable orders.
    Orders(OrderBatch),
    /// The partitions the consumer reads now.
    Assign(Vec<i32>),
}

/// Live state of one process, fed by its consumer and read by its HTTP server.
#[derive(Debug)]
pub struct LiveState {
    analytics: Mutex<Analytics>,
    /// Pipeline counters of this process.
    pub stats: Arc<Stats>,
    /// Where the CSV files go, for the export and the health page.
    pub csv_dir: Option<std::path::PathBuf>,
    ready: AtomicBool,
    started: Instant,
    /// How far back the finest and the coarsest resolutions reach: a rebuild reads the
    /// files of the longer.
    retention: std::time::Duration,
    history: std::time::Duration,
    /// Batches for the analytics thread, so the consumer's thread does not wait for it.
    queue: Mutex<Option<std::sync::mpsc::Sender<Work>>>,
    submitted: AtomicU64,
    recorded: AtomicU64,
    partitions: Mutex<BTreeMap<i32, PartitionLag>>,
    /// The sinks beside the CSV files that this process runs, for the health table.
    side_sinks: Mutex<Vec<SideSinkKind>>,
    /// When (ms, the process's clock) orders were last handed over durable.
    last_durable_ms: std::sync::atomic::AtomicI64,
    /// When (ms, the process's clock) orders last reached the analytics.
    last_recorded_ms: std::sync::atomic::AtomicI64,
    /// How long without orders makes the stream idle.
    idle_timeout: std::time::Duration,
    /// `/metrics`: registered once when the state is made.
    registry: prometheus_client::registry::Registry,
}

/// A sink that runs beside the CSV files, with its own consumer group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SideSinkKind {
    /// Google Sheets.
    Sheets,
    /// PostgreSQL.
    Postgres,
    /// BigQuery.
    BigQuery,
}

impl SideSinkKind {
    /// Its name, as the health table and the live events show it.
    pub fn name(self) -> &'static str {
        match self {
            SideSinkKind::Sheets => "Google Sheets",
            SideSinkKind::Postgres => "PostgreSQL",
            SideSinkKind::BigQuery => "BigQuery",
        }
    }

    /// The orders it has written durably.
    pub fn written(self, stats: &Stats) -> u64 {
        Stats::get(match self {
            SideSinkKind::Sheets => &stats.sheets_written,
            SideSinkKind::Postgres => &stats.postgres_written,
            SideSinkKind::BigQuery => &stats.bigquery_written,
        })
    }
}

/// How far a partition's consumer is behind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PartitionLag {
    /// Messages between the consumer's position and the end of the partition.
    pub records: i64,
    /// Event time (ms) of the latest order taken from the partition.
    pub last_event_ms: Option<i64>,
}

impl PartitionLag {
    /// Seconds behind: 0 when caught up, else how old the latest order taken is.
    pub fn seconds(&self) -> f64 {
        match (self.records, self.last_event_ms) {
            (r, Some(t)) if r > 0 => {
                let now = crate::clock::now_millis();
                ((now - t).max(0)) as f64 / 1000.0
            }
            _ => 0.0,
        }
    }
}

impl LiveState {
    /// The metrics registry (counters and the collector of live figures).
    pub(super) fn registry(&self) -> &prometheus_client::registry::Registry {
        &self.registry
    }

    /// Empty analytics over `catalogue`.
    pub fn new(
        config: AnalyticsConfig,
        catalogue: Catalogue,
        stats: Arc<Stats>,
        csv_dir: Option<std::path::PathBuf>,
    ) -> Arc<Self> {
        let state = Arc::new_cyclic(|weak| LiveState {
            retention: config.retention,
            idle_timeout: config.idle_timeout,
            history: config.history,
            analytics: Mutex::new(Analytics::new(config, catalogue)),
            registry: super::metrics::registry(&stats, weak.clone()),
            stats,
            csv_dir,
            ready: AtomicBool::new(false),
            started: Instant::now(),
            partitions: Mutex::new(BTreeMap::new()),
            side_sinks: Mutex::new(Vec::new()),
            last_durable_ms: std::sync::atomic::AtomicI64::new(i64::MIN),
            last_recorded_ms: std::sync::atomic::AtomicI64::new(i64::MIN),
            queue: Mutex::new(None),
            submitted: AtomicU64::new(0),
            recorded: AtomicU64::new(0),
        });
        let (tx, rx) = std::sync::mpsc::channel::<Work>();
        let weak = Arc::downgrade(&state);
        let spawned = std::thread::Builder::new().name("analytics".into()).spawn(move || {
            for work in rx {
                let Some(state) = weak.upgrade() else { return };
                match work {
                    Work::Orders(batch) => {
                        state.record_batch(&batch);
                        state.recorded.fetch_add(batch.len() as u64, Ordering::Release);
                    }
                    Work::Assign(partitions) => state.analytics().assign(&partitions),
                }
            }
        });
        if spawned.is_ok() {
            *state.queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(tx);
        }
        state
    }

    /// Says that `sink` runs in this process, so that the health table shows it (and
    /// only the sinks that run).
    pub fn show_sink(&self, sink: SideSinkKind) {
        let mut sinks = self.side_sinks.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !sinks.contains(&sink) {
            sinks.push(sink);
        }
    }

    /// The sinks beside the CSV files that run here.
    pub fn side_sinks(&self) -> Vec<SideSinkKind> {
        self.side_sinks.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// When orders were last handed over durable (ms), if ever.
    pub fn last_durable_ms(&self) -> Option<i64> {
        Some(self.last_durable_ms.load(Ordering::Acquire)).filter(|t| *t != i64::MIN)
    }

    /// Whether no order has arrived for the idle timeout: what was read is all there is
    /// for now, so a chart's columns that ended before now are final.
    pub fn is_idle(&self) -> bool {
        let last = self.last_recorded_ms.load(Ordering::Acquire);
        let idle_ms = i64::try_from(self.idle_timeout.as_millis()).unwrap_or(i64::MAX);
        last == i64::MIN || crate::clock::now_millis().saturating_sub(last) >= idle_ms
    }

    /// Messages the consumer is behind, over all its partitions.
    pub fn total_lag(&self) -> i64 {
        self.lags().values().map(|l| l.records.max(0)).sum()
    }

    /// Hands durable orders (with their partitions) to the analytics thread; records
    /// them here if that thread is not running.
    pub fn submit(&self, orders: OrderBatch) {
        if orders.is_empty() {
            return;
        }
        let n = orders.len() as u64;
        self.last_durable_ms.store(crate::clock::now_millis(), Ordering::Release);
        let queue = self.queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        self.submitted.fetch_add(n, Ordering::Release);
        let unsent = match queue.as_ref() {
            Some(tx) => tx.send(Work::Orders(orders)).err().map(|e| e.0),
            None => Some(Work::Orders(orders)),
        };
        drop(queue);
        if let Some(Work::Orders(orders)) = unsent {
            self.record_batch(&orders);
            self.recorded.fetch_add(n, Ordering::Release);
        }
    }

    /// The partitions the consumer reads now, applied after the batches handed over
    /// before: through the analytics thread while some are queued, else here at once
    /// (so a reader that records orders itself has them assigned before its first).
    fn assign(&self, partitions: &[i32]) {
        let queue = self.queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let queued = self.recorded.load(Ordering::Acquire) < self.submitted.load(Ordering::Acquire);
        if queued && queue.as_ref().is_some_and(|tx| tx.send(Work::Assign(partitions.to_vec())).is_ok()) {
            return;
        }
        drop(queue);
        self.analytics().assign(partitions);
    }

    /// Waits (up to `limit`) until every submitted order is in the analytics.
    pub fn flush(&self, limit: std::time::Duration) {
        let deadline = Instant::now() + limit;
        while self.recorded.load(Ordering::Acquire) < self.submitted.load(Ordering::Acquire)
            && Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    /// Orders in the analytics so far (changes when the page needs a new snapshot).
    pub fn recorded(&self) -> u64 {
        self.recorded.load(Ordering::Acquire)
    }

    /// Adds durable orders with the partitions they came from; counts late ones.
    pub fn record_batch(&self, orders: &[(i32, Order)]) {
        if orders.is_empty() {
            return;
        }
        self.last_recorded_ms.store(crate::clock::now_millis(), Ordering::Release);
        let late;
        let mut last_event: BTreeMap<i32, i64> = BTreeMap::new();
        {
            let mut analytics = self.analytics();
            late = analytics.record_all(orders).iter().filter(|o| **o == Outcome::TooLate).count() as u64;
            for (partition, order) in orders {
                last_event.insert(*partition, order.timestamp.utc_millis());
            }
        }
        Stats::add(&self.stats.late, late);
        let mut partitions = self.partitions.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for (partition, t) in last_event {
            partitions.entry(partition).or_default().last_event_ms = Some(t);
        }
    }

    /// Sets the lag of `partition` in messages (from the client's statistics).
    pub fn set_lag(&self, partition: i32, records: i64) {
        self.with_partition(partition, |p| p.records = records);
    }

    /// Marks every partition caught up (the consumer has finished and left).
    pub fn clear_lag(&self) {
        self.partitions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values_mut()
            .for_each(|p| p.records = 0);
    }

    /// Lag per partition.
    pub fn lags(&self) -> BTreeMap<i32, PartitionLag> {
        self.partitions.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    fn with_partition(&self, partition: i32, f: impl FnOnce(&mut PartitionLag)) {
        f(self
            .partitions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(partition)
            .or_default());
    }

    /// Adds an order; counts late ones in the stats.
    pub fn record(&self, partition: i32, order: &Order) {
        self.last_recorded_ms.store(crate::clock::now_millis(), Ordering::Release);
        let outcome = self.analytics().record_from(partition, order);
        if outcome == Outcome::TooLate {
            Stats::add(&self.stats.late, 1);
        }
    }

    /// The analytics, locked.
    pub fn analytics(&self) -> MutexGuard<'_, Analytics> {
        self.analytics.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Feeds the daily CSV files of the days the history covers to the analytics (after
    /// a restart) and logs what was read.
    pub fn rebuild_from(&self, dir: &std::path::Path) {
        let now_ms = crate::clock::now_millis();
        let started = Instant::now();
        let span = self.retention.max(self.history);
        let catalogue = self.analytics().catalogue();
        match crate::analytics::rebuild::from_daily_files(dir, &catalogue, now_ms, span, |order| {
            self.analytics().record_final(order, now_ms);
        }) {
            Ok(rebuilt) if rebuilt.files > 0 => tracing::info!(
                orders = rebuilt.orders,
                unreadable_rows = rebuilt.unreadable,
                files = rebuilt.files,
                seconds = format!("{:.1}", started.elapsed().as_secs_f64()),
                "live analytics rebuilt from the CSV files"
            ),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "could not rebuild the live analytics from the CSV files"),
        }
    }

    /// Marks the pipeline ready (the consumer holds its partitions).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }

    /// True once the consumer holds its partitions.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    /// Seconds since start.
    pub fn uptime_secs(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }
}

impl PipelineObserver for LiveState {
    fn files_recovered(&self, csv_dir: &std::path::Path) {
        self.rebuild_from(csv_dir);
    }

    fn durable(&self, orders: Vec<(i32, Order)>) {
        self.submit(orders);
    }

    fn ready(&self, holds_partitions: bool) {
        self.set_ready(holds_partitions);
    }

    fn lag(&self, partition: i32, records: i64) {
        self.set_lag(partition, records);
    }

    fn lag_cleared(&self) {
        self.clear_lag();
    }

    fn settle(&self, limit: std::time::Duration) {
        self.flush(limit);
    }

    fn assigned(&self, partitions: &[i32]) {
        self.assign(partitions);
    }

    fn read(&self, partition: i32, order: &Order) {
        self.record(partition, order);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{Generator, GeneratorConfig};
    use crate::kafka::observer::PipelineObserver;

    /// The consumer leaving at the end of a run revokes its partitions while durable
    /// batches still wait for the analytics thread: they must still count as read under
    /// the assignment they were read in, not as late.
    #[test]
    fn a_revoke_behind_queued_batches_makes_nothing_late() {
        let mut g =
            Generator::new(&GeneratorConfig { seed: Some(3), instance: Some(1), ..Default::default() });
        let catalogue = Catalogue::new(g.model().categories());
        let t0: i64 = 1_780_000_000_000_000;
        // Ten hours of orders for each of two partitions, the first handed over whole
        // before the second: a large batch keeps the analytics thread busy.
        let mut hours = |partition: i32| -> Vec<(i32, Order)> {
            (0..150_000).map(|i| (partition, g.order_at(t0 + i * 240_000))).collect()
        };
        let (first, second) = (hours(0), hours(1));
        let state = LiveState::new(AnalyticsConfig::default(), catalogue, Stats::new(), None);
        state.assigned(&[0, 1]);
        state.durable(first);
        state.durable(second);
        state.assigned(&[]);
        state.settle(std::time::Duration::from_secs(60));
        let summary = state.analytics().summary(&crate::analytics::Filter::default(), 1);
        assert_eq!(summary.total.orders, 300_000);
        assert_eq!(summary.late.too_late_orders, 0, "{:?}", summary.late);
        assert_eq!(summary.late.late_updates, 0, "{:?}", summary.late);
    }
}
