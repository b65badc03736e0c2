//! The command line without a broker: output format, reproducibility, and clear errors
//! for bad flags, unreachable brokers, unwritable directories and a full disk.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{assert_ok, orderstream, run_within, stderr};
use orderstream::order::decode_json;

#[test]
fn generate_prints_valid_json_lines() {
    let out = run_within(orderstream().args(["generate", "--count", "500"]), Duration::from_secs(30));
    assert_ok(&out);
    let lines: Vec<&[u8]> = out.stdout.split(|b| *b == b'\n').filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 500);
    for line in lines {
        decode_json(line, &orderstream::generate::builtin_catalogue())
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(line)));
    }
}

#[test]
fn env_vars_stand_in_for_flags() {
    let out = run_within(
        orderstream().args(["generate"]).env("ORDERSTREAM_COUNT", "7").env("ORDERSTREAM_RATE", "max"),
        Duration::from_secs(30),
    );
    assert_ok(&out);
    assert_eq!(out.stdout.iter().filter(|b| **b == b'\n').count(), 7);
}

#[test]
fn bad_flag_values_are_named() {
    for (args, needle) in [
        (vec!["generate", "--rate", "fast"], "invalid rate \"fast\""),
        (vec!["generate", "--count", "many"], "--count"),
        (vec!["produce", "--brokers", "x", "--partitions", "0"], "--partitions"),
        (vec!["consume", "--brokers", "x", "--idle-exit", "soon"], "--idle-exit"),
        (vec!["generate", "--instance", "5000"], "--instance"),
        // Checked after parsing, still a bad flag: exit 2, the value as given, nothing started.
        (vec!["generate", "--from", "2026-03-02", "--to", "2026-03-01"], "--to must be after --from"),
        (vec!["generate", "--base-rate", "1e-300"], "--base-rate 1e-300: must be"),
        (vec!["run", "--count", "10", "--http", "localhost"], "expected HOST:PORT"),
        (vec!["run", "--count", "10", "--format", "avro"], "--format avro needs --schema-registry"),
        (vec!["consume", "--brokers", "127.0.0.1:70000"], "\"70000\" is not a port (1 to 65535)"),
        (vec!["run", "--brokers", "a:9092,,b:9092"], "an empty entry"),
        (vec!["produce", "--brokers", "[::1]:0"], "\"0\" is not a port"),
    ] {
        let out = run_within(orderstream().args(&args), Duration::from_secs(30));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).len() < 2_000, "{args:?}: a short message, not {} bytes", stderr(&out).len());
        assert!(!stderr(&out).contains("starting"), "{args:?} started something: {}", stderr(&out));
    }
}

#[test]
fn a_password_variable_that_is_not_utf8_is_named_as_such() {
    use std::os::unix::ffi::OsStrExt;
    let garbled = std::ffi::OsStr::from_bytes(b"hunter\xff2");
    let sasl: Vec<&str> =
        "produce --brokers 127.0.0.1:1 --count 1 --security-protocol sasl_plaintext --sasl-mechanism plain --sasl-username u"
            .split(' ')
            .collect();
    for (args, var) in [
        (&sasl[..], "ORDERSTREAM_SASL_PASSWORD"),
        (
            &["consume", "--brokers", "127.0.0.1:1", "--postgres-url", "postgres://u@127.0.0.1:1/db"][..],
            "ORDERSTREAM_POSTGRES_PASSWORD",
        ),
    ] {
        let out = run_within(orderstream().args(args).env(var, garbled), Duration::from_secs(30));
        assert_eq!(out.status.code(), Some(2), "{var}: {}", stderr(&out));
        assert!(stderr(&out).contains(&format!("{var} is not valid UTF-8 text")), "{var}: {}", stderr(&out));
    }
}

