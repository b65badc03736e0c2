//! A store: the files one writer owns in the CSV directory, made durable in batches.
//!
//! Rows are buffered in memory per file and written by [`Store::sync`], which appends
//! them, fsyncs each touched file and then replaces the [`Checkpoint`]. Opening a store
//! takes its lock and cuts anything a crash left past the checkpoint (including a torn
//! last line), so that re-consumed messages are not written twice.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tracing::{info, warn};

use super::checkpoint::{sync_dir, Checkpoint};
use super::layout::{Owner, STATE_DIR};
use super::SinkError;

/// Buffered bytes past which rows are handed to the OS before the next sync.
const WRITE_THROUGH_BYTES: usize = 1 << 20;
/// Files kept open; older ones are closed (late orders reopen them).
const MAX_OPEN_FILES: usize = 16;

/// The bytes to put first into a new file.
pub(super) type Preamble = &'static [u8];

struct OpenFile {
    file: File,
    pending: Vec<u8>,
    /// Bytes in the file, including what was written but not yet fsynced.
    written: u64,
    needs_sync: bool,
    last_used: Instant,
}

/// Files plus checkpoint of one [`Owner`].
pub(super) struct Store {
    dir: PathBuf,
    owner: Owner,
    checkpoint: Checkpoint,
    files: HashMap<String, OpenFile>,
    _lock: File,
}

impl Store {
    /// Opens (creating the directory if needed), locks and recovers the store of `owner`.
    /// `lock_wait` is how long to wait for a previous owner to let go of the lock.
    pub(super) fn open(dir: &Path, owner: Owner, lock_wait: Duration) -> Result<Self, SinkError> {
        let state = dir.join(STATE_DIR);
        fs::create_dir_all(&state).map_err(|e| SinkError::io("creating directory", &state, e))?;
        let lock = lock_file(&owner.lock_path(dir), owner, lock_wait)?;
        let checkpoint_path = owner.checkpoint_path(dir);
        let mut checkpoint = Checkpoint::load(&checkpoint_path)?;
        let mut changed = false;
        for (name, durable) in &mut checkpoint.files {
            let path = dir.join(name);
            let actual = match fs::metadata(&path) {
                Ok(m) => m.len(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    warn!(file = %path.display(), "a file of the checkpoint is gone; it will be started afresh");
                    *durable = 0;
                    changed = true;
                    continue;
                }
                Err(e) => return Err(SinkError::io("reading", &path, e)),
            };
            if actual > *durable {
                let file = OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(|e| SinkError::io("opening", &path, e))?;
                file.set_len(*durable).map_err(|e| SinkError::io("truncating", &path, e))?;
                file.sync_all().map_err(|e| SinkError::io("syncing", &path, e))?;
                warn!(file = %path.display(), cut_bytes = actual - *durable,
                    "cut rows written after the last checkpoint; they will be consumed again");
            } else if actual < *durable {
                warn!(file = %path.display(), expected = *durable, actual,
                    "file is shorter than checkpointed: it was truncated outside orderstream");
                *durable = actual;
                changed = true;
            }
        }
        checkpoint.files.retain(|_, len| *len > 0);
        if changed {
            checkpoint.store(&checkpoint_path)?;
        }
        Ok(Store { dir: dir.to_path_buf(), owner, checkpoint, files: HashMap::new(), _lock: lock })
    }

    /// Notes that `source` is now read under topic id `topic_id`; offsets recorded under
    /// another id are forgotten (the topic was deleted and created again), and the
    /// change becomes durable with the next sync.
    pub(super) fn adopt_topic_id(&mut self, source: &str, topic_id: &str) {
        let recorded = self.checkpoint.topic_ids.insert(source.to_string(), topic_id.to_string());
        if let Some(recorded) = recorded.filter(|r| r != topic_id) {
            let forgotten = self.checkpoint.offsets.remove(source).unwrap_or_default();
            warn!(source, recorded_id = %recorded, current_id = %topic_id, offsets = ?forgotten,
                "the topic was deleted and created again since the checkpoint: its recorded offsets are dropped and the new topic is read from its start");
        }
    }

    /// The checkpointed next offset of `partition` from `source`, if any.
    pub(super) fn next_offset(&self, source: &str, partition: i32) -> Option<i64> {
        self.checkpoint.offsets.get(source)?.get(&partition).copied()
    }

