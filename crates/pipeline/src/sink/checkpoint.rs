//! The durable record of what a store has written: file lengths and the next Kafka offset
//! of each partition, stored after the rows it describes are fsynced.
//!
//! It, not the offset committed to Kafka, is the truth after a crash: rows past a file's
//! recorded length were never acknowledged and are cut on restart, and consumption
//! resumes at the recorded offsets, so every order lands exactly once.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::SinkError;

/// Sources (see [`Checkpoint::offsets`]) whose names start with this are brokers that
/// die with their process (the embedded broker of `run`): their offsets mean nothing to
/// a later run, and a store drops them.
pub const EMBEDDED_SOURCE_PREFIX: &str = "embedded-";

/// Contents of a checkpoint slot (JSON, followed by a line with its CRC-32).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// Format version, for future migrations.
    pub version: u32,
    /// Incremented by every store; the slot with the highest valid one is current.
    pub seq: u64,
    /// Durable length in bytes of every file this store has appended to.
    pub files: BTreeMap<String, u64>,
    /// Next offset to consume, per source (`cluster/topic`) and partition.
    pub offsets: BTreeMap<String, BTreeMap<i32, i64>>,
    /// The topic id each source's offsets were read under, when the cluster tracks ids:
    /// a topic deleted and created again under the same name has a new one, and the
    /// old offsets mean nothing there. Checkpoints written before ids were recorded
    /// have none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub topic_ids: BTreeMap<String, String>,
}

/// The two slots `base.a` and `base.b` that checkpoints alternate between.
///
/// Writing the older slot in place and fdatasync-ing it is one flush per checkpoint
/// (a temp file, rename and directory sync would be three), and a crash mid-write
/// leaves the other slot intact: the torn one fails its checksum.
fn slots(base: &Path) -> [PathBuf; 2] {
    ["a", "b"].map(|slot| {
        let mut name = OsString::from(base.as_os_str());
        name.push(".");
        name.push(slot);
        PathBuf::from(name)
    })
}

impl Checkpoint {
    /// Reads the newest valid slot of the checkpoint at `base`; none is an empty one.
    pub fn load(base: &Path) -> Result<Self, SinkError> {
        let mut newest: Option<Checkpoint> = None;
        let mut problems = Vec::new();
        for path in slots(base) {
            let bytes = match fs::read(&path) {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(SinkError::io("reading", &path, e)),
            };
            match parse_slot(&bytes) {
                Ok(cp) if newest.as_ref().is_none_or(|n| cp.seq > n.seq) => newest = Some(cp),
                Ok(_) => {}
                Err(reason) => problems.push(format!("{}: {reason}", path.display())),
            }
        }
        match newest {
            Some(cp) => {
                for problem in &problems {
                    tracing::warn!(slot = %problem, using_seq = cp.seq,
                        "a checkpoint slot is unreadable; using the other one: rows written after it are cut and read again from Kafka");
                }
                Ok(cp)
            }
            None if problems.is_empty() => Ok(Checkpoint { version: 1, ..Default::default() }),
            None => Err(SinkError::Checkpoint { path: base.to_path_buf(), reason: problems.join("; ") }),
        }
    }

    /// Stores the next version durably in the older slot.
    pub fn store(&mut self, base: &Path) -> Result<(), SinkError> {
        self.seq += 1;
        let path = &slots(base)[(self.seq % 2) as usize];
        let mut bytes = serde_json::to_vec(self).expect("checkpoint serialises");
        let sum = crc32fast::hash(&bytes);
        bytes.extend_from_slice(format!("\n{sum:08x}\n").as_bytes());
        let created = !path.exists();
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| SinkError::io("opening", path, e))?;
        file.write_all(&bytes).map_err(|e| SinkError::io("writing", path, e))?;
        file.set_len(bytes.len() as u64).map_err(|e| SinkError::io("truncating", path, e))?;
        file.sync_data().map_err(|e| SinkError::io("syncing", path, e))?;
        if created {
            sync_dir(path.parent().unwrap_or(Path::new(".")))?;
        }
        Ok(())
    }
}

fn parse_slot(bytes: &[u8]) -> Result<Checkpoint, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8".to_string())?;
    let (json, sum) = text.trim_end().rsplit_once('\n').ok_or("no checksum line")?;
    let sum = u32::from_str_radix(sum, 16).map_err(|_| format!("bad checksum line {sum:?}"))?;
    if crc32fast::hash(json.as_bytes()) != sum {
        return Err("checksum mismatch (torn write)".into());
    }
    serde_json::from_str(json).map_err(|e| e.to_string())
}

/// Makes a directory's entries (new or renamed files) durable.
pub fn sync_dir(dir: &Path) -> Result<(), SinkError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| SinkError::io("syncing directory", dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_alternate_slots_and_the_newest_valid_one_wins() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("checkpoint");
        assert_eq!(Checkpoint::load(&base).unwrap().version, 1);
        let mut cp = Checkpoint { version: 1, ..Default::default() };
        cp.files.insert("orders_2026-11-26.csv".into(), 1234);
        cp.store(&base).unwrap();
        cp.offsets.entry("c/t".into()).or_default().insert(2, 99);
        cp.store(&base).unwrap();
        assert_eq!(Checkpoint::load(&base).unwrap(), cp);

        // A torn write of the next version (seq 3, slot b) leaves seq 2 (slot a) in force.
        let [a, b] = slots(&base);
        assert!(a.exists() && b.exists());
        let previous = cp.clone();
        cp.files.insert("orders_2026-11-27.csv".into(), 10);
        cp.store(&base).unwrap();
        assert_eq!(cp.seq, 3);
        let full = fs::read(&b).unwrap();
        fs::write(&b, &full[..full.len() / 2]).unwrap();
        assert_eq!(Checkpoint::load(&base).unwrap(), previous);
    }

    #[test]
    fn unreadable_slots_are_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("checkpoint");
        let [a, _] = slots(&base);
        fs::write(&a, "{\"version\":1}\nzzzz\n").unwrap();
        let err = Checkpoint::load(&base).unwrap_err().to_string();
        assert!(err.contains("checkpoint.a") && err.contains("bad checksum"), "{err}");
    }
}
