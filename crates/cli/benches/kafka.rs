//! Kafka benchmarks with throwaway servers (MariaDB, PostgreSQL, and a
//! tansu broker from the testkit), each against the broker's own ceiling
//! measured in the same run.
//!
//! * mysql-to-kafka: the `orders` workload of the MySQL benchmark (70 %
//!   inserts, 20 % updates, 10 % deletes) streamed from the binlog into
//!   Debezium records; against rdkafka producing the same number of
//!   records of the same size with no processing: on tansu, which has no
//!   transactions, with `exactly_once: false` (acks=all, idempotent
//!   producer); then with transactions on librdkafka's in-process mock
//!   broker.
//! * kafka-to-postgres: Debezium insert records (with schemas) of `orders`
//!   on 6 partitions applied to PostgreSQL by one process, then by two;
//!   against an rdkafka consumer reading the same records with no
//!   processing.
//!
//! `cargo bench -p watershed --bench kafka [mysql-to-kafka|kafka-to-postgres]`;
//! changes/records: `WATERSHED_BENCH_ROWS` (default 1,000,000).
//! `WATERSHED_BENCH_SOURCE_PROPERTIES` adds librdkafka settings to the
//! kafka-to-postgres pipeline's source, as YAML flow-map entries (e.g.
//! `queued.min.messages: "20000"`), for trying consumer settings; both
//! consumers fetch with a 10 ms wait unless it sets `fetch.wait.max.ms`.

#[path = "../../sinks/benches/support/orders.rs"]
mod orders;
#[allow(dead_code)]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use support::{ORDERS, Workload, shell};
use watershed_events::Change;
use watershed_testkit::{Kafka, MariaDb, Postgres, unique_name};

fn main() {
    let which: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let rows: u64 = std::env::var("WATERSHED_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let wants = |name: &str| which.is_empty() || which.iter().any(|w| w == name);
    let kafka = Kafka::start().expect("start tansu");
    if wants("mysql-to-kafka") {
        let maria = MariaDb::start().expect("start MariaDB");
        mysql_to_kafka(&maria, Broker::Tansu(&kafka), rows);
        let mock = rdkafka::mocking::MockCluster::new(1).expect("mock broker");
        mysql_to_kafka(&maria, Broker::Mock(&mock), rows);
    }
    if wants("kafka-to-postgres") {
        let pg = Postgres::start().expect("start PostgreSQL");
        kafka_to_postgres(&pg, &kafka, rows);
    }
}

fn pipeline_file(dir: &tempfile::TempDir, text: &str) -> PathBuf {
    let file = dir.path().join(format!("{}.yaml", unique_name("p")));
    std::fs::write(&file, text).expect("write pipeline");
    file
}

fn watershed(file: &Path) -> Command {
    watershed_on(file, "127.0.0.1:0")
}

fn watershed_on(file: &Path, listen: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_watershed"));
    command
        .args([
            "run",
            "-c",
            file.to_str().expect("path"),
            "--json",
            "--listen",
            listen,
        ])
        .env(
            "WATERSHED_LOG",
            std::env::var("WATERSHED_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    command
}

fn stop(child: Child) -> f64 {
    shell(&format!("kill -TERM {}", child.id()));
    let output = child.wait_with_output().expect("wait");
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_default();
    summary["peak_rss_bytes"].as_f64().unwrap_or(0.0) / 1e6
}

fn client(brokers: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", brokers);
    config
}

fn create_topic(brokers: &str, topic: &str, partitions: i32) {
    try_create_topic(brokers, topic, partitions).expect("create topic");
}

fn try_create_topic(brokers: &str, topic: &str, partitions: i32) -> Result<(), String> {
    let admin: AdminClient<DefaultClientContext> = client(brokers).create().expect("admin");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(5)));
    for result in runtime
        .block_on(admin.create_topics([&new], &options))
        .map_err(|e| e.to_string())?
    {
        result.map_err(|(_, code)| code.to_string())?;
    }
    Ok(())
}

fn free_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").to_string()
}

/// `rows_committed` of a running pipeline's `/api/status`.
fn committed_rows(addr: &str) -> u64 {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
        return 0;
    };
    let _ = write!(stream, "GET /api/status HTTP/1.0\r\nHost: {addr}\r\n\r\n");
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("");
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["rows_committed"].as_u64())
        .unwrap_or(0)
}

/// rdkafka producing `count` records of `size` bytes with the sink's
/// settings and nothing else: the broker's ceiling.
fn produce_ceiling(brokers: &str, topic: &str, count: u64, size: usize) -> Duration {
    // The mock broker has its topic already; a real one creates it.
    let _ = try_create_topic(brokers, topic, 6);
    let producer: ThreadedProducer<DefaultProducerContext> = client(brokers)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("compression.type", "lz4")
        .set("linger.ms", "20")
        .set("batch.size", "1048576")
        .set("queue.buffering.max.kbytes", "65536")
        .create()
        .expect("producer");
    let payload = vec![b'x'; size];
    let started = Instant::now();
    for i in 0..count {
        let key = i.to_string();
        let record = BaseRecord::to(topic)
            .key(key.as_bytes())
            .payload(&payload[..]);
        send_waiting(&producer, record);
    }
    producer.flush(Duration::from_secs(600)).expect("flush");
    started.elapsed()
}

