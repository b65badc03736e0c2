//! Progress lines: totals and rates every interval, from a thread of their own, for
//! every long-running command.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tracing::info;

use crate::shutdown::Shutdown;
use crate::stats::{other_sinks, Stats};

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
    let mut last = (Instant::now(), 0u64, 0u64, [0u64; 3]);
    while stop.sleep_until(Instant::now() + every) {
        let now = Instant::now();
        let produced = Stats::get(&stats.delivered);
        let written = Stats::get(&stats.written);
        let others = other_sinks(stats);
        let counts = others.map(|(_, n)| n);
        let secs = now.duration_since(last.0).as_secs_f64().max(1e-9);
        if produced == last.1 && written == last.2 && counts == last.3 {
            continue;
        }
        // Only the sinks that run (have written), each with its own rate.
        let sinks: Vec<String> = others
            .iter()
            .zip(last.3)
            .filter(|((_, n), _)| *n > 0)
            .map(|((name, n), before)| {
                let requests = if *name == "sheets" {
                    format!(", {} write requests", Stats::get(&stats.sheets_write_requests))
                } else {
                    String::new()
                };
                format!("{name} {n} ({:.0}/s{requests})", n.saturating_sub(before) as f64 / secs)
            })
            .collect();
        let up_to = stats.generated_up_to_ms.load(Ordering::Relaxed);
        let event_time = (up_to != 0).then(|| {
            let mut text = Vec::new();
            crate::order::EventTime::in_poland(up_to * 1000).write_iso8601(&mut text);
            String::from_utf8_lossy(&text).into_owned()
        });
        // A count this process has no part in (a sink command produces nothing; `produce`
        // writes nothing) is left out rather than shown as 0.
        let rate = |now: u64, before: u64| format!("{:.0}/s", now.saturating_sub(before) as f64 / secs);
        let (produce_rate, write_rate) =
            ((produced > 0).then(|| rate(produced, last.1)), (written > 0).then(|| rate(written, last.2)));
        let (dead_letters, delivery_failures) =
            (Stats::get(&stats.dead_lettered), Stats::get(&stats.delivery_failed));
        let other_sinks = (!sinks.is_empty()).then(|| sinks.join(", "));
        info!(
            event_time,
            produced = (produced > 0).then_some(produced),
            produce_rate,
            written = (written > 0).then_some(written),
            write_rate,
            other_sinks,
            dead_letters,
            delivery_failures,
            "progress"
        );
        last = (now, produced, written, counts);
    }
}
