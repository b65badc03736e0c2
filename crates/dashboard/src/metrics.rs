//! `/metrics` in the Prometheus text format. The pipeline counters are registered once
//! (they are shared with the stages that count); the figures read from the analytics
//! (business totals, windows, watermark, lag, latency, readiness) come from a collector
//! at each scrape.

use std::sync::Weak;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::Registry;

use super::state::LiveState;
use crate::analytics::Filter;
use crate::order::Region;
use crate::stats::Stats;

/// The registry of a live state, built once: the pipeline counters of `stats` and the
/// collector of the figures `state` holds.
pub(super) fn registry(stats: &Stats, state: Weak<LiveState>) -> Registry {
    let mut registry = Registry::with_prefix("orderstream");
    stats.register(&mut registry);
    registry.register_collector(Box::new(LiveFigures(state)));
    registry
}

/// The scrape body.
pub(super) fn render(state: &LiveState) -> Result<String, std::fmt::Error> {
    let mut out = String::new();
    encode(&mut out, state.registry())?;
    Ok(out)
}

type Labels = Vec<(String, String)>;

/// The figures of a live state, read at each scrape.
#[derive(Debug)]
struct LiveFigures(Weak<LiveState>);

fn put<M: EncodeMetric + TypedMetric>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    metric: &M,
) -> Result<(), std::fmt::Error> {
    metric.encode(encoder.encode_descriptor(name, help, None, M::TYPE)?)
}

impl Collector for LiveFigures {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(state) = self.0.upgrade() else { return Ok(()) };
        let mut analytics = state.analytics();
        let categories = analytics.categories();
        let by_cell: Family<Labels, Counter> = Family::default();
        let value: Family<Labels, Counter> = Family::default();
        for ((r, c), totals) in analytics.cell_totals(&Filter::default()) {
            let labels = vec![
                ("region".to_string(), Region::ALL[r].to_string()),
                ("category".to_string(), categories[c].name.to_string()),
            ];
            by_cell.get_or_create(&labels).inc_by(totals.orders);
            value.get_or_create(&labels).inc_by(totals.gross.max(0) as u64);
        }
        let windows: Gauge = Gauge::default();
        windows.set(analytics.window_count() as i64);
        let watermark: Gauge = Gauge::default();
        watermark.set(analytics.watermark_ms().unwrap_or(0) / 1000);
        drop(analytics);
        put(
            &mut encoder,
            "business_orders",
            "Orders in the analytics retention by region and category.",
            &by_cell,
        )?;
        put(
            &mut encoder,
            "business_gross_value_grosz",
            "Gross value (grosz) in the analytics retention by region and category.",
            &value,
        )?;
        put(&mut encoder, "analytics_windows", "Event-time windows kept.", &windows)?;
        put(
            &mut encoder,
            "analytics_watermark_seconds",
            "Latest event time seen (Unix seconds).",
            &watermark,
        )?;

        let lag_records: Family<Labels, Gauge> = Family::default();
        let lag_seconds: Family<Labels, Gauge<f64, std::sync::atomic::AtomicU64>> = Family::default();
        for (partition, lag) in state.lags() {
            let labels = vec![("partition".to_string(), partition.to_string())];
            lag_records.get_or_create(&labels).set(lag.records);
            lag_seconds.get_or_create(&labels).set(lag.seconds());
        }
        put(
            &mut encoder,
            "consumer_lag_records",
            "Messages between the CSV consumer and the end of each partition.",
            &lag_records,
        )?;
        put(
            &mut encoder,
            "consumer_lag_seconds",
            "Age of the latest order taken from a partition that has a backlog (0 when caught up).",
            &lag_seconds,
        )?;

        let (sum, count, buckets) = state.stats.latency.buckets();
        encoder
            .encode_descriptor(
                "end_to_end_latency_seconds",
                "Order timestamp to durable CSV row.",
                None,
                MetricType::Histogram,
            )?
            .encode_histogram::<NoLabelSet>(sum, count, &buckets, None)?;

        let ready: Gauge = Gauge::default();
        ready.set(i64::from(state.is_ready()));
        put(&mut encoder, "ready", "1 when the consumer holds its partitions.", &ready)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::AnalyticsConfig;
    use crate::kafka::gaps::GapReason;

    #[test]
    fn records_lost_are_exported_per_sink_and_reason() {
        let stats = Stats::new();
        stats.lost.add("csv", GapReason::Deleted, 1_500);
        stats.lost.add("sheets", GapReason::Skipped, 2);
        let state =
            LiveState::new(AnalyticsConfig::default(), crate::generate::builtin_catalogue(), stats, None);
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
