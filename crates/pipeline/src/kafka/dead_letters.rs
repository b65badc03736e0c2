//! The dead-letter topic `<topic>.dlq`: a copy of every rejected message, with the
//! reason and the source position in its headers. The dead-letter file is the durable
//! record; this copy lets Kafka tooling see the rejects too.
//!
//! A payload too large to copy whole (over [`INLINE_LIMIT`], near the default 1 MB
//! message limit of clients and brokers) is sent cut to its first [`TRUNCATED_BYTES`],
//! with headers `orderstream.truncated` (its full length) and
//! `orderstream.dead_letter_file` (the file holding it whole), so that every dead letter
//! the broker accepted reaches the topic.

use std::time::Duration;

use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use tracing::warn;

use super::driver::RawMessage;
use super::{client_config, dead_letter_topic, Cluster, KafkaStageError};

/// Payloads larger than this are sent truncated (leaves room for key and headers under
/// the 1,000,000-byte default `message.max.bytes`).
pub(super) const INLINE_LIMIT: usize = 900_000;
/// How much of a truncated payload is sent.
pub(super) const TRUNCATED_BYTES: usize = 64 * 1024;

/// Sends dead letters to `<topic>.dlq` as well as to the dead-letter file.
pub(crate) struct DeadLetterTopic {
    topic: String,
    producer: ThreadedProducer<DefaultProducerContext>,
    unflushed: bool,
}

impl DeadLetterTopic {
    pub(crate) fn new(brokers: &Cluster, topic: &str) -> Result<Self, KafkaStageError> {
        let producer =
            client_config(brokers, "dead-letters").set("acks", "all").set("linger.ms", "50").create()?;
        Ok(DeadLetterTopic { topic: dead_letter_topic(topic), producer, unflushed: false })
    }

    /// Copies `message` with its `reason`; `file` names the dead-letter file that holds it.
    pub(crate) fn send(&mut self, message: &RawMessage<'_>, reason: &str, file: &str) {
        let mut headers = OwnedHeaders::new()
            .insert(Header { key: "orderstream.reason", value: Some(reason) })
            .insert(Header {
                key: "orderstream.source",
                value: Some(&format!("{}/{}/{}", message.topic, message.partition, message.offset)),
            });
        let mut payload = message.payload.unwrap_or_default();
        if payload.len() > INLINE_LIMIT {
            headers = headers
                .insert(Header { key: "orderstream.truncated", value: Some(&payload.len().to_string()) })
                .insert(Header { key: "orderstream.dead_letter_file", value: Some(file) });
            payload = &payload[..TRUNCATED_BYTES];
        }
        let mut record = BaseRecord::to(&self.topic).payload(payload).headers(headers);
        if let Some(key) = message.key {
            record = record.key(key);
        }
        match self.producer.send(record) {
            Ok(()) => self.unflushed = true,
            Err((e, _)) => {
                warn!(error = %e, topic = %self.topic, "dead letter not sent to Kafka (it is in the dead-letter file)");
            }
        }
    }

    pub(crate) fn flush(&mut self) {
        if std::mem::take(&mut self.unflushed) {
            if let Err(e) = self.producer.flush(Duration::from_secs(10)) {
                warn!(error = %e, topic = %self.topic, "dead letters not confirmed by Kafka (they are in the dead-letter file)");
            }
        }
    }
}
