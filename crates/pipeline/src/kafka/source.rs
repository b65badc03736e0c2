//! Where a sink's consumer-group member reads from: shared by the sinks that run in a
//! group of their own next to the CSV writers.

use std::time::Duration;

use super::driver::{run_member, DriverConfig, DriverContext, GroupSink, MemberReport};
use super::flow::SinkSlot;
use super::link::RunLink;
use super::{group_member_config, Cluster};
use crate::order::Catalogue;
use crate::shutdown::Shutdown;
use crate::stats::Stats;

/// Where a sink that runs its own consumer group (Google Sheets, PostgreSQL, BigQuery)
/// reads from.
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
    /// The embedded broker's run id, standing in for the topic id its topics lack (they
    /// are new every run); `None` on a real cluster.
    pub embedded_run: Option<String>,
}

/// How a sink with a group of its own runs on a [`GroupSource`].
pub struct SinkRun<'a> {
    /// The sink's name in logs and client ids (`sheets`, `postgres`, `bigquery`).
    pub name: &'static str,
    /// Its consumer group.
    pub group: &'a str,
    /// Whether partitions are matched to the topic's id (offsets kept outside Kafka).
    pub topic_ids: bool,
    /// The producer's link in `run`.
    pub link: Option<RunLink>,
    /// The flow window slot on the embedded broker.
    pub flow: Option<SinkSlot>,
}

impl GroupSource {
    /// Runs `sink` as a member of its group until idle exit, a stop or an error. The
    /// member may hold a batch for up to an hour between polls (an outside service's
    /// quota, backoff or restart) before the group counts it dead.
    pub fn run<S: GroupSink>(
        &self,
        run: SinkRun<'_>,
        sink: S,
        stats: &Stats,
        shutdown: &Shutdown,
    ) -> anyhow::Result<(MemberReport, S)> {
        let settings = group_member_config(
            &self.brokers,
            run.name,
            run.group,
            self.session_timeout,
            self.instance_id.as_deref(),
        )
        .set("max.poll.interval.ms", "3600000")
        .clone();
        let driver = DriverConfig {
            name: run.name,
            topic: self.topic.clone(),
            idle_exit: self.idle_exit,
            join_timeout: None,
            max_future: self.max_future,
            catalogue: self.catalogue,
            format: self.format.clone(),
            rebalance_timeout: Duration::from_secs(10),
            topic_ids: run.topic_ids,
            run_topic_id: self.embedded_run.clone(),
        };
        run_member(&settings, DriverContext::new(driver, sink, run.link, None), stats, shutdown, run.flow)
    }
}
