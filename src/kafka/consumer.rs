//! The consumer-group member that feeds the CSV sink, at-least-once from Kafka and
//! exactly-once into the files.
//!
//! Offsets are committed only after [`CsvSink::sync`] made the rows durable. On every
//! assignment the sink's checkpoint (not only Kafka's committed offset) says where to
//! resume; see [`crate::sink`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext};
use rdkafka::message::{BorrowedMessage, Message};
use tracing::{debug, info, warn};

use super::dead_letters::DeadLetterTopic;
use super::flow::SinkSlot;
use super::gaps::{self, GapDetector};
use super::link::RunLink;
use super::observer::PipelineObserver;
use super::rebalance::{commit, SinkContext};
use super::{client_config, group_member_config, refusal, KafkaStageError};
use crate::order::{check_event_time, decode_json, Order};
use crate::shutdown::Shutdown;
use crate::sink::{CsvSink, CsvSinkConfig, DeadLetter, Layout, SinkError};
use crate::stats::Stats;

/// Settings of a consumer.
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    /// Bootstrap servers.
    pub brokers: String,
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
    /// How long to wait for the cluster at start.
    pub connect_timeout: Duration,
    /// Also send dead letters to `<topic>.dlq`.
    pub dead_letter_topic: bool,
    /// Orders further ahead of the clock are dead letters.
    pub max_future: Duration,
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
    /// Microseconds from each order's timestamp to the moment its row was durable.
    pub latency_micros: Option<Histogram<u64>>,
}

impl ConsumeReport {
    /// p50, p99 and max of the order-to-durable-row latency, in milliseconds.
    pub fn latency_ms(&self) -> Option<(f64, f64, f64)> {
        let h = self.latency_micros.as_ref().filter(|h| !h.is_empty())?;
        let ms = |v: u64| v as f64 / 1000.0;
        Some((ms(h.value_at_quantile(0.5)), ms(h.value_at_quantile(0.99)), ms(h.max())))
    }
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
    let source = match &config.source {
        Some(source) => {
            check_reachable(config)?;
            source.clone()
        }
        None => format!("{}/{}", check_reachable(config)?, config.topic),
    };
    let sink = CsvSink::new(CsvSinkConfig {
        dir: config.csv_dir.clone(),
        layout: config.layout,
        source,
        group: config.group.clone(),
        lock_wait: Duration::from_secs(30),
    })?;
    let commit_metadata = format!("{CSV_COMMIT_PREFIX}{}", sink.directory_id());
    if let Some(live) = config.live.as_ref().filter(|_| config.layout == Layout::Daily) {
        // The directory is locked and its files cut to the checkpoint: what they hold is
        // final, and what follows comes from the topic.
        live.files_recovered(&config.csv_dir);
    }
    let context = SinkContext {
        topic: config.topic.clone(),
        sink: Mutex::new(sink),
        failure: Mutex::new(None),
        rebalance_timeout: config.connect_timeout.min(Duration::from_secs(5)),
        link: link.cloned(),
        assigned_at: Mutex::new(None),
        live: config.live.clone(),
        gaps: Mutex::default(),
        commit_metadata,
    };
    let consumer: BaseConsumer<SinkContext> =
        group_member_config(&config.brokers, "consumer", &config.group, config.session_timeout)
            .set("fetch.wait.max.ms", "10")
            // Prefetch refilled promptly once drained.
            .set("queued.min.messages", "20000")
            .set("fetch.queue.backoff.ms", "5")
            // Per-partition lag for the metrics, when they are served.
            .set("statistics.interval.ms", if config.live.is_some() { "1000" } else { "0" })
            .create_with_context(context)?;
    consumer.subscribe(&[&config.topic])?;
    let dir = config.csv_dir.canonicalize().unwrap_or_else(|_| config.csv_dir.clone());
    info!(topic = %config.topic, group = %config.group, csv_dir = %dir.display(), layout = ?config.layout,
        "consuming; orders go to the daily CSV files there, rejects to its dead_letters file");

