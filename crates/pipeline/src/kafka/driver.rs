//! The one consumer-group member loop that every sink runs in.
//!
//! A sink ([`GroupSink`]) says where its partitions resume, takes records, makes them
//! durable in batches and says what may then be committed. The driver does the rest, the
//! same way for every sink: joining the group and handling rebalances, polling,
//! decoding and checking orders (on a second thread, `kafka::ahead`), finding gaps
//! (records deleted before they were read),
//! committing offsets only once the sink made them durable (with the sink's metadata),
//! the flow window of `run`, idle exit and join timeout, a broker's refusal, shutdown,
//! and leaving the group within a time limit.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::statistics::Statistics;
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientConfig, ClientContext, Offset, TopicPartitionList};
use tracing::{debug, error, info, warn};

use super::ahead::{Ahead, Chunk, Collect};
use super::flow::SinkSlot;
use super::gaps::{self, Gap, GapDetector};
use super::link::RunLink;
use super::observer::PipelineObserver;
use super::refusal;
use crate::format::{Format, Undecodable};
use crate::order::{Catalogue, Order};
use crate::shutdown::Shutdown;
use crate::stats::Stats;

/// A partition handed to a sink, with the group's last commit of it.
#[derive(Debug, Clone)]
pub struct Assigned {
    /// The partition.
    pub partition: i32,
    /// The group's committed offset, if any.
    pub committed: Option<i64>,
    /// The metadata of that commit (what the sink wrote there).
    pub metadata: String,
}

/// Where a sink's partition resumes, as its [`GroupSink::assign`] says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// At this offset, the sink's own record: the records from there on are expected,
    /// so a missing one is a gap.
    At(i64),
    /// At the group's commit, else at the start of the partition.
    Committed,
    /// At the start of the partition whatever the group committed: the sink holds no
    /// position there (a new table, or offsets of an older topic), so nothing was
    /// promised and the first record is never a gap.
    Earliest,
}

/// What a sink may commit: the next offset of a partition, with its metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// The partition.
    pub partition: i32,
    /// The next offset to read; everything below is durable in the sink.
    pub next: i64,
    /// Stored with the commit (where the rows went, which directory holds them).
    pub metadata: String,
}

/// One message as the driver hands it to a sink.
#[derive(Debug)]
pub enum Record<'a> {
    /// A valid order.
    Order(Order),
    /// A message that is not a valid order: why, and the message itself.
    Invalid {
        /// The reason, naming the field and value.
        reason: String,
        /// The message as read.
        message: RawMessage<'a>,
    },
}

/// A message as it was read from the topic, for the dead letters that keep it whole.
#[derive(Debug, Clone, Copy)]
pub struct RawMessage<'a> {
    /// The topic.
    pub topic: &'a str,
    /// The partition.
    pub partition: i32,
    /// The offset.
    pub offset: i64,
    /// The key.
    pub key: Option<&'a [u8]>,
    /// The payload.
    pub payload: Option<&'a [u8]>,
}

/// The moment a sink is asked whether its batch is due.
#[derive(Debug, Clone, Copy)]
pub struct Moment {
    /// Nothing more is fetched right now: a fetch batch is complete.
    pub queue_empty: bool,
    /// The producer of `run` has finished, or waits for the sinks.
    pub producer_waits: bool,
    /// A stop was asked.
    pub stopping: bool,
    /// The time, as the reader last read the clock (at most a few hundred records ago):
    /// for the batch's age, without a clock reading per record.
    pub now: Instant,
}

