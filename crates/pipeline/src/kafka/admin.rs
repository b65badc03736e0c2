//! Creates the topic when it is missing.

use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;
use tracing::info;

use super::{client_config, reach, Cluster, KafkaStageError};

/// Ensures `topic` exists, creating it with `partitions` partitions and the cluster's
/// default replication factor. An existing topic is left as it is, without asking to
/// create it: a client allowed to write a topic need not be allowed to create topics.
pub fn ensure_topic(
    brokers: &Cluster,
    topic: &str,
    partitions: i32,
    timeout: Duration,
) -> Result<(), KafkaStageError> {
    let (_, metadata) = reach(brokers, None, timeout)?;
    let admin: AdminClient<DefaultClientContext> = client_config(brokers, "admin").create()?;
    if metadata.topics().iter().any(|t| t.name() == topic && t.error().is_none()) {
        return wait_for_leaders(&admin, topic, timeout);
    }
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
    wait_for_leaders(&admin, topic, timeout)
}

/// Waits until every partition of `topic` has a leader, so that the first orders do not
/// queue behind the cluster still electing them.
fn wait_for_leaders(
    admin: &AdminClient<DefaultClientContext>,
    topic: &str,
    timeout: Duration,
) -> Result<(), KafkaStageError> {
    let deadline = Instant::now() + timeout;
    loop {
        let metadata = admin.inner().fetch_metadata(Some(topic), timeout)?;
        let ready = metadata.topics().iter().any(|t| {
            t.name() == topic
                && t.error().is_none()
                && !t.partitions().is_empty()
                && t.partitions().iter().all(|p| p.leader() >= 0 && p.error().is_none())
        });
        if ready {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(KafkaStageError::CreateTopic {
                topic: topic.to_string(),
                reason: format!("its partitions have no leader after {timeout:?}"),
            });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
