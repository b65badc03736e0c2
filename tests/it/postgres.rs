//! `orderstream postgres` against a real PostgreSQL 15 (which `scripts/test` starts):
//! every order once, checked with the database's own queries against the CSV files;
//! kill -9 five times mid-batch; the database restarted mid-run; two sink processes in
//! one group handing over; bad messages in the dead-letter table.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use postgres::{Client, NoTls};

use crate::common::*;

/// The restart test restarts the one server: the others share it meanwhile.
static SERVER: std::sync::RwLock<()> = std::sync::RwLock::new(());

pub fn shared() -> std::sync::RwLockReadGuard<'static, ()> {
    SERVER.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The environment variable naming the test server's URL.
const POSTGRES_ENV: &str = "ORDERSTREAM_TEST_POSTGRES";

pub fn url() -> String {
    std::env::var(POSTGRES_ENV).unwrap_or_else(|_| {
        panic!("{POSTGRES_ENV} is not set: run this test with scripts/test, which starts PostgreSQL")
    })
}

/// A client, retried while the server restarts (another test may restart it).
pub fn client() -> Client {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match Client::connect(&url(), NoTls) {
            Ok(client) => return client,
            Err(e) if Instant::now() < deadline => {
                eprintln!("connecting to the test database: {e}");
                std::thread::sleep(Duration::from_millis(300));
            }
            Err(e) => panic!("the test database: {e}"),
        }
    }
}

/// A table of its own for each test (they share the server).
pub fn table() -> String {
    unique("t").replace('-', "_")
}

/// The bookkeeping tables' name for `table`: schema-qualified.
pub fn target(table: &str) -> String {
    format!("public.{table}")
}

/// The server to oneself, for a test that restarts it.
pub fn exclusive() -> std::sync::RwLockWriteGuard<'static, ()> {
    SERVER.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Restarts the test server (`scripts/postgres-local restart`).
pub fn restart_server() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/postgres-local");
    let restarted = Command::new(script).arg("restart").output().unwrap();
    assert!(restarted.status.success(), "{}", String::from_utf8_lossy(&restarted.stderr));
}

pub fn sink(brokers: &str, topic: &str, table: &str, group: &str) -> Command {
    sink_at(&url(), brokers, topic, table, group)
}

/// [`sink`] with a URL of the test's own (TLS modes, another role).
pub fn sink_at(url: &str, brokers: &str, topic: &str, table: &str, group: &str) -> Command {
    let mut cmd = orderstream();
    cmd.args(["postgres", "--brokers", brokers, "--topic", topic, "--group", group]).args([
        "--postgres-url",
        url,
        "--postgres-table",
        table,
    ]);
    cmd
}

pub fn produce(brokers: &str, topic: &str, args: &[&str]) {
    let mut cmd = orderstream();
    cmd.args(["produce", "--brokers", brokers, "--topic", topic]).args(args);
    assert_ok(&run_within(&mut cmd, Duration::from_secs(300)));
}

/// (rows, distinct ids) in `table`.
pub fn counts(table: &str) -> (i64, i64) {
    let row = client().query_one(&format!("SELECT COUNT(*), COUNT(DISTINCT id) FROM {table}"), &[]).unwrap();
    (row.get(0), row.get(1))
}

/// Rows in `table` now; 0 while it does not exist or the server is away.
pub fn rows_now(table: &str) -> i64 {
    Client::connect(&url(), NoTls)
        .ok()
        .and_then(|mut c| c.query_one(&format!("SELECT COUNT(*) FROM {table}"), &[]).ok())
        .map_or(0, |row| row.get(0))
}

/// Every id of `table`, each with its count.
pub fn table_ids(table: &str) -> HashMap<u64, u32> {
    let mut ids = HashMap::new();
    for row in client().query(&format!("SELECT id FROM {table}"), &[]).unwrap() {
        *ids.entry(row.get::<_, i64>(0) as u64).or_insert(0) += 1;
    }
    ids
}

