//! Credentials for an HTTP server that leaves loopback: the API and the page need them,
//! the health probes do not, and an open server on a public address is warned about.

use std::time::Duration;

use crate::common::*;

fn status(url: &str, authorization: Option<&str>) -> u16 {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut request = agent.get(url);
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request.call().unwrap_or_else(|e| panic!("GET {url}: {e}")).status().as_u16()
}

#[test]
fn the_api_asks_for_the_token_or_the_password_and_the_probes_do_not() {
    let work = tempfile::tempdir().unwrap();
    let (token, basic, log) =
        (work.path().join("token"), work.path().join("basic"), work.path().join("run.log"));
    std::fs::write(&token, "t0ken-of-the-test\n").unwrap();
    std::fs::write(&basic, "anna:kowalska\n").unwrap();
    let addr = free_addr();
    let mut run = spawn_logged(
        orderstream()
            .args(["run", "--count", "2000", "--http", &addr, "--http-token-file"])
            .arg(&token)
            .arg("--http-basic-auth-file")
            .arg(&basic)
            .arg("--csv-dir")
            .arg(work.path().join("csv")),
        &log,
    );
    wait_ready(&addr, &mut run);
    let base = format!("http://{addr}");
    assert_eq!(status(&format!("{base}/healthz"), None), 200);
    for path in ["/", "/api/summary", "/metrics", "/api/export?day=2026-01-01", "/chart/volume.svg"] {
        assert_eq!(status(&format!("{base}{path}"), None), 401, "{path} without credentials");
        assert_eq!(status(&format!("{base}{path}"), Some("Bearer wrong")), 401, "{path} with a wrong token");
    }
    assert_eq!(status(&format!("{base}/api/summary"), Some("Bearer t0ken-of-the-test")), 200);
    assert_eq!(status(&format!("{base}/metrics"), Some("Bearer t0ken-of-the-test")), 200);
    // anna:kowalska
    assert_eq!(status(&format!("{base}/"), Some("Basic YW5uYTprb3dhbHNrYQ==")), 200);
    sigterm(&run);
    assert!(run.wait().unwrap().success());
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains("no credentials"), "{text}");
}

#[test]
fn an_open_server_on_every_address_is_warned_about_and_a_bad_credentials_file_is_named() {
    let work = tempfile::tempdir().unwrap();
    let log = work.path().join("run.log");
    let port = free_addr().rsplit(':').next().unwrap().to_string();
    let mut run = spawn_logged(
        orderstream()
            .args(["run", "--count", "100", "--http", &format!("0.0.0.0:{port}"), "--csv-dir"])
            .arg(work.path().join("csv")),
        &log,
    );
    wait_for_log(&log, "listens beyond this machine with no credentials", &mut run);
    sigterm(&run);
    assert!(run.wait().unwrap().success());

    let missing = work.path().join("no-such-token");
    let out = run_within(
        orderstream()
            .args(["run", "--count", "10", "--http", "127.0.0.1:0", "--http-token-file"])
            .arg(&missing)
            .arg("--csv-dir")
            .arg(work.path().join("csv2")),
        Duration::from_secs(60),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&missing.display().to_string()), "{stderr}");
}
