//! Stage 3: the exactly-once daily CSV sink.
//!
//! # Files
//!
//! In the CSV directory `D` (default `dane_dzienne`):
//!
//! - `orders_YYYY-MM-DD.csv` ([`Layout::Daily`], the default) or
//!   `orders_YYYY-MM-DD.pN.csv` ([`Layout::Partitioned`]): the order record's header, then one row
//!   per order, in the file of the order's own local day.
//! - `dead_letters[.pN].jsonl`: messages that are not valid orders, with their topic,
//!   partition, offset and the reason.
//! - `.orderstream/checkpoint[.pN].{a,b}` and `.orderstream/lock[.pN]`: see [`checkpoint`].
//!
//! # Exactly once
//!
//! Rows are batched in memory and made durable by [`CsvSink::sync`] (fsync, then the
//! checkpoint). Only then are offsets committed to Kafka. On start or on a partition
//! assignment, the checkpoint decides where consumption resumes and where files are cut,
//! and offsets already written are skipped, so neither a crash nor a rebalance can lose
//! or repeat a row.

pub mod checkpoint;
mod claim;
mod export;
pub mod layout;
mod store;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tracing::warn;

pub use checkpoint::EMBEDDED_SOURCE_PREFIX;
pub use export::{day_files, days, read_day, DayFiles};
pub use layout::{Layout, Owner};
use store::Store;

use crate::kafka::gaps::Gap;
use crate::order::{write_csv_row, Order, CSV_HEADER};

/// Errors of the CSV sink; each names the file it is about.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// A file operation failed (permission, disk full, ...).
    #[error("{action} {path}: {error}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error (in the message, so that a one-line error says it all).
        error: std::io::Error,
    },
    /// Another process writes these files.
    #[error("{path} is held by another orderstream consumer ({owner}); give each consumer its own --csv-dir, or use --csv-layout partitioned to share one")]
    Locked {
        /// The lock file.
        path: PathBuf,
        /// Which store it guards.
        owner: String,
    },
    /// Another writer set (the other layout, or another group) writes this directory.
    #[error("{dir} is written by {holder}; two writer sets in one directory would write every order twice: give this consumer its own --csv-dir")]
    Claimed {
        /// The CSV directory.
        dir: PathBuf,
        /// Who holds it.
        holder: String,
    },
    /// The checkpoint cannot be read.
    #[error("corrupt checkpoint {path}: {reason}; move it away to start over (rows already written may then be written again)")]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// The parse error.
        reason: String,
    },
}

impl SinkError {
    pub(crate) fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        SinkError::Io { action, path: path.to_path_buf(), error: source }
    }
}

/// A message that is not a valid order, kept with where it came from and why.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DeadLetter {
    /// Source topic.
    pub topic: String,
    /// Source partition.
    pub partition: i32,
    /// Source offset.
    pub offset: i64,
    /// Message key, if any (lossy UTF-8).
    pub key: Option<String>,
    /// Why it was rejected.
    pub reason: String,
    /// The payload as text, when it is UTF-8.
    pub payload: Option<String>,
    /// The payload in hex, when it is not UTF-8.
    pub payload_hex: Option<String>,
}

impl DeadLetter {
    /// Describes a rejected message.
    pub fn new(
        topic: &str,
        partition: i32,
        offset: i64,
        key: Option<&[u8]>,
        payload: &[u8],
        reason: String,
    ) -> Self {
        let (text, hex) = match std::str::from_utf8(payload) {
            Ok(s) => (Some(s.to_string()), None),
            Err(_) => (None, Some(payload.iter().map(|b| format!("{b:02x}")).collect())),
        };
        DeadLetter {
            topic: topic.to_string(),
            partition,
            offset,
            key: key.map(|k| String::from_utf8_lossy(k).into_owned()),
            reason,
            payload: text,
            payload_hex: hex,
        }
    }
}

/// Settings of the CSV sink.
#[derive(Debug, Clone)]
pub struct CsvSinkConfig {
    /// The CSV directory.
    pub dir: PathBuf,
    /// File layout.
    pub layout: Layout,
    /// Identifies the Kafka cluster and topic the offsets belong to.
    pub source: String,
    /// The consumer group writing (one group per directory).
    pub group: String,
    /// How long to wait for a partition's previous owner to let go of its lock during a
    /// rebalance (partitioned layout).
    pub lock_wait: Duration,
}

