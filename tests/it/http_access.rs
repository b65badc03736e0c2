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
    for path in [
        "/",
        "/api/summary",
        "/metrics",
        "/api/export?day=2026-01-01",
        "/chart/volume.svg",
        "/api/orders.csv",
        "/api/view.xlsx",
        "/api/panel.csv?chart=region",
        "/orders",
    ] {
        assert_eq!(status(&format!("{base}{path}"), None), 401, "{path} without credentials");
        assert_eq!(status(&format!("{base}{path}"), Some("Bearer wrong")), 401, "{path} with a wrong token");
    }
    assert_eq!(status(&format!("{base}/api/summary"), Some("Bearer t0ken-of-the-test")), 200);
    assert_eq!(status(&format!("{base}/metrics"), Some("Bearer t0ken-of-the-test")), 200);
    assert_eq!(status(&format!("{base}/api/view.xlsx"), Some("Bearer t0ken-of-the-test")), 200);
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

/// An HTTPS agent that trusts only `ca_der`.
fn https_agent(ca_der: &[u8]) -> ureq::Agent {
    use ureq::tls::{Certificate, RootCerts, TlsConfig};
    let roots = RootCerts::Specific(std::sync::Arc::new(vec![Certificate::from_der(ca_der).to_owned()]));
    ureq::Agent::config_builder()
        .tls_config(TlsConfig::builder().root_certs(roots).build())
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into()
}

#[test]
fn with_a_certificate_the_server_speaks_only_https_and_bad_tls_files_are_named() {
    let work = tempfile::tempdir().unwrap();
    let identity = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let (cert, key, token) =
        (work.path().join("cert.pem"), work.path().join("key.pem"), work.path().join("token"));
    std::fs::write(&cert, identity.cert.pem()).unwrap();
    std::fs::write(&key, identity.key_pair.serialize_pem()).unwrap();
    std::fs::write(&token, "t0ken\n").unwrap();
    let (addr, log) = (free_addr(), work.path().join("run.log"));
    let mut run = spawn_logged(
        orderstream()
            .args(["run", "--count", "2000", "--http", &addr, "--http-cert"])
            .arg(&cert)
            .arg("--http-key")
            .arg(&key)
            .arg("--http-token-file")
            .arg(&token)
            .arg("--csv-dir")
            .arg(work.path().join("csv")),
        &log,
    );
    let agent = https_agent(identity.cert.der());
    let base = format!("https://{addr}");
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        if agent.get(&format!("{base}/readyz")).call().is_ok_and(|r| r.status() == 200) {
            break;
        }
        assert!(
            run.try_wait().unwrap().is_none(),
            "the server exited:\n{}",
            std::fs::read_to_string(&log).unwrap()
        );
        assert!(
            std::time::Instant::now() < deadline,
            "no HTTPS answer:\n{}",
            std::fs::read_to_string(&log).unwrap()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let summary =
        agent.get(&format!("{base}/api/summary")).header("authorization", "Bearer t0ken").call().unwrap();
    assert_eq!(summary.status(), 200);
    assert_eq!(
        agent.get(&format!("{base}/api/summary")).call().unwrap().status(),
        401,
        "the token is still needed"
    );
    // Plain HTTP gets no answer, and a client that does not trust the certificate
    // refuses the server.
    let plain: ureq::Agent =
        ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(5))).build().into();
    assert!(plain.get(&format!("http://{addr}/healthz")).call().is_err(), "plain HTTP answered");
    let stranger =
        https_agent(rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap().cert.der());
    let refused = stranger.get(&format!("{base}/healthz")).call().unwrap_err().to_string();
    assert!(refused.to_lowercase().contains("certificate") || refused.contains("UnknownIssuer"), "{refused}");
    sigterm(&run);
    assert!(run.wait().unwrap().success());
    assert!(std::fs::read_to_string(&log).unwrap().contains(&format!("url=https://{addr}/")));

    // A key file that holds no key is named, and nothing starts.
    std::fs::write(&key, "not a key\n").unwrap();
    let out = run_within(
        orderstream()
            .args(["run", "--count", "10", "--http", &free_addr(), "--http-cert"])
            .arg(&cert)
            .arg("--http-key")
            .arg(&key)
            .arg("--csv-dir")
            .arg(work.path().join("csv2")),
        Duration::from_secs(60),
    );
    let err = stderr(&out);
    assert!(!out.status.success() && err.contains("key.pem") && err.contains("private key"), "{err}");
    let out = run_within(
        orderstream().args(["run", "--http", "127.0.0.1:0", "--http-cert"]).arg(&cert),
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(2), "--http-cert without --http-key: {}", stderr(&out));
}
