//! Creates the topic when it is missing.

use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;
use tracing::{info, warn};

use super::{client_config, reach, Cluster, KafkaStageError};

/// The replication factor of a new topic when none is asked for: three copies where the
/// cluster has three brokers or more, so that one broker can be lost without losing an
/// acknowledged order, else one per broker.
pub fn default_replication(brokers: usize) -> i32 {
    brokers.clamp(1, 3) as i32
}

/// `min.insync.replicas` of a new topic: with three copies or more, an order is
/// acknowledged only once two brokers hold it; below that the producer (acks=all)
/// waits and retries until `message.timeout.ms`, then reports the order failed.
pub fn min_insync_replicas(replication: i32) -> i32 {
    if replication >= 3 {
        2
    } else {
        1
    }
}

/// Ensures `topic` exists, creating it with `partitions` partitions and `replication`
/// copies of each (default: [`default_replication`]), with [`min_insync_replicas`]. An
/// existing topic is left as it is, without asking to create it: a client allowed to
/// write a topic need not be allowed to create topics.
pub fn ensure_topic(
    brokers: &Cluster,
    topic: &str,
    partitions: i32,
    replication: Option<i32>,
    timeout: Duration,
) -> Result<(), KafkaStageError> {
    let (_, metadata) = reach(brokers, None, timeout)?;
    let admin: AdminClient<DefaultClientContext> = client_config(brokers, "admin").create()?;
    let cluster_size = metadata.brokers().len();
    if let Some(existing) = metadata.topics().iter().find(|t| t.name() == topic && t.error().is_none()) {
        let copies = existing.partitions().iter().map(|p| p.replicas().len()).min().unwrap_or(0);
        if copies < cluster_size.min(3) {
            warn!(topic, copies, brokers = cluster_size, "the topic keeps fewer copies than the cluster could: losing one broker can lose acknowledged orders");
        }
        return wait_for_leaders(&admin, topic, timeout);
    }
    let replication = replication.unwrap_or_else(|| default_replication(cluster_size));
    let min_insync = min_insync_replicas(replication).to_string();
    let new_topic = NewTopic::new(topic, partitions, TopicReplication::Fixed(replication))
        .set("min.insync.replicas", &min_insync);
    let options = AdminOptions::new().operation_timeout(Some(timeout)).request_timeout(Some(timeout));
    let results = futures_executor::block_on(admin.create_topics([&new_topic], &options))?;
    for result in results {
        match result {
            Ok(name) => {
                info!(topic = %name, partitions, replication, min_insync_replicas = %min_insync, "created topic");
            }
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
