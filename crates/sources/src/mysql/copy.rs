//! The initial copy, event side: turns the copy task's messages into the
//! stream's transactions, each committing at a snapshot-progress position,
//! and ends with a commit at the handover binlog position, after which the
//! checkpoint points into the binlog.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use mysql_async::Conn;
use tokio::task::JoinHandle;
use watershed_events::{
    Change, Event, MysqlBinlogPosition, MysqlSnapshotProgress, Position, SchemaChange,
    TableControl, TableName, TableSchema, Timestamp, TxBegin, TxCommit,
};

use super::catalog::{list_tables, load_schemas};
use super::conn::{Flavor, connect};
use super::error::MysqlError;
use super::filter::TableFilter;
use super::snapshot::{CopyMsg, CopyReceiver, TableCopy, begin_snapshot, spawn_copy};

/// How to run the copy.
pub(crate) struct CopySetup<'a> {
    pub url: &'a str,
    pub flavor: Flavor,
    pub filter: &'a TableFilter,
    pub chunk_rows: usize,
    /// Tables copied at once, each on its own connection and snapshot.
    pub workers: usize,
    pub wait: Duration,
}

/// An initial copy in progress.
pub(crate) struct SnapshotCopy {
    rx: CopyReceiver,
    task: JoinHandle<()>,
    progress: MysqlSnapshotProgress,
    /// Tables whose Schema event was sent.
    announced: HashSet<TableName>,
    /// A keyless table's single transaction is open.
    open_tx: bool,
    finished: bool,
    /// Every schema copied, for the stream that follows.
    schemas: Vec<Arc<TableSchema>>,
    wait: Duration,
}

impl Drop for SnapshotCopy {
    fn drop(&mut self) {
        // The task holds the snapshot transaction's connection: end it.
        self.task.abort();
    }
}

impl SnapshotCopy {
    /// Opens a consistent snapshot on `conn` and starts copying. `resume`
    /// continues an interrupted copy: a new snapshot, the tables not done
    /// yet, the current one after its last key, and the *original*
    /// handover position (see [`MysqlSnapshotProgress`]).
    pub(crate) async fn start(
        mut conn: Conn,
        setup: CopySetup<'_>,
        resume: Option<MysqlSnapshotProgress>,
    ) -> Result<Self, MysqlError> {
        let flavor = setup.flavor;
        let position = begin_snapshot(&mut conn, flavor).await?;
        let progress = resume.unwrap_or_else(|| MysqlSnapshotProgress {
            handover: position.clone(),
            tables_done: Vec::new(),
            copying: Default::default(),
        });
        let names = list_tables(&mut conn, setup.filter).await?;
        let schemas: Vec<Arc<TableSchema>> = load_schemas(&mut conn, flavor, &names)
            .await?
            .into_iter()
            .map(Arc::new)
            .collect();
        let copies: Vec<TableCopy> = schemas
            .iter()
            .filter(|s| !progress.tables_done.contains(&s.name.to_string()))
            .filter(|s| !progress.handover.tables.contains_key(&s.name.to_string()))
            .map(|s| TableCopy {
                schema: s.clone(),
                after: progress.copying.get(&s.name.to_string()).cloned(),
            })
            .collect();
        let workers = copies.len().clamp(1, setup.workers.max(1));
        let mut conns = vec![conn];
        for _ in 1..workers {
            let mut more = connect(setup.url).await?;
            begin_snapshot(&mut more, flavor).await?;
            conns.push(more);
        }
        tracing::info!(
            tables = copies.len(),
            workers,
            done = progress.tables_done.len(),
            snapshot = %position,
            handover = %progress.handover,
            "snapshot started"
        );
        let (rx, task) = spawn_copy(conns, copies, setup.chunk_rows);
        Ok(Self {
            rx,
            task,
            progress,
            announced: HashSet::new(),
            open_tx: false,
            finished: false,
            schemas,
            wait: setup.wait,
        })
    }

