//! Putting a config file's settings under the command line: each becomes the default of
//! its flag, so clap itself gives flags and then the environment precedence over it, and
//! the file over the built-in defaults. Every key and value is checked here, with the
//! flag's own parser, and a mistake names the file, the line and the key.

use std::collections::BTreeMap;
use std::ffi::OsString;

use clap::{Arg, ArgAction, Command};

use super::file::{ConfigFile, Setting};
use super::ConfigError;

/// Where a flag's value came from in the file: (subcommand or "" for the top, arg id)
/// to the line.
pub type Origins = BTreeMap<(String, String), usize>;

/// Commands that take no settings from a file.
const NOT_CONFIGURABLE: [&str; 3] = ["completions", "config", "help"];

/// Flags a file must not set: the file itself, and help.
const NOT_SETTINGS: [&str; 3] = ["config", "help", "version"];

/// Applies `file` to the command line definition `cli`; returns it with the new
/// defaults and where each came from.
pub fn apply(file: &ConfigFile, mut cli: Command) -> Result<(Command, Origins), ConfigError> {
    let path = file.path.display().to_string();
    let invalid = |setting: &Setting, reason: String| ConfigError::Invalid {
        path: path.clone(),
        line: setting.line,
        key: setting.key.clone(),
        reason,
    };
    let commands: Vec<String> = cli
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .filter(|name| !NOT_CONFIGURABLE.contains(&name.as_str()))
        .collect();
    let mut origins = Origins::new();
    // Top-level settings: the global flags, or any command's flag.
    for setting in &file.shared {
        check_secret(setting).map_err(|reason| invalid(setting, reason))?;
        if let Some(arg) = find(&cli, &setting.key) {
            let arg = arg.clone();
            cli = set(cli, &arg, setting).map_err(|reason| invalid(setting, reason))?;
            origins.insert((String::new(), arg.get_id().to_string()), setting.line);
            continue;
        }
        let mut found = false;
        for name in &commands {
            let command = cli.find_subcommand(name).expect("listed above");
            let Some(arg) = find(command, &setting.key).cloned() else { continue };
            found = true;
            let command = command.clone();
            let command = set(command, &arg, setting).map_err(|reason| invalid(setting, reason))?;
            cli = cli.mut_subcommand(name, |_| command);
            origins.insert((name.clone(), arg.get_id().to_string()), setting.line);
        }
        if !found {
            let known = all_flags(&cli, &commands);
            return Err(invalid(setting, unknown("a flag of any command", &setting.key, &known)));
        }
    }
    // Sections: one command's flags, over the top-level ones.
    for section in &file.sections {
        if !commands.contains(&section.name) {
            return Err(ConfigError::Invalid {
                path: path.clone(),
                line: section.line,
                key: format!("[{}]", section.name),
                reason: unknown("a command with settings", &section.name, &commands),
            });
        }
        for setting in &section.settings {
            check_secret(setting).map_err(|reason| invalid(setting, reason))?;
            if find(&cli, &setting.key).is_some() {
                return Err(invalid(
                    setting,
                    "a setting of every command: put it at the top of the file, before the first [section]"
                        .into(),
                ));
            }
            let command = cli.find_subcommand(&section.name).expect("checked above").clone();
            let Some(arg) = find(&command, &setting.key).cloned() else {
                let known: Vec<String> = flags(&command).collect();
                let what = format!("a flag of `orderstream {}`", section.name);
                return Err(invalid(setting, unknown(&what, &setting.key, &known)));
            };
            let command = set(command, &arg, setting).map_err(|reason| invalid(setting, reason))?;
            cli = cli.mut_subcommand(&section.name, |_| command);
            origins.insert((section.name.clone(), arg.get_id().to_string()), setting.line);
        }
    }
    Ok((cli, origins))
}

/// The flag of `command` whose long name is `key`.
fn find<'a>(command: &'a Command, key: &str) -> Option<&'a Arg> {
    command.get_arguments().find(|a| a.get_long() == Some(key) && !NOT_SETTINGS.contains(&key))
}

fn flags(command: &Command) -> impl Iterator<Item = String> + '_ {
    command
        .get_arguments()
        .filter_map(|a| a.get_long())
        .filter(|l| !NOT_SETTINGS.contains(l))
        .map(str::to_string)
}

fn all_flags(cli: &Command, commands: &[String]) -> Vec<String> {
    let mut all: Vec<String> = flags(cli).collect();
    for name in commands {
        all.extend(flags(cli.find_subcommand(name).expect("listed")));
    }
    all.sort();
    all.dedup();
    all
}

/// "not a flag of ...", with the closest known name when one is close.
fn unknown(what: &str, key: &str, known: &[String]) -> String {
    let closest = known
        .iter()
        .map(|k| (strsim::jaro_winkler(key, k), k))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match closest {
        Some((_, k)) => format!("not {what}; did you mean `{k}`?"),
        None => format!("not {what} (`orderstream help <command>` lists them)"),
    }
}

