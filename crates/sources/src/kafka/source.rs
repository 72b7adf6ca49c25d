//! The kafka source: a consumer group member whose offsets live in the
//! sink, not in Kafka.
//!
//! Each chunk of records is one source transaction whose position is the
//! next offset of every partition this member holds (`topic/partition`);
//! the sink stores it with the rows, atomically, and refuses it when
//! another member moved one of those partitions meanwhile. A rebalance
//! replays from the sink's checkpoint: the in-flight chunk is dropped, the
//! sink's offsets re-read, and the held partitions sought to them (or by
//! `start` where the sink holds none) — so a partition changing hands is
//! neither lost nor applied twice. Kafka's committed offsets only mirror
//! the sink's, for monitoring tools, and tell librdkafka where to prefetch
//! from until the seek.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::statistics::Statistics;
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientConfig, ClientContext, Offset, TopicPartitionList};
use std::collections::HashSet;

use watershed_events::{DeadLetter, Event, Position, SchemaChange, Timestamp, TxBegin, TxCommit};

use super::config::{KafkaSourceConfig, OnError, SourceFormat, Start};
use super::debezium::{DebeziumDecoder, Decoded};
use super::json::JsonDecoder;
use crate::source::{Source, SourceError};

/// How long one chunk waits for records.
const CHUNK_WAIT: Duration = Duration::from_millis(200);
const SEEK_TIMEOUT: Duration = Duration::from_secs(10);
/// `start: earliest` as a concrete offset: a logical one (`Beginning`)
/// sends librdkafka to look the offset up, and a seek or another
/// assignment meanwhile made the lookup outdated and retried half a second
/// later. Where the log no longer starts at 0, the fetch is out of range
/// and `auto.offset.reset: earliest` takes the first offset it has.
const EARLIEST: Offset = Offset::Offset(0);

/// What the consumer's callbacks share with the source.
#[derive(Debug, Default)]
struct Shared {
    /// Durable next offsets (`topic/partition`), as the sink holds them.
    offsets: Mutex<BTreeMap<String, i64>>,
    /// The offset each partition was last assigned at (`None`: Kafka's
    /// committed offset, or `start`).
    assigned: Mutex<HashMap<String, Option<i64>>>,
    /// The assignment changed since the source last looked.
    rebalanced: AtomicBool,
    /// Wakes a source waiting for records when the assignment changes, so
    /// that it seeks the new partitions at once, not at its next record.
    reassigned: tokio::sync::Notify,
}

struct GroupContext {
    shared: Arc<Shared>,
}

impl ClientContext for GroupContext {
    /// librdkafka's statistics, when `statistics.interval.ms` is set in
    /// `properties`: what the prefetch queues hold and how far behind each
    /// partition is, at debug level (the default logs the whole tree at
    /// info).
    fn stats(&self, statistics: Statistics) {
        let mut queued = 0i64;
        let mut queued_bytes = 0u64;
        let mut lag = 0i64;
        let mut partitions = Vec::new();
        for topic in statistics.topics.values() {
            for p in topic
                .partitions
                .values()
                .filter(|p| p.partition >= 0 && p.desired)
            {
                queued += p.fetchq_cnt;
                queued_bytes += p.fetchq_size;
                lag += p.consumer_lag.max(0);
                partitions.push(format!(
                    "{}/{}:{}@{}+{}",
                    topic.topic, p.partition, p.fetch_state, p.next_offset, p.fetchq_cnt
                ));
            }
        }
        // Bytes off the wire (compressed), against `queued_bytes` (payloads).
        let received_bytes: u64 = statistics.brokers.values().map(|b| b.rxbytes).sum();
        tracing::debug!(
            replyq = statistics.replyq,
            received_bytes,
            queued,
            queued_bytes,
            lag,
            partitions = %partitions.join(","),
            "kafka consumer statistics"
        );
    }
}

