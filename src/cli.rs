//! The command line: one subcommand per pipeline stage plus `run` for all of them.
//! Every flag can also be set through the `ORDERSTREAM_*` variable named in `--help`.
// The flattened argument groups carry their docs on their types: a doc comment on a
// `#[command(flatten)]` field would change how clap lays out `--help`.
#![allow(missing_docs)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use clap::{Args, Parser, Subcommand};

use crate::analytics::AnalyticsConfig;
use crate::bigquery::{BigQueryConfig, DEFAULT_BIGQUERY_API};
use crate::dashboard::{Access, Limits, TlsAcceptor};
use crate::format::{AvroFormat, Format, FormatKind, OrderSchema, Registry, RegistryConfig, SubjectStrategy};
use crate::generate::load::LoadModel;
use crate::generate::pacing::Rate;
use crate::generate::scenario::Scenario;
use crate::generate::source::{SourceConfig, Speed, Timing};
use crate::generate::{customers, ids, GeneratorConfig};
use crate::kafka::Cluster;
use crate::kafka::{DEFAULT_GROUP, DEFAULT_PARTITIONS, DEFAULT_TOPIC};
use crate::order::Catalogue;
pub use crate::order::TimeArg;
use crate::postgres::PostgresConfig;
use crate::sheets::{SheetsConfig, SheetsMode, Target, DEFAULT_DRIVE_API, DEFAULT_SHEETS_API};
use crate::shutdown::Shutdown;
use crate::sink::Layout;

const MILLI: Duration = Duration::from_millis(1);
const SECOND: Duration = Duration::from_secs(1);
const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(86_400);

/// A parser of a duration flag (`5s`, `1h 30m`) that rejects values outside
/// `min..=max`, so that no absurd value reaches arithmetic that could overflow.
pub fn duration_between(
    flag: &'static str,
    min: Duration,
    max: Duration,
) -> impl Fn(&str) -> Result<Duration, String> + Clone + Send + Sync + 'static {
    move |text: &str| {
        let value = humantime::parse_duration(text).map_err(|e| format!("{flag} {text:?}: {e}"))?;
        if value < min || value > max {
            return Err(format!(
                "{flag} {text:?}: must lie between {} and {}",
                humantime::format_duration(min),
                humantime::format_duration(max)
            ));
        }
        Ok(value)
    }
}

/// Real-time sales pipeline for an electronics retailer: generate orders, send them
/// through Apache Kafka, and write them exactly once to daily CSV files.
#[derive(Debug, Parser)]
#[command(name = "orderstream", version, propagate_version = true)]
pub struct Cli {
    /// Which stage to run.
    #[command(subcommand)]
    pub command: Command,
    /// How often long runs log their progress (totals and rates).
    #[arg(long, global = true, env = "ORDERSTREAM_PROGRESS", default_value = "5s", value_parser = duration_between("--progress", 100 * MILLI, DAY))]
    pub progress: Duration,
    /// After Ctrl-C or SIGTERM, how long the command may take to make what it read
    /// durable before it exits anyway (1); a second signal exits at once (130).
    #[arg(long, global = true, env = "ORDERSTREAM_SHUTDOWN_TIMEOUT", default_value = "30s", value_parser = duration_between("--shutdown-timeout", 100 * MILLI, HOUR))]
    pub shutdown_timeout: Duration,
    /// A config file (TOML) holding any flag by its long name, at the top for every
    /// command or in a `[command]` section; flags and the environment take precedence
    /// over it (see `orderstream config show`).
    #[arg(long, global = true, env = crate::config::CONFIG_ENV, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// The subcommands.
// Parsed once per process and matched once: the size of the largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
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
    /// Serve the live analytics, API and metrics of a topic, read from the earliest
    /// offset by a consumer in its own group.
    Dashboard(DashboardArgs),
    /// Append the orders to Google Sheets only, as a process of its own (the same sink
    /// as `consume --sheets`, without the CSV files).
    Sheets(SheetsCommandArgs),
    /// Write the orders into a PostgreSQL table, exactly once, as a process of its own
    /// in its own consumer group.
    Postgres(PostgresArgs),
    /// Write the orders into a BigQuery table, exactly once, as a process of its own in
    /// its own consumer group.
    Bigquery(BigQueryArgs),
    /// Print a completion script for a shell, e.g.
    /// `orderstream completions bash > ~/.local/share/bash-completion/completions/orderstream`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `orderstream man > ~/.local/share/man/man1/orderstream.1`.
    Man,
    /// Check a config file, or show the settings a command would run with.
    #[command(subcommand)]
    Config(ConfigCommand),
}

/// `orderstream config ...`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Check a config file without starting anything: every key a flag of the commands it
    /// is for, every value one its flag takes, every file it names readable, every
    /// `kafka-option` one librdkafka takes. Exit 0 when valid, 2 when not.
    Check {
        /// The file.
        file: PathBuf,
    },
    /// Print the settings a command would run with, each with where it comes from (flag,
    /// environment, file, default), secrets masked; e.g.
    /// `orderstream --config orderstream.toml config show consume --group g2`.
    Show {
        /// The command and its flags (default: `run`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "COMMAND [FLAGS]")]
        command: Vec<std::ffi::OsString>,
    },
}

impl Cli {
    /// Parses the command line over the config file's settings (`--config`); `--version`
    /// also names the librdkafka inside. A config file that cannot be used exits 2.
    pub fn parse_args() -> Cli {
        use clap::{CommandFactory, FromArgMatches};
        let librdkafka = crate::kafka::librdkafka_version();
        // Made once per process, for clap's `&'static str`.
        let version: &'static str =
            Box::leak(format!("{} (librdkafka {librdkafka})", env!("CARGO_PKG_VERSION")).into_boxed_str());
        let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
        // `config check` and `config show` read the file themselves, to report on it.
        let file = match crate::config::subcommand(&argv).as_deref() {
            Some("config") => None,
            _ => crate::config::requested(&argv),
        };
        let command = match crate::config::command_with(Cli::command(), file.as_deref()) {
            Ok((command, _)) => command,
            Err(err) => {
                eprintln!("orderstream: error: {err}");
                std::process::exit(2);
            }
        };
        let matches = command.version(version).get_matches_from(argv);
        Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
    }
}

/// What to generate and how fast.
#[derive(Debug, Args, Clone)]
pub struct GeneratorArgs {
    /// Stop after this many orders (default: run until Ctrl-C, or to the end of --to).
    #[arg(long, env = "ORDERSTREAM_COUNT")]
    pub count: Option<u64>,
    /// `calendar` (Poisson arrivals at the scenario's load curve, in real time), a fixed
    /// number of orders per second, `max`, or `prototype` (the original 1-10 s random
    /// pauses). Default: `max` with --count, else `calendar`.
    #[arg(long, env = "ORDERSTREAM_RATE", conflicts_with = "from")]
    pub rate: Option<RateChoice>,
    /// Seed of the random draws. A backfill with a seed is reproducible byte for byte;
    /// live, the clock sets `id`, `timestamp` and the load curve of the moment.
    #[arg(long, env = "ORDERSTREAM_SEED")]
    pub seed: Option<u64>,
    /// Producer instance (0-1023) embedded in order ids; give concurrent producers
    /// different values to guarantee unique ids (default: random, logged at start; in a
    /// seeded backfill, derived from the seed).
    #[arg(long, env = "ORDERSTREAM_INSTANCE", value_parser = clap::value_parser!(u16).range(0..1024))]
    pub instance: Option<u16>,
    /// Scenario file (TOML): load curve, seasons, promotions, catalogue. Default: the
    /// built-in one (scenarios/default.toml).
    #[arg(long, env = "ORDERSTREAM_SCENARIO")]
    pub scenario: Option<PathBuf>,
    /// Orders per minute when every multiplier of the load curve is 1 (default: the
    /// scenario's).
    #[arg(long, env = "ORDERSTREAM_BASE_RATE")]
    pub base_rate: Option<f64>,
    /// Backfill from this day (YYYY-MM-DD, Polish time) or instant (RFC 3339): orders
    /// with historical timestamps, in time order.
    #[arg(long, env = "ORDERSTREAM_FROM")]
    pub from: Option<TimeArg>,
    /// End of the backfill: this day included, or an instant (default: now).
    #[arg(long, env = "ORDERSTREAM_TO", requires = "from")]
    pub to: Option<TimeArg>,
    /// Backfill speed: `max`, or a multiple of real time (3600: an hour per second).
    #[arg(long, env = "ORDERSTREAM_SPEED", default_value = "max", requires = "from")]
    pub speed: Speed,
    /// After the backfill, carry on with live orders.
    #[arg(long, env = "ORDERSTREAM_THEN_LIVE", requires = "from")]
    pub then_live: bool,
}

