//! Stage 2: Apache Kafka. The producer, the consumer-group member that feeds the sinks,
//! topic administration, and the embedded broker of `run`.
//!
//! All of it goes through librdkafka (the `rdkafka` crate): the same client code path
//! against a real cluster and against the in-process [`embedded`] broker.

pub mod admin;
pub mod consumer;
mod dead_letters;
pub mod embedded;
pub mod producer;
pub mod reader;
mod rebalance;

use std::time::Duration;

use rdkafka::ClientConfig;

/// The prototype's topic.
pub const DEFAULT_TOPIC: &str = "zamowienia_elektronika";
/// The prototype's consumer group.
pub const DEFAULT_GROUP: &str = "consumer_group";
/// Partitions of a topic that `produce` creates.
pub const DEFAULT_PARTITIONS: i32 = 6;
/// Source names of embedded brokers start with this; see [`crate::sink::checkpoint`].
pub const EMBEDDED_SOURCE_PREFIX: &str = "embedded-";

/// The dead-letter topic of `topic`.
pub fn dead_letter_topic(topic: &str) -> String {
    format!("{topic}.dlq")
}

/// Errors setting up or talking to Kafka.
#[derive(Debug, thiserror::Error)]
pub enum KafkaStageError {
    /// No broker answered in time.
    #[error("cannot reach Kafka at {brokers} within {timeout:?}: {reason}; is the broker running (scripts/kafka-local start)?")]
    Unreachable {
        /// The bootstrap list tried.
        brokers: String,
        /// How long we waited.
        timeout: Duration,
        /// librdkafka's reason.
        reason: String,
    },
    /// The topic could not be created.
    #[error("cannot create topic {topic}: {reason}")]
    CreateTopic {
        /// The topic.
        topic: String,
        /// The broker's reason.
        reason: String,
    },
    /// Any other client error.
    #[error("kafka: {0}")]
    Client(#[from] rdkafka::error::KafkaError),
}

/// Names librdkafka debug contexts (e.g. `cgrp,fetch`) to log, for tracking down
/// group or broker trouble without rebuilding.
pub const KAFKA_DEBUG_ENV: &str = "ORDERSTREAM_KAFKA_DEBUG";

/// Settings common to every client: bootstrap servers and a client id.
pub fn client_config(brokers: &str, role: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", brokers)
        .set("client.id", format!("orderstream-{role}"))
        .set("log_level", "4");
    if let Ok(contexts) = std::env::var(KAFKA_DEBUG_ENV) {
        if !contexts.is_empty() {
            config.set("debug", contexts).set("log_level", "7");
        }
    }
    config
}

/// Settings of a consumer-group member that commits by hand, only once its output is
/// durable, and starts a new group at the earliest offset (as the prototype did).
pub fn group_member_config(
    brokers: &str,
    role: &str,
    group: &str,
    session_timeout: Duration,
) -> ClientConfig {
    let mut config = client_config(brokers, role);
    config
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "false")
        .set("session.timeout.ms", session_timeout.as_millis().to_string())
        .set("heartbeat.interval.ms", "1000")
        // Bounded prefetch: flat memory.
        .set("queued.max.messages.kbytes", "16384");
    config
}
