//! MariaDB → Kafka through the `watershed` binary: the pipeline is killed
//! with SIGKILL again and again during the snapshot and while a workload
//! streams, and restarted each time; a consumer then folds the topics'
//! Debezium records per key and must arrive at exactly the rows MariaDB
//! holds. Against tansu (no transactions) the sink runs at least once;
//! with `WATERSHED_TEST_KAFKA` naming a real Kafka it runs exactly once,
//! and no change may reach a `read_committed` consumer twice.

#![allow(clippy::unwrap_used)]

#[path = "support/shop.rs"]
#[allow(dead_code)]
mod shop;
#[allow(dead_code)]
mod support;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use serde_json::Value as Json;
use shop::{Workload, create_shop_tables, server_id};
use support::watershed;
use watershed_testkit::{Kafka, MariaDb, unique_name};

struct Setup {
    dir: tempfile::TempDir,
    file: PathBuf,
    shop: String,
    prefix: String,
    brokers: String,
}

impl Setup {
    fn new(brokers: &str, exactly_once: bool) -> Self {
        let maria = MariaDb::shared();
        let shop = maria.create_database("shop").unwrap();
        create_shop_tables(maria, &shop);
        let prefix = unique_name("cdc");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pipeline.yaml");
        let text = format!(
            "name: {prefix}\n\
             source: {{ kind: mysql, url: \"{}\", server_id: {}, tables: [\"{shop}.*\"], chunk_rows: 100 }}\n\
             sink: {{ kind: kafka, brokers: \"{brokers}\", topic_prefix: {prefix}, partitions: 3, \
             decimal_handling: string, exactly_once: {exactly_once} }}\n\
             defaults: {{ batch: {{ max_rows: 500, max_delay_ms: 50 }} }}\n\
             retry: {{ initial_backoff_ms: 100, max_backoff_ms: 1000 }}\n",
            maria.url(""),
            server_id(),
        );
        std::fs::write(&file, text).unwrap();
        Self {
            dir,
            file,
            shop,
            prefix,
            brokers: brokers.to_owned(),
        }
    }

    fn spawn(&self, n: usize) -> Child {
        let log = std::fs::File::create(self.dir.path().join(format!("run-{n}.err"))).unwrap();
        watershed()
            .args([
                "run",
                "-c",
                self.file.to_str().unwrap(),
                "--listen",
                "127.0.0.1:0",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap()
    }

    fn source(&self, sql: &str) {
        MariaDb::shared()
            .sql(&format!("USE {}; {sql}", self.shop))
            .unwrap();
    }

    /// `id → columns` as MariaDB holds them, as text.
    fn source_rows(&self, table: &str, columns: &str) -> BTreeMap<String, String> {
        let out = MariaDb::shared()
            .sql(&format!(
                "SELECT CONCAT_WS('|', id, {columns}) FROM {}.{table} ORDER BY id",
                self.shop
            ))
            .unwrap();
        out.lines()
            .map(|line| {
                let (id, _) = line.split_once('|').unwrap_or((line, ""));
                (id.to_owned(), line.to_owned())
            })
            .collect()
    }

    fn topic(&self, table: &str) -> String {
        format!("{}.{}.{table}", self.prefix, self.shop)
    }

    fn logs(&self) -> String {
        (0..40)
            .filter_map(|n| {
                std::fs::read_to_string(self.dir.path().join(format!("run-{n}.err"))).ok()
            })
            .collect::<Vec<_>>()
            .join("---\n")
    }
}

/// Every committed record of `topic` in partition order: (key, value).
fn read_all(brokers: &str, topic: &str) -> Vec<(Json, Option<Json>)> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", unique_name("reader"))
        .set("isolation.level", "read_committed")
        .set("enable.partition.eof", "true")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    let partitions = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .unwrap()
        .topics()[0]
        .partitions()
        .len();
    consumer.subscribe(&[topic]).unwrap();
    let mut ended = HashSet::new();
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while ended.len() < partitions {
        assert!(Instant::now() < deadline, "no end of {topic}");
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                let key: Json = serde_json::from_slice(m.key().unwrap()).unwrap();
                let value = m.payload().map(|v| serde_json::from_slice(v).unwrap());
                out.push((key, value));
                ended.remove(&m.partition());
            }
            Some(Err(rdkafka::error::KafkaError::PartitionEOF(p))) => {
                ended.insert(p);
            }
            _ => {}
        }
    }
    out
}

