//! `/metrics` in the Prometheus text format, built from the pipeline counters and the
//! analytics at each scrape.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::state::LiveState;
use crate::analytics::Filter;
use crate::generate::catalogue::REGIONS;
use crate::stats::Stats;

/// The scrape body.
pub(super) fn render(state: &LiveState) -> Result<String, std::fmt::Error> {
    let mut registry = Registry::with_prefix("orderstream");
    let stats = &state.stats;
    let counter = |registry: &mut Registry, name: &str, help: &str, value: u64| {
        let c: Counter = Counter::default();
        c.inc_by(value);
        registry.register(name, help, c);
    };
    counter(
        &mut registry,
        "orders_produced",
        "Orders handed to the Kafka producer",
        Stats::get(&stats.produced),
    );
    counter(
        &mut registry,
        "orders_delivered",
        "Orders the broker acknowledged",
        Stats::get(&stats.delivered),
    );
    counter(
        &mut registry,
        "delivery_failures",
        "Orders the producer could not deliver",
        Stats::get(&stats.delivery_failed),
    );
    counter(&mut registry, "messages_consumed", "Messages read from Kafka", Stats::get(&stats.consumed));
    counter(
        &mut registry,
        "dead_letters",
        "Messages sent to the dead letters",
        Stats::get(&stats.dead_lettered),
    );
    counter(
        &mut registry,
        "late_orders",
        "Orders later than the allowed lateness (in the CSV, not in the windows)",
        Stats::get(&stats.late),
    );
    let written: Family<Vec<(String, String)>, Counter> = Family::default();
    written.get_or_create(&vec![("sink".into(), "csv".into())]).inc_by(Stats::get(&stats.written));
    written.get_or_create(&vec![("sink".into(), "sheets".into())]).inc_by(Stats::get(&stats.sheets_written));
    registry.register("orders_written", "Orders durable in a sink", written);
    let lost: Family<Vec<(String, String)>, Counter> = Family::default();
    let _ = lost.get_or_create(&vec![("sink".into(), "csv".into()), ("reason".into(), "deleted".into())]);
    for ((sink, reason), n) in stats.lost.snapshot() {
        lost.get_or_create(&vec![("sink".into(), sink.into()), ("reason".into(), reason.as_str().into())])
            .inc_by(n);
    }
    registry.register(
        "records_lost",
        "Records gone from Kafka before a sink read them (retention, delete-records, offset reset)",
        lost,
    );
    let requests: Family<Vec<(String, String)>, Counter> = Family::default();
    for (kind, counter) in [("write", &stats.sheets_write_requests), ("read", &stats.sheets_read_requests)] {
        requests.get_or_create(&vec![("kind".into(), kind.into())]).inc_by(Stats::get(counter));
    }
    registry.register("sheets_requests", "Requests sent to the Google Sheets and Drive APIs", requests);
    counter(
        &mut registry,
        "sheets_throttled",
        "Google answers of 429 (quota exceeded)",
        Stats::get(&stats.sheets_throttled),
    );
    counter(
        &mut registry,
        "sheets_retries",
        "Sheets requests retried after a 429, a 5xx or a timeout",
        Stats::get(&stats.sheets_retries),
    );
    counter(
        &mut registry,
        "sheets_duplicates_skipped",
        "Orders not appended again because the sheet already had them",
        Stats::get(&stats.sheets_duplicates_skipped),
    );

    let analytics = state.analytics();
    let categories = analytics.categories();
    let by_cell: Family<Vec<(String, String)>, Counter> = Family::default();
    let value: Family<Vec<(String, String)>, Counter> = Family::default();
    for ((r, c), totals) in analytics.cell_totals(&Filter::default()) {
        let labels = vec![
            ("region".to_string(), REGIONS[r].name.to_string()),
            ("category".to_string(), categories[c].name.to_string()),
        ];
        by_cell.get_or_create(&labels).inc_by(totals.orders);
        value.get_or_create(&labels).inc_by(totals.gross.max(0) as u64);
    }
    registry.register("business_orders", "Orders in the analytics retention by region and category", by_cell);
    registry.register(
        "business_gross_value_grosz",
        "Gross value (grosz) in the analytics retention by region and category",
        value,
    );
    let windows: Gauge = Gauge::default();
    windows.set(analytics.window_count() as i64);
    registry.register("analytics_windows", "Event-time windows kept", windows);
    let watermark: Gauge = Gauge::default();
    watermark.set(analytics.watermark_ms().unwrap_or(0) / 1000);
    registry.register("analytics_watermark_seconds", "Latest event time seen (Unix seconds)", watermark);
    drop(analytics);

    let lag_records: Family<Vec<(String, String)>, Gauge> = Family::default();
    let lag_seconds: Family<Vec<(String, String)>, Gauge<f64, std::sync::atomic::AtomicU64>> =
        Family::default();
    for (partition, lag) in state.lags() {
        let labels = vec![("partition".to_string(), partition.to_string())];
        lag_records.get_or_create(&labels).set(lag.records);
        lag_seconds.get_or_create(&labels).set(lag.seconds());
    }
    registry.register(
        "consumer_lag_records",
        "Messages between the CSV consumer and the end of each partition",
        lag_records,
    );
    registry.register(
        "consumer_lag_seconds",
        "Age of the latest order taken from a partition that has a backlog (0 when caught up)",
        lag_seconds,
    );
    registry.register(
        "end_to_end_latency_seconds",
        "Order timestamp to durable CSV row",
        state.latency.clone(),
    );

    let ready: Gauge = Gauge::default();
    ready.set(i64::from(state.is_ready()));
    registry.register("ready", "1 when the consumer holds its partitions", ready);

    let mut out = String::new();
    encode(&mut out, &registry)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::AnalyticsConfig;
    use crate::generate::catalogue;
    use crate::kafka::gaps::GapReason;

    #[test]
    fn records_lost_are_exported_per_sink_and_reason() {
        let stats = Stats::new();
        stats.lost.add("csv", GapReason::Deleted, 1_500);
        stats.lost.add("sheets", GapReason::Skipped, 2);
        let state = LiveState::new(AnalyticsConfig::default(), catalogue::categories(), stats, None);
        let text = render(&state).unwrap();
        assert!(
            text.contains(r#"orderstream_records_lost_total{sink="csv",reason="deleted"} 1500"#),
            "{text}"
        );
        assert!(
            text.contains(r#"orderstream_records_lost_total{sink="sheets",reason="skipped"} 2"#),
            "{text}"
        );
    }
}
