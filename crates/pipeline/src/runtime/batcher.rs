//! Cutting the event stream into batches.
//!
//! A batch is cut when any table in it reaches its row or byte bound, or
//! when its oldest event has waited `max_delay`. Batches are committed only
//! at transaction boundaries; a transaction larger than the bounds is
//! staged into the sink piecewise and committed when its end arrives, so
//! memory stays flat.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use watershed_events::{Event, Position, TableName, TableSchema};

use crate::config::{BatchSettings, PipelineConfig};

/// How many times `max_rows` a batch of initial-snapshot rows may hold.
pub const SNAPSHOT_ROWS_FACTOR: usize = 4;

pub struct Batcher {
    config: Arc<PipelineConfig>,
    pending: Vec<Event>,
    rows: usize,
    bytes: usize,
    first_at: Option<Instant>,
    /// The tightest bounds of the tables in `pending`; `None` while it
    /// holds no rows.
    limits: Option<BatchSettings>,
    /// End of the last complete transaction in `pending`, and its position.
    committable: Option<(usize, Position)>,
    settings: HashMap<TableName, BatchSettings>,
    last_table: Option<(Arc<TableSchema>, BatchSettings)>,
}

impl Batcher {
    pub fn new(config: Arc<PipelineConfig>) -> Self {
        Self {
            config,
            pending: Vec::new(),
            rows: 0,
            bytes: 0,
            first_at: None,
            limits: None,
            committable: None,
            settings: HashMap::new(),
            last_table: None,
        }
    }

    /// Takes events until one ends a transaction with the batch full, so
    /// that a chunk holding many transactions cannot carry the batch past
    /// its bounds by more than one transaction; the rest stay in `events`.
    /// Each event counts `bytes_each` bytes: the chunk's size over its
    /// events, already measured by the channel (byte bounds are
    /// approximate, and measuring every event twice cost a few percent).
    pub fn push_until_full(&mut self, events: &mut std::vec::IntoIter<Event>, bytes_each: usize) {
        if events.as_slice().is_empty() {
            return;
        }
        self.first_at.get_or_insert_with(Instant::now);
        // Counted in place first, then moved in one go: events are large
        // (a commit carries its position inline), and moving each one
        // through a local cost a copy per row.
        let mut taken = 0;
        for event in events.as_slice() {
            taken += 1;
            self.bytes += bytes_each;
            match event {
                Event::Change(change) => {
                    self.rows += 1;
                    let bounds = self.bounds_of(&change.table);
                    self.tighten(bounds);
                }
                Event::Commit(commit) => {
                    self.committable = Some((self.pending.len() + taken, commit.position.clone()));
                    if self.is_full() {
                        break;
                    }
                }
                Event::Begin(_) | Event::Schema(_) | Event::DeadLetter(_) | Event::State(_) => {}
            }
        }
        self.pending.extend(events.by_ref().take(taken));
    }

    /// A row or byte bound is reached. Batches of an initial snapshot may
    /// hold [`SNAPSHOT_ROWS_FACTOR`] times the rows: they are all inserts
    /// that nobody waits for, each batch's fixed cost (COPY start,
    /// checkpoint, commit and its fsync) weighs on small ones, and the
    /// byte bound still keeps memory flat.
    pub fn is_full(&self) -> bool {
        let limits = self.limits();
        let snapshot = matches!(self.committable, Some((_, Position::MysqlSnapshot(_))));
        let max_rows = if snapshot {
            limits.max_rows.saturating_mul(SNAPSHOT_ROWS_FACTOR)
        } else {
            limits.max_rows
        };
        self.rows >= max_rows || self.bytes >= limits.max_bytes
    }

    fn limits(&self) -> BatchSettings {
        self.limits.unwrap_or_else(|| self.config.default_batch())
    }

    /// When the oldest pending event has waited long enough, if anything
    /// is ready to commit.
    pub fn deadline(&self) -> Option<Instant> {
        self.committable.as_ref()?;
        Some(self.first_at? + self.limits().max_delay)
    }

    pub fn should_cut(&self) -> bool {
        self.is_full() || self.deadline().is_some_and(|d| d <= Instant::now())
    }

    /// Takes every complete transaction, with the position they reach.
    pub fn take_committable(&mut self) -> Option<(Vec<Event>, Position)> {
        let (end, position) = self.committable.take()?;
        let mut rest = self.fresh_pending();
        rest.extend(self.pending.drain(end..));
        let done = std::mem::replace(&mut self.pending, rest);
        self.recount();
        Some((done, position))
    }