    let dlq = if config.dead_letter_topic {
        Some(DeadLetterTopic::new(&config.brokers, &config.topic)?)
    } else {
        None
    };
    let result = {
        let mut run = Consumption::new(&consumer, config, stats, dlq);
        run.flow = link.and_then(RunLink::flow).map(|flow| flow.register());
        run.until_done(shutdown, link).and_then(|()| run.finish())
    };
    close(&consumer);
    if let Some(live) = &config.live {
        live.lag_cleared();
        live.settle(Duration::from_secs(30));
    }
    // The drop would run librdkafka's close again, and rdkafka's drop waits for it without
    // a limit. The close above has already left the group (or given up), so the handle is
    // released without it; its threads end with the process.
    std::mem::forget(consumer);
    let report = result?;
    let latency = report
        .latency_ms()
        .map(|(p50, p99, max)| format!("p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms"));
    info!(consumed = report.consumed, written = report.written, dead_letters = report.dead_lettered,
        redeliveries_skipped = Stats::get(&stats.duplicates_skipped), order_to_durable_row = latency.unwrap_or_default(), csv_dir = %dir.display(), "consumer finished");
    Ok(report)
}

/// Fails with a clear error if no broker answers; returns the cluster id.
fn check_reachable(config: &ConsumerConfig) -> Result<String, KafkaStageError> {
    let probe: BaseConsumer = client_config(&config.brokers, "probe").create()?;
    let metadata = probe.fetch_metadata(Some(&config.topic), config.connect_timeout).map_err(|e| {
        KafkaStageError::Unreachable {
            brokers: config.brokers.clone(),
            timeout: config.connect_timeout,
            reason: e.to_string(),
        }
    })?;
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

/// The poll loop's state: the current batch and what is durable or committed.
struct Consumption<'a> {
    consumer: &'a BaseConsumer<SinkContext>,
    config: &'a ConsumerConfig,
    stats: &'a Stats,
    dlq: Option<DeadLetterTopic>,
    report: ConsumeReport,
    batch: Batch,
    /// Next offset per partition that is durable in the files.
    durable_next: BTreeMap<i32, i64>,
    /// Durable offsets not yet committed to Kafka.
    uncommitted: BTreeMap<i32, i64>,
    last_commit: Instant,
    last_message: Instant,
    last_poll_error: Option<Instant>,
    /// The producer's flow window, told what is durable (embedded broker).
    flow: Option<SinkSlot>,
    /// Since when no partition is held (`None` while some are).
    unassigned_since: Option<Instant>,
}

impl<'a> Consumption<'a> {
    fn new(
        consumer: &'a BaseConsumer<SinkContext>,
        config: &'a ConsumerConfig,
        stats: &'a Stats,
        dlq: Option<DeadLetterTopic>,
    ) -> Self {
        Consumption {
            consumer,
            config,
            stats,
            dlq,
            report: ConsumeReport {
                latency_micros: Histogram::new_with_bounds(1, 3_600_000_000, 3).ok(),
                ..Default::default()
            },
            batch: Batch { event_times: Vec::with_capacity(64 * 1024), ..Default::default() },
            durable_next: BTreeMap::new(),
            uncommitted: BTreeMap::new(),
            last_commit: Instant::now(),
            last_message: Instant::now(),
            last_poll_error: None,
            flow: None,
            unassigned_since: Some(Instant::now()),
        }
    }

