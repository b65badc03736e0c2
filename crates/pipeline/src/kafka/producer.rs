//! The producer: generated orders to the topic, keyed by store, acknowledged by all
//! in-sync replicas, idempotent, compressed.
//!
//! Every delivery result is counted; failures are logged with their reason and make the
//! command fail, so no order disappears silently. Shutdown stops generating, then
//! flushes what is in flight.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientContext;
use tracing::{error, info};

use super::flow::FlowWindow;
use super::{client_config, Cluster, KafkaStageError};
use crate::format::{Encoder, Format};
use crate::generate::source::{OrderSource, SourceConfig};
use crate::shutdown::Shutdown;
use crate::stats::Stats;

/// How many individual delivery failures are logged in full before only counting.
const LOGGED_FAILURES: u64 = 20;
/// How long undelivered messages are retried by default before they count as failed:
/// long enough to ride out a leader election or a broker restart, short enough that a
/// cluster below min.insync.replicas ends the run with its failures counted.
pub const DEFAULT_DELIVERY_TIMEOUT: Duration = Duration::from_secs(120);

/// Settings of a producer run.
#[derive(Debug, Clone)]
pub struct ProducerConfig {
    /// Bootstrap servers.
    pub brokers: Cluster,
    /// Target topic.
    pub topic: String,
    /// The orders and their timing.
    pub source: SourceConfig,
    /// How long to wait for the cluster at start.
    pub connect_timeout: Duration,
    /// Holds the producer back to the sinks' pace (the embedded broker of `run`).
    pub flow: Option<Arc<FlowWindow>>,
    /// How long an order is retried before it counts as failed (`message.timeout.ms`).
    pub delivery_timeout: Duration,
    /// The format of the messages.
    pub format: Format,
}

/// What a producer run did.
#[derive(Debug, Clone, Default)]
pub struct ProduceReport {
    /// Orders handed to the client.
    pub produced: u64,
    /// Orders acknowledged.
    pub delivered: u64,
    /// Orders that could not be delivered.
    pub failed: u64,
    /// Highest acknowledged offset per partition: a consumer that has passed these has
    /// seen every order of this run.
    pub last_offsets: BTreeMap<i32, i64>,
    /// The instance part of this run's order ids.
    pub instance: u16,
}

/// Tracks delivery reports.
struct Deliveries {
    stats: Arc<Stats>,
    last_offsets: Mutex<BTreeMap<i32, i64>>,
    flow: Option<Arc<FlowWindow>>,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(message) => {
                Stats::add(&self.stats.delivered, 1);
                let mut last = self.last_offsets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                let entry = last.entry(message.partition()).or_insert(-1);
                *entry = (*entry).max(message.offset());
                if let Some(flow) = &self.flow {
                    flow.delivered(message.partition(), message.offset());
                }
            }
            Err((err, message)) => {
                let failed = self.stats.delivery_failed.inc() + 1;
                if failed <= LOGGED_FAILURES || failed.is_power_of_two() {
                    let payload = message.payload().unwrap_or_default();
                    // JSON as it is; Avro's binary as hex.
                    let order = std::str::from_utf8(payload).map_or_else(
                        |_| payload.iter().map(|b| format!("{b:02x}")).collect::<String>(),
                        str::to_string,
                    );
                    error!(error = %err, failed_so_far = failed, %order, "order not delivered");
                }
            }
        }
    }
}

/// Generates and produces orders until `count` or shutdown, then flushes.
pub fn produce(
    config: &ProducerConfig,
    stats: &Arc<Stats>,
    shutdown: &Shutdown,
) -> Result<ProduceReport, KafkaStageError> {
    let context = Deliveries {
        stats: stats.clone(),
        last_offsets: Mutex::new(BTreeMap::new()),
        flow: config.flow.clone(),
    };
    // An incompatible schema ends the run before an order is made or sent.
    let encoder = Encoder::prepare(&config.format, &config.topic)?;
    let producer: ThreadedProducer<Deliveries> = client_config(&config.brokers, "producer")
        // No order lost, none written twice, in order per partition, through leader
        // changes: acknowledged by every in-sync replica (at least min.insync.replicas),
        // idempotent with at most 5 requests in flight per connection (the most an
        // idempotent producer may have and keep ordering).
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("max.in.flight.requests.per.connection", "5")
        .set("compression.type", "lz4")
        .set("linger.ms", "2")
        .set("batch.size", "1000000")
        .set("queue.buffering.max.messages", "100000")
        .set("message.timeout.ms", config.delivery_timeout.as_millis().to_string())
        .create_with_context(context)?;
    producer.client().fetch_metadata(Some(&config.topic), config.connect_timeout).map_err(|e| {
        KafkaStageError::Unreachable {
            brokers: config.brokers.to_string(),
            timeout: config.connect_timeout,
            reason: format!("no answer within {:?} ({e}); is the broker running, and do --security-protocol and its settings fit it?", config.connect_timeout),
        }
    })?;

    let mut source = OrderSource::new(&config.source);
    let instance = source.generator().instance();
    info!(topic = %config.topic, brokers = %config.brokers, format = config.format.name(), timing = %config.source.timing, count = ?config.source.count, instance, "producing orders");
    let mut payload = Vec::with_capacity(512);
    let mut produced = 0u64;
    // Orders the flow window admits before it must be asked again.
    let mut room = 0usize;
    'orders: while let Some(order) = source.next(shutdown, stats) {
        payload.clear();
        encoder.encode(&order, &mut payload);
        if let Some(flow) = &config.flow {
            flow.payload(payload.len());
            if room == 0 {
                match flow.admit(|| producer.in_flight_count().max(0) as u64, shutdown) {
                    Some(admitted) => room = admitted,
                    None => break 'orders,
                }
            }
            room -= 1;
        }
        let mut record = BaseRecord::to(&config.topic).key(order.store_id).payload(&payload);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    if shutdown.requested() {
                        break 'orders;
                    }
                    record = back;
                    std::thread::sleep(Duration::from_micros(500));
                }
                Err((err, _)) => return Err(err.into()),
            }
        }
        produced += 1;
        Stats::add(&stats.produced, 1);
    }

    info!(produced, in_flight = producer.in_flight_count(), "flushing the producer");
    producer.flush(config.delivery_timeout + Duration::from_secs(10))?;
    let last_offsets =
        producer.context().last_offsets.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    let report = ProduceReport {
        produced,
        delivered: Stats::get(&stats.delivered),
        failed: Stats::get(&stats.delivery_failed),
        last_offsets,
        instance,
    };
    info!(produced = report.produced, delivered = report.delivered, failed = report.failed, topic = %config.topic, "producer finished");
    Ok(report)
}
