//! Kafka → PostgreSQL through the `watershed` binary, against a real
//! Kafka-protocol broker (tansu, from the testkit): Debezium's own
//! captured records land as MariaDB holds the same rows; three processes
//! of one consumer group share six partitions and every record lands
//! exactly once (with a member killed, against a real Kafka); plain JSON
//! readings are validated, the bad ones kept as dead letters with their
//! reason.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use serde_json::Value as Json;
use support::{wait_until, watershed};
use watershed_testkit::{Kafka, MariaDb, Postgres, unique_name};

/// A record's key and value.
type KafkaRecord = (Option<Vec<u8>>, Option<Vec<u8>>);

const FIXTURES: &str = "../sinks/tests/fixtures/debezium/mysql";

fn create_topic(brokers: &str, topic: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    let results = runtime
        .block_on(admin.create_topics([&new], &AdminOptions::new()))
        .unwrap();
    for result in results {
        result.unwrap();
    }
}

fn produce(brokers: &str, topic: &str, records: &[KafkaRecord]) {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("linger.ms", "5")
        .create()
        .unwrap();
    for (key, value) in records {
        let mut record: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(topic);
        if let Some(key) = key {
            record = record.key(key);
        }
        if let Some(value) = value {
            record = record.payload(value);
        }
        let mut record = record;
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((_, back)) => {
                    record = back;
                    producer.poll(Duration::from_millis(50));
                }
            }
        }
        producer.poll(Duration::ZERO);
    }
    producer.flush(Duration::from_secs(30)).unwrap();
}

/// A pipeline file in a temporary folder; processes log to files there.
struct Pipeline {
    dir: tempfile::TempDir,
    file: PathBuf,
    dwh: String,
}

impl Pipeline {
    fn new(name: &str, source: &str) -> Self {
        let pg = Postgres::shared();
        let dwh = pg.create_database("dwh").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pipeline.yaml");
        let text = format!(
            "name: {name}\n\
             source: {source}\n\
             sink: {{ kind: postgres, url: \"{}\", schema: raw }}\n\
             defaults: {{ batch: {{ max_rows: 2000, max_delay_ms: 50 }} }}\n\
             retry: {{ max_attempts: 50, initial_backoff_ms: 100, max_backoff_ms: 1000 }}\n",
            pg.url(&dwh)
        );
        std::fs::write(&file, text).unwrap();
        Self { dir, file, dwh }
    }

    /// Process `n`, logging to files of its own.
    fn spawn(&self, n: usize, listen: &str) -> Child {
        let log = |kind: &str| {
            std::fs::File::create(self.dir.path().join(format!("run-{n}.{kind}"))).unwrap()
        };
        watershed()
            .args(["run", "-c", self.file.to_str().unwrap(), "--listen", listen])
            .stdout(Stdio::from(log("out")))
            .stderr(Stdio::from(log("err")))
            .spawn()
            .unwrap()
    }

    fn logs(&self) -> String {
        let mut all = String::new();
        for entry in std::fs::read_dir(self.dir.path()).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "err") {
                all += &format!("--- {}\n", path.display());
                all += &std::fs::read_to_string(&path).unwrap_or_default();
            }
        }
        all
    }

    fn query(&self, sql: &str) -> String {
        Postgres::shared()
            .sql(&self.dwh, sql)
            .map(|s| s.trim().to_owned())
            .unwrap_or_default()
    }
}

fn fixture_records(scenario: &str) -> Vec<KafkaRecord> {
    let file = Path::new(FIXTURES).join(format!("{scenario}.jsonl"));
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str::<Json>(line).unwrap())
        .filter(|r| r["topic"] == "shop.shop.type_matrix")
        .map(|r| {
            let bytes = |v: &Json| (!v.is_null()).then(|| v.to_string().into_bytes());
            (bytes(&r["key"]), bytes(&r["value"]))
        })
        .collect()
}

