//! The PostgreSQL sink under hostile use: `run` again on the embedded broker, existing
//! tables that do not fit, a new table on a topic whose start was deleted, locks held by
//! reports, a role that may only insert, ids past bigint, TLS refused by the server.

use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use crate::common::*;
use crate::postgres::{
    client, counts, exclusive, produce, restart_server, rows_now, shared, sink, sink_at, table, table_ids,
    target, url,
};

/// `run` on the embedded broker with the PostgreSQL sink into `table` and the CSV files
/// into `csv`.
fn run_embedded(count: &str, table: &str, csv: &Path) -> std::process::Command {
    let mut cmd = orderstream();
    cmd.args(["run", "--count", count, "--postgres-url", &url(), "--postgres-table", table, "--csv-dir"])
        .arg(csv);
    cmd
}

#[test]
#[ignore = "needs PostgreSQL, which scripts/test starts"]
fn run_again_on_the_embedded_broker_writes_every_order_of_the_new_run() {
    let _server = shared();
    let (table, csv) = (table(), tempfile::tempdir().unwrap());
    // The second run's topic is new: the first run's offsets in the table must not
    // skip its first orders.
    assert_ok(&run_within(&mut run_embedded("3000", &table, csv.path()), Duration::from_secs(120)));
    let out = run_within(&mut run_embedded("50000", &table, csv.path()), Duration::from_secs(300));
    assert_ok(&out);
    assert!(stderr(&out).contains("earlier run's embedded broker"), "{}", stderr(&out));
    let in_csv = csv_ids(csv.path());
    assert_eq!(in_csv.len(), 53_000);
    assert_exactly_once(&in_csv, &table_ids(&table));

    // Stopped with Ctrl-C mid-run, then the same command again: the table holds what the
    // CSV files hold.
    let log = csv.path().join("run.log");
    let mut child = spawn_logged(&mut run_embedded("300000", &table, csv.path()), &log);
    wait_for_log(&log, "PostgreSQL partitions assigned", &mut child);
    let deadline = Instant::now() + Duration::from_secs(60);
    while counts(&table).0 < 60_000 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let status = child.wait().unwrap();
    assert!(status.success() || status.code() == Some(130), "{status:?}");
    std::fs::remove_file(&log).unwrap();
    assert_ok(&run_within(&mut run_embedded("300000", &table, csv.path()), Duration::from_secs(300)));
    let in_csv = csv_ids(csv.path());
    assert!(in_csv.len() >= 353_000, "{} orders in the CSV files", in_csv.len());
    assert_exactly_once(&in_csv, &table_ids(&table));
}

#[test]
#[ignore = "needs Apache Kafka and PostgreSQL, which scripts/test starts"]
fn an_existing_table_that_does_not_fit_is_refused_at_once_naming_each_column() {
    let _server = shared();
    let (brokers, topic, table) = (real_brokers(), topic("pg-misfit"), table());
    produce(&brokers, &topic, &["--count", "100"]);
    client()
        .batch_execute(&format!(
            r#"CREATE TABLE {table} (id text, "timestamp" timestamp NOT NULL, store_id text NOT NULL,
               region text NOT NULL, sales_channel text NOT NULL, device_type text NOT NULL,
               customer_id uuid NOT NULL, payment_method text NOT NULL, nazwa_produktu text NOT NULL,
               marka text NOT NULL, kategoria_produktu text NOT NULL, ilosc smallint NOT NULL,
               cena_netto numeric(12,2) NOT NULL, sprzedawca text NOT NULL, note text NOT NULL)"#
        ))
        .unwrap();
    let started = Instant::now();
    let out = run_within(
        sink(&brokers, &topic, &table, &unique("g")).args([
            "--idle-exit",
            "3s",
            "--postgres-retry-for",
            "2m",
        ]),
        Duration::from_secs(60),
    );
    let text = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(started.elapsed() < Duration::from_secs(20), "took {:?}: {text}", started.elapsed());
    for named in [
        "column id is text, the sink writes bigint",
        "column timestamp is timestamp without time zone, the sink writes timestamptz",
        "column wartosc_brutto is missing",
        "column sprzedawca is NOT NULL",
        "column note is NOT NULL with no default",
        "the primary key is (none)",
    ] {
        assert!(text.contains(named), "{named:?} not in:\n{text}");
    }
    assert!(!text.contains("retrying"), "{text}");
    assert_eq!(counts(&table), (0, 0));
}