/// Where MySQL → Kafka produces: tansu without transactions, or
/// librdkafka's in-process mock broker with them (it creates no topics on
/// request, so they are made first).
enum Broker<'a> {
    Tansu(&'a Kafka),
    Mock(&'a rdkafka::mocking::MockCluster<'static, DefaultProducerContext>),
}

/// Queues `record`, waiting while the producer's queue is full.
fn send_waiting(
    producer: &ThreadedProducer<DefaultProducerContext>,
    mut record: BaseRecord<'_, [u8], [u8]>,
) {
    while let Err((_, back)) = producer.send(record) {
        record = back;
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn mysql_to_kafka(maria: &MariaDb, broker: Broker<'_>, rows: u64) {
    let (brokers, exactly_once, label) = match &broker {
        Broker::Tansu(kafka) => (kafka.brokers(), false, "tansu, no transactions"),
        Broker::Mock(mock) => (mock.bootstrap_servers(), true, "mock broker, transactions"),
    };
    let shop = maria.create_database("shop").expect("db");
    maria.sql(&format!("USE {shop}; {ORDERS}")).expect("table");
    let dir = tempfile::tempdir().expect("tempdir");
    let prefix = unique_name("bench");
    if let Broker::Mock(mock) = &broker {
        for (topic, partitions) in [
            (format!("{prefix}.{shop}.orders"), 6),
            (prefix.clone(), 1),
            (format!("_watershed_checkpoints.{prefix}"), 1),
        ] {
            mock.create_topic(&topic, partitions, 1)
                .expect("mock topic");
        }
    }
    let pipeline = |snapshot: &str| {
        format!(
            "name: {prefix}\n\
             source: {{ kind: mysql, url: \"{}\", server_id: 9201, tables: [\"{shop}.*\"], snapshot: {snapshot} }}\n\
             sink: {{ kind: kafka, brokers: \"{brokers}\", topic_prefix: {prefix}, partitions: 6, \
             schemas: false, exactly_once: {exactly_once} }}\n",
            maria.url("")
        )
    };
    // An empty snapshot records the starting position in the checkpoint topic.
    let only = pipeline_file(&dir, &pipeline("only"));
    let status = watershed(&only).status().expect("run");
    assert!(status.success(), "snapshot: only failed");

    let workload = Workload::new(&shop, rows);
    maria.sql(&workload.sql).expect("write the changes");
    let deletes = workload.deletes;
    // Each delete is followed by its tombstone.
    let expected = (rows + deletes) as i64;

    let topic = format!("{prefix}.{shop}.orders");
    let file = pipeline_file(&dir, &pipeline("initial"));
    let addr = free_addr();
    let started = Instant::now();
    let child = watershed_on(&file, &addr).spawn().expect("spawn");
    // Committed rows: every change delivered, with the position after it.
    while committed_rows(&addr) < rows {
        assert!(
            started.elapsed() < Duration::from_secs(900),
            "timed out at {} rows",
            committed_rows(&addr)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let elapsed = started.elapsed();
    let rss = stop(child);
    let bytes = topic_bytes_estimate(&brokers, &topic);
    if let Broker::Mock(mock) = &broker {
        mock.create_topic(&format!("{topic}.ceiling"), 6, 1)
            .expect("mock topic");
    }
    let ceiling = produce_ceiling(
        &brokers,
        &format!("{topic}.ceiling"),
        expected as u64,
        bytes,
    );
    let rate = rows as f64 / elapsed.as_secs_f64();
    let ceiling_rate = rows as f64 / ceiling.as_secs_f64();
    println!(
        "mysql-to-kafka ({label}): {rate:.0} changes/s produced ({expected} records, ~{bytes} \
         bytes each); rdkafka alone {ceiling_rate:.0}/s; ratio {:.2}; peak RSS {rss:.1} MB",
        rate / ceiling_rate
    );
}

/// The average value size of the first records of `topic`.
fn topic_bytes_estimate(brokers: &str, topic: &str) -> usize {
    use rdkafka::message::Message;
    let consumer: BaseConsumer = client(brokers)
        .set("group.id", unique_name("size"))
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    let (mut total, mut n) = (0usize, 0usize);
    let deadline = Instant::now() + Duration::from_secs(30);
    while n < 1000 && Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            total += m.payload().map_or(0, <[u8]>::len);
            n += 1;
        }
    }
    total / n.max(1)
}

/// The consumers' fetch wait, the ceiling's and the pipeline's. tansu 0.6
/// answers every fetch only after the request's whole `fetch.wait.max.ms`,
/// data or not (its fetch loop sleeps out the wait before returning): at
/// the source's default of 100 ms (right for a real Kafka, which answers
/// as soon as it has data) the pipeline waited for records a third of the
/// run, 202k–207k records/s against 308k–319k at 10 ms. Both consumers
/// use the same setting so that the ratio compares like with like.
const TANSU_FETCH_WAIT_MS: &str = "10";

/// The pipeline's consumer settings: the fetch wait above, and any from
/// `WATERSHED_BENCH_SOURCE_PROPERTIES` (which may set it otherwise).
fn source_properties() -> String {
    let extra = std::env::var("WATERSHED_BENCH_SOURCE_PROPERTIES").unwrap_or_default();
    if extra.contains("fetch.wait.max.ms") {
        extra
    } else if extra.trim().is_empty() {
        format!("\"fetch.wait.max.ms\": \"{TANSU_FETCH_WAIT_MS}\"")
    } else {
        format!("\"fetch.wait.max.ms\": \"{TANSU_FETCH_WAIT_MS}\", {extra}")
    }
}

fn kafka_to_postgres(pg: &Postgres, kafka: &Kafka, rows: u64) {
    let brokers = kafka.brokers();
    let topic = unique_name("dbz");
    create_topic(&brokers, &topic, 6);
    // Debezium insert records of `orders`, with schemas.
    let table = orders::orders_table();
    let (mut encoder, source) = orders::debezium_encoder();
    let producer: ThreadedProducer<DefaultProducerContext> = client(&brokers)
        .set("linger.ms", "20")
        .set("compression.type", "lz4")
        .set("batch.size", "1048576")
        .create()
        .expect("producer");
    let mut size = 0;
    for id in 1..=rows as i64 {
        let change = Change::insert(table.clone(), orders::order_row(id));
        for record in encoder.encode(&change, &source, 0) {
            let value = record.value.expect("value");
            size = value.len();
            let mut out: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(&topic).payload(&value[..]);
            if let Some(key) = &record.key {
                out = out.key(&key[..]);
            }
            send_waiting(&producer, out);
        }
    }
    producer.flush(Duration::from_secs(900)).expect("flush");

    // The ceiling: a consumer reading every record, doing nothing else,
    // with the fetch settings that make it fastest on tansu (librdkafka's
    // default 1 s fetch backoff on a full prefetch queue, and its 500 ms
    // fetch wait, held it at ~120k records/s).
    let reader: BaseConsumer = client(&brokers)
        .set("group.id", unique_name("ceiling"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("fetch.queue.backoff.ms", "10")
        .set("fetch.wait.max.ms", TANSU_FETCH_WAIT_MS)
        .create()
        .expect("consumer");
    reader.subscribe(&[&topic]).expect("subscribe");
    let started = Instant::now();
    let mut read = 0u64;
    while read < rows {
        if let Some(Ok(_)) = reader.poll(Duration::from_millis(100)) {
            read += 1;
        }
        assert!(
            started.elapsed() < Duration::from_secs(900),
            "ceiling timed out"
        );
    }
    let ceiling_rate = rows as f64 / started.elapsed().as_secs_f64();

    for processes in [1, 2] {
        let dwh = pg.create_database("dwh").expect("db");
        let dir = tempfile::tempdir().expect("tempdir");
        let file = pipeline_file(
            &dir,
            &format!(
                "name: bench\n\
                 source: {{ kind: kafka, brokers: \"{brokers}\", group: {}, topics: [\"{topic}\"], properties: {{ {} }} }}\n\
                 sink: {{ kind: postgres, url: \"{}\", schema: raw }}\n",
                unique_name("g"),
                source_properties(),
                pg.url(&dwh)
            ),
        );
        let addrs: Vec<String> = (0..processes).map(|_| free_addr()).collect();
        let started = Instant::now();
        let children: Vec<Child> = addrs
            .iter()
            .map(|addr| watershed_on(&file, addr).spawn().expect("spawn"))
            .collect();
        // Progress from the processes' status, not `count(*)`: scanning
        // the growing table five times a second took a quarter of a core
        // from PostgreSQL on this two-core machine.
        loop {
            let committed: u64 = addrs.iter().map(|a| committed_rows(a)).sum();
            if committed >= rows {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(900),
                "timed out at {committed}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let elapsed = started.elapsed();
        let count: u64 = pg
            .sql(&dwh, "SELECT count(*) FROM raw.orders")
            .ok()
            .and_then(|o| o.trim().parse().ok())
            .unwrap_or(0);
        assert_eq!(count, rows, "rows in raw.orders after the run");
        let rss: Vec<String> = children
            .into_iter()
            .map(|c| format!("{:.1} MB", stop(c)))
            .collect();
        let rate = rows as f64 / elapsed.as_secs_f64();
        println!(
            "kafka-to-postgres, {processes} process(es): {rate:.0} records/s applied \
             ({rows} records of ~{size} bytes, 6 partitions, fetch wait {TANSU_FETCH_WAIT_MS} ms); \
             rdkafka consumer alone {ceiling_rate:.0}/s; ratio {:.2}; peak RSS {}",
            rate / ceiling_rate,
            rss.join(", ")
        );
    }
}
