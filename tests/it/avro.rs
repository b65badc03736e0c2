//! `--format avro` against a real Schema Registry (Apicurio's Confluent API, which
//! `scripts/test` builds and starts) and Confluent's Python client as the independent
//! other end: the same orders give the same CSV rows in either format, Python reads what
//! we write and we read what Python writes (schemas v1 and v2 mixed), an incompatible
//! schema stops the producer before it sends anything, bad messages are dead letters,
//! and a registry that is down or stalled makes readers stop without skipping a message.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::common::*;

/// The environment variable naming the registry's base URL.
const REGISTRY_ENV: &str = "ORDERSTREAM_TEST_SCHEMA_REGISTRY";
/// The environment variable naming the Python that has confluent-kafka and fastavro.
const PYTHON_ENV: &str = "ORDERSTREAM_TEST_PYTHON";

fn registry() -> String {
    std::env::var(REGISTRY_ENV).unwrap_or_else(|_| {
        panic!("{REGISTRY_ENV} is not set: run this test with scripts/test, which starts a registry")
    })
}

fn python(args: &[&str]) -> Output {
    let python = std::env::var(PYTHON_ENV).unwrap_or_else(|_| {
        panic!("{PYTHON_ENV} is not set: run this test with scripts/test, which installs the client")
    });
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/avro_interop.py");
    let out = run_within(Command::new(python).arg(script).args(args), Duration::from_secs(300));
    assert!(out.status.success(), "python {args:?}: {}", stderr(&out));
    out
}

fn schema_file(version: u8) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("schemas/order-v{version}.avsc")).display().to_string()
}

/// `orderstream <command>` on `topic` in Avro through the test registry.
fn avro(command: &str, brokers: &str, topic: &str) -> Command {
    let mut cmd = orderstream();
    cmd.args([
        command,
        "--brokers",
        brokers,
        "--topic",
        topic,
        "--format",
        "avro",
        "--schema-registry",
        &registry(),
    ]);
    cmd
}

fn consume(mut cmd: Command, group: &str, dir: &Path) -> Output {
    run_within(
        cmd.args(["--group", group, "--idle-exit", "3s", "--csv-dir"]).arg(dir),
        Duration::from_secs(300),
    )
}

/// Every CSV row of a directory (headers dropped), sorted: two topics of the same orders
/// interleave their partitions differently.
fn sorted_rows(dir: &Path) -> Vec<String> {
    let mut rows: Vec<String> = csv_files(dir)
        .iter()
        .flat_map(|file| {
            std::fs::read_to_string(file).unwrap().lines().skip(1).map(str::to_string).collect::<Vec<_>>()
        })
        .collect();
    rows.sort_unstable();
    rows
}

