//! A read-only group member for the live analytics of `orderstream dashboard`: it reads
//! the topic from the earliest offset and never commits, so every start rebuilds the
//! state from what the topic holds (the analytics keep only their retention of it).

use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use tracing::{info, warn};

use super::{client_config, KafkaStageError};
use crate::dashboard::LiveState;
use crate::order::decode_json;
use crate::shutdown::Shutdown;
use crate::stats::Stats;

/// Settings of a reader.
#[derive(Debug, Clone)]
pub struct ReaderConfig {
    /// Bootstrap servers.
    pub brokers: String,
    /// Topic of the orders.
    pub topic: String,
    /// Consumer group (its own, apart from the CSV writers).
    pub group: String,
    /// How long to wait for the cluster at start.
    pub connect_timeout: Duration,
}

/// Feeds every order of the topic into `live` until shutdown.
pub fn read_into(
    config: &ReaderConfig,
    live: &Arc<LiveState>,
    shutdown: &Shutdown,
) -> Result<(), KafkaStageError> {
    let consumer: BaseConsumer = client_config(&config.brokers, "dashboard")
        .set("group.id", &config.group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "false")
        .create()?;
    consumer.fetch_metadata(Some(&config.topic), config.connect_timeout).map_err(|e| {
        KafkaStageError::Unreachable {
            brokers: config.brokers.clone(),
            timeout: config.connect_timeout,
            reason: e.to_string(),
        }
    })?;
    consumer.subscribe(&[&config.topic])?;
    info!(topic = %config.topic, group = %config.group, "reading the topic from the earliest offset into the live analytics");
    let stats = &live.stats;
    let mut polls = 0u64;
    while !shutdown.requested() {
        match consumer.poll(Duration::from_millis(100)) {
            None => {}
            Some(Err(error)) => warn!(%error, "consumer error (retrying)"),
            Some(Ok(message)) => {
                Stats::add(&stats.consumed, 1);
                match message.payload().map(decode_json) {
                    Some(Ok(order)) => live.record(&order),
                    Some(Err(error)) => {
                        Stats::add(&stats.dead_lettered, 1);
                        warn!(partition = message.partition(), offset = message.offset(), %error, "skipping an invalid message (the CSV consumer dead-letters it)");
                    }
                    None => Stats::add(&stats.dead_lettered, 1),
                }
            }
        }
        polls += 1;
        if polls % 64 == 1 {
            live.set_ready(consumer.assignment().map(|a| a.count() > 0).unwrap_or(false));
        }
    }
    info!(consumed = Stats::get(&stats.consumed), "dashboard reader finished");
    Ok(())
}
