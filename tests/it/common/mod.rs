//! Helpers shared by the integration tests: the broker under test, unique names, the
//! binary, and readers that check what landed in the CSV files and in the topic.

pub mod fake_google;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

/// The environment variable naming the Apache Kafka broker that `scripts/test` starts.
pub const BROKERS_ENV: &str = "ORDERSTREAM_TEST_BROKERS";

/// The broker under test: Apache Kafka when `scripts/test` started one, else (the fast
/// tier of a plain `cargo test`) one librdkafka mock cluster shared by this process's
/// tests, which speaks the Kafka protocol on a loopback port to the spawned binaries.
pub fn brokers() -> String {
    match std::env::var(BROKERS_ENV) {
        Ok(brokers) => brokers,
        Err(_) => mock_cluster().bootstrap.clone(),
    }
}

/// Apache Kafka itself, for a test that needs what the mock cluster lacks (retention,
/// delete-records, broker restarts, topic configs). Such tests are `#[ignore]`d in the
/// fast tier; `scripts/test` runs them. Missing here is a failure, never a skip.
pub fn real_brokers() -> String {
    std::env::var(BROKERS_ENV).unwrap_or_else(|_| {
        panic!("{BROKERS_ENV} is not set: this test needs Apache Kafka; run it with scripts/test, which starts one")
    })
}

/// A fresh topic name for the broker under test, with the orderstream default of six
/// partitions.
pub fn topic(prefix: &str) -> String {
    topic_with(prefix, 6)
}

/// A fresh topic name. On Apache Kafka the binary creates the topic itself; the mock
/// cluster does not serve topic creation to clients, so there the topic and its
/// dead-letter topic are made here with `partitions` partitions.
pub fn topic_with(prefix: &str, partitions: i32) -> String {
    let name = unique(prefix);
    if std::env::var(BROKERS_ENV).is_err() {
        let (reply, answer) = std::sync::mpsc::channel();
        let requests =
            mock_cluster().requests.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        requests.send((name.clone(), partitions, reply)).expect("the mock cluster's thread runs");
        answer.recv().expect("the mock cluster answers").unwrap_or_else(|e| panic!("mock topic {name}: {e}"));
    }
    name
}

/// A request to the mock cluster's thread: create this topic (and its `.dlq`) with so
/// many partitions, and say how it went.
type TopicRequest = (String, i32, std::sync::mpsc::Sender<Result<(), String>>);

/// The in-process mock cluster: its address, and the way to its owning thread.
struct MockKafka {
    bootstrap: String,
    requests: std::sync::Mutex<std::sync::mpsc::Sender<TopicRequest>>,
}

/// The shared mock cluster, started on first use. It lives on a thread of its own (the
/// cluster handle cannot move between threads) for the rest of the test process.
fn mock_cluster() -> &'static MockKafka {
    static MOCK: std::sync::OnceLock<MockKafka> = std::sync::OnceLock::new();
    MOCK.get_or_init(|| {
        let (ready, address) = std::sync::mpsc::channel();
        let (requests, incoming) = std::sync::mpsc::channel::<TopicRequest>();
        std::thread::Builder::new()
            .name("mock-kafka".into())
            .spawn(move || {
                let cluster = rdkafka::mocking::MockCluster::new(1).expect("start the mock Kafka cluster");
                ready.send(cluster.bootstrap_servers()).expect("hand over the address");
                for (name, partitions, reply) in incoming {
                    let made = cluster
                        .create_topic(&name, partitions, 1)
                        .and_then(|()| cluster.create_topic(&format!("{name}.dlq"), 1, 1))
                        .map_err(|e| e.to_string());
                    let _ = reply.send(made);
                }
            })
            .expect("spawn the mock cluster's thread");
        let bootstrap = address.recv().expect("the mock cluster's address");
        MockKafka { bootstrap, requests: std::sync::Mutex::new(requests) }
    })
}

/// A name no other test (or earlier run) uses.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::from_u128(rand::random()).simple())
}

/// The orderstream binary with a clean environment (no stray ORDERSTREAM_* settings).
pub fn orderstream() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_orderstream"));
    for (key, _) in std::env::vars() {
        // The clock override is kept: the suite runs again at chosen times of day.
        if key.starts_with("ORDERSTREAM_") && key != orderstream::clock::CLOCK_ENV {
            cmd.env_remove(key);
        }
    }
    cmd.env("ORDERSTREAM_LOG", "info,librdkafka=warn");
    cmd
}

