//! What the HTTP server shares with the pipeline: the analytics behind a lock, the
//! pipeline counters, and the latest live snapshot for streaming clients.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use crate::analytics::{Analytics, AnalyticsConfig, Outcome};
use crate::generate::catalogue::Category;
use crate::order::Order;
use crate::stats::Stats;

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
}

impl LiveState {
    /// Empty analytics over `categories`.
    pub fn new(
        config: AnalyticsConfig,
        categories: &'static [Category],
        stats: Arc<Stats>,
        csv_dir: Option<std::path::PathBuf>,
    ) -> Arc<Self> {
        Arc::new(LiveState {
            analytics: Mutex::new(Analytics::new(config, categories)),
            stats,
            csv_dir,
            ready: AtomicBool::new(false),
            started: Instant::now(),
        })
    }

    /// Adds a written order; counts late ones in the stats.
    pub fn record(&self, order: &Order) {
        let outcome = self.analytics().record(order);
        if outcome == Outcome::TooLate {
            Stats::add(&self.stats.late, 1);
        }
    }

    /// The analytics, locked.
    pub fn analytics(&self) -> MutexGuard<'_, Analytics> {
        self.analytics.lock().unwrap_or_else(|p| p.into_inner())
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