/// `--rate`: the load curve, or a fixed schedule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RateChoice {
    /// Poisson arrivals at the scenario's load curve.
    Calendar,
    /// A fixed schedule.
    Fixed(Rate),
}

impl std::str::FromStr for RateChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "calendar" {
            return Ok(RateChoice::Calendar);
        }
        s.parse::<Rate>().map(RateChoice::Fixed).map_err(|e| format!("{e}, or `calendar`"))
    }
}

/// The slowest `--base-rate` (orders per minute at multiplier 1): about one a week.
pub const MIN_BASE_RATE: f64 = 1e-4;
/// The fastest `--base-rate`: far beyond what one producer sends (`--rate max`).
pub const MAX_BASE_RATE: f64 = 1e9;

/// A flag whose value cannot be used, found after parsing (e.g. `--to` before `--from`):
/// the command exits 2, as for a flag clap refuses.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadFlag(pub String);

/// Checks `--http` before anything starts: a host (or address) and a port.
fn http_address(text: &str) -> Result<String, String> {
    use std::net::ToSocketAddrs;
    match text.to_socket_addrs().map(|mut addresses| addresses.next()) {
        Ok(Some(_)) => Ok(text.to_string()),
        _ => Err("expected HOST:PORT, e.g. 127.0.0.1:8080 (port 0 picks a free one)".to_string()),
    }
}

/// Checks `--brokers`: comma-separated `[PROTOCOL://]HOST[:PORT]` with every port in
/// 1-65535 (librdkafka would read 65536 as port 0, and 70000 as another port).
fn broker_list(text: &str) -> Result<String, String> {
    for entry in text.split(',').map(str::trim) {
        if entry.is_empty() {
            return Err("an empty entry; expected HOST:PORT[,HOST:PORT...]".to_string());
        }
        let address = entry.rsplit_once("://").map_or(entry, |(_, address)| address);
        let port = match address.strip_prefix('[') {
            // [IPv6]:PORT
            Some(rest) => rest.split_once(']').and_then(|(_, after)| after.strip_prefix(':')),
            None => address.rsplit_once(':').map(|(_, port)| port),
        };
        if let Some(port) = port {
            if !matches!(port.parse::<u16>(), Ok(1..)) {
                return Err(format!("{entry:?}: {port:?} is not a port (1 to 65535)"));
            }
        }
    }
    Ok(text.to_string())
}

/// A secret from the environment variable `name`; unset or empty is none, and a value
/// that is not UTF-8 is named as such (not taken for a missing one).
fn secret_env(name: &str) -> anyhow::Result<Option<String>> {
    match std::env::var(name) {
        Ok(value) => Ok(Some(value).filter(|v| !v.is_empty())),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(bad_flag(format!("{name} is not valid UTF-8 text"))),
    }
}

/// A [`BadFlag`] as the error the commands return.
fn bad_flag(message: String) -> anyhow::Error {
    BadFlag(message).into()
}

impl GeneratorArgs {
    /// The timing these flags ask for; fails with a message naming the flag.
    pub fn timing(&self) -> anyhow::Result<Timing> {
        let Some(from) = self.from else {
            return Ok(match self.rate {
                Some(RateChoice::Calendar) => Timing::Live,
                Some(RateChoice::Fixed(rate)) => Timing::Fixed(rate),
                None if self.count.is_some() => Timing::Fixed(Rate::Max),
                None => Timing::Live,
            });
        };
        let now = crate::clock::now_micros();
        let start = from.start_micros();
        let end = self.to.map_or(now, TimeArg::end_micros);
        // Ids count milliseconds from 2025-01-01 UTC; the hour before (Polish New Year's
        // Eve) shares their first millisecond, which the sequence part keeps unique.
        if start < ids::ID_EPOCH_MS * 1000 - 3_600_000_000 {
            return Err(bad_flag(
                "--from: orders before 2025-01-01 cannot be backfilled (order ids count from then)"
                    .to_string(),
            ));
        }
        if end <= start {
            return Err(bad_flag("--to must be after --from".to_string()));
        }
        if end > now {
            return Err(bad_flag("--to is in the future; leave it out to backfill up to now (with --then-live to carry on live)".to_string()));
        }
        Ok(Timing::Backfill { from: start, to: end, speed: self.speed, then_live: self.then_live })
    }

    /// The load model: the scenario file's or the built-in one, with --base-rate.
    pub fn model(&self) -> anyhow::Result<LoadModel> {
        if let Some(rate) = self.base_rate.filter(|r| !(MIN_BASE_RATE..=MAX_BASE_RATE).contains(r)) {
            return Err(bad_flag(format!("--base-rate {rate:?}: must be a number of orders per minute from {MIN_BASE_RATE} to {MAX_BASE_RATE}")));
        }
        let model = load_model(self.scenario.as_deref())?;
        Ok(match self.base_rate {
            Some(rate) => model.with_base_rate(rate),
            None => model,
        })
    }

    /// Settings of the order stream.
    pub fn source(&self) -> anyhow::Result<SourceConfig> {
        let timing = self.timing()?;
        let backfill = matches!(timing, Timing::Backfill { .. });
        // A seeded backfill must give the same ids on every run, so its instance comes
        // from the seed unless one is given.
        let instance = self.instance.or_else(|| {
            self.seed.filter(|_| backfill).map(|s| (s.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 54) as u16)
        });
        Ok(SourceConfig {
            generator: GeneratorConfig {
                seed: self.seed,
                instance,
                customer_pool: customers::DEFAULT_POOL_SIZE,
                model: Arc::new(self.model()?),
            },
            timing,
            count: self.count,
        })
    }
}

/// Compiles the scenario at `path`, or the built-in one.
pub fn load_model(path: Option<&Path>) -> anyhow::Result<LoadModel> {
    Ok(match path {
        Some(path) => {
            let scenario = Scenario::load(path)?;
            LoadModel::compile(&scenario, &path.display().to_string())?
        }
        None => LoadModel::builtin(),
    })
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
    #[arg(long, env = "ORDERSTREAM_TOPIC", default_value = DEFAULT_TOPIC, value_parser = crate::kafka::validate_topic)]
    pub topic: String,
    /// How long to wait for the cluster to answer at start.
    #[arg(long, env = "ORDERSTREAM_CONNECT_TIMEOUT", default_value = "10s", value_parser = duration_between("--connect-timeout", MILLI, HOUR))]
    pub connect_timeout: Duration,
    /// Readers send orders whose timestamp is further ahead of the clock than this (or
    /// before 2000-01-01) to the dead letters.
    #[arg(long, env = "ORDERSTREAM_MAX_FUTURE", default_value = "1h", value_parser = duration_between("--max-future", Duration::ZERO, 366 * DAY))]
    pub max_future: Duration,
    #[command(flatten)]
    pub format: FormatArgs,
}

