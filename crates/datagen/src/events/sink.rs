//! Writing readings: one JSON object per line (to a file, or as Kafka
//! records keyed by customer), or batches COPYed into a PostgreSQL table
//! created on first use.

use std::io::Write;

use bytes::Bytes;
use futures_util::SinkExt;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use tokio_postgres::Client;
use watershed_events::{TableName, redact_urls};
use watershed_schema::ddl::Dialect;
use watershed_schema::introspect::{self, Connection};
use watershed_sources::generator::Reading;

use super::EventTarget;
use crate::error::DatagenError;
use crate::output::encode::table_sql;

/// An open destination for readings.
pub enum EventSink {
    Jsonl {
        path: std::path::PathBuf,
        file: std::io::BufWriter<std::fs::File>,
    },
    Postgres {
        client: Client,
        table: String,
    },
    Kafka {
        producer: ThreadedProducer<DefaultProducerContext>,
        topic: String,
        brokers: String,
    },
}

impl EventSink {
    /// Opens `target`: creates the file, or connects and creates the table.
    pub async fn open(
        target: &EventTarget,
        wait: std::time::Duration,
    ) -> Result<Self, DatagenError> {
        match target {
            EventTarget::Jsonl(path) => {
                let file = std::fs::File::create(path).map_err(|source| DatagenError::Write {
                    path: path.clone(),
                    source,
                })?;
                Ok(EventSink::Jsonl {
                    path: path.clone(),
                    file: std::io::BufWriter::new(file),
                })
            }
            EventTarget::Postgres { url, table } => {
                tracing::info!(url = %redact_urls(url), table = %table, "connecting for events");
                let Connection::Postgres(client) = introspect::connect(url, wait).await? else {
                    return Err(DatagenError::Invalid(
                        "--to postgres: needs a postgres:// URL".into(),
                    ));
                };
                let table = table_sql(&TableName::parse(table), Dialect::Postgres);
                let create = format!(
                    "SET TIME ZONE 'UTC'; CREATE TABLE IF NOT EXISTS {table} (event_id bigint NOT NULL, \
                     customer_id bigint, ts timestamptz NOT NULL, heart_rate integer)"
                );
                client
                    .batch_execute(&create)
                    .await
                    .map_err(|e| DatagenError::query(format!("creating {table}"), e))?;
                Ok(EventSink::Postgres { client, table })
            }
            EventTarget::Kafka {
                brokers,
                topic,
                partitions,
            } => open_kafka(brokers, topic, *partitions, wait).await,
        }
    }

    /// Writes `readings` (in order).
    pub async fn write(&mut self, readings: &[Reading]) -> Result<(), DatagenError> {
        if readings.is_empty() {
            return Ok(());
        }
        match self {
            EventSink::Jsonl { path, file } => {
                let mut out = Vec::with_capacity(readings.len() * 96);
                for reading in readings {
                    json_line(reading, &mut out);
                }
                file.write_all(&out)
                    .and_then(|()| file.flush())
                    .map_err(|source| DatagenError::Write {
                        path: path.clone(),
                        source,
                    })
            }
            EventSink::Postgres { client, table } => copy(client, table, readings).await,
            EventSink::Kafka {
                producer,
                topic,
                brokers,
            } => {
                let mut line = Vec::with_capacity(96);
                for reading in readings {
                    line.clear();
                    json_line(reading, &mut line);
                    line.pop();
                    let key = reading.customer_id.map(|c| c.to_string());
                    let mut record: BaseRecord<'_, str, [u8]> =
                        BaseRecord::to(topic).payload(&line[..]);
                    if let Some(key) = &key {
                        record = record.key(key.as_str());
                    }
                    loop {
                        match producer.send(record) {
                            Ok(()) => break,
                            Err((
                                KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull),
                                back,
                            )) => {
                                record = back;
                                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                            }
                            Err((error, _)) => return Err(kafka_error(brokers, topic, error)),
                        }
                    }
                }
                Ok(())
            }
        }
    }

    /// Flushes what is buffered.
    pub async fn finish(&mut self) -> Result<(), DatagenError> {
        match self {
            EventSink::Jsonl { path, file } => file.flush().map_err(|source| DatagenError::Write {
                path: path.clone(),
                source,
            }),
            EventSink::Postgres { .. } => Ok(()),
            EventSink::Kafka {
                producer,
                topic,
                brokers,
            } => producer
                .flush(std::time::Duration::from_secs(30))
                .map_err(|e| kafka_error(brokers, topic, e)),
        }
    }
}