#[test]
#[ignore = "needs Apache Kafka and PostgreSQL, which scripts/test starts"]
fn a_new_table_on_a_topic_whose_start_was_deleted_finds_no_gap() {
    let _server = shared();
    let (brokers, topic, table) = (real_brokers(), topic("pg-new-table"), table());
    produce(&brokers, &topic, &["--count", "4000", "--partitions", "2"]);
    // The first half of each partition deleted long before this sink existed.
    let reader: BaseConsumer = ClientConfig::new().set("bootstrap.servers", &brokers).create().unwrap();
    let mut tpl = TopicPartitionList::new();
    let mut kept = 0;
    for partition in 0..2 {
        let (_, end) = reader.fetch_watermarks(&topic, partition, Duration::from_secs(10)).unwrap();
        tpl.add_partition_offset(&topic, partition, Offset::Offset(end / 2)).unwrap();
        kept += end - end / 2;
    }
    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", &brokers).create().unwrap();
    futures_executor::block_on(admin.delete_records(&tpl, &AdminOptions::new())).unwrap();

    let out = run_within(
        sink(&brokers, &topic, &table, &unique("g")).args(["--idle-exit", "3s"]),
        Duration::from_secs(120),
    );
    assert_ok(&out);
    assert_eq!(counts(&table), (kept, kept));
    let gaps: i64 = client()
        .query_one(
            "SELECT COUNT(*) FROM orderstream_dead_letters WHERE target = $1 AND topic = $2",
            &[&target(&table), &topic],
        )
        .unwrap()
        .get(0);
    assert_eq!(gaps, 0);
}

