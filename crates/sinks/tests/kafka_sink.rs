//! The kafka sink against librdkafka's in-process mock cluster: records go
//! out in transactions with the checkpoint, in Debezium's envelope, and a
//! new sink resumes from the last committed position.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::mocking::MockCluster;
use serde_json::Value as Json;
use watershed_events::{
    Change, Column, Event, LogicalType, MysqlBinlogPosition, Position, SchemaChange, TableName,
    TableSchema, Timestamp, TxBegin, TxCommit, Value,
};
use watershed_sinks::Sink;
use watershed_sinks::kafka::{KafkaSink, KafkaSinkConfig};

fn table() -> Arc<TableSchema> {
    Arc::new(TableSchema {
        name: TableName::parse("shop.orders"),
        columns: vec![
            Column::new("id", LogicalType::Int64, false),
            Column::new("note", LogicalType::Text { charset: None }, true),
        ],
        primary_key: vec!["id".into()],
        indexes: vec![],
        version: 1,
        foreign_keys: Vec::new(),
        comment: None,
    })
}

fn position(offset: u64) -> Position {
    Position::MysqlFile(MysqlBinlogPosition {
        file: "mysql-bin.000001".into(),
        offset,
        ..Default::default()
    })
}

fn transaction(changes: Vec<Change>, offset: u64) -> Vec<Event> {
    let mut events = vec![Event::Begin(TxBegin {
        commit_time: Some(Timestamp::from_micros(1_700_000_000_000_000)),
    })];
    events.extend(changes.into_iter().map(Event::Change));
    events.push(Event::Commit(TxCommit {
        position: position(offset),
        commit_time: Timestamp::from_micros(1_700_000_000_000_000),
    }));
    events
}

fn row(id: i64, note: &str) -> Vec<Value> {
    vec![Value::Int(id), Value::text(note)]
}