fn dead_letters(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("dead_letters.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A request to the registry as any client would make it.
fn registry_call(method: &str, path: &str, body: &serde_json::Value) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let url = format!("{}{path}", registry());
    let mut response = match method {
        "PUT" => agent
            .put(&url)
            .header("content-type", "application/vnd.schemaregistry.v1+json")
            .send(body.to_string()),
        _ => agent
            .post(&url)
            .header("content-type", "application/vnd.schemaregistry.v1+json")
            .send(body.to_string()),
    }
    .unwrap();
    (response.status().as_u16(), response.body_mut().read_to_string().unwrap())
}

#[test]
#[ignore = "needs Apache Kafka, the schema registry and Confluent's Python client, which scripts/test starts"]
fn the_same_orders_in_json_and_in_avro_give_the_same_csv_rows() {
    let brokers = real_brokers();
    let (json_topic, avro_topic) = (topic("fmt-json"), topic("fmt-avro"));
    // Across the end of summer time (25 October 2026): offsets +02:00 and +01:00.
    let backfill = ["--seed", "21", "--from", "2026-10-24", "--to", "2026-10-26", "--base-rate", "12"];
    let mut json = orderstream();
    json.args(["produce", "--brokers", &brokers, "--topic", &json_topic]).args(backfill);
    assert_ok(&run_within(&mut json, Duration::from_secs(300)));
    assert_ok(&run_within(avro("produce", &brokers, &avro_topic).args(backfill), Duration::from_secs(300)));

    let (json_dir, avro_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut read_json = orderstream();
    read_json.args(["consume", "--brokers", &brokers, "--topic", &json_topic]);
    assert_ok(&consume(read_json, &unique("g"), json_dir.path()));
    assert_ok(&consume(avro("consume", &brokers, &avro_topic), &unique("g"), avro_dir.path()));
    let rows = sorted_rows(json_dir.path());
    assert!(rows.len() > 20_000, "{} rows", rows.len());
    assert!(rows.iter().any(|r| r.contains("+02:00,")) && rows.iter().any(|r| r.contains("+01:00,")));
    assert!(rows == sorted_rows(avro_dir.path()), "the Avro topic's CSV rows differ from the JSON topic's");
    let days = |d: &Path| csv_files(d).iter().map(|f| f.file_name().unwrap().to_owned()).collect::<Vec<_>>();
    assert_eq!(days(json_dir.path()), days(avro_dir.path()), "the same daily files");
    assert!(days(avro_dir.path()).len() >= 3, "a backfill over days: {:?}", days(avro_dir.path()));

    let size = |topic: &str| {
        let messages = topic_messages(&brokers, topic);
        messages.iter().map(|(_, p)| p.len()).sum::<usize>() as f64 / messages.len() as f64
    };
    let (json_size, avro_size) = (size(&json_topic), size(&avro_topic));
    println!("FIGURE message size: JSON {json_size:.0} bytes, Avro {avro_size:.0} bytes per order");
    assert!(avro_size < json_size * 0.6, "Avro {avro_size} bytes vs JSON {json_size}");
}

#[test]
#[ignore = "needs Apache Kafka, the schema registry and Confluent's Python client, which scripts/test starts"]
fn confluents_python_deserializer_reads_every_order_we_write_in_v1_and_v2() {
    let (brokers, topic) = (real_brokers(), topic("py-read"));
    for (version, seed) in [("1", "1"), ("2", "2")] {
        let out = run_within(
            avro("produce", &brokers, &topic).args([
                "--count",
                "25000",
                "--seed",
                seed,
                "--schema-version",
                version,
            ]),
            Duration::from_secs(300),
        );
        assert_ok(&out);
        assert!(stderr(&out).contains("order schema registered"), "{}", stderr(&out));
    }
    let dir = tempfile::tempdir().unwrap();
    assert_ok(&consume(avro("consume", &brokers, &topic), &unique("g"), dir.path()));
    let ours = sorted_rows(dir.path());
    assert_eq!(ours.len(), 50_000, "our consumer reads v1 and v2 messages of one topic");

    let lines = dir.path().join("python.jsonl");
    python(&["read", &brokers, &registry(), &topic, "50000", lines.to_str().unwrap()]);
    let text = std::fs::read_to_string(&lines).unwrap();
    let (mut v1, mut v2) = (0, 0);
    let mut theirs: Vec<String> = text
        .lines()
        .map(|line| {
            let r: serde_json::Value = serde_json::from_str(line).unwrap();
            if r.get("currency").is_some() {
                assert_eq!((r["currency"].as_str(), r["discount"].as_str()), (Some("PLN"), Some("0.00")));
                v2 += 1;
            } else {
                v1 += 1;
            }
            let time = orderstream::order::EventTime {
                utc_micros: r["timestamp"].as_i64().unwrap(),
                offset_secs: r["utc_offset_seconds"].as_i64().unwrap() as i32,
            };
            let mut iso = Vec::new();
            time.write_iso8601(&mut iso);
            let text = |k: &str| r[k].as_str().unwrap_or("").to_string();
            [
                r["id"].as_u64().unwrap().to_string(),
                String::from_utf8(iso).unwrap(),
                text("store_id"),
                text("region"),
                text("sales_channel"),
                text("device_type"),
                text("customer_id"),
                text("payment_method"),
                text("nazwa_produktu"),
                text("marka"),
                text("kategoria_produktu"),
                r["ilosc"].as_i64().unwrap().to_string(),
                text("cena_netto"),
                text("wartosc_brutto"),
                text("sprzedawca"),
            ]
            .join(",")
        })
        .collect();
    theirs.sort_unstable();
    assert_eq!((v1, v2), (25_000, 25_000), "Python saw both schema versions");
    assert!(theirs == ours, "Python's reading of the topic differs from our CSV rows");
}

#[test]
#[ignore = "needs Apache Kafka, the schema registry and Confluent's Python client, which scripts/test starts"]
fn we_read_what_confluents_python_serializer_writes_in_v1_and_v2() {
    let (brokers, avro_topic, json_topic) = (real_brokers(), topic("py-write"), topic("py-write-json"));
    let work = tempfile::tempdir().unwrap();
    let orders = work.path().join("orders.jsonl");
    let out = run_within(
        orderstream().args([
            "generate",
            "--count",
            "30000",
            "--seed",
            "8",
            "--from",
            "2026-11-27",
            "--to",
            "2026-11-29",
        ]),
        Duration::from_secs(120),
    );
    assert_ok(&out);
    std::fs::write(&orders, &out.stdout).unwrap();
    let wrote = python(&[
        "write",
        &brokers,
        &registry(),
        &avro_topic,
        orders.to_str().unwrap(),
        &schema_file(1),
        &schema_file(2),
    ]);
    let payloads: Vec<&[u8]> = out.stdout.split(|b| *b == b'\n').filter(|l| !l.is_empty()).collect();
    assert_eq!(payloads.len(), 30_000);
    send_raw(&brokers, &json_topic, &payloads);

    let (avro_dir, json_dir) = (work.path().join("avro"), work.path().join("json"));
    let read = consume(avro("consume", &brokers, &avro_topic), &unique("g"), &avro_dir);
    assert_ok(&read);
    assert!(dead_letters(&avro_dir).is_empty(), "{:?}", dead_letters(&avro_dir));
    let mut read_json = orderstream();
    read_json.args(["consume", "--brokers", &brokers, "--topic", &json_topic]);
    assert_ok(&consume(read_json, &unique("g"), &json_dir));
    let rows = sorted_rows(&avro_dir);
    assert_eq!(
        rows.len(),
        30_000,
        "{} messages in the topic; Python said: {}; the consumer said:\n{}",
        topic_messages(&brokers, &avro_topic).len(),
        String::from_utf8_lossy(&wrote.stdout),
        stderr(&read)
    );
    assert!(rows == sorted_rows(&json_dir), "Python's Avro gave other CSV rows than the same orders in JSON");
    let ids: std::collections::HashSet<u32> = topic_messages(&brokers, &avro_topic)
        .iter()
        .map(|(_, p)| u32::from_be_bytes([p[1], p[2], p[3], p[4]]))
        .collect();
    assert_eq!(ids.len(), 2, "two writer schemas on the topic: {ids:?}");
}

#[test]
#[ignore = "needs Apache Kafka, the schema registry and Confluent's Python client, which scripts/test starts"]
fn an_incompatible_schema_stops_the_producer_before_it_sends_anything() {
    let (brokers, topic) = (real_brokers(), topic("incompatible"));
    let subject = format!("/subjects/{topic}-value");
    let other = serde_json::json!({"type": "record", "name": "Order", "namespace": "pl.orderstream",
        "fields": [{"name": "id", "type": "string"}]});
    let (status, body) = registry_call(
        "POST",
        &format!("{subject}/versions"),
        &serde_json::json!({"schema": other.to_string()}),
    );
    assert_eq!(status, 200, "{body}");
    // Confluent's default; this registry's default is NONE, and it knows a subject's
    // settings only once the subject exists.
    let (status, body) = registry_call(
        "PUT",
        &format!("/config/{topic}-value"),
        &serde_json::json!({"compatibility": "BACKWARD"}),
    );
    assert_eq!(status, 200, "{body}");

    let started = Instant::now();
    let out =
        run_within(avro("produce", &brokers, &topic).args(["--count", "1000"]), Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("incompatible (HTTP 409)") && err.contains(&format!("{topic}-value")), "{err}");
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(topic_messages(&brokers, &topic).is_empty(), "nothing was sent");
}

#[test]
#[ignore = "needs Apache Kafka, the schema registry and Confluent's Python client, which scripts/test starts"]
fn messages_that_are_not_readable_avro_orders_are_dead_letters_with_the_reason() {
    let (brokers, topic) = (real_brokers(), topic("avro-dlq"));
    assert_ok(&run_within(
        avro("produce", &brokers, &topic).args(["--count", "1000"]),
        Duration::from_secs(120),
    ));
    let valid = topic_messages(&brokers, &topic)[0].1.clone();
    let mut unknown_id = valid.clone();
    unknown_id[1..5].copy_from_slice(&987_654u32.to_be_bytes());
    let truncated = valid[..valid.len() - 7].to_vec();
    let mut trailing = valid.clone();
    trailing.extend_from_slice(b"xyz");
    let json = br#"{"id":1,"timestamp":"2026-11-26T09:15:02+01:00"}"#.to_vec();
    let bad: [&[u8]; 5] = [&unknown_id, b"\x07not framed", &json, &truncated, &trailing];
    send_raw(&brokers, &topic, &bad);

    let dir = tempfile::tempdir().unwrap();
    let out = consume(avro("consume", &brokers, &topic), &unique("g"), dir.path());
    assert_ok(&out);
    assert_eq!(csv_ids(dir.path()).len(), 1000);
    let letters = dead_letters(dir.path());
    let reasons: Vec<&str> = letters.iter().map(|l| l["reason"].as_str().unwrap()).collect();
    assert_eq!(reasons.len(), 5, "{reasons:?}");
    for expected in [
        "schema id 987654 is not in the schema registry",
        "first byte is 0x07",
        "a JSON message",
        "truncated",
        "3 bytes left",
    ] {
        assert!(reasons.iter().any(|r| r.contains(expected)), "no reason with {expected:?}: {reasons:?}");
    }
    assert_eq!(topic_messages(&brokers, &format!("{topic}.dlq")).len(), 5);

    // A JSON reader of an Avro topic says what it sees.
    let json_dir = tempfile::tempdir().unwrap();
    let mut as_json = orderstream();
    as_json.args(["consume", "--brokers", &brokers, "--topic", &topic]);
    assert_ok(&consume(as_json, &unique("g"), json_dir.path()));
    let reasons = dead_letters(json_dir.path());
    assert!(
        reasons.iter().any(|l| l["reason"].as_str().unwrap().contains("read it with --format avro")),
        "{reasons:?}"
    );
}

/// A registry that accepts connections and never answers.
fn stalled_registry() -> (String, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/apis/ccompat/v6", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        listener.set_nonblocking(true).unwrap();
        let mut held = Vec::new();
        let until = Instant::now() + Duration::from_secs(120);
        while Instant::now() < until {
            match listener.accept() {
                Ok((stream, _)) => held.push(stream),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    });
    (url, handle)
}

#[test]
#[ignore = "needs Apache Kafka, the schema registry and Confluent's Python client, which scripts/test starts"]
fn a_registry_that_is_down_or_stalled_stops_the_command_and_skips_nothing() {
    let (brokers, topic, group) = (real_brokers(), topic("registry-down"), unique("g"));
    // Down at start: the producer retries, says so, and gives up without sending.
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let started = Instant::now();
    let out = run_within(
        orderstream()
            .args(["produce", "--brokers", &brokers, "--topic", &topic, "--count", "100", "--format", "avro"])
            .args(["--schema-registry", &closed, "--schema-registry-timeout", "3s"]),
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("not answering") && err.contains("did not answer usefully"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
    assert!(topic_messages(&brokers, &topic).is_empty());

    // Stalled while a reader meets a schema id it has not seen: it stops at that offset.
    assert_ok(&run_within(
        avro("produce", &brokers, &topic).args(["--count", "20000"]),
        Duration::from_secs(120),
    ));
    let (stalled, _server) = stalled_registry();
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = orderstream();
    cmd.args([
        "consume",
        "--brokers",
        &brokers,
        "--topic",
        &topic,
        "--format",
        "avro",
        "--schema-registry",
        &stalled,
    ])
    .args(["--schema-registry-timeout", "3s"]);
    let started = Instant::now();
    let out = consume(cmd, &group, dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("nothing from there on is committed") && err.contains("fetching schema id"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(60));
    assert!(
        csv_ids(dir.path()).is_empty() && dead_letters(dir.path()).is_empty(),
        "nothing skipped or dead-lettered"
    );

    // Back with the registry: every order, once.
    assert_ok(&consume(avro("consume", &brokers, &topic), &group, dir.path()));
    assert_exactly_once(&avro_topic_ids(&brokers, &topic), &csv_ids(dir.path()));
}

/// Order ids of an Avro topic (read by orderstream's own consumer into a scratch dir).
fn avro_topic_ids(brokers: &str, topic: &str) -> std::collections::HashMap<u64, u32> {
    let scratch = tempfile::tempdir().unwrap();
    assert_ok(&consume(avro("consume", brokers, topic), &unique("ids"), scratch.path()));
    let ids = csv_ids(scratch.path());
    assert_eq!(ids.values().sum::<u32>() as usize, topic_messages(brokers, topic).len());
    ids
}

/// A registry of one subject that wants basic auth, as hosted registries do.
fn registry_with_password(user: &str, password: &str) -> String {
    use base64::Engine as _;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let expected = format!(
        "authorization: basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")).to_lowercase()
    );
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let (mut head, mut length) = (Vec::new(), 0usize);
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let lower = line.trim_end().to_lowercase();
                if let Some(n) = lower.strip_prefix("content-length: ") {
                    length = n.parse().unwrap_or(0);
                }
                head.push(lower);
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let (status, answer) = if head.contains(&expected) {
                ("200 OK", r#"{"id":4242}"#)
            } else {
                ("401 Unauthorized", r#"{"error_code":40101,"message":"Unauthorized"}"#)
            };
            let mut stream = reader.into_inner();
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    url
}

#[test]
#[ignore = "needs Apache Kafka, the schema registry and Confluent's Python client, which scripts/test starts"]
fn a_registry_password_is_sent_as_basic_auth_and_a_wrong_one_is_named() {
    let (brokers, topic) = (real_brokers(), topic("registry-auth"));
    let url = registry_with_password("key-1", "s3cret");
    let work = tempfile::tempdir().unwrap();
    let produce = |password: &str| {
        let file = work.path().join("password");
        std::fs::write(&file, format!("{password}\n")).unwrap();
        run_within(
            orderstream()
                .args([
                    "produce",
                    "--brokers",
                    &brokers,
                    "--topic",
                    &topic,
                    "--count",
                    "10",
                    "--format",
                    "avro",
                ])
                .args([
                    "--schema-registry",
                    &url,
                    "--schema-registry-user",
                    "key-1",
                    "--schema-registry-password-file",
                ])
                .arg(&file),
            Duration::from_secs(60),
        )
    };
    let refused = produce("wrong");
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("HTTP 401") && stderr(&refused).contains("--schema-registry-user"),
        "{}",
        stderr(&refused)
    );
    assert_ok(&produce("s3cret"));
    let messages = topic_messages(&brokers, &topic);
    assert_eq!(messages.len(), 10);
    assert!(
        messages.iter().all(|(_, p)| p[..5] == [0, 0, 0, 0x10, 0x92]),
        "framed with the registry's id 4242"
    );
}

#[test]
#[ignore = "needs Apache Kafka, the schema registry and Confluent's Python client, which scripts/test starts"]
fn run_and_the_dashboard_work_in_avro() {
    let brokers = real_brokers();
    let topic = topic("avro-run");
    let dir = tempfile::tempdir().unwrap();
    let mut run = orderstream();
    run.args(["run", "--brokers", &brokers, "--topic", &topic, "--group", &unique("g"), "--count", "50000"])
        .args(["--format", "avro", "--schema-registry", &registry(), "--csv-dir"])
        .arg(dir.path());
    assert_ok(&run_within(&mut run, Duration::from_secs(300)));
    assert_eq!(csv_ids(dir.path()).len(), 50_000);

    let addr = free_addr();
    let log = dir.path().join("dashboard.log");
    let mut dashboard = spawn_logged(
        avro("dashboard", &brokers, &topic).args(["--group", &unique("dash"), "--http", &addr]),
        &log,
    );
    wait_ready(&addr, &mut dashboard);
    let deadline = Instant::now() + Duration::from_secs(60);
    let orders = loop {
        let body = ureq::get(&format!("http://{addr}/api/summary"))
            .call()
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap();
        let summary: serde_json::Value = serde_json::from_str(&body).unwrap();
        if summary["orders"].as_u64() == Some(50_000) || Instant::now() > deadline {
            break summary["orders"].clone();
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    sigterm(&dashboard);
    let _ = dashboard.wait();
    assert_eq!(orders, 50_000, "{}", std::fs::read_to_string(&log).unwrap_or_default());
}

#[test]
fn avro_without_a_registry_or_with_a_bad_one_is_a_usage_error() {
    let out = run_within(
        orderstream().args(["produce", "--brokers", "127.0.0.1:1", "--format", "avro"]),
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--format avro needs --schema-registry"), "{}", stderr(&out));
    let out = run_within(
        orderstream().args([
            "consume",
            "--brokers",
            "127.0.0.1:1",
            "--format",
            "avro",
            "--schema-registry",
            "localhost:8081",
        ]),
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("expected an http:// or https:// URL"), "{}", stderr(&out));
}

#[test]
#[ignore = "needs Apache Kafka, the schema registry and Confluent's Python client, which scripts/test starts"]
fn the_sheets_sink_appends_every_avro_order_once() {
    use crate::common::fake_google::{account_key, FakeGoogle, Options};
    let (brokers, topic) = (real_brokers(), topic("avro-sheets"));
    assert_ok(&run_within(
        avro("produce", &brokers, &topic).args(["--count", "4000"]),
        Duration::from_secs(120),
    ));
    let google = FakeGoogle::start(Options::default());
    let spreadsheet = google.create_spreadsheet("source_looker", true);
    let keys = tempfile::tempdir().unwrap();
    let creds = google.key_file(keys.path(), account_key());
    let out = run_within(
        avro("sheets", &brokers, &topic)
            .args(["--idle-exit", "3s", "--spreadsheet-id", &spreadsheet])
            .args(["--sheets-api-url", &google.url(), "--drive-api-url", &google.url(), "--sheets-creds"])
            .arg(&creds),
        Duration::from_secs(120),
    );
    assert_ok(&out);
    let in_sheet = crate::sheets_sink::sheet_ids(&google, &spreadsheet, "Data");
    assert_exactly_once(&avro_topic_ids(&brokers, &topic), &in_sheet);
}
