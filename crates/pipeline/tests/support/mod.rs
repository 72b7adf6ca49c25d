//! Test doubles for the runtime, implementing the real traits: a scripted
//! source that emits numbered single-column rows in transactions, and a
//! recording sink that keeps what it committed in memory. Both share a
//! [`Shared`] with an event log and the rows and bytes in flight.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use watershed_events::{
    Change, Column, Event, LogicalType, Position, TableName, TableSchema, Timestamp, TxBegin,
    TxCommit, Value,
};
use watershed_pipeline::config::{Environment, PipelineConfig, load_str};
use watershed_pipeline::{
    Metrics, PipelineError, Progress, RunOptions, RunSummary, ShutdownTrigger, run,
};
use watershed_sinks::{Sink, SinkError};
use watershed_sources::{Source, SourceError};

/// No test may take longer than this.
pub const TIMEOUT: Duration = Duration::from_secs(20);

pub fn position(next_index: u64) -> Position {
    Position::Generator { next_index }
}

pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .expect("a test double panicked while holding a lock")
}

/// A pipeline whose runtime settings are `settings` (YAML keys such as
/// `defaults`, `tables`, `buffer`, `retry`); source and sink keys are
/// placeholders, since the tests pass their own doubles.
pub fn config(name: &str, settings: &str) -> Arc<PipelineConfig> {
    let text = format!(
        "name: {name}\nsource: {{ kind: generator, stream: heartbeat }}\n\
         sink: {{ kind: jsonl, path: out.jsonl }}\n{settings}"
    );
    let config = load_str(&text, Path::new("."), Environment::empty()).expect("valid pipeline");
    Arc::new(config)
}

/// State both doubles see: a log of `open …`, `flushed N`, `ack N`,
/// `idle` and `end` lines, and the flow between source and sink.
#[derive(Default)]
pub struct Shared {
    pub log: Mutex<Vec<String>>,
    pub flow: Flow,
}

impl Shared {
    fn note(&self, line: String) {
        lock(&self.log).push(line);
    }

    pub fn log(&self) -> Vec<String> {
        lock(&self.log).clone()
    }
}

/// Rows and bytes the source produced and the sink received in `write`;
/// their difference is what is in flight in the runtime (channel and
/// batcher). The source samples it at every `next_chunk` call.
#[derive(Default)]
pub struct Flow {
    produced_rows: AtomicU64,
    produced_bytes: AtomicU64,
    received_rows: AtomicU64,
    received_bytes: AtomicU64,
    max_rows_in_flight: AtomicU64,
    max_bytes_in_flight: AtomicU64,
    max_chunk_bytes: AtomicU64,
}

impl Flow {
    fn sample(&self) {
        let rows = self.produced_rows.load(Ordering::SeqCst);
        let received = self.received_rows.load(Ordering::SeqCst);
        self.max_rows_in_flight
            .fetch_max(rows.saturating_sub(received), Ordering::SeqCst);
        let bytes = self.produced_bytes.load(Ordering::SeqCst);
        let received = self.received_bytes.load(Ordering::SeqCst);
        self.max_bytes_in_flight
            .fetch_max(bytes.saturating_sub(received), Ordering::SeqCst);
    }

    /// A new attempt starts with nothing in flight.
    fn restart(&self) {
        let rows = self.received_rows.load(Ordering::SeqCst);
        let bytes = self.received_bytes.load(Ordering::SeqCst);
        self.produced_rows.store(rows, Ordering::SeqCst);
        self.produced_bytes.store(bytes, Ordering::SeqCst);
    }

    fn produced(&self, events: &[Event]) {
        let (rows, bytes) = measure(events);
        self.produced_rows.fetch_add(rows, Ordering::SeqCst);
        self.produced_bytes.fetch_add(bytes, Ordering::SeqCst);
        self.max_chunk_bytes.fetch_max(bytes, Ordering::SeqCst);
    }

    fn received(&self, events: &[Event]) {
        let (rows, bytes) = measure(events);
        self.received_rows.fetch_add(rows, Ordering::SeqCst);
        self.received_bytes.fetch_add(bytes, Ordering::SeqCst);
    }

    pub fn received_rows(&self) -> u64 {
        self.received_rows.load(Ordering::SeqCst)
    }

    pub fn max_rows_in_flight(&self) -> u64 {
        self.max_rows_in_flight.load(Ordering::SeqCst)
    }