    /// Records `patterns` (the configured `tables`) in the handover
    /// position, so that a later run can tell which tables it adds.
    pub(crate) fn recording_filter(mut self, patterns: Vec<String>) -> Self {
        self.progress.handover.filter = patterns.into();
        self
    }

    /// Stops passing on `table`'s rows: it is isolated, and streaming will
    /// skip it too (the handover position carries the state) until it is
    /// re-copied.
    pub(crate) fn isolate(&mut self, table: &TableName, reason: String) -> Result<(), String> {
        if !self.schemas.iter().any(|s| s.name == *table) {
            return Err(format!("table {table} is not part of this snapshot"));
        }
        let name = table.to_string();
        tracing::warn!(table = %name, "table isolated during the snapshot; the others go on");
        self.progress.copying.remove(&name);
        self.progress.tables_done.retain(|t| *t != name);
        self.progress
            .handover
            .tables
            .insert(name, TableControl::Isolated { reason });
        Ok(())
    }

    /// Where streaming starts after the copy.
    pub(crate) fn handover(&self) -> &MysqlBinlogPosition {
        &self.progress.handover
    }

    /// The schemas of the copied tables.
    pub(crate) fn schemas(&self) -> &[Arc<TableSchema>] {
        &self.schemas
    }

    /// The next events; an empty chunk when the copy task is slower than
    /// the wait; `None` once the handover commit has been returned.
    pub(crate) async fn next_events(&mut self) -> Result<Option<Vec<Event>>, MysqlError> {
        if self.finished {
            return Ok(None);
        }
        let mut events = Vec::new();
        let msg = match tokio::time::timeout(self.wait, self.rx.recv()).await {
            Err(_) => return Ok(Some(events)),
            Ok(None) => {
                return Err(MysqlError::retryable("snapshot", "the copy task stopped"));
            }
            Ok(Some(msg)) => msg?,
        };
        match msg {
            CopyMsg::Rows {
                table,
                rows,
                last_key,
                done,
            } => self.rows(table, rows, last_key, done, &mut events),
            CopyMsg::Finished => {
                events.push(Event::Begin(TxBegin { commit_time: None }));
                events.push(commit(Position::MysqlFile(self.progress.handover.clone())));
                self.finished = true;
                tracing::info!(handover = %self.progress.handover, "snapshot complete");
            }
        }
        Ok(Some(events))
    }

    /// A keyed table's chunk is one transaction; a keyless table's chunks
    /// form one transaction that commits with its last chunk.
    fn rows(
        &mut self,
        table: Arc<TableSchema>,
        rows: Vec<watershed_events::Row>,
        last_key: Option<Vec<watershed_events::MysqlKeyValue>>,
        done: bool,
        events: &mut Vec<Event>,
    ) {
        let name = table.name.to_string();
        if self.progress.handover.tables.contains_key(&name) {
            return;
        }
        let keyed = !table.primary_key.is_empty();
        if self.announced.insert(table.name.clone()) {
            events.push(Event::Schema(SchemaChange::new(table.clone())));
        }
        if !self.open_tx {
            events.push(Event::Begin(TxBegin { commit_time: None }));
            self.open_tx = true;
        }
        events.reserve(rows.len() + 1);
        for row in rows {
            events.push(Event::Change(Change::insert(table.clone(), row)));
        }
        if !keyed && !done {
            return;
        }
        if done {
            self.progress.copying.remove(&name);
            self.progress.tables_done.push(name);
        } else if let Some(key) = last_key {
            self.progress.copying.insert(name, key);
        }
        events.push(commit(Position::MysqlSnapshot(self.progress.clone())));
        self.open_tx = false;
    }
}

fn commit(position: Position) -> Event {
    Event::Commit(TxCommit {
        position,
        commit_time: now(),
    })
}

pub(crate) fn now() -> Timestamp {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_micros(since_epoch.as_micros() as i64)
}
