//! Creates the topic when it is missing.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;
use tracing::info;

use super::{client_config, KafkaStageError};

/// Ensures `topic` exists, creating it with `partitions` partitions and the cluster's
/// default replication factor. An existing topic is left as it is.
pub fn ensure_topic(
    brokers: &str,
    topic: &str,
    partitions: i32,
    timeout: Duration,
) -> Result<(), KafkaStageError> {
    let admin: AdminClient<DefaultClientContext> = client_config(brokers, "admin").create()?;
    admin.inner().fetch_metadata(None, timeout).map_err(|e| KafkaStageError::Unreachable {
        brokers: brokers.to_string(),
        timeout,
        reason: e.to_string(),
    })?;
    let new_topic = NewTopic::new(topic, partitions, TopicReplication::Fixed(-1));
    let options = AdminOptions::new().operation_timeout(Some(timeout)).request_timeout(Some(timeout));
    let results = futures_executor::block_on(admin.create_topics([&new_topic], &options))?;
    for result in results {
        match result {
            Ok(name) => info!(topic = %name, partitions, "created topic"),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => {
                return Err(KafkaStageError::CreateTopic { topic: name, reason: code.to_string() })
            }
        }
    }
    Ok(())
}