/// The CSV sink of one consumer: the stores of the partitions it holds.
pub struct CsvSink {
    config: CsvSinkConfig,
    claim: claim::DirectoryClaim,
    header: &'static [u8],
    stores: HashMap<Owner, Store>,
    /// Next offset to write per assigned partition; lower offsets are duplicates.
    next: BTreeMap<i32, i64>,
    /// Offsets taken since the last sync, per partition.
    dirty: BTreeMap<i32, i64>,
    row: Vec<u8>,
    /// Bytes queued since the last sync.
    pending_bytes: usize,
    /// Last file name per partition: formatting a date per row is measurable.
    day_files: HashMap<i32, (chrono::NaiveDate, std::sync::Arc<str>)>,
}

fn header_line() -> &'static [u8] {
    static HEADER: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    HEADER.get_or_init(|| format!("{}\n", CSV_HEADER.join(",")).into_bytes())
}

impl CsvSink {
    /// A sink with no partitions yet; in the daily layout it locks the directory now, so
    /// that a second consumer fails at start with a clear error.
    pub fn new(config: CsvSinkConfig) -> Result<Self, SinkError> {
        let claim = claim::DirectoryClaim::take(&config.dir, config.layout, &config.group)?;
        let mut sink = CsvSink {
            claim,
            header: header_line(),
            stores: HashMap::new(),
            next: BTreeMap::new(),
            dirty: BTreeMap::new(),
            row: Vec::with_capacity(512),
            pending_bytes: 0,
            day_files: HashMap::new(),
            config,
        };
        if sink.config.layout == Layout::Daily {
            // A directory owner never hands over to a group peer: fail fast.
            let store = Store::open(&sink.config.dir, Owner::Directory, Duration::from_secs(1))?;
            sink.stores.insert(Owner::Directory, store);
        }
        Ok(sink)
    }

    /// The directory's identity: what the sink's Kafka commits carry as metadata.
    pub fn directory_id(&self) -> &str {
        self.claim.id()
    }

    /// The dead-letter file of `partition`'s messages.
    pub fn dead_letter_file(&self, partition: i32) -> String {
        self.owner_of(partition).dead_letter_name()
    }

    fn owner_of(&self, partition: i32) -> Owner {
        match self.config.layout {
            Layout::Daily => Owner::Directory,
            Layout::Partitioned => Owner::Partition(partition),
        }
    }

    /// Takes over `partitions` of the topic with id `topic_id` (if the cluster tracks
    /// ids) and returns the checkpointed offset of each (`None`: no record), where they
    /// resume unless [`CsvSink::resume_at`] says otherwise.
    pub fn assign(
        &mut self,
        topic_id: Option<&str>,
        partitions: &[i32],
    ) -> Result<Vec<(i32, Option<i64>)>, SinkError> {
        let mut resume = Vec::with_capacity(partitions.len());
        for &p in partitions {
            let owner = self.owner_of(p);
            if !self.stores.contains_key(&owner) {
                let store = Store::open(&self.config.dir, owner, self.config.lock_wait)?;
                self.stores.insert(owner, store);
            }
            let store = self.stores.get_mut(&owner).expect("opened above");
            if let Some(id) = topic_id {
                store.adopt_topic_id(&self.config.source, id);
            }
            let checkpointed = store.next_offset(&self.config.source, p);
            self.next.insert(p, checkpointed.unwrap_or(0));
            resume.push((p, checkpointed));
        }
        Ok(resume)
    }

    /// Sets where `partition` resumes: offsets below it count as already written.
    pub fn resume_at(&mut self, partition: i32, offset: i64) {
        self.next.insert(partition, offset);
    }

    /// Makes the rows of `partitions` durable and lets go of them.
    pub fn revoke(&mut self, partitions: &[i32]) -> Result<Vec<(i32, i64)>, SinkError> {
        let synced = self.sync()?;
        for &p in partitions {
            self.next.remove(&p);
            if let Owner::Partition(_) = self.owner_of(p) {
                self.stores.remove(&Owner::Partition(p));
            }
        }
        Ok(synced)
    }

    /// False if the message at `offset` was already written (a redelivery) or its
    /// partition is not assigned to this sink (any more).
    fn accepts(&self, partition: i32, offset: i64) -> bool {
        self.next.get(&partition).is_some_and(|next| offset >= *next)
    }

    fn store_for(&mut self, partition: i32) -> Option<&mut Store> {
        let owner = self.owner_of(partition);
        self.stores.get_mut(&owner)
    }