#[test]
#[ignore = "needs Apache Kafka and PostgreSQL, which scripts/test starts"]
fn ids_past_bigint_become_dead_letters_not_negative_ids() {
    let _server = shared();
    let (brokers, topic, table) = (real_brokers(), topic("pg-big-id"), table());
    produce(&brokers, &topic, &["--count", "500"]);
    let generated =
        run_within(orderstream().args(["generate", "--count", "1", "--seed", "3"]), Duration::from_secs(30));
    assert_ok(&generated);
    let order: serde_json::Value = serde_json::from_slice(&generated.stdout).unwrap();
    let mut huge = order.clone();
    huge["id"] = serde_json::json!(9_223_372_036_854_775_813_u64);
    send_raw(&brokers, &topic, &[huge.to_string().as_bytes()]);

    assert_ok(&run_within(
        sink(&brokers, &topic, &table, &unique("g")).args(["--idle-exit", "3s"]),
        Duration::from_secs(120),
    ));
    assert_eq!(counts(&table), (500, 500));
    let negative: i64 =
        client().query_one(&format!("SELECT COUNT(*) FROM {table} WHERE id < 0"), &[]).unwrap().get(0);
    assert_eq!(negative, 0);
    let reasons: Vec<String> = client()
        .query(
            "SELECT reason FROM orderstream_dead_letters WHERE target = $1 AND topic = $2",
            &[&target(&table), &topic],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(reasons[0].contains("9223372036854775813") && reasons[0].contains("bigint"), "{reasons:?}");
}

#[test]
#[ignore = "needs Apache Kafka and PostgreSQL, which scripts/test starts"]
fn a_role_that_may_only_insert_writes_into_tables_an_administrator_made() {
    let _server = shared();
    let (brokers, topic, table) = (real_brokers(), topic("pg-least"), table());
    produce(&brokers, &topic, &["--count", "3000"]);
    // Without the tables, a sink that may not create them says what is missing, at once.
    let out = run_within(
        sink(&brokers, &topic, &table, &unique("g")).args([
            "--idle-exit",
            "3s",
            "--postgres-manage-schema",
            "false",
        ]),
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains(&format!("missing: {table}")), "{}", stderr(&out));

    // The administrator makes them (here: the sink as the owner, with nothing to read)
    // and grants a role only what docs/sinks.md lists.
    let empty = crate::common::topic("pg-least-empty");
    produce(&brokers, &empty, &["--count", "1"]);
    assert_ok(&run_within(
        sink(&brokers, &empty, &table, &unique("g")).args(["--idle-exit", "2s"]),
        Duration::from_secs(60),
    ));
    let role = unique("writer").replace('-', "_");
    client()
        .batch_execute(&format!(
            "CREATE ROLE {role} LOGIN;
             GRANT SELECT, INSERT, UPDATE ON {table}, orderstream_offsets, orderstream_dead_letters TO {role};"
        ))
        .unwrap();
    let as_role = url().replacen("postgres://postgres@", &format!("postgres://{role}@"), 1);
    assert_ne!(as_role, url(), "the test server's URL names the postgres user");
    // A report reading a view meanwhile does not hold the sink up: nothing is replaced.
    let mut report = client();
    let mut reading = report.transaction().unwrap();
    reading.query(&format!("SELECT * FROM {table}_by_day"), &[]).unwrap();
    let mut cmd = sink_at(&as_role, &brokers, &topic, &table, &unique("g"));
    cmd.args(["--postgres-manage-schema", "false", "--idle-exit", "3s"]);
    let out = run_within(&mut cmd, Duration::from_secs(120));
    assert_ok(&out);
    reading.commit().unwrap();
    assert_eq!(counts(&table).1, 3001);
}

#[test]
#[ignore = "needs Apache Kafka and PostgreSQL, which scripts/test starts"]
fn a_lock_held_on_the_table_makes_the_sink_say_it_waits() {
    let _server = shared();
    let (brokers, topic, table) = (real_brokers(), topic("pg-lock"), table());
    produce(&brokers, &topic, &["--count", "2000"]);
    // The table exists without its index; another session's open write holds a lock
    // that the index's creation must wait for.
    let empty = crate::common::topic("pg-lock-empty");
    produce(&brokers, &empty, &["--count", "1"]);
    assert_ok(&run_within(
        sink(&brokers, &empty, &table, &unique("g")).args(["--idle-exit", "2s"]),
        Duration::from_secs(60),
    ));
    client().batch_execute(&format!("DROP INDEX {table}_timestamp")).unwrap();
    let mut holder = client();
    let mut open = holder.transaction().unwrap();
    open.batch_execute(&format!("LOCK TABLE {table} IN ROW EXCLUSIVE MODE")).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("sink.log");
    let mut child =
        spawn_logged(sink(&brokers, &topic, &table, &unique("g")).args(["--idle-exit", "3s"]), &log);
    wait_for_log(&log, "waiting for a lock held by another session", &mut child);
    open.commit().unwrap();
    finish_logged(child, &log, Duration::from_secs(120));
    assert_eq!(counts(&table).1, 2001);
    let index: bool = client()
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&format!("{table}_timestamp")])
        .unwrap()
        .get(0);
    assert!(index);
}

#[test]
#[ignore = "needs Apache Kafka and PostgreSQL, which scripts/test starts"]
fn tls_modes_as_libpq_has_them_and_a_server_without_tls_is_refused_at_once() {
    let _server = shared();
    let (brokers, topic, table) = (real_brokers(), topic("pg-verify"), table());
    produce(&brokers, &topic, &["--count", "1000"]);
    let dir = std::env::var("ORDERSTREAM_POSTGRES_DIR")
        .expect("ORDERSTREAM_POSTGRES_DIR names the test server's state");
    let ca = Path::new(&dir).join("tls/ca.pem");
    for mode in ["verify-full", "verify-ca"] {
        let mode_url = format!("{}?sslmode={mode}", url());
        let mut cmd = sink_at(&mode_url, &brokers, &topic, &table, &unique("g"));
        cmd.args(["--idle-exit", "3s"]).arg("--postgres-ca").arg(&ca);
        assert_ok(&run_within(&mut cmd, Duration::from_secs(120)));
    }
    assert_eq!(counts(&table), (1000, 1000));

    // A server that answers the TLS request with "no": refused in seconds, not retried
    // for the retry time.
    let plain = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = plain.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in plain.incoming().flatten() {
            let mut stream = stream;
            let mut request = [0u8; 8];
            if std::io::Read::read_exact(&mut stream, &mut request).is_ok() {
                let _ = std::io::Write::write_all(&mut stream, b"N");
            }
        }
    });
    let started = Instant::now();
    let out = run_within(
        orderstream().args(["postgres", "--brokers", &brokers, "--topic", &topic]).args([
            "--postgres-url",
            &format!("postgres://postgres@{addr}/postgres?sslmode=require"),
            "--postgres-retry-for",
            "2m",
        ]),
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("does not support TLS"), "{}", stderr(&out));
    assert!(started.elapsed() < Duration::from_secs(15), "took {:?}", started.elapsed());
}

