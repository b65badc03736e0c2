//! Graceful shutdown on SIGINT/SIGTERM, shared by every stage of a process.
//!
//! The first signal sets a flag that loops check between units of work, so producers
//! flush and sinks make their rows durable before exiting 0. Stopping is bounded: if the
//! process has not ended `--shutdown-timeout` after the signal (Google or Kafka
//! unreachable, say), it says what was made durable and exits 1; what was not stays in
//! Kafka with its offsets uncommitted, to be read again next time. A second signal exits
//! at once (code 130), saying the same.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use tracing::{error, warn};

use crate::stats::Stats;

/// How long a stop may take after the first signal unless `--shutdown-timeout` says.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(30);

static GRACE: OnceLock<Duration> = OnceLock::new();

/// Sets how long a stop may take after the first signal (once per process).
pub fn set_grace_period(grace: Duration) {
    let _ = GRACE.set(grace);
}

/// A cloneable "please stop" flag.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    flag: Arc<AtomicBool>,
    /// The counters to sum up in the last words of a forced exit.
    stats: Arc<Mutex<Option<Arc<Stats>>>>,
}

impl Shutdown {
    /// A flag that only [`Shutdown::request`] sets (for tests and embedded use).
    pub fn new() -> Self {
        Self::default()
    }

    /// A flag that SIGINT and SIGTERM set; the stop is then bounded by the grace period,
    /// and a second signal terminates the process at once.
    pub fn on_signals() -> std::io::Result<Self> {
        let shutdown = Self::new();
        let mut signals = Signals::new([SIGINT, SIGTERM])?;
        let watcher = shutdown.clone();
        std::thread::Builder::new().name("signals".into()).spawn(move || {
            let mut signals = signals.forever();
            let Some(first) = signals.next() else { return };
            let grace = GRACE.get().copied().unwrap_or(DEFAULT_GRACE);
            watcher.request();
            warn!(
                signal = signal_name(first),
                "stopping: making what was read durable and leaving the group (at most {}; send the signal again to stop at once)",
                humantime::format_duration(grace)
            );
            let deadline = watcher.clone();
            let _ = std::thread::Builder::new().name("stop-deadline".into()).spawn(move || {
                std::thread::sleep(grace);
                error!(
                    "did not stop within --shutdown-timeout {}; exiting now. {}",
                    humantime::format_duration(grace),
                    deadline.last_words()
                );
                std::process::exit(1);
            });
            if let Some(second) = signals.next() {
                error!(signal = signal_name(second), "second signal: exiting at once. {}", watcher.last_words());
                std::process::exit(130);
            }
        })?;
        Ok(shutdown)
    }

    /// Names the counters that a forced exit sums up.
    pub fn report_on_exit(&self, stats: &Arc<Stats>) {
        *self.stats.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(stats.clone());
    }

    fn last_words(&self) -> String {
        let stats = self.stats.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        let done = stats.map(|s| {
            format!(
                "Durable so far: {} ({} produced, {} read from Kafka). ",
                crate::stats::durable_summary(&s),
                Stats::get(&s.produced),
                Stats::get(&s.consumed)
            )
        });
        format!(
            "{}Offsets are committed only for durable rows: the rest stays in Kafka and is read again by the next run (on the embedded broker of `run` it is gone with the process)",
            done.unwrap_or_default()
        )
    }

    /// Asks every holder of this flag to stop.
    pub fn request(&self) {
        self.flag.store(true, Ordering::SeqCst);
    }

    /// True once a stop was asked.
    pub fn requested(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }

    /// Sleeps until `deadline` unless a stop is asked first; returns false in that case.
    pub fn sleep_until(&self, deadline: Instant) -> bool {
        loop {
            if self.requested() {
                return false;
            }
            let now = Instant::now();
            if now >= deadline {
                return true;
            }
            std::thread::sleep((deadline - now).min(Duration::from_millis(50)));
        }
    }
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        _ => "signal",
    }
}
