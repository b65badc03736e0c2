//! The pipeline against the real Apache Kafka broker that `scripts/test` starts.

use std::time::Duration;

use crate::common::*;

#[test]
fn produce_then_consume_writes_every_order_once_and_a_restart_adds_nothing() {
    let (brokers, topic, group) = (brokers(), topic("orders"), unique("group"));
    let dir = tempfile::tempdir().unwrap();
    let out = run_within(
        orderstream().args(["produce", "--brokers", &brokers, "--topic", &topic, "--count", "20000"]),
        Duration::from_secs(120),
    );
    assert_ok(&out);
    let consume = || {
        run_within(
            orderstream()
                .args(["consume", "--brokers", &brokers, "--topic", &topic, "--group", &group])
                .args(["--idle-exit", "3s", "--csv-dir"])
                .arg(dir.path()),
            Duration::from_secs(120),
        )
    };
    assert_ok(&consume());
    let topic_ids = topic_ids(&brokers, &topic);
    assert_eq!(topic_ids.len(), 20000);
    assert_exactly_once(&topic_ids, &csv_ids(dir.path()));

    let sizes = |d: &std::path::Path| -> Vec<u64> {
        csv_files(d).iter().map(|f| std::fs::metadata(f).unwrap().len()).collect()
    };
    let before = sizes(dir.path());
    assert_ok(&consume());
    assert_eq!(sizes(dir.path()), before, "a restart changed the files");
}

#[test]
fn invalid_messages_go_to_the_dead_letter_file_and_topic() {
    let (brokers, topic, group) = (brokers(), topic("dlq"), unique("group"));
    let dir = tempfile::tempdir().unwrap();
    assert_ok(&run_within(
        orderstream().args(["produce", "--brokers", &brokers, "--topic", &topic, "--count", "100"]),
        Duration::from_secs(60),
    ));
    let valid = topic_messages(&brokers, &topic)[0].1.clone();
    let mut broken: serde_json::Value = serde_json::from_slice(&valid).unwrap();
    broken["wartosc_brutto"] = serde_json::json!(1.0);
    let broken = broken.to_string();
    let wrong_type = String::from_utf8(valid).unwrap().replacen("\"ilosc\":", "\"ilosc\":\"x\",\"_\":", 1);
    let bad: [&[u8]; 5] =
        [b"not json", br#"{"id":1}"#, wrong_type.as_bytes(), broken.as_bytes(), &[0xff, 0xfe, 0x00]];
    send_raw(&brokers, &topic, &bad);

    let out = run_within(
        orderstream()
            .args(["consume", "--brokers", &brokers, "--topic", &topic, "--group", &group])
            .args(["--idle-exit", "3s", "--csv-dir"])
            .arg(dir.path()),
        Duration::from_secs(120),
    );
    assert_ok(&out);
    assert_eq!(csv_ids(dir.path()).len(), 100);

    let letters = std::fs::read_to_string(dir.path().join("dead_letters.jsonl")).unwrap();
    let letters: Vec<serde_json::Value> = letters.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(letters.len(), 5);
    for letter in &letters {
        assert_eq!(letter["topic"], topic.as_str());
        assert!(letter["partition"].is_i64() && letter["offset"].is_i64(), "{letter}");
        assert!(!letter["reason"].as_str().unwrap().is_empty(), "{letter}");
    }
    let reasons: Vec<&str> = letters.iter().map(|l| l["reason"].as_str().unwrap()).collect();
    assert!(reasons.iter().any(|r| r.contains("missing field")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("wartosc_brutto")), "{reasons:?}");
    assert!(letters.iter().any(|l| l["payload_hex"] == "fffe00"), "{letters:?}");
    assert_eq!(topic_messages(&brokers, &format!("{topic}.dlq")).len(), 5);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("dead_letters=5"), "{stderr}");
}