    pub fn max_bytes_in_flight(&self) -> u64 {
        self.max_bytes_in_flight.load(Ordering::SeqCst)
    }

    pub fn max_chunk_bytes(&self) -> u64 {
        self.max_chunk_bytes.load(Ordering::SeqCst)
    }
}

fn measure(events: &[Event]) -> (u64, u64) {
    let rows = events.iter().map(Event::row_count).sum::<usize>();
    let bytes = events.iter().map(Event::approx_bytes).sum::<usize>();
    (rows as u64, bytes as u64)
}

// ---------------------------------------------------------------- source

/// What the scripted source emits: rows numbered from 0, `tx_rows` to a
/// transaction, at most `chunk_events` events to a chunk (so chunks split
/// transactions and hold several). The commit after row `n - 1` carries
/// `Position::Generator { next_index: n }`.
pub struct Script {
    pub tx_rows: u64,
    /// `None`: endless. A total that is not a multiple of `tx_rows` leaves
    /// the last transaction open (begun, never committed).
    pub total_rows: Option<u64>,
    pub chunk_events: usize,
    /// After the last row: return empty chunks instead of ending.
    pub then_idle: bool,
    /// A pause before every chunk.
    pub chunk_delay: Duration,
    /// Bytes of text in every row (one shared buffer, so it costs nothing).
    pub payload_bytes: usize,
    /// `(end, table)`: rows below `end` go to `table`; the first match wins.
    pub tables: Vec<(u64, &'static str)>,
}

impl Default for Script {
    fn default() -> Self {
        Self {
            tx_rows: 1,
            total_rows: Some(1000),
            chunk_events: 100,
            then_idle: false,
            chunk_delay: Duration::ZERO,
            payload_bytes: 0,
            tables: vec![(u64::MAX, "t")],
        }
    }
}

/// What the scripted source was told by the runtime.
#[derive(Default)]
pub struct SourceRecord {
    pub opens: Vec<Option<Position>>,
    pub acks: Vec<Position>,
    /// When it first had nothing more to say (`then_idle`).
    pub idle_since: Option<Instant>,
    /// When it produced its first row.
    pub first_row_at: Option<Instant>,
    /// Rows the sink had received when each commit was emitted.
    pub received_at_commits: Vec<u64>,
}

pub struct ScriptedSource {
    script: Script,
    tables: Vec<(u64, Arc<TableSchema>)>,
    payload: Value,
    next_row: u64,
    /// The end of the open transaction, if one is open.
    tx_end: Option<u64>,
    shared: Arc<Shared>,
    pub record: Arc<Mutex<SourceRecord>>,
}

pub fn table(name: &str) -> Arc<TableSchema> {
    Arc::new(TableSchema {
        name: TableName::parse(name),
        columns: vec![
            Column::new("id", LogicalType::UInt64, false),
            Column::new("body", LogicalType::Text { charset: None }, false),
        ],
        primary_key: vec!["id".into()],
        indexes: vec![],
        version: 1,
        foreign_keys: Vec::new(),
        comment: None,
    })
}

impl ScriptedSource {
    pub fn new(script: Script, shared: &Arc<Shared>) -> Self {
        let tables = script
            .tables
            .iter()
            .map(|&(end, name)| (end, table(name)))
            .collect();
        let payload = Value::text(&"x".repeat(script.payload_bytes));
        Self {
            script,
            tables,
            payload,
            next_row: 0,
            tx_end: None,
            shared: shared.clone(),
            record: Arc::default(),
        }
    }

    fn exhausted(&self) -> bool {
        self.script
            .total_rows
            .is_some_and(|total| self.next_row >= total)
    }

    fn row(&self, id: u64) -> Event {
        let table = self
            .tables
            .iter()
            .find(|(end, _)| id < *end)
            .map(|(_, table)| table.clone())
            .expect("every row has a table");
        Event::Change(Change::insert(
            table,
            vec![Value::UInt(id), self.payload.clone()],
        ))
    }

