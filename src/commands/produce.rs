//! `orderstream produce`: generated orders to Kafka.

use std::time::Duration;

use anyhow::{bail, Context};

use crate::cli::ProduceArgs;
use crate::kafka::admin::ensure_topic;
use crate::kafka::producer::{produce, ProducerConfig};
use crate::progress::ProgressReporter;
use crate::shutdown::Shutdown;
use crate::stats::Stats;

/// Creates the topic if needed and produces until the count or a signal.
pub fn execute(args: &ProduceArgs, progress: Duration) -> anyhow::Result<()> {
    let shutdown = Shutdown::on_signals().context("installing signal handlers")?;
    let source = args.generator.source()?;
    let kafka = &args.kafka;
    let cluster = kafka.cluster()?;
    let format = kafka.topic.format.format(&shutdown)?;
    ensure_topic(
        &cluster,
        &kafka.topic.topic,
        args.producer.partitions,
        args.producer.replication_factor,
        kafka.topic.connect_timeout,
    )?;
    let stats = Stats::new();
    shutdown.report_on_exit(&stats);
    let reporter = ProgressReporter::start(stats.clone(), progress);
    let config = ProducerConfig {
        brokers: cluster,
        topic: kafka.topic.topic.clone(),
        source,
        connect_timeout: kafka.topic.connect_timeout,
        flow: None,
        delivery_timeout: args.producer.delivery_timeout,
        format,
    };
    let report = produce(&config, &stats, &shutdown);
    drop(reporter);
    let report = report?;
    if report.failed > 0 {
        bail!(
            "{} of {} orders could not be delivered to {} (see the errors above)",
            report.failed,
            report.produced,
            config.topic
        );
    }
    Ok(())
}
