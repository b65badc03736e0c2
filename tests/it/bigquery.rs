//! `orderstream bigquery` against the BigQuery emulator (goccy/bigquery-emulator, which
//! `scripts/test` builds and starts), signed in through the fake Google front door that
//! checks the service account's token and scope: every order once, checked with
//! BigQuery's own queries against the CSV files; kill -9 five times mid-batch; the
//! emulator restarted mid-run; a burst of 429s and 503s and a job whose answer was
//! lost; two sink processes in one group; bad messages in the dead-letter table;
//! refusals that say what to do.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::fake_google::{account_key, rogue_key, FakeGoogle, Fault, Options};
use crate::common::*;

/// The restart test restarts the one emulator: the others share it meanwhile.
static SERVER: std::sync::RwLock<()> = std::sync::RwLock::new(());

fn shared() -> std::sync::RwLockReadGuard<'static, ()> {
    SERVER.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The environment variable naming the emulator's REST address.
const BIGQUERY_ENV: &str = "ORDERSTREAM_TEST_BIGQUERY";
/// The project the emulator serves (scripts/bigquery-emulator-local).
const PROJECT: &str = "orderstream-test";

fn emulator() -> String {
    std::env::var(BIGQUERY_ENV).unwrap_or_else(|_| {
        panic!(
            "{BIGQUERY_ENV} is not set: run this test with scripts/test, which starts the BigQuery emulator"
        )
    })
}

/// A dataset of its own for each test (they share the emulator).
fn dataset() -> String {
    unique("d").replace('-', "_")
}

/// The fake Google (token endpoint and BigQuery front door) and a key file for it.
struct Google {
    fake: FakeGoogle,
    creds: PathBuf,
    _dir: tempfile::TempDir,
}

fn google() -> Google {
    let fake = FakeGoogle::start(Options { bigquery: Some(emulator()), ..Options::default() });
    let dir = tempfile::tempdir().unwrap();
    let creds = fake.key_file(dir.path(), account_key());
    Google { fake, creds, _dir: dir }
}

impl Google {
    /// The sink's flags for `dataset` on the emulator, signed in through the fake.
    fn flags(&self, dataset: &str) -> Vec<std::ffi::OsString> {
        let mut flags: Vec<std::ffi::OsString> = [
            "--bigquery-project",
            PROJECT,
            "--bigquery-dataset",
            dataset,
            "--bigquery-api-url",
            &self.fake.url(),
        ]
        .map(Into::into)
        .into();
        flags.extend(["--bigquery-creds".into(), self.creds.clone().into_os_string()]);
        flags
    }
}

fn sink(google: &Google, brokers: &str, topic: &str, dataset: &str, group: &str) -> Command {
    let mut cmd = orderstream();
    cmd.args(["bigquery", "--brokers", brokers, "--topic", topic, "--group", group])
        .args(google.flags(dataset))
        .args(["--bigquery-flush-interval", "1s"]);
    cmd
}

fn produce(brokers: &str, topic: &str, args: &[&str]) {
    let mut cmd = orderstream();
    cmd.args(["produce", "--brokers", brokers, "--topic", topic]).args(args);
    assert_ok(&run_within(&mut cmd, Duration::from_secs(300)));
}

/// A query on the emulator itself (not through the sink's code): its rows as text cells.
fn query(sql: &str) -> Vec<Vec<Value>> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(300)))
        .build()
        .into();
    let base = format!("{}/bigquery/v2/projects/{PROJECT}", emulator());
    let deadline = Instant::now() + Duration::from_secs(120);
    let answer: Value = loop {
        // The restart test may have the emulator down for a moment.
        match agent
            .post(&format!("{base}/queries"))
            .send_json(json!({"query": sql, "useLegacySql": false, "maxResults": 100000}))
        {
            Ok(mut response) if response.status() == 200 => break response.body_mut().read_json().unwrap(),
            Ok(mut response) => {
                panic!("{sql}: HTTP {} {}", response.status(), response.body_mut().read_to_string().unwrap())
            }
            Err(e) if Instant::now() < deadline => {
                eprintln!("querying the emulator: {e}");
                std::thread::sleep(Duration::from_millis(300));
            }
            Err(e) => panic!("{sql}: {e}"),
        }
    };
    assert_eq!(answer["jobComplete"], true, "{answer}");
    let mut rows: Vec<Vec<Value>> = cells(&answer);
    let job = answer["jobReference"]["jobId"].as_str().unwrap_or_default().to_string();
    let mut token = answer["pageToken"].as_str().map(str::to_string);
    while let Some(page) = token.filter(|t| !t.is_empty()) {
        let next: Value = agent
            .get(&format!("{base}/queries/{job}?pageToken={page}&maxResults=100000"))
            .call()
            .unwrap()
            .body_mut()
            .read_json()
            .unwrap();
        rows.extend(cells(&next));
        token = next["pageToken"].as_str().map(str::to_string);
    }
    rows
}