/// Where the registry password may come from besides a file.
pub const SCHEMA_REGISTRY_PASSWORD_ENV: &str = "ORDERSTREAM_SCHEMA_REGISTRY_PASSWORD";

/// The format of the topic's messages: every producer and reader of a topic must agree.
#[derive(Debug, Args, Clone)]
pub struct FormatArgs {
    /// `json`: one JSON object per message. `avro`: Avro in the Confluent wire format,
    /// its schema in the Schema Registry at --schema-registry.
    #[arg(long, env = "ORDERSTREAM_FORMAT", value_enum, default_value = "json")]
    pub format: FormatKind,
    /// Base URL of a Confluent-compatible Schema Registry (Confluent's, or e.g. Apicurio's
    /// `http://host:8080/apis/ccompat/v6`); needed with --format avro.
    #[arg(long, env = "ORDERSTREAM_SCHEMA_REGISTRY")]
    pub schema_registry: Option<String>,
    /// Basic-auth user of the registry (an API key on hosted registries).
    #[arg(long, env = "ORDERSTREAM_SCHEMA_REGISTRY_USER")]
    pub schema_registry_user: Option<String>,
    /// File whose first line is the registry password (or set
    /// ORDERSTREAM_SCHEMA_REGISTRY_PASSWORD).
    #[arg(long, env = "ORDERSTREAM_SCHEMA_REGISTRY_PASSWORD_FILE")]
    pub schema_registry_password_file: Option<PathBuf>,
    /// How long an unreachable or failing registry is retried before the command stops
    /// (a reader stops without skipping anything; a restart reads on).
    #[arg(long, env = "ORDERSTREAM_SCHEMA_REGISTRY_TIMEOUT", default_value = "30s", value_parser = duration_between("--schema-registry-timeout", MILLI, DAY))]
    pub schema_registry_timeout: Duration,
    /// The subject the producer registers the order schema under: `topic`
    /// (`<topic>-value`) or `record` (`pl.orderstream.Order`).
    #[arg(long, env = "ORDERSTREAM_SUBJECT_STRATEGY", value_enum, default_value = "topic")]
    pub subject_strategy: SubjectStrategy,
    /// The order schema version the producer writes (readers read both): 2 adds
    /// `discount` and `currency`; 1 for readers that predate them.
    #[arg(long, env = "ORDERSTREAM_SCHEMA_VERSION", value_enum, default_value = "2")]
    pub schema_version: OrderSchema,
}

impl FormatArgs {
    /// The format, with its registry client (one per command, shared by its clients);
    /// `abort` ends the registry's retries.
    pub fn format(&self, abort: &Shutdown) -> anyhow::Result<Format> {
        match self.format {
            FormatKind::Json => Ok(Format::Json),
            FormatKind::Avro => {
                let Some(url) = self.schema_registry.clone() else {
                    return Err(bad_flag(
                        "--format avro needs --schema-registry URL (or ORDERSTREAM_SCHEMA_REGISTRY)"
                            .to_string(),
                    ));
                };
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(bad_flag(format!(
                        "--schema-registry {url:?}: expected an http:// or https:// URL"
                    )));
                }
                let password = match &self.schema_registry_password_file {
                    Some(file) => Some(secret_from(file, "schema registry password")?),
                    None => secret_env(SCHEMA_REGISTRY_PASSWORD_ENV)?,
                };
                let registry = Registry::new(RegistryConfig {
                    url,
                    user: self.schema_registry_user.clone(),
                    password,
                    retry_for: self.schema_registry_timeout,
                    request_timeout: self.schema_registry_timeout.min(Duration::from_secs(10)),
                    abort: abort.clone(),
                });
                Ok(Format::Avro(Arc::new(AvroFormat {
                    registry,
                    subject_strategy: self.subject_strategy,
                    schema: self.schema_version,
                })))
            }
        }
    }
}

/// The cluster and topic of a command that needs a cluster.
#[derive(Debug, Args, Clone)]
pub struct KafkaArgs {
    /// Kafka bootstrap servers, e.g. `127.0.0.1:9092`.
    #[arg(long, env = "ORDERSTREAM_BROKERS", value_parser = broker_list)]
    pub brokers: String,
    #[command(flatten)]
    pub security: SecurityArgs,
    #[command(flatten)]
    pub topic: TopicArgs,
}

impl KafkaArgs {
    /// The cluster with its settings, checked by librdkafka.
    pub fn cluster(&self) -> anyhow::Result<Cluster> {
        self.security.cluster(&self.brokers)
    }
}

/// Where the SASL password may come from besides a file (never the command line, where
/// every user of the machine could read it in the process list).
pub const SASL_PASSWORD_ENV: &str = "ORDERSTREAM_SASL_PASSWORD";

/// How to reach a secured cluster (hosted Kafka, a company cluster): applied to every
/// Kafka client of the command (producer, consumers, admin, dead letters).
#[derive(Debug, Args, Clone, Default, PartialEq, Eq)]
pub struct SecurityArgs {
    /// How to talk to the brokers.
    #[arg(long, env = "ORDERSTREAM_SECURITY_PROTOCOL", value_parser = ["plaintext", "ssl", "sasl_plaintext", "sasl_ssl"])]
    pub security_protocol: Option<String>,
    /// The SASL mechanism.
    #[arg(long, env = "ORDERSTREAM_SASL_MECHANISM", value_parser = ["plain", "scram-sha-256", "scram-sha-512"])]
    pub sasl_mechanism: Option<String>,
    /// The SASL user name.
    #[arg(long, env = "ORDERSTREAM_SASL_USERNAME")]
    pub sasl_username: Option<String>,
    /// A file whose first line is the SASL password (or give it in the environment
    /// variable ORDERSTREAM_SASL_PASSWORD; it is never taken from the command line).
    #[arg(long, env = "ORDERSTREAM_SASL_PASSWORD_FILE")]
    pub sasl_password_file: Option<PathBuf>,
    /// CA certificate(s) (PEM) to verify the brokers with, instead of the system's.
    /// The brokers' host names are verified against their certificates.
    #[arg(long, env = "ORDERSTREAM_SSL_CA_LOCATION")]
    pub ssl_ca_location: Option<PathBuf>,
    /// This client's certificate (PEM), for mutual TLS.
    #[arg(long, env = "ORDERSTREAM_SSL_CERTIFICATE_LOCATION")]
    pub ssl_certificate_location: Option<PathBuf>,
    /// This client's private key (PEM), for mutual TLS.
    #[arg(long, env = "ORDERSTREAM_SSL_KEY_LOCATION")]
    pub ssl_key_location: Option<PathBuf>,
    /// A file whose first line is the password of --ssl-key-location.
    #[arg(long, env = "ORDERSTREAM_SSL_KEY_PASSWORD_FILE")]
    pub ssl_key_password_file: Option<PathBuf>,
    /// Any other librdkafka client setting, `KEY=VALUE` (repeatable), e.g.
    /// `--kafka-option socket.keepalive.enable=true`. Checked by librdkafka at start.
    #[arg(long = "kafka-option", value_name = "KEY=VALUE", value_parser = key_value)]
    pub kafka_options: Vec<(String, String)>,
}

