//! `orderstream dashboard` on real Kafka: it rebuilds the analytics from the earliest
//! offset (on every start), skips invalid messages, and keeps its memory flat while many
//! live-event clients connect and never read.

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use crate::common::{
    assert_ok, brokers, free_addr, orderstream, rss_kb, run_within, send_raw, sigterm, spawn_logged, topic,
    topic_messages, unique, wait_ready,
};

fn start(brokers: &str, topic: &str, group: &str, log: &Path) -> (Child, String) {
    let _ = std::fs::remove_file(log);
    let addr = free_addr();
    let mut child = spawn_logged(
        orderstream().args([
            "dashboard",
            "--brokers",
            brokers,
            "--topic",
            topic,
            "--group",
            group,
            "--http",
            &addr,
            // 300 stream clients and the test's own requests at once.
            "--http-max-connections",
            "1024",
        ]),
        log,
    );
    wait_ready(&addr, &mut child);
    (child, addr)
}

fn summary(addr: &str) -> serde_json::Value {
    let body =
        ureq::get(&format!("http://{addr}/api/summary")).call().unwrap().body_mut().read_to_string().unwrap();
    serde_json::from_str(&body).unwrap()
}

fn wait_for_orders(addr: &str, n: u64) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let s = summary(addr);
        if s["orders"].as_u64() == Some(n) || Instant::now() > deadline {
            return s;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "half a minute or more in a debug build; scripts/test runs it optimised"
)]
fn the_dashboard_rebuilds_from_the_topic_and_survives_idle_stream_clients() {
    let (brokers, topic, group) = (brokers(), topic("dash"), unique("dash-group"));
    let produce = |n: &str| {
        assert_ok(&run_within(
            orderstream().args(["produce", "--brokers", &brokers, "--topic", &topic, "--count", n]),
            Duration::from_secs(120),
        ));
    };
    produce("5000");
    send_raw(&brokers, &topic, &[b"not json", b"{\"id\":1}"]);
    let gross: i64 = topic_messages(&brokers, &topic)
        .iter()
        .filter_map(|(_, payload)| {
            orderstream::order::decode_json(payload, &orderstream::generate::builtin_catalogue()).ok()
        })
        .map(|o| o.wartosc_brutto)
        .sum();

    let work = tempfile::tempdir().unwrap();
    let log = work.path().join("dashboard.log");
    for round in 1..=2 {
        // No commits: the second start rebuilds the same state from the earliest offset.
        let (child, addr) = start(&brokers, &topic, &group, &log);
        let s = wait_for_orders(&addr, 5000);
        assert_eq!(s["orders"], 5000, "round {round}: {s}");
        assert_eq!(s["gross_value_grosz"], gross, "round {round}");
        let metrics =
            ureq::get(&format!("http://{addr}/metrics")).call().unwrap().body_mut().read_to_string().unwrap();
        assert!(metrics.contains("orderstream_dead_letters_total 2"), "{metrics}");
        if round == 2 {
            idle_stream_clients_keep_memory_flat(&child, &addr, &produce);
        }
        sigterm(&child);
        let mut child = child;
        assert!(child.wait().unwrap().success(), "{}", std::fs::read_to_string(&log).unwrap());
    }
}

fn idle_stream_clients_keep_memory_flat(child: &Child, addr: &str, produce: &dyn Fn(&str)) {
    let before = rss_kb(child.id());
    // 300 clients that subscribe and never read: each would queue every snapshot if the
    // server buffered per client.
    let clients: Vec<TcpStream> = (0..300)
        .map(|_| {
            let mut s = TcpStream::connect(addr).unwrap();
            write!(s, "GET /api/live HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
            s
        })
        .collect();
    produce("30000");
    let s = wait_for_orders(addr, 35000);
    assert_eq!(s["orders"], 35000);
    std::thread::sleep(Duration::from_secs(2)); // a few more snapshots to the stalled clients
    let after = rss_kb(child.id());
    eprintln!(
        "dashboard RSS with 300 idle stream clients: {before} kB before, {after} kB after 30,000 more orders"
    );
    assert!(after < before + 64 * 1024, "RSS grew from {before} kB to {after} kB with 300 idle clients");
    assert_eq!(ureq::get(&format!("http://{addr}/healthz")).call().unwrap().status().as_u16(), 200);
    drop(clients);
}