#[test]
fn a_log_filter_that_does_not_parse_is_refused_not_ignored() {
    let out = run_within(
        orderstream().args(["generate", "--count", "1"]).env("ORDERSTREAM_LOG", "info,[unclosed"),
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("ORDERSTREAM_LOG=\"info,[unclosed\" is not a log filter"),
        "{}",
        stderr(&out)
    );
    assert!(out.stdout.is_empty(), "nothing generated");
    for fine in ["", "debug", "warn,orderstream_pipeline=debug"] {
        let out = run_within(
            orderstream().args(["generate", "--count", "1"]).env("ORDERSTREAM_LOG", fine),
            Duration::from_secs(30),
        );
        assert_ok(&out);
    }
}

#[test]
fn files_a_user_names_are_read_only_if_regular_and_of_a_sensible_size() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let big = dir.path().join("big.toml");
    std::fs::write(&big, format!("# {}\n", "x".repeat(2 << 20))).unwrap();
    let fifo = fifo.to_str().unwrap();
    for (args, reason) in [
        (vec!["--config", "/dev/zero", "generate", "--count", "1"], "a device, not a regular file"),
        (vec!["--config", big.to_str().unwrap(), "generate", "--count", "1"], "larger than 1 MiB"),
        (vec!["generate", "--count", "1", "--scenario", "/dev/zero"], "a device, not a regular file"),
        (
            vec![
                "produce",
                "--brokers",
                "127.0.0.1:1",
                "--count",
                "1",
                "--security-protocol",
                "sasl_ssl",
                "--sasl-mechanism",
                "scram-sha-512",
                "--sasl-username",
                "u",
                "--sasl-password-file",
                "/dev/zero",
            ],
            "a device, not a regular file",
        ),
        (
            vec!["run", "--count", "1", "--http", "127.0.0.1:0", "--http-token-file", fifo],
            "a FIFO, not a regular file",
        ),
    ] {
        let started = Instant::now();
        let out = run_within(orderstream().args(&args).current_dir(dir.path()), Duration::from_secs(60));
        let text = stderr(&out);
        assert!(!out.status.success() && text.contains(reason), "{args:?}: {text}");
        assert!(started.elapsed() < Duration::from_secs(20), "{args:?} took {:?}", started.elapsed());
        assert!(!text.contains("panicked") && text.len() < 4_000, "{args:?}: {text}");
    }
}

#[test]
fn unreachable_broker_is_a_clear_error_not_a_hang() {
    for (cmd, extra) in
        [("produce", vec!["--count", "1"]), ("consume", vec![]), ("run", vec!["--count", "1"])]
    {
        let dir = tempfile::tempdir().unwrap();
        let out = run_within(
            orderstream()
                .args([cmd, "--brokers", "127.0.0.1:1", "--connect-timeout", "2s"])
                .args(extra)
                .current_dir(dir.path()),
            Duration::from_secs(30),
        );
        assert_eq!(out.status.code(), Some(1), "{cmd}: {}", stderr(&out));
        let text = stderr(&out);
        assert!(text.contains("cannot reach Kafka at 127.0.0.1:1"), "{cmd}: {text}");
        assert!(!text.contains("panicked"), "{cmd}: {text}");
    }
}

#[test]
fn unwritable_csv_directory_is_named() {
    let out = run_within(
        orderstream().args(["run", "--count", "10", "--csv-dir", "/proc/orderstream-nope"]),
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(1));
    let text = stderr(&out);
    assert!(text.contains("/proc/orderstream-nope"), "{text}");
    assert!(text.lines().last().unwrap_or_default().starts_with("orderstream: error:"), "{text}");
}

/// A full disk stops the pipeline with a clear error; the rows made durable before it
/// stay intact. Needs root to mount a tiny tmpfs (CI and the dev machines run as root).
#[test]
fn full_disk_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let mount = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
        .arg(dir.path())
        .status()
        .expect("run mount");
    assert!(mount.success(), "mounting a 256k tmpfs failed; this test needs root");
    let out = run_within(
        orderstream().args(["run", "--count", "20000", "--csv-dir"]).arg(dir.path()),
        Duration::from_secs(120),
    );
    let _ = Command::new("umount").arg(dir.path()).status();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stderr(&out);
    assert!(text.contains("No space left on device"), "{text}");
    assert!(!text.contains("panicked"), "{text}");
}

