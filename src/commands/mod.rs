//! One module per subcommand: each turns its flags into stage configs and runs them.

pub mod bigquery;
pub mod consume;
pub mod dashboard;
pub mod generate;
pub mod postgres;
pub mod produce;
pub mod run;
pub mod sheets;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use crate::bigquery::{run_bigquery, BigQueryConfig, BigQueryReport};
use crate::cli::{Cli, Command, ConfigCommand, GroupArgs, HttpArgs, SinkArgs, SinkMemberArgs, TopicArgs};
use crate::dashboard::{DashboardServer, LiveState, SideSinkKind};
use crate::format::Format;
use crate::kafka::consumer::ConsumerConfig;
use crate::kafka::flow::{FlowWindow, SinkSlot};
use crate::kafka::link::RunLink;
use crate::kafka::source::GroupSource;
use crate::kafka::Cluster;
use crate::order::Catalogue;
use crate::postgres::{run_postgres, PostgresConfig, PostgresReport};
use crate::sheets::{run_sheets, SheetsConfig, SheetsReport};
use crate::shutdown::Shutdown;
use crate::stats::Stats;

/// Exit code of a command that finished its work but knows that orders are missing
/// (records deleted before they were read, fewer orders written than produced).
pub const EXIT_DATA_MISSING: i32 = 3;

/// The error of a run that ended with orders missing; `main` exits with
/// [`EXIT_DATA_MISSING`] for it, so scripts can tell it from a failure to start.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DataMissing(pub String);

/// The process exit code for an error: [`EXIT_DATA_MISSING`] when orders are missing,
/// else 1.
pub fn exit_code(err: &anyhow::Error) -> i32 {
    if err.chain().any(|e| e.downcast_ref::<DataMissing>().is_some()) {
        EXIT_DATA_MISSING
    } else if err.chain().any(|e| {
        e.downcast_ref::<crate::kafka::BadSetting>().is_some()
            || e.downcast_ref::<crate::config::ConfigError>().is_some()
            || e.downcast_ref::<crate::cli::BadFlag>().is_some()
    }) {
        // A setting librdkafka refuses, a config file that cannot be used, or a flag whose
        // value fails a check after parsing, is a usage error, like a bad flag.
        2
    } else {
        1
    }
}

/// Runs the parsed command line.
pub fn execute(cli: Cli) -> anyhow::Result<()> {
    let progress: Duration = cli.progress;
    crate::shutdown::set_grace_period(cli.shutdown_timeout);
    match cli.command {
        Command::Generate(args) => generate::execute(&args, progress),
        Command::Produce(args) => produce::execute(&args, progress),
        Command::Consume(args) => consume::execute(&args, progress),
        Command::Run(args) => run::execute(&args, progress),
        Command::Dashboard(args) => dashboard::execute(&args, progress),
        Command::Sheets(args) => sheets::execute(&args, progress),
        Command::Postgres(args) => postgres::execute(&args, progress),
        Command::Bigquery(args) => bigquery::execute(&args, progress),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "orderstream", &mut std::io::stdout());
            Ok(())
        }
        Command::Man => {
            use clap::CommandFactory;
            clap_mangen::Man::new(Cli::command())
                .render(&mut std::io::stdout())
                .context("writing the manual page")
        }
        Command::Config(ConfigCommand::Check { file }) => {
            println!("{}", crate::config::check(&file)?);
            Ok(())
        }
        Command::Config(ConfigCommand::Show { command }) => {
            print!("{}", crate::config::show(cli.config.as_deref(), &command)?);
            Ok(())
        }
    }
}

