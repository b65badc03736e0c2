//! `orderstream config check`: everything about a config file that can be known without
//! starting anything: keys, values, the files it names, and librdkafka's word on the
//! options it passes through.

use std::path::Path;

use clap::CommandFactory as _;

use super::{apply, ConfigError, ConfigFile, Setting};
use crate::cli::Cli;
use crate::kafka::Cluster;

/// Keys whose value names a file that must exist when a command starts.
fn names_a_file(key: &str) -> bool {
    key.ends_with("-file")
        || key.ends_with("-location")
        || ["scenario", "http-cert", "http-key", "sheets-creds"].contains(&key)
}

/// Checks the file at `path`; returns a one-line summary of what it sets.
pub fn check(path: &Path) -> Result<String, ConfigError> {
    let file = ConfigFile::load(path)?;
    apply(&file, Cli::command())?;
    let name = path.display().to_string();
    let all = file.shared.iter().map(|s| ("", s)).chain(
        file.sections
            .iter()
            .flat_map(|section| section.settings.iter().map(move |s| (section.name.as_str(), s))),
    );
    for (_, setting) in all {
        let invalid = |reason: String| ConfigError::Invalid {
            path: name.clone(),
            line: setting.line,
            key: setting.key.clone(),
            reason,
        };
        if names_a_file(&setting.key) {
            for value in &setting.values {
                std::fs::File::open(value).map_err(|e| invalid(format!("cannot read {value}: {e}")))?;
            }
        }
        if setting.key == "kafka-option" {
            check_options(setting).map_err(invalid)?;
        }
    }
    let sections: Vec<String> =
        file.sections.iter().map(|s| format!("{} in [{}]", s.settings.len(), s.name)).collect();
    let mut summary = format!("{name}: valid; {} settings: {} at the top", file.len(), file.shared.len());
    for section in sections {
        summary.push_str(", ");
        summary.push_str(&section);
    }
    Ok(summary)
}

fn check_options(setting: &Setting) -> Result<(), String> {
    let mut cluster = Cluster::new("config-check.invalid:9092");
    for value in &setting.values {
        let (key, value) = value.split_once('=').unwrap_or((value, ""));
        cluster = cluster.with(key.trim(), value);
    }
    cluster.check().map_err(|e| e.to_string())
}
