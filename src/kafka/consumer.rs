//! The consumer-group member that feeds the CSV sink, at-least-once from Kafka and
//! exactly-once into the files.
//!
//! Offsets are committed only after [`CsvSink::sync`] made the rows durable. On every
//! assignment the sink's checkpoint (not only Kafka's committed offset) says where to
//! resume; see [`crate::sink`].

use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hdrhistogram::Histogram;

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext};
use rdkafka::message::{BorrowedMessage, Header, Message, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use tracing::{debug, error, info, warn};

use super::{client_config, dead_letter_topic, KafkaStageError};
use crate::order::decode_json;
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
    /// Exit after this long without a message.
    pub idle_exit: Option<Duration>,
    /// Longest time a row waits in memory before it is made durable.
    pub sync_interval: Duration,
    /// How long the group waits for a silent member.
    pub session_timeout: Duration,
    /// How long to wait for the cluster at start.
    pub connect_timeout: Duration,
    /// Also send dead letters to `<topic>.dlq`.
    pub dead_letter_topic: bool,
    /// Names the cluster in checkpoints; `None` asks the cluster for its id.
    pub source: Option<String>,
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

/// Links the consumer of `run` with its producer: the producer waits until the consumer
/// holds its partitions (so no order waits for the group to form), and the consumer stops
/// once everything the producer delivered is durable.
#[derive(Debug, Default, Clone)]
pub struct RunLink {
    stop_at: Arc<Mutex<Option<BTreeMap<i32, i64>>>>,
    assigned: Arc<(Mutex<bool>, Condvar)>,
}

impl RunLink {
    /// Sets the last offset per partition that must be durable before stopping.
    pub fn stop_at(&self, last_offsets: BTreeMap<i32, i64>) {
        *self.stop_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(last_offsets);
    }

    /// Waits until the consumer got its first assignment; false on timeout.
    pub fn wait_assigned(&self, timeout: Duration) -> bool {
        let (flag, ready) = &*self.assigned;
        let guard = flag.lock().unwrap_or_else(|p| p.into_inner());
        let (guard, _) = ready
            .wait_timeout_while(guard, timeout, |assigned| !*assigned)
            .unwrap_or_else(|p| p.into_inner());
        *guard
    }

    fn mark_assigned(&self) {
        let (flag, ready) = &*self.assigned;
        *flag.lock().unwrap_or_else(|p| p.into_inner()) = true;
        ready.notify_all();
    }

    fn reached(&self, durable_next: &BTreeMap<i32, i64>) -> bool {
        match &*self.stop_at.lock().unwrap_or_else(|p| p.into_inner()) {
            Some(last) => last.iter().all(|(p, off)| durable_next.get(p).is_some_and(|n| n > off)),
            None => false,
        }
    }
}

/// How often durable offsets are also committed to Kafka.
const COMMIT_INTERVAL: Duration = Duration::from_secs(1);
/// Bytes buffered before a sync is forced regardless of the interval.
const SYNC_BYTES: usize = 8 << 20;

struct SinkContext {
    topic: String,
    sink: Mutex<CsvSink>,
    failure: Mutex<Option<SinkError>>,
    rebalance_timeout: Duration,
    link: Option<RunLink>,
}

impl SinkContext {
    fn sink(&self) -> MutexGuard<'_, CsvSink> {
        self.sink.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn fail(&self, err: SinkError) {
        error!(error = %err, "the CSV sink failed during a rebalance");
        *self.failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(err);
    }

    fn partitions(&self, tpl: &TopicPartitionList) -> Vec<i32> {
        tpl.elements_for_topic(&self.topic).iter().map(|e| e.partition()).collect()
    }

    fn on_assign(&self, consumer: &BaseConsumer<Self>, tpl: &mut TopicPartitionList) {
        let partitions = self.partitions(tpl);
        let resume = match self.sink().assign(&partitions) {
            Ok(resume) => resume,
            Err(err) => return self.fail(err),
        };
        let committed = consumer.committed_offsets(tpl.clone(), self.rebalance_timeout).unwrap_or_else(|e| {
            warn!(error = %e, "could not read committed offsets; resuming from the CSV checkpoint");
            TopicPartitionList::new()
        });
        let mut starts = BTreeMap::new();
        for (partition, checkpointed) in resume {
            let kafka = committed.find_partition(&self.topic, partition).and_then(|e| match e.offset() {
                Offset::Offset(o) => Some(o),
                _ => None,
            });
            // The checkpoint is ahead after a crash before the commit; Kafka is ahead
            // when another member wrote this partition into another directory.
            let mut start = checkpointed.max(kafka);
            if let Some(wanted) = start {
                let watermarks = consumer.fetch_watermarks(&self.topic, partition, self.rebalance_timeout);
                if let Some((_, high)) = watermarks.ok().filter(|(_, high)| wanted > *high) {
                    warn!(partition, wanted, end = high,
                        "the recorded offset is past the end of the partition (was the topic recreated?); starting from the earliest offset");
                    start = kafka.filter(|k| *k <= high);
                }
            }
            if let Some(start) = start {
                if let Err(e) = tpl.set_partition_offset(&self.topic, partition, Offset::Offset(start)) {
                    warn!(partition, error = %e, "cannot set the start offset");
                }
                starts.insert(partition, start);
            }
            self.sink().resume_at(partition, start.unwrap_or(0));
        }
        info!(?partitions, resume_at = ?starts, "partitions assigned (others start at the earliest offset)");
        if let Some(link) = &self.link {
            link.mark_assigned();
        }
    }

    fn on_revoke(&self, consumer: &BaseConsumer<Self>, tpl: &TopicPartitionList) {
        let partitions = self.partitions(tpl);
        match self.sink().revoke(&partitions) {
            Ok(offsets) => {
                commit(consumer, &self.topic, &offsets, CommitMode::Sync);
                info!(?partitions, "partitions revoked after their rows were made durable");
            }
            Err(err) => self.fail(err),
        }
    }
}

impl ClientContext for SinkContext {}

impl ConsumerContext for SinkContext {
    fn rebalance(&self, consumer: &BaseConsumer<Self>, err: RDKafkaRespErr, tpl: &mut TopicPartitionList) {
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                self.on_assign(consumer, tpl);
                if let Err(e) = consumer.assign(tpl) {
                    error!(error = %e, "assign failed");
                }
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                self.on_revoke(consumer, tpl);
                if let Err(e) = consumer.unassign() {
                    error!(error = %e, "unassign failed");
                }
            }
            other => {
                error!(error = ?other, "rebalance error");
                let _ = consumer.unassign();
            }
        }
    }
}

