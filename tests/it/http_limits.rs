//! The HTTP server under hostile clients while orders flow: idle connections, heads sent
//! a line at a time, streams and exports never read. The pipeline must not notice: every
//! order written once, the server's memory bounded, and a fresh client served again once
//! the timeouts have cleared the idle ones.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::common::*;

/// Connects, giving up after a short wait: beyond the server's limit and the kernel's
/// queue, a connection attempt may simply not be answered.
fn connect(addr: &SocketAddr) -> Option<TcpStream> {
    TcpStream::connect_timeout(addr, Duration::from_millis(300)).ok()
}

#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "half a minute or more in a debug build; scripts/test runs it optimised"
)]
fn idle_slow_and_stalled_clients_cannot_hurt_the_pipeline() {
    let work = tempfile::tempdir().unwrap();
    let (csv, log, addr) = (work.path().join("csv"), work.path().join("run.log"), free_addr());
    let mut run = spawn_logged(
        orderstream()
            .args(["run", "--count", "60000", "--rate", "3000", "--http", &addr])
            .args([
                "--http-max-connections",
                "64",
                "--http-header-timeout",
                "2s",
                "--http-write-timeout",
                "3s",
            ])
            .arg("--csv-dir")
            .arg(&csv),
        &log,
    );
    wait_ready(&addr, &mut run);
    let socket: SocketAddr = addr.parse().unwrap();

    // A thousand connections that send nothing.
    let idle: Vec<TcpStream> = (0..1000).filter_map(|_| connect(&socket)).collect();
    // Fifty that send a head a line at a time, a line a second.
    let slow: Vec<TcpStream> = (0..50)
        .filter_map(|_| connect(&socket))
        .filter_map(|mut s| s.write_all(b"GET /api/summary HTTP/1.1\r\n").ok().map(|()| s))
        .collect();
    // A hundred that ask for the live stream or an export and never read.
    let day = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let stalled: Vec<TcpStream> = (0..100)
        .filter_map(|i| {
            let mut s = connect(&socket)?;
            let path = if i % 2 == 0 { "/api/live".to_string() } else { format!("/api/export?day={day}") };
            s.write_all(format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes()).ok()?;
            Some(s)
        })
        .collect();
    eprintln!("{} idle, {} slow and {} stalled clients connected", idle.len(), slow.len(), stalled.len());
    for round in 0..5 {
        for mut s in &slow {
            let _ = write!(s, "X-Round-{round}: 1\r\n");
        }
        std::thread::sleep(Duration::from_secs(1));
    }

    // The pipeline ends as if nobody had called.
    wait_for_log(&log, "still serving the HTTP API", &mut run);
    let ids = csv_ids(&csv);
    assert_eq!(ids.len(), 60_000);
    assert!(ids.values().all(|n| *n == 1), "an order was written twice");

    // The timeouts closed the idle connections: one of them reads the end of its stream.
    let mut first = idle.into_iter().next().expect("at least one idle connection was accepted");
    first.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut buf = [0u8; 64];
    match first.read(&mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("an idle connection stayed open: {other:?}"),
    }

    // A fresh client is served again.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let agent: ureq::Agent =
            ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(5))).build().into();
        if agent.get(&format!("http://{addr}/healthz")).call().is_ok_and(|r| r.status() == 200) {
            break;
        }
        assert!(Instant::now() < deadline, "the server did not serve a new client within a minute");
    }
    let rss = rss_kb(run.id());
    eprintln!("server RSS after 1,150 hostile clients: {rss} kB");
    assert!(rss < 400 * 1024, "RSS {rss} kB");
    drop((slow, stalled));
    sigterm(&run);
    assert!(run.wait().unwrap().success(), "{}", std::fs::read_to_string(&log).unwrap());
}