fn cells(answer: &Value) -> Vec<Vec<Value>> {
    answer["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|row| row["f"].as_array().unwrap().iter().map(|c| c["v"].clone()).collect())
        .collect()
}

fn int(cell: &Value) -> i64 {
    cell.as_str().map_or_else(|| cell.as_i64().unwrap(), |s| s.parse().unwrap())
}

/// (rows, distinct ids) in the dataset's orders table.
fn counts(dataset: &str) -> (i64, i64) {
    // Distinct as text: the emulator counts distinct integers through a double.
    let rows = query(&format!("SELECT COUNT(*), COUNT(DISTINCT CAST(id AS STRING)) FROM `{dataset}.orders`"));
    (int(&rows[0][0]), int(&rows[0][1]))
}

/// Rows in the table now (0 while it does not exist yet).
fn rows_now(dataset: &str) -> i64 {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    agent
        .post(&format!("{}/bigquery/v2/projects/{PROJECT}/queries", emulator()))
        .send_json(
            json!({"query": format!("SELECT COUNT(*) FROM `{dataset}.orders`"), "useLegacySql": false}),
        )
        .ok()
        .filter(|r| r.status() == 200)
        .and_then(|mut r| r.body_mut().read_json::<Value>().ok())
        .and_then(|v| v["rows"][0]["f"][0]["v"].as_str().and_then(|s| s.parse().ok()))
        .unwrap_or(0)
}

/// Every id of the table, each with its count.
fn table_ids(dataset: &str) -> HashMap<u64, u32> {
    let mut ids = HashMap::new();
    for row in query(&format!("SELECT id FROM `{dataset}.orders`")) {
        *ids.entry(int(&row[0]) as u64).or_insert(0) += 1;
    }
    ids
}

#[test]
#[ignore = "needs Apache Kafka and the BigQuery emulator, which scripts/test starts"]
fn every_order_once_with_the_same_sums_by_day_and_region_as_the_csv_files() {
    let _server = shared();
    let google = google();
    let (brokers, topic, dataset) = (real_brokers(), topic("bq-sums"), dataset());
    produce(
        &brokers,
        &topic,
        &["--seed", "5", "--from", "2026-10-24", "--to", "2026-10-27", "--base-rate", "2"],
    );
    let csv = tempfile::tempdir().unwrap();
    let mut consume = orderstream();
    consume
        .args([
            "consume",
            "--brokers",
            &brokers,
            "--topic",
            &topic,
            "--group",
            &unique("csv"),
            "--idle-exit",
            "3s",
        ])
        .arg("--csv-dir")
        .arg(csv.path());
    assert_ok(&run_within(&mut consume, Duration::from_secs(300)));
    let group = unique("g");
    let out = run_within(
        sink(&google, &brokers, &topic, &dataset, &group).args(["--idle-exit", "3s"]),
        Duration::from_secs(600),
    );
    assert_ok(&out);
    assert!(stderr(&out).contains("signed in to Google"), "{}", stderr(&out));
    assert!(google.fake.tokens_issued() >= 1);

    let in_csv = csv_ids(csv.path());
    assert!(in_csv.len() > 3_000, "{} orders", in_csv.len());
    assert_exactly_once(&in_csv, &table_ids(&dataset));
    // Sums by Polish day and region, by BigQuery's own arithmetic, through the view the
    // sink makes for reports.
    let mut from_bq = BTreeMap::new();
    for row in query(&format!(
        "SELECT CAST(day AS STRING), region, SUM(orders), CAST(SUM(gross_value) AS STRING) FROM `{dataset}.orders_by_day` GROUP BY 1, 2"
    )) {
        let day = row[0].as_str().unwrap().to_string();
        let region = row[1].as_str().unwrap().to_string();
        from_bq.insert((day, region), (int(&row[2]), grosz(row[3].as_str().unwrap())));
    }
    assert_eq!(from_bq, csv_sums_by_day_and_region(csv.path()), "count and gross value by day and region");
    assert!(from_bq.keys().map(|(day, _)| day).collect::<std::collections::BTreeSet<_>>().len() >= 4);

    // The table as BigQuery describes it: partitioned by day, clustered, warehouse types.
    let table: Value =
        ureq::get(&format!("{}/bigquery/v2/projects/{PROJECT}/datasets/{dataset}/tables/orders", emulator()))
            .call()
            .unwrap()
            .body_mut()
            .read_json()
            .unwrap();
    let types: Vec<(String, String)> = table["schema"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["name"].as_str().unwrap().into(), f["type"].as_str().unwrap().into()))
        .collect();
    assert!(types.contains(&("timestamp".into(), "TIMESTAMP".into())), "{types:?}");
    assert!(types.contains(&("wartosc_brutto".into(), "NUMERIC".into())), "{types:?}");

    // Again: nothing new, nothing twice.
    assert_ok(&run_within(
        sink(&google, &brokers, &topic, &dataset, &group).args(["--idle-exit", "3s"]),
        Duration::from_secs(300),
    ));
    assert_eq!(counts(&dataset), (in_csv.len() as i64, in_csv.len() as i64));
}

