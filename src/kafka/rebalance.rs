//! The consumer's rebalance handling: on assignment the CSV sink's checkpoint decides
//! where each partition resumes; on revocation the rows are made durable and committed
//! before the partitions go.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext};
use rdkafka::statistics::Statistics;
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use tracing::{debug, error, info, warn};

use super::gaps::GapDetector;
use super::link::RunLink;
use crate::sink::{CsvSink, SinkError};

/// The consumer's context: owns the sink so that rebalances can reach it.
pub(super) struct SinkContext {
    pub(super) topic: String,
    pub(super) sink: Mutex<CsvSink>,
    /// A sink error raised inside a rebalance, for the poll loop to return.
    pub(super) failure: Mutex<Option<SinkError>>,
    pub(super) rebalance_timeout: Duration,
    pub(super) link: Option<RunLink>,
    /// When partitions were last assigned: idle time counts from there at the earliest.
    pub(super) assigned_at: Mutex<Option<Instant>>,
    /// Live analytics to report partition lag to.
    pub(super) live: Option<std::sync::Arc<dyn super::observer::PipelineObserver>>,
    /// The next offset expected per partition, to find records deleted before we read them.
    pub(super) gaps: Mutex<GapDetector>,
    /// The metadata of our commits: names the CSV directory they describe.
    pub(super) commit_metadata: String,
}

impl SinkContext {
    pub(super) fn sink(&self) -> MutexGuard<'_, CsvSink> {
        self.sink.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn gaps(&self) -> MutexGuard<'_, GapDetector> {
        self.gaps.lock().unwrap_or_else(|p| p.into_inner())
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
            let element = committed.find_partition(&self.topic, partition);
            let kafka = element.as_ref().and_then(|e| match e.offset() {
                Offset::Offset(o) => Some(o),
                _ => None,
            });
            let ours = element.as_ref().is_some_and(|e| e.metadata() == self.commit_metadata);
            let mut start = if ours {
                // Committed from this directory: the checkpoint is the truth, and the
                // files were cut to it. Kafka can only be ahead if the newest checkpoint
                // slot was lost, and those rows must be read again (from the start of
                // the partition if the remaining slot has no record of it).
                if kafka > checkpointed {
                    warn!(partition, checkpoint = ?checkpointed, committed = ?kafka,
                        "Kafka's committed offset is ahead of the checkpoint (its newest slot was lost); resuming at the checkpoint, to which the files were cut");
                }
                Some(checkpointed.unwrap_or(0))
            } else {
                // The checkpoint is ahead after a crash before the commit; Kafka is ahead
                // when another member wrote this partition into another directory.
                checkpointed.max(kafka)
            };
            if let Some(wanted) = start {
                let watermarks = consumer
                    .fetch_watermarks(&self.topic, partition, self.rebalance_timeout)
                    .inspect_err(|e| warn!(partition, error = %e, "cannot read the end of the partition"));
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
            self.gaps().assigned(partition, start);
        }
        info!(?partitions, resume_at = ?starts, "partitions assigned (others start at the earliest offset)");
        *self.assigned_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        if let Some(link) = &self.link {
            link.mark_assigned();
        }
    }

    fn on_revoke(&self, consumer: &BaseConsumer<Self>, tpl: &TopicPartitionList) {
        let partitions = self.partitions(tpl);
        for &partition in &partitions {
            self.gaps().revoked(partition);
        }
        // The eager protocol revokes everything: idle time stops counting until the next
        // assignment.
        *self.assigned_at.lock().unwrap_or_else(|p| p.into_inner()) = None;
        match self.sink().revoke(&partitions) {
            Ok(offsets) => {
                commit(consumer, &offsets, CommitMode::Sync);
                info!(?partitions, "partitions revoked after their rows were made durable");
            }
            Err(err) => self.fail(err),
        }
    }
}

impl ClientContext for SinkContext {
    fn stats(&self, statistics: Statistics) {
        let Some(live) = &self.live else { return };
        for partition in statistics.topics.get(&self.topic).into_iter().flat_map(|t| t.partitions.values()) {
            // librdkafka reports -1 for partitions it does not consume, and the internal
            // partition -1 of every topic.
            if partition.partition >= 0 && partition.consumer_lag >= 0 {
                live.lag(partition.partition, partition.consumer_lag);
            }
        }
    }
}

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

/// Commits next offsets per partition; failures only matter for monitoring.
/// Each carries the directory's identity as metadata.
pub(super) fn commit(consumer: &BaseConsumer<SinkContext>, offsets: &[(i32, i64)], mode: CommitMode) {
    if offsets.is_empty() {
        return;
    }
    let context = consumer.context();
    let mut tpl = TopicPartitionList::new();
    for &(partition, next) in offsets {
        let mut element = tpl.add_partition(&context.topic, partition);
        if let Err(e) = element.set_offset(Offset::Offset(next)) {
            warn!(partition, error = %e, "cannot build the commit");
        }
        element.set_metadata(context.commit_metadata.clone());
    }
    if let Err(e) = consumer.commit(&tpl, mode) {
        // Harmless for correctness: the CSV checkpoint already holds these offsets.
        debug!(error = %e, "offset commit failed; the CSV checkpoint still has them");
    }
}
