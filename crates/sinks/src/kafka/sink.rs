//! The kafka sink: Debezium records produced in Kafka transactions.
//!
//! Every batch is one Kafka transaction holding its records and, last, the
//! pipeline's position in a compacted checkpoint topic. A `read_committed`
//! consumer therefore sees a batch whole or not at all, and a restart
//! resumes from the position of the last committed transaction: the
//! transactional id is the pipeline's, so the new producer fences a
//! predecessor that is still alive and aborts what it left open.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::ClientContext;
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::{Offset, TopicPartitionList};
use watershed_events::{DeadLetter, Event, Position, RetryHint, SchemaChange};

use super::config::{KafkaSinkConfig, is_secret};
use super::envelope::{EnvelopeOptions, SnapshotMarker, SourceInfo};
use super::history;
use super::record::Encoder;
use crate::sink::{Sink, SinkError};

type Producer_ = ThreadedProducer<Deliveries>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TopicKind {
    /// Change records: the configured partitions.
    Data,
    /// Schema changes: one partition.
    Ordered,
    /// The checkpoint: one partition, compacted.
    Compacted,
}

/// Counts records the brokers refused after they were queued. In a
/// transaction such a failure also fails the commit; without transactions
/// it is how `flush` learns that a record was lost.
#[derive(Default)]
struct Deliveries {
    failed: AtomicU64,
    last_error: Mutex<Option<KafkaError>>,
    /// Records queued and not yet reported delivered or failed.
    in_flight: AtomicU64,
    /// Woken when `in_flight` reaches zero.
    settled: tokio::sync::Notify,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if self.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.settled.notify_waiters();
        }
        if let Err((error, message)) = result {
            self.failed.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(topic = message.topic(), partition = message.partition(), %error, "record not delivered");
            if let Ok(mut last) = self.last_error.lock() {
                *last = Some(error.clone());
            }
        }
    }
}

/// How long a transaction may take to commit before the batch is retried.
const COMMIT_TIMEOUT: Duration = Duration::from_secs(60);
/// How long connecting (and fencing a predecessor) may take per attempt.
const INIT_TIMEOUT: Duration = Duration::from_secs(30);

/// A failure of the Kafka client, naming the brokers (never a secret).
#[derive(Debug, thiserror::Error)]
#[error("kafka {context} (brokers {brokers}): {source}")]
pub struct KafkaSinkError {
    pub context: String,
    pub brokers: String,
    pub source: KafkaError,
}

impl KafkaSinkError {
    pub fn retry_hint(&self) -> RetryHint {
        use RDKafkaErrorCode::*;
        let code = self.source.rdkafka_error_code();
        match (&self.source, code) {
            (KafkaError::ClientConfig(..), _) => RetryHint::Fatal,
            (
                _,
                Some(
                    TopicAuthorizationFailed
                    | ClusterAuthorizationFailed
                    | TransactionalIdAuthorizationFailed
                    | SaslAuthenticationFailed
                    | Authentication
                    | InvalidConfig
                    | InvalidReplicationFactor
                    | InvalidPartitions
                    | PolicyViolation
                    | MessageSizeTooLarge
                    | InvalidTopic,
                ),
            ) => RetryHint::Fatal,
            _ => RetryHint::Retryable,
        }
    }
}

/// Writes Debezium records for `pipeline` to Kafka, exactly once for
/// `read_committed` consumers.
pub struct KafkaSink {
    config: KafkaSinkConfig,
    pipeline: String,
    /// Keys the checkpoint and the transactional id: the pipeline's name,
    /// unless this sink is a second destination of the same pipeline.
    identity: String,
    options: EnvelopeOptions,
    encoder: Encoder,
    producer: Option<Arc<Producer_>>,
    in_transaction: bool,
    /// Topics known to exist.
    topics: HashSet<String>,
    /// The position the stream is at: the end of the last transaction
    /// seen, which is where the next one starts (Debezium's `file`/`pos`).
    position: Option<Position>,
    /// Commit time of the transaction being written, ms since the epoch.
    commit_ms: Option<i64>,
    /// Rows written in the current transaction (Debezium's `row`).
    row: u32,
    /// Whether a snapshot record has been written yet (`snapshot: first`).
    snapshot_started: bool,
}

impl KafkaSink {
    pub fn new(config: KafkaSinkConfig, pipeline: &str) -> Self {
        let options = config.envelope();
        Self {
            encoder: Encoder::new(options.clone()),
            options,
            config,
            pipeline: pipeline.to_owned(),
            identity: pipeline.to_owned(),
            producer: None,
            in_transaction: false,
            topics: HashSet::new(),
            position: None,
            commit_ms: None,
            row: 0,
            snapshot_started: false,
        }
    }