/// The scenario file's statements, block by block, for database `db`.
fn scenario_sql(db: &str) -> String {
    let text = std::fs::read_to_string(Path::new(FIXTURES).join("scenario.sql")).unwrap();
    let mut out = String::from("SET time_zone = '+00:00'; SET NAMES utf8mb4;\n");
    for line in text.lines().filter(|l| !l.starts_with("--")) {
        let line = line.replace(" shop", &format!(" {db}"));
        if line.starts_with("CREATE DATABASE") {
            continue;
        }
        out += &line;
        out.push('\n');
    }
    out
}

const SCENARIOS: [&str; 7] = [
    "snapshot",
    "insert",
    "update",
    "update_pk",
    "delete",
    "truncate",
    "schema_change",
];

#[test]
fn debeziums_own_records_land_as_mariadb_holds_the_rows() {
    let broker = Kafka::shared();
    let brokers = broker.brokers();
    let topic = unique_name("dbz");
    create_topic(&brokers, &topic, 1);
    let records: Vec<_> = SCENARIOS.iter().flat_map(|s| fixture_records(s)).collect();
    produce(&brokers, &topic, &records);

    let maria = MariaDb::shared();
    let db = maria.create_database("dbz").unwrap();
    maria
        .sql(&format!("USE {db};\n{}", scenario_sql(&db)))
        .unwrap();

    let group = unique_name("g");
    let pipeline = Pipeline::new(
        "dbz",
        &format!(
            "{{ kind: kafka, brokers: \"{brokers}\", group: {group}, topics: [\"{topic}\"] }}"
        ),
    );
    let child = pipeline.spawn(0, "127.0.0.1:0");
    let expected: i64 = maria
        .sql(&format!("SELECT count(*) FROM {db}.type_matrix"))
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let columns =
        "id, c_varchar, c_text, c_decimal_65_30, c_decimal_10_2, c_date, c_enum, c_int, c_added";
    wait_until("the records to land", Duration::from_secs(60), || {
        pipeline.query("SELECT count(*) FROM raw.type_matrix WHERE c_added IS NOT NULL")
            == expected.to_string()
            && pipeline.query("SELECT count(*) FROM raw.type_matrix") == expected.to_string()
    });
    let theirs = maria
        .sql(&format!(
            "SELECT MD5(GROUP_CONCAT(CONCAT_WS('|', {columns}) ORDER BY id SEPARATOR '\\n')) \
             FROM {db}.type_matrix"
        ))
        .unwrap();
    let ours = pipeline.query(&format!(
        "SELECT md5(string_agg(concat_ws('|', {columns}), E'\\n' ORDER BY id)) FROM raw.type_matrix"
    ));
    assert_eq!(
        theirs.lines().last().unwrap().trim(),
        ours,
        "{}",
        pipeline.logs()
    );
    stop_cleanly_with_logs(child, &pipeline);
}

fn stop_cleanly_with_logs(child: Child, pipeline: &Pipeline) {
    let id = child.id();
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &id.to_string()])
        .status();
    let mut child = child;
    let status = child.wait().unwrap();
    assert!(status.success(), "exit {status}: {}", pipeline.logs());
}

/// `WATERSHED_TEST_KAFKA=host:port` names a real Kafka for what tansu
/// 0.6 gets wrong: its group coordinator keeps a killed member in the group
/// (and assigns it partitions) instead of evicting it when its session
/// expires, so the survivors never take the dead member's partitions over.
fn real_kafka() -> Option<String> {
    let brokers = std::env::var("WATERSHED_TEST_KAFKA").ok();
    if brokers.is_none() {
        eprintln!("skipped: set WATERSHED_TEST_KAFKA=host:port (a real Kafka)");
    }
    brokers
}

fn numbered_events(from: u64, to: u64) -> Vec<KafkaRecord> {
    (from..to)
        .map(|id| {
            let value = format!("{{\"id\": {id}, \"note\": \"event {id}\"}}");
            (Some(id.to_string().into_bytes()), Some(value.into_bytes()))
        })
        .collect()
}