    /// Queues `bytes` for the file `name`, creating it with `preamble` when new.
    pub(super) fn append(&mut self, name: &str, preamble: Preamble, bytes: &[u8]) -> Result<(), SinkError> {
        if !self.files.contains_key(name) {
            self.open_file(name, preamble)?;
        }
        let entry = self.files.get_mut(name).expect("opened above");
        entry.pending.extend_from_slice(bytes);
        entry.last_used = Instant::now();
        if entry.pending.len() >= WRITE_THROUGH_BYTES {
            write_pending(&self.dir, name, entry)?;
        }
        Ok(())
    }

    /// Makes everything queued durable, then records `offsets` (next offset per
    /// partition of `source`) in the checkpoint.
    pub(super) fn sync(&mut self, source: &str, offsets: &[(i32, i64)]) -> Result<(), SinkError> {
        for (name, entry) in &mut self.files {
            write_pending(&self.dir, name, entry)?;
            if entry.needs_sync {
                let path = self.dir.join(name);
                entry.file.sync_data().map_err(|e| SinkError::io("syncing", &path, e))?;
                entry.needs_sync = false;
            }
            self.checkpoint.files.insert(name.clone(), entry.written);
        }
        let by_partition = self.checkpoint.offsets.entry(source.to_string()).or_default();
        for &(partition, next) in offsets {
            by_partition.insert(partition, next);
        }
        // An embedded broker dies with its process: older ones' offsets mean nothing.
        let current = |s: &String| s == source || !s.starts_with(super::checkpoint::EMBEDDED_SOURCE_PREFIX);
        self.checkpoint.offsets.retain(|s, _| current(s));
        self.checkpoint.topic_ids.retain(|s, _| current(s));
        self.checkpoint.store(&self.owner.checkpoint_path(&self.dir))?;
        self.close_idle_files();
        Ok(())
    }

    /// Opens `name` for appending. A file new to this store is first made durable with
    /// its current content (header for a new file, a torn last line cut from a foreign
    /// one) and entered in the checkpoint, so that a crash before the next sync can
    /// always be undone by cutting back to the recorded length.
    fn open_file(&mut self, name: &str, preamble: Preamble) -> Result<(), SinkError> {
        let path = self.dir.join(name);
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(|e| SinkError::io("opening", &path, e))?;
        let mut len = file.metadata().map_err(|e| SinkError::io("reading", &path, e))?.len();
        if !self.checkpoint.files.contains_key(name) {
            len = cut_torn_tail(&mut file, &path, len)?;
            if len == 0 {
                file.write_all(preamble).map_err(|e| SinkError::io("writing", &path, e))?;
                len = preamble.len() as u64;
                info!(file = %path.display(), "started a new file");
            }
            file.sync_all().map_err(|e| SinkError::io("syncing", &path, e))?;
            sync_dir(&self.dir)?;
            self.checkpoint.files.insert(name.to_string(), len);
            self.checkpoint.store(&self.owner.checkpoint_path(&self.dir))?;
        }
        self.files.insert(
            name.to_string(),
            OpenFile {
                file,
                pending: Vec::with_capacity(64 * 1024),
                written: len,
                needs_sync: false,
                last_used: Instant::now(),
            },
        );
        Ok(())
    }

    fn close_idle_files(&mut self) {
        while self.files.len() > MAX_OPEN_FILES {
            let oldest = self.files.iter().min_by_key(|(_, f)| f.last_used).map(|(n, _)| n.clone());
            if let Some(name) = oldest {
                self.files.remove(&name);
            }
        }
    }
}

fn write_pending(dir: &Path, name: &str, entry: &mut OpenFile) -> Result<(), SinkError> {
    if entry.pending.is_empty() {
        return Ok(());
    }
    entry.file.write_all(&entry.pending).map_err(|e| SinkError::io("writing", &dir.join(name), e))?;
    entry.written += entry.pending.len() as u64;
    entry.pending.clear();
    entry.needs_sync = true;
    Ok(())
}

/// Cuts a last line without its newline (a crash mid-write) and returns the new length.
fn cut_torn_tail(file: &mut File, path: &Path, len: u64) -> Result<u64, SinkError> {
    if len == 0 {
        return Ok(0);
    }
    let io = |e| SinkError::io("reading", path, e);
    let mut keep = len;
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let start = keep.saturating_sub(chunk.len() as u64);
        let n = (keep - start) as usize;
        file.seek(SeekFrom::Start(start)).map_err(io)?;
        file.read_exact(&mut chunk[..n]).map_err(io)?;
        if let Some(pos) = chunk[..n].iter().rposition(|b| *b == b'\n') {
            keep = start + pos as u64 + 1;
            break;
        }
        if start == 0 {
            keep = 0;
            break;
        }
        keep = start;
    }
    if keep < len {
        file.set_len(keep).map_err(|e| SinkError::io("truncating", path, e))?;
        warn!(file = %path.display(), cut_bytes = len - keep, "cut a torn last line");
    }
    Ok(keep)
}