    /// Keys this sink's checkpoint and transactional id by `identity`
    /// instead of the pipeline's name, so that a second destination of the
    /// same pipeline (its dead letters) neither overwrites the first's
    /// checkpoint nor fences its producer.
    pub fn checkpoint_as(mut self, identity: &str) -> Self {
        self.identity = identity.to_owned();
        self
    }

    fn error(&self, context: impl Into<String>) -> impl FnOnce(KafkaError) -> SinkError + '_ {
        let context = context.into();
        move |source| {
            SinkError::Kafka(Box::new(KafkaSinkError {
                context,
                brokers: self.config.describe(),
                source,
            }))
        }
    }

    fn client_config(&self, settings: std::collections::BTreeMap<String, String>) -> ClientConfig {
        let mut config = ClientConfig::new();
        for (key, value) in settings {
            config.set(key, value);
        }
        config
    }

    fn producer(&self) -> Result<Arc<Producer_>, SinkError> {
        self.producer
            .clone()
            .ok_or_else(|| SinkError::Refused("kafka sink used before open".into()))
    }

    /// Creates `topic` when missing (an existing one is left as it is).
    /// The checkpoint and schema change topics get one partition: their
    /// records are read in order.
    async fn ensure_topic(&mut self, topic: &str, kind: TopicKind) -> Result<(), SinkError> {
        if self.topics.contains(topic) {
            return Ok(());
        }
        if self.topic_exists(topic).await? {
            self.topics.insert(topic.to_owned());
            return Ok(());
        }
        let admin: AdminClient<DefaultClientContext> = self
            .client_config(self.config.common_settings())
            .create()
            .map_err(self.error("create an admin client"))?;
        let partitions = match kind {
            TopicKind::Data => self.config.partitions,
            TopicKind::Ordered | TopicKind::Compacted => 1,
        };
        let compacted = kind == TopicKind::Compacted;
        let mut new = NewTopic::new(
            topic,
            partitions,
            TopicReplication::Fixed(self.config.replication),
        );
        if compacted {
            new = new.set("cleanup.policy", "compact");
        }
        let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
        let results = admin
            .create_topics([&new], &options)
            .await
            .map_err(self.error(format!("create topic {topic}")))?;
        for result in results {
            match result {
                Ok(_) => tracing::info!(topic, partitions, "created topic"),
                Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((_, code)) => {
                    return Err(self.error(format!("create topic {topic}"))(
                        KafkaError::AdminOp(code),
                    ));
                }
            }
        }
        self.topics.insert(topic.to_owned());
        Ok(())
    }

    async fn topic_exists(&self, topic: &str) -> Result<bool, SinkError> {
        let producer = self.producer()?;
        let name = topic.to_owned();
        let metadata = tokio::task::spawn_blocking(move || {
            producer.client().fetch_metadata(Some(&name), INIT_TIMEOUT)
        })
        .await
        .map_err(|e| SinkError::Refused(format!("kafka metadata task failed: {e}")))?
        .map_err(self.error(format!("read the metadata of topic {topic}")))?;
        Ok(metadata
            .topics()
            .iter()
            .any(|t| t.name() == topic && t.error().is_none() && !t.partitions().is_empty()))
    }

    fn begin(&mut self) -> Result<(), SinkError> {
        if self.config.exactly_once && !self.in_transaction {
            self.producer()?
                .begin_transaction()
                .map_err(self.error("begin a transaction"))?;
            self.in_transaction = true;
        }
        Ok(())
    }

    /// Queues one record, waiting while the producer's queue is full.
    async fn send(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
    ) -> Result<(), SinkError> {
        let producer = self.producer()?;
        let mut record: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(topic);
        if let Some(key) = key {
            record = record.key(key);
        }
        if let Some(value) = value {
            record = record.payload(value);
        }
        let in_flight = &producer.context().in_flight;
        loop {
            // Counted before the send: its delivery report may come first.
            in_flight.fetch_add(1, Ordering::AcqRel);
            match producer.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    in_flight.fetch_sub(1, Ordering::AcqRel);
                    record = back;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err((error, _)) => {
                    in_flight.fetch_sub(1, Ordering::AcqRel);
                    return Err(self.error(format!("produce to {topic}"))(error));
                }
            }
        }
    }

    /// Waits until every queued record is delivered; fails when one was
    /// refused since the last call. `Producer::flush` would do, but it
    /// polls for delivery reports in steps of 100 ms while the producer's
    /// own thread takes them, so every flush took 100 ms: here the
    /// delivery callback wakes the waiter.
    async fn delivered(&mut self) -> Result<(), SinkError> {
        let producer = self.producer()?;
        let context = producer.context();
        // Send what lingers now rather than after linger.ms; the call
        // returns at once, timed out, which is expected.
        let _ = producer.flush(Duration::ZERO);
        let deadline = tokio::time::Instant::now() + COMMIT_TIMEOUT;
        loop {
            let settled = context.settled.notified();
            tokio::pin!(settled);
            settled.as_mut().enable();
            if context.in_flight.load(Ordering::Acquire) == 0 {
                break;
            }
            if tokio::time::timeout_at(deadline, settled).await.is_err() {
                self.producer = None;
                return Err(self.error("deliver the batch")(KafkaError::Flush(
                    RDKafkaErrorCode::OperationTimedOut,
                )));
            }
        }
        if context.failed.swap(0, Ordering::Relaxed) > 0 {
            let error = context
                .last_error
                .lock()
                .ok()
                .and_then(|mut e| e.take())
                .unwrap_or(KafkaError::Flush(RDKafkaErrorCode::Fail));
            self.producer = None;
            return Err(self.error("deliver the batch")(error));
        }
        Ok(())
    }

    fn source_info(&self) -> SourceInfo {
        let (file, pos, gtid, snapshot) = match &self.position {
            Some(Position::MysqlFile(binlog)) => {
                (binlog.file.clone(), binlog.offset, None, SnapshotMarker::No)
            }
            Some(Position::MysqlSnapshot(progress)) => (
                progress.handover.file.clone(),
                progress.handover.offset,
                None,
                SnapshotMarker::Middle,
            ),
            Some(Position::MysqlGtid { gtid_set }) => {
                (String::new(), 0, Some(gtid_set.clone()), SnapshotMarker::No)
            }
            // A first run starts with the snapshot.
            None => (String::new(), 0, None, SnapshotMarker::Middle),
            Some(_) => (String::new(), 0, None, SnapshotMarker::No),
        };
        let snapshot = if snapshot == SnapshotMarker::Middle && !self.snapshot_started {
            SnapshotMarker::First
        } else {
            snapshot
        };
        SourceInfo {
            server_id: 0,
            ts_ms: self.commit_ms.unwrap_or_else(|| now_micros() / 1000),
            snapshot,
            gtid,
            file,
            pos,
            row: self.row,
        }
    }

    /// A record the source could not read goes to the dead letter topic,
    /// its original key and value kept, the reason beside them.
    async fn write_dead_letter(&mut self, letter: &DeadLetter) -> Result<(), SinkError> {
        let topic = self.config.dead_letter_topic();
        self.ensure_topic(&topic, TopicKind::Data).await?;
        let value = serde_json::json!({
            "pipeline": self.pipeline,
            "topic": letter.origin,
            "partition": letter.partition,
            "offset": letter.offset,
            "key": letter.key.as_deref().map(String::from_utf8_lossy),
            "value": letter.value.as_deref().map(String::from_utf8_lossy),
            "error": letter.error,
        })
        .to_string();
        self.send(&topic, letter.key.as_deref(), Some(value.as_bytes()))
            .await
    }

    async fn write_schema_change(&mut self, change: &SchemaChange) -> Result<(), SinkError> {
        let Some(topic) = self.config.schema_topic() else {
            return Ok(());
        };
        self.ensure_topic(&topic, TopicKind::Ordered).await?;
        let source = self.source_info();
        let record = history::record(change, &source, &self.options, now_micros());
        let key = serde_json::to_vec(&record.key).unwrap_or_default();
        let value = serde_json::to_vec(&record.value).unwrap_or_default();
        self.send(&topic, Some(&key), Some(&value)).await
    }
}

fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// Reads the last position `pipeline` committed to `topic`, as a
/// `read_committed` consumer: records of aborted transactions are skipped.
fn read_checkpoint(
    mut config: ClientConfig,
    topic: &str,
    pipeline: &str,
) -> Result<Option<Vec<u8>>, (String, KafkaError)> {
    let context = |what: &str| format!("{what} of checkpoint topic {topic}");
    config
        .set("group.id", format!("watershed-checkpoint-{pipeline}"))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        // The end is known (the high watermark); an empty fetch at it need
        // not wait the default half second for data.
        .set("fetch.wait.max.ms", "10")
        .set("isolation.level", "read_committed");
    let consumer: BaseConsumer = config
        .create()
        .map_err(|e| (context("create a reader"), e))?;
    let (low, high) = consumer
        .fetch_watermarks(topic, 0, INIT_TIMEOUT)
        .map_err(|e| (context("read the offsets"), e))?;
    if high <= low {
        return Ok(None);
    }
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(topic, 0, Offset::Beginning)
        .map_err(|e| (context("assign the partition"), e))?;
    consumer
        .assign(&assignment)
        .map_err(|e| (context("assign the partition"), e))?;
    let deadline = std::time::Instant::now() + INIT_TIMEOUT;
    let mut last: Option<Vec<u8>> = None;
    while std::time::Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(200)) {
            None => {}
            Some(Err(KafkaError::PartitionEOF(_))) => return Ok(last),
            Some(Err(e)) => return Err((context("read"), e)),
            Some(Ok(message)) => {
                if message.key() == Some(pipeline.as_bytes()) {
                    last = message.payload().map(<[u8]>::to_vec);
                }
                // Past the last record: the high watermark was read first,
                // so a later commit can only have a newer owner (fenced).
                if message.offset() + 1 >= high {
                    return Ok(last);
                }
            }
        }
    }
    Err((
        context("read to the end"),
        KafkaError::MessageConsumption(RDKafkaErrorCode::OperationTimedOut),
    ))
}