/// A group's pipeline on `topic`, into a target table without a key: a
/// record applied twice would be a second row.
fn group_pipeline(brokers: &str, topic: &str) -> Pipeline {
    let group = unique_name("g");
    Pipeline::new(
        "scale",
        &format!(
            "{{ kind: kafka, brokers: \"{brokers}\", group: {group}, topics: [\"{topic}\"], \
             format: json, table: events, columns: {{ id: bigint, note: text }}, max_chunk: 500, \
             properties: {{ session.timeout.ms: \"6000\", heartbeat.interval.ms: \"500\", \
             max.poll.interval.ms: \"7000\" }} }}"
        ),
    )
}

/// Waits until `expected` rows landed, then checks none came twice and the
/// stored offsets add up to them.
fn expect_exactly(pipeline: &Pipeline, expected: i64) {
    let count = || -> i64 {
        pipeline
            .query("SELECT count(*) FROM raw.events")
            .parse()
            .unwrap_or(0)
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while count() < expected {
        assert!(
            std::time::Instant::now() < deadline,
            "{} of {expected} rows after 120 s; checkpoint {}\n{}",
            count(),
            pipeline.query("SELECT position::text FROM raw._watershed_checkpoints"),
            pipeline.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Nothing more may arrive: a late duplicate would show here.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(count(), expected, "{}", pipeline.logs());
    assert_eq!(
        pipeline.query("SELECT count(DISTINCT id) FROM raw.events"),
        expected.to_string(),
        "{}",
        pipeline.logs()
    );
    let offsets = pipeline.query("SELECT position::text FROM raw._watershed_checkpoints");
    let stored: Json = serde_json::from_str(&offsets).unwrap();
    let total: i64 = stored["offsets"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_i64().unwrap())
        .sum();
    assert_eq!(total, expected, "{offsets}");
}

/// Three members of one group share six partitions while records keep
/// arriving; every record lands exactly once through the rebalances of
/// their joining (the offset fence refuses a batch whose partition moved).
#[test]
fn three_members_share_six_partitions_and_apply_each_record_once() {
    let brokers = Kafka::shared().brokers();
    let topic = unique_name("events");
    create_topic(&brokers, &topic, 6);
    produce(&brokers, &topic, &numbered_events(0, 20_000));
    let pipeline = group_pipeline(&brokers, &topic);
    let members: Vec<Child> = (0..3).map(|n| pipeline.spawn(n, "127.0.0.1:0")).collect();
    produce(&brokers, &topic, &numbered_events(20_000, 30_000));
    expect_exactly(&pipeline, 30_000);
    for member in members {
        stop_cleanly_with_logs(member, &pipeline);
    }
}

/// One of three members is killed with SIGKILL mid-run; the survivors take
/// its partitions over from the sink's offsets, and every record lands
/// exactly once. Needs a real Kafka (see [`real_kafka`]).
#[test]
fn a_member_killed_mid_run_loses_and_repeats_nothing() {
    let Some(brokers) = real_kafka() else { return };
    let topic = unique_name("events");
    create_topic(&brokers, &topic, 6);
    produce(&brokers, &topic, &numbered_events(0, 20_000));
    let pipeline = group_pipeline(&brokers, &topic);
    let mut members: Vec<Child> = (0..3).map(|n| pipeline.spawn(n, "127.0.0.1:0")).collect();
    wait_until("the first rows", Duration::from_secs(60), || {
        pipeline
            .query("SELECT count(*) FROM raw.events")
            .parse()
            .unwrap_or(0)
            > 2_000
    });
    let mut victim = members.remove(1);
    victim.kill().unwrap();
    victim.wait().unwrap();
    produce(&brokers, &topic, &numbered_events(20_000, 30_000));
    expect_exactly(&pipeline, 30_000);
    for member in members {
        stop_cleanly_with_logs(member, &pipeline);
    }
}

/// Heart-rate readings as plain JSON: valid ones land in `heartbeats`,
/// invalid ones (out of range, in the future, missing a field, not JSON)
/// go to `_ws_dead_letters` with the reason, and are counted.
#[test]
fn invalid_readings_become_dead_letters_with_their_reason() {
    let broker = Kafka::shared();
    let brokers = broker.brokers();
    let topic = unique_name("heartbeats");
    create_topic(&brokers, &topic, 2);
    let mut records: Vec<KafkaRecord> = (0..100)
        .map(|i| {
            let value = format!(
                "{{\"customer_id\": {}, \"ts\": \"2026-01-01T00:{:02}:{:02}Z\", \"heart_rate\": {}}}",
                i % 7,
                i / 60,
                i % 60,
                60 + i % 40
            );
            (Some((i % 7).to_string().into_bytes()), Some(value.into_bytes()))
        })
        .collect();
    for bad in [
        r#"{"customer_id": 1, "ts": "2026-01-01T01:00:00Z", "heart_rate": 300}"#,
        r#"{"customer_id": 1, "ts": "2999-01-01T00:00:00Z", "heart_rate": 70}"#,
        r#"{"customer_id": 1, "heart_rate": 70}"#,
        "not json at all",
    ] {
        records.push((Some(b"1".to_vec()), Some(bad.as_bytes().to_vec())));
    }
    produce(&brokers, &topic, &records);

    let pipeline = Pipeline::new(
        "hr",
        &format!(
            "{{ kind: kafka, brokers: \"{brokers}\", group: {}, topics: [\"{topic}\"], format: json, \
             table: heartbeats, key: [customer_id, ts], \
             columns: {{ customer_id: bigint, ts: timestamptz, heart_rate: int }}, \
             validate: [\"heart_rate between 20 and 250\", \"ts <= now()\"] }}",
            unique_name("g")
        ),
    );
    let listen = free_addr();
    let child = pipeline.spawn(0, &listen);
    wait_until("readings and dead letters", Duration::from_secs(60), || {
        pipeline.query("SELECT count(*) FROM raw.heartbeats") == "100"
            && pipeline.query("SELECT count(*) FROM raw._ws_dead_letters") == "4"
    });
    let reasons = pipeline.query("SELECT error FROM raw._ws_dead_letters ORDER BY error");
    for reason in [
        "fails `heart_rate between 20 and 250` (heart_rate = 300)",
        "fails `ts <= now()`",
        "field `ts` is missing",
        "value is not JSON",
    ] {
        assert!(reasons.contains(reason), "{reason} not in {reasons}");
    }
    let kept = pipeline.query(&format!(
        "SELECT count(*) FROM raw._ws_dead_letters WHERE topic = '{topic}' AND value IS NOT NULL"
    ));
    assert_eq!(kept, "4");
    let metrics = http_get(&listen, "/metrics");
    assert!(
        metrics.contains(&format!(
            "watershed_dead_letters_total{{pipeline=\"hr\",origin=\"{topic}\"}} 4"
        )),
        "{metrics}"
    );
    stop_cleanly_with_logs(child, &pipeline);
}

/// `dead_letter: { kind: kafka }` with a PostgreSQL sink: the rows land in
/// PostgreSQL, the records that cannot be applied go to the named topic
/// (each once, with its origin and reason) and none to `_ws_dead_letters`;
/// a restart from the checkpoint writes no dead letter again.
#[test]
fn dead_letters_go_to_a_kafka_topic_when_the_sink_is_postgres() {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::message::Message;
    let brokers = Kafka::shared().brokers();
    let topic = unique_name("readings");
    let letters = unique_name("letters");
    create_topic(&brokers, &topic, 2);
    let reading = |i: usize, rate: usize| -> KafkaRecord {
        let value = format!(
            "{{\"customer_id\": {i}, \"ts\": \"2026-01-01T00:00:{:02}Z\", \"heart_rate\": {rate}}}",
            i % 60
        );
        (Some(i.to_string().into_bytes()), Some(value.into_bytes()))
    };
    let mut records: Vec<KafkaRecord> = (0..50).map(|i| reading(i, 70)).collect();
    records.push(reading(50, 400));
    records.push((Some(b"51".to_vec()), Some(b"{broken".to_vec())));
    produce(&brokers, &topic, &records);

    let pipeline = Pipeline::new(
        "letters",
        &format!(
            "{{ kind: kafka, brokers: \"{brokers}\", group: {}, topics: [\"{topic}\"], format: json, \
             table: readings, key: [customer_id], \
             columns: {{ customer_id: bigint, ts: timestamptz, heart_rate: int }}, \
             validate: [\"heart_rate between 20 and 250\"] }}",
            unique_name("g")
        ),
    );
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&pipeline.file)
        .unwrap();
    use std::io::Write;
    writeln!(
        file,
        "dead_letter: {{ kind: kafka, brokers: \"{brokers}\", topic: {letters}, exactly_once: false }}"
    )
    .unwrap();
    drop(file);

    // The letters in the topic: its partitions are assigned directly (no
    // group join, whose length depends on the broker) and read until
    // `expected` letters came, within a generous deadline, then until the
    // topic stays quiet (a duplicate would show). Not to the high
    // watermark: tansu reports one less than the offsets it serves.
    let read_letters = |expected: usize| -> Vec<Json> {
        use rdkafka::{Offset, TopicPartitionList};
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &brokers)
            .set("group.id", unique_name("reader"))
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
        let metadata = consumer
            .fetch_metadata(Some(&letters), Duration::from_secs(30))
            .unwrap();
        let mut assignment = TopicPartitionList::new();
        for partition in metadata.topics()[0].partitions() {
            assignment
                .add_partition_offset(&letters, partition.id(), Offset::Beginning)
                .unwrap();
        }
        assert!(assignment.count() > 0, "{letters} has no partitions");
        consumer.assign(&assignment).unwrap();
        let mut out = Vec::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let mut quiet_since = std::time::Instant::now();
        while out.len() < expected && std::time::Instant::now() < deadline
            || quiet_since.elapsed() < Duration::from_secs(2)
        {
            if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
                out.push(serde_json::from_slice(m.payload().unwrap()).unwrap());
                quiet_since = std::time::Instant::now();
            }
        }
        out
    };
    for run in 0..2 {
        let child = pipeline.spawn(run, "127.0.0.1:0");
        wait_until("the readings", Duration::from_secs(60), || {
            pipeline.query("SELECT count(*) FROM raw.readings") == "50"
        });
        std::thread::sleep(Duration::from_millis(500));
        stop_cleanly_with_logs(child, &pipeline);
        let found = read_letters(2);
        assert_eq!(found.len(), 2, "run {run}: {found:?}\n{}", pipeline.logs());
        let mut errors: Vec<&str> = found.iter().map(|l| l["error"].as_str().unwrap()).collect();
        errors.sort();
        assert!(
            errors[0].contains("heart_rate between 20 and 250"),
            "{errors:?}"
        );
        assert!(errors[1].contains("not JSON"), "{errors:?}");
        for letter in &found {
            assert_eq!(letter["topic"], Json::from(topic.as_str()));
            assert_eq!(letter["pipeline"], Json::from("letters"));
        }
        assert_eq!(
            pipeline.query("SELECT to_regclass('raw._ws_dead_letters') IS NULL"),
            "t"
        );
        if run == 0 {
            // Forget the sink's checkpoint: the next run replays every
            // record, and the dead letters must not be written again.
            pipeline.query("DELETE FROM raw._watershed_checkpoints");
            pipeline.query("TRUNCATE raw.readings");
        }
    }
}