impl ConsumerContext for GroupContext {
    /// Assigns partitions at the sink's offsets rather than Kafka's.
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        partitions: &mut TopicPartitionList,
    ) {
        self.shared.rebalanced.store(true, Ordering::SeqCst);
        self.shared.reassigned.notify_one();
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                let stored = self
                    .shared
                    .offsets
                    .lock()
                    .map(|o| o.clone())
                    .unwrap_or_default();
                let elements: Vec<(String, i32)> = partitions
                    .elements()
                    .iter()
                    .map(|e| (e.topic().to_owned(), e.partition()))
                    .collect();
                let mut taken = Vec::new();
                let mut assigned = HashMap::new();
                for (topic, partition) in elements {
                    let key = partition_key(&topic, partition);
                    // What this member knew at its last open may be stale
                    // (another member has applied more since): the source
                    // seeks to the sink's offsets when it sees the
                    // assignment. Meanwhile librdkafka fetches from here;
                    // where this member knows nothing, from Kafka's
                    // committed offset, which mirrors the sink's — not from
                    // `start`, which made a late joiner fetch its partitions
                    // from the beginning, hundreds of megabytes thrown away.
                    let known = stored.get(&key).copied();
                    let offset = known.map_or(Offset::Stored, Offset::Offset);
                    taken.push(format!("{key}@{offset:?}"));
                    assigned.insert(key, known);
                    let _ = partitions.set_partition_offset(&topic, partition, offset);
                }
                if let Ok(mut last) = self.shared.assigned.lock() {
                    *last = assigned;
                }
                tracing::info!(partitions = %taken.join(","), "partitions assigned");
                if let Err(error) = consumer.assign(partitions) {
                    tracing::error!(%error, "could not take the assigned partitions");
                }
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                let given: Vec<String> = partitions
                    .elements()
                    .iter()
                    .map(|e| partition_key(e.topic(), e.partition()))
                    .collect();
                tracing::info!(partitions = %given.join(","), "partitions revoked");
                if let Err(error) = consumer.unassign() {
                    tracing::error!(%error, "could not give up the revoked partitions");
                }
            }
            other => tracing::error!(error = ?other, "rebalance failed"),
        }
    }
}

fn partition_key(topic: &str, partition: i32) -> String {
    format!("{topic}/{partition}")
}

/// Whether `key` is [`partition_key`]`(topic, partition)`.
fn is_key_of(key: &str, topic: &str, partition: i32) -> bool {
    key.strip_prefix(topic)
        .and_then(|rest| rest.strip_prefix('/'))
        .is_some_and(|number| number.parse() == Ok(partition))
}

/// The future's output if it is ready at the first poll.
fn ready_now<F: std::future::Future>(future: F) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut context) {
        std::task::Poll::Ready(output) => Some(output),
        std::task::Poll::Pending => None,
    }
}

/// Reads a consumer group's topics into changes.
pub struct KafkaSource {
    config: KafkaSourceConfig,
    pipeline: String,
    shared: Arc<Shared>,
    consumer: Option<Arc<StreamConsumer<GroupContext>>>,
    /// Next offset per held partition, as far as this member has read.
    next: BTreeMap<String, i64>,
    /// Records handed out since the last durable position.
    in_flight: bool,
    debezium: DebeziumDecoder,
    json: HashMap<String, JsonDecoder>,
    /// JSON topics whose table was announced since the last open.
    announced: HashSet<String>,
    /// Partitions sought to an offset not yet reached: the offset, how far
    /// back the next seek goes, and whether records below it were seen
    /// (see [`KafkaSource::after_seek`]).
    sought: HashMap<String, (i64, i64, bool)>,
}

/// What to do with a record that arrives after its partition was sought.
enum AfterSeek {
    Take,
    Drop,
}

impl KafkaSource {
    pub fn new(config: KafkaSourceConfig, pipeline: &str) -> Self {
        let shared = Arc::new(Shared::default());
        Self {
            config,
            pipeline: pipeline.to_owned(),
            shared,
            consumer: None,
            next: BTreeMap::new(),
            in_flight: false,
            debezium: DebeziumDecoder::default(),
            json: HashMap::new(),
            announced: HashSet::new(),
            sought: HashMap::new(),
        }
    }