fn commit(consumer: &BaseConsumer<SinkContext>, topic: &str, offsets: &[(i32, i64)], mode: CommitMode) {
    if offsets.is_empty() {
        return;
    }
    let mut tpl = TopicPartitionList::new();
    for &(partition, next) in offsets {
        if let Err(e) = tpl.add_partition_offset(topic, partition, Offset::Offset(next)) {
            warn!(partition, error = %e, "cannot build the commit");
        }
    }
    if let Err(e) = consumer.commit(&tpl, mode) {
        // Harmless for correctness: the CSV checkpoint already holds these offsets.
        debug!(error = %e, "offset commit failed; the CSV checkpoint still has them");
    }
}

/// Sends dead letters to `<topic>.dlq` as well as to the dead-letter file.
struct DeadLetterTopic {
    topic: String,
    producer: ThreadedProducer<DefaultProducerContext>,
    unflushed: bool,
}

impl DeadLetterTopic {
    fn new(brokers: &str, topic: &str) -> Result<Self, KafkaStageError> {
        let producer =
            client_config(brokers, "dead-letters").set("acks", "all").set("linger.ms", "50").create()?;
        Ok(DeadLetterTopic { topic: dead_letter_topic(topic), producer, unflushed: false })
    }

    fn send(&mut self, message: &BorrowedMessage<'_>, reason: &str) {
        let headers = OwnedHeaders::new()
            .insert(Header { key: "orderstream.reason", value: Some(reason) })
            .insert(Header {
                key: "orderstream.source",
                value: Some(&format!("{}/{}/{}", message.topic(), message.partition(), message.offset())),
            });
        let mut record =
            BaseRecord::to(&self.topic).payload(message.payload().unwrap_or_default()).headers(headers);
        if let Some(key) = message.key() {
            record = record.key(key);
        }
        match self.producer.send(record) {
            Ok(()) => self.unflushed = true,
            Err((e, _)) => {
                warn!(error = %e, topic = %self.topic, "dead letter not sent to Kafka (it is in the dead-letter file)")
            }
        }
    }

    fn flush(&mut self) {
        if std::mem::take(&mut self.unflushed) {
            if let Err(e) = self.producer.flush(Duration::from_secs(10)) {
                warn!(error = %e, topic = %self.topic, "dead letters not confirmed by Kafka (they are in the dead-letter file)");
            }
        }
    }
}