#[test]
fn a_second_consumer_on_a_daily_directory_gets_a_clear_error() {
    let (brokers, topic, group) = (brokers(), topic("lock"), unique("group"));
    let dir = tempfile::tempdir().unwrap();
    assert_ok(&run_within(
        orderstream().args(["produce", "--brokers", &brokers, "--topic", &topic, "--count", "10"]),
        Duration::from_secs(60),
    ));
    let args = |cmd: &mut std::process::Command| {
        cmd.args(["consume", "--brokers", &brokers, "--topic", &topic, "--group", &group, "--csv-dir"])
            .arg(dir.path());
    };
    let work = tempfile::tempdir().unwrap();
    let log = work.path().join("first.log");
    let mut first = orderstream();
    args(&mut first);
    let mut first = spawn_logged(first.args(["--idle-exit", "30s"]), &log);
    wait_for_log(&log, "partitions assigned", &mut first);
    let mut second = orderstream();
    args(&mut second);
    let out = run_within(second.args(["--idle-exit", "30s"]), Duration::from_secs(60));
    let _ = first.kill();
    let _ = first.wait();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("held by another orderstream consumer"), "{stderr}");
}

#[test]
fn run_against_real_kafka_ends_when_every_order_is_durable() {
    let (brokers, topic) = (brokers(), topic("run"));
    let dir = tempfile::tempdir().unwrap();
    let out = run_within(
        orderstream()
            .args(["run", "--brokers", &brokers, "--topic", &topic, "--group", &unique("group")])
            .args(["--count", "5000", "--csv-dir"])
            .arg(dir.path()),
        Duration::from_secs(120),
    );
    assert_ok(&out);
    assert_exactly_once(&topic_ids(&brokers, &topic), &csv_ids(dir.path()));
}

#[test]
fn sigterm_makes_produce_flush_and_exit_zero_with_every_order_delivered() {
    let (brokers, topic) = (brokers(), topic("sigterm"));
    let child = spawn_piped(orderstream().args([
        "produce",
        "--brokers",
        &brokers,
        "--topic",
        &topic,
        "--rate",
        "2000",
    ]));
    std::thread::sleep(Duration::from_secs(4));
    sigterm(&child);
    let out = wait_output(child, Duration::from_secs(60));
    assert_ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let field = |name: &str| logged_number(&stderr, "producer finished", name);
    assert!(field("produced") > 1000, "{stderr}");
    assert_eq!(field("delivered"), field("produced"), "{stderr}");
    assert_eq!(field("failed"), 0);
    assert_eq!(topic_ids(&brokers, &topic).len(), field("produced"));
}

#[test]
#[ignore = "needs Apache Kafka: the topic is deleted and created again; scripts/test runs it"]
fn a_recreated_topic_is_read_from_its_start_not_from_the_old_checkpoint() {
    use rdkafka::admin::{AdminClient, AdminOptions};
    use rdkafka::client::DefaultClientContext;

    let (brokers, topic, group) = (real_brokers(), unique("recreated"), unique("group"));
    let dir = tempfile::tempdir().unwrap();
    let produce = |count: &str| {
        assert_ok(&run_within(
            orderstream().args(["produce", "--brokers", &brokers, "--topic", &topic, "--count", count]),
            Duration::from_secs(60),
        ));
    };
    let consume = || {
        let out = run_within(
            orderstream()
                .args(["consume", "--brokers", &brokers, "--topic", &topic, "--group", &group])
                .args(["--idle-exit", "3s", "--no-dlq-topic", "--csv-dir"])
                .arg(dir.path()),
            Duration::from_secs(120),
        );
        assert_ok(&out);
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    produce("300");
    consume();
    let admin: AdminClient<DefaultClientContext> =
        rdkafka::ClientConfig::new().set("bootstrap.servers", &brokers).create().unwrap();
    let deleted = futures_executor::block_on(admin.delete_topics(&[&topic], &AdminOptions::new())).unwrap();
    assert!(deleted.iter().all(Result::is_ok), "{deleted:?}");
    // Deletion is asynchronous: wait until the topic is gone before creating it anew.
    let probe: rdkafka::consumer::BaseConsumer =
        rdkafka::ClientConfig::new().set("bootstrap.servers", &brokers).create().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        use rdkafka::consumer::Consumer;
        let metadata = probe.fetch_metadata(Some(&topic), Duration::from_secs(10)).unwrap();
        if metadata.topics().iter().all(|t| t.error().is_some()) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "topic {topic} was not deleted");
        std::thread::sleep(Duration::from_millis(200));
    }
    // More orders than before: every new partition grows past the old checkpoint, so
    // only the topic's id tells the new topic from the old one.
    produce("900");
    let log = consume();
    assert!(log.contains("deleted and created again"), "{log}");
    assert_eq!(csv_ids(dir.path()).len(), 1200, "{log}");
}