/// The CSV consumer's settings from the flags `consume` and `run` share; the caller
/// sets what differs (idle exit, join timeout, the embedded broker's source, live
/// analytics).
fn csv_consumer(
    brokers: &Cluster,
    topic: &TopicArgs,
    group: &GroupArgs,
    sink: &SinkArgs,
    catalogue: Catalogue,
    format: &Format,
) -> ConsumerConfig {
    ConsumerConfig {
        brokers: brokers.clone(),
        topic: topic.topic.clone(),
        group: group.group.clone(),
        csv_dir: sink.csv_dir.clone(),
        layout: sink.csv_layout,
        idle_exit: None,
        join_timeout: None,
        sync_interval: sink.sync_interval,
        session_timeout: sink.session_timeout,
        instance_id: group.instance_id.clone(),
        connect_timeout: topic.connect_timeout,
        dead_letter_topic: !sink.no_dlq_topic,
        max_future: topic.max_future,
        catalogue,
        format: format.clone(),
        source: None,
        live: None,
    }
}

/// Where the sinks with a group of their own (Sheets, PostgreSQL) read from.
fn group_source(
    brokers: &Cluster,
    topic: &TopicArgs,
    idle_exit: Option<Duration>,
    membership: (Duration, &GroupArgs),
    catalogue: Catalogue,
    format: &Format,
) -> GroupSource {
    let (session_timeout, group) = membership;
    GroupSource {
        brokers: brokers.clone(),
        topic: topic.topic.clone(),
        idle_exit,
        session_timeout,
        instance_id: group.instance_id.clone(),
        max_future: topic.max_future,
        catalogue,
        format: format.clone(),
        embedded_run: None,
    }
}

/// A sink that is the whole process: what it reads, and how often it reports progress.
struct SinkProcess<'a> {
    member: &'a SinkMemberArgs,
    progress: Duration,
}

impl SinkProcess<'_> {
    /// Runs `sink` (which returns how many records were gone before it read them) with
    /// signal handling and progress lines; exits 3 when records were gone, `missing`
    /// saying where that is recorded.
    fn run(
        &self,
        what: &str,
        missing: &str,
        sink: impl FnOnce(&GroupSource, &Arc<Stats>, &Shutdown) -> anyhow::Result<u64>,
    ) -> anyhow::Result<()> {
        let shutdown = Shutdown::on_signals().context("installing signal handlers")?;
        let member = self.member;
        let catalogue = member.catalogue.catalogue()?;
        let stats = Stats::new();
        shutdown.report_on_exit(&stats);
        let reporter = crate::progress::ProgressReporter::start(stats.clone(), self.progress);
        let source = group_source(
            &member.kafka.cluster()?,
            &member.kafka.topic,
            member.idle_exit,
            (member.session_timeout, &member.group),
            catalogue,
            &member.kafka.topic.format.format(&shutdown)?,
        );
        let result = sink(&source, &stats, &shutdown);
        drop(reporter);
        let lost = result?;
        if lost > 0 {
            return Err(DataMissing(format!(
                "{lost} records were gone from the topic before the {what} could read them ({missing})"
            ))
            .into());
        }
        Ok(())
    }
}

/// A sink that runs on a thread of its own next to the CSV writers.
type SideSink<R> = Option<std::thread::JoinHandle<anyhow::Result<R>>>;

/// Runs `sink` on a thread named `name`. Its failure is logged at once (as `what`) and
/// returned at the end; the CSV path carries on meanwhile. Once it ends, the producer
/// of `run` (through `link`) no longer waits for it.
fn spawn_side_sink<R: Send + 'static>(
    name: &str,
    what: &'static str,
    link: Option<RunLink>,
    sink: impl FnOnce() -> anyhow::Result<R> + Send + 'static,
) -> anyhow::Result<SideSink<R>> {
    let thread = std::thread::Builder::new().name(name.into()).spawn(move || {
        let result = sink();
        if let Some(link) = link {
            link.leave();
        }
        if let Err(e) = &result {
            tracing::error!("the {what} stopped: {e:#}. The CSV files are still written.");
        }
        result
    })?;
    Ok(Some(thread))
}

/// Waits for a side sink, if any.
fn join_side_sink<R>(thread: SideSink<R>, what: &'static str) -> anyhow::Result<Option<R>> {
    match thread {
        None => Ok(None),
        Some(thread) => match thread.join() {
            Ok(result) => result.map(Some).map_err(|e| e.context(what)),
            Err(_) => anyhow::bail!("the {what} thread panicked"),
        },
    }
}

