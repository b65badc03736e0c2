//! The CSV sink in the group driver: at-least-once from Kafka, exactly-once into the
//! files.
//!
//! Offsets are committed only after [`CsvSink::sync`] made the rows durable. On every
//! assignment the sink's checkpoint (not only Kafka's committed offset) says where to
//! resume; see [`crate::sink`]. The loop itself is [`super::driver`]'s.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::Consumer;
use tracing::{info, warn};

use super::dead_letters::DeadLetterTopic;
use super::driver::{
    run_member, Assigned, Commit, DriverConfig, DriverContext, GroupSink, Moment, Record, Resume,
};
use super::gaps::Gap;
use super::link::RunLink;
use super::observer::PipelineObserver;
use super::{group_member_config, reach, Cluster, KafkaStageError};
use crate::order::Catalogue;
use crate::order::Order;
use crate::shutdown::Shutdown;
use crate::sink::{CsvSink, CsvSinkConfig, DeadLetter, Layout, SinkError};
use crate::stats::Stats;

/// Settings of a consumer.
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    /// Bootstrap servers.
    pub brokers: Cluster,
    /// Source topic.
    pub topic: String,
    /// Consumer group.
    pub group: String,
    /// The CSV directory.
    pub csv_dir: std::path::PathBuf,
    /// File layout.
    pub layout: Layout,
    /// Exit after this long holding partitions with nothing left to read.
    pub idle_exit: Option<Duration>,
    /// Fail when no partition is assigned within this long.
    pub join_timeout: Option<Duration>,
    /// Longest time a row waits in memory before it is made durable.
    pub sync_interval: Duration,
    /// How long the group waits for a silent member.
    pub session_timeout: Duration,
    /// This member's static id in the group (`--instance-id`), if any.
    pub instance_id: Option<String>,
    /// How long to wait for the cluster at start.
    pub connect_timeout: Duration,
    /// Also send dead letters to `<topic>.dlq`.
    pub dead_letter_topic: bool,
    /// Orders further ahead of the clock are dead letters.
    pub max_future: Duration,
    /// The catalogue orders are checked against; others are dead letters.
    pub catalogue: Catalogue,
    /// The format of the topic's messages.
    pub format: crate::format::Format,
    /// Names the cluster in checkpoints; `None` asks the cluster for its id.
    pub source: Option<String>,
    /// Live analytics to feed with every written order (`--http`).
    pub live: Option<Arc<dyn PipelineObserver>>,
}

/// What a consumer run did.
#[derive(Debug, Clone, Default)]
pub struct ConsumeReport {
    /// Messages read.
    pub consumed: u64,
    /// Orders made durable in the CSV files.
    pub written: u64,
    /// Messages sent to the dead letters.
    pub dead_lettered: u64,
    /// Records that were gone before they could be read (gaps, in the dead-letter file).
    pub lost: u64,
}

/// The CSV sink's commit metadata: this prefix and the directory's identity.
const CSV_COMMIT_PREFIX: &str = "orderstream-csv:";

/// A sync slower than this is logged: it holds up every row behind it.
const SLOW_SYNC: Duration = Duration::from_millis(200);
/// How often durable offsets are also committed to Kafka.
const COMMIT_INTERVAL: Duration = Duration::from_secs(1);
/// Bytes buffered before a sync is forced regardless of the interval.
const SYNC_BYTES: usize = 8 << 20;