/// Kafka client settings are judged by librdkafka before anything starts: a misspelt
/// key, a bad value or SASL without a mechanism is a usage error (exit 2) naming the
/// setting; a password never comes from the command line unwarned, nor shows in errors.
#[test]
fn kafka_settings_are_checked_at_start_and_secrets_stay_hidden() {
    let work = tempfile::tempdir().unwrap();
    let consume = |extra: &[&str]| {
        run_within(
            orderstream()
                .args(["consume", "--brokers", "127.0.0.1:1", "--connect-timeout", "1s", "--csv-dir"])
                .arg(work.path())
                .args(extra),
            Duration::from_secs(30),
        )
    };
    let cases: [(&[&str], &str); 4] = [
        (&["--kafka-option", "socket.keepalive.enabel=true"], "No such configuration property"),
        (&["--kafka-option", "message.max.bytes=-5"], "message.max.bytes"),
        (&["--security-protocol", "sasl_ssl"], "needs --sasl-mechanism"),
        (&["--kafka-option", "group.id=theirs"], "--group"),
    ];
    for (flags, want) in cases {
        let out = consume(flags);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {err}");
        assert!(err.contains(want), "{flags:?}: {err}");
    }
    let out = consume(&["--kafka-option", "not-a-pair"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));

    // A secret passed through is warned about and hidden in the error it causes.
    let out = consume(&[
        "--security-protocol",
        "sasl_plaintext",
        "--sasl-mechanism",
        "plain",
        "--kafka-option",
        "sasl.password=hunter2-secret",
        "--kafka-option",
        "sasl.mechanisms=NOPE",
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("can be read by anyone"), "no warning: {err}");
    assert!(!err.contains("hunter2-secret"), "{err}");

    // An empty password file is named; the embedded broker takes no security settings.
    let empty = work.path().join("empty");
    std::fs::write(&empty, "").unwrap();
    let out = consume(&[
        "--security-protocol",
        "sasl_plaintext",
        "--sasl-mechanism",
        "plain",
        "--sasl-password-file",
        empty.to_str().unwrap(),
    ]);
    assert!(!out.status.success() && stderr(&out).contains("is empty"), "{}", stderr(&out));
    let out = run_within(
        orderstream()
            .args(["run", "--count", "1", "--security-protocol", "ssl", "--csv-dir"])
            .arg(work.path().join("e")),
        Duration::from_secs(30),
    );
    assert!(!out.status.success() && stderr(&out).contains("not to the embedded broker"), "{}", stderr(&out));
}

/// Shell completions come from the same flag definitions, and `--version` names the
/// librdkafka inside (what a bug report needs).
#[test]
fn completions_for_three_shells_and_a_version_with_librdkafka() {
    let version = run_within(orderstream().arg("--version"), Duration::from_secs(10));
    assert_ok(&version);
    let version = String::from_utf8(version.stdout).unwrap();
    assert!(version.starts_with("orderstream ") && version.contains("(librdkafka 2."), "{version}");
    for shell in ["bash", "zsh", "fish"] {
        let out = run_within(orderstream().args(["completions", shell]), Duration::from_secs(10));
        assert_ok(&out);
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(script.contains("sasl-password-file") && script.contains("csv-dir"), "{shell}");
    }
    let bash = run_within(orderstream().args(["completions", "bash"]), Duration::from_secs(10)).stdout;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("orderstream.bash");
    std::fs::write(&file, bash).unwrap();
    let check = Command::new("bash").arg("-n").arg(&file).output().unwrap();
    assert!(check.status.success(), "bash rejects the script: {}", String::from_utf8_lossy(&check.stderr));
}
