//! `run` on the embedded broker: no external service, and a second run in the same
//! directory appends without overwriting or colliding ids.

use std::time::Duration;

use crate::common::{
    assert_ok, csv_files, csv_ids, logged_number, orderstream, run_within, sigterm, spawn_piped, wait_output,
};

#[test]
fn two_runs_in_one_directory_append_unique_orders() {
    let dir = tempfile::tempdir().unwrap();
    for round in 1..=2u64 {
        let out = run_within(
            orderstream().args(["run", "--count", "3000", "--csv-dir"]).arg(dir.path()),
            Duration::from_secs(120),
        );
        assert_ok(&out);
        let ids = csv_ids(dir.path());
        assert_eq!(ids.len() as u64, 3000 * round, "round {round}");
        assert!(ids.values().all(|n| *n == 1), "an id was written twice");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("pipeline finished"), "{stderr}");
    }
}

#[test]
fn partitioned_layout_writes_one_file_per_partition_and_day() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_within(
        orderstream()
            .args(["run", "--count", "2000", "--partitions", "3", "--csv-layout", "partitioned", "--csv-dir"])
            .arg(dir.path()),
        Duration::from_secs(120),
    );
    assert_ok(&out);
    let files = csv_files(dir.path());
    assert!(!files.is_empty() && files.len().is_multiple_of(3), "{files:?}");
    assert!(files.iter().all(|f| f.to_string_lossy().contains(".p")), "{files:?}");
    assert_eq!(csv_ids(dir.path()).len(), 2000);
}

#[test]
fn sigterm_stops_run_cleanly_after_writing_every_delivered_order() {
    let dir = tempfile::tempdir().unwrap();
    let child = spawn_piped(orderstream().args(["run", "--rate", "500", "--csv-dir"]).arg(dir.path()));
    std::thread::sleep(Duration::from_secs(5));
    sigterm(&child);
    let out = wait_output(child, Duration::from_secs(60));
    assert_ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let produced = logged_number(&stderr, "pipeline finished", "produced");
    assert!(produced > 100, "{stderr}");
    assert_eq!(csv_ids(dir.path()).len(), produced);
    assert!(stderr.contains(&format!("{}", dir.path().display())), "says where the output went");
}