impl Sink for KafkaSink {
    async fn open(&mut self) -> Result<Option<Position>, SinkError> {
        // A new producer with the same transactional id fences the old one
        // and aborts whatever transaction it left open.
        self.producer = None;
        self.in_transaction = false;
        let settings = self.config.producer_settings(&self.identity);
        let shown: Vec<String> = settings
            .iter()
            .map(|(k, v)| {
                if is_secret(k) {
                    format!("{k}=***")
                } else {
                    format!("{k}={v}")
                }
            })
            .collect();
        tracing::debug!(brokers = %self.config.describe(), settings = %shown.join(" "), "kafka producer");
        let producer: Producer_ = self
            .client_config(settings)
            .create_with_context(Deliveries::default())
            .map_err(self.error("create the producer"))?;
        let producer = Arc::new(producer);
        let init = producer.clone();
        let exactly_once = self.config.exactly_once;
        tokio::task::spawn_blocking(move || {
            if exactly_once {
                init.init_transactions(INIT_TIMEOUT)
            } else {
                // Without transactions, still reach a broker before going on.
                init.client().fetch_metadata(None, INIT_TIMEOUT).map(drop)
            }
        })
        .await
        .map_err(|e| SinkError::Refused(format!("kafka init task failed: {e}")))?
        .map_err(self.error("connect (initialise the producer)"))?;
        self.producer = Some(producer);

        let checkpoint_topic = self.config.checkpoint_topic(&self.identity);
        self.ensure_topic(&checkpoint_topic, TopicKind::Compacted)
            .await?;
        let reader = self.client_config(self.config.common_settings());
        let pipeline = self.identity.clone();
        let topic = checkpoint_topic.clone();
        let stored =
            tokio::task::spawn_blocking(move || read_checkpoint(reader, &topic, &pipeline))
                .await
                .map_err(|e| SinkError::Refused(format!("kafka checkpoint task failed: {e}")))?
                .map_err(|(context, source)| {
                    SinkError::Kafka(Box::new(KafkaSinkError {
                        context,
                        brokers: self.config.describe(),
                        source,
                    }))
                })?;
        let position = match stored {
            None => None,
            Some(bytes) => Some(
                Position::from_json(&String::from_utf8_lossy(&bytes)).map_err(|source| {
                    SinkError::Checkpoint {
                        location: format!("kafka topic {checkpoint_topic}"),
                        source,
                    }
                })?,
            ),
        };
        self.snapshot_started = position.is_some();
        self.position = position.clone();
        Ok(position)
    }