#[test]
#[ignore = "needs Apache Kafka and the BigQuery emulator, which scripts/test starts"]
fn kill_9_five_times_mid_batch_then_a_restart_lose_and_repeat_nothing() {
    let _server = shared();
    let google = google();
    let (brokers, topic, dataset, group) = (real_brokers(), topic("bq-kill"), dataset(), unique("g"));
    produce(&brokers, &topic, &["--count", "12000"]);
    let work = tempfile::tempdir().unwrap();
    let mut seen = Vec::new();
    for round in 0..5u64 {
        let log = work.path().join(format!("kill-{round}.log"));
        let mut child = spawn_logged(
            sink(&google, &brokers, &topic, &dataset, &group).args(["--bigquery-batch-rows", "1000"]),
            &log,
        );
        wait_for_log(&log, "BigQuery partitions assigned", &mut child);
        std::thread::sleep(Duration::from_millis(500 + (rand::random::<u64>() % 2000)));
        child.kill().unwrap();
        child.wait().unwrap();
        seen.push(rows_now(&dataset));
    }
    println!("FIGURE rows in the table after each kill -9: {seen:?}");
    assert!(seen.windows(2).all(|w| w[0] <= w[1]) && seen[4] > 0, "{seen:?}");
    assert!(seen[4] < 12_000, "the kills came after the end: {seen:?}");
    assert_ok(&run_within(
        sink(&google, &brokers, &topic, &dataset, &group).args(["--idle-exit", "3s"]),
        Duration::from_secs(600),
    ));
    assert_exactly_once(&topic_ids(&brokers, &topic), &table_ids(&dataset));
}

