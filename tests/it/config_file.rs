//! Config files: any flag in one TOML file, under the environment and the flags; every
//! mistake named by file, line and key with exit 2; `config check` and `config show`.

use std::path::Path;
use std::time::Duration;

use crate::common::{assert_ok, csv_ids, orderstream, run_within, stderr};

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

fn lines(out: &std::process::Output) -> usize {
    out.stdout.iter().filter(|b| **b == b'\n').count()
}

#[test]
fn a_config_file_sets_flags_and_the_environment_and_the_command_line_win_over_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "orderstream.toml",
        "progress = \"1s\"\n\n[generate]\ncount = 11\nseed = 5\nfrom = 2026-01-02\nto = 2026-01-02\n",
    );
    let generate = |env: Option<&str>, flag: Option<&str>| {
        let mut cmd = orderstream();
        cmd.args(["--config", &file, "generate"]);
        if let Some(count) = env {
            cmd.env("ORDERSTREAM_COUNT", count);
        }
        if let Some(count) = flag {
            cmd.args(["--count", count]);
        }
        let out = run_within(&mut cmd, Duration::from_secs(30));
        assert_ok(&out);
        out
    };
    assert_eq!(lines(&generate(None, None)), 11, "the file's count");
    assert_eq!(lines(&generate(Some("4"), None)), 4, "the environment over the file");
    assert_eq!(lines(&generate(Some("4"), Some("2"))), 2, "the flag over both");
    // The file's seed and backfill hold: two runs print the same orders of that day.
    let (first, second) = (generate(None, None).stdout, generate(None, None).stdout);
    assert!(first == second, "a seeded backfill differs between runs");
    assert!(String::from_utf8_lossy(&first).contains("\"timestamp\":\"2026-01-02T"));

    // ORDERSTREAM_CONFIG names the file as --config does; `config show` says where each
    // setting comes from.
    let out = run_within(
        orderstream()
            .env("ORDERSTREAM_CONFIG", &file)
            .env("ORDERSTREAM_SEED", "9")
            .args(["config", "show", "generate", "--rate", "100"]),
        Duration::from_secs(30),
    );
    assert_ok(&out);
    let shown = String::from_utf8_lossy(&out.stdout).into_owned();
    for expected in [
        format!("progress = \"1s\"  # file {file}, line 1"),
        format!("count = \"11\"  # file {file}, line 4"),
        "seed = \"9\"  # environment ORDERSTREAM_SEED".to_string(),
        "rate = \"100\"  # flag".to_string(),
        "shutdown-timeout = \"30s\"  # default".to_string(),
        "[generate]".to_string(),
    ] {
        assert!(shown.contains(&expected), "{expected:?} in:\n{shown}");
    }
}

#[test]
fn the_pipeline_runs_from_a_config_file_alone() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("csv");
    let file = write(
        dir.path(),
        "pipeline.toml",
        &format!("partitions = 3\n[run]\ncount = 2000\nseed = 1\ncsv-dir = {:?}\n", csv.to_string_lossy()),
    );
    let out = run_within(orderstream().args(["--config", &file, "run"]), Duration::from_secs(120));
    assert_ok(&out);
    let ids = csv_ids(&csv);
    assert_eq!(ids.len(), 2000);
    assert!(ids.values().all(|n| *n == 1));
}

