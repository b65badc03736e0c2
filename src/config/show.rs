//! `orderstream config show`: the settings a command would run with, each with where it
//! came from, printed as a config file that could be used as it is.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{bail, Context as _};
use clap::parser::ValueSource;
use clap::{ArgAction, ArgMatches, CommandFactory as _};

use super::{command_with, requested, Origins};
use crate::cli::{is_secret_option, Cli, SASL_PASSWORD_ENV};

/// Flags not shown: they are not settings.
const NOT_SHOWN: [&str; 3] = ["help", "version", "config"];

/// Renders the resolved settings of `command_line` (a command and its flags; `run` when
/// empty) with the config file at `path` (or the one named in `command_line`).
pub fn show(path: Option<&Path>, command_line: &[OsString]) -> anyhow::Result<String> {
    let mut argv: Vec<OsString> = vec!["orderstream".into()];
    argv.extend_from_slice(command_line);
    if command_line.is_empty() {
        argv.push("run".into());
    }
    let inner = requested(&argv);
    let path = inner.as_deref().or(path);
    let (cli, origins) = command_with(Cli::command(), path)?;
    // A flag still missing (`--brokers`) is shown as not set, not refused.
    let mut cli = cli.mut_subcommands(|command| command.mut_args(|arg| arg.required(false)));
    let matches =
        cli.try_get_matches_from_mut(&argv).map_err(|e| anyhow::anyhow!("{}", e.to_string().trim_end()))?;
    let Some((name, sub)) = matches.subcommand() else { bail!("name the command whose settings to show") };
    if ["completions", "config", "help"].contains(&name) {
        bail!("`orderstream {name}` takes no settings");
    }
    cli.build();
    let command = cli.find_subcommand(name).context("the command just parsed")?;
    let source =
        path.map_or_else(|| "no config file".to_string(), |p| format!("config file {}", p.display()));
    let mut out = format!(
        "# `orderstream {name}` would run with these settings ({source}).\n\
         # Precedence, highest first: flag > environment > file > default.\n"
    );
    // In `--help`'s order: a setting from the file moved its flag to the end.
    let mut plain = Cli::command();
    plain.build();
    let order: Vec<String> = plain
        .find_subcommand(name)
        .map(|c| c.get_arguments().map(|a| a.get_id().to_string()).collect())
        .unwrap_or_default();
    let mut shown: Vec<&clap::Arg> = command
        .get_arguments()
        .filter(|a| a.get_long().is_some_and(|l| !NOT_SHOWN.contains(&l)) && !a.is_hide_set())
        .collect();
    shown.sort_by_key(|a| order.iter().position(|id| id == a.get_id().as_str()));
    let (global, own): (Vec<_>, Vec<_>) = shown.into_iter().partition(|a| a.is_global_set());
    for arg in global {
        line(&mut out, arg, sub, &origins, name, path);
    }
    let _ = writeln!(out, "\n[{name}]");
    for arg in own {
        line(&mut out, arg, sub, &origins, name, path);
    }
    let has_sasl = command.get_arguments().any(|a| a.get_long() == Some("sasl-username"));
    if has_sasl && std::env::var_os(SASL_PASSWORD_ENV).is_some_and(|p| !p.is_empty()) {
        let _ = writeln!(out, "# the SASL password: ******** (environment {SASL_PASSWORD_ENV})");
    }
    Ok(out)
}

fn line(
    out: &mut String,
    arg: &clap::Arg,
    sub: &ArgMatches,
    origins: &Origins,
    name: &str,
    path: Option<&Path>,
) {
    let id = arg.get_id().as_str();
    let key = arg.get_long().unwrap_or(id);
    let values: Vec<String> = sub
        .try_get_raw(id)
        .ok()
        .flatten()
        .map(|raw| raw.map(|v| v.to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    let from_file = origins
        .get(&(name.to_string(), id.to_string()))
        .or_else(|| origins.get(&(String::new(), id.to_string())));
    let source = match sub.value_source(id) {
        Some(ValueSource::CommandLine) => "flag".to_string(),
        Some(ValueSource::EnvVariable) => {
            format!(
                "environment {}",
                arg.get_env().map(|e| e.to_string_lossy().into_owned()).unwrap_or_default()
            )
        }
        Some(ValueSource::DefaultValue) => match (from_file, path) {
            (Some(line), Some(path)) => format!("file {}, line {line}", path.display()),
            _ => "default".to_string(),
        },
        _ => String::new(),
    };
    if values.is_empty() {
        let _ = writeln!(out, "# {key}: not set");
        return;
    }
    let values: Vec<String> = values.iter().map(|v| masked(key, v)).collect();
    let value = if matches!(arg.get_action(), ArgAction::SetTrue) {
        values[0].clone()
    } else if matches!(arg.get_action(), ArgAction::Append) {
        format!("[{}]", values.iter().map(|v| quoted(v)).collect::<Vec<_>>().join(", "))
    } else {
        quoted(&values[0])
    };
    let _ = writeln!(out, "{key} = {value}  # {source}");
}

/// A librdkafka option that holds a secret shows its key only; a URL, no password.
fn masked(key: &str, value: &str) -> String {
    match value.split_once('=') {
        Some((option, _)) if key == "kafka-option" && is_secret_option(option) => {
            format!("{option}=********")
        }
        _ => crate::userinfo::masked(value),
    }
}

fn quoted(value: &str) -> String {
    toml::Value::String(value.to_string()).to_string()
}