/// Consumes until shutdown, idle exit or the [`RunLink`]'s stop, writing the daily CSV files.
pub fn consume(
    config: &ConsumerConfig,
    stats: &Arc<Stats>,
    shutdown: &Shutdown,
    link: Option<&RunLink>,
) -> anyhow::Result<ConsumeReport> {
    let cluster = check_reachable(config)?;
    let source = match &config.source {
        Some(source) => source.clone(),
        None => format!("{cluster}/{}", config.topic),
    };
    let sink = CsvSink::new(CsvSinkConfig {
        dir: config.csv_dir.clone(),
        layout: config.layout,
        source,
        group: config.group.clone(),
        lock_wait: Duration::from_secs(30),
    })?;
    if let Some(live) = config.live.as_ref().filter(|_| config.layout == Layout::Daily) {
        // The directory is locked and its files cut to the checkpoint: what they hold is
        // final, and what follows comes from the topic.
        live.files_recovered(&config.csv_dir);
    }
    let dlq = if config.dead_letter_topic {
        Some(DeadLetterTopic::new(&config.brokers, &config.topic)?)
    } else {
        None
    };
    let member = CsvMember {
        commit_metadata: format!("{CSV_COMMIT_PREFIX}{}", sink.directory_id()),
        sink,
        dlq,
        stats: stats.clone(),
        sync_interval: config.sync_interval,
        live: config.live.clone(),
        report: ConsumeReport::default(),
        batch: Batch { event_times: Vec::with_capacity(64 * 1024), ..Default::default() },
    };
    let settings = group_member_config(
        &config.brokers,
        "consumer",
        &config.group,
        config.session_timeout,
        config.instance_id.as_deref(),
    )
    // Per-partition lag for the metrics, when they are served.
    .set("statistics.interval.ms", if config.live.is_some() { "1000" } else { "0" })
    .clone();
    let driver = DriverConfig {
        name: "csv",
        topic: config.topic.clone(),
        idle_exit: config.idle_exit,
        join_timeout: config.join_timeout,
        max_future: config.max_future,
        catalogue: config.catalogue,
        format: config.format.clone(),
        rebalance_timeout: config.connect_timeout.min(Duration::from_secs(5)),
        // librdkafka's mock cluster (the embedded broker, the fast tests) names no
        // controller, so it cannot describe topics; it keeps no topic after its process.
        topic_ids: !cluster.starts_with(MOCK_CLUSTER_PREFIX),
        // The checkpoints keep an embedded broker's offsets under its run's source name.
        run_topic_id: None,
    };
    let dir = config.csv_dir.canonicalize().unwrap_or_else(|_| config.csv_dir.clone());
    info!(topic = %config.topic, group = %config.group, csv_dir = %dir.display(), layout = ?config.layout,
        "consuming; orders go to the daily CSV files there, rejects to its dead_letters file");
    let context = DriverContext::new(driver, member, link.cloned(), config.live.clone());
    let flow = link.and_then(RunLink::flow).map(super::flow::FlowWindow::register);
    let result = run_member(&settings, context, stats, shutdown, flow);
    if let Some(live) = &config.live {
        live.settle(Duration::from_secs(30));
    }
    let (member_report, member) = result?;
    let report =
        ConsumeReport { consumed: member_report.consumed, lost: member_report.lost, ..member.report };
    let rate = member_report
        .rate()
        .map(|(rate, span)| format!("{rate:.0} orders/s over {:.2} s", span.as_secs_f64()));
    let latency = stats
        .latency
        .quantiles_ms()
        .map(|(p50, p99, max)| format!("p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms"));
    info!(consumed = report.consumed, written = report.written, dead_letters = report.dead_lettered,
        redeliveries_skipped = Stats::get(&stats.duplicates_skipped), order_to_durable_row = latency.unwrap_or_default(),
        first_message_to_last_durable_row = rate.unwrap_or_default(), csv_dir = %dir.display(), "consumer finished");
    Ok(report)
}

/// How the ids of librdkafka's mock clusters begin.
const MOCK_CLUSTER_PREFIX: &str = "mockCluster";

/// Fails with a clear error if no broker answers; returns the cluster id.
fn check_reachable(config: &ConsumerConfig) -> Result<String, KafkaStageError> {
    let (probe, metadata) = reach(&config.brokers, Some(&config.topic), config.connect_timeout)?;
    if !metadata.topics().iter().any(|t| t.name() == config.topic && t.error().is_none()) {
        warn!(topic = %config.topic, "topic does not exist yet; waiting for it");
    }
    Ok(probe.client().fetch_cluster_id(config.connect_timeout).unwrap_or_else(|| "unknown-cluster".into()))
}

/// The messages taken since the last sync.
#[derive(Default)]
struct Batch {
    orders: u64,
    dead_letters: u64,
    /// When the first message of the batch was taken.
    since: Option<Instant>,
    /// Event times of the batch's orders, for the latency histogram.
    event_times: Vec<i64>,
    /// The batch's orders with their partitions, for the live analytics (`--http`).
    live_orders: Vec<(i32, Order)>,
}

/// The CSV sink as the group driver runs it.
struct CsvMember {
    sink: CsvSink,
    commit_metadata: String,
    dlq: Option<DeadLetterTopic>,
    stats: Arc<Stats>,
    sync_interval: Duration,
    live: Option<Arc<dyn PipelineObserver>>,
    report: ConsumeReport,
    batch: Batch,
}

impl CsvMember {
    fn commits(&self, offsets: Vec<(i32, i64)>) -> Vec<Commit> {
        offsets
            .into_iter()
            .map(|(partition, next)| Commit { partition, next, metadata: self.commit_metadata.clone() })
            .collect()
    }

    /// Records how long the orders just made durable took from their timestamps.
    fn record_latencies(&mut self, event_times: &[i64]) {
        let now = crate::clock::now_micros();
        self.stats.latency.record(now, event_times);
        if let Some(oldest) = event_times.iter().min() {
            tracing::debug!(rows = event_times.len(), oldest_ms = (now - oldest) / 1000, "batch durable");
        }
    }
}

impl GroupSink for CsvMember {
    type Error = SinkError;

