//! `orderstream dashboard`: the live analytics of a topic, served over HTTP.

use std::time::Duration;

use anyhow::Context;

use crate::cli::DashboardArgs;
use crate::kafka::reader::{read_into, ReaderConfig};
use crate::progress::ProgressReporter;
use crate::shutdown::Shutdown;
use crate::stats::Stats;

/// The address served when `--http` is not given.
pub const DEFAULT_HTTP: &str = "127.0.0.1:8080";

/// Serves until a signal.
pub fn execute(args: &DashboardArgs, progress: Duration) -> anyhow::Result<()> {
    let shutdown = Shutdown::on_signals().context("installing signal handlers")?;
    let catalogue = args.catalogue.catalogue()?;
    let stats = Stats::new();
    shutdown.report_on_exit(&stats);
    let reporter = ProgressReporter::start(stats.clone(), progress);
    let mut http = args.http.clone();
    http.http.get_or_insert_with(|| DEFAULT_HTTP.to_string());
    let (live, server) =
        super::start_http(&http, catalogue, &stats, None)?.context("the HTTP server did not start")?;
    let config = ReaderConfig {
        brokers: args.kafka.cluster()?,
        topic: args.kafka.topic.topic.clone(),
        group: args.group.clone(),
        connect_timeout: args.kafka.topic.connect_timeout,
        max_future: args.kafka.topic.max_future,
        catalogue,
        format: args.kafka.topic.format.format(&shutdown)?,
    };
    let result = read_into(&config, live.as_ref(), &stats, &shutdown);
    drop(server);
    drop(reporter);
    Ok(result?)
}