/// A sink that runs in the group driver. Adding a sink means implementing this.
pub trait GroupSink: Send + 'static {
    /// The sink's errors.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Partitions arrive (called during the rebalance, before fetching starts); returns
    /// where each resumes. `topic_id` is the topic's identity: its id when the cluster
    /// tracks ids, the run's own on the embedded broker (whose topic is new every run);
    /// offsets recorded under another identity belong to another topic of the same name.
    fn assign(
        &mut self,
        topic_id: Option<&str>,
        partitions: &[Assigned],
    ) -> Result<Vec<(i32, Resume)>, Self::Error>;
    /// Where `partition` actually starts: what [`GroupSink::assign`] asked for, unless
    /// that lay past the end of the partition (a recreated topic), or the group's commit
    /// when the sink asked for none. `None`: the earliest offset.
    fn started(&mut self, partition: i32, start: Option<i64>) {
        let _ = (partition, start);
    }
    /// Partitions go: make their rows durable (returning the commits) or drop them for
    /// the next owner.
    fn revoke(&mut self, partitions: &[i32]) -> Result<Vec<Commit>, Self::Error>;
    /// Takes the record at (`partition`, `offset`). Returns false if skipped (already
    /// in the sink).
    fn take(&mut self, partition: i32, offset: i64, record: Record<'_>) -> Result<bool, Self::Error>;
    /// Records that offsets `gap.first_offset..=gap.last_offset` are gone; it becomes
    /// durable with the next batch.
    fn gap(&mut self, gap: &Gap) -> Result<(), Self::Error>;
    /// True while a batch waits to be made durable.
    fn pending(&self) -> bool;
    /// True when the batch may take no more records before it is made durable (a
    /// request's size limit). A rebalance still hands over what was polled before it,
    /// at most a few chunks of records more, before the sink lets its partitions go.
    fn full(&self) -> bool {
        false
    }
    /// True when the pending batch should be made durable now.
    fn due(&mut self, moment: Moment) -> bool;
    /// Makes the batch durable; returns what may be committed.
    fn flush(&mut self) -> Result<Vec<Commit>, Self::Error>;
    /// How long a poll waits while a batch is pending.
    fn poll_wait(&self) -> Duration;
    /// Commits of durable batches are sent at most this often (asynchronously); zero
    /// commits each batch synchronously.
    fn commit_interval(&self) -> Duration;
}

/// How the driver runs a sink.
#[derive(Debug, Clone)]
pub struct DriverConfig {
    /// The sink's name in logs and metrics (`csv`, `sheets`).
    pub name: &'static str,
    /// The topic.
    pub topic: String,
    /// Exit after this long holding partitions read to their end with nothing new.
    pub idle_exit: Option<Duration>,
    /// Fail when no partition is assigned within this long.
    pub join_timeout: Option<Duration>,
    /// Orders further ahead of the clock are invalid.
    pub max_future: Duration,
    /// The catalogue orders are checked against.
    pub catalogue: Catalogue,
    /// The format of the topic's messages.
    pub format: Format,
    /// How long a rebalance may wait for the broker (committed offsets, watermarks).
    pub rebalance_timeout: Duration,
    /// Ask for the topic's id at every assignment, for a sink that keeps offsets of its
    /// own (see [`GroupSink::assign`]).
    pub topic_ids: bool,
    /// The topic's identity when the cluster has none to give: the embedded broker's
    /// run id, since that broker's topic is new (and empty) every run.
    pub run_topic_id: Option<String>,
}

/// What a member's run read.
#[derive(Debug, Clone, Copy, Default)]
pub struct MemberReport {
    /// Messages read.
    pub consumed: u64,
    /// Records gone before they could be read.
    pub lost: u64,
    /// When the first message arrived.
    pub first_message: Option<Instant>,
    /// When the last batch became durable.
    pub last_durable: Option<Instant>,
}

impl MemberReport {
    /// Messages per second from the first message to the last durable batch: the
    /// reading speed, without the group join before it or an idle exit's wait after it.
    pub fn rate(&self) -> Option<(f64, Duration)> {
        let span = self.last_durable?.checked_duration_since(self.first_message?)?;
        (!span.is_zero()).then(|| (self.consumed as f64 / span.as_secs_f64(), span))
    }
}