#[test]
#[ignore = "needs Apache Kafka and the BigQuery emulator, which scripts/test starts"]
fn an_emulator_restart_mid_run_is_ridden_out() {
    let _server = SERVER.write().unwrap_or_else(std::sync::PoisonError::into_inner);
    let google = google();
    let (brokers, topic, dataset, group) = (real_brokers(), topic("bq-restart"), dataset(), unique("g"));
    produce(&brokers, &topic, &["--count", "6000"]);
    let work = tempfile::tempdir().unwrap();
    let log = work.path().join("sink.log");
    let mut child = spawn_logged(
        sink(&google, &brokers, &topic, &dataset, &group).args([
            "--idle-exit",
            "5s",
            "--bigquery-batch-rows",
            "1500",
        ]),
        &log,
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    while rows_now(&dataset) == 0 {
        assert!(Instant::now() < deadline && child.try_wait().unwrap().is_none(), "no rows written");
        std::thread::sleep(Duration::from_millis(100));
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/bigquery-emulator-local");
    let restarted = Command::new(script).arg("restart").output().unwrap();
    assert!(restarted.status.success(), "{}", String::from_utf8_lossy(&restarted.stderr));
    let text = finish_logged(child, &log, Duration::from_secs(600));
    assert!(text.contains("trying again"), "the restart was not seen: {text}");
    assert_exactly_once(&topic_ids(&brokers, &topic), &table_ids(&dataset));
}

#[test]
#[ignore = "needs Apache Kafka and the BigQuery emulator, which scripts/test starts"]
fn a_burst_of_429s_and_503s_and_a_lost_answer_lose_and_repeat_nothing() {
    let _server = shared();
    let google = google();
    let (brokers, topic, dataset) = (real_brokers(), topic("bq-burst"), dataset());
    produce(&brokers, &topic, &["--count", "6000"]);
    // The sink's first jobs (the views, the offsets read) go through; then the batches
    // meet rate limits, backend errors, and a job that ran but whose answer never came.
    google.fake.inject_bigquery(
        [Fault::Pass, Fault::Pass]
            .into_iter()
            .chain([Fault::Status(429), Fault::Status(429), Fault::Status(429), Fault::Status(503)])
            .chain([Fault::LandThenStall(Duration::from_secs(3)), Fault::Status(500)])
            .chain([Fault::Pass, Fault::Status(429), Fault::LandThenStall(Duration::from_millis(100))]),
    );
    let out = run_within(
        sink(&google, &brokers, &topic, &dataset, &unique("g")).args([
            "--idle-exit",
            "3s",
            "--bigquery-batch-rows",
            "2000",
            "--bigquery-request-timeout",
            "20s",
        ]),
        Duration::from_secs(600),
    );
    assert_ok(&out);
    assert_eq!(google.fake.bigquery_faults_left(), 0, "every fault was met");
    let log = stderr(&out);
    assert!(log.contains("rateLimitExceeded") && log.contains("backendError"), "{log}");
    assert_exactly_once(&topic_ids(&brokers, &topic), &table_ids(&dataset));
}

#[test]
#[ignore = "needs Apache Kafka and the BigQuery emulator, which scripts/test starts"]
fn two_sinks_in_one_group_share_the_topic_and_a_stopped_one_hands_over() {
    let _server = shared();
    let google = google();
    let (brokers, topic, dataset, group) = (real_brokers(), topic("bq-pair"), dataset(), unique("g"));
    produce(&brokers, &topic, &["--count", "8000"]);
    let work = tempfile::tempdir().unwrap();
    let (log_a, log_b) = (work.path().join("a.log"), work.path().join("b.log"));
    let spawn = |log: &Path, extra: &[&str]| {
        spawn_logged(
            sink(&google, &brokers, &topic, &dataset, &group)
                .args(["--bigquery-batch-rows", "1500"])
                .args(extra),
            log,
        )
    };
    let mut a = spawn(&log_a, &["--idle-exit", "5s"]);
    wait_for_log(&log_a, "BigQuery partitions assigned", &mut a);
    // b has no idle exit: its own partitions may be read to their end long before a has
    // left (the keys need not reach every partition, and a's last batch can take a while
    // on a busy emulator). It is stopped once the table holds every order.
    let mut b = spawn(&log_b, &[]);
    wait_for_log(&log_b, "BigQuery partitions assigned", &mut b);
    std::thread::sleep(Duration::from_millis(1500));
    sigterm(&a);
    finish_logged(a, &log_a, Duration::from_secs(120));
    // a left the group: b is given every partition.
    let deadline = Instant::now() + Duration::from_secs(120);
    while std::fs::read_to_string(&log_b).unwrap().matches("BigQuery partitions assigned").count() < 2 {
        assert!(b.try_wait().unwrap().is_none() && Instant::now() < deadline, "b did not take over");
        std::thread::sleep(Duration::from_millis(100));
    }
    let in_topic = topic_ids(&brokers, &topic);
    let written = || table_ids(&dataset).len();
    stop_when_written(b, &log_b, in_topic.len(), written, Duration::from_secs(2), Duration::from_secs(600));
    assert_exactly_once(&in_topic, &table_ids(&dataset));
}

#[test]
#[ignore = "needs Apache Kafka and the BigQuery emulator, which scripts/test starts"]
fn bad_messages_go_to_the_dead_letter_table_with_the_reason() {
    let _server = shared();
    let google = google();
    let (brokers, topic, dataset) = (real_brokers(), topic("bq-dlq"), dataset());
    produce(&brokers, &topic, &["--count", "1000"]);
    send_raw(&brokers, &topic, &[b"not json", br#"{"id":1}"#, &[0xff, 0xfe]]);
    assert_ok(&run_within(
        sink(&google, &brokers, &topic, &dataset, &unique("g")).args(["--idle-exit", "3s"]),
        Duration::from_secs(300),
    ));
    assert_eq!(counts(&dataset), (1000, 1000));
    let letters = query(&format!(
        "SELECT reason, TO_BASE64(payload) FROM `{dataset}.orderstream_dead_letters` WHERE topic = '{topic}'"
    ));
    assert_eq!(letters.len(), 3, "{letters:?}");
    assert!(letters.iter().any(|r| r[0].as_str().unwrap().contains("missing field")), "{letters:?}");
    assert!(letters.iter().any(|r| r[1].as_str() == Some("//4=")), "{letters:?}");
}

#[test]
#[ignore = "needs Apache Kafka and the BigQuery emulator, which scripts/test starts"]
fn refusals_stop_the_sink_with_what_to_do() {
    let _server = shared();
    let google = google();
    let (brokers, topic) = (real_brokers(), topic("bq-refused"));
    produce(&brokers, &topic, &["--count", "100"]);
    let run = |cmd: &mut Command| run_within(cmd, Duration::from_secs(120));
    // A project the emulator does not serve: 404, named.
    let out = run(orderstream()
        .args(["bigquery", "--brokers", &brokers, "--topic", &topic, "--bigquery-project", "no-such-project"])
        .args(["--bigquery-api-url", &google.fake.url(), "--bigquery-creds"])
        .arg(&google.creds));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not found") && stderr(&out).contains("--bigquery-project"),
        "{}",
        stderr(&out)
    );
    // A key the token endpoint does not know.
    let rogue_dir = tempfile::tempdir().unwrap();
    let rogue = google.fake.key_file(rogue_dir.path(), rogue_key());
    let out = run(orderstream()
        .args(["bigquery", "--brokers", &brokers, "--topic", &topic, "--bigquery-project", PROJECT])
        .args(["--bigquery-api-url", &google.fake.url(), "--bigquery-creds"])
        .arg(&rogue));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("rejected the key"), "{}", stderr(&out));
    // No token at all (an emulator flag against Google itself) is refused before start.
    let out = run(orderstream().args([
        "bigquery",
        "--brokers",
        &brokers,
        "--bigquery-project",
        PROJECT,
        "--bigquery-no-auth",
    ]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--bigquery-api-url"), "{}", stderr(&out));
    // Absurd names never reach SQL: a bad flag value, exit 2.
    let out = run(&mut sink(&google, &brokers, &topic, "x`; DROP", &unique("g")));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--bigquery-dataset"), "{}", stderr(&out));
}

#[test]
#[ignore = "needs Apache Kafka and the BigQuery emulator, which scripts/test starts"]
fn consume_writes_the_csv_files_and_bigquery_side_by_side() {
    let _server = shared();
    let google = google();
    let (brokers, topic, dataset) = (real_brokers(), topic("bq-consume"), dataset());
    produce(&brokers, &topic, &["--count", "5000"]);
    let csv = tempfile::tempdir().unwrap();
    let out = run_within(
        orderstream()
            .args([
                "consume",
                "--brokers",
                &brokers,
                "--topic",
                &topic,
                "--group",
                &unique("g"),
                "--idle-exit",
                "3s",
            ])
            .args(google.flags(&dataset))
            .arg("--csv-dir")
            .arg(csv.path()),
        Duration::from_secs(600),
    );
    assert_ok(&out);
    assert!(stderr(&out).contains("BigQuery sink finished rows=5000"), "{}", stderr(&out));
    let in_topic = topic_ids(&brokers, &topic);
    assert_exactly_once(&in_topic, &csv_ids(csv.path()));
    assert_exactly_once(&in_topic, &table_ids(&dataset));
}

#[test]
#[ignore = "needs the BigQuery emulator, which scripts/test starts"]
fn run_on_the_embedded_broker_puts_every_order_in_bigquery() {
    let _server = shared();
    let google = google();
    let dataset = dataset();
    let csv = tempfile::tempdir().unwrap();
    let run = |count: &str| {
        run_within(
            orderstream()
                .args(["run", "--count", count, "--bigquery-flush-interval", "1s"])
                .args(google.flags(&dataset))
                .arg("--csv-dir")
                .arg(csv.path()),
            Duration::from_secs(600),
        )
    };
    let out = run("5000");
    assert_ok(&out);
    assert!(stderr(&out).contains("BigQuery sink finished rows=5000"), "{}", stderr(&out));
    let in_csv = csv_ids(csv.path());
    assert_eq!(in_csv.len(), 5000);
    assert_exactly_once(&in_csv, &table_ids(&dataset));

    // Run again into the same dataset: the new run's broker and topic are new, and every
    // order of it is added.
    assert_ok(&run("2000"));
    let in_csv = csv_ids(csv.path());
    assert_eq!(in_csv.len(), 7000);
    assert_exactly_once(&in_csv, &table_ids(&dataset));
}
