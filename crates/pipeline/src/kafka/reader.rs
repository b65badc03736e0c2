//! A read-only group member for the live analytics of `orderstream dashboard`: it reads
//! the topic from the earliest offset and never commits, so every start rebuilds the
//! state from what the topic holds (the analytics keep only their retention of it).

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use tracing::{info, warn};

use super::gaps::GapDetector;
use super::observer::PipelineObserver;
use super::{client_config, reach, Cluster, KafkaStageError};
use crate::format::{Decoder, Undecodable};
use crate::order::{check_event_time, Catalogue};
use crate::shutdown::Shutdown;
use crate::stats::Stats;

/// Settings of a reader.
#[derive(Debug, Clone)]
pub struct ReaderConfig {
    /// Bootstrap servers.
    pub brokers: Cluster,
    /// Topic of the orders.
    pub topic: String,
    /// Consumer group (its own, apart from the CSV writers).
    pub group: String,
    /// How long to wait for the cluster at start.
    pub connect_timeout: Duration,
    /// Orders further ahead of the clock are skipped (the CSV sink dead-letters them).
    pub max_future: Duration,
    /// The catalogue orders are checked against.
    pub catalogue: Catalogue,
    /// The format of the topic's messages.
    pub format: crate::format::Format,
}

/// Feeds every order of the topic into `live` until shutdown, counting in `stats`.
pub fn read_into(
    config: &ReaderConfig,
    live: &dyn PipelineObserver,
    stats: &Stats,
    shutdown: &Shutdown,
) -> Result<(), KafkaStageError> {
    // A refused password or certificate is named before the reader starts.
    drop(reach(&config.brokers, Some(&config.topic), config.connect_timeout)?);
    let consumer: BaseConsumer = client_config(&config.brokers, "dashboard")
        .set("group.id", &config.group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "false")
        .create()?;
    consumer.fetch_metadata(Some(&config.topic), config.connect_timeout).map_err(|e| {
        KafkaStageError::Unreachable {
            brokers: config.brokers.to_string(),
            timeout: config.connect_timeout,
            reason: format!("no answer within {:?} ({e}); is the broker running, and do --security-protocol and its settings fit it?", config.connect_timeout),
        }
    })?;
    refuse_a_sink_group(&consumer, config)?;
    consumer.subscribe(&[&config.topic])?;
    info!(topic = %config.topic, group = %config.group, "reading the topic from the earliest offset into the live analytics");
    let mut gaps = GapDetector::default();
    let mut decoder = Decoder::new(&config.format);
    let mut polls = 0u64;
    // The partitions last reported to the analytics: a message from another one means
    // the assignment changed, and the watermark must learn that before the message.
    let mut reported: Vec<i32> = Vec::new();
    while !shutdown.requested() {
        match consumer.poll(Duration::from_millis(100)) {
            None => {}
            Some(Err(error)) => {
                if let Some(reason) = super::refusal(&error) {
                    return Err(KafkaStageError::Refused(reason));
                }
                warn!(%error, "consumer error (retrying)");
            }
            Some(Ok(message)) => {
                Stats::add(&stats.consumed, 1);
                if !reported.contains(&message.partition()) {
                    reported = report_assignment(&consumer, live);
                }
                if let Some(range) = gaps.observe(message.partition(), message.offset()) {
                    super::gaps::report(
                        &consumer,
                        stats,
                        "dashboard",
                        &config.topic,
                        message.partition(),
                        range,
                    );
                }
                let now = crate::clock::now_micros();
                match message.payload().map(|p| {
                    decoder.decode(p, &config.catalogue).and_then(|o| {
                        check_event_time(&o, now, config.max_future).map(|()| o).map_err(Undecodable::from)
                    })
                }) {
                    Some(Ok(order)) => live.read(message.partition(), &order),
                    // The analytics must not skip an order that is only unreadable for now.
                    Some(Err(Undecodable::Registry(error))) => return Err(error.into()),
                    Some(Err(Undecodable::Invalid(error))) => {
                        Stats::add(&stats.dead_lettered, 1);
                        warn!(partition = message.partition(), offset = message.offset(), %error, "skipping an invalid message (the CSV consumer dead-letters it)");
                    }
                    None => Stats::add(&stats.dead_lettered, 1),
                }
            }
        }
        polls += 1;
        if polls % 64 == 1 {
            reported = report_assignment(&consumer, live);
            live.ready(!reported.is_empty());
        }
    }
    info!(consumed = Stats::get(&stats.consumed), "dashboard reader finished");
    Ok(())
}

/// Tells the analytics which partitions are read now; returns them.
fn report_assignment(consumer: &BaseConsumer, live: &dyn PipelineObserver) -> Vec<i32> {
    let partitions: Vec<i32> = consumer
        .assignment()
        .map(|a| {
            a.elements()
                .iter()
                .map(rdkafka::topic_partition_list::TopicPartitionListElem::partition)
                .collect()
        })
        .unwrap_or_default();
    live.assigned(&partitions);
    partitions
}

/// The dashboard never commits, so a group with committed offsets on the topic belongs
/// to a sink: joining it would take that sink's partitions away.
fn refuse_a_sink_group(consumer: &BaseConsumer, config: &ReaderConfig) -> Result<(), KafkaStageError> {
    let metadata = consumer.fetch_metadata(Some(&config.topic), config.connect_timeout)?;
    let mut tpl = TopicPartitionList::new();
    for topic in metadata.topics().iter().filter(|t| t.name() == config.topic) {
        for partition in topic.partitions() {
            tpl.add_partition(&config.topic, partition.id());
        }
    }
    if tpl.count() == 0 {
        return Ok(());
    }
    let committed = consumer.committed_offsets(tpl, config.connect_timeout)?;
    let used = committed.elements().iter().filter(|e| matches!(e.offset(), Offset::Offset(_))).count();
    if used > 0 {
        return Err(KafkaStageError::Refused(format!(
            "group {:?} has committed offsets on {} partition(s) of {}: it is a sink's group (the CSV writers' or the Sheets sink's), and the dashboard would take its partitions; give the dashboard a group of its own with --group or ORDERSTREAM_DASHBOARD_GROUP",
            config.group, used, config.topic
        )));
    }
    Ok(())
}