#[test]
#[ignore = "needs Apache Kafka and PostgreSQL, which scripts/test starts"]
fn every_order_once_with_the_same_sums_by_day_and_region_as_the_csv_files() {
    let _server = shared();
    let (brokers, topic, table) = (real_brokers(), topic("pg-sums"), table());
    produce(
        &brokers,
        &topic,
        &["--seed", "5", "--from", "2026-10-24", "--to", "2026-10-27", "--base-rate", "20"],
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
        sink(&brokers, &topic, &table, &group).args(["--idle-exit", "3s"]),
        Duration::from_secs(300),
    );
    assert_ok(&out);

    let in_csv = csv_ids(csv.path());
    assert!(in_csv.len() > 50_000, "{} orders", in_csv.len());
    assert_exactly_once(&in_csv, &table_ids(&table));
    // Sums by Polish day and region, by the database's own arithmetic, through the view
    // the sink makes for reports.
    let mut from_db = BTreeMap::new();
    for row in client()
        .query(
            &format!(
                "SELECT day::text, region, SUM(orders)::bigint, SUM(gross_value)::text FROM {table}_by_day GROUP BY 1, 2"
            ),
            &[],
        )
        .unwrap()
    {
        let sum: String = row.get(3);
        from_db.insert((row.get::<_, String>(0), row.get::<_, String>(1)), (row.get::<_, i64>(2), grosz(&sum)));
    }
    assert_eq!(from_db, csv_sums_by_day_and_region(csv.path()), "count and gross value by day and region");
    assert!(from_db.keys().map(|(day, _)| day).collect::<std::collections::BTreeSet<_>>().len() >= 4);
    // Names with Polish letters arrive letter for letter.
    let mut names = HashMap::new();
    let sql = format!("SELECT id, store_id, nazwa_produktu, marka, coalesce(sprzedawca, '') FROM {table}");
    for row in client().query(&sql, &[]).unwrap() {
        let text = |i: usize| row.get::<_, String>(i);
        names.insert(row.get::<_, i64>(0) as u64, [text(1), text(2), text(3), text(4)]);
    }
    assert!(names == csv_names(csv.path()), "store, product, brand or salesperson differ from the CSV");

    // Again: nothing new, nothing twice.
    assert_ok(&run_within(
        sink(&brokers, &topic, &table, &group).args(["--idle-exit", "3s"]),
        Duration::from_secs(120),
    ));
    assert_eq!(counts(&table), (in_csv.len() as i64, in_csv.len() as i64));
}

#[test]
#[ignore = "needs Apache Kafka and PostgreSQL, which scripts/test starts"]
fn kill_9_five_times_mid_batch_then_a_restart_lose_and_repeat_nothing() {
    let _server = shared();
    let (brokers, topic, table, group) = (real_brokers(), topic("pg-kill"), table(), unique("g"));
    // Enough that five kills come before the end at the sink's full speed (up to about
    // 200,000 rows/s here, 900 ms per round at most).
    produce(&brokers, &topic, &["--count", "1500000"]);
    let work = tempfile::tempdir().unwrap();
    let mut seen = Vec::new();
    for round in 0..5u64 {
        let log = work.path().join(format!("kill-{round}.log"));
        // Small batches, so that kills land between and inside transactions.
        let mut child = spawn_logged(
            sink(&brokers, &topic, &table, &group).args(["--postgres-batch-rows", "7000"]),
            &log,
        );
        wait_for_log(&log, "PostgreSQL partitions assigned", &mut child);
        std::thread::sleep(Duration::from_millis(200 + (rand::random::<u64>() % 700)));
        child.kill().unwrap();
        child.wait().unwrap();
        seen.push(rows_now(&table));
    }
    println!("FIGURE rows in the table after each kill -9: {seen:?}");
    assert!(seen.windows(2).all(|w| w[0] <= w[1]) && seen[4] > 0, "{seen:?}");
    assert!(seen[4] < 1_500_000, "the kills came after the end: {seen:?}");
    assert_ok(&run_within(
        sink(&brokers, &topic, &table, &group).args(["--idle-exit", "3s"]),
        Duration::from_secs(300),
    ));
    assert_exactly_once(&topic_ids(&brokers, &topic), &table_ids(&table));
}

fn spawn_sink(brokers: &str, topic: &str, table: &str, group: &str, log: &Path) -> Child {
    spawn_logged(
        sink(brokers, topic, table, group).args(["--idle-exit", "5s", "--postgres-batch-rows", "10000"]),
        log,
    )
}

