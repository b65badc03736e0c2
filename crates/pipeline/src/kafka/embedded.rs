//! The embedded broker of `run`: librdkafka's in-process mock cluster.
//!
//! It speaks the real Kafka protocol on a loopback port, so the producer and the
//! consumer group use exactly the code they use against a real cluster; its data lives
//! in memory and dies with the process.

use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use tracing::info;

use super::{dead_letter_topic, KafkaStageError, EMBEDDED_SOURCE_PREFIX};

/// A running in-process broker with the pipeline's topics.
pub struct EmbeddedKafka {
    cluster: MockCluster<'static, DefaultProducerContext>,
    source: String,
}

impl EmbeddedKafka {
    /// Starts a one-broker cluster and creates `topic` (and its dead-letter topic).
    pub fn start(topic: &str, partitions: i32) -> Result<Self, KafkaStageError> {
        let cluster = MockCluster::new(1)?;
        cluster.create_topic(topic, partitions, 1)?;
        cluster.create_topic(&dead_letter_topic(topic), 1, 1)?;
        let source = format!("{EMBEDDED_SOURCE_PREFIX}{}", uuid::Uuid::from_u128(rand::random()));
        info!(bootstrap = %cluster.bootstrap_servers(), topic, partitions, "started the embedded Kafka broker");
        Ok(EmbeddedKafka { cluster, source })
    }

    /// Its bootstrap address, for the clients.
    pub fn bootstrap_servers(&self) -> String {
        self.cluster.bootstrap_servers()
    }

    /// A name for this broker's offsets in sink checkpoints, unique to this run.
    pub fn source(&self) -> &str {
        &self.source
    }
}
