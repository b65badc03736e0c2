//! The durable record of what a store has written: file lengths and the next Kafka offset
//! of each partition, replaced atomically after the rows it describes are fsynced.
//!
//! It, not the offset committed to Kafka, is the truth after a crash: rows past a file's
//! recorded length were never acknowledged and are cut on restart, and consumption
//! resumes at the recorded offsets, so every order lands exactly once.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::SinkError;

/// Contents of `checkpoint*.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// Format version, for future migrations.
    pub version: u32,
    /// Durable length in bytes of every file this store has appended to.
    pub files: BTreeMap<String, u64>,
    /// Next offset to consume, per source (`cluster/topic`) and partition.
    pub offsets: BTreeMap<String, BTreeMap<i32, i64>>,
}

impl Checkpoint {
    /// Reads a checkpoint; a missing file is an empty one.
    pub fn load(path: &Path) -> Result<Self, SinkError> {
        match fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| SinkError::Checkpoint { path: path.to_path_buf(), reason: e.to_string() }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Ok(Checkpoint { version: 1, ..Default::default() })
            }
            Err(e) => Err(SinkError::io("reading", path, e)),
        }
    }

    /// Replaces the checkpoint atomically and durably: temp file, fsync, rename, fsync dir.
    pub fn store(&self, path: &Path) -> Result<(), SinkError> {
        let tmp = path.with_extension("json.tmp");
        let bytes = serde_json::to_vec(self).expect("checkpoint serialises");
        let mut file = File::create(&tmp).map_err(|e| SinkError::io("creating", &tmp, e))?;
        file.write_all(&bytes).map_err(|e| SinkError::io("writing", &tmp, e))?;
        file.sync_all().map_err(|e| SinkError::io("syncing", &tmp, e))?;
        fs::rename(&tmp, path).map_err(|e| SinkError::io("renaming", path, e))?;
        sync_dir(path.parent().unwrap_or(Path::new(".")))
    }
}

/// Makes a directory's entries (new or renamed files) durable.
pub fn sync_dir(dir: &Path) -> Result<(), SinkError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| SinkError::io("syncing directory", dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_then_load_and_reject_unknown_fields() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoint.json");
        assert_eq!(Checkpoint::load(&path).unwrap().version, 1);
        let mut cp = Checkpoint { version: 1, ..Default::default() };
        cp.files.insert("orders_2026-11-26.csv".into(), 1234);
        cp.offsets.entry("c/t".into()).or_default().insert(2, 99);
        cp.store(&path).unwrap();
        assert_eq!(Checkpoint::load(&path).unwrap(), cp);

        fs::write(&path, r#"{"version":1,"files":{},"offsets":{},"extra":1}"#).unwrap();
        let err = Checkpoint::load(&path).unwrap_err().to_string();
        assert!(err.contains("checkpoint.json") && err.contains("extra"), "{err}");
    }
}