#[test]
#[ignore = "needs Apache Kafka and PostgreSQL, which scripts/test starts"]
fn a_database_restart_mid_run_is_ridden_out() {
    let _server = exclusive();
    let (brokers, topic, table, group) = (real_brokers(), topic("pg-restart"), table(), unique("g"));
    // Enough that the restart (about a second) comes well before the end.
    produce(&brokers, &topic, &["--count", "1200000"]);
    let work = tempfile::tempdir().unwrap();
    let log = work.path().join("sink.log");
    let mut child = spawn_sink(&brokers, &topic, &table, &group, &log);
    let deadline = Instant::now() + Duration::from_secs(120);
    while rows_now(&table) == 0 {
        assert!(Instant::now() < deadline && child.try_wait().unwrap().is_none(), "no rows written");
        std::thread::sleep(Duration::from_millis(50));
    }
    restart_server();
    let text = finish_logged(child, &log, Duration::from_secs(300));
    assert!(
        text.contains("reconnecting") || text.contains("PostgreSQL not reachable"),
        "the restart was not seen: {text}"
    );
    assert_exactly_once(&topic_ids(&brokers, &topic), &table_ids(&table));
}

#[test]
#[ignore = "needs Apache Kafka and PostgreSQL, which scripts/test starts"]
fn two_sinks_in_one_group_share_the_topic_and_a_stopped_one_hands_over() {
    let _server = shared();
    let (brokers, topic, table, group) = (real_brokers(), topic("pg-pair"), table(), unique("g"));
    // Enough that b joins and a stops long before the end.
    produce(&brokers, &topic, &["--count", "1500000"]);
    let work = tempfile::tempdir().unwrap();
    let (log_a, log_b) = (work.path().join("a.log"), work.path().join("b.log"));
    let mut a = spawn_sink(&brokers, &topic, &table, &group, &log_a);
    wait_for_log(&log_a, "PostgreSQL partitions assigned", &mut a);
    let b = spawn_sink(&brokers, &topic, &table, &group, &log_b);
    // b joins: a rebalance; then a stops (SIGTERM) while both write.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(&log_b).unwrap_or_default().contains("PostgreSQL partitions assigned") {
        assert!(Instant::now() < deadline, "b never got partitions");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    sigterm(&a);
    let by_a =
        logged_number(&finish_logged(a, &log_a, Duration::from_secs(60)), "PostgreSQL sink finished", "rows");
    let by_b = logged_number(
        &finish_logged(b, &log_b, Duration::from_secs(300)),
        "PostgreSQL sink finished",
        "rows",
    );
    println!("FIGURE rows written by a and by b: {by_a}, {by_b}");
    assert!(by_a > 0 && by_b > 0, "both members wrote: a {by_a}, b {by_b}");
    assert_exactly_once(&topic_ids(&brokers, &topic), &table_ids(&table));
}

#[test]
#[ignore = "needs Apache Kafka and PostgreSQL, which scripts/test starts"]
fn bad_messages_go_to_the_dead_letter_table_with_the_reason() {
    let _server = shared();
    let (brokers, topic, table) = (real_brokers(), topic("pg-dlq"), table());
    produce(&brokers, &topic, &["--count", "1000"]);
    send_raw(&brokers, &topic, &[b"not json", br#"{"id":1}"#, &[0xff, 0xfe]]);
    assert_ok(&run_within(
        sink(&brokers, &topic, &table, &unique("g")).args(["--idle-exit", "3s"]),
        Duration::from_secs(120),
    ));
    assert_eq!(counts(&table), (1000, 1000));
    let letters = client()
        .query(
            "SELECT reason, payload FROM orderstream_dead_letters WHERE target = $1 AND topic = $2",
            &[&target(&table), &topic],
        )
        .unwrap();
    assert_eq!(letters.len(), 3);
    let reasons: Vec<String> = letters.iter().map(|r| r.get(0)).collect();
    assert!(reasons.iter().any(|r| r.contains("missing field")), "{reasons:?}");
    assert!(letters.iter().any(|r| r.get::<_, Option<Vec<u8>>>(1) == Some(vec![0xff, 0xfe])));
}

#[test]
#[ignore = "needs Apache Kafka and PostgreSQL, which scripts/test starts"]
fn a_missing_database_or_a_bad_table_name_is_named() {
    let _server = shared();
    let (brokers, topic) = (real_brokers(), topic("pg-bad"));
    let missing = format!("{}_nope", url());
    let out = run_within(
        orderstream().args([
            "postgres",
            "--brokers",
            &brokers,
            "--topic",
            &topic,
            "--postgres-url",
            &missing,
        ]),
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
    let out = run_within(
        orderstream().args([
            "postgres",
            "--brokers",
            &brokers,
            "--postgres-url",
            &url(),
            "--postgres-table",
            "x; drop",
        ]),
        Duration::from_secs(60),
    );
    // A bad flag value, like any other: exit 2.
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--postgres-table"), "{}", stderr(&out));
}

#[test]
#[ignore = "needs Apache Kafka and PostgreSQL, which scripts/test starts"]
fn consume_writes_the_csv_files_and_the_table_side_by_side() {
    let _server = shared();
    let (brokers, topic, table) = (real_brokers(), topic("pg-consume"), table());
    produce(&brokers, &topic, &["--count", "50000"]);
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
                "--progress",
                "100ms",
            ])
            .args(["--postgres-url", &url(), "--postgres-table", &table, "--csv-dir"])
            .arg(csv.path()),
        Duration::from_secs(300),
    );
    assert_ok(&out);
    let log = stderr(&out);
    assert!(log.contains("PostgreSQL sink finished rows=50000"), "{log}");
    // Progress counts each sink on its own (the CSV files as `written`), and leaves out
    // what this command does not do (produce).
    let progress: Vec<&str> = log.lines().filter(|l| l.contains(" progress ")).collect();
    assert!(progress.iter().any(|l| l.contains("other_sinks=\"postgres ")), "{log}");
    for line in &progress {
        assert!(!line.contains("produced="), "{line}");
        let written = line.split(" written=").nth(1).and_then(|r| r.split_whitespace().next());
        assert!(written.is_none_or(|n| n.parse::<u64>().unwrap() <= 50000), "{line}");
    }
    let in_topic = topic_ids(&brokers, &topic);
    assert_exactly_once(&in_topic, &csv_ids(csv.path()));
    assert_exactly_once(&in_topic, &table_ids(&table));
}