    /// Queues a valid order. Returns false if it was skipped (already written, or the
    /// partition is not ours any more).
    pub fn write_order(&mut self, partition: i32, offset: i64, order: &Order) -> Result<bool, SinkError> {
        if !self.accepts(partition, offset) {
            return Ok(false);
        }
        let day = order.day();
        let owner = self.owner_of(partition);
        let name = match self.day_files.get(&partition) {
            Some((cached, name)) if *cached == day => name.clone(),
            _ => {
                let name: std::sync::Arc<str> = owner.csv_name(day).into();
                self.day_files.insert(partition, (day, name.clone()));
                name
            }
        };
        let header = self.header;
        let mut row = std::mem::take(&mut self.row);
        row.clear();
        write_csv_row(order, &mut row);
        let result = match self.store_for(partition) {
            Some(store) => store.append(&name, header, &row).map(|_| true),
            None => Ok(false),
        };
        let bytes = row.len();
        self.row = row;
        if result.as_ref().is_ok_and(|written| *written) {
            self.taken(partition, offset, bytes);
        }
        result
    }

    /// Queues a dead letter. Returns false if skipped, as for orders.
    pub fn write_dead_letter(&mut self, letter: &DeadLetter) -> Result<bool, SinkError> {
        if !self.accepts(letter.partition, letter.offset) {
            return Ok(false);
        }
        let name = self.owner_of(letter.partition).dead_letter_name();
        let mut line = serde_json::to_vec(letter).expect("dead letter serialises");
        line.push(b'\n');
        match self.store_for(letter.partition) {
            Some(store) => store.append(&name, b"", &line)?,
            None => return Ok(false),
        }
        self.taken(letter.partition, letter.offset, line.len());
        Ok(true)
    }

    /// Queues the record of a gap (offsets gone before they were read) in the
    /// dead-letter file of its partition; it becomes durable with the next message.
    pub fn write_gap(&mut self, gap: &Gap) -> Result<(), SinkError> {
        let name = self.owner_of(gap.partition).dead_letter_name();
        let mut line = serde_json::to_vec(gap).expect("gap serialises");
        line.push(b'\n');
        if let Some(store) = self.store_for(gap.partition) {
            store.append(&name, b"", &line)?;
            // Its offsets are done: the checkpoint moves past them with the next sync.
            self.taken(gap.partition, gap.last_offset, line.len());
        }
        Ok(())
    }

    fn taken(&mut self, partition: i32, offset: i64, bytes: usize) {
        self.next.insert(partition, offset + 1);
        self.dirty.insert(partition, offset + 1);
        self.pending_bytes += bytes;
    }

    /// Bytes queued since the last sync.
    pub fn pending_bytes(&self) -> usize {
        self.pending_bytes
    }