    fn error(&self, context: &str, error: impl std::fmt::Display) -> SourceError {
        SourceError::Transient {
            context: format!("kafka {context} (brokers {})", self.config.describe()),
            message: error.to_string(),
        }
    }

    fn fatal(&self, message: String) -> SourceError {
        SourceError::Fatal(message)
    }

    fn consumer(&mut self) -> Result<Arc<StreamConsumer<GroupContext>>, SourceError> {
        if let Some(consumer) = &self.consumer {
            return Ok(consumer.clone());
        }
        let mut client = ClientConfig::new();
        // When its prefetch queue is full, librdkafka postpones the
        // partition's next fetch by this long (default 1 s): the pipeline
        // drains the queue in a fraction of that, and sat idle. The queue
        // keeps librdkafka's default size (64 MiB): a smaller one left the
        // consumer waiting at every partition switch (16 MiB: 36k
        // records/s against 52k/s, for the same peak RSS).
        client.set("fetch.queue.backoff.ms", "10");
        // How long the broker may hold a fetch waiting for data. At
        // librdkafka's 500 ms default the consumer sat idle at startup and
        // between partitions' data (tansu holds fetches that long): 67k →
        // 76k–92k records/s at 300k. An idle consumer asks ten times a second.
        client.set("fetch.wait.max.ms", "100");
        for (key, value) in &self.config.properties {
            client.set(key, value);
        }
        client
            .set("bootstrap.servers", &self.config.brokers)
            .set("group.id", &self.config.group)
            .set("client.id", format!("watershed-{}", self.pipeline))
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("isolation.level", "read_committed")
            .set("allow.auto.create.topics", "false")
            .set(
                "auto.offset.reset",
                if self.config.start == Start::Latest {
                    "latest"
                } else {
                    "earliest"
                },
            );
        let context = GroupContext {
            shared: self.shared.clone(),
        };
        let consumer: StreamConsumer<GroupContext> = client
            .create_with_context(context)
            .map_err(|e| self.error("create the consumer", e))?;
        let topics = self.config.subscription();
        let topics: Vec<&str> = topics.iter().map(String::as_str).collect();
        consumer
            .subscribe(&topics)
            .map_err(|e| self.error("subscribe", e))?;
        let consumer = Arc::new(consumer);
        self.consumer = Some(consumer.clone());
        Ok(consumer)
    }

