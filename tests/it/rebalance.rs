//! Scale-out on real Kafka: two consumers of one group share a directory in the
//! partitioned layout while members join, get killed and leave, forcing rebalances.
//! Every order still lands exactly once.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

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
        .args(["produce", "--brokers", &brokers, "--topic", &topic, "--count", "100000", "--rate", "8000"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let mut a = member(&brokers, &topic, &group, &dir, &log);
    std::thread::sleep(Duration::from_secs(2));
    let mut b = member(&brokers, &topic, &group, &dir, &log); // join: partitions split
    std::thread::sleep(Duration::from_secs(3));
    a.kill().unwrap(); // SIGKILL: b takes all partitions after the session timeout
    a.wait().unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let mut a = member(&brokers, &topic, &group, &dir, &log); // rejoin: split again
    std::thread::sleep(Duration::from_secs(4));
    sigterm(&b); // graceful leave: a takes over
    let b_status = b.wait().unwrap();
    assert!(b_status.success(), "SIGTERM should end a member cleanly");

    assert_ok(&wait_output(producer, Duration::from_secs(240)));
    let a_status = a.wait().unwrap();
    let log_text = std::fs::read_to_string(&log).unwrap();
    eprintln!("consumer log (shown when the test fails):\n{log_text}");
    assert!(a_status.success(), "member failed");

    let files = csv_files(&dir);
    assert!(files.iter().all(|f| f.to_string_lossy().contains(".p")), "{files:?}");
    assert_exactly_once(&topic_ids(&brokers, &topic), &csv_ids(&dir));
    assert!(log_text.matches("partitions assigned").count() >= 4, "expected several rebalances:\n{log_text}");
}