    /// Makes every queued row durable and checkpoints the offsets; returns the offsets
    /// (next to consume, per partition) that may now be committed to Kafka.
    pub fn sync(&mut self) -> Result<Vec<(i32, i64)>, SinkError> {
        if self.dirty.is_empty() {
            return Ok(Vec::new());
        }
        let dirty = std::mem::take(&mut self.dirty);
        let mut by_owner: HashMap<Owner, Vec<(i32, i64)>> = HashMap::new();
        for (&p, &next) in &dirty {
            by_owner.entry(self.owner_of(p)).or_default().push((p, next));
        }
        for (owner, offsets) in &by_owner {
            match self.stores.get_mut(owner) {
                Some(store) => store.sync(&self.config.source, offsets)?,
                None => warn!(?owner, "no store for synced partitions"),
            }
        }
        self.pending_bytes = 0;
        Ok(dirty.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{Generator, GeneratorConfig};
    use crate::order::EventTime;

    fn sink(dir: &Path, layout: Layout) -> CsvSink {
        CsvSink::new(CsvSinkConfig {
            dir: dir.to_path_buf(),
            layout,
            source: "cluster/topic".into(),
            group: "g".into(),
            lock_wait: Duration::from_secs(1),
        })
        .unwrap()
    }

    fn order_at(text: &str) -> Order {
        let mut order = Generator::new(&GeneratorConfig { seed: Some(1), ..Default::default() }).order_at(0);
        order.timestamp = EventTime::parse(text).unwrap();
        order
    }

    fn rows(dir: &Path, name: &str) -> Vec<String> {
        std::fs::read_to_string(dir.join(name))
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| l.split(',').nth(1).unwrap().to_string())
            .collect()
    }

    #[test]
    fn each_order_goes_to_its_own_local_day_across_midnight_and_when_late() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = sink(dir.path(), Layout::Daily);
        sink.assign(None, &[0]).unwrap();
        let times = [
            "2026-11-26T23:59:59.999+01:00",
            "2026-11-27T00:00:00.000+01:00",
            "2026-11-26T12:00:00.000+01:00", // late
            "2026-07-01T00:30:00.000+02:00", // UTC date is still June 30th
        ];
        for (offset, t) in times.iter().enumerate() {
            assert!(sink.write_order(0, offset as i64, &order_at(t)).unwrap());
        }
        assert_eq!(sink.sync().unwrap(), vec![(0, 4)]);
        assert_eq!(rows(dir.path(), "orders_2026-11-26.csv"), [times[0], times[2]]);
        assert_eq!(rows(dir.path(), "orders_2026-11-27.csv"), [times[1]]);
        assert_eq!(rows(dir.path(), "orders_2026-07-01.csv"), [times[3]]);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(32))]

        /// Orders around midnight, in any order (late ones included), each land in the
        /// file of their own local day, and nowhere else.
        #[test]
        fn rows_land_in_the_file_of_their_local_day(
            offsets_from_midnight in proptest::collection::vec(-7_200_000_000i64..7_200_000_000, 1..200)
        ) {
            let dir = tempfile::tempdir().unwrap();
            let mut sink = sink(dir.path(), Layout::Daily);
            sink.assign(None, &[0]).unwrap();
            let midnight = EventTime::parse("2026-03-29T00:00:00.000+01:00").unwrap().utc_micros;
            let mut generator = Generator::new(&GeneratorConfig { seed: Some(3), ..Default::default() });
            for (offset, delta) in offsets_from_midnight.iter().enumerate() {
                let order = generator.order_at(midnight + delta);
                sink.write_order(0, offset as i64, &order).unwrap();
            }
            sink.sync().unwrap();
            let mut total = 0;
            for file in std::fs::read_dir(dir.path()).unwrap() {
                let name = file.unwrap().file_name().into_string().unwrap();
                let Some(day) = name.strip_prefix("orders_").and_then(|n| n.strip_suffix(".csv")) else { continue };
                for timestamp in rows(dir.path(), &name) {
                    proptest::prop_assert!(timestamp.starts_with(day), "{timestamp} in {name}");
                    total += 1;
                }
            }
            proptest::prop_assert_eq!(total, offsets_from_midnight.len());
        }
    }

    #[test]
    fn redelivered_offsets_are_skipped_and_restarts_resume_from_the_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let order = order_at("2026-11-26T10:00:00.000+01:00");
        let mut first = sink(dir.path(), Layout::Partitioned);
        assert_eq!(first.assign(None, &[3]).unwrap(), vec![(3, None)]);
        first.resume_at(3, 0);
        for offset in 0..3 {
            assert!(first.write_order(3, offset, &order).unwrap());
        }
        assert!(!first.write_order(3, 1, &order).unwrap(), "offset 1 again");
        first.sync().unwrap();
        // A queued row that was never synced is simply not there for the next owner.
        assert!(first.write_order(3, 3, &order).unwrap());
        drop(first);
        let mut second = sink(dir.path(), Layout::Partitioned);
        assert_eq!(second.assign(None, &[3]).unwrap(), vec![(3, Some(3))]);
        second.resume_at(3, 3);
        assert!(!second.write_order(3, 2, &order).unwrap());
        assert!(second.write_order(3, 3, &order).unwrap());
        second.sync().unwrap();
        assert_eq!(rows(dir.path(), "orders_2026-11-26.p3.csv").len(), 4);
    }

    #[test]
    fn offsets_recorded_under_another_topic_id_are_dropped_and_a_checkpoint_without_ids_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let order = order_at("2026-11-26T10:00:00.000+01:00");
        let write_five = |topic_id: Option<&str>, expect_resume: Option<i64>| {
            let mut sink = sink(dir.path(), Layout::Daily);
            assert_eq!(sink.assign(topic_id, &[0]).unwrap(), vec![(0, expect_resume)]);
            let start = expect_resume.unwrap_or(0);
            sink.resume_at(0, start);
            for offset in start..start + 5 {
                assert!(sink.write_order(0, offset, &order).unwrap());
            }
            sink.sync().unwrap();
        };
        // A checkpoint from before ids were recorded is trusted and gains the id.
        write_five(None, None);
        write_five(Some("id-one"), Some(5));
        write_five(Some("id-one"), Some(10));
        // The topic was recreated: its offsets start again at 0.
        write_five(Some("id-two"), None);
        write_five(Some("id-two"), Some(5));
        assert_eq!(rows(dir.path(), "orders_2026-11-26.csv").len(), 25);
    }

    #[test]
    fn dead_letters_keep_where_they_came_from() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = sink(dir.path(), Layout::Daily);
        sink.assign(None, &[1]).unwrap();
        let letter = DeadLetter::new("t", 1, 7, Some(b"k"), b"oops", "malformed".into());
        assert!(sink.write_dead_letter(&letter).unwrap());
        sink.sync().unwrap();
        let text = std::fs::read_to_string(dir.path().join("dead_letters.jsonl")).unwrap();
        let back: DeadLetter = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(back, letter);
    }
}
