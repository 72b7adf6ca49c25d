//! Per-table control inside the stream: captured tables whose changes are
//! skipped (paused, isolated), and tables being re-copied while the
//! stream goes on (see [`crate::mysql::resync`]). Requests are queued and
//! applied between transactions; each state change commits as a
//! transaction of its own, so the new state is durable in the sink's
//! checkpoint before any change that depends on it.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use mysql_async::Conn;
use watershed_events::{
    Change, Event, MysqlBinlogPosition, Position, TableAction, TableControl, TableName,
    TableSchema, TxBegin, TxCommit, Value,
};

use super::StreamState;
use crate::mysql::conn::{Flavor, connect};
use crate::mysql::copy::now;
use crate::mysql::error::MysqlError;
use crate::mysql::resync::Window;
use crate::source::ControlError;

/// The stream's per-table control.
pub(crate) struct Controls {
    pub(crate) states: BTreeMap<String, TableControl>,
    /// The `tables` filter as configured, recorded in every position.
    pub(crate) filter: Arc<[String]>,
    queue: VecDeque<(TableName, TableAction)>,
    window: Option<Window>,
    conn: Option<Conn>,
    url: String,
    flavor: Flavor,
    chunk_rows: usize,
}

impl Controls {
    pub(crate) fn new(
        url: String,
        flavor: Flavor,
        chunk_rows: usize,
        filter: Arc<[String]>,
        states: BTreeMap<String, TableControl>,
    ) -> Self {
        Self {
            states,
            filter,
            queue: VecDeque::new(),
            window: None,
            conn: None,
            url,
            flavor,
            chunk_rows,
        }
    }

    /// True when the table's row changes are not passed on.
    pub(crate) fn skips(&self, table: &TableName) -> bool {
        !self.states.is_empty()
            && self
                .states
                .get(&table.to_string())
                .is_some_and(TableControl::skips_changes)
    }

    /// Queues `action` to be applied at the next transaction boundary.
    pub(crate) fn enqueue(&mut self, table: TableName, action: TableAction) {
        self.queue.push_back((table, action));
    }

    /// The table's shape changed: a chunk read under the old shape is read
    /// again (from the same key) under the new one.
    pub(crate) fn reshaped(&mut self, table: &TableName) {
        if self.window.as_ref().is_some_and(|w| w.table.name == *table) {
            self.window = None;
        }
    }

    /// The table is gone: no state, no re-copy.
    pub(crate) fn forget(&mut self, table: &TableName) {
        self.states.remove(&table.to_string());
        self.queue.retain(|(t, _)| t != table);
        if self.window.as_ref().is_some_and(|w| w.table.name == *table) {
            self.window = None;
        }
    }

    /// Something to do between transactions.
    pub(crate) fn has_work(&self) -> bool {
        !self.queue.is_empty()
            || self.window.is_some()
            || self
                .states
                .values()
                .any(|s| matches!(s, TableControl::Resyncing { .. }))
    }

    /// A change at `file:offset` touched `row` of `table`.
    pub(crate) fn saw_change(&mut self, table: &TableName, file: &str, offset: u64, row: &[Value]) {
        if let Some(window) = self.window.as_mut().filter(|w| w.table.name == *table) {
            window.strike(file, offset, row);
        }
    }

    async fn conn(&mut self) -> Result<&mut Conn, MysqlError> {
        if self.conn.is_none() {
            self.conn = Some(connect(&self.url).await?);
        }
        self.conn
            .as_mut()
            .ok_or_else(|| MysqlError::retryable("resync", "no connection"))
    }
}

impl StreamState {
    /// Checks a request against what the stream captures and queues it.
    pub(crate) async fn request(
        &mut self,
        table: TableName,
        action: TableAction,
    ) -> Result<(), ControlError> {
        if !self.captures(&table) {
            return Err(ControlError::Refused(format!(
                "table {table} is not captured by this pipeline (see source.tables)"
            )));
        }
        if matches!(action, TableAction::Resync | TableAction::Resume) {
            let schema = self
                .schemas
                .get(&table)
                .await
                .map_err(|e| ControlError::Refused(e.to_string()))?;
            let schema = schema.ok_or_else(|| {
                ControlError::Refused(format!("table {table} does not exist in the source"))
            })?;
            let skipped = self.controls.states.contains_key(&table.to_string());
            let copies = action == TableAction::Resync || skipped;
            if copies && schema.primary_key.is_empty() {
                return Err(ControlError::Refused(format!(
                    "table {table} has no primary key: it cannot be re-copied while streaming; \
                     re-snapshot the pipeline instead"
                )));
            }
        }
        tracing::info!(table = %table, action = action.name(), "table control requested");
        self.controls.enqueue(table, action);
        Ok(())
    }