/// True for a librdkafka setting that holds a secret (a password, a client secret):
/// masked wherever settings are shown, refused in a config file.
pub fn is_secret_option(key: &str) -> bool {
    // Passwords and client secrets by name; private keys given inline (`ssl.key.pem`,
    // `ssl.keystore...`), and the OAuth and JAAS settings that carry secrets inside.
    ["password", "secret", "credentials", "ssl.key.pem", "keystore", "oauthbearer.config", "jaas.config"]
        .iter()
        .any(|w| key.contains(w))
}

fn key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => Ok((key.trim().to_string(), value.to_string())),
        _ => Err(format!("expected KEY=VALUE, e.g. socket.keepalive.enable=true, not {text:?}")),
    }
}

/// The first line of a secret file, named in the error.
fn secret_from(path: &Path, what: &str) -> anyhow::Result<String> {
    let text = crate::files::read_text_bounded(path, crate::files::SECRET_LIMIT)
        .map_err(|e| bad_flag(format!("reading the {what} file {}: {e}", path.display())))?;
    let line = text.lines().next().unwrap_or("").trim_end_matches('\r').to_string();
    if line.is_empty() {
        bail!("the {what} file {} is empty: its first line must be the {what}", path.display());
    }
    Ok(line)
}

impl SecurityArgs {
    /// The cluster at `bootstrap` with these settings, checked by librdkafka (a bad
    /// key or value ends the command with exit code 2).
    pub fn cluster(&self, bootstrap: &str) -> anyhow::Result<Cluster> {
        let mut cluster = Cluster::new(bootstrap);
        let path = |p: &Path| p.to_string_lossy().into_owned();
        if let Some(protocol) = &self.security_protocol {
            cluster = cluster.with("security.protocol", protocol);
        }
        if self.security_protocol.as_deref().is_some_and(|p| p.starts_with("sasl"))
            && self.sasl_mechanism.is_none()
        {
            return Err(crate::kafka::BadSetting {
                key: "sasl.mechanisms".into(),
                reason: "--security-protocol sasl_* needs --sasl-mechanism (plain, scram-sha-256 or scram-sha-512)".into(),
            }
            .into());
        }
        if let Some(mechanism) = &self.sasl_mechanism {
            cluster = cluster.with("sasl.mechanisms", &mechanism.to_uppercase());
        }
        if let Some(user) = &self.sasl_username {
            cluster = cluster.with("sasl.username", user);
        }
        let password = match &self.sasl_password_file {
            Some(file) => Some(secret_from(file, "SASL password")?),
            None => secret_env(SASL_PASSWORD_ENV)?,
        };
        if let Some(password) = password {
            cluster = cluster.with_secret("sasl.password", &password);
        }
        for (key, value) in [
            ("ssl.ca.location", &self.ssl_ca_location),
            ("ssl.certificate.location", &self.ssl_certificate_location),
            ("ssl.key.location", &self.ssl_key_location),
        ] {
            if let Some(file) = value {
                cluster = cluster.with(key, &path(file));
            }
        }
        if let Some(file) = &self.ssl_key_password_file {
            cluster = cluster.with_secret("ssl.key.password", &secret_from(file, "TLS key password")?);
        }
        for (key, value) in &self.kafka_options {
            if is_secret_option(key) {
                tracing::warn!(key = %key, "a secret given with --kafka-option can be read by anyone who lists this machine's processes; use --sasl-password-file, the environment or a file setting");
                cluster = cluster.with_secret(key, value);
            } else {
                cluster = cluster.with(key, value);
            }
        }
        cluster.check()?;
        Ok(cluster)
    }
}

/// The consumer group of the sinks.
#[derive(Debug, Args, Clone)]
pub struct GroupArgs {
    /// Consumer group; members of one group share the partitions. The Sheets sink's
    /// group is `<group>.sheets` unless --sheets-group says otherwise.
    #[arg(long, env = "ORDERSTREAM_GROUP", default_value = DEFAULT_GROUP)]
    pub group: String,
    /// A static member id, unique in the group and kept across restarts (e.g. the host
    /// name): a member restarted within --session-timeout gets its partitions back
    /// without a rebalance of the whole group.
    #[arg(long, env = "ORDERSTREAM_INSTANCE_ID")]
    pub instance_id: Option<String>,
}

/// The catalogue that consumed orders are checked against.
#[derive(Debug, Args, Clone)]
pub struct CatalogueArgs {
    /// Scenario file whose catalogue the orders come from (needed only when it replaces
    /// the built-in catalogue).
    #[arg(long, env = "ORDERSTREAM_SCENARIO")]
    pub scenario: Option<PathBuf>,
}

impl CatalogueArgs {
    /// The scenario's catalogue, or the built-in one.
    pub fn catalogue(&self) -> anyhow::Result<Catalogue> {
        Ok(match &self.scenario {
            Some(_) => load_model(self.scenario.as_deref())?.catalogue(),
            None => crate::generate::builtin_catalogue(),
        })
    }
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
    #[arg(long, env = "ORDERSTREAM_SYNC_INTERVAL", default_value = "100ms", value_parser = duration_between("--sync-interval", MILLI, HOUR))]
    pub sync_interval: Duration,
    /// How long the group waits for a silent member (e.g. a killed one) before it gives
    /// its partitions to the others (the broker allows 6s and up by default).
    #[arg(long, env = "ORDERSTREAM_SESSION_TIMEOUT", default_value = "10s", value_parser = duration_between("--session-timeout", MILLI, HOUR))]
    pub session_timeout: Duration,
    /// Do not copy dead letters to the `<topic>.dlq` topic (the dead-letter file is
    /// always written).
    #[arg(long, env = "ORDERSTREAM_NO_DLQ_TOPIC")]
    pub no_dlq_topic: bool,
}