/// The consumer's context: the sink, so that rebalances reach it.
pub struct DriverContext<S: GroupSink> {
    config: DriverConfig,
    /// The sink; taken out when the member has left the group.
    sink: Mutex<Option<S>>,
    /// An error raised inside a rebalance (the sink's, or a message that cannot be read
    /// yet), for the poll loop to return.
    failure: Mutex<Option<anyhow::Error>>,
    /// Polled messages being decoded on the second thread (from the member's start).
    ahead: Mutex<Option<Ahead>>,
    /// Records the sink skipped (already in it) since the poll loop last counted them.
    skipped: AtomicU64,
    /// When partitions were last assigned (`None` while none are held).
    assigned_at: Mutex<Option<Instant>>,
    gaps: Mutex<GapDetector>,
    link: Option<RunLink>,
    observer: Option<Arc<dyn PipelineObserver>>,
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl<S: GroupSink> DriverContext<S> {
    /// A context for `sink`; `observer` gets the partition lag (librdkafka statistics).
    pub fn new(
        config: DriverConfig,
        sink: S,
        link: Option<RunLink>,
        observer: Option<Arc<dyn PipelineObserver>>,
    ) -> Self {
        DriverContext {
            config,
            sink: Mutex::new(Some(sink)),
            failure: Mutex::new(None),
            ahead: Mutex::new(None),
            skipped: AtomicU64::new(0),
            assigned_at: Mutex::new(None),
            gaps: Mutex::default(),
            link,
            observer,
        }
    }

    /// Runs `f` on the sink (between polls, or inside a rebalance).
    fn with_sink<R>(&self, f: impl FnOnce(&mut S) -> R) -> R {
        f(locked(&self.sink).as_mut().expect("the sink is taken out only after the member left"))
    }

    fn fail(&self, err: impl Into<anyhow::Error>) {
        let err = err.into();
        error!(sink = self.config.name, error = %format!("{err:#}"), "the sink failed while its partitions were assigned or revoked");
        *locked(&self.failure) = Some(err);
    }

    /// Hands decoded messages to the sink: as much as `how` says, and (unless in a
    /// rebalance, which must hand over everything) only until the sink's batch is full.
    fn collect(&self, how: Collect, in_rebalance: bool) -> anyhow::Result<()> {
        let mut slot = locked(&self.ahead);
        let Some(ahead) = slot.as_mut() else { return Ok(()) };
        let result = (|| {
            while let Some(mut chunk) = ahead.collect(how)? {
                let taken = self.take_chunk(&mut chunk, !in_rebalance);
                let finished = chunk.finished();
                ahead.give_back(chunk);
                taken?;
                if !finished {
                    break;
                }
            }
            Ok(())
        })();
        if result.is_err() {
            // Nothing polled after the record that failed may reach the sink: the member
            // stops, and the next owner reads from that record on.
            if let Some(mut ahead) = slot.take() {
                ahead.stop();
            }
        }
        result
    }

    /// Hands a decoded chunk's messages to the sink, each after the gap found before it,
    /// until the chunk ends, the batch is full (with `until_full`), or a message cannot
    /// be read yet (an error).
    fn take_chunk(&self, chunk: &mut Chunk, until_full: bool) -> anyhow::Result<()> {
        let topic = self.config.topic.as_str();
        let mut sink = locked(&self.sink);
        let sink = sink.as_mut().expect("the sink is taken out only after the member left");
        // A full batch stops the chunk until it is flushed; one with nothing pending (its
        // rows revoked) takes more.
        while !(until_full && sink.pending() && sink.full()) {
            let Some(polled) = chunk.next() else { break };
            let polled = polled?;
            let (partition, offset) = (polled.partition, polled.offset);
            if let Some(gap) = &polled.gap {
                sink.gap(gap)?;
            }
            let message = RawMessage { topic, partition, offset, key: polled.key, payload: polled.payload };
            let record = match polled.decoded {
                Some(Ok(order)) => Record::Order(order),
                Some(Err(Undecodable::Invalid(e))) => Record::Invalid { reason: e.to_string(), message },
                // Not the message's fault: stop before its offset, so that a restart reads it again.
                Some(Err(Undecodable::Registry(e))) => {
                    return Err(anyhow::Error::new(e).context(format!(
                    "cannot read partition {partition} offset {offset}; nothing from there on is committed"
                )))
                }
                None => Record::Invalid { reason: "empty message (no payload)".to_string(), message },
            };
            if !sink.take(partition, offset, record)? {
                self.skipped.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(())
    }

    fn partitions(&self, tpl: &TopicPartitionList) -> Vec<i32> {
        tpl.elements_for_topic(&self.config.topic)
            .iter()
            .map(rdkafka::topic_partition_list::TopicPartitionListElem::partition)
            .collect()
    }

    fn on_assign(&self, consumer: &BaseConsumer<Self>, tpl: &mut TopicPartitionList) {
        // Whatever was polled under the last assignment is taken before this one starts.
        if let Err(err) = self.collect(Collect::Everything, true) {
            return self.fail(err);
        }
        let topic = self.config.topic.clone();
        let committed = consumer.committed_offsets(tpl.clone(), self.config.rebalance_timeout).unwrap_or_else(|e| {
            warn!(error = %e, "could not read the committed offsets; resuming from the sink's own record");
            TopicPartitionList::new()
        });
        let assigned: Vec<Assigned> = self
            .partitions(tpl)
            .into_iter()
            .map(|partition| {
                let element = committed.find_partition(&topic, partition);
                Assigned {
                    partition,
                    committed: element.as_ref().and_then(|e| match e.offset() {
                        Offset::Offset(o) => Some(o),
                        _ => None,
                    }),
                    metadata: element.as_ref().map(|e| e.metadata().to_string()).unwrap_or_default(),
                }
            })
            .collect();
        let topic_id = if let Some(run_id) = &self.config.run_topic_id {
            Some(run_id.clone())
        } else if self.config.topic_ids {
            super::topic_id::topic_id(consumer.client(), &topic, self.config.rebalance_timeout).unwrap_or_else(|e| {
                warn!(topic = %topic, error = %e, "cannot read the topic's id; a recreated topic is recognised only when its partitions are shorter than the recorded offsets");
                None
            })
        } else {
            None
        };
        let resume = match self.with_sink(|sink| sink.assign(topic_id.as_deref(), &assigned)) {
            Ok(resume) => resume,
            Err(err) => return self.fail(err),
        };
        let mut starts = BTreeMap::new();
        for (partition, resume) in resume {
            let committed = assigned.iter().find(|a| a.partition == partition).and_then(|a| a.committed);
            let mut start = match resume {
                Resume::At(offset) => Some(offset),
                Resume::Committed => committed,
                Resume::Earliest => None,
            };
            if let Some(wanted) = start {
                let watermarks = consumer
                    .fetch_watermarks(&topic, partition, self.config.rebalance_timeout)
                    .inspect_err(|e| warn!(partition, error = %e, "cannot read the end of the partition"));
                if let Some((_, high)) = watermarks.ok().filter(|(_, high)| wanted > *high) {
                    warn!(partition, wanted, end = high,
                        "the recorded offset is past the end of the partition (was the topic recreated?); starting from the earliest offset");
                    start = committed.filter(|k| *k <= high);
                }
            }
            let offset = match start {
                Some(start) => {
                    starts.insert(partition, start);
                    Offset::Offset(start)
                }
                // Neither the sink's record nor the group's commit: the start of the log.
                None => Offset::Beginning,
            };
            if let Err(e) = tpl.set_partition_offset(&topic, partition, offset) {
                warn!(partition, error = %e, "cannot set the start offset");
            }
            locked(&self.gaps).assigned(partition, start);
            self.with_sink(|sink| sink.started(partition, start));
        }
        info!(sink = self.config.name, partitions = ?assigned.iter().map(|a| a.partition).collect::<Vec<_>>(),
            resume_at = ?starts, "partitions assigned (others start at the earliest offset)");
        *locked(&self.assigned_at) = Some(Instant::now());
        if let Some(observer) = &self.observer {
            observer.assigned(&assigned.iter().map(|a| a.partition).collect::<Vec<_>>());
        }
        if let Some(link) = &self.link {
            link.mark_assigned();
        }
    }

    fn on_revoke(&self, consumer: &BaseConsumer<Self>, tpl: &TopicPartitionList) {
        // Polled records of these partitions are taken before the sink lets them go.
        if let Err(err) = self.collect(Collect::Everything, true) {
            return self.fail(err);
        }
        let partitions = self.partitions(tpl);
        for &partition in &partitions {
            locked(&self.gaps).revoked(partition);
        }
        // The eager protocol revokes everything: idle time stops counting until the next
        // assignment.
        *locked(&self.assigned_at) = None;
        if let Some(observer) = &self.observer {
            observer.assigned(&[]);
        }
        let revoked = self.with_sink(|sink| sink.revoke(&partitions));
        match revoked {
            // A lost assignment (the session timed out while the coordinator could not be
            // reached) is not the member's to commit any more: the group has moved on, and
            // for a static member the old generation's commit comes back as a fatal
            // "fenced" error. The sink's own durable record of its offsets covers it.
            Ok(_) if consumer.assignment_lost() => {
                warn!(
                    sink = self.config.name,
                    ?partitions,
                    "partitions lost (the group session timed out): their rows are durable, their offsets stay in the sink's own record, and the member rejoins"
                );
            }
            Ok(commits) => {
                commit(consumer, &self.config.topic, &commits, CommitMode::Sync);
                info!(
                    sink = self.config.name,
                    ?partitions,
                    "partitions revoked after their rows were made durable or handed on"
                );
            }
            Err(err) => self.fail(err),
        }
    }
}

impl<S: GroupSink> ClientContext for DriverContext<S> {
    fn stats(&self, statistics: Statistics) {
        let Some(observer) = &self.observer else { return };
        for partition in
            statistics.topics.get(&self.config.topic).into_iter().flat_map(|t| t.partitions.values())
        {
            // librdkafka reports -1 for partitions it does not consume, and the internal
            // partition -1 of every topic.
            if partition.partition >= 0 && partition.consumer_lag >= 0 {
                observer.lag(partition.partition, partition.consumer_lag);
            }
        }
    }
}

impl<S: GroupSink> ConsumerContext for DriverContext<S> {
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

/// Commits next offsets per partition with their metadata; a failure only delays the
/// commit (the sink's durable record, or the next commit, covers it).
fn commit<C: ConsumerContext>(consumer: &BaseConsumer<C>, topic: &str, commits: &[Commit], mode: CommitMode) {
    if commits.is_empty() {
        return;
    }
    let mut tpl = TopicPartitionList::new();
    for c in commits {
        let mut element = tpl.add_partition(topic, c.partition);
        if let Err(e) = element.set_offset(Offset::Offset(c.next)) {
            warn!(partition = c.partition, error = %e, "cannot build the commit");
        }
        element.set_metadata(c.metadata.clone());
    }
    if let Err(e) = consumer.commit(&tpl, mode) {
        debug!(error = %e, "offset commit failed; a later commit or the sink's own record covers it");
    }
}

/// Joins the group with `settings`, runs `context`'s sink until shutdown, idle exit or
/// the link's stop, makes the last batch durable, commits and leaves the group. `flow`
/// is the sink's place in the producer's flow window of `run` (registered before the
/// producer starts).
pub fn run_member<S: GroupSink>(
    settings: &ClientConfig,
    context: DriverContext<S>,
    stats: &Stats,
    shutdown: &Shutdown,
    flow: Option<SinkSlot>,
) -> anyhow::Result<(MemberReport, S)> {
    let topic = context.config.topic.clone();
    let link = context.link.clone();
    let config = &context.config;
    let ahead = Ahead::start(&config.format, config.catalogue, config.max_future)
        .map_err(|e| anyhow::anyhow!("cannot start the decoding thread: {e}"))?;
    *locked(&context.ahead) = Some(ahead);
    let consumer: BaseConsumer<DriverContext<S>> = settings.create_with_context(context)?;
    consumer.subscribe(&[&topic])?;
    let result = {
        let mut member = Member {
            consumer: &consumer,
            stats,
            report: MemberReport::default(),
            durable_next: BTreeMap::new(),
            uncommitted: BTreeMap::new(),
            last_commit: Instant::now(),
            last_message: Instant::now(),
            clock: RecordClock::default(),
            last_poll_error: None,
            flow,
            unassigned_since: Some(Instant::now()),
        };
        member.until_done(shutdown, link.as_ref()).and_then(|()| member.finish()).map(|()| member.report)
    };
    // After an error, what was polled and not taken is left for the next owner.
    if let Some(mut ahead) = locked(&consumer.context().ahead).take() {
        ahead.stop();
    }
    close(&consumer);
    if let Some(observer) = &consumer.context().observer {
        observer.lag_cleared();
    }
    let sink = locked(&consumer.context().sink).take().expect("the sink is still in the context");
    // Dropping the consumer would run librdkafka's close again, and rdkafka's drop waits
    // for it without a limit. The close above has already left the group (or given up),
    // so the handle is released without it; its threads end with the process.
    std::mem::forget(consumer);
    Ok((result?, sink))
}

/// The poll loop's state: what is durable, committed, and how long it has been idle.
struct Member<'a, S: GroupSink> {
    consumer: &'a BaseConsumer<DriverContext<S>>,
    stats: &'a Stats,
    report: MemberReport,
    /// Next offset per partition that is durable in the sink.
    durable_next: BTreeMap<i32, i64>,
    /// Durable offsets not yet committed to Kafka, with their metadata.
    uncommitted: BTreeMap<i32, Commit>,
    last_commit: Instant,
    last_message: Instant,
    /// The time records are read at, read from the system once per batch of them.
    clock: RecordClock,
    last_poll_error: Option<Instant>,
    /// The producer's flow window, told what is durable (embedded broker).
    flow: Option<SinkSlot>,
    /// Since when no partition is held (`None` while some are).
    unassigned_since: Option<Instant>,
}

impl<S: GroupSink> Member<'_, S> {
    fn context(&self) -> &DriverContext<S> {
        self.consumer.context()
    }

    /// Polls, hands records to the sink and makes batches durable until a stop
    /// condition holds between two batches.
    fn until_done(&mut self, shutdown: &Shutdown, link: Option<&RunLink>) -> anyhow::Result<()> {
        loop {
            if let Some(err) = locked(&self.context().failure).take() {
                return Err(err);
            }
            let pending = self.context().with_sink(|sink| sink.pending());
            let holds = locked(&self.context().ahead).as_ref().is_some_and(Ahead::holds);
            // Messages polled and not yet taken: look for the next without waiting, and
            // take them all once there is none (waiting for the decoder beats waiting for
            // a message).
            let wait = if holds {
                Duration::ZERO
            } else if pending {
                self.context().with_sink(|sink| sink.poll_wait())
            } else {
                Duration::from_millis(100)
            };
            let mut queue_empty = false;
            let polled = self.consumer.poll(wait);
            // A rebalance inside the poll may have failed: stop before anything else.
            if let Some(err) = locked(&self.context().failure).take() {
                return Err(err);
            }
            match polled {
                // The fetch queue ran empty with messages still held: take them all, and
                // wait for the next message in the next round (only a wait that finds
                // nothing means a fetch batch is complete).
                None if holds => self.collect(Collect::Everything)?,
                None => {
                    queue_empty = true;
                    self.clock.refresh();
                }
                Some(Err(e)) => {
                    if let Some(reason) = refusal(&e) {
                        anyhow::bail!(reason);
                    }
                    if self.last_poll_error.is_none_or(|t| t.elapsed() > Duration::from_secs(5)) {
                        warn!(sink = self.context().config.name, error = %e, "consumer error (retrying)");
                        self.last_poll_error = Some(Instant::now());
                    }
                }
                Some(Ok(message)) => self.read(&message)?,
            }
            let moment = Moment {
                queue_empty,
                producer_waits: link
                    .is_some_and(|l| l.is_set() || l.flow().is_some_and(|f| f.producer_waiting())),
                stopping: shutdown.requested(),
                now: self.clock.at,
            };
            let due = self.context().with_sink(|sink| sink.pending() && sink.due(moment));
            if due {
                self.flush()?;
            }
            if self.context().with_sink(|sink| sink.pending()) && !moment.stopping {
                continue;
            }
            let holds = locked(&self.context().assigned_at).is_some();
            if let Some(observer) = &self.context().observer {
                observer.ready(holds);
            }
            if moment.stopping {
                info!(sink = self.context().config.name, "shutdown requested");
                return Ok(());
            }
            if link.is_some_and(|l| l.reached(&self.durable_next)) {
                info!(sink = self.context().config.name, "every produced order is durable");
                return Ok(());
            }
            if self.idle_enough() {
                return Ok(());
            }
            self.check_join_timeout()?;
        }
    }

    /// Fails once no partition has been held for `--join-timeout`.
    fn check_join_timeout(&mut self) -> anyhow::Result<()> {
        let config = &self.consumer.context().config;
        let assigned_at = *locked(&self.context().assigned_at);
        match assigned_at {
            Some(_) => self.unassigned_since = None,
            None => {
                self.unassigned_since.get_or_insert_with(Instant::now);
            }
        }
        if let Some(limit) = config.join_timeout {
            if self.unassigned_since.is_some_and(|since| since.elapsed() >= limit) {
                anyhow::bail!(
                    "no partition of {} was assigned to this member within --join-timeout {}; is the group full (more members than partitions) or the broker unable to form it?",
                    config.topic,
                    humantime::format_duration(limit)
                );
            }
        }
        Ok(())
    }

    /// True once the member has held partitions, read to their end, for `--idle-exit`
    /// with nothing new. Time without partitions does not count.
    fn idle_enough(&mut self) -> bool {
        let config = &self.consumer.context().config;
        let Some(idle) = config.idle_exit else { return false };
        let Some(assigned) = *locked(&self.context().assigned_at) else { return false };
        if assigned.max(self.last_message).elapsed() < idle {
            return false;
        }
        if caught_up(self.consumer, &config.topic, &locked(&self.context().gaps)) {
            info!(sink = config.name, idle = ?idle, "no new message and every assigned partition read to its end; exiting");
            return true;
        }
        match self.gaps_to_an_empty_log() {
            // Recorded: the batch holding the gap is made durable before the next check.
            Ok(true) => return false,
            Ok(false) => {}
            Err(error) => {
                *locked(&self.context().failure) = Some(error.into());
                return false;
            }
        }
        // Not at the end (a broker away, a fetch stalled): wait another round.
        self.last_message = Instant::now();
        false
    }

    /// Records the gaps that no message will ever reveal: every record from a
    /// partition's stored position on was deleted, and nothing came after them, so the
    /// reader waits at the log's end for a message that would show the jump. Returns
    /// whether any was recorded.
    fn gaps_to_an_empty_log(&mut self) -> Result<bool, S::Error> {
        let config = &self.consumer.context().config;
        let Ok(assignment) = self.consumer.assignment() else { return Ok(false) };
        let mut found = false;
        for element in assignment.elements_for_topic(&config.topic) {
            let partition = element.partition();
            let Some(next) = locked(&self.context().gaps).expected(partition) else { continue };
            let Ok((low, high)) =
                self.consumer.fetch_watermarks(&config.topic, partition, Duration::from_secs(5))
            else {
                continue;
            };
            if next >= low || high > low {
                continue;
            }
            locked(&self.context().gaps).assigned(partition, Some(low));
            let gap = gaps::report(
                self.consumer,
                self.stats,
                config.name,
                &config.topic,
                partition,
                (next, low - 1),
            );
            self.context().with_sink(|sink| sink.gap(&gap))?;
            self.report.lost += gap.missing;
            found = true;
        }
        Ok(found)
    }

    /// Hands decoded messages to the sink (see [`DriverContext::collect`]).
    fn collect(&mut self, how: Collect) -> anyhow::Result<()> {
        let result = self.context().collect(how, false);
        Stats::add(&self.stats.duplicates_skipped, self.context().skipped.swap(0, Ordering::Relaxed));
        result
    }

    /// Passes one message to the decoding thread, with any gap found before it, and hands
    /// the sink what is decoded.
    fn read(&mut self, message: &BorrowedMessage<'_>) -> anyhow::Result<()> {
        let now = self.clock.now();
        self.last_message = now;
        self.report.first_message.get_or_insert(now);
        self.report.consumed += 1;
        let (partition, offset) = (message.partition(), message.offset());
        let config = &self.consumer.context().config;
        let missing = locked(&self.context().gaps).observe(partition, offset);
        let gap = missing.map(|range| {
            let gap = gaps::report(self.consumer, self.stats, config.name, &config.topic, partition, range);
            self.report.lost += gap.missing;
            if let Some(flow) = &self.flow {
                // Nothing will ever arrive for these offsets: the producer must not wait for them.
                flow.durable([(partition, range.1 + 1)]);
            }
            gap
        });
        if let Some(ahead) = locked(&self.context().ahead).as_mut() {
            ahead.push(message, gap);
        }
        self.collect(Collect::Decoded)
    }

    /// Makes the sink's batch durable, then commits (synchronously each time, or
    /// asynchronously at most every `commit_interval`).
    fn flush(&mut self) -> anyhow::Result<()> {
        let commits = self.context().with_sink(GroupSink::flush)?;
        if !commits.is_empty() {
            self.report.last_durable = Some(Instant::now());
        }
        if let Some(flow) = &self.flow {
            flow.durable(commits.iter().map(|c| (c.partition, c.next)));
        }
        for c in commits {
            self.durable_next.insert(c.partition, c.next);
            self.uncommitted.insert(c.partition, c);
        }
        let interval = self.context().with_sink(|sink| sink.commit_interval());
        if interval.is_zero() {
            self.commit(CommitMode::Sync);
        } else if self.last_commit.elapsed() >= interval {
            self.commit(CommitMode::Async);
        }
        Ok(())
    }

    fn commit(&mut self, mode: CommitMode) {
        let commits: Vec<Commit> = std::mem::take(&mut self.uncommitted).into_values().collect();
        commit(self.consumer, &self.context().config.topic, &commits, mode);
        self.last_commit = Instant::now();
    }

    /// Makes what is left durable and commits every durable offset before leaving.
    fn finish(&mut self) -> anyhow::Result<()> {
        loop {
            self.collect(Collect::Everything)?;
            if self.context().with_sink(|sink| sink.pending()) {
                self.flush()?;
            }
            if !locked(&self.context().ahead).as_ref().is_some_and(Ahead::holds) {
                break;
            }
        }
        self.commit(CommitMode::Sync);
        Ok(())
    }
}

/// The clock of the records being read: reading the system clock for every record cost
/// about 8 % of the reader's time, so it is read once per [`RecordClock::READS`] records
/// and whenever the fetch queue runs empty (so an idle reader's clock is current). The
/// decoding thread reads its own clock once per chunk for the orders' time check.
#[derive(Debug)]
struct RecordClock {
    at: Instant,
    reads_left: u32,
}

impl Default for RecordClock {
    fn default() -> Self {
        RecordClock { at: Instant::now(), reads_left: Self::READS }
    }
}

impl RecordClock {
    /// Records read per clock reading: at half a million records a second, the time is
    /// at most half a millisecond old.
    const READS: u32 = 256;

    /// The time now, at most [`Self::READS`] records old.
    fn now(&mut self) -> Instant {
        if self.reads_left == 0 {
            self.refresh();
        }
        self.reads_left -= 1;
        self.at
    }

    fn refresh(&mut self) {
        *self = RecordClock::default();
    }
}

/// True when every partition of `topic` assigned to `consumer` has been read to its end
/// (or is empty); false while none is assigned or an end cannot be read.
fn caught_up<C: ConsumerContext>(consumer: &BaseConsumer<C>, topic: &str, gaps: &GapDetector) -> bool {
    let Ok(assignment) = consumer.assignment() else { return false };
    let partitions: Vec<i32> = assignment
        .elements_for_topic(topic)
        .iter()
        .map(rdkafka::topic_partition_list::TopicPartitionListElem::partition)
        .collect();
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
/// revokes partitions (made durable and committed by the rebalance callback) and sends a
/// LeaveGroup, so the group rebalances at once instead of waiting for this member's
/// session to time out. Messages polled meanwhile are not taken: the next owner gets
/// them. librdkafka's own blocking close can hang forever after a rebalance storm.
fn close<C: ConsumerContext>(consumer: &BaseConsumer<C>) {
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