/// Runs a command to completion, failing the test if it does not end within `limit`.
pub fn run_within(cmd: &mut Command, limit: Duration) -> Output {
    let child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn orderstream");
    wait_output(child, limit)
}

/// Waits for a spawned child with piped output (read while it runs, so a chatty child
/// cannot block on a full pipe), killing it after `limit`.
pub fn wait_output(child: Child, limit: Duration) -> Output {
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out.expect("collect output"),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            let out = rx.recv().expect("output after kill").expect("collect output");
            panic!(
                "command did not finish within {limit:?}; stderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// A command's stderr as text, for assertions and failure messages.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Zloty text with up to two decimals (`1234.5`) in grosz.
pub fn grosz(text: &str) -> i64 {
    let (zl, gr) = text.split_once('.').unwrap_or((text, "0"));
    zl.parse::<i64>().unwrap() * 100 + format!("{gr:0<2}")[..2].parse::<i64>().unwrap()
}

/// The resident memory of process `pid`, in kB.
pub fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Asserts success, showing stderr otherwise.
pub fn assert_ok(out: &Output) {
    assert!(out.status.success(), "exit {:?}; stderr:\n{}", out.status, String::from_utf8_lossy(&out.stderr));
}

/// Every order id in the CSV files of `dir`, with how often it appears. Also checks
/// that every file has the order record's header exactly once, at the top, and 15 fields per row.
pub fn csv_ids(dir: &Path) -> HashMap<u64, u32> {
    let mut ids = HashMap::new();
    for path in csv_files(dir) {
        let mut reader = csv::ReaderBuilder::new().has_headers(true).from_path(&path).expect("open csv");
        let header = reader.headers().expect("header").clone();
        assert_eq!(header.iter().collect::<Vec<_>>(), orderstream::order::CSV_HEADER, "{}", path.display());
        for record in reader.records() {
            let record = record.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(record.len(), 15, "{}: {record:?}", path.display());
            assert_ne!(&record[0], "id", "{}: a second header", path.display());
            let id: u64 =
                record[0].parse().unwrap_or_else(|_| panic!("{}: bad id {:?}", path.display(), &record[0]));
            *ids.entry(id).or_insert(0) += 1;
        }
    }
    ids
}

/// The CSV files of a directory, sorted.
pub fn csv_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.map(|e| e.expect("dir entry").path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "csv"));
    files.sort();
    files
}

/// Orders and gross value in grosz per (Polish day, region) in the CSV files of `dir`: what
/// a warehouse's by-day view must add up to.
pub fn csv_sums_by_day_and_region(dir: &Path) -> std::collections::BTreeMap<(String, String), (i64, i64)> {
    let mut sums = std::collections::BTreeMap::new();
    for file in csv_files(dir) {
        let mut reader = csv::Reader::from_path(&file).unwrap();
        for record in reader.records() {
            let record = record.unwrap();
            let entry =
                sums.entry((record[1][..10].to_string(), record[3].to_string())).or_insert((0i64, 0i64));
            entry.0 += 1;
            entry.1 += grosz(&record[13]);
        }
    }
    sums
}

/// The text columns a person reads (store, product, brand, salesperson) of every order in
/// the CSV files of `dir`, by id: what every other sink must carry letter for letter.
pub fn csv_names(dir: &Path) -> HashMap<u64, [String; 4]> {
    let mut names = HashMap::new();
    for file in csv_files(dir) {
        let mut reader = csv::Reader::from_path(&file).unwrap();
        for record in reader.records() {
            let r = record.unwrap();
            let id: u64 = r[0].parse().unwrap();
            names.insert(id, [r[2].to_string(), r[8].to_string(), r[9].to_string(), r[14].to_string()]);
        }
    }
    // Polish letters are in the data, or the comparison would prove little.
    assert!(names.values().any(|n| !n[0].is_ascii()), "no store with a Polish letter");
    assert!(names.values().any(|n| !n[1].is_ascii()), "no product with a Polish letter");
    names
}