/// Every committed record of `topic`, as (key, value) JSON.
fn read_committed(brokers: &str, topic: &str) -> Vec<(Option<Json>, Option<Json>)> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("test-reader-{topic}"))
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
    let mut ended = std::collections::HashSet::new();
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                let parse = |b: Option<&[u8]>| b.map(|b| serde_json::from_slice(b).unwrap());
                out.push((parse(m.key()), parse(m.payload())));
            }
            Some(Err(rdkafka::error::KafkaError::PartitionEOF(partition))) => {
                ended.insert(partition);
                if ended.len() == partitions {
                    return out;
                }
            }
            _ => {}
        }
    }
    panic!("no end of {topic} within 20 s; read {} records", out.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn committed_batches_are_visible_and_resume_from_their_checkpoint() {
    let cluster = MockCluster::new(1).unwrap();
    let brokers = cluster.bootstrap_servers();
    // The mock broker cannot create topics on request; an admin would.
    for topic in [
        "shop.shop.orders",
        "shop",
        "_watershed_checkpoints.p1",
        "_watershed_checkpoints.p2",
    ] {
        cluster.create_topic(topic, 1, 1).unwrap();
    }
    let config = KafkaSinkConfig::new(&brokers, "shop");
    let table = table();

    let mut sink = KafkaSink::new(config.clone(), "p1");
    assert_eq!(sink.open().await.unwrap(), None);
    let mut schema = SchemaChange::new(table.clone());
    schema.ddl = Some("CREATE TABLE orders (id bigint primary key, note text)".into());
    sink.write(&[Event::Schema(schema)]).await.unwrap();
    sink.write(&transaction(
        vec![
            Change::insert(table.clone(), row(1, "a")),
            Change::insert(table.clone(), row(2, "b")),
        ],
        100,
    ))
    .await
    .unwrap();
    sink.flush(&position(100)).await.unwrap();
    sink.write(&transaction(
        vec![
            Change::update(table.clone(), row(1, "a"), row(1, "a2")),
            Change::delete(table.clone(), row(2, "b")),
        ],
        200,
    ))
    .await
    .unwrap();
    sink.flush(&position(200)).await.unwrap();
    drop(sink);

    let mut again = KafkaSink::new(config.clone(), "p1");
    assert_eq!(again.open().await.unwrap(), Some(position(200)));
    let mut other = KafkaSink::new(config, "p2");
    assert_eq!(
        other.open().await.unwrap(),
        None,
        "checkpoints are per pipeline"
    );

    let records = read_committed(&brokers, "shop.shop.orders");
    let ops: Vec<Option<String>> = records
        .iter()
        .map(|(_, v)| {
            v.as_ref()
                .map(|v| v["payload"]["op"].as_str().unwrap().to_owned())
        })
        .collect();
    // Two snapshot reads, an update, a delete and its tombstone. (The mock
    // broker does not hide aborted transactions from read_committed
    // consumers; that is tested against a real broker.)
    assert_eq!(
        ops,
        [Some("r"), Some("r"), Some("u"), Some("d"), None].map(|o| o.map(str::to_owned))
    );
    let (key, value) = &records[2];
    assert_eq!(key.as_ref().unwrap()["payload"]["id"], 1);
    assert_eq!(value.as_ref().unwrap()["payload"]["after"]["note"], "a2");
    assert_eq!(
        value.as_ref().unwrap()["payload"]["source"]["file"],
        "mysql-bin.000001"
    );
    assert_eq!(value.as_ref().unwrap()["payload"]["source"]["pos"], 100);
    assert_eq!(
        records[3].0, records[4].0,
        "the tombstone carries the deleted key"
    );
    assert!(records.iter().all(|(k, _)| k.is_some()));

    let history = read_committed(&brokers, "shop");
    assert_eq!(history.len(), 1);
    let change = &history[0].1.as_ref().unwrap()["payload"];
    assert_eq!(
        change["ddl"],
        "CREATE TABLE orders (id bigint primary key, note text)"
    );
    assert_eq!(change["tableChanges"][0]["type"], "CREATE");
    assert_eq!(
        change["tableChanges"][0]["table"]["columns"][0]["typeName"],
        "BIGINT"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unreachable_brokers_are_named_in_the_error() {
    let mut config = KafkaSinkConfig::new("127.0.0.1:1", "shop");
    config
        .properties
        .insert("socket.connection.setup.timeout.ms".into(), "1000".into());
    let mut sink = KafkaSink::new(config, "p");
    let started = Instant::now();
    let error = sink.open().await.unwrap_err().to_string();
    assert!(error.contains("127.0.0.1:1"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(60));
}

/// A broker with transactions, for the exactly-once test: tansu 0.6 (the
/// testkit's broker) has no EndTxn, and the mock broker does not hide
/// aborted records from `read_committed` consumers. Set
/// `WATERSHED_TEST_KAFKA=host:port` to a real Kafka to run it.
fn transactional_broker() -> Option<String> {
    let brokers = std::env::var("WATERSHED_TEST_KAFKA").ok();
    if brokers.is_none() {
        eprintln!("skipped: set WATERSHED_TEST_KAFKA=host:port (a Kafka with transactions)");
    }
    brokers
}

/// A batch written but never flushed — the process died — stays invisible
/// to `read_committed` consumers once the next process fences it.
#[tokio::test(flavor = "multi_thread")]
async fn an_unflushed_batch_is_never_seen_by_read_committed_consumers() {
    let Some(brokers) = transactional_broker() else {
        return;
    };
    let prefix = watershed_testkit::unique_name("eos");
    let mut config = KafkaSinkConfig::new(&brokers, &prefix);
    config.partitions = 3;
    let table = table();

    let mut sink = KafkaSink::new(config.clone(), &prefix);
    assert_eq!(sink.open().await.unwrap(), None);
    sink.write(&transaction(
        vec![Change::insert(table.clone(), row(1, "a"))],
        100,
    ))
    .await
    .unwrap();
    sink.flush(&position(100)).await.unwrap();
    sink.write(&transaction(
        vec![Change::insert(table.clone(), row(2, "lost"))],
        200,
    ))
    .await
    .unwrap();
    // Dies before flushing; its successor fences it.
    std::mem::forget(sink);

    let mut next = KafkaSink::new(config, &prefix);
    assert_eq!(next.open().await.unwrap(), Some(position(100)));
    next.write(&transaction(
        vec![Change::insert(table.clone(), row(3, "c"))],
        300,
    ))
    .await
    .unwrap();
    next.flush(&position(300)).await.unwrap();

    let topic = format!("{prefix}.shop.orders");
    let mut ids: Vec<i64> = read_committed(&brokers, &topic)
        .iter()
        .filter_map(|(_, v)| v.as_ref()?["payload"]["after"]["id"].as_i64())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, [1, 3]);
}

/// Against a real broker without transactions (tansu): topics are created
/// with the configured partitions, the position follows the delivered
/// records, and a restart resumes from it.
#[tokio::test(flavor = "multi_thread")]
async fn without_transactions_the_position_follows_delivered_records() {
    let broker = watershed_testkit::Kafka::shared();
    let brokers = broker.brokers();
    let prefix = watershed_testkit::unique_name("alo");
    let mut config = KafkaSinkConfig::new(&brokers, &prefix);
    config.partitions = 3;
    config.exactly_once = false;
    let table = table();

    let mut sink = KafkaSink::new(config.clone(), &prefix);
    assert_eq!(sink.open().await.unwrap(), None);
    for id in 1..=4 {
        let offset = 100 * id as u64;
        sink.write(&transaction(
            vec![Change::insert(table.clone(), row(id, "x"))],
            offset,
        ))
        .await
        .unwrap();
        sink.flush(&position(offset)).await.unwrap();
    }
    drop(sink);
    let mut next = KafkaSink::new(config, &prefix);
    assert_eq!(next.open().await.unwrap(), Some(position(400)));

    let topic = format!("{prefix}.shop.orders");
    let metadata = {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &brokers)
            .create()
            .unwrap();
        consumer
            .fetch_metadata(Some(&topic), Duration::from_secs(10))
            .unwrap()
    };
    assert_eq!(metadata.topics()[0].partitions().len(), 3);
    let mut ids: Vec<i64> = read_committed(&brokers, &topic)
        .iter()
        .filter_map(|(_, v)| v.as_ref()?["payload"]["after"]["id"].as_i64())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, [1, 2, 3, 4]);
}