fn lock_file(path: &Path, owner: Owner, wait: Duration) -> Result<File, SinkError> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| SinkError::io("opening lock", path, e))?;
    let deadline = Instant::now() + wait;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(TryLockError::WouldBlock) => {
                return Err(SinkError::Locked { path: path.to_path_buf(), owner: format!("{owner:?}") })
            }
            Err(TryLockError::Error(e)) => return Err(SinkError::io("locking", path, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &[u8] = b"h1,h2\n";

    fn read(dir: &Path, name: &str) -> String {
        fs::read_to_string(dir.join(name)).unwrap()
    }

    #[test]
    fn header_once_rows_appended_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path(), Owner::Directory, Duration::ZERO).unwrap();
        store.append("a.csv", HEADER, b"1,2\n").unwrap();
        assert_eq!(read(dir.path(), "a.csv"), "h1,h2\n", "rows wait for sync");
        store.sync("src", &[(0, 1)]).unwrap();
        drop(store);
        let mut store = Store::open(dir.path(), Owner::Directory, Duration::ZERO).unwrap();
        assert_eq!(store.next_offset("src", 0), Some(1));
        store.append("a.csv", HEADER, b"3,4\n").unwrap();
        store.sync("src", &[(0, 2)]).unwrap();
        assert_eq!(read(dir.path(), "a.csv"), "h1,h2\n1,2\n3,4\n");
    }

    #[test]
    fn rows_past_the_checkpoint_are_cut_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path(), Owner::Partition(1), Duration::ZERO).unwrap();
        store.append("a.csv", HEADER, b"1,2\n").unwrap();
        store.sync("src", &[(1, 1)]).unwrap();
        drop(store);
        // A crash after the rows hit the file but before the checkpoint: one full row
        // and a torn one.
        let mut f = OpenOptions::new().append(true).open(dir.path().join("a.csv")).unwrap();
        f.write_all(b"3,4\n5,").unwrap();
        let store = Store::open(dir.path(), Owner::Partition(1), Duration::ZERO).unwrap();
        assert_eq!(read(dir.path(), "a.csv"), "h1,h2\n1,2\n");
        assert_eq!(store.next_offset("src", 1), Some(1));
    }

    #[test]
    fn a_foreign_file_keeps_its_rows_but_loses_its_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.csv"), "h1,h2\nold,row\nto").unwrap();
        let mut store = Store::open(dir.path(), Owner::Directory, Duration::ZERO).unwrap();
        store.append("a.csv", HEADER, b"1,2\n").unwrap();
        store.sync("src", &[]).unwrap();
        assert_eq!(read(dir.path(), "a.csv"), "h1,h2\nold,row\n1,2\n");
    }

    proptest::proptest! {
        /// Whatever a crash left, the cut keeps exactly the complete lines.
        #[test]
        fn torn_tail_cut_keeps_whole_lines(lines in proptest::collection::vec("[a-z,0-9]{0,40}", 0..50),
                                           torn in "[a-z,0-9]{0,70000}") {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("f.csv");
            let whole: String = lines.iter().map(|l| format!("{l}\n")).collect();
            fs::write(&path, format!("{whole}{torn}")).unwrap();
            let mut file = OpenOptions::new().read(true).write(true).open(&path).unwrap();
            let len = file.metadata().unwrap().len();
            let kept = cut_torn_tail(&mut file, &path, len).unwrap();
            proptest::prop_assert_eq!(kept, whole.len() as u64);
            proptest::prop_assert_eq!(fs::read_to_string(&path).unwrap(), whole);
        }
    }

    #[test]
    fn a_second_writer_gets_a_clear_lock_error() {
        let dir = tempfile::tempdir().unwrap();
        let _first = Store::open(dir.path(), Owner::Directory, Duration::ZERO).unwrap();
        let err =
            Store::open(dir.path(), Owner::Directory, Duration::from_millis(100)).err().unwrap().to_string();
        assert!(err.contains("another orderstream consumer"), "{err}");
        // Another partition's store in the same directory is independent.
        Store::open(dir.path(), Owner::Partition(0), Duration::ZERO).unwrap();
    }

    #[test]
    fn unwritable_directory_names_the_path() {
        let err = Store::open(Path::new("/proc/orderstream-test"), Owner::Directory, Duration::ZERO)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("/proc/orderstream-test"), "{err}");
    }
}