#[test]
#[ignore = "needs Apache Kafka and PostgreSQL, which scripts/test starts"]
fn a_table_dropped_and_made_again_gets_every_order_again() {
    let _server = shared();
    let (brokers, topic, table) = (real_brokers(), topic("pg-dropped"), table());
    produce(&brokers, &topic, &["--count", "2000"]);
    let sink_once = || {
        run_within(
            sink(&brokers, &topic, &table, &unique("g")).args(["--idle-exit", "3s"]),
            Duration::from_secs(120),
        )
    };
    assert_ok(&sink_once());
    client().batch_execute(&format!("DROP TABLE {table} CASCADE")).unwrap();
    let out = sink_once();
    assert_ok(&out);
    assert!(stderr(&out).contains("retired them"), "{}", stderr(&out));
    assert_eq!(counts(&table), (2000, 2000));
}

#[test]
#[ignore = "needs PostgreSQL, which scripts/test starts"]
fn run_does_not_wait_for_a_sink_that_has_stopped() {
    let _server = shared();
    let csv = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let out = run_within(
        run_embedded("2000", &table(), csv.path()).args(["--postgres-manage-schema", "false"]),
        Duration::from_secs(120),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("missing:"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("after 60 s"), "{}", stderr(&out));
    assert!(started.elapsed() < Duration::from_secs(40), "took {:?}", started.elapsed());
    assert_eq!(csv_ids(csv.path()).len(), 2000);
}

#[test]
#[ignore = "needs Apache Kafka and PostgreSQL, which scripts/test starts"]
fn records_deleted_after_the_stored_position_with_nothing_after_them_are_a_gap() {
    let _server = shared();
    let (brokers, topic, table) = (real_brokers(), topic("pg-deleted-tail"), table());
    produce(&brokers, &topic, &["--count", "1000", "--partitions", "2"]);
    let (csv, group) = (tempfile::tempdir().unwrap(), unique("g"));
    let consume = || {
        let mut cmd = orderstream();
        cmd.args([
            "consume",
            "--brokers",
            &brokers,
            "--topic",
            &topic,
            "--group",
            &group,
            "--idle-exit",
            "2s",
        ])
        .args(["--postgres-url", &url(), "--postgres-table", &table, "--csv-dir"])
        .arg(csv.path());
        run_within(&mut cmd, Duration::from_secs(120))
    };
    assert_ok(&consume());
    // Everything after the stored positions deleted: no message will ever show the jump.
    produce(&brokers, &topic, &["--count", "3000", "--partitions", "2"]);
    let reader: BaseConsumer = ClientConfig::new().set("bootstrap.servers", &brokers).create().unwrap();
    let mut tpl = TopicPartitionList::new();
    for partition in 0..2 {
        let (_, end) = reader.fetch_watermarks(&topic, partition, Duration::from_secs(10)).unwrap();
        tpl.add_partition_offset(&topic, partition, Offset::Offset(end)).unwrap();
    }
    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", &brokers).create().unwrap();
    futures_executor::block_on(admin.delete_records(&tpl, &AdminOptions::new())).unwrap();

    let out = consume();
    let text = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(text.contains("3000 missing from the CSV files"), "{text}");
    assert!(text.contains("3000 missing from the PostgreSQL table"), "{text}");
    let gaps: i64 = client()
        .query_one(
            "SELECT COUNT(*) FROM orderstream_dead_letters WHERE target = $1 AND topic = $2 AND reason LIKE 'gap:%'",
            &[&target(&table), &topic],
        )
        .unwrap()
        .get(0);
    assert_eq!(gaps, 2);
    // Recorded once: a second run finds nothing new missing.
    assert_ok(&consume());
}

/// `url` with a `search_path` of `schemas` for every session (libpq's `options`).
fn url_with_search_path(schemas: &str) -> String {
    let base = url();
    let joiner = if base.contains('?') { '&' } else { '?' };
    format!("{base}{joiner}options=-c%20search_path%3D{}", schemas.replace(',', "%2C"))
}

#[test]
#[ignore = "needs Apache Kafka and PostgreSQL, which scripts/test starts"]
fn tables_of_one_name_in_two_schemas_keep_offsets_of_their_own() {
    let _server = shared();
    let (brokers, topic, table) = (real_brokers(), topic("pg-schemas"), table());
    produce(&brokers, &topic, &["--count", "2000"]);
    let sink_once = |url: &str| {
        run_within(
            sink_at(url, &brokers, &topic, &table, &unique("g")).args(["--idle-exit", "3s"]),
            Duration::from_secs(120),
        )
    };
    assert_ok(&sink_once(&url()));
    // Offsets recorded under the plain name (as earlier versions did) are not used:
    // which table the name meant cannot be known. The topic is read again, and the ids
    // the table has are skipped.
    client()
        .execute("UPDATE orderstream_offsets SET target = $1 WHERE target = $2", &[&table, &target(&table)])
        .unwrap();
    let out = sink_once(&url());
    assert_ok(&out);
    assert_eq!(logged_number(&stderr(&out), "PostgreSQL sink finished", "duplicate_ids"), 2000);
    assert_eq!(counts(&table), (2000, 2000));

    // Emptied by hand: the offsets would skip every order, and the sink says so.
    client().batch_execute(&format!("TRUNCATE {table}")).unwrap();
    let out = sink_once(&url());
    assert_ok(&out);
    assert!(
        stderr(&out).contains("the table is empty, but offsets say orders were written"),
        "{}",
        stderr(&out)
    );
    client().execute("DELETE FROM orderstream_offsets WHERE target = $1", &[&target(&table)]).unwrap();
    assert_ok(&sink_once(&url()));
    assert_eq!(counts(&table), (2000, 2000));

    // A table of the same name in a schema of its own, which the sessions' search_path
    // finds first; the bookkeeping tables are found in public, holding the first
    // table's offsets. The second table gets every order all the same.
    let schema = unique("s").replace('-', "_");
    client()
        .batch_execute(&format!(
            "CREATE SCHEMA {schema}; CREATE TABLE {schema}.{table} (LIKE public.{table} INCLUDING ALL)"
        ))
        .unwrap();
    let out = sink_once(&url_with_search_path(&format!("{schema},public")));
    assert_ok(&out);
    assert_eq!(counts(&format!("{schema}.{table}")), (2000, 2000), "{}", stderr(&out));
    assert_eq!(counts(&table), (2000, 2000));
    let targets: Vec<String> = client()
        .query("SELECT DISTINCT target FROM orderstream_offsets WHERE topic = $1 ORDER BY 1", &[&topic])
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    // The plain name's rows stay, unused.
    let mut expected = vec![format!("{schema}.{table}"), target(&table), table.clone()];
    expected.sort();
    assert_eq!(targets, expected);
}

#[test]
#[ignore = "needs Apache Kafka and PostgreSQL, which scripts/test starts"]
fn a_trigger_that_drops_rows_stops_the_sink_and_loses_nothing_and_a_rule_is_refused() {
    let _server = shared();
    let (brokers, topic, table, group) = (real_brokers(), topic("pg-trigger"), table(), unique("g"));
    // The table, made by the sink with one order to write.
    let first = crate::common::topic("pg-trigger-first");
    produce(&brokers, &first, &["--count", "1"]);
    assert_ok(&run_within(
        sink(&brokers, &first, &table, &unique("g")).args(["--idle-exit", "2s"]),
        Duration::from_secs(60),
    ));
    client()
        .batch_execute(&format!(
            "CREATE FUNCTION {table}_drop() RETURNS trigger LANGUAGE plpgsql AS
               $$ BEGIN IF NEW.id % 3 = 0 THEN RETURN NULL; END IF; RETURN NEW; END $$;
             CREATE TRIGGER {table}_drop BEFORE INSERT ON {table}
               FOR EACH ROW EXECUTE FUNCTION {table}_drop();"
        ))
        .unwrap();
    produce(&brokers, &topic, &["--count", "3000"]);
    let sink_once = || {
        run_within(
            sink(&brokers, &topic, &table, &group).args(["--idle-exit", "3s"]),
            Duration::from_secs(120),
        )
    };
    let out = sink_once();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("a trigger on the table drops rows"), "{}", stderr(&out));
    assert!(counts(&table).0 < 3001, "the refused batch was not committed");

    client().batch_execute(&format!("DROP TRIGGER {table}_drop ON {table}")).unwrap();
    assert_ok(&sink_once());
    assert_eq!(counts(&table), (3001, 3001));

    // A rule would be bypassed by COPY: refused when the table is checked, named.
    client()
        .batch_execute(&format!("CREATE RULE {table}_nothing AS ON INSERT TO {table} DO INSTEAD NOTHING"))
        .unwrap();
    let out = sink_once();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains(&format!("rule {table}_nothing rewrites inserts")), "{}", stderr(&out));
}

