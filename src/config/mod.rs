//! Config files: any flag of any command in one reviewed TOML file.
//!
//! A key is a flag's long name (`sasl-username = "alice"`). At the top of the file it
//! applies to every command that has the flag; in a `[consume]`, `[run]`, ... section to
//! that command only, over the top. Precedence, highest first: flags, environment
//! variables, the file, the built-in defaults. Secrets are referenced by file path
//! (`sasl-password-file`), never written into the file.

mod apply;
mod check;
mod file;
mod show;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

pub use apply::{apply, Origins};
pub use check::check;
pub use file::{ConfigFile, Section, Setting};
pub use show::show;

/// The environment variable naming the config file when `--config` is not given.
pub const CONFIG_ENV: &str = "ORDERSTREAM_CONFIG";

/// A config file that cannot be used; the command exits 2, as for a bad flag.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {error}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        error: std::io::Error,
    },
    /// Not valid TOML.
    #[error("config file {path}: {message}")]
    Syntax {
        /// The file.
        path: String,
        /// The parser's message, with line, column and the offending text.
        message: String,
    },
    /// A key that is no flag, or a value its flag refuses.
    #[error("config file {path}, line {line}: {key}: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// Line of the key.
        line: usize,
        /// The key (a flag's long name, or a `[section]`).
        key: String,
        /// What is wrong, with the nearest valid key when there is one.
        reason: String,
    },
}

/// Flags of the top-level command that take a separate value (`--config FILE`), so that
/// [`subcommand`] does not take the value for the command's name.
const GLOBAL_WITH_VALUE: [&str; 3] = ["--config", "--progress", "--shutdown-timeout"];

/// The config file asked for: `--config FILE` (or `--config=FILE`) anywhere before `--`,
/// else [`CONFIG_ENV`].
pub fn requested(argv: &[OsString]) -> Option<PathBuf> {
    let mut args = argv.iter().skip(1);
    while let Some(arg) = args.next() {
        let text = arg.to_string_lossy();
        if text == "--" {
            break;
        }
        if text == "--config" {
            return args.next().map(PathBuf::from);
        }
        if let Some(path) = text.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
    }
    std::env::var_os(CONFIG_ENV).filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// The subcommand named on the command line, if any.
pub fn subcommand(argv: &[OsString]) -> Option<String> {
    let mut args = argv.iter().skip(1).map(|a| a.to_string_lossy());
    while let Some(arg) = args.next() {
        if GLOBAL_WITH_VALUE.contains(&arg.as_ref()) {
            args.next();
        } else if !arg.starts_with('-') {
            return Some(arg.into_owned());
        }
    }
    None
}

/// The command line definition with the settings of the file at `path` as defaults.
pub fn command_with(
    cli: clap::Command,
    path: Option<&Path>,
) -> Result<(clap::Command, Origins), ConfigError> {
    match path {
        Some(path) => apply(&ConfigFile::load(path)?, cli),
        None => Ok((cli, Origins::new())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn the_file_and_the_command_are_found_around_global_flags() {
        let line =
            argv(&["orderstream", "--progress", "1s", "--config", "a.toml", "consume", "--count", "5"]);
        assert_eq!(requested(&line), Some(PathBuf::from("a.toml")));
        assert_eq!(subcommand(&line).as_deref(), Some("consume"));
        let line = argv(&["orderstream", "run", "--config=b.toml"]);
        assert_eq!(requested(&line), Some(PathBuf::from("b.toml")));
        assert_eq!(subcommand(&line).as_deref(), Some("run"));
        assert_eq!(subcommand(&argv(&["orderstream", "--help"])), None);
    }
}