/// Starts the PostgreSQL sink next to the CSV writers when --postgres-url is given.
fn start_postgres(
    config: Option<PostgresConfig>,
    source: GroupSource,
    (stats, shutdown): (&Arc<Stats>, &Shutdown),
    link: Option<RunLink>,
) -> anyhow::Result<SideSink<PostgresReport>> {
    let Some(config) = config else { return Ok(None) };
    let (link, flow) = side_link(link, "postgres");
    let (stats, shutdown) = (stats.clone(), shutdown.clone());
    spawn_side_sink("postgres", "PostgreSQL sink", link.clone(), move || {
        run_postgres(&config, &source, &stats, &shutdown, link.as_ref(), flow)
    })
}

/// Starts the BigQuery sink next to the CSV writers when --bigquery-project is given.
fn start_bigquery(
    config: Option<BigQueryConfig>,
    source: GroupSource,
    (stats, shutdown): (&Arc<Stats>, &Shutdown),
    link: Option<RunLink>,
) -> anyhow::Result<SideSink<BigQueryReport>> {
    let Some(config) = config else { return Ok(None) };
    let (link, flow) = side_link(link, "bigquery");
    let (stats, shutdown) = (stats.clone(), shutdown.clone());
    spawn_side_sink("bigquery", "BigQuery sink", link.clone(), move || {
        run_bigquery(&config, &source, &stats, &shutdown, link.as_ref(), flow)
    })
}

/// A side sink's link to the producer of `run` and its place in the flow window on the
/// embedded broker, both registered before the producer starts, so that the producer
/// waits for the sink's partitions and never outruns it.
fn side_link(link: Option<RunLink>, name: &'static str) -> (Option<RunLink>, Option<SinkSlot>) {
    let link = link.map(|link| link.member(name));
    let flow = link.as_ref().and_then(RunLink::flow).map(FlowWindow::register);
    (link, flow)
}

/// Starts the Google Sheets sink on its own thread when it is configured.
fn start_sheets(
    config: Option<SheetsConfig>,
    source: GroupSource,
    stats: &Arc<Stats>,
    shutdown: &Shutdown,
    link: Option<RunLink>,
) -> anyhow::Result<Option<std::thread::JoinHandle<anyhow::Result<SheetsReport>>>> {
    let Some(config) = config else { return Ok(None) };
    let (link, flow) = side_link(link, "sheets");
    let (stats, shutdown) = (stats.clone(), shutdown.clone());
    spawn_side_sink("sheets", "Google Sheets sink", link.clone(), move || {
        run_sheets(&config, &source, &stats, &shutdown, link.as_ref(), flow)
    })
}

/// Waits for the Sheets sink, if any.
fn join_sheets(thread: SideSink<SheetsReport>) -> anyhow::Result<Option<SheetsReport>> {
    join_side_sink(thread, "Google Sheets sink")
}

/// Tells the dashboard which of the Sheets, PostgreSQL and BigQuery sinks run, so that
/// its health table shows those and no others.
fn show_side_sinks(http: Option<&(Arc<LiveState>, DashboardServer)>, running: [bool; 3]) {
    let Some((state, _)) = http else { return };
    let sinks = [SideSinkKind::Sheets, SideSinkKind::Postgres, SideSinkKind::BigQuery];
    for (sink, runs) in sinks.into_iter().zip(running) {
        if runs {
            state.show_sink(sink);
        }
    }
}

/// Starts the HTTP server when `--http` is given: live analytics fed by the consumer.
fn start_http(
    args: &HttpArgs,
    catalogue: Catalogue,
    stats: &Arc<Stats>,
    csv_dir: Option<&Path>,
) -> anyhow::Result<Option<(Arc<LiveState>, DashboardServer)>> {
    let Some(addr) = &args.http else { return Ok(None) };
    let state = LiveState::new(args.analytics(), catalogue, stats.clone(), csv_dir.map(Path::to_path_buf));
    let server = DashboardServer::start(addr, state.clone(), args.limits(), args.access()?, args.tls()?)?;
    Ok(Some((state, server)))
}