#[test]
#[ignore = "needs Apache Kafka and PostgreSQL, which scripts/test starts"]
fn a_rebalance_after_a_database_restart_reads_the_offsets_on_a_new_connection() {
    let _server = exclusive();
    let (brokers, topic, table, group) =
        (real_brokers(), topic("pg-restart-rebalance"), table(), unique("g"));
    produce(&brokers, &topic, &["--count", "20000"]);
    let work = tempfile::tempdir().unwrap();
    let (log_a, log_b) = (work.path().join("a.log"), work.path().join("b.log"));
    let spawn =
        |log: &Path| spawn_logged(sink(&brokers, &topic, &table, &group).args(["--idle-exit", "120s"]), log);
    let rows_reach = |n: i64, a: &mut std::process::Child| {
        let deadline = Instant::now() + Duration::from_secs(120);
        while rows_now(&table) < n {
            assert!(Instant::now() < deadline && a.try_wait().unwrap().is_none(), "{n} rows not reached");
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    let mut a = spawn(&log_a);
    rows_reach(20000, &mut a);
    // a is idle: its connections die with the restart, and nothing writes meanwhile.
    restart_server();
    let mut b = spawn(&log_b);
    wait_for_log(&log_b, "PostgreSQL partitions assigned", &mut b);
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::read_to_string(&log_a).unwrap().matches("PostgreSQL partitions assigned").count() < 2 {
        assert!(
            Instant::now() < deadline && a.try_wait().unwrap().is_none(),
            "a was not given partitions again"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    produce(&brokers, &topic, &["--count", "20000"]);
    rows_reach(40000, &mut a);
    sigterm(&a);
    sigterm(&b);
    let a_log = finish_logged(a, &log_a, Duration::from_secs(60));
    finish_logged(b, &log_b, Duration::from_secs(60));
    assert!(a_log.contains("reading the table's offsets failed; reconnecting"), "{a_log}");
    assert_exactly_once(&topic_ids(&brokers, &topic), &table_ids(&table));
}

#[test]
#[ignore = "needs Apache Kafka, which scripts/test starts"]
fn a_server_that_accepts_and_never_answers_is_given_up_on_with_the_reason() {
    let brokers = real_brokers();
    // Accepts connections and reads, but never says a word.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in silent.incoming().flatten() {
            held.push(stream);
        }
    });
    let started = Instant::now();
    let url = format!("postgres://postgres@{addr}/postgres");
    let out = run_within(
        sink_at(&url, &brokers, &topic("pg-silent"), &table(), &unique("g")).args([
            "--postgres-retry-for",
            "5s",
            "--idle-exit",
            "2s",
        ]),
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("timeout") || stderr(&out).contains("timed out"), "{}", stderr(&out));
    assert!(started.elapsed() < Duration::from_secs(30), "took {:?}", started.elapsed());
}