/// Leaves the group and serves the resulting revocation here, so that dropping the
/// consumer has no rebalance left to run (one run from inside librdkafka's close can
/// block forever). Messages polled meanwhile are not written: the next owner gets them.
fn leave_group(consumer: &BaseConsumer<SinkContext>) {
    consumer.unsubscribe();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let assigned = consumer.assignment().map(|a| a.count()).unwrap_or(0);
        if assigned == 0 {
            return;
        }
        let _ = consumer.poll(Duration::from_millis(100));
    }
    warn!("partitions still assigned after leaving the group");
}

/// Records how long the orders just made durable took from their timestamps.
fn record_latencies(report: &mut ConsumeReport, pending_times: &mut Vec<i64>) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0);
    if let Some(h) = report.latency_micros.as_mut() {
        for t in pending_times.iter() {
            h.saturating_record((now - t).max(0) as u64);
        }
    }
    pending_times.clear();
}

/// Consumes until shutdown, idle exit or the [`RunLink`]'s stop, writing the daily CSV files.
pub fn consume(
    config: &ConsumerConfig,
    stats: &Arc<Stats>,
    shutdown: &Shutdown,
    link: Option<&RunLink>,
) -> anyhow::Result<ConsumeReport> {
    let probe: BaseConsumer = client_config(&config.brokers, "probe").create()?;
    let metadata = probe.fetch_metadata(Some(&config.topic), config.connect_timeout).map_err(|e| {
        KafkaStageError::Unreachable {
            brokers: config.brokers.clone(),
            timeout: config.connect_timeout,
            reason: e.to_string(),
        }
    })?;
    let topic_known = metadata.topics().iter().any(|t| t.name() == config.topic && t.error().is_none());
    if !topic_known {
        warn!(topic = %config.topic, "topic does not exist yet; waiting for it");
    }
    let source = match &config.source {
        Some(s) => s.clone(),
        None => {
            let cluster = probe
                .client()
                .fetch_cluster_id(config.connect_timeout)
                .unwrap_or_else(|| "unknown-cluster".into());
            format!("{cluster}/{}", config.topic)
        }
    };
    drop(probe);

    let sink = CsvSink::new(CsvSinkConfig {
        dir: config.csv_dir.clone(),
        layout: config.layout,
        source,
        lock_wait: Duration::from_secs(30),
    })?;
    let context = SinkContext {
        topic: config.topic.clone(),
        sink: Mutex::new(sink),
        failure: Mutex::new(None),
        rebalance_timeout: config.connect_timeout.min(Duration::from_secs(5)),
        link: link.cloned(),
    };
    let consumer: BaseConsumer<SinkContext> = client_config(&config.brokers, "consumer")
        .set("group.id", &config.group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "false")
        .set("fetch.wait.max.ms", "10")
        // Bounded prefetch (flat memory), refilled promptly once drained.
        .set("queued.max.messages.kbytes", "16384")
        .set("queued.min.messages", "20000")
        .set("fetch.queue.backoff.ms", "5")
        .set("session.timeout.ms", config.session_timeout.as_millis().to_string())
        .set("heartbeat.interval.ms", "1000")
        .create_with_context(context)?;
    consumer.subscribe(&[&config.topic])?;
    let dir = config.csv_dir.canonicalize().unwrap_or_else(|_| config.csv_dir.clone());
    info!(topic = %config.topic, group = %config.group, csv_dir = %dir.display(), layout = ?config.layout,
        "consuming; orders go to the daily CSV files there, rejects to its dead_letters file");

    let mut dlq = if config.dead_letter_topic {
        Some(DeadLetterTopic::new(&config.brokers, &config.topic)?)
    } else {
        None
    };
    let mut report = ConsumeReport {
        latency_micros: Histogram::new_with_bounds(1, 3_600_000_000, 3).ok(),
        ..Default::default()
    };
    let mut pending_times: Vec<i64> = Vec::with_capacity(64 * 1024);
    let mut durable_next: BTreeMap<i32, i64> = BTreeMap::new();
    let mut uncommitted: BTreeMap<i32, i64> = BTreeMap::new();
    let mut last_commit = Instant::now();
    let mut pending_orders = 0u64;
    let mut pending_dead = 0u64;
    let mut first_pending: Option<Instant> = None;
    let mut last_message = Instant::now();
    let mut last_poll_error: Option<Instant> = None;

    loop {
        if let Some(err) = consumer.context().failure.lock().unwrap_or_else(|p| p.into_inner()).take() {
            return Err(err.into());
        }
        // With rows pending, only take what is already fetched: an empty queue means a
        // fetch batch is complete, the moment to sync (group commit).
        let wait = if first_pending.is_some() { Duration::ZERO } else { Duration::from_millis(100) };
        let polled = consumer.poll(wait);
        let mut sync_now = false;
        match polled {
            None => sync_now = first_pending.is_some(),
            Some(Err(e)) => {
                if last_poll_error.is_none_or(|t| t.elapsed() > Duration::from_secs(5)) {
                    warn!(error = %e, "consumer error (retrying)");
                    last_poll_error = Some(Instant::now());
                }
            }
            Some(Ok(message)) => {
                last_message = Instant::now();
                report.consumed += 1;
                Stats::add(&stats.consumed, 1);
                let (partition, offset) = (message.partition(), message.offset());
                let decoded = match message.payload() {
                    Some(payload) => decode_json(payload).map_err(|e| e.to_string()),
                    None => Err("empty message (no payload)".to_string()),
                };
                let mut sink = consumer.context().sink();
                let taken = match decoded {
                    Ok(order) => {
                        let taken = sink.write_order(partition, offset, &order)?;
                        if taken {
                            pending_orders += 1;
                            pending_times.push(order.timestamp.utc_micros);
                        }
                        taken
                    }
                    Err(reason) => {
                        let letter = DeadLetter::new(
                            message.topic(),
                            partition,
                            offset,
                            message.key(),
                            message.payload().unwrap_or_default(),
                            reason.clone(),
                        );
                        let taken = sink.write_dead_letter(&letter)?;
                        if taken {
                            warn!(partition, offset, %reason, "dead letter");
                            pending_dead += 1;
                            if let Some(dlq) = dlq.as_mut() {
                                dlq.send(&message, &reason);
                            }
                        }
                        taken
                    }
                };
                if !taken {
                    Stats::add(&stats.duplicates_skipped, 1);
                }
                if taken && first_pending.is_none() {
                    first_pending = Some(Instant::now());
                }
                sync_now = first_pending.is_some_and(|t| t.elapsed() >= config.sync_interval)
                    || sink.pending_bytes() >= SYNC_BYTES;
            }
        }
        if sync_now {
            if let Some(dlq) = dlq.as_mut() {
                dlq.flush();
            }
            let offsets = consumer.context().sink().sync()?;
            durable_next.extend(offsets.iter().copied());
            uncommitted.extend(offsets);
            // Kafka's copy of the offsets is for monitoring and for other directories;
            // committing it once per interval keeps commits from crowding out fetches.
            if last_commit.elapsed() >= COMMIT_INTERVAL {
                let offsets: Vec<(i32, i64)> = std::mem::take(&mut uncommitted).into_iter().collect();
                commit(&consumer, &config.topic, &offsets, CommitMode::Async);
                last_commit = Instant::now();
            }
            record_latencies(&mut report, &mut pending_times);
            report.written += pending_orders;
            report.dead_lettered += pending_dead;
            Stats::add(&stats.written, pending_orders);
            Stats::add(&stats.dead_lettered, pending_dead);
            if pending_dead > 0 {
                warn!(
                    count = pending_dead,
                    total = report.dead_lettered,
                    "messages sent to the dead letters"
                );
            }
            (pending_orders, pending_dead, first_pending) = (0, 0, None);
        }
        if first_pending.is_some() {
            continue;
        }
        if shutdown.requested() {
            info!("shutdown requested");
            break;
        }
        if link.is_some_and(|l| l.reached(&durable_next)) {
            info!("every produced order is durable");
            break;
        }
        if config.idle_exit.is_some_and(|idle| last_message.elapsed() >= idle) {
            info!(idle = ?config.idle_exit.unwrap_or_default(), "no new message; exiting");
            break;
        }
    }
    if let Some(dlq) = dlq.as_mut() {
        dlq.flush();
    }
    uncommitted.extend(consumer.context().sink().sync()?);
    let offsets: Vec<(i32, i64)> = uncommitted.into_iter().collect();
    commit(&consumer, &config.topic, &offsets, CommitMode::Sync);
    record_latencies(&mut report, &mut pending_times);
    leave_group(&consumer);
    // librdkafka's close, run by the drop, can block forever in the revocation it raises
    // after a rebalance storm. Everything is durable and committed and the group is
    // left, so the handle is released without it; its threads end with the process.
    std::mem::forget(consumer);
    let latency = report
        .latency_ms()
        .map(|(p50, p99, max)| format!("p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms"));
    info!(consumed = report.consumed, written = report.written, dead_letters = report.dead_lettered,
        order_to_durable_row = latency.unwrap_or_default(), csv_dir = %dir.display(), "consumer finished");
    Ok(report)
}