    async fn write(&mut self, events: &[Event]) -> Result<(), SinkError> {
        self.begin()?;
        for event in events {
            match event {
                Event::Begin(begin) => {
                    self.commit_ms = begin.commit_time.map(|t| t.micros.div_euclid(1000));
                    self.row = 0;
                }
                Event::Change(change) => {
                    let topic = self.config.topic_for(&change.table.name);
                    self.ensure_topic(&topic, TopicKind::Data).await?;
                    let source = self.source_info();
                    let records = self.encoder.encode(change, &source, now_micros());
                    for record in &records {
                        self.send(&topic, record.key.as_deref(), record.value.as_deref())
                            .await
                            .map_err(|e| e.for_table(&change.table.name))?;
                    }
                    self.row += 1;
                    if source.snapshot != SnapshotMarker::No {
                        self.snapshot_started = true;
                    }
                }
                Event::Schema(change) => self.write_schema_change(change).await?,
                Event::DeadLetter(letter) => self.write_dead_letter(letter).await?,
                Event::Commit(commit) => {
                    self.position = Some(commit.position.clone());
                    self.commit_ms = None;
                }
                Event::State(state) => return Err(crate::sink::no_state(&state.scope)),
            }
        }
        Ok(())
    }

    async fn flush(&mut self, position: &Position) -> Result<(), SinkError> {
        self.begin()?;
        let topic = self.config.checkpoint_topic(&self.identity);
        let value = position.to_json();
        if !self.config.exactly_once {
            // At least once: the position goes out only after every record
            // before it was delivered.
            self.delivered().await?;
        }
        self.send(
            &topic,
            Some(self.identity.as_bytes()),
            Some(value.as_bytes()),
        )
        .await?;
        if !self.config.exactly_once {
            self.delivered().await?;
            self.position = Some(position.clone());
            return Ok(());
        }
        let producer = self.producer()?;
        self.in_transaction = false;
        let committed = tokio::task::spawn_blocking(move || {
            match producer.commit_transaction(COMMIT_TIMEOUT) {
                Ok(()) => Ok(()),
                Err(error) => {
                    // The transaction must not stay open: abort it so that a
                    // retry starts clean (open() fences it in any case).
                    let _ = producer.abort_transaction(COMMIT_TIMEOUT);
                    Err(error)
                }
            }
        })
        .await
        .map_err(|e| SinkError::Refused(format!("kafka commit task failed: {e}")))?;
        if let Err(error) = committed {
            self.producer = None;
            return Err(self.error("commit a transaction")(error));
        }
        self.position = Some(position.clone());
        Ok(())
    }
}

/// Preflight checks of a kafka sink: the brokers answer, and the stored
/// checkpoint (if any) is readable. Writes nothing.
pub async fn check(config: &KafkaSinkConfig, pipeline: &str) -> Vec<watershed_events::Check> {
    use watershed_events::Check;
    let brokers = config.describe();
    let settings = config.common_settings();
    let checkpoint_topic = config.checkpoint_topic(pipeline);
    let pipeline = pipeline.to_owned();
    let probed = tokio::task::spawn_blocking(move || {
        let mut client = ClientConfig::new();
        for (key, value) in settings {
            client.set(key, value);
        }
        let consumer: BaseConsumer = client.create().map_err(|e| e.to_string())?;
        let metadata = consumer
            .fetch_metadata(None, Duration::from_secs(10))
            .map_err(|e| e.to_string())?;
        let has_checkpoints = metadata
            .topics()
            .iter()
            .any(|t| t.name() == checkpoint_topic && t.error().is_none());
        let stored = if has_checkpoints {
            read_checkpoint(client, &checkpoint_topic, &pipeline)
                .map_err(|(context, e)| format!("{context}: {e}"))?
        } else {
            None
        };
        Ok::<_, String>((metadata.brokers().len(), metadata.topics().len(), stored))
    })
    .await;
    match probed {
        Ok(Ok((brokers_up, topics, stored))) => {
            let checkpoint = match stored.map(|b| Position::from_json(&String::from_utf8_lossy(&b)))
            {
                None => Check::ok(
                    "sink checkpoint",
                    "no checkpoint yet: starts from the beginning",
                ),
                Some(Ok(position)) => {
                    Check::ok("sink checkpoint", format!("resumes from {position}"))
                }
                Some(Err(e)) => Check::fail(
                    "sink checkpoint",
                    e.to_string(),
                    "the checkpoint topic holds a record this version cannot read",
                ),
            };
            vec![
                Check::ok(
                    "sink kafka",
                    format!("{brokers}: {brokers_up} broker(s), {topics} topic(s) visible"),
                ),
                checkpoint,
            ]
        }
        Ok(Err(error)) => vec![Check::fail(
            "sink kafka",
            format!("{brokers}: {error}"),
            "check sink.brokers, that the brokers run, and sink.properties (security.protocol, sasl.*)",
        )],
        Err(e) => vec![Check::fail("sink kafka", e.to_string(), "report this")],
    }
}
