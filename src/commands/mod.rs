//! One module per subcommand: each turns its flags into stage configs and runs them.

pub mod consume;
pub mod generate;
pub mod produce;
pub mod run;

use std::time::Duration;

use crate::cli::{Cli, Command};

/// Runs the parsed command line.
pub fn execute(cli: Cli) -> anyhow::Result<()> {
    let progress: Duration = cli.progress;
    match cli.command {
        Command::Generate(args) => generate::execute(&args, progress),
        Command::Produce(args) => produce::execute(&args, progress),
        Command::Consume(args) => consume::execute(&args, progress),
        Command::Run(args) => run::execute(&args, progress),
    }
}