#[test]
fn every_mistake_in_a_config_file_names_the_file_the_line_and_the_key_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "typo.toml",
            "brokers = \"x\"\n[consume]\nsync-intervall = \"1s\"\n",
            "line 3: sync-intervall: not a flag of `orderstream consume`; did you mean `sync-interval`?",
        ),
        (
            "section.toml",
            "[comsume]\n",
            "line 1: [comsume]: not a command with settings; did you mean `consume`?",
        ),
        (
            "value.toml",
            "# absurd\nwindow = \"1000y\"\n",
            "line 2: window: invalid value '1000y' for '--window <WINDOW>'",
        ),
        ("syntax.toml", "count = 5\ncount = 6\n", "line 2"),
        (
            "secret.toml",
            "kafka-option = [\"sasl.password=hunter2\"]\n",
            "line 1: kafka-option: sasl.password: a secret is not written into a config file",
        ),
        (
            "option.toml",
            "kafka-option = [\"socket.keepalive.enable=maybe\"]\n",
            "line 1: kafka-option: Kafka client setting socket.keepalive.enable",
        ),
        (
            "missing.toml",
            "[consume]\nssl-ca-location = \"/nonexistent/ca.pem\"\n",
            "line 2: ssl-ca-location: cannot read /nonexistent/ca.pem",
        ),
    ];
    for (name, text, expected) in cases {
        let file = write(dir.path(), name, text);
        let check = run_within(orderstream().args(["config", "check", &file]), Duration::from_secs(30));
        let err = stderr(&check);
        assert_eq!(check.status.code(), Some(2), "config check {name}: {err}");
        assert!(
            err.contains(&format!("config file {file}")) && err.contains(expected),
            "config check {name}: {err}"
        );
        assert!(!err.contains("hunter2"), "{err}");
        // The same file given to a command: nothing starts, the same line (the values a
        // command checks only when it runs are left to `config check`).
        if !["option.toml", "missing.toml"].contains(&name) {
            let run = run_within(
                orderstream().args(["--config", &file, "generate", "--count", "1"]),
                Duration::from_secs(30),
            );
            let err = stderr(&run);
            assert_eq!(run.status.code(), Some(2), "{name}: {err}");
            assert!(err.contains(expected) && run.stdout.is_empty(), "{name}: {err}");
        }
    }
    let missing = dir.path().join("absent.toml");
    let out =
        run_within(orderstream().arg("run").env("ORDERSTREAM_CONFIG", &missing), Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&format!("cannot read config file {}", missing.display())),
        "{}",
        stderr(&out)
    );

    let good = write(
        dir.path(),
        "good.toml",
        "brokers = \"k:9092\"\n[consume]\ngroup = \"g\"\n[dashboard]\nhttp = \"127.0.0.1:0\"\n",
    );
    let out = run_within(orderstream().args(["config", "check", &good]), Duration::from_secs(30));
    assert_ok(&out);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("{good}: valid; 3 settings: 1 at the top, 1 in [consume], 1 in [dashboard]")
    );
}

#[test]
fn config_show_masks_secrets() {
    let out = run_within(
        orderstream().env("ORDERSTREAM_SASL_PASSWORD", "hunter2").args([
            "config",
            "show",
            "consume",
            "--kafka-option",
            "sasl.oauthbearer.client.secret=hunter2",
            "--kafka-option",
            "socket.keepalive.enable=true",
        ]),
        Duration::from_secs(30),
    );
    assert_ok(&out);
    let shown = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!shown.contains("hunter2") && !stderr(&out).contains("hunter2"), "{shown}");
    assert!(
        shown.contains("kafka-option = [\"sasl.oauthbearer.client.secret=********\", \"socket.keepalive.enable=true\"]  # flag"),
        "{shown}"
    );
    assert!(
        shown.contains("# the SASL password: ******** (environment ORDERSTREAM_SASL_PASSWORD)"),
        "{shown}"
    );

    // Secrets inside values: passwords in URLs, an inline private key, an OAuth config.
    let out = run_within(
        orderstream().args([
            "config",
            "show",
            "run",
            "--postgres-url",
            "postgres://app:hunter2@db.example:5432/shop",
            "--schema-registry",
            "https://key:hunter2@registry.example/apis",
            "--kafka-option",
            "ssl.key.pem=-----BEGIN PRIVATE KEY-----hunter2",
            "--kafka-option",
            "sasl.oauthbearer.config=clientSecret=hunter2",
        ]),
        Duration::from_secs(30),
    );
    assert_ok(&out);
    let shown = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!shown.contains("hunter2") && !stderr(&out).contains("hunter2"), "{shown}");
    assert!(shown.contains("postgres://app:********@db.example:5432/shop"), "{shown}");
    assert!(shown.contains("https://key:********@registry.example/apis"), "{shown}");
    assert!(
        shown.contains("ssl.key.pem=********") && shown.contains("sasl.oauthbearer.config=********"),
        "{shown}"
    );
}
