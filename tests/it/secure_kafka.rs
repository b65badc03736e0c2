//! A cluster secured as hosted Kafka is: SASL/SCRAM-SHA-512 over TLS, and mutual TLS, on
//! a broker of the test's own with certificates made by `scripts/kafka-local`. Orders go
//! through each exactly once (mutual TLS set by a config file), and a refused password,
//! an unknown user, an untrusted CA, a wrong host name, a broker certificate that has
//! expired or a missing client certificate each end the command within 30 s with one
//! line naming the cause.

use std::process::Output;
use std::time::{Duration, Instant};

use crate::common::*;

/// The flags for SCRAM over TLS as `user` with the password in `password_file`,
/// trusting `ca`.
fn scram(user: &str, password_file: &str, ca: &str) -> Vec<String> {
    ["--security-protocol", "sasl_ssl", "--sasl-mechanism", "scram-sha-512", "--sasl-username", user]
        .into_iter()
        .map(String::from)
        .chain(["--sasl-password-file".into(), password_file.into(), "--ssl-ca-location".into(), ca.into()])
        .chain(std::iter::once("--kafka-option=socket.keepalive.enable=true".to_string()))
        .collect()
}

/// The flags for mutual TLS.
fn mtls(kafka: &PrivateKafka) -> Vec<String> {
    vec![
        "--security-protocol".into(),
        "ssl".into(),
        "--ssl-ca-location".into(),
        kafka.secure("ca"),
        "--ssl-certificate-location".into(),
        kafka.secure("client_certificate"),
        "--ssl-key-location".into(),
        kafka.secure("client_key"),
    ]
}

fn exactly_once(dir: &std::path::Path, count: usize) {
    let ids = csv_ids(dir);
    assert_eq!(ids.len(), count, "orders in the CSV");
    assert!(ids.values().all(|n| *n == 1), "an order written twice");
}

#[test]
#[ignore = "needs Apache Kafka: a secured broker of its own; scripts/test runs it"]
fn through_sasl_ssl_and_mutual_tls_every_order_lands_once_and_refusals_name_their_cause() {
    let _installed = real_brokers();
    let kafka = PrivateKafka::start_secure();
    let work = tempfile::tempdir().unwrap();
    let (sasl, ca) = (kafka.secure("sasl_ssl"), kafka.secure("ca"));
    let password = kafka.secure("password_file");

    let through = |brokers: &str, flags: &[String], name: &str| {
        let dir = work.path().join(name);
        let out = run_within(
            orderstream()
                .args([
                    "run",
                    "--brokers",
                    brokers,
                    "--topic",
                    &unique(name),
                    "--count",
                    "20000",
                    "--csv-dir",
                ])
                .arg(&dir)
                .args(flags),
            Duration::from_secs(180),
        );
        assert_ok(&out);
        exactly_once(&dir, 20_000);
    };
    through(&sasl, &scram("alice", &password, &ca), "scram");
    // Mutual TLS from a config file, as a deployment would set it.
    let config = work.path().join("mtls.toml");
    let settings = mtls(&kafka)
        .chunks(2)
        .map(|pair| format!("{} = {:?}\n", pair[0].trim_start_matches("--"), pair[1]))
        .collect::<String>();
    std::fs::write(&config, settings).unwrap();
    through(&kafka.secure("mtls"), &["--config".into(), config.to_string_lossy().into_owned()], "mtls");

    // Every refusal: exit 1 within 30 s, one error line that names the cause, and the
    // password in it nowhere.
    let wrong = work.path().join("wrong-password");
    std::fs::write(&wrong, "not-alices-password-4711\n").unwrap();
    let wrong = wrong.to_string_lossy().into_owned();
    let localhost = sasl.replace("127.0.0.1", "localhost");
    let expired = kafka.secure("expired");
    let cases: [(&str, &str, Vec<String>, &str); 6] = [
        ("a wrong password", &sasl, scram("alice", &wrong, &ca), "invalid credentials"),
        ("an unknown user", &sasl, scram("mallory", &password, &ca), "invalid credentials"),
        (
            "an untrusted CA",
            &sasl,
            scram("alice", &password, &kafka.secure("other_ca")),
            "the broker's certificate is not signed by a CA in",
        ),
        (
            "a wrong host name",
            &localhost,
            scram("alice", &password, &ca),
            "the broker's certificate is not for the host name localhost (it names 127.0.0.1)",
        ),
        (
            "an expired certificate",
            &expired,
            mtls(&kafka)[..4].to_vec(),
            "the broker's certificate has expired (valid until 2020-02-01 00:00 UTC)",
        ),
        ("no client certificate", &kafka.secure("mtls"), mtls(&kafka)[..4].to_vec(), "bad certificate"),
    ];
    for (what, brokers, flags, cause) in &cases {
        for command in ["produce", "consume"] {
            let started = Instant::now();
            let mut cmd = orderstream();
            cmd.args([command, "--brokers", brokers, "--topic", "secured"]).args(flags);
            if command == "produce" {
                cmd.args(["--count", "10"]);
            } else {
                cmd.arg("--csv-dir").arg(work.path().join("refused"));
            }
            let out: Output = run_within(&mut cmd, Duration::from_secs(60));
            let took = started.elapsed();
            let err = stderr(&out);
            let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("orderstream: error:")).collect();
            assert_eq!(out.status.code(), Some(1), "{command} with {what}: {err}");
            assert!(took < Duration::from_secs(30), "{command} with {what} took {took:?}");
            assert_eq!(errors.len(), 1, "{command} with {what}: {err}");
            assert!(errors[0].contains(cause), "{command} with {what}: {}", errors[0]);
            assert!(!err.contains("not-alices-password-4711") && !err.contains("alice-secret"), "{err}");
        }
    }
}
