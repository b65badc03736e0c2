//! Reading a config file: TOML whose keys are the commands' long flag names, at the top
//! for every command that has the flag, or in a `[command]` section for one command.
//! Every setting keeps its line, so that a mistake is reported where it is.

use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::ConfigError;

/// One setting: a flag's long name with its value(s) as the command line would give them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The flag's long name, e.g. `sasl-username`.
    pub key: String,
    /// Line of the key in the file (1-based).
    pub line: usize,
    /// The value, or the elements of an array, as text.
    pub values: Vec<String>,
    /// Written as an array (only repeatable flags take one).
    pub array: bool,
    /// Written as a TOML boolean (only on/off flags take one).
    pub boolean: bool,
}

/// A `[command]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The subcommand it configures, e.g. `consume`.
    pub name: String,
    /// Line of the section's header.
    pub line: usize,
    /// Its settings, in file order.
    pub settings: Vec<Setting>,
}

/// A parsed config file, not yet checked against the commands' flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFile {
    /// Where it was read from (named in every error).
    pub path: PathBuf,
    /// Settings at the top, for every command that has the flag.
    pub shared: Vec<Setting>,
    /// Settings per command.
    pub sections: Vec<Section>,
}

impl ConfigFile {
    /// Reads and parses the file at `path`.
    pub fn load(path: &Path) -> Result<ConfigFile, ConfigError> {
        let text = crate::files::read_text_bounded(path, crate::files::SETTINGS_LIMIT)
            .map_err(|error| ConfigError::Read { path: path.display().to_string(), error })?;
        ConfigFile::parse(&text, path)
    }

    /// Parses config text; `path` is named in errors.
    pub fn parse(text: &str, path: &Path) -> Result<ConfigFile, ConfigError> {
        let name = path.display().to_string();
        let document = DeTable::parse(text).map_err(|e| ConfigError::Syntax {
            path: name.clone(),
            message: e.to_string().trim_end().to_string(),
        })?;
        // Where each line starts, found once: a key's line is then a binary search, not a
        // rescan of the text before it (which made 50,000 keys take half a minute).
        let line_starts: Vec<usize> =
            std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        let line_of = |offset: usize| line_starts.partition_point(|start| *start <= offset);
        let mut file = ConfigFile { path: path.to_path_buf(), shared: Vec::new(), sections: Vec::new() };
        for (key, value) in document.get_ref() {
            let line = line_of(key.span().start);
            match value.get_ref() {
                DeValue::Table(table) => {
                    let mut section = Section { name: key.get_ref().to_string(), line, settings: Vec::new() };
                    for (key, value) in table {
                        let line = line_of(key.span().start);
                        section.settings.push(setting(&name, key.get_ref(), line, value)?);
                    }
                    section.settings.sort_by_key(|s| s.line);
                    file.sections.push(section);
                }
                _ => file.shared.push(setting(&name, key.get_ref(), line, value)?),
            }
        }
        // The parser's map is sorted by key; keep the file's order.
        file.shared.sort_by_key(|s| s.line);
        file.sections.sort_by_key(|s| s.line);
        Ok(file)
    }

    /// How many settings the file holds.
    pub fn len(&self) -> usize {
        self.shared.len() + self.sections.iter().map(|s| s.settings.len()).sum::<usize>()
    }

    /// True when the file holds no setting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn setting(path: &str, key: &str, line: usize, value: &Spanned<DeValue<'_>>) -> Result<Setting, ConfigError> {
    let invalid =
        |reason: String| ConfigError::Invalid { path: path.to_string(), line, key: key.to_string(), reason };
    let mut setting =
        Setting { key: key.to_string(), line, values: Vec::new(), array: false, boolean: false };
    match value.get_ref() {
        DeValue::Array(items) => {
            setting.array = true;
            for item in items {
                setting.values.push(scalar(item.get_ref()).map_err(invalid)?);
            }
        }
        DeValue::Table(_) => {
            return Err(invalid(
                "a table here: settings are `flag-name = value`, at the top or in a [command] section".into(),
            ))
        }
        other => {
            setting.boolean = matches!(other, DeValue::Boolean(_));
            setting.values.push(scalar(other).map_err(invalid)?);
        }
    }
    Ok(setting)
}

/// A scalar value as the text a flag would take.
fn scalar(value: &DeValue<'_>) -> Result<String, String> {
    Ok(match value {
        DeValue::String(s) => s.to_string(),
        DeValue::Integer(i) if i.radix() == 10 => i.as_str().replace('_', ""),
        DeValue::Integer(i) => i64::from_str_radix(&i.as_str().replace('_', ""), i.radix())
            .map_err(|e| format!("integer {}: {e}", i.as_str()))?
            .to_string(),
        DeValue::Float(f) => f.as_str().replace('_', ""),
        DeValue::Boolean(b) => b.to_string(),
        DeValue::Datetime(d) => d.to_string(),
        DeValue::Array(_) | DeValue::Table(_) => return Err("an array holds plain values only".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ConfigFile, String> {
        ConfigFile::parse(text, Path::new("orderstream.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn a_hundred_thousand_keys_keep_their_lines() {
        let text: String = std::iter::once("[run]\n".to_string())
            .chain((0..100_000).map(|i| format!("k{i} = {i}\n")))
            .collect();
        let file = parse(&text).unwrap();
        let settings = &file.sections[0].settings;
        assert_eq!(settings.len(), 100_000);
        assert!(settings.iter().enumerate().all(|(i, s)| s.line == i + 2 && s.key == format!("k{i}")));
    }

    #[test]
    fn settings_keep_their_lines_and_become_flag_text() {
        let file = parse(
            "# shared\nbrokers = \"k1:9093,k2:9093\"\nkafka-option = [\"a=1\", \"b=2\"]\n\n[run]\ncount = 1_000_000\nbase-rate = 2.5\nthen-live = true\nfrom = 2026-01-01\npartitions = 0x10\n",
        )
        .unwrap();
        assert_eq!(
            file.shared[0],
            Setting {
                key: "brokers".into(),
                line: 2,
                values: vec!["k1:9093,k2:9093".into()],
                array: false,
                boolean: false
            }
        );
        assert_eq!(file.shared[1].values, ["a=1", "b=2"]);
        assert!(file.shared[1].array);
        let run = &file.sections[0];
        assert_eq!((run.name.as_str(), run.line), ("run", 5));
        let values: Vec<(&str, usize, &str)> =
            run.settings.iter().map(|s| (s.key.as_str(), s.line, s.values[0].as_str())).collect();
        assert_eq!(
            values,
            [
                ("count", 6, "1000000"),
                ("base-rate", 7, "2.5"),
                ("then-live", 8, "true"),
                ("from", 9, "2026-01-01"),
                ("partitions", 10, "16")
            ]
        );
        assert!(run.settings[2].boolean);
        assert!(!run.settings[0].boolean);
        assert_eq!(file.len(), 7);
    }

    #[test]
    fn syntax_errors_and_nested_tables_name_the_file_and_line() {
        let err = parse("brokers = \"a\"\ncount = \n").unwrap_err();
        assert!(err.contains("orderstream.toml") && err.contains("line 2"), "{err}");
        let err = parse("[run]\nsheets.tab = \"x\"\n").unwrap_err();
        assert!(err.contains("orderstream.toml, line 2: sheets: a table here"), "{err}");
        let err = parse("kafka-option = [[\"a\"]]\n").unwrap_err();
        assert!(err.contains("line 1: kafka-option: an array holds plain values only"), "{err}");
    }
}