/// The HTTP API, live events and metrics of a running pipeline.
#[derive(Debug, Args, Clone)]
pub struct HttpArgs {
    /// Serve the JSON API, live events (SSE) and Prometheus metrics on this address, e.g.
    /// `127.0.0.1:8080` (port 0 picks a free one; the address is logged).
    #[arg(long, env = "ORDERSTREAM_HTTP", value_parser = http_address)]
    pub http: Option<String>,
    /// HTTP connections served at once; more wait in the kernel's queue, so clients can
    /// never take the file handles the sinks need.
    #[arg(long, env = "ORDERSTREAM_HTTP_MAX_CONNECTIONS", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub http_max_connections: u32,
    /// How long a request's head may take to arrive (also how long an idle kept-alive
    /// connection stays open).
    #[arg(long, env = "ORDERSTREAM_HTTP_HEADER_TIMEOUT", default_value = "10s", value_parser = duration_between("--http-header-timeout", MILLI, HOUR))]
    pub http_header_timeout: Duration,
    /// How long a write to a client that reads nothing may stay blocked before the
    /// connection is dropped (a stalled live stream or export).
    #[arg(long, env = "ORDERSTREAM_HTTP_WRITE_TIMEOUT", default_value = "30s", value_parser = duration_between("--http-write-timeout", MILLI, HOUR))]
    pub http_write_timeout: Duration,
    /// A file whose first line is a token: requests must then send
    /// `Authorization: Bearer <token>` (Prometheus: `authorization.credentials_file`).
    /// `/healthz` and `/readyz` stay open for probes.
    #[arg(long, env = "ORDERSTREAM_HTTP_TOKEN_FILE")]
    pub http_token_file: Option<PathBuf>,
    /// A file whose first line is `user:password`: browsers are then asked for them
    /// (HTTP basic auth; use it behind TLS). May be given with a token file.
    #[arg(long, env = "ORDERSTREAM_HTTP_BASIC_AUTH_FILE")]
    pub http_basic_auth_file: Option<PathBuf>,
    /// Serve HTTPS with this PEM certificate chain (the server's certificate first),
    /// with `--http-key`.
    #[arg(long, env = "ORDERSTREAM_HTTP_CERT", requires = "http_key")]
    pub http_cert: Option<PathBuf>,
    /// The PEM private key of `--http-cert`.
    #[arg(long, env = "ORDERSTREAM_HTTP_KEY", requires = "http_cert")]
    pub http_key: Option<PathBuf>,
    /// Width of the analytics' event-time windows.
    #[arg(long, env = "ORDERSTREAM_WINDOW", default_value = "1m", value_parser = duration_between("--window", SECOND, DAY))]
    pub window: Duration,
    /// How long after its end a window still takes late orders; later ones are counted
    /// as late (and still written to the CSV files).
    #[arg(long, env = "ORDERSTREAM_ALLOWED_LATENESS", default_value = "1h", value_parser = duration_between("--allowed-lateness", Duration::ZERO, 30 * DAY))]
    pub allowed_lateness: Duration,
    /// How much event time the analytics keep in windows of `--window` before the
    /// watermark.
    #[arg(long, env = "ORDERSTREAM_RETENTION", default_value = "48h", value_parser = duration_between("--retention", MINUTE, 400 * DAY))]
    pub retention: Duration,
    /// How much history the coarser rollups keep (hours for up to 32 days, Polish days
    /// beyond), for ranges longer than `--retention`.
    #[arg(long, env = "ORDERSTREAM_HISTORY", default_value = "400d", value_parser = duration_between("--history", HOUR, 3660 * DAY))]
    pub history: Duration,
    /// The analytics' watermark is the slowest partition's latest event time; a
    /// partition that sends nothing for this long stops holding it back.
    #[arg(long, env = "ORDERSTREAM_IDLE_TIMEOUT", default_value = "30s", value_parser = duration_between("--idle-timeout", MILLI, DAY))]
    pub idle_timeout: Duration,
}

impl HttpArgs {
    /// Who may read the HTTP server, from the credential files.
    pub fn access(&self) -> anyhow::Result<Access> {
        Ok(Access::from_files(self.http_token_file.as_deref(), self.http_basic_auth_file.as_deref())?)
    }

    /// The TLS identity when `--http-cert` and `--http-key` are given.
    pub fn tls(&self) -> anyhow::Result<Option<TlsAcceptor>> {
        match (&self.http_cert, &self.http_key) {
            (Some(cert), Some(key)) => Ok(Some(crate::dashboard::tls_acceptor(cert, key)?)),
            _ => Ok(None),
        }
    }

    /// How the HTTP server holds its clients in check.
    pub fn limits(&self) -> Limits {
        Limits {
            max_connections: self.http_max_connections as usize,
            header_timeout: self.http_header_timeout,
            write_timeout: self.http_write_timeout,
        }
    }

    /// Analytics settings from these flags.
    pub fn analytics(&self) -> AnalyticsConfig {
        AnalyticsConfig {
            window: self.window,
            allowed_lateness: self.allowed_lateness,
            retention: self.retention,
            history: self.history,
            idle_timeout: self.idle_timeout,
            ..AnalyticsConfig::default()
        }
    }
}

/// The Google Sheets sink (off unless `--sheets`, `--spreadsheet-id` or `--sheet-name`).
#[derive(Debug, Args, Clone)]
pub struct SheetsArgs {
    /// Also append the orders to Google Sheets (the spreadsheet `--sheet-name`).
    #[arg(long, env = "ORDERSTREAM_SHEETS")]
    pub sheets: bool,
    /// Service-account key file (JSON) that signs in to Google.
    #[arg(long, env = "GOOGLE_APPLICATION_CREDENTIALS", default_value = "creds.json")]
    pub sheets_creds: PathBuf,
    /// Id of the spreadsheet (the part of its URL after /d/); implies --sheets.
    #[arg(long, env = "ORDERSTREAM_SPREADSHEET_ID")]
    pub spreadsheet_id: Option<String>,
    /// Name of the spreadsheet, looked up in Drive among the files shared with the
    /// service account (when no --spreadsheet-id is given); implies --sheets.
    #[arg(long, env = "ORDERSTREAM_SHEET_NAME")]
    pub sheet_name: Option<String>,
    /// Tab of the spreadsheet; created if missing. Rollovers are `<tab>_2`, `<tab>_3`, ...
    #[arg(long, env = "ORDERSTREAM_SHEET_TAB", default_value = "Data")]
    pub sheet_tab: String,
    /// `rows`: one row per order; `aggregates`: per-minute totals per region and
    /// category, updated in place (fits large volumes into the cell limit).
    #[arg(long, env = "ORDERSTREAM_SHEETS_MODE", value_enum, default_value = "rows")]
    pub sheets_mode: SheetsMode,
    /// Base URL of the Sheets API (for a proxy or a test server).
    #[arg(long, env = "ORDERSTREAM_SHEETS_API_URL", default_value = DEFAULT_SHEETS_API)]
    pub sheets_api_url: String,
    /// Base URL of the Drive API (for a proxy or a test server).
    #[arg(long, env = "ORDERSTREAM_DRIVE_API_URL", default_value = DEFAULT_DRIVE_API)]
    pub drive_api_url: String,
    /// Longest time an order waits before it is sent to the sheet.
    #[arg(long, env = "ORDERSTREAM_SHEETS_FLUSH_INTERVAL", default_value = "5s", value_parser = duration_between("--sheets-flush-interval", MILLI, HOUR))]
    pub sheets_flush_interval: Duration,
    /// Write requests per minute (Google's quota: 60 per user).
    #[arg(long, env = "ORDERSTREAM_SHEETS_MAX_WRITES_PER_MINUTE", default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..))]
    pub sheets_max_writes_per_minute: u32,
    /// Read requests per minute (Google's quota: 60 per user).
    #[arg(long, env = "ORDERSTREAM_SHEETS_MAX_READS_PER_MINUTE", default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..))]
    pub sheets_max_reads_per_minute: u32,
    /// Largest request body in bytes (Google recommends at most 2 MB).
    #[arg(long, env = "ORDERSTREAM_SHEETS_MAX_REQUEST_BYTES", default_value_t = 2 << 20, value_parser = clap::value_parser!(u64).range(8192..=10 << 20))]
    pub sheets_max_request_bytes: u64,
    /// A tab is rolled over before its grid passes this many cells (a whole
    /// spreadsheet holds at most 10 million).
    #[arg(long, env = "ORDERSTREAM_SHEETS_MAX_CELLS_PER_TAB", default_value_t = 4_000_000, value_parser = clap::value_parser!(u64).range(100..=10_000_000))]
    pub sheets_max_cells_per_tab: u64,
    /// Time limit of one request to Google.
    #[arg(long, env = "ORDERSTREAM_SHEETS_TIMEOUT", default_value = "60s", value_parser = duration_between("--sheets-timeout", 100 * MILLI, HOUR))]
    pub sheets_timeout: Duration,
    /// Consumer group of the sheet writer (default: `<group>.sheets`).
    #[arg(long, env = "ORDERSTREAM_SHEETS_GROUP")]
    pub sheets_group: Option<String>,
    /// Length of a quota window (Google's is a minute; shorter only to test).
    #[arg(long, env = "ORDERSTREAM_SHEETS_QUOTA_WINDOW", default_value = "60s", value_parser = duration_between("--sheets-quota-window", 100 * MILLI, HOUR), hide = true)]
    pub sheets_quota_window: Duration,
    /// First backoff step (Google's rule starts at 1 s; shorter only to test).
    #[arg(long, env = "ORDERSTREAM_SHEETS_BACKOFF_BASE", default_value = "1s", value_parser = duration_between("--sheets-backoff-base", MILLI, MINUTE), hide = true)]
    pub sheets_backoff_base: Duration,
}