fn free_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

/// The body of a plain HTTP/1.0 GET, or "" when nothing answers.
fn http_get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
        return String::new();
    };
    let _ = write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n");
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
}

/// `gen events heartbeat --to kafka` feeds the heart-rate pipeline: every
/// reading it wrote lands once, either in `heartbeats` or, when it is
/// invalid, in the dead letters.
#[test]
fn generated_heartbeats_land_or_become_dead_letters() {
    let brokers = Kafka::shared().brokers();
    let topic = unique_name("hb");
    let output = watershed()
        .args([
            "--json",
            "gen",
            "events",
            "heartbeat",
            "--to",
            "kafka",
            "--brokers",
            &brokers,
        ])
        .args([
            "--topic",
            &topic,
            "--partitions",
            "3",
            "--rate",
            "3000",
            "--duration",
            "1s",
        ])
        .args(["--invalid-fraction", "0.1", "--seed", "3"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: Json = serde_json::from_slice(&output.stdout).unwrap();
    let (events, invalid) = (
        summary["events"].as_i64().unwrap(),
        summary["invalid"].as_i64().unwrap(),
    );
    assert!(events >= 2_900 && invalid > 100, "{summary}");

    let pipeline = Pipeline::new(
        "heartbeats",
        &format!(
            "{{ kind: kafka, brokers: \"{brokers}\", group: {}, topics: [\"{topic}\"], format: json, \
             table: heartbeats, key: [event_id], \
             columns: {{ event_id: bigint, customer_id: \"bigint [not null]\", ts: timestamptz, \
             heart_rate: \"int [not null]\" }}, \
             validate: [\"heart_rate between 20 and 250\", \"ts <= now()\"] }}",
            unique_name("g")
        ),
    );
    let child = pipeline.spawn(0, "127.0.0.1:0");
    wait_until("every reading", Duration::from_secs(60), || {
        let landed: i64 = pipeline
            .query("SELECT count(*) FROM raw.heartbeats")
            .parse()
            .unwrap_or(0);
        let dead: i64 = pipeline
            .query("SELECT count(*) FROM raw._ws_dead_letters")
            .parse()
            .unwrap_or(0);
        landed + dead >= events
    });
    std::thread::sleep(Duration::from_millis(500));
    let why = || {
        pipeline.query("SELECT left(error, 40), count(*) FROM raw._ws_dead_letters GROUP BY 1")
            + "\n"
            + &pipeline.query("SELECT min(ts), max(ts), now() FROM raw.heartbeats")
    };
    assert_eq!(
        pipeline.query("SELECT count(*) FROM raw._ws_dead_letters"),
        invalid.to_string(),
        "{}",
        why()
    );
    assert_eq!(
        pipeline.query("SELECT count(*) FROM raw.heartbeats"),
        (events - invalid).to_string()
    );
    assert_eq!(
        pipeline
            .query("SELECT count(*) FROM raw.heartbeats WHERE heart_rate NOT BETWEEN 20 AND 250"),
        "0"
    );
    stop_cleanly_with_logs(child, &pipeline);
}

/// A topic that does not exist stops the pipeline with an error naming
/// `source.topics`: the consumer does not create topics.
#[test]
fn a_missing_topic_stops_the_pipeline_naming_it() {
    let brokers = Kafka::shared().brokers();
    let topic = unique_name("nowhere");
    let pipeline = Pipeline::new(
        "missing",
        &format!(
            "{{ kind: kafka, brokers: \"{brokers}\", group: {}, topics: [\"{topic}\"] }}",
            unique_name("g")
        ),
    );
    let mut child = pipeline.spawn(0, "127.0.0.1:0");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still running\n{}",
            pipeline.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(status.code(), Some(1), "{}", pipeline.logs());
    let logs = pipeline.logs();
    assert!(
        logs.contains("source.topics") && logs.contains(&topic),
        "{logs}"
    );
}