/// Every message of `topic`, read from the beginning to the high watermarks.
pub fn topic_messages(brokers: &str, topic: &str) -> Vec<(Option<Vec<u8>>, Vec<u8>)> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", unique("reader"))
        .set("enable.auto.commit", "false")
        .create()
        .expect("reader");
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10)).expect("metadata");
    let partitions: Vec<i32> =
        metadata.topics()[0].partitions().iter().map(rdkafka::metadata::MetadataPartition::id).collect();
    let mut tpl = TopicPartitionList::new();
    let mut remaining = 0i64;
    for &p in &partitions {
        let (low, high) = consumer.fetch_watermarks(topic, p, Duration::from_secs(10)).expect("watermarks");
        remaining += high - low;
        tpl.add_partition_offset(topic, p, Offset::Beginning).expect("tpl");
    }
    consumer.assign(&tpl).expect("assign");
    let mut out = Vec::with_capacity(remaining as usize);
    let deadline = Instant::now() + Duration::from_secs(120);
    while (out.len() as i64) < remaining {
        assert!(Instant::now() < deadline, "read only {} of {remaining} messages of {topic}", out.len());
        if let Some(m) = consumer.poll(Duration::from_millis(200)) {
            let m = m.expect("message");
            out.push((m.key().map(<[u8]>::to_vec), m.payload().unwrap_or_default().to_vec()));
        }
    }
    out
}

/// Order ids in a topic, with how often each appears.
pub fn topic_ids(brokers: &str, topic: &str) -> HashMap<u64, u32> {
    let mut ids = HashMap::new();
    for (_, payload) in topic_messages(brokers, topic) {
        let order = orderstream::order::decode_json(&payload, &orderstream::generate::builtin_catalogue())
            .expect("topic holds valid orders");
        *ids.entry(order.id).or_insert(0) += 1;
    }
    ids
}

/// Sends raw payloads to a topic (for bad-input tests) and waits for the acks.
pub fn send_raw(brokers: &str, topic: &str, payloads: &[&[u8]]) {
    let producer: BaseProducer =
        ClientConfig::new().set("bootstrap.servers", brokers).create().expect("producer");
    for payload in payloads {
        producer.send(BaseRecord::<[u8], [u8]>::to(topic).key(b"raw").payload(payload)).expect("send");
    }
    producer.flush(Duration::from_secs(30)).expect("flush");
}

/// Asserts that `csv` holds exactly the ids of `topic`, each once.
pub fn assert_exactly_once(topic: &HashMap<u64, u32>, csv: &HashMap<u64, u32>) {
    let dup_topic = topic.values().filter(|n| **n > 1).count();
    assert_eq!(dup_topic, 0, "the topic itself holds duplicate ids");
    let dups: Vec<_> = csv.iter().filter(|(_, n)| **n > 1).take(5).collect();
    assert!(dups.is_empty(), "ids written more than once, e.g. {dups:?}");
    let missing: Vec<_> = topic.keys().filter(|id| !csv.contains_key(id)).take(5).collect();
    let extra: Vec<_> = csv.keys().filter(|id| !topic.contains_key(id)).take(5).collect();
    assert!(
        missing.is_empty(),
        "{} ids missing from the CSV, e.g. {missing:?}",
        topic.len() - csv.len().min(topic.len())
    );
    assert!(extra.is_empty(), "ids in the CSV that are not in the topic, e.g. {extra:?}");
    assert_eq!(csv.len(), topic.len());
}

/// A broker of one test's own, for a test that stops and restarts it: the shared broker
/// of the suite serves the other tests running at the same time. Started by
/// `scripts/kafka-local` in a temp dir, stopped when dropped.
pub struct PrivateKafka {
    state: tempfile::TempDir,
    /// Its bootstrap address.
    pub brokers: String,
}

impl PrivateKafka {
    /// Starts a broker (installed by `scripts/test`, like the shared one).
    pub fn start() -> PrivateKafka {
        PrivateKafka::start_with(false)
    }

    /// Starts a broker that also listens with SASL_SSL and mutual TLS (see
    /// `scripts/kafka-local`); [`PrivateKafka::secure`] tells where.
    pub fn start_secure() -> PrivateKafka {
        PrivateKafka::start_with(true)
    }

    fn start_with(secure: bool) -> PrivateKafka {
        let state = tempfile::Builder::new().prefix("orderstream-private-kafka").tempdir().unwrap();
        let out = PrivateKafka::run(state.path(), "start", secure);
        let brokers = out.lines().last().expect("kafka-local prints the address last").trim().to_string();
        PrivateKafka { state, brokers }
    }

