//! Where the CSV sink puts things: file names for each layout, and its state folder.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;

/// Folder inside the CSV directory holding checkpoints and locks.
pub const STATE_DIR: &str = ".orderstream";

/// How the daily files are split between consumers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Layout {
    /// `orders_YYYY-MM-DD.csv`, as the prototype wrote: one consumer owns the directory
    /// (an exclusive lock, with a clear error for a second one).
    Daily,
    /// `orders_YYYY-MM-DD.pN.csv`, one file per day and Kafka partition: any number of
    /// consumers of one group can share the directory, each partition's files being
    /// written only by the member that holds that partition.
    Partitioned,
}

/// What one store (a set of files with one checkpoint) covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Owner {
    /// All partitions of the topic ([`Layout::Daily`]).
    Directory,
    /// One partition ([`Layout::Partitioned`]).
    Partition(i32),
}

impl Owner {
    fn suffix(self) -> String {
        match self {
            Owner::Directory => String::new(),
            Owner::Partition(p) => format!(".p{p}"),
        }
    }

    /// The CSV file of `day`.
    pub fn csv_name(self, day: NaiveDate) -> String {
        let partition = match self {
            Owner::Directory => None,
            Owner::Partition(p) => Some(p),
        };
        crate::order::day_file_name(day, partition)
    }

    /// The dead-letter file: one JSON object per rejected message.
    pub fn dead_letter_name(self) -> String {
        format!("dead_letters{}.jsonl", self.suffix())
    }

    /// The checkpoint (two slots, `.a` and `.b`): durable file lengths and Kafka offsets.
    pub fn checkpoint_path(self, dir: &Path) -> PathBuf {
        dir.join(STATE_DIR).join(format!("checkpoint{}", self.suffix()))
    }

    /// The lock that makes this store single-writer.
    pub fn lock_path(self, dir: &Path) -> PathBuf {
        dir.join(STATE_DIR).join(format!("lock{}", self.suffix()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_prototype_and_add_the_partition() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        assert_eq!(Owner::Directory.csv_name(day), "orders_2026-11-26.csv");
        assert_eq!(Owner::Partition(3).csv_name(day), "orders_2026-11-26.p3.csv");
        assert_eq!(Owner::Partition(3).dead_letter_name(), "dead_letters.p3.jsonl");
    }
}