/// Secrets are referenced by file, never written into the config file itself.
fn check_secret(setting: &Setting) -> Result<(), String> {
    if setting.key != "kafka-option" {
        return Ok(());
    }
    for value in &setting.values {
        let key = value.split_once('=').map_or(value.as_str(), |(k, _)| k);
        if crate::cli::is_secret_option(key) {
            return Err(format!(
                "{key}: a secret is not written into a config file; name a file holding it with \
                 sasl-password-file or ssl-key-password-file, or give it in the environment"
            ));
        }
    }
    Ok(())
}

/// Makes `setting` the default of `arg` in `command`, after checking it with the flag's
/// own parser.
fn set(command: Command, arg: &Arg, setting: &Setting) -> Result<Command, String> {
    let repeatable = matches!(arg.get_action(), ArgAction::Append);
    let switch = matches!(arg.get_action(), ArgAction::SetTrue);
    if setting.array && !repeatable {
        return Err("takes one value, not an array".into());
    }
    if switch && !setting.boolean {
        return Err(format!("an on/off flag: write `{} = true` or `false`", setting.key));
    }
    if setting.boolean && !switch && parse(arg, "true").is_ok() {
        return Err("takes a value, not true or false".into());
    }
    if !switch {
        for value in &setting.values {
            parse(arg, value)?;
        }
    }
    let values: Vec<String> = setting.values.clone();
    Ok(command.mut_arg(arg.get_id().clone(), |a| a.required(false).default_values(values)))
}

/// Parses `value` as `arg` would on the command line (its parser only: the relations
/// with other flags are clap's to check when the command runs).
fn parse(arg: &Arg, value: &str) -> Result<(), String> {
    let long = arg.get_long().unwrap_or("value").to_string();
    let mut alone = Arg::new("value").long(long.clone()).value_parser(arg.get_value_parser().clone());
    if let Some(names) = arg.get_value_names() {
        alone = alone.value_names(names.to_vec());
    }
    Command::new("orderstream")
        .no_binary_name(true)
        .arg(alone)
        .try_get_matches_from([OsString::from(format!("--{long}={value}"))])
        .map(|_| ())
        .map_err(|e| clap_reason(&e))
}

/// The first line of clap's message, without its `error: ` prefix.
fn clap_reason(error: &clap::Error) -> String {
    let text = error.to_string();
    let first = text.lines().next().unwrap_or_default();
    first.strip_prefix("error: ").unwrap_or(first).to_string()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use clap::CommandFactory;

    use super::*;
    use crate::cli::Cli;

    fn applied(text: &str) -> Result<(Command, Origins), String> {
        let file = ConfigFile::parse(text, Path::new("orderstream.toml")).map_err(|e| e.to_string())?;
        apply(&file, Cli::command()).map_err(|e| e.to_string())
    }

    #[test]
    fn shared_settings_reach_every_command_with_the_flag_and_sections_override_them() {
        let (cli, origins) =
            applied("brokers = \"shared:9092\"\ntopic = \"t1\"\n[dashboard]\ntopic = \"t2\"\n").unwrap();
        let default = |command: &str, id: &str| {
            let c = cli.find_subcommand(command).unwrap();
            let a = c.get_arguments().find(|a| a.get_id() == id).unwrap();
            a.get_default_values().iter().map(|v| v.to_string_lossy().into_owned()).collect::<Vec<_>>()
        };
        assert_eq!(default("consume", "brokers"), ["shared:9092"]);
        assert_eq!(default("run", "brokers"), ["shared:9092"]);
        assert_eq!(default("consume", "topic"), ["t1"]);
        assert_eq!(default("dashboard", "topic"), ["t2"]);
        assert_eq!(origins[&("dashboard".to_string(), "topic".to_string())], 4);
        assert_eq!(origins[&("consume".to_string(), "topic".to_string())], 2);
    }

    #[test]
    fn mistakes_name_the_file_the_line_and_the_key() {
        let cases = [
            ("brokres = \"x\"\n", "orderstream.toml, line 1: brokres: not a flag of any command; did you mean `brokers`?"),
            ("[consume]\ncount = 5\n", "line 2: count: not a flag of `orderstream consume`"),
            ("[consme]\n", "line 1: [consme]: not a command with settings; did you mean `consume`?"),
            ("[run]\nprogress = \"1s\"\n", "line 2: progress: a setting of every command: put it at the top"),
            ("\n\ncount = -5\n", "line 3: count: invalid value '-5'"),
            ("window = \"0s\"\n", "line 1: window: invalid value '0s' for '--window <WINDOW>': --window \"0s\": must lie between 1s and 1day"),
            ("then-live = \"yes\"\n", "line 1: then-live: an on/off flag"),
            ("count = [1, 2]\n", "line 1: count: takes one value, not an array"),
            ("kafka-option = [\"sasl.password=hunter2\"]\n", "line 1: kafka-option: sasl.password: a secret is not written"),
            ("config = \"other.toml\"\n", "line 1: config: not a flag of any command"),
            ("security-protocol = \"tls\"\n", "line 1: security-protocol: invalid value 'tls'"),
        ];
        for (text, expected) in cases {
            let err = applied(text).unwrap_err();
            assert!(err.contains(expected), "{text:?}: {err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
    }
}