impl SheetsArgs {
    /// The sink's settings, or `None` when it is off.
    pub fn config(&self, group: &str) -> Option<SheetsConfig> {
        let target = match (&self.spreadsheet_id, &self.sheet_name) {
            (Some(id), _) => Target::Id(id.clone()),
            (None, Some(name)) => Target::Name(name.clone()),
            (None, None) if self.sheets => Target::Name("source_looker".into()),
            (None, None) => return None,
        };
        Some(SheetsConfig {
            tab: self.sheet_tab.clone(),
            mode: self.sheets_mode,
            sheets_api: self.sheets_api_url.clone(),
            drive_api: self.drive_api_url.clone(),
            flush_interval: self.sheets_flush_interval,
            max_writes_per_window: self.sheets_max_writes_per_minute as usize,
            max_reads_per_window: self.sheets_max_reads_per_minute as usize,
            quota_window: self.sheets_quota_window,
            max_request_bytes: self.sheets_max_request_bytes as usize,
            max_cells_per_tab: self.sheets_max_cells_per_tab,
            request_timeout: self.sheets_timeout,
            backoff_base: self.sheets_backoff_base,
            group: self.sheets_group.clone().unwrap_or_else(|| crate::sheets::sheets_group(group)),
            ..SheetsConfig::new(self.sheets_creds.clone(), target)
        })
    }
}

/// The topic a producer makes when it is missing, and how long it retries an order.
#[derive(Debug, Args, Clone)]
pub struct ProducerArgs {
    /// Partitions of the topic if it has to be created.
    #[arg(long, env = "ORDERSTREAM_PARTITIONS", default_value_t = DEFAULT_PARTITIONS, value_parser = clap::value_parser!(i32).range(1..=10_000))]
    pub partitions: i32,
    /// Copies of each partition if the topic has to be created (default: 3, or the
    /// number of brokers when fewer); with 3 or more, min.insync.replicas is 2.
    #[arg(long, env = "ORDERSTREAM_REPLICATION_FACTOR", value_parser = clap::value_parser!(i32).range(1..=32))]
    pub replication_factor: Option<i32>,
    /// How long an order that the cluster does not acknowledge is retried (through
    /// leader elections, a broker restart, a cluster below min.insync.replicas) before it
    /// counts as failed; failed orders are counted, logged, and make the command fail.
    #[arg(long, env = "ORDERSTREAM_DELIVERY_TIMEOUT", default_value = "2m", value_parser = duration_between("--delivery-timeout", SECOND, DAY))]
    pub delivery_timeout: Duration,
}

/// `orderstream produce`.
#[derive(Debug, Args)]
pub struct ProduceArgs {
    #[command(flatten)]
    pub kafka: KafkaArgs,
    #[command(flatten)]
    pub producer: ProducerArgs,
    #[command(flatten)]
    pub generator: GeneratorArgs,
}

/// `orderstream consume`.
#[derive(Debug, Args)]
pub struct ConsumeArgs {
    #[command(flatten)]
    pub kafka: KafkaArgs,
    #[command(flatten)]
    pub group: GroupArgs,
    #[command(flatten)]
    pub sink: SinkArgs,
    /// Exit after this long holding partitions read to their end with no new message,
    /// e.g. `5s` (for scripts and tests): 0, or 3 if records were gone before they
    /// could be read. Time without partitions does not count.
    #[arg(long, env = "ORDERSTREAM_IDLE_EXIT", value_parser = duration_between("--idle-exit", MILLI, 366 * DAY))]
    pub idle_exit: Option<Duration>,
    /// Fail (exit 1) when no partition is assigned within this long, e.g. `2m`
    /// (default: wait for an assignment as long as it takes).
    #[arg(long, env = "ORDERSTREAM_JOIN_TIMEOUT", value_parser = duration_between("--join-timeout", MILLI, 366 * DAY))]
    pub join_timeout: Option<Duration>,
    #[command(flatten)]
    pub catalogue: CatalogueArgs,
    #[command(flatten)]
    pub http: HttpArgs,
    #[command(flatten)]
    pub sheets: SheetsArgs,
    #[command(flatten)]
    pub postgres: PostgresSinkArgs,
    #[command(flatten)]
    pub bigquery: BigQuerySinkArgs,
}

/// `orderstream run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Kafka bootstrap servers; without it an embedded broker is started in-process.
    #[arg(long, env = "ORDERSTREAM_BROKERS", value_parser = broker_list)]
    pub brokers: Option<String>,
    #[command(flatten)]
    pub security: SecurityArgs,
    #[command(flatten)]
    pub topic: TopicArgs,
    #[command(flatten)]
    pub group: GroupArgs,
    #[command(flatten)]
    pub producer: ProducerArgs,
    #[command(flatten)]
    pub generator: GeneratorArgs,
    #[command(flatten)]
    pub sink: SinkArgs,
    #[command(flatten)]
    pub http: HttpArgs,
    #[command(flatten)]
    pub sheets: SheetsArgs,
    #[command(flatten)]
    pub postgres: PostgresSinkArgs,
    #[command(flatten)]
    pub bigquery: BigQuerySinkArgs,
}

/// `orderstream sheets`.
#[derive(Debug, Args)]
pub struct SheetsCommandArgs {
    #[command(flatten)]
    pub member: SinkMemberArgs,
    #[command(flatten)]
    pub sheets: SheetsArgs,
}

/// What every sink that runs as a process of its own (`sheets`, `postgres`, `bigquery`)
/// reads, and how it joins its group.
#[derive(Debug, Args)]
pub struct SinkMemberArgs {
    #[command(flatten)]
    pub kafka: KafkaArgs,
    #[command(flatten)]
    pub group: GroupArgs,
    /// Exit after this long holding partitions read to their end with no new message,
    /// e.g. `5s`: 0, or 3 if records were gone before they could be read.
    #[arg(long, env = "ORDERSTREAM_IDLE_EXIT", value_parser = duration_between("--idle-exit", MILLI, 366 * DAY))]
    pub idle_exit: Option<Duration>,
    /// How long the group waits for a silent member before it gives its partitions to
    /// the others.
    #[arg(long, env = "ORDERSTREAM_SESSION_TIMEOUT", default_value = "10s", value_parser = duration_between("--session-timeout", MILLI, HOUR))]
    pub session_timeout: Duration,
    #[command(flatten)]
    pub catalogue: CatalogueArgs,
}

/// Where the PostgreSQL password may come from besides a file.
pub const POSTGRES_PASSWORD_ENV: &str = "ORDERSTREAM_POSTGRES_PASSWORD";