#[test]
#[ignore = "needs Apache Kafka and PostgreSQL, which scripts/test starts"]
fn sslmode_require_speaks_tls_and_checks_the_servers_certificate() {
    let _server = shared();
    let (brokers, topic, table) = (real_brokers(), topic("pg-tls"), table());
    produce(&brokers, &topic, &["--count", "5000"]);
    let dir = std::env::var("ORDERSTREAM_POSTGRES_DIR")
        .expect("ORDERSTREAM_POSTGRES_DIR names the test server's state");
    let ca = Path::new(&dir).join("tls/ca.pem");
    let tls_url = format!("{}?sslmode=require", url());
    let run = |ca_file: Option<&Path>| {
        let mut cmd = sink_at(&tls_url, &brokers, &topic, &table, &unique("g"));
        cmd.args(["--idle-exit", "3s", "--postgres-retry-for", "2s"]);
        if let Some(ca) = ca_file {
            cmd.arg("--postgres-ca").arg(ca);
        }
        run_within(&mut cmd, Duration::from_secs(120))
    };
    // The test CA is not among the system's: refused, with the reason.
    let refused = run(None);
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused).to_lowercase().contains("certificate"), "{}", stderr(&refused));
    assert_ok(&run(Some(&ca)));
    assert_eq!(counts(&table), (5000, 5000));
}

#[test]
#[ignore = "needs PostgreSQL, which scripts/test starts"]
fn run_on_the_embedded_broker_fills_the_table_with_every_order_and_fails_when_it_cannot() {
    let _server = shared();
    let table = table();
    let csv = tempfile::tempdir().unwrap();
    let out = run_within(
        orderstream()
            .args([
                "run",
                "--count",
                "400000",
                "--postgres-url",
                &url(),
                "--postgres-table",
                &table,
                "--csv-dir",
            ])
            .arg(csv.path()),
        Duration::from_secs(300),
    );
    assert_ok(&out);
    assert!(stderr(&out).contains("PostgreSQL sink finished rows=400000"), "{}", stderr(&out));
    let in_csv = csv_ids(csv.path());
    assert_eq!(in_csv.len(), 400_000);
    assert_exactly_once(&in_csv, &table_ids(&table));

    // A database that is not there: the CSV files are written, the run says what is
    // missing and fails.
    let csv = tempfile::tempdir().unwrap();
    let nowhere = format!("postgres://postgres@{}/postgres", free_addr());
    let out = run_within(
        orderstream()
            .args([
                "run",
                "--count",
                "2000",
                "--postgres-url",
                &nowhere,
                "--postgres-retry-for",
                "1s",
                "--csv-dir",
            ])
            .arg(csv.path()),
        Duration::from_secs(120),
    );
    assert!(!out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("PostgreSQL"), "{}", stderr(&out));
    assert_eq!(csv_ids(csv.path()).len(), 2000);
}
