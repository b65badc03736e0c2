//! Scale-out on real Kafka: two consumers of one group share a directory in the
//! partitioned layout while members join, get killed and leave, forcing rebalances.
//! Every order still lands exactly once.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

fn member(brokers: &str, topic: &str, group: &str, dir: &Path, log: &Path) -> Child {
    spawn_logged(
        orderstream()
            .args(["consume", "--brokers", brokers, "--topic", topic, "--group", group])
            .args([
                "--csv-layout",
                "partitioned",
                "--idle-exit",
                "10s",
                "--session-timeout",
                "6s",
                "--csv-dir",
            ])
            .arg(dir),
        log,
    )
}

#[test]
#[ignore = "needs Apache Kafka: 40 MB of orders, more than the mock cluster keeps per partition; scripts/test runs it"]
fn two_members_with_rebalances_write_every_order_once() {
    let (brokers, topic, group) = (real_brokers(), topic("scale"), unique("group"));
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("csv");
    let log = work.path().join("consumers.log");
    let producer = orderstream()
        .args(["produce", "--brokers", &brokers, "--topic", &topic, "--count", "100000", "--rate", "5000"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // Each step waits for the group to settle (a count of "partitions assigned"
    // lines across both logs) rather than sleeping: on a loaded machine a fixed
    // sleep let the dead member's session outlast the next step.
    let mut a = member(&brokers, &topic, &group, &dir, &log);
    wait_for_assignments(&log, 1); // a alone owns every partition
    let mut b = member(&brokers, &topic, &group, &dir, &log);
    wait_for_assignments(&log, 3); // join: partitions split
    a.kill().unwrap(); // SIGKILL: b takes all partitions after the session timeout
    a.wait().unwrap();
    wait_for_assignments(&log, 4);
    let mut a = member(&brokers, &topic, &group, &dir, &log);
    wait_for_assignments(&log, 6); // rejoin: split again
    sigterm(&b); // graceful leave: a takes over
    let b_status = b.wait().unwrap();
    assert!(b_status.success(), "SIGTERM should end a member cleanly");
    wait_for_assignments(&log, 7);

    assert_ok(&wait_output(producer, Duration::from_secs(240)));
    let a_status = a.wait().unwrap();
    let log_text = std::fs::read_to_string(&log).unwrap();
    eprintln!("consumer log (shown when the test fails):\n{log_text}");
    assert!(a_status.success(), "member failed");

    let files = csv_files(&dir);
    assert!(files.iter().all(|f| f.to_string_lossy().contains(".p")), "{files:?}");
    assert_exactly_once(&topic_ids(&brokers, &topic), &csv_ids(&dir));
}

/// Waits until the members have logged `count` assignments between them, so each
/// step of the scenario starts from a settled group.
fn wait_for_assignments(log: &Path, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.matches("partitions assigned").count() >= count {
            return;
        }
        assert!(Instant::now() < deadline, "expected {count} assignments by now:\n{text}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