/// The PostgreSQL sink's settings, on `postgres`, and on `consume` and `run` (next to the CSV files).
#[derive(Debug, Args, Clone)]
pub struct PostgresSinkArgs {
    /// The database, e.g. `postgres://orders@db.example.com:5432/sales` (libpq's URL or
    /// `host=... user=...` form; the password goes in --postgres-password-file). On
    /// `consume` and `run`, writes the orders there too.
    /// `sslmode=require`, `verify-ca` and `verify-full` each check the server's
    /// certificate and host name; `disable` (or none) speaks plain text.
    #[arg(long, env = "ORDERSTREAM_POSTGRES_URL", value_parser = postgres_url)]
    pub postgres_url: Option<String>,
    /// File whose first line is the database password (or set
    /// ORDERSTREAM_POSTGRES_PASSWORD).
    #[arg(long, env = "ORDERSTREAM_POSTGRES_PASSWORD_FILE")]
    pub postgres_password_file: Option<PathBuf>,
    /// The orders table, created when missing (a plain lower-case name, or schema.table,
    /// short enough for the views and index named after it).
    #[arg(long, env = "ORDERSTREAM_POSTGRES_TABLE", default_value = "orders", value_parser = postgres_table)]
    pub postgres_table: String,
    /// The sink's consumer group (default: `<group>.postgres`).
    #[arg(long, env = "ORDERSTREAM_POSTGRES_GROUP")]
    pub postgres_group: Option<String>,
    /// A batch is committed when it has this many rows.
    #[arg(long, env = "ORDERSTREAM_POSTGRES_BATCH_ROWS", default_value_t = 50_000, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    pub postgres_batch_rows: u32,
    /// ... or this long after its first row.
    #[arg(long, env = "ORDERSTREAM_POSTGRES_FLUSH_INTERVAL", default_value = "500ms", value_parser = duration_between("--postgres-flush-interval", MILLI, HOUR))]
    pub postgres_flush_interval: Duration,
    /// How long a database that is down or restarting is retried before the sink stops
    /// (nothing is lost: the batch is not committed, and a restart reads it again).
    #[arg(long, env = "ORDERSTREAM_POSTGRES_RETRY_FOR", default_value = "2m", value_parser = duration_between("--postgres-retry-for", MILLI, DAY))]
    pub postgres_retry_for: Duration,
    /// Connections that write at once, each a share of the partitions (PostgreSQL runs a
    /// process per connection: more use more of the server's cores).
    #[arg(long, env = "ORDERSTREAM_POSTGRES_CONNECTIONS", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub postgres_connections: u16,
    /// CA certificates (PEM) of the server's certificate, with `sslmode=require` in the
    /// URL (default: the system's CAs). The certificate and host name are always checked.
    #[arg(long, env = "ORDERSTREAM_POSTGRES_CA")]
    pub postgres_ca: Option<PathBuf>,
    /// Create the table, its index and views and the bookkeeping tables when missing.
    /// With `false`, the sink only checks what an administrator made, and needs no more
    /// than SELECT, INSERT and UPDATE on them (see docs/sinks.md, "Least privilege").
    #[arg(long, env = "ORDERSTREAM_POSTGRES_MANAGE_SCHEMA", default_value_t = true, action = clap::ArgAction::Set)]
    pub postgres_manage_schema: bool,
}

/// A `--postgres-url` the client can use.
fn postgres_url(url: &str) -> Result<String, String> {
    crate::postgres::check_url(url)?;
    Ok(url.to_string())
}

/// A `--postgres-table` the sink can name in SQL.
fn postgres_table(name: &str) -> Result<String, String> {
    crate::postgres::check_table_name(name)?;
    Ok(name.to_string())
}

/// `orderstream postgres`.
#[derive(Debug, Args)]
pub struct PostgresArgs {
    #[command(flatten)]
    pub member: SinkMemberArgs,
    #[command(flatten)]
    pub postgres: PostgresSinkArgs,
}

impl PostgresSinkArgs {
    /// The sink's settings when --postgres-url is given; `group` is the CSV writers'.
    pub fn config(&self, group: &str) -> anyhow::Result<Option<PostgresConfig>> {
        let Some(url) = self.postgres_url.clone() else { return Ok(None) };
        let password = match &self.postgres_password_file {
            Some(file) => Some(secret_from(file, "PostgreSQL password")?),
            None => secret_env(POSTGRES_PASSWORD_ENV)?,
        };
        Ok(Some(PostgresConfig {
            url,
            password,
            group: self.postgres_group.clone().unwrap_or_else(|| format!("{group}.postgres")),
            table: self.postgres_table.clone(),
            flush_interval: self.postgres_flush_interval,
            batch_rows: self.postgres_batch_rows as usize,
            retry_for: self.postgres_retry_for,
            ca_file: self.postgres_ca.clone(),
            connections: usize::from(self.postgres_connections),
            manage_schema: self.postgres_manage_schema,
        }))
    }
}

/// The BigQuery sink's settings, on `bigquery`, and on `consume` and `run` (next to the CSV files).
#[derive(Debug, Args, Clone)]
pub struct BigQuerySinkArgs {
    /// The Google Cloud project of the dataset, which also runs the jobs. On `consume`
    /// and `run`, writes the orders to BigQuery too.
    #[arg(long, env = "ORDERSTREAM_BIGQUERY_PROJECT")]
    pub bigquery_project: Option<String>,
    /// The dataset, created when missing (letters, digits, underscores).
    #[arg(long, env = "ORDERSTREAM_BIGQUERY_DATASET", default_value = "orderstream")]
    pub bigquery_dataset: String,
    /// The orders table, created when missing, partitioned by day and clustered by
    /// region and category.
    #[arg(long, env = "ORDERSTREAM_BIGQUERY_TABLE", default_value = "orders")]
    pub bigquery_table: String,
    /// Where a new dataset is made, e.g. `EU` or `europe-central2` (default: BigQuery's, US).
    #[arg(long, env = "ORDERSTREAM_BIGQUERY_LOCATION")]
    pub bigquery_location: Option<String>,
    /// The service account's JSON key (needs BigQuery Data Editor and Job User).
    #[arg(long, env = "GOOGLE_APPLICATION_CREDENTIALS", default_value = "creds.json")]
    pub bigquery_creds: PathBuf,
    /// BigQuery's address, e.g. an emulator's `http://127.0.0.1:9050`. With
    /// --bigquery-no-auth no token is sent (emulators want none).
    #[arg(long, env = "ORDERSTREAM_BIGQUERY_API_URL", default_value = DEFAULT_BIGQUERY_API)]
    pub bigquery_api_url: String,
    /// Send no access token (only for an emulator given with --bigquery-api-url).
    #[arg(long, env = "ORDERSTREAM_BIGQUERY_NO_AUTH")]
    pub bigquery_no_auth: bool,
    /// The sink's consumer group (default: `<group>.bigquery`).
    #[arg(long, env = "ORDERSTREAM_BIGQUERY_GROUP")]
    pub bigquery_group: Option<String>,
    /// A batch is committed when it has this many rows (one job request holds at most
    /// 10 MB, about 20,000 orders).
    #[arg(long, env = "ORDERSTREAM_BIGQUERY_BATCH_ROWS", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=20_000))]
    pub bigquery_batch_rows: u32,
    /// ... or this long after its first row (each batch is a job: fewer, larger ones
    /// cost less).
    #[arg(long, env = "ORDERSTREAM_BIGQUERY_FLUSH_INTERVAL", default_value = "5s", value_parser = duration_between("--bigquery-flush-interval", MILLI, HOUR))]
    pub bigquery_flush_interval: Duration,
    /// How long 429s, 5xx and an unreachable API are retried before the sink stops
    /// (nothing is lost: the batch is not committed, and a restart reads it again).
    #[arg(long, env = "ORDERSTREAM_BIGQUERY_RETRY_FOR", default_value = "5m", value_parser = duration_between("--bigquery-retry-for", MILLI, DAY))]
    pub bigquery_retry_for: Duration,
    /// How long one request to BigQuery may take.
    #[arg(long, env = "ORDERSTREAM_BIGQUERY_REQUEST_TIMEOUT", default_value = "60s", value_parser = duration_between("--bigquery-request-timeout", MILLI, HOUR))]
    pub bigquery_request_timeout: Duration,
}