/// Applies the records per key, in order: the rows a consumer ends with,
/// as `id|col|col` text; and how many changes arrived more than once.
fn fold(records: &[(Json, Option<Json>)], columns: &[&str]) -> (BTreeMap<String, String>, usize) {
    let mut rows = BTreeMap::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut repeated = 0;
    for (key, value) in records {
        let id = key["payload"]["id"].to_string();
        let Some(value) = value else { continue };
        let payload = &value["payload"];
        let source = &payload["source"];
        let identity = format!(
            "{id}/{}/{}/{}/{}/{}",
            payload["op"], source["file"], source["pos"], source["row"], payload["after"]
        );
        let count = seen.entry(identity).or_default();
        *count += 1;
        if *count > 1 && payload["op"] != "r" {
            repeated += 1;
        }
        match payload["op"].as_str().unwrap() {
            "c" | "r" | "u" => {
                let after = &payload["after"];
                let mut text = id.clone();
                for column in columns {
                    let v = &after[*column];
                    if !v.is_null() {
                        text.push('|');
                        text.push_str(
                            v.as_str()
                                .map_or_else(|| v.to_string(), str::to_owned)
                                .as_str(),
                        );
                    }
                }
                rows.insert(id, text);
            }
            "d" => {
                rows.remove(&id);
            }
            op => panic!("unexpected op {op}"),
        }
    }
    (rows, repeated)
}

fn crash_and_converge(setup: &Setup, exactly_once: bool) {
    let mut workload = Workload::new(7);
    setup.source(&workload.batch(1500));
    let mut rng = Workload::new(77);
    // Kills while the snapshot copies (chunks of 100 rows), then while
    // the workload streams.
    for round in 0..12 {
        let mut child = setup.spawn(round);
        std::thread::sleep(Duration::from_millis(200 + rng.below(600)));
        if round >= 4 {
            setup.source(&workload.batch(100));
        }
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let child = setup.spawn(12);
    setup.source(&workload.batch(100));
    let orders = setup.source_rows("orders", "amount, status");
    let customers = setup.source_rows("customers", "balance");
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let (ours, repeated) = fold(
            &read_all(&setup.brokers, &setup.topic("orders")),
            &["amount", "status"],
        );
        let (theirs, _) = fold(
            &read_all(&setup.brokers, &setup.topic("customers")),
            &["balance"],
        );
        if ours == orders && theirs == customers {
            if exactly_once {
                assert_eq!(
                    repeated, 0,
                    "changes seen twice by a read_committed consumer"
                );
            }
            break;
        }
        assert!(
            Instant::now() < deadline,
            "topics never matched MariaDB: {} of {} orders, {} of {} customers\n{}",
            ours.len(),
            orders.len(),
            theirs.len(),
            customers.len(),
            setup.logs()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let mut child = child;
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(child.wait().unwrap().success(), "{}", setup.logs());
}

#[test]
fn killed_twelve_times_the_topics_still_hold_every_change_at_least_once() {
    let setup = Setup::new(&Kafka::shared().brokers(), false);
    crash_and_converge(&setup, false);
}

/// Needs a Kafka with transactions (`WATERSHED_TEST_KAFKA=host:port`):
/// tansu 0.6 has none.
#[test]
fn killed_twelve_times_a_read_committed_consumer_sees_each_change_once() {
    let Ok(brokers) = std::env::var("WATERSHED_TEST_KAFKA") else {
        eprintln!("skipped: set WATERSHED_TEST_KAFKA=host:port (a Kafka with transactions)");
        return;
    };
    let setup = Setup::new(&brokers, true);
    crash_and_converge(&setup, true);
}