    /// Seeks one partition. One assigned at Kafka's committed offset cannot
    /// be sought until librdkafka has read that offset (a round trip to the
    /// group coordinator): refused meanwhile, the seek is tried again.
    async fn seek_when_ready(
        &self,
        consumer: &StreamConsumer<GroupContext>,
        topic: &str,
        partition: i32,
        offset: Offset,
    ) -> Result<(), SourceError> {
        let deadline = Instant::now() + SEEK_TIMEOUT;
        loop {
            match consumer.seek(topic, partition, offset, SEEK_TIMEOUT) {
                Ok(()) => return Ok(()),
                // rdkafka reports a seek's error code only as its
                // description, which the code's `Display` quotes.
                Err(KafkaError::Seek(text))
                    if rdkafka::types::RDKafkaErrorCode::State
                        .to_string()
                        .contains(text.as_str())
                        && Instant::now() < deadline =>
                {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err(error) => return Err(self.error(&format!("seek {topic}"), error)),
            }
        }
    }

    /// Moves every held partition to the sink's offset (or `start`).
    async fn seek_held(
        &mut self,
        consumer: &StreamConsumer<GroupContext>,
    ) -> Result<(), SourceError> {
        // Owned: the list's elements point into librdkafka's memory and
        // cannot be held across the waits below.
        let held: Vec<(String, i32)> = consumer
            .assignment()
            .map_err(|e| self.error("read the assignment", e))?
            .elements()
            .iter()
            .map(|e| (e.topic().to_owned(), e.partition()))
            .collect();
        let stored = self
            .shared
            .offsets
            .lock()
            .map(|o| o.clone())
            .unwrap_or_default();
        let assigned = self
            .shared
            .assigned
            .lock()
            .map(|mut a| std::mem::take(&mut *a))
            .unwrap_or_default();
        self.next.clear();
        self.sought.clear();
        for (topic, partition) in held {
            let key = partition_key(&topic, partition);
            let at = stored.get(&key).copied();
            if let Some(n) = at {
                self.next.insert(key.clone(), n);
                self.sought.insert(key.clone(), (n, 1024, false));
                if assigned.get(&key) == Some(&at) {
                    // Assigned where the sink is: a seek would only drop
                    // what librdkafka has fetched.
                    tracing::debug!(partition = %key, offset = n, "already at the sink's offset");
                    continue;
                }
            }
            let offset = match at {
                Some(n) => Offset::Offset(n),
                None if self.config.start == Start::Latest => Offset::End,
                None => EARLIEST,
            };
            self.seek_when_ready(consumer, &topic, partition, offset)
                .await?;
            tracing::debug!(partition = %key, ?offset, "sought");
        }
        Ok(())
    }

    /// The first record taken from a partition after a seek to offset X
    /// must be X, or lie past X only where the log has a gap (a
    /// transaction marker, compaction). A broker may answer a fetch at X
    /// with a later batch (tansu does, when X is inside a batch); taking
    /// that record would make the records from X on look applied. So a
    /// record past X, before any record below X was seen, seeks back
    /// further (doubling, five times at most) and records below X are
    /// dropped until the stream has covered X. A broker that never returns
    /// X stops the pipeline rather than skip.
    fn after_seek(
        &mut self,
        consumer: &StreamConsumer<GroupContext>,
        key: &str,
        topic: &str,
        partition: i32,
        offset: i64,
    ) -> Result<AfterSeek, SourceError> {
        let Some(&(target, back, covered)) = self.sought.get(key) else {
            return Ok(AfterSeek::Take);
        };
        if offset < target {
            self.sought.insert(key.to_owned(), (target, back, true));
            return Ok(AfterSeek::Drop);
        }
        if offset == target || covered || target == 0 {
            self.sought.remove(key);
            return Ok(AfterSeek::Take);
        }
        if back > 1 << 20 {
            return Err(SourceError::Transient {
                context: format!("kafka {key}"),
                message: format!(
                    "the broker returned offset {offset} for a fetch at {target}, also when asked \
                     from earlier offsets; stopping rather than skipping records"
                ),
            });
        }
        let from = (target - back).max(0);
        tracing::info!(partition = %key, expected = target, got = offset, from, "record past the sought offset; seeking back");
        consumer
            .seek(topic, partition, Offset::Offset(from), SEEK_TIMEOUT)
            .map_err(|e| self.error(&format!("seek {topic}"), e))?;
        self.sought
            .insert(key.to_owned(), (target, back * 4, from == 0));
        Ok(AfterSeek::Drop)
    }

    /// One record into events; `Err` is the reason it cannot be applied.
    fn decode(
        &mut self,
        message: &BorrowedMessage<'_>,
        now: Timestamp,
    ) -> Result<Vec<Event>, String> {
        match self.config.format {
            SourceFormat::Debezium => {
                match self.debezium.decode(message.key(), message.payload())? {
                    Decoded::Skip => Ok(Vec::new()),
                    Decoded::Change(schema, change) => {
                        let mut out = Vec::with_capacity(2);
                        out.extend(schema.map(Event::Schema));
                        out.push(Event::Change(change));
                        Ok(out)
                    }
                }
            }
            SourceFormat::Json => {
                let topic = message.topic();
                if !self.json.contains_key(topic) {
                    let table = topic.rsplit('.').next().unwrap_or(topic);
                    let decoder = JsonDecoder::new(&self.config, table)?;
                    self.json.insert(topic.to_owned(), decoder);
                }
                let decoder = &self.json[topic];
                let change = decoder.decode(message.payload(), now)?;
                // Announced with the first record that decodes: one that
                // becomes a dead letter drops its events, announcement and all.
                let mut out = Vec::with_capacity(2);
                if self.announced.insert(topic.to_owned()) {
                    out.push(Event::Schema(SchemaChange::new(decoder.table().clone())));
                }
                out.extend(change.map(Event::Change));
                Ok(out)
            }
        }
    }

    fn position(&self) -> Position {
        Position::KafkaOffsets {
            offsets: self.next.clone(),
        }
    }
}

fn now() -> Timestamp {
    Timestamp::from_micros(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as i64),
    )
}