impl BigQuerySinkArgs {
    /// The sink's settings when --bigquery-project is given; `group` is the CSV writers'.
    pub fn config(&self, group: &str) -> anyhow::Result<Option<BigQueryConfig>> {
        let Some(project) = self.bigquery_project.clone() else { return Ok(None) };
        for (flag, name) in
            [("--bigquery-dataset", &self.bigquery_dataset), ("--bigquery-table", &self.bigquery_table)]
        {
            if !crate::bigquery::valid_name(name) {
                return Err(bad_flag(format!(
                    "{flag} {name:?}: expected letters, digits and underscores only"
                )));
            }
        }
        if project.is_empty() || !project.chars().all(|c| c.is_ascii_alphanumeric() || "-.:".contains(c)) {
            return Err(bad_flag(format!(
                "--bigquery-project {project:?}: expected a project id such as my-project-123"
            )));
        }
        if self.bigquery_no_auth && self.bigquery_api_url == DEFAULT_BIGQUERY_API {
            return Err(bad_flag(
                "--bigquery-no-auth is for an emulator: give its address with --bigquery-api-url".to_string(),
            ));
        }
        Ok(Some(BigQueryConfig {
            project,
            dataset: self.bigquery_dataset.clone(),
            table: self.bigquery_table.clone(),
            location: self.bigquery_location.clone(),
            creds: (!self.bigquery_no_auth).then(|| self.bigquery_creds.clone()),
            api_url: self.bigquery_api_url.clone(),
            group: self.bigquery_group.clone().unwrap_or_else(|| format!("{group}.bigquery")),
            flush_interval: self.bigquery_flush_interval,
            batch_rows: self.bigquery_batch_rows as usize,
            retry_for: self.bigquery_retry_for,
            request_timeout: self.bigquery_request_timeout,
        }))
    }
}

/// `orderstream bigquery`.
#[derive(Debug, Args)]
pub struct BigQueryArgs {
    #[command(flatten)]
    pub member: SinkMemberArgs,
    #[command(flatten)]
    pub bigquery: BigQuerySinkArgs,
}

/// `orderstream dashboard`.
#[derive(Debug, Args)]
pub struct DashboardArgs {
    #[command(flatten)]
    pub kafka: KafkaArgs,
    /// Consumer group of the dashboard, apart from the sinks' groups (it refuses a group
    /// with committed offsets). Its own variable, so that an exported ORDERSTREAM_GROUP
    /// of the CSV writers does not pull the dashboard into their group.
    #[arg(long, env = "ORDERSTREAM_DASHBOARD_GROUP", default_value = "orderstream-dashboard")]
    pub group: String,
    #[command(flatten)]
    pub catalogue: CatalogueArgs,
    #[command(flatten)]
    pub http: HttpArgs,
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::generate::source::OrderSource;
    use crate::shutdown::Shutdown;
    use crate::stats::Stats;

    /// Every numeric flag, with the arguments its command needs besides.
    const NUMERIC_FLAGS: &[(&str, &[&str])] = &[
        ("--count", &["run"]),
        ("--rate", &["run"]),
        ("--seed", &["run"]),
        ("--instance", &["run"]),
        ("--base-rate", &["run"]),
        ("--speed", &["run", "--from", "2026-01-01", "--to", "2026-01-02"]),
        ("--partitions", &["run"]),
        ("--replication-factor", &["run"]),
        ("--delivery-timeout", &["run"]),
        ("--progress", &["run"]),
        ("--shutdown-timeout", &["run"]),
        ("--connect-timeout", &["run"]),
        ("--max-future", &["run"]),
        ("--schema-registry-timeout", &["run"]),
        ("--sync-interval", &["run"]),
        ("--session-timeout", &["run"]),
        ("--window", &["run"]),
        ("--allowed-lateness", &["run"]),
        ("--retention", &["run"]),
        ("--idle-timeout", &["run"]),
        ("--history", &["run"]),
        ("--http-max-connections", &["run"]),
        ("--http-header-timeout", &["run"]),
        ("--http-write-timeout", &["run"]),
        ("--sheets-flush-interval", &["run"]),
        ("--sheets-max-writes-per-minute", &["run"]),
        ("--sheets-max-reads-per-minute", &["run"]),
        ("--sheets-max-request-bytes", &["run"]),
        ("--sheets-max-cells-per-tab", &["run"]),
        ("--sheets-timeout", &["run"]),
        ("--sheets-quota-window", &["run"]),
        ("--sheets-backoff-base", &["run"]),
        ("--idle-exit", &["consume", "--brokers", "b"]),
        ("--join-timeout", &["consume", "--brokers", "b"]),
    ];

    /// Numbers as a user might type them, absurd ones included.
    fn values() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<f64>().prop_map(|f| f.to_string()),
            any::<i64>().prop_map(|i| i.to_string()),
            any::<u64>().prop_map(|u| u.to_string()),
            (any::<u64>(), prop::sample::select(vec!["ns", "ms", "s", "m", "h", "d", "y", "years"]))
                .prop_map(|(n, unit)| format!("{n}{unit}")),
            prop::sample::select(vec![
                "0",
                "-0",
                "1e-300",
                "1e300",
                "-1",
                "NaN",
                "inf",
                "-inf",
                "1e-7",
                "1e10",
                "0.000001",
                "0s",
                "1ns",
                "999999999999999999999y",
            ])
            .prop_map(str::to_string),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// Whatever number a flag gets, the command line is either refused with a message
        /// or gives settings that run without a panic (no overflow, no division by zero).
        #[test]
        fn no_value_of_a_numeric_flag_panics(flag in 0..NUMERIC_FLAGS.len(), value in values()) {
            let (name, command) = NUMERIC_FLAGS[flag];
            let mut argv = vec!["orderstream"];
            argv.extend_from_slice(command);
            argv.extend_from_slice(&[name, &value]);
            let Ok(cli) = Cli::try_parse_from(&argv) else { return Ok(()) };
            if let Command::Run(args) = &cli.command {
                let _ = args.http.analytics();
                if let Ok(source) = args.generator.source() {
                    let mut analytics = crate::analytics::Analytics::new(args.http.analytics(), source.generator.model.catalogue());
                    let mut orders = OrderSource::new(&source);
                    // A stop is already asked: the pacing is computed, nothing sleeps.
                    let stop = Shutdown::new();
                    stop.request();
                    let stats = Stats::new();
                    for _ in 0..3 {
                        if let Some(order) = orders.next(&stop, &stats) {
                            analytics.record_from(0, &order);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn absurd_rates_are_refused_with_the_flag_named() {
        for (flag, value) in [("--rate", "1e-300"), ("--base-rate", "1e-300"), ("--base-rate", "1e300")] {
            let err = Cli::try_parse_from(["orderstream", "run", flag, value])
                .map_err(|e| e.to_string())
                .and_then(|cli| match cli.command {
                    Command::Run(args) => args.generator.source().map(|_| ()).map_err(|e| e.to_string()),
                    _ => unreachable!(),
                })
                .unwrap_err();
            assert!(err.contains(value) || err.contains(flag), "{flag} {value}: {err}");
        }
        let err = Cli::try_parse_from(["orderstream", "run", "--window", "0s"]).unwrap_err().to_string();
        assert!(err.contains("--window \"0s\": must lie between 1s and 1day"), "{err}");
    }
}