    /// Polls, writes and syncs until a stop condition holds between two batches.
    fn until_done(&mut self, shutdown: &Shutdown, link: Option<&RunLink>) -> anyhow::Result<()> {
        loop {
            if let Some(err) =
                self.consumer.context().failure.lock().unwrap_or_else(|p| p.into_inner()).take()
            {
                return Err(err.into());
            }
            // With rows pending, only take what is already fetched: an empty queue means
            // a fetch batch is complete, the moment to sync (group commit).
            let pending = self.batch.since.is_some();
            let wait = if pending { Duration::ZERO } else { Duration::from_millis(100) };
            let sync_now = match self.consumer.poll(wait) {
                None => pending,
                Some(Err(e)) => {
                    if let Some(reason) = refusal(&e) {
                        anyhow::bail!(reason);
                    }
                    if self.last_poll_error.is_none_or(|t| t.elapsed() > Duration::from_secs(5)) {
                        warn!(error = %e, "consumer error (retrying)");
                        self.last_poll_error = Some(Instant::now());
                    }
                    false
                }
                Some(Ok(message)) => self.take(&message)?,
            };
            if sync_now {
                self.sync()?;
            }
            if self.batch.since.is_some() {
                continue;
            }
            if let Some(live) = &self.config.live {
                let assigned =
                    self.consumer.context().assigned_at.lock().unwrap_or_else(|p| p.into_inner()).is_some();
                live.ready(assigned);
            }
            if shutdown.requested() {
                info!("shutdown requested");
                return Ok(());
            }
            if link.is_some_and(|l| l.reached(&self.durable_next)) {
                info!("every produced order is durable");
                return Ok(());
            }
            let idle_for = self.idle_for();
            if let Some(idle) = self.config.idle_exit {
                if idle_for.is_some_and(|t| t >= idle) {
                    if caught_up(self.consumer, &self.config.topic, &self.consumer.context().gaps()) {
                        info!(idle = ?idle, "no new message and every assigned partition read to its end; exiting");
                        return Ok(());
                    }
                    // Not at the end (a broker away, a fetch stalled): wait another round.
                    self.last_message = Instant::now();
                }
            }
            if let Some(limit) = self.config.join_timeout {
                if self.unassigned_since.is_some_and(|since| since.elapsed() >= limit) {
                    anyhow::bail!(
                        "no partition of {} was assigned to this member within --join-timeout {}; is the group full (more members than partitions) or the broker unable to form it?",
                        self.config.topic,
                        humantime::format_duration(limit)
                    );
                }
            }
        }
    }

    /// Time since the last message or the last assignment, whichever is later; `None`
    /// while no partition is held (a slow group join, or a group with more members than
    /// partitions, is not idleness).
    fn idle_for(&mut self) -> Option<Duration> {
        let assigned = *self.consumer.context().assigned_at.lock().unwrap_or_else(|p| p.into_inner());
        match assigned {
            Some(at) => {
                self.unassigned_since = None;
                Some(at.max(self.last_message).elapsed())
            }
            None => {
                self.unassigned_since.get_or_insert_with(Instant::now);
                None
            }
        }
    }

    /// Queues one message as a CSV row or a dead letter; true when the batch is due.
    fn take(&mut self, message: &BorrowedMessage<'_>) -> Result<bool, SinkError> {
        self.last_message = Instant::now();
        self.report.consumed += 1;
        Stats::add(&self.stats.consumed, 1);
        let (partition, offset) = (message.partition(), message.offset());
        let missing = self.consumer.context().gaps().observe(partition, offset);
        if let Some(range) = missing {
            let gap = gaps::report(self.consumer, self.stats, "csv", &self.config.topic, partition, range);
            self.consumer.context().sink().write_gap(&gap)?;
            self.report.lost += gap.missing;
            if let Some(flow) = &self.flow {
                // Nothing will ever arrive for these offsets: the producer must not wait for them.
                flow.durable([(partition, range.1 + 1)]);
            }
        }
        let decoded = match message.payload() {
            Some(payload) => decode_json(payload)
                .and_then(|order| {
                    check_event_time(&order, crate::clock::now_micros(), self.config.max_future)
                        .map(|()| order)
                })
                .map_err(|e| e.to_string()),
            None => Err("empty message (no payload)".to_string()),
        };
        let mut sink = self.consumer.context().sink();
        let taken = match decoded {
            Ok(order) => {
                let taken = sink.write_order(partition, offset, &order)?;
                if taken {
                    self.batch.orders += 1;
                    self.batch.event_times.push(order.timestamp.utc_micros);
                    if self.config.live.is_some() {
                        self.batch.live_orders.push((partition, order));
                    }
                }
                taken
            }
            Err(reason) => {
                let payload = message.payload().unwrap_or_default();
                let letter =
                    DeadLetter::new(message.topic(), partition, offset, message.key(), payload, reason);
                let taken = sink.write_dead_letter(&letter)?;
                if taken {
                    warn!(partition, offset, reason = %letter.reason, "dead letter");
                    self.batch.dead_letters += 1;
                    if let Some(dlq) = self.dlq.as_mut() {
                        dlq.send(message, &letter.reason, &sink.dead_letter_file(partition));
                    }
                }
                taken
            }
        };
        if !taken {
            Stats::add(&self.stats.duplicates_skipped, 1);
            return Ok(false);
        }
        let since = *self.batch.since.get_or_insert_with(Instant::now);
        Ok(since.elapsed() >= self.config.sync_interval || sink.pending_bytes() >= SYNC_BYTES)
    }