    /// A value of a secured broker's `secure` file: `sasl_ssl`, `mtls` (addresses),
    /// `ca`, `other_ca`, `client_certificate`, `client_key`, `user`, `password_file`.
    pub fn secure(&self, key: &str) -> String {
        let text = std::fs::read_to_string(self.state.path().join("secure")).expect("a secured broker");
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("no {key} in {text}"))
            .to_string()
    }

    /// Stops the broker and starts it again on the same port with the same data.
    pub fn restart(&self) {
        PrivateKafka::run(self.state.path(), "stop", false);
        PrivateKafka::run(self.state.path(), "start", false);
    }

    fn run(state: &Path, action: &str, secure: bool) -> String {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/kafka-local");
        let mut command = Command::new(script);
        command.arg(action).env("ORDERSTREAM_KAFKA_DIR", state);
        if secure {
            command.env("ORDERSTREAM_KAFKA_SECURE", "1");
        }
        let out = command.output().expect("run scripts/kafka-local");
        assert!(
            out.status.success(),
            "kafka-local {action} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for PrivateKafka {
    fn drop(&mut self) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/kafka-local");
        let _ = Command::new(script).arg("stop").env("ORDERSTREAM_KAFKA_DIR", self.state.path()).output();
    }
}

/// Spawns with stdout and stderr piped, for [`wait_output`].
pub fn spawn_piped(cmd: &mut Command) -> Child {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn orderstream")
}

/// Spawns with stderr appended to `log` (several runs can share one log).
pub fn spawn_logged(cmd: &mut Command, log: &Path) -> Child {
    let log = std::fs::File::options().create(true).append(true).open(log).expect("open log");
    cmd.stdout(Stdio::null()).stderr(log).spawn().expect("spawn orderstream")
}

/// Asks a child to stop gracefully.
pub fn sigterm(child: &Child) {
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
    assert!(status.success());
}

/// The number logged as `name=N` on the first line of `log` that contains `marker`.
pub fn logged_number(log: &str, marker: &str, name: &str) -> usize {
    log.lines()
        .find(|l| l.contains(marker))
        .and_then(|l| l.split(&format!("{name}=")).nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {name}= on a {marker:?} line in:\n{log}"))
}

/// Waits (up to 2 minutes) until `log` contains `marker`, failing if `child` exits first;
/// returns the log so far.
pub fn wait_for_log(log: &Path, marker: &str, child: &mut Child) -> String {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.contains(marker) {
            return text;
        }
        let running = child.try_wait().expect("child status").is_none();
        assert!(running && Instant::now() < deadline, "no {marker:?} in the log:\n{text}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits for a logged child; fails the test after `limit` or on a failed exit; returns
/// the log.
pub fn finish_logged(mut child: Child, log: &Path, limit: Duration) -> String {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            assert!(status.success(), "exit {status:?}:\n{text}");
            return text;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("no exit within {limit:?}:\n{}", std::fs::read_to_string(log).unwrap_or_default());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Stops a logged sink that has no idle exit once `written()` reaches `wanted` (polled
/// every `every`, for at most `limit`), and returns its log: a sink whose own partitions
/// are done early must not leave before it has taken over another member's.
pub fn stop_when_written(
    mut child: Child,
    log: &Path,
    wanted: usize,
    written: impl Fn() -> usize,
    every: Duration,
    limit: Duration,
) -> String {
    let deadline = Instant::now() + limit;
    while written() < wanted {
        let running = child.try_wait().unwrap().is_none();
        assert!(
            running && Instant::now() < deadline,
            "the sink did not write the rest:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(every);
    }
    sigterm(&child);
    finish_logged(child, log, Duration::from_secs(120))
}

/// A loopback address whose port nothing listens on now, for a server a test starts
/// (the kernel hands out a fresh port; the listener is dropped at once).
pub fn free_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("its address").to_string()
}

/// Waits (up to 2 minutes) until the HTTP server at `addr` answers `/readyz` with 200:
/// the consumer behind it holds its partitions. Fails if `child` exits first.
pub fn wait_ready(addr: &str, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(120);
    let agent: ureq::Agent =
        ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(2))).build().into();
    loop {
        match agent.get(&format!("http://{addr}/readyz")).call() {
            Ok(response) if response.status() == 200 => return,
            _ => {}
        }
        let running = child.try_wait().expect("child status").is_none();
        assert!(running, "the server at {addr} exited before it was ready");
        assert!(Instant::now() < deadline, "{addr}/readyz did not answer 200 within 2 minutes");
        std::thread::sleep(Duration::from_millis(100));
    }
}
