//! One module per subcommand: each turns its flags into stage configs and runs them.

pub mod consume;
pub mod dashboard;
pub mod generate;
pub mod produce;
pub mod run;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::cli::{Cli, Command, HttpArgs};
use crate::dashboard::{DashboardServer, LiveState};
use crate::generate::catalogue;
use crate::stats::Stats;

/// Runs the parsed command line.
pub fn execute(cli: Cli) -> anyhow::Result<()> {
    let progress: Duration = cli.progress;
    match cli.command {
        Command::Generate(args) => generate::execute(&args, progress),
        Command::Produce(args) => produce::execute(&args, progress),
        Command::Consume(args) => consume::execute(&args, progress),
        Command::Run(args) => run::execute(&args, progress),
        Command::Dashboard(args) => dashboard::execute(&args, progress),
    }
}

/// Starts the HTTP server when `--http` is given: live analytics fed by the consumer.
fn start_http(
    args: &HttpArgs,
    stats: &Arc<Stats>,
    csv_dir: Option<&Path>,
) -> anyhow::Result<Option<(Arc<LiveState>, DashboardServer)>> {
    let Some(addr) = &args.http else { return Ok(None) };
    let state = LiveState::new(
        args.analytics(),
        catalogue::categories(),
        stats.clone(),
        csv_dir.map(Path::to_path_buf),
    );
    let server = DashboardServer::start(addr, state.clone())?;
    Ok(Some((state, server)))
}