impl Source for KafkaSource {
    async fn open(&mut self, resume: Option<&Position>) -> Result<(), SourceError> {
        let stored = match resume {
            None => BTreeMap::new(),
            Some(Position::KafkaOffsets { offsets }) => offsets.clone(),
            Some(other) => {
                return Err(SourceError::ForeignPosition {
                    position: Box::new(other.clone()),
                    source_kind: "kafka",
                });
            }
        };
        if let Ok(mut offsets) = self.shared.offsets.lock() {
            *offsets = stored;
        }
        self.in_flight = false;
        // Every table is announced again to the reopened sink.
        self.debezium = DebeziumDecoder::default();
        self.announced.clear();
        let consumer = self.consumer()?;
        // Partitions held from before a replay start again at the sink's
        // offsets; new ones get them when they are assigned.
        self.seek_held(&consumer).await?;
        self.shared.rebalanced.store(false, Ordering::SeqCst);
        Ok(())
    }

    async fn next_chunk(&mut self) -> Result<Option<Vec<Event>>, SourceError> {
        let consumer = self.consumer()?;
        let deadline = Instant::now() + CHUNK_WAIT;
        // Built in place, its `Begin` filled in at the end: copying a
        // chunk's events into a second vector cost a page-faulting
        // allocation per chunk. Sized at the first record, so that an
        // idle poll allocates nothing.
        let mut events = Vec::new();
        let mut records = 0usize;
        let mut newest_ms: Option<i64> = None;
        let mut receiving = Duration::ZERO;
        let mut key = String::new();
        let now = now();
        while records < self.config.max_chunk {
            if self.shared.rebalanced.swap(false, Ordering::SeqCst) {
                let holds = consumer.assignment().map_or(true, |a| a.count() > 0);
                // Records read are dropped; partitions taken over start at
                // the offsets the sink holds now, which include what their
                // last holder applied since this member opened (the offsets
                // it knows are those of its own last commit).
                if self.in_flight || records > 0 || holds {
                    return Err(SourceError::Reassigned(format!(
                        "kafka consumer group {}: partitions were reassigned",
                        self.config.group
                    )));
                }
                // Nothing held and nothing in flight: nothing to replay.
                self.seek_held(&consumer).await?;
            }
            // Most records are in librdkafka's queue already: taken without
            // a timer, and without reading the clock (twice a record, that
            // was 4 % of the process's CPU).
            let received = match ready_now(consumer.recv()) {
                Some(received) => Some(received),
                None => {
                    let asked = Instant::now();
                    let remaining = deadline.saturating_duration_since(asked);
                    let received = tokio::select! {
                        received = tokio::time::timeout(remaining, consumer.recv()) => received.ok(),
                        () = self.shared.reassigned.notified() => continue,
                    };
                    receiving += asked.elapsed();
                    received
                }
            };
            let message = match received {
                None => break,
                Some(Err(KafkaError::PartitionEOF(_))) => continue,
                Some(Err(error))
                    if error.rdkafka_error_code()
                        == Some(rdkafka::types::RDKafkaErrorCode::UnknownTopicOrPartition) =>
                {
                    return Err(self.fatal(format!(
                        "source.topics {:?}: {error}; the consumer does not create topics: \
                         create them, or fix source.topics",
                        self.config.topics
                    )));
                }
                Some(Err(error)) => return Err(self.error("consume", error)),
                Some(Ok(message)) => message,
            };
            let (topic, partition, offset) =
                (message.topic(), message.partition(), message.offset());
            // Records come in runs of one partition: its key is built once
            // per run, not once per record.
            if !is_key_of(&key, topic, partition) {
                key = partition_key(topic, partition);
            }
            if let AfterSeek::Drop = self.after_seek(&consumer, &key, topic, partition, offset)? {
                continue;
            }
            if self.next.get(&key).is_some_and(|next| offset < *next) {
                // Fetched before a seek took effect: already applied.
                continue;
            }
            if self.shared.rebalanced.load(Ordering::SeqCst) {
                continue;
            }
            if records == 0 {
                events.reserve(self.config.max_chunk.min(65_536) + 2);
                events.push(Event::Begin(TxBegin { commit_time: None }));
            }
            records += 1;
            if let Some(ms) = message.timestamp().to_millis() {
                newest_ms = Some(newest_ms.map_or(ms, |n: i64| n.max(ms)));
            }
            match self.decode(&message, now) {
                Ok(decoded) => events.extend(decoded),
                Err(reason) if self.config.on_error == OnError::Stop => {
                    return Err(self.fatal(format!(
                        "topic {} partition {} offset {}: {reason} (on_error: stop; the offset \
                         is not committed)",
                        message.topic(),
                        message.partition(),
                        message.offset()
                    )));
                }
                Err(reason) => {
                    tracing::warn!(topic = message.topic(), partition = message.partition(), offset = message.offset(), %reason, "dead letter");
                    events.push(Event::DeadLetter(DeadLetter {
                        origin: message.topic().to_owned(),
                        partition: message.partition(),
                        offset: message.offset(),
                        key: message.key().map(Arc::from),
                        value: message.payload().map(Arc::from),
                        error: reason,
                    }));
                }
            }
            match self.next.get_mut(&key) {
                Some(next) => *next = offset + 1,
                None => {
                    self.next.insert(key.clone(), offset + 1);
                }
            }
        }
        tracing::trace!(
            records,
            took_ms = (Instant::now() + CHUNK_WAIT - deadline).as_millis() as u64,
            receiving_ms = receiving.as_millis() as u64,
            "kafka chunk read"
        );
        if records == 0 {
            return Ok(Some(Vec::new()));
        }
        self.in_flight = true;
        let commit_time = newest_ms.map_or(now, |ms| Timestamp::from_micros(ms * 1000));
        events[0] = Event::Begin(TxBegin {
            commit_time: Some(commit_time),
        });
        events.push(Event::Commit(TxCommit {
            position: self.position(),
            commit_time,
        }));
        Ok(Some(events))
    }