    fn fill(&mut self) -> Vec<Event> {
        let mut events = Vec::with_capacity(self.script.chunk_events);
        while events.len() < self.script.chunk_events {
            match self.tx_end {
                None if self.exhausted() => break,
                None => {
                    events.push(Event::Begin(TxBegin { commit_time: None }));
                    self.tx_end = Some(self.next_row + self.script.tx_rows);
                }
                Some(end) if self.next_row < end => {
                    if self.exhausted() {
                        break;
                    }
                    events.push(self.row(self.next_row));
                    self.next_row += 1;
                }
                Some(end) => {
                    let received = self.shared.flow.received_rows();
                    lock(&self.record).received_at_commits.push(received);
                    events.push(Event::Commit(TxCommit {
                        position: position(end),
                        commit_time: Timestamp::from_micros(0),
                    }));
                    self.tx_end = None;
                }
            }
        }
        events
    }
}

impl Source for ScriptedSource {
    async fn open(&mut self, resume: Option<&Position>) -> Result<(), SourceError> {
        self.next_row = match resume {
            None => 0,
            Some(Position::Generator { next_index }) => *next_index,
            Some(other) => panic!("the runtime resumed from a position never emitted: {other}"),
        };
        self.tx_end = None;
        self.shared.flow.restart();
        lock(&self.record).opens.push(resume.cloned());
        self.shared.note(format!("open {resume:?}"));
        Ok(())
    }

