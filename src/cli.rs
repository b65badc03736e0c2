//! The command line: one subcommand per pipeline stage plus `run` for all of them.
//! Every flag can also be set through the `ORDERSTREAM_*` variable named in `--help`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::generate::pacing::Rate;
use crate::generate::{customers, GeneratorConfig};
use crate::kafka::{DEFAULT_GROUP, DEFAULT_PARTITIONS, DEFAULT_TOPIC};
use crate::sink::Layout;

/// Real-time sales pipeline for an electronics retailer: generate orders, send them
/// through Apache Kafka, and write them exactly once to daily CSV files.
#[derive(Debug, Parser)]
#[command(name = "orderstream", version, propagate_version = true)]
pub struct Cli {
    /// Which stage to run.
    #[command(subcommand)]
    pub command: Command,
    /// How often long runs log their progress (totals and rates).
    #[arg(long, global = true, env = "ORDERSTREAM_PROGRESS", default_value = "5s", value_parser = humantime::parse_duration)]
    pub progress: Duration,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print generated orders as JSON lines on stdout.
    Generate(GenerateArgs),
    /// Send generated orders to a Kafka topic (key = store_id).
    Produce(ProduceArgs),
    /// Join a consumer group and write the orders to daily CSV files, exactly once.
    Consume(ConsumeArgs),
    /// Run every stage in one process; without --brokers, on an embedded Kafka broker.
    Run(RunArgs),
}

/// What to generate and how fast.
#[derive(Debug, Args, Clone)]
pub struct GeneratorArgs {
    /// Stop after this many orders (default: run until Ctrl-C).
    #[arg(long, env = "ORDERSTREAM_COUNT")]
    pub count: Option<u64>,
    /// Orders per second, `max`, or `prototype` (the original 1-10 s random pauses).
    /// Default: `max` with --count, else 20.
    #[arg(long, env = "ORDERSTREAM_RATE")]
    pub rate: Option<Rate>,
    /// Seed for reproducible content: the same seed gives the same orders except for
    /// `id` and `timestamp`, which come from the clock.
    #[arg(long, env = "ORDERSTREAM_SEED")]
    pub seed: Option<u64>,
    /// Producer instance (0-1023) embedded in order ids; give concurrent producers
    /// different values to guarantee unique ids (default: random, logged at start).
    #[arg(long, env = "ORDERSTREAM_INSTANCE", value_parser = clap::value_parser!(u16).range(0..1024))]
    pub instance: Option<u16>,
}

impl GeneratorArgs {
    /// The rate to use: the flag, else `max` for a bounded run and 20/s for an endless one.
    pub fn rate(&self) -> Rate {
        self.rate.unwrap_or(if self.count.is_some() { Rate::Max } else { Rate::PerSecond(20.0) })
    }

    /// Generator settings from these flags.
    pub fn generator(&self) -> GeneratorConfig {
        GeneratorConfig {
            seed: self.seed,
            instance: self.instance,
            customer_pool: customers::DEFAULT_POOL_SIZE,
        }
    }
}

/// `orderstream generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    #[command(flatten)]
    pub generator: GeneratorArgs,
}

/// Where the Kafka topic is.
#[derive(Debug, Args, Clone)]
pub struct TopicArgs {
    /// Topic of the orders.
    #[arg(long, env = "ORDERSTREAM_TOPIC", default_value = DEFAULT_TOPIC)]
    pub topic: String,
    /// How long to wait for the cluster to answer at start.
    #[arg(long, env = "ORDERSTREAM_CONNECT_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub connect_timeout: Duration,
}

/// How the CSV sink writes.
#[derive(Debug, Args, Clone)]
pub struct SinkArgs {
    /// Directory of the daily CSV files.
    #[arg(long, env = "ORDERSTREAM_CSV_DIR", default_value = "dane_dzienne")]
    pub csv_dir: PathBuf,
    /// `daily`: orders_YYYY-MM-DD.csv, one consumer per directory; `partitioned`:
    /// orders_YYYY-MM-DD.pN.csv, for several consumers of one group sharing a directory.
    #[arg(long, env = "ORDERSTREAM_CSV_LAYOUT", value_enum, default_value = "daily")]
    pub csv_layout: Layout,
    /// Longest time a row waits in memory before it is fsynced (rows are also synced
    /// whenever the topic has nothing more to read).
    #[arg(long, env = "ORDERSTREAM_SYNC_INTERVAL", default_value = "100ms", value_parser = humantime::parse_duration)]
    pub sync_interval: Duration,
    /// How long the group waits for a silent member (e.g. a killed one) before it gives
    /// its partitions to the others (the broker allows 6s and up by default).
    #[arg(long, env = "ORDERSTREAM_SESSION_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub session_timeout: Duration,
    /// Do not copy dead letters to the `<topic>.dlq` topic (the dead-letter file is
    /// always written).
    #[arg(long, env = "ORDERSTREAM_NO_DLQ_TOPIC")]
    pub no_dlq_topic: bool,
}

/// `orderstream produce`.
#[derive(Debug, Args)]
pub struct ProduceArgs {
    /// Kafka bootstrap servers, e.g. `127.0.0.1:9092`.
    #[arg(long, env = "ORDERSTREAM_BROKERS")]
    pub brokers: String,
    #[command(flatten)]
    pub topic: TopicArgs,
    /// Partitions of the topic if it has to be created.
    #[arg(long, env = "ORDERSTREAM_PARTITIONS", default_value_t = DEFAULT_PARTITIONS, value_parser = clap::value_parser!(i32).range(1..=10_000))]
    pub partitions: i32,
    #[command(flatten)]
    pub generator: GeneratorArgs,
}

/// `orderstream consume`.
#[derive(Debug, Args)]
pub struct ConsumeArgs {
    /// Kafka bootstrap servers, e.g. `127.0.0.1:9092`.
    #[arg(long, env = "ORDERSTREAM_BROKERS")]
    pub brokers: String,
    #[command(flatten)]
    pub topic: TopicArgs,
    /// Consumer group; members of one group share the partitions.
    #[arg(long, env = "ORDERSTREAM_GROUP", default_value = DEFAULT_GROUP)]
    pub group: String,
    #[command(flatten)]
    pub sink: SinkArgs,
    /// Exit 0 after this long without a new message, e.g. `5s` (for scripts and tests).
    #[arg(long, env = "ORDERSTREAM_IDLE_EXIT", value_parser = humantime::parse_duration)]
    pub idle_exit: Option<Duration>,
}

/// `orderstream run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Kafka bootstrap servers; without it an embedded broker is started in-process.
    #[arg(long, env = "ORDERSTREAM_BROKERS")]
    pub brokers: Option<String>,
    #[command(flatten)]
    pub topic: TopicArgs,
    /// Consumer group.
    #[arg(long, env = "ORDERSTREAM_GROUP", default_value = DEFAULT_GROUP)]
    pub group: String,
    /// Partitions of the topic if it has to be created.
    #[arg(long, env = "ORDERSTREAM_PARTITIONS", default_value_t = DEFAULT_PARTITIONS, value_parser = clap::value_parser!(i32).range(1..=10_000))]
    pub partitions: i32,
    #[command(flatten)]
    pub generator: GeneratorArgs,
    #[command(flatten)]
    pub sink: SinkArgs,
}
