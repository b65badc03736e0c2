//! How orders travel on the topic: JSON (the default, as the prototype wrote them) or
//! Avro in the Confluent wire format, its schemas kept in a Schema Registry.
//!
//! The producer's [`Encoder`] registers its schema before the first order is sent; each
//! consumer's [`Decoder`] reads any message whose writer schema still describes an
//! order, so a topic may mix schema versions. A message that cannot be read is the
//! message's fault (dead letters, with the reason) unless the registry cannot be reached:
//! then nothing is skipped, and the command stops after retrying so that a restart reads
//! on from the last durable offset.

mod avro;
mod registry;
mod wire;

use std::sync::Arc;

pub use avro::{OrderSchema, RECORD_NAME};
pub use registry::{Registry, RegistryConfig, RegistryError};

use crate::order::{check_fields, decode_json, Catalogue, DecodeError, Order};

/// Which format the topic's messages are in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum FormatKind {
    /// One JSON object per message.
    #[default]
    Json,
    /// Avro binary in the Confluent wire format, with a Schema Registry.
    Avro,
}

/// Which subject the producer registers its schema under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum SubjectStrategy {
    /// `<topic>-value`, Confluent's default: one schema history per topic.
    #[default]
    Topic,
    /// The record's full name, `pl.orderstream.Order`: one history across topics.
    Record,
}

impl SubjectStrategy {
    /// The subject of the order schema on `topic`.
    pub fn subject(self, topic: &str) -> String {
        match self {
            SubjectStrategy::Topic => format!("{topic}-value"),
            SubjectStrategy::Record => RECORD_NAME.to_string(),
        }
    }
}

/// The format of a command's messages, with what it needs.
#[derive(Debug, Clone, Default)]
pub enum Format {
    /// JSON.
    #[default]
    Json,
    /// Avro through this registry.
    Avro(Arc<AvroFormat>),
}

/// The settings of the Avro format.
#[derive(Debug)]
pub struct AvroFormat {
    /// The registry client, shared by every producer and consumer of the process.
    pub registry: Registry,
    /// Where the producer registers.
    pub subject_strategy: SubjectStrategy,
    /// Which schema the producer writes.
    pub schema: OrderSchema,
}

impl Format {
    /// Short name for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Avro(_) => "avro",
        }
    }
}

/// Writes orders as message payloads.
#[derive(Debug, Clone)]
pub enum Encoder {
    /// JSON objects.
    Json,
    /// Framed Avro of `schema`, registered as `schema_id`.
    Avro {
        /// The registry's id of the schema.
        schema_id: u32,
        /// The schema written.
        schema: OrderSchema,
    },
}

impl Encoder {
    /// An encoder for `topic`; for Avro, registers the schema first (retrying an
    /// unreachable registry), so that an incompatible schema stops the producer before it
    /// sends anything.
    pub fn prepare(format: &Format, topic: &str) -> Result<Self, RegistryError> {
        match format {
            Format::Json => Ok(Encoder::Json),
            Format::Avro(avro) => {
                let subject = avro.subject_strategy.subject(topic);
                let schema_id = avro.registry.register(&subject, avro.schema.text())?;
                tracing::info!(
                    registry = avro.registry.url(),
                    subject,
                    schema_id,
                    version = avro.schema.number(),
                    "order schema registered"
                );
                Ok(Encoder::Avro { schema_id, schema: avro.schema })
            }
        }
    }

    /// Appends `order` as one message payload.
    #[inline]
    pub fn encode(&self, order: &Order, out: &mut Vec<u8>) {
        match self {
            Encoder::Json => crate::order::write_json(order, out),
            Encoder::Avro { schema_id, schema } => {
                wire::frame(*schema_id, out);
                avro::write_order(order, *schema, out);
            }
        }
    }
}

/// Why a message could not become an order.
#[derive(Debug, thiserror::Error)]
pub enum Undecodable {
    /// The message is at fault: it goes to the dead letters with this reason.
    #[error(transparent)]
    Invalid(#[from] DecodeError),
    /// The registry could not be asked: nothing may be skipped; stop and retry later.
    #[error(transparent)]
    Registry(RegistryError),
}

/// Reads message payloads into orders; one per consumer thread, caching the plans of
/// the schema ids it has met.
#[derive(Debug)]
pub struct Decoder {
    format: Format,
    plans: Vec<(u32, Arc<avro::Plan>)>,
}

impl Decoder {
    /// A decoder of `format`.
    pub fn new(format: &Format) -> Self {
        Decoder { format: format.clone(), plans: Vec::new() }
    }

    /// One payload as a valid order (not yet checked against the clock).
    pub fn decode(&mut self, payload: &[u8], catalogue: &Catalogue) -> Result<Order, Undecodable> {
        match &self.format {
            Format::Json => decode_json(payload, catalogue).map_err(|e| match wire::looks_framed(payload) {
                Some(id) if matches!(e, DecodeError::Malformed(_)) => Undecodable::Invalid(DecodeError::Malformed(
                    format!("an Avro message (Confluent wire format, schema id {id}) on a topic read as JSON; read it with --format avro"),
                )),
                _ => Undecodable::Invalid(e),
            }),
            Format::Avro(avro) => {
                let (id, body) = wire::unframe(payload)?;
                let index = match self.plans.iter().position(|(known, _)| *known == id) {
                    Some(index) => index,
                    None => {
                        let plan = avro.registry.plan(id).map_err(|e| {
                            if e.blames_the_message() {
                                Undecodable::Invalid(DecodeError::Unreadable(e.to_string()))
                            } else {
                                Undecodable::Registry(e)
                            }
                        })?;
                        self.plans.push((id, plan));
                        self.plans.len() - 1
                    }
                };
                let plan = &self.plans[index].1;
                let fields = plan.read(body)?;
                Ok(check_fields(&fields, catalogue)?)
            }
        }
    }
}