    fn assign(
        &mut self,
        topic_id: Option<&str>,
        partitions: &[Assigned],
    ) -> Result<Vec<(i32, Resume)>, SinkError> {
        let numbers: Vec<i32> = partitions.iter().map(|a| a.partition).collect();
        let checkpointed = self.sink.assign(topic_id, &numbers)?;
        let mut resume = Vec::with_capacity(checkpointed.len());
        for (partition, checkpoint) in checkpointed {
            let assigned = partitions.iter().find(|a| a.partition == partition);
            let kafka = assigned.and_then(|a| a.committed);
            let ours = assigned.is_some_and(|a| a.metadata == self.commit_metadata);
            let start = if ours {
                // Committed from this directory: the checkpoint is the truth, and the
                // files were cut to it. Kafka can only be ahead if the newest checkpoint
                // slot was lost, and those rows must be read again (from the start of
                // the partition if the remaining slot has no record of it).
                if kafka > checkpoint {
                    warn!(partition, checkpoint = ?checkpoint, committed = ?kafka,
                        "Kafka's committed offset is ahead of the checkpoint (its newest slot was lost); resuming at the checkpoint, to which the files were cut");
                }
                Some(checkpoint.unwrap_or(0))
            } else {
                // The checkpoint is ahead after a crash before the commit; Kafka is ahead
                // when another member wrote this partition into another directory.
                checkpoint.max(kafka)
            };
            resume.push((partition, start.map_or(Resume::Committed, Resume::At)));
        }
        Ok(resume)
    }

    fn started(&mut self, partition: i32, start: Option<i64>) {
        // Offsets below the start count as already written.
        self.sink.resume_at(partition, start.unwrap_or(0));
    }

    fn revoke(&mut self, partitions: &[i32]) -> Result<Vec<Commit>, SinkError> {
        let offsets = self.sink.revoke(partitions)?;
        Ok(self.commits(offsets))
    }

    fn take(&mut self, partition: i32, offset: i64, record: Record<'_>) -> Result<bool, SinkError> {
        Stats::add(&self.stats.consumed, 1);
        let taken = match record {
            Record::Order(order) => {
                let taken = self.sink.write_order(partition, offset, &order)?;
                if taken {
                    self.batch.orders += 1;
                    self.batch.event_times.push(order.timestamp.utc_micros);
                    if self.live.is_some() {
                        self.batch.live_orders.push((partition, order));
                    }
                }
                taken
            }
            Record::Invalid { reason, message } => {
                let payload = message.payload.unwrap_or_default();
                let letter = DeadLetter::new(message.topic, partition, offset, message.key, payload, reason);
                let taken = self.sink.write_dead_letter(&letter)?;
                if taken {
                    warn!(partition, offset, reason = %letter.reason, "dead letter");
                    self.batch.dead_letters += 1;
                    if let Some(dlq) = self.dlq.as_mut() {
                        dlq.send(&message, &letter.reason, &self.sink.dead_letter_file(partition));
                    }
                }
                taken
            }
        };
        if taken {
            self.batch.since.get_or_insert_with(Instant::now);
        }
        Ok(taken)
    }

    fn gap(&mut self, gap: &Gap) -> Result<(), SinkError> {
        self.sink.write_gap(gap)?;
        // Durable with the next sync, even when no message follows it.
        self.batch.since.get_or_insert_with(Instant::now);
        Ok(())
    }

    fn pending(&self) -> bool {
        self.batch.since.is_some()
    }

    fn due(&mut self, moment: Moment) -> bool {
        // An empty queue means a fetch batch is complete: the moment to sync (group
        // commit).
        moment.queue_empty
            || moment.stopping
            || self.batch.since.is_some_and(|t| moment.now.saturating_duration_since(t) >= self.sync_interval)
            || self.sink.pending_bytes() >= SYNC_BYTES
    }

    fn flush(&mut self) -> Result<Vec<Commit>, SinkError> {
        if let Some(dlq) = self.dlq.as_mut() {
            dlq.flush();
        }
        let started = Instant::now();
        let offsets = self.sink.sync()?;
        if started.elapsed() > SLOW_SYNC {
            warn!(took = ?started.elapsed(), rows = self.batch.orders, "slow fsync of the CSV files");
        }
        let mut batch = std::mem::take(&mut self.batch);
        self.record_latencies(&batch.event_times);
        if let Some(live) = &self.live {
            // Durable now: the dashboard shows what the files hold. The analytics thread
            // takes the batch, so this thread goes back to the topic at once.
            let capacity = batch.live_orders.capacity();
            live.durable(std::mem::replace(&mut batch.live_orders, Vec::with_capacity(capacity)));
        }
        batch.event_times.clear();
        (self.batch.event_times, self.batch.live_orders) = (batch.event_times, batch.live_orders);
        self.report.written += batch.orders;
        self.report.dead_lettered += batch.dead_letters;
        Stats::add(&self.stats.written, batch.orders);
        Stats::add(&self.stats.dead_lettered, batch.dead_letters);
        if batch.dead_letters > 0 {
            warn!(
                count = batch.dead_letters,
                total = self.report.dead_lettered,
                "messages sent to the dead letters"
            );
        }
        Ok(self.commits(offsets))
    }

    fn poll_wait(&self) -> Duration {
        // With rows pending, only take what is already fetched.
        Duration::ZERO
    }

    fn commit_interval(&self) -> Duration {
        // The checkpoint already holds the offsets, and commits would crowd out fetches.
        COMMIT_INTERVAL
    }
}