    /// Between transactions: applies queued requests, and moves a re-copy
    /// on by one chunk where the stream allows.
    pub(crate) async fn between_transactions(
        &mut self,
        out: &mut Vec<Event>,
    ) -> Result<(), MysqlError> {
        while let Some((table, action)) = self.controls.queue.pop_front() {
            self.apply(table, action, out).await?;
        }
        if self.controls.window.is_none() {
            self.open_window().await?;
        }
        let reached = self
            .controls
            .window
            .as_ref()
            .is_some_and(|w| w.reached_high(&self.file, self.at));
        if reached && let Some(window) = self.controls.window.take() {
            self.emit_window(window, out);
        }
        Ok(())
    }

    async fn apply(
        &mut self,
        table: TableName,
        action: TableAction,
        out: &mut Vec<Event>,
    ) -> Result<(), MysqlError> {
        let key = table.to_string();
        let current = self.controls.states.get(&key).cloned();
        let next = match (&action, &current) {
            (TableAction::Pause, _) => Some(TableControl::Paused),
            (TableAction::Isolate { reason }, _) => Some(TableControl::Isolated {
                reason: reason.clone(),
            }),
            (TableAction::Resync, _) => Some(TableControl::Resyncing { last_key: None }),
            (TableAction::Resume, Some(TableControl::Paused | TableControl::Isolated { .. })) => {
                Some(TableControl::Resyncing { last_key: None })
            }
            // Live or being re-copied already: nothing to do.
            (TableAction::Resume, _) => return Ok(()),
        };
        if self
            .controls
            .window
            .as_ref()
            .is_some_and(|w| w.table.name == table)
        {
            self.controls.window = None;
        }
        let restarts_copy = matches!(next, Some(TableControl::Resyncing { .. }));
        match next {
            Some(state) => self.controls.states.insert(key, state),
            None => self.controls.states.remove(&key),
        };
        tracing::info!(table = %table, action = action.name(), "table control applied");
        out.push(Event::Begin(TxBegin { commit_time: None }));
        if restarts_copy {
            self.start_copy(&table, out).await?;
        }
        self.push_marker_commit(out);
        Ok(())
    }

    /// The re-copy starts from an empty target table, so that rows deleted
    /// in the source while the table was not followed go too.
    async fn start_copy(
        &mut self,
        table: &TableName,
        out: &mut Vec<Event>,
    ) -> Result<(), MysqlError> {
        let Some(schema) = self.schemas.reload(table).await? else {
            tracing::warn!(table = %table, "table to re-copy no longer exists");
            self.controls.states.remove(&table.to_string());
            return Ok(());
        };
        self.schemas.announce(&schema, out);
        out.push(Event::Change(Change::truncate(schema)));
        Ok(())
    }

    /// Reads the next chunk of the first table being re-copied.
    async fn open_window(&mut self) -> Result<(), MysqlError> {
        let Some((key, last_key)) = self.controls.states.iter().find_map(|(k, s)| match s {
            TableControl::Resyncing { last_key } => Some((k.clone(), last_key.clone())),
            _ => None,
        }) else {
            return Ok(());
        };
        let name = TableName::parse(&key);
        let Some(schema) = self.schemas.get(&name).await? else {
            tracing::warn!(table = %name, "table to re-copy no longer exists");
            self.controls.states.remove(&key);
            return Ok(());
        };
        let (flavor, chunk_rows) = (self.controls.flavor, self.controls.chunk_rows);
        let conn = self.controls.conn().await?;
        let read = Window::read(conn, flavor, schema, last_key.as_deref(), chunk_rows).await;
        match read {
            Ok(window) => self.controls.window = Some(window),
            Err(e) => {
                // Reconnect next time rather than reuse a broken connection.
                self.controls.conn = None;
                return Err(e);
            }
        }
        Ok(())
    }

    /// The chunk's surviving rows as one transaction, with the progress.
    fn emit_window(&mut self, window: Window, out: &mut Vec<Event>) {
        let table: Arc<TableSchema> = window.table.clone();
        let key = table.name.to_string();
        if window.last {
            tracing::info!(table = %table.name, "table re-copied; applied live again");
            self.controls.states.remove(&key);
        } else {
            self.controls.states.insert(
                key,
                TableControl::Resyncing {
                    last_key: window.last_key.clone(),
                },
            );
        }
        out.push(Event::Begin(TxBegin { commit_time: None }));
        self.schemas.announce(&table, out);
        for row in window.into_rows() {
            self.rows += 1;
            out.push(Event::Change(Change::insert(table.clone(), row)));
        }
        self.push_marker_commit(out);
    }

    /// Commits what was pushed since the last `Begin` at the position of
    /// the last transaction read, which now carries the new states.
    fn push_marker_commit(&mut self, out: &mut Vec<Event>) {
        let position = self.position_at(self.last.clone());
        out.push(Event::Commit(TxCommit {
            position: Position::MysqlFile(position),
            commit_time: now(),
        }));
        self.skipped = None;
    }

    /// `coords` with the control state as of now.
    pub(super) fn position_at(&self, coords: MysqlBinlogPosition) -> MysqlBinlogPosition {
        MysqlBinlogPosition {
            tables: self.controls.states.clone(),
            filter: self.controls.filter.clone(),
            ..coords
        }
    }
}
