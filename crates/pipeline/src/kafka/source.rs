//! Where a sink's consumer-group member reads from: shared by the sinks that run in a
//! group of their own next to the CSV writers.

use std::time::Duration;

use super::Cluster;
use crate::order::Catalogue;

/// Where a sink that runs its own consumer group (Google Sheets, PostgreSQL) reads from.
#[derive(Debug, Clone)]
pub struct GroupSource {
    /// Bootstrap servers.
    pub brokers: Cluster,
    /// The orders topic.
    pub topic: String,
    /// Exit after this long without a message and with nothing left to send.
    pub idle_exit: Option<Duration>,
    /// How long the group waits for a silent member.
    pub session_timeout: Duration,
    /// This member's static id in the sink's group (`--instance-id`), if any.
    pub instance_id: Option<String>,
    /// Orders further ahead of the clock are invalid.
    pub max_future: Duration,
    /// The catalogue orders are checked against.
    pub catalogue: Catalogue,
    /// The format of the topic's messages.
    pub format: crate::format::Format,
}
