//! One directory, one writer set: a daily-layout consumer owns its directory alone, and
//! partitioned-layout consumers share theirs only with members of their own group. A
//! second writer set (the other layout, or another group) stops at once with a clear
//! error instead of writing every order a second time.
//!
//! The claim is an advisory lock on `.orderstream/writers`: exclusive for the daily
//! layout, shared for the partitioned one (whose first member records its group in
//! `.orderstream/writers.group`). The directory's identity (`.orderstream/id`, a random
//! id made once) is the metadata of the sink's Kafka commits, so that on an assignment
//! a committed offset from this very directory is told from one from another directory.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use super::layout::{Layout, STATE_DIR};
use super::SinkError;

/// How long a claim waits for a writer that is just letting go (a restart).
const CLAIM_WAIT: Duration = Duration::from_secs(1);

/// A held claim on a CSV directory, released when dropped.
#[derive(Debug)]
pub(super) struct DirectoryClaim {
    _lock: File,
    id: String,
}

impl DirectoryClaim {
    /// Claims `dir` for a writer of `layout` in consumer group `group`.
    pub(super) fn take(dir: &Path, layout: Layout, group: &str) -> Result<Self, SinkError> {
        let state = dir.join(STATE_DIR);
        fs::create_dir_all(&state).map_err(|e| SinkError::io("creating directory", &state, e))?;
        let path = state.join("writers");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| SinkError::io("opening lock", &path, e))?;
        let group_path = state.join("writers.group");
        let refused = |holder: String| SinkError::Claimed { dir: dir.to_path_buf(), holder };
        let deadline = Instant::now() + CLAIM_WAIT;
        loop {
            match (layout, lock.try_lock()) {
                (_, Err(TryLockError::Error(e))) => return Err(SinkError::io("locking", &path, e)),
                (Layout::Daily, Ok(())) => break,
                (Layout::Partitioned, Ok(())) => {
                    // The first member of the set: record the group, then share.
                    write_durably(&group_path, group.as_bytes())?;
                    lock.lock_shared().map_err(|e| SinkError::io("locking", &path, e))?;
                    break;
                }
                (Layout::Partitioned, Err(TryLockError::WouldBlock)) => match lock.try_lock_shared() {
                    Ok(()) => {
                        let holder = fs::read_to_string(&group_path).unwrap_or_default();
                        if holder != group {
                            return Err(refused(format!(
                                "partitioned-layout consumers of group {holder:?} (this one is in group {group:?})"
                            )));
                        }
                        break;
                    }
                    Err(TryLockError::WouldBlock) if Instant::now() < deadline => {}
                    Err(TryLockError::WouldBlock) => return Err(refused("a daily-layout consumer".into())),
                    Err(TryLockError::Error(e)) => return Err(SinkError::io("locking", &path, e)),
                },
                (Layout::Daily, Err(TryLockError::WouldBlock)) if Instant::now() < deadline => {}
                (Layout::Daily, Err(TryLockError::WouldBlock)) => {
                    return Err(SinkError::Locked {
                        path,
                        owner: "a daily-layout consumer, or the partitioned-layout consumers of a group"
                            .into(),
                    })
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let id = directory_id(&state)?;
        Ok(DirectoryClaim { _lock: lock, id })
    }

    /// The directory's identity, made once and kept.
    pub(super) fn id(&self) -> &str {
        &self.id
    }
}

/// Reads `.orderstream/id`, making it first if there is none (atomically: a link of a
/// complete temporary file, so concurrent members agree on one id).
fn directory_id(state: &Path) -> Result<String, SinkError> {
    let path = state.join("id");
    if let Ok(id) = fs::read_to_string(&path) {
        if !id.trim().is_empty() {
            return Ok(id.trim().to_string());
        }
        // An empty id (a crash while it was made): make a new one.
        let _ = fs::remove_file(&path);
    }
    let fresh = uuid::Uuid::from_u128(rand::random()).simple().to_string();
    let temp = state.join(format!("id.{}.tmp", std::process::id()));
    write_durably(&temp, fresh.as_bytes())?;
    let linked = fs::hard_link(&temp, &path);
    let _ = fs::remove_file(&temp);
    match linked {
        Ok(()) => Ok(fresh),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => fs::read_to_string(&path)
            .map(|id| id.trim().to_string())
            .map_err(|e| SinkError::io("reading", &path, e)),
        Err(e) => Err(SinkError::io("creating", &path, e)),
    }
}

fn write_durably(path: &Path, bytes: &[u8]) -> Result<(), SinkError> {
    let mut file = File::create(path).map_err(|e| SinkError::io("creating", path, e))?;
    file.write_all(bytes).map_err(|e| SinkError::io("writing", path, e))?;
    file.sync_all().map_err(|e| SinkError::io("syncing", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_writer_set_per_directory() {
        let dir = tempfile::tempdir().unwrap();
        let daily = DirectoryClaim::take(dir.path(), Layout::Daily, "g").unwrap();
        let err = DirectoryClaim::take(dir.path(), Layout::Partitioned, "g").unwrap_err().to_string();
        assert!(err.contains("a daily-layout consumer"), "{err}");
        let id = daily.id().to_string();
        drop(daily);

        let first = DirectoryClaim::take(dir.path(), Layout::Partitioned, "g").unwrap();
        let second = DirectoryClaim::take(dir.path(), Layout::Partitioned, "g").unwrap();
        assert_eq!((first.id(), second.id()), (id.as_str(), id.as_str()), "the identity is kept");
        let err = DirectoryClaim::take(dir.path(), Layout::Partitioned, "other").unwrap_err().to_string();
        assert!(err.contains("group \"g\""), "{err}");
        let err = DirectoryClaim::take(dir.path(), Layout::Daily, "g").unwrap_err().to_string();
        assert!(err.contains("held by another orderstream consumer"), "{err}");
        drop((first, second));
        // Once the set is gone, another group may take the directory over.
        DirectoryClaim::take(dir.path(), Layout::Partitioned, "other").unwrap();
    }
}
