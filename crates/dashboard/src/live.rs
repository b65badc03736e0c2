//! Server-sent events: the latest snapshot pushed to every client as it changes.
//!
//! A publisher builds one snapshot at most every [`PUBLISH_EVERY`] when something moved
//! and puts it into a `watch` channel, which keeps only the newest value: a slow or
//! stalled client skips snapshots instead of queueing them, so memory per client stays
//! constant however many clients there are.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::Stream;
use serde::Serialize;
use tokio::sync::watch;

use super::state::LiveState;
use crate::analytics::{Filter, Summary};
use crate::order::Order;
use crate::stats::Stats;

/// How often the publisher looks for news.
pub(super) const PUBLISH_EVERY: Duration = Duration::from_millis(250);

/// Orders in each snapshot's ticker, newest first.
pub(super) const TICKER: usize = 50;

/// What a client receives.
#[derive(Debug, Serialize)]
struct Snapshot {
    written: u64,
    /// Orders written by each sink beside the CSV files that runs here, by name.
    sinks: Vec<(&'static str, u64)>,
    /// Messages the consumer is behind.
    lag: i64,
    /// The event time of the newest order read (ms).
    newest_ms: Option<i64>,
    /// When orders were last written durably (ms).
    durable_ms: Option<i64>,
    dead_letters: u64,
    late: u64,
    consumed: u64,
    ready: bool,
    summary: Summary,
    ticker: Vec<Order>,
}

fn snapshot(state: &LiveState) -> String {
    let analytics = state.analytics();
    let summary = analytics.summary(&Filter::default(), 10);
    // Enough of the newest orders for a page filtered by region and category to show ten.
    let ticker = analytics.ticker().rev().take(TICKER).copied().collect();
    let newest_ms = analytics.newest_ms();
    drop(analytics);
    let stats = &state.stats;
    let snapshot = Snapshot {
        written: Stats::get(&stats.written),
        sinks: state.side_sinks().into_iter().map(|s| (s.name(), s.written(stats))).collect(),
        lag: state.total_lag(),
        newest_ms,
        durable_ms: state.last_durable_ms(),
        dead_letters: Stats::get(&stats.dead_lettered),
        late: Stats::get(&stats.late),
        consumed: Stats::get(&stats.consumed),
        ready: state.is_ready(),
        summary,
        ticker,
    };
    serde_json::to_string(&snapshot).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// Publishes snapshots until `stop` changes.
pub(super) async fn publish(
    state: Arc<LiveState>,
    tx: watch::Sender<Arc<str>>,
    mut stop: watch::Receiver<bool>,
) {
    let mut last = (u64::MAX, u64::MAX, u64::MAX, false, u64::MAX, i64::MAX);
    let mut tick = tokio::time::interval(PUBLISH_EVERY);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        let now = (
            Stats::get(&state.stats.consumed),
            state.recorded(),
            Stats::get(&state.stats.dead_lettered),
            state.is_ready(),
            state.side_sinks().into_iter().map(|s| s.written(&state.stats)).sum::<u64>(),
            state.total_lag(),
        );
        if now != last {
            last = now;
            let body: Arc<str> = snapshot(&state).into();
            tx.send_replace(body);
        }
    }
}

/// `GET /api/live`.
pub(super) async fn stream(
    State((_, rx)): State<(Arc<LiveState>, watch::Receiver<Arc<str>>)>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let stream = futures_util::stream::unfold((rx, true), |(mut rx, first)| async move {
        if !first && rx.changed().await.is_err() {
            return None;
        }
        let data = rx.borrow_and_update().clone();
        Some((Ok(Event::default().event("snapshot").data(&*data)), (rx, false)))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}
