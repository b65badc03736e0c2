//! Stage 2: Apache Kafka. The producer, the consumer-group member that feeds the sinks,
//! topic administration, and the embedded broker of `run`.
//!
//! All of it goes through librdkafka (the `rdkafka` crate): the same client code path
//! against a real cluster and against the in-process [`embedded`] broker.

pub mod admin;
mod ahead;
mod certificate;
mod cluster;
pub mod consumer;
mod dead_letters;
mod diagnosis;
pub mod driver;
pub mod embedded;
pub mod flow;
pub mod gaps;
pub mod link;
pub mod observer;
pub mod producer;
pub mod reader;
pub mod rejected;
pub mod source;
mod topic_id;

use std::time::Duration;

use rdkafka::ClientConfig;

/// The prototype's topic.
pub const DEFAULT_TOPIC: &str = "zamowienia_elektronika";
/// The prototype's consumer group.
pub const DEFAULT_GROUP: &str = "consumer_group";
/// Partitions of a topic that `produce` creates.
pub const DEFAULT_PARTITIONS: i32 = 6;
pub use crate::sink::EMBEDDED_SOURCE_PREFIX;
pub use cluster::{BadSetting, Cluster};
pub use diagnosis::{reach, Diagnosis};

/// Checks a topic name against Kafka's rules (1-249 characters of `a-zA-Z0-9._-`, not
/// `.` or `..`), so that a bad `--topic` fails at once instead of being retried.
pub fn validate_topic(name: &str) -> Result<String, String> {
    let legal = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if name.is_empty() || name.len() > 249 || name == "." || name == ".." {
        return Err(format!(
            "invalid topic name {name:?}: Kafka allows 1 to 249 characters, not `.` or `..`"
        ));
    }
    if let Some(bad) = name.chars().find(|c| !legal(*c)) {
        return Err(format!(
            "invalid topic name {name:?}: {bad:?} is not allowed (only letters, digits, `.`, `_` and `-`)"
        ));
    }
    Ok(name.to_string())
}

/// The version of the librdkafka built in, for `--version` and bug reports.
pub fn librdkafka_version() -> String {
    rdkafka::util::get_rdkafka_version().1
}

/// The dead-letter topic of `topic`.
pub fn dead_letter_topic(topic: &str) -> String {
    format!("{topic}.dlq")
}

/// Errors setting up or talking to Kafka.
#[derive(Debug, thiserror::Error)]
pub enum KafkaStageError {
    /// No broker answered in time; `reason` is the cause librdkafka reported (a refused
    /// password, an untrusted certificate), else its last word.
    #[error("cannot reach Kafka at {brokers}: {reason}")]
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
    /// The broker refused this client, or its group is not ours to join.
    #[error("{0}")]
    Refused(String),
    /// The schema registry could not be asked (Avro).
    #[error(transparent)]
    Registry(#[from] crate::format::RegistryError),
    /// Any other client error.
    #[error("kafka: {0}")]
    Client(#[from] rdkafka::error::KafkaError),
}

/// The reason to end with when a consumer error cannot be cured by retrying: the broker
/// refuses this member (session timeout out of its range, authorization) or the topic,
/// or librdkafka calls the error fatal (the client can do nothing more, so waiting
/// would hang). Other errors (a broker away, a topic not created yet) are retried.
pub fn refusal(error: &rdkafka::error::KafkaError) -> Option<String> {
    use rdkafka::error::KafkaError;
    use rdkafka::types::RDKafkaErrorCode as Code;
    let code = error.rdkafka_error_code()?;
    if code == Code::FencedInstanceId || matches!(error, KafkaError::MessageConsumptionFatal(_)) {
        let hint = if code == Code::FencedInstanceId {
            "another member of the group has the same --instance-id, or the group gave this \
             static member up while the cluster could not hear it; start it again (what it \
             wrote is durable and it resumes there)"
        } else {
            "start it again (what it wrote is durable and it resumes there)"
        };
        return Some(format!("the consumer cannot go on after a fatal error: {error}; {hint}"));
    }
    let hint = match code {
        Code::InvalidSessionTimeout => {
            "--session-timeout must lie within the broker's group.min/max.session.timeout.ms (6s to 30min by default)"
        }
        Code::InvalidTopic => "check --topic",
        Code::TopicAuthorizationFailed | Code::GroupAuthorizationFailed | Code::ClusterAuthorizationFailed => {
            "grant this client's principal access to the topic and the group"
        }
        Code::SaslAuthenticationFailed | Code::Authentication => "check the credentials",
        Code::InvalidGroupId => "check --group",
        Code::Fatal => "the client cannot go on",
        _ => return None,
    };
    Some(format!("the broker refused this consumer: {error}; {hint}"))
}

/// Names librdkafka debug contexts (e.g. `cgrp,fetch`) to log, for tracking down
/// group or broker trouble without rebuilding.
pub const KAFKA_DEBUG_ENV: &str = "ORDERSTREAM_KAFKA_DEBUG";

/// Settings common to every client: bootstrap servers, a client id and the cluster's
/// own settings (security, pass-through).
pub fn client_config(brokers: &Cluster, role: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", brokers.bootstrap())
        .set("client.id", format!("orderstream-{role}"))
        .set("log_level", "4");
    // Before the role's own settings, which keep the promises (acks, commits) whatever
    // is passed through.
    brokers.apply(&mut config);
    if let Ok(contexts) = std::env::var(KAFKA_DEBUG_ENV) {
        if !contexts.is_empty() {
            config.set("debug", contexts).set("log_level", "7");
        }
    }
    config
}

/// Settings of a consumer-group member that commits by hand, only once its output is
/// durable, and starts a new group at the earliest offset (as the prototype did).
///
/// A member with an `instance_id` is static (KIP-345): restarted within the session
/// timeout, it gets its partitions back without a rebalance of the whole group. A
/// member that stops answering loses its partitions after `session_timeout`; one that
/// answers heartbeats but stops polling, after librdkafka's `max.poll.interval.ms` (5
/// minutes).
pub fn group_member_config(
    brokers: &Cluster,
    role: &str,
    group: &str,
    session_timeout: Duration,
    instance_id: Option<&str>,
) -> ClientConfig {
    let mut config = client_config(brokers, role);
    if let Some(id) = instance_id {
        config.set("group.instance.id", id);
    }
    config
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "false")
        .set("session.timeout.ms", session_timeout.as_millis().to_string())
        .set("heartbeat.interval.ms", "1000")
        // Bounded prefetch: flat memory.
        .set("queued.max.messages.kbytes", "16384")
        // ... refilled promptly once drained: librdkafka's defaults wait up to a second
        // (fetch.queue.backoff.ms) before fetching again after the queue was full, which
        // held a sink that reads in bursts to a third of its speed.
        .set("fetch.wait.max.ms", "10")
        .set("queued.min.messages", "20000")
        .set("fetch.queue.backoff.ms", "5");
    config
}