    /// Makes the batch durable, then commits its offsets to Kafka (at most once per
    /// [`COMMIT_INTERVAL`]: the checkpoint already holds them, and commits would crowd
    /// out fetches).
    fn sync(&mut self) -> Result<(), SinkError> {
        if let Some(dlq) = self.dlq.as_mut() {
            dlq.flush();
        }
        let started = Instant::now();
        let offsets = self.consumer.context().sink().sync()?;
        if started.elapsed() > SLOW_SYNC {
            warn!(took = ?started.elapsed(), rows = self.batch.orders, "slow fsync of the CSV files");
        }
        if let Some(flow) = &self.flow {
            flow.durable(offsets.iter().copied());
        }
        self.durable_next.extend(offsets.iter().copied());
        self.uncommitted.extend(offsets);
        if self.last_commit.elapsed() >= COMMIT_INTERVAL {
            self.commit(CommitMode::Async);
        }
        let mut batch = std::mem::take(&mut self.batch);
        self.record_latencies(&batch.event_times);
        if let Some(live) = &self.config.live {
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
        Ok(())
    }

    fn commit(&mut self, mode: CommitMode) {
        let offsets: Vec<(i32, i64)> = std::mem::take(&mut self.uncommitted).into_iter().collect();
        commit(self.consumer, &offsets, mode);
        self.last_commit = Instant::now();
    }

    /// Records how long the orders just made durable took from their timestamps.
    fn record_latencies(&mut self, event_times: &[i64]) {
        let now = crate::clock::now_micros();
        if let Some(h) = self.report.latency_micros.as_mut() {
            for t in event_times {
                h.saturating_record((now - t).max(0) as u64);
            }
        }
        if let Some(live) = &self.config.live {
            for t in event_times {
                live.latency((now - t).max(0) as f64 / 1e6);
            }
        }
        if let Some(oldest) = event_times.iter().min() {
            tracing::debug!(rows = event_times.len(), oldest_ms = (now - oldest) / 1000, "batch durable");
        }
    }

    /// Syncs what is left and commits every durable offset before leaving.
    fn finish(mut self) -> anyhow::Result<ConsumeReport> {
        self.sync()?;
        self.commit(CommitMode::Sync);
        Ok(self.report)
    }
}

/// True when every partition of `topic` assigned to `consumer` has been read to its end
/// (or is empty); false while none is assigned or an end cannot be read.
pub(crate) fn caught_up<C: ConsumerContext>(
    consumer: &BaseConsumer<C>,
    topic: &str,
    gaps: &GapDetector,
) -> bool {
    let Ok(assignment) = consumer.assignment() else { return false };
    let partitions: Vec<i32> = assignment.elements_for_topic(topic).iter().map(|e| e.partition()).collect();
    !partitions.is_empty()
        && partitions.iter().all(|&partition| {
            match consumer.fetch_watermarks(topic, partition, Duration::from_secs(5)) {
                Ok((low, high)) => gaps.expected(partition).map_or(high <= low, |next| next >= high),
                Err(error) => {
                    warn!(partition, %error, "cannot read the end of the partition; not idle yet");
                    false
                }
            }
        })
}

/// How long leaving the group may take at shutdown.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// Closes the consumer while serving its events here, with a time limit: the close
/// revokes partitions (synced and committed by the rebalance callback) and sends a
/// LeaveGroup, so the group rebalances at once instead of waiting for this member's
/// session to time out. Messages polled meanwhile are not written: the next owner gets
/// them. librdkafka's own blocking close can hang forever after a rebalance storm.
pub(crate) fn close<C: ConsumerContext>(consumer: &BaseConsumer<C>) {
    if let Err(error) = consumer.close_queue() {
        warn!(%error, "could not start closing the consumer; the group notices after the session timeout");
        return;
    }
    let deadline = Instant::now() + CLOSE_TIMEOUT;
    while !consumer.closed() {
        if Instant::now() >= deadline {
            warn!(timeout = ?CLOSE_TIMEOUT, "consumer did not close in time; the group notices after the session timeout");
            return;
        }
        let _ = consumer.poll(Duration::from_millis(100));
    }
    debug!("left the consumer group");
}