    async fn ack(&mut self, position: &Position) -> Result<(), SourceError> {
        let Position::KafkaOffsets { offsets } = position else {
            return Ok(());
        };
        if let Ok(mut stored) = self.shared.offsets.lock() {
            stored.extend(offsets.iter().map(|(k, v)| (k.clone(), *v)));
        }
        if *offsets == self.next {
            self.in_flight = false;
        }
        // Mirror to Kafka for lag monitoring; the sink's copy is the truth.
        let mut list = TopicPartitionList::new();
        for (key, offset) in offsets {
            if let Some((topic, partition)) = key.rsplit_once('/')
                && let Ok(partition) = partition.parse::<i32>()
            {
                let _ = list.add_partition_offset(topic, partition, Offset::Offset(*offset));
            }
        }
        if let Some(consumer) = &self.consumer
            && list.count() > 0
            && let Err(error) = consumer.commit(&list, CommitMode::Async)
        {
            tracing::debug!(%error, "could not mirror offsets to Kafka");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{is_key_of, partition_key, ready_now};

    #[test]
    fn a_partition_key_is_recognised_only_for_its_topic_and_partition() {
        let key = partition_key("shop.orders", 12);
        assert!(is_key_of(&key, "shop.orders", 12));
        assert!(!is_key_of(&key, "shop.orders", 1));
        assert!(!is_key_of(&key, "shop.order", 12));
        assert!(!is_key_of(&key, "shop.orders/1", 2));
        assert!(!is_key_of("", "shop.orders", 12));
        // A topic name may itself contain what follows it in another key.
        assert!(is_key_of(&partition_key("a/1", 2), "a/1", 2));
        assert!(!is_key_of(&partition_key("a/1", 2), "a", 1));
    }

    #[test]
    fn only_a_ready_future_gives_its_output_at_once() {
        assert_eq!(ready_now(async { 7 }), Some(7));
        assert_eq!(ready_now(std::future::pending::<u8>()), None);
    }
}