fn kafka_error(brokers: &str, topic: &str, error: KafkaError) -> DatagenError {
    DatagenError::Invalid(format!(
        "kafka topic {topic} (brokers {}): {error}",
        redact_urls(brokers)
    ))
}

/// Connects (retrying until `wait` passes) and creates the topic when it
/// is missing.
async fn open_kafka(
    brokers: &str,
    topic: &str,
    partitions: i32,
    wait: std::time::Duration,
) -> Result<EventSink, DatagenError> {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", brokers)
        .set("linger.ms", "20")
        .set("enable.idempotence", "true")
        .set("allow.auto.create.topics", "false");
    let producer: ThreadedProducer<DefaultProducerContext> = config
        .create()
        .map_err(|e| kafka_error(brokers, topic, e))?;
    let admin: AdminClient<DefaultClientContext> = config
        .create()
        .map_err(|e| kafka_error(brokers, topic, e))?;
    let deadline = std::time::Instant::now() + wait;
    loop {
        let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
        let options =
            AdminOptions::new().operation_timeout(Some(std::time::Duration::from_secs(10)));
        let created = match admin.create_topics([&new], &options).await {
            Ok(results) => results.into_iter().try_for_each(|r| match r {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => Ok(()),
                Err((_, code)) => Err(KafkaError::AdminOp(code)),
            }),
            Err(e) => Err(e),
        };
        match created {
            Ok(()) => break,
            Err(error) if std::time::Instant::now() >= deadline => {
                return Err(kafka_error(brokers, topic, error));
            }
            Err(error) => {
                tracing::warn!(%error, "kafka not ready; retrying");
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
        }
    }
    Ok(EventSink::Kafka {
        producer,
        topic: topic.to_owned(),
        brokers: brokers.to_owned(),
    })
}

/// `{"event_id":1,"customer_id":7,"ts":"…Z","heart_rate":72}`; a missing
/// field is left out.
pub fn json_line(reading: &Reading, out: &mut Vec<u8>) {
    let mut object = serde_json::Map::new();
    object.insert("event_id".into(), reading.event_id.into());
    if let Some(customer) = reading.customer_id {
        object.insert("customer_id".into(), customer.into());
    }
    object.insert("ts".into(), reading.ts.to_string().into());
    if let Some(rate) = reading.heart_rate {
        object.insert("heart_rate".into(), rate.into());
    }
    // Serialising a map of plain values into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, &object);
    out.push(b'\n');
}

async fn copy(client: &Client, table: &str, readings: &[Reading]) -> Result<(), DatagenError> {
    let what = || format!("copying readings into {table}");
    let sql = format!("COPY {table} (event_id, customer_id, ts, heart_rate) FROM STDIN");
    let sink = client
        .copy_in::<_, Bytes>(&sql)
        .await
        .map_err(|e| DatagenError::query(what(), e))?;
    let mut text = String::with_capacity(readings.len() * 48);
    let field = |v: Option<i64>| v.map_or_else(|| "\\N".to_owned(), |v| v.to_string());
    for r in readings {
        text.push_str(&format!(
            "{}\t{}\t{}\t{}\n",
            r.event_id,
            field(r.customer_id),
            r.ts,
            field(r.heart_rate)
        ));
    }
    futures_util::pin_mut!(sink);
    sink.send(Bytes::from(text))
        .await
        .map_err(|e| DatagenError::query(what(), e))?;
    sink.finish()
        .await
        .map_err(|e| DatagenError::query(what(), e))?;
    Ok(())
}