    /// Takes the start of an unfinished transaction, to stage in the sink.
    pub fn take_partial(&mut self) -> Vec<Event> {
        let rest = self.fresh_pending();
        let partial = std::mem::replace(&mut self.pending, rest);
        self.recount();
        partial
    }

    /// An empty buffer for the next batch, as large as the last one grew:
    /// grown chunk by chunk instead, it copied every pending event again
    /// at each doubling.
    fn fresh_pending(&self) -> Vec<Event> {
        Vec::with_capacity(self.pending.capacity())
    }

    fn recount(&mut self) {
        self.rows = 0;
        self.bytes = 0;
        self.limits = None;
        self.committable = None;
        let pending = std::mem::take(&mut self.pending);
        for event in &pending {
            self.bytes += event.approx_bytes();
            if let Event::Change(change) = event {
                self.rows += 1;
                let bounds = self.bounds_of(&change.table);
                self.tighten(bounds);
            }
        }
        self.pending = pending;
        self.first_at = (!self.pending.is_empty()).then(Instant::now);
    }

    fn tighten(&mut self, bounds: BatchSettings) {
        let limits = self.limits.get_or_insert(bounds);
        limits.max_rows = limits.max_rows.min(bounds.max_rows);
        limits.max_bytes = limits.max_bytes.min(bounds.max_bytes);
        limits.max_delay = limits.max_delay.min(bounds.max_delay);
    }

    /// The table's resolved bounds; cached, since rows of one table
    /// usually arrive together.
    fn bounds_of(&mut self, table: &Arc<TableSchema>) -> BatchSettings {
        if let Some((last, bounds)) = &self.last_table
            && Arc::ptr_eq(last, table)
        {
            return *bounds;
        }
        let config = &self.config;
        let bounds = *self
            .settings
            .entry(table.name.clone())
            .or_insert_with(|| config.batch_for(&table.name));
        self.last_table = Some((table.clone(), bounds));
        bounds
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Environment, load_str};
    use watershed_events::{
        Change, Column, LogicalType, MysqlBinlogPosition, MysqlSnapshotProgress, Timestamp,
        TxBegin, TxCommit, Value,
    };

    fn batcher() -> Batcher {
        let text = "name: t\n\
                    source: { kind: generator, stream: heartbeat }\n\
                    sink: { kind: jsonl, path: out.jsonl }\n\
                    defaults: { batch: { max_rows: 10 } }\n";
        let config = load_str(text, std::path::Path::new("."), Environment::empty()).unwrap();
        Batcher::new(Arc::new(config))
    }

    /// One transaction of `rows` inserts, committing at `position`.
    fn transaction(rows: usize, position: Position) -> Vec<Event> {
        let table = Arc::new(TableSchema {
            name: TableName::parse("s.t"),
            columns: vec![Column::new("id", LogicalType::Int64, false)],
            primary_key: vec!["id".into()],
            indexes: vec![],
            version: 1,
            foreign_keys: vec![],
            comment: None,
        });
        let mut events = vec![Event::Begin(TxBegin { commit_time: None })];
        events.extend(
            (0..rows)
                .map(|i| Event::Change(Change::insert(table.clone(), vec![Value::Int(i as i64)]))),
        );
        events.push(Event::Commit(TxCommit {
            position,
            commit_time: Timestamp::from_micros(0),
        }));
        events
    }

    #[test]
    fn snapshot_batches_hold_more_rows_than_streaming_ones() {
        let binlog = MysqlBinlogPosition::default();
        let snapshot = Position::MysqlSnapshot(MysqlSnapshotProgress {
            handover: binlog.clone(),
            tables_done: vec![],
            copying: Default::default(),
        });
        let mut copying = batcher();
        copying.push_until_full(&mut transaction(15, snapshot).into_iter(), 10);
        assert!(!copying.is_full(), "15 snapshot rows fit 4 × max_rows 10");
        copying.push_until_full(
            &mut transaction(30, copying.committable.clone().unwrap().1).into_iter(),
            10,
        );
        assert!(copying.is_full(), "45 do not");

        let mut streaming = batcher();
        streaming.push_until_full(
            &mut transaction(15, Position::MysqlFile(binlog)).into_iter(),
            10,
        );
        assert!(streaming.is_full(), "15 streamed rows exceed max_rows 10");
    }
}