    async fn next_chunk(&mut self) -> Result<Option<Vec<Event>>, SourceError> {
        self.shared.flow.sample();
        if !self.script.chunk_delay.is_zero() {
            tokio::time::sleep(self.script.chunk_delay).await;
        }
        let events = self.fill();
        if !events.is_empty() {
            self.shared.flow.produced(&events);
            lock(&self.record)
                .first_row_at
                .get_or_insert_with(Instant::now);
            return Ok(Some(events));
        }
        if !self.script.then_idle {
            self.shared.note("end".into());
            return Ok(None);
        }
        let first_idle = lock(&self.record).idle_since.is_none();
        if first_idle {
            lock(&self.record).idle_since = Some(Instant::now());
            self.shared.note("idle".into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
        Ok(Some(Vec::new()))
    }

    async fn ack(&mut self, position: &Position) -> Result<(), SourceError> {
        let Position::Generator { next_index } = position else {
            panic!("acknowledged a position never emitted: {position}");
        };
        self.shared.note(format!("ack {next_index}"));
        lock(&self.record).acks.push(position.clone());
        Ok(())
    }
}

// ---------------------------------------------------------------- sink

/// A sink failure to inject.
pub struct Failure {
    /// Which flush call fails first (1-based, counted across opens).
    pub on_flush: usize,
    /// Keep failing on every later flush too.
    pub always: bool,
    pub error: fn() -> SinkError,
}

pub fn timed_out() -> SinkError {
    SinkError::Io {
        context: "write",
        path: "memory".into(),
        source: std::io::ErrorKind::TimedOut.into(),
    }
}

/// Another member of a consumer group committed the partition first.
pub fn conflict() -> SinkError {
    SinkError::Conflict("partition t/0 was applied up to offset 7 by another member".into())
}

pub fn refused() -> SinkError {
    SinkError::Refused("the target rejected the batch".into())
}

/// One committed batch.
pub struct Batch {
    pub rows: usize,
    pub tables: BTreeSet<String>,
    /// `write` calls that went into it (more than one: staged writes).
    pub writes: usize,
    pub position: Position,
    pub at: Instant,
}

/// Everything the recording sink saw and committed.
#[derive(Default)]
pub struct SinkRecord {
    /// The committed position; set it before a run to simulate a resume.
    pub position: Option<Position>,
    pub committed: Vec<u64>,
    pub batches: Vec<Batch>,
    pub opens: usize,
    pub flush_calls: usize,
    staged: Vec<u64>,
    staged_tables: BTreeSet<String>,
    staged_writes: usize,
    /// A BEGIN was written and its COMMIT was not, yet.
    in_transaction: bool,
    last_commit: Option<Position>,
    /// Contract breaches seen: a flush inside a transaction, or at a
    /// position other than the last commit written.
    pub breaches: Vec<String>,
}

pub struct RecordingSink {
    pub record: Arc<Mutex<SinkRecord>>,
    pub write_delay: Duration,
    /// A pause at the start of every flush, before anything is durable.
    pub flush_delay: Duration,
    pub failure: Option<Failure>,
    shared: Arc<Shared>,
}

impl RecordingSink {
    pub fn new(shared: &Arc<Shared>) -> Self {
        Self {
            record: Arc::default(),
            write_delay: Duration::ZERO,
            flush_delay: Duration::ZERO,
            failure: None,
            shared: shared.clone(),
        }
    }

    fn should_fail(&self, call: usize) -> bool {
        self.failure
            .as_ref()
            .is_some_and(|f| call == f.on_flush || (f.always && call > f.on_flush))
    }
}

impl Sink for RecordingSink {
    async fn open(&mut self) -> Result<Option<Position>, SinkError> {
        let mut record = lock(&self.record);
        record.opens += 1;
        record.staged.clear();
        record.staged_tables.clear();
        record.staged_writes = 0;
        record.in_transaction = false;
        record.last_commit = None;
        Ok(record.position.clone())
    }

    async fn write(&mut self, events: &[Event]) -> Result<(), SinkError> {
        self.shared.flow.received(events);
        {
            let mut record = lock(&self.record);
            record.staged_writes += 1;
            for event in events {
                match event {
                    Event::Begin(_) => record.in_transaction = true,
                    Event::Commit(commit) => {
                        record.in_transaction = false;
                        record.last_commit = Some(commit.position.clone());
                    }
                    Event::Change(change) => {
                        let Some([Value::UInt(id), ..]) = change.after.as_deref() else {
                            panic!("not a scripted row: {change:?}");
                        };
                        record.staged.push(*id);
                        record.staged_tables.insert(change.table.name.to_string());
                    }
                    Event::Schema(_) | Event::DeadLetter(_) | Event::State(_) => {}
                }
            }
        }
        if !self.write_delay.is_zero() {
            tokio::time::sleep(self.write_delay).await;
        }
        Ok(())
    }

    async fn flush(&mut self, position: &Position) -> Result<(), SinkError> {
        if !self.flush_delay.is_zero() {
            tokio::time::sleep(self.flush_delay).await;
        }
        let call = {
            let mut record = lock(&self.record);
            record.flush_calls += 1;
            record.flush_calls
        };
        if let Some(failure) = self.failure.as_ref().filter(|_| self.should_fail(call)) {
            return Err((failure.error)());
        }
        {
            let mut record = lock(&self.record);
            if record.in_transaction {
                record
                    .breaches
                    .push(format!("flush at {position} inside a transaction"));
            }
            if record.last_commit.as_ref() != Some(position) {
                let last = record.last_commit.clone();
                record
                    .breaches
                    .push(format!("flush at {position}, last commit {last:?}"));
            }
            let rows = std::mem::take(&mut record.staged);
            let batch = Batch {
                rows: rows.len(),
                tables: std::mem::take(&mut record.staged_tables),
                writes: std::mem::take(&mut record.staged_writes),
                position: position.clone(),
                at: Instant::now(),
            };
            record.committed.extend(rows);
            record.batches.push(batch);
            record.position = Some(position.clone());
        }
        let Position::Generator { next_index } = position else {
            panic!("flushed a position never emitted: {position}");
        };
        self.shared.note(format!("flushed {next_index}"));
        Ok(())
    }
}

// ---------------------------------------------------------------- runs

/// A run in a task of its own, with its shutdown trigger and metrics.
pub struct Running {
    pub task: tokio::task::JoinHandle<Result<RunSummary, PipelineError>>,
    pub trigger: ShutdownTrigger,
    pub metrics: Arc<Metrics>,
    pub progress: Arc<Progress>,
}

pub fn start(
    source: ScriptedSource,
    mut sink: RecordingSink,
    config: Arc<PipelineConfig>,
) -> Running {
    let (trigger, shutdown) = ShutdownTrigger::new();
    let metrics = Metrics::new(&config.name);
    let progress = Arc::new(Progress::default());
    let options = RunOptions {
        metrics: metrics.clone(),
        progress: progress.clone(),
        shutdown,
    };
    let task = tokio::spawn(async move { run(source, &mut sink, config, options).await });
    Running {
        task,
        trigger,
        metrics,
        progress,
    }
}

impl Running {
    /// Waits for the run to end on its own (or after `trigger`).
    pub async fn finish(self) -> (Result<RunSummary, PipelineError>, Arc<Metrics>) {
        let result = tokio::time::timeout(TIMEOUT, self.task)
            .await
            .expect("the run ends in time")
            .expect("the run task does not panic");
        (result, self.metrics)
    }
}

/// Polls `condition` every few milliseconds; false if it stays false.
pub async fn eventually(mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + TIMEOUT / 2;
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    condition()
}
