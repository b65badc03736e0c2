//! What the consumer tells whoever watches the pipeline, without knowing who that is:
//! the dashboard's live analytics implement it, and the transport depends only on this
//! trait (no edge from Kafka to the web layer).

use std::path::Path;
use std::time::Duration;

use crate::order::Order;

/// A watcher of a consumer: durable batches, readiness, lag and latency.
pub trait PipelineObserver: Send + Sync + std::fmt::Debug {
    /// The CSV directory was locked and cut to its checkpoint: what its daily files hold
    /// is final, and everything after it comes from the topic.
    fn files_recovered(&self, csv_dir: &Path);
    /// Orders (with their partitions) that are durable now.
    fn durable(&self, orders: Vec<(i32, Order)>);
    /// Whether the consumer holds partitions.
    fn ready(&self, holds_partitions: bool);
    /// Messages between the consumer and the end of `partition`.
    fn lag(&self, partition: i32, records: i64);
    /// The consumer left: no lag to report any more.
    fn lag_cleared(&self);
    /// Waits (up to `limit`) until every durable batch handed over has been taken in.
    fn settle(&self, limit: Duration);
    /// The partitions the consumer reads now (empty when it holds none): each holds the
    /// event-time watermark back until it sends or goes idle.
    fn assigned(&self, partitions: &[i32]);
    /// An order read from `partition` by a reader that writes nothing (the dashboard's).
    fn read(&self, partition: i32, order: &Order);
}
