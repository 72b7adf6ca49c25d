//! The SQLite sink: applies changes with prepared statements inside one
//! SQLite transaction per batch, and writes the batch's position into
//! `_watershed_checkpoints` in that same transaction.

use std::collections::HashSet;
use std::sync::Arc;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params, params_from_iter};
use watershed_events::{
    Change, ChangeOp, Check, DeadLetter, Event, Position, SchemaChange, StateWrite, TableName,
    TableSchema, Value,
};

use super::config::SqliteConfig;
use super::sql::{self, Param, quote, table_name};
use crate::blocking::blocking;
use crate::offsets::OffsetFence;
use crate::sink::{Sink, SinkError};

const CHECKPOINTS: &str = "CREATE TABLE IF NOT EXISTS _watershed_checkpoints (
    pipeline TEXT PRIMARY KEY, position TEXT NOT NULL, committed_at TEXT NOT NULL)";

pub struct SqliteSink {
    config: SqliteConfig,
    pipeline: String,
    conn: Option<Connection>,
    in_transaction: bool,
    /// Tables known to match their schema, by name and version.
    prepared_tables: HashSet<(TableName, u64)>,
    fence: OffsetFence,
    /// `_ws_state` exists (created in the open batch at the latest).
    state_table: bool,
}

const DEAD_LETTERS: &str = "CREATE TABLE IF NOT EXISTS _ws_dead_letters (
    pipeline TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL,
    \"offset\" INTEGER NOT NULL, key BLOB, value BLOB, error TEXT NOT NULL,
    at TEXT NOT NULL)";

/// Transform state ([`StateWrite`]), committed with the rows.
const STATE: &str = "CREATE TABLE IF NOT EXISTS _ws_state (
    pipeline TEXT NOT NULL, scope TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (pipeline, scope, key))";

impl SqliteSink {
    /// A sink for `pipeline`, whose checkpoint row is keyed by that name.
    pub fn new(config: SqliteConfig, pipeline: &str) -> Self {
        Self {
            config,
            pipeline: pipeline.to_owned(),
            conn: None,
            in_transaction: false,
            prepared_tables: HashSet::new(),
            fence: OffsetFence::default(),
            state_table: false,
        }
    }

    fn open_sync(&mut self) -> Result<Option<Position>, SinkError> {
        if let Some(conn) = &self.conn {
            if self.in_transaction {
                conn.execute_batch("ROLLBACK")
                    .map_err(sqlite_err("rollback"))?;
                self.in_transaction = false;
            }
        } else {
            self.conn = Some(self.connect()?);
        }
        self.prepared_tables.clear();
        // A rollback may have undone its creation.
        self.state_table = false;
        let position = self.stored_position()?;
        self.fence.opened(position.as_ref());
        Ok(position)
    }

    /// The position the checkpoint row holds, if any.
    fn stored_position(&self) -> Result<Option<Position>, SinkError> {
        let text: Option<String> = self
            .connection()?
            .query_row(
                "SELECT position FROM _watershed_checkpoints WHERE pipeline = ?1",
                [&self.pipeline],
                |row| row.get(0),
            )
            .optional()
            .map_err(sqlite_err("read checkpoint"))?;
        text.map(|text| Position::from_json(&text))
            .transpose()
            .map_err(|source| SinkError::Checkpoint {
                location: format!(
                    "{} (pipeline {})",
                    self.config.path.display(),
                    self.pipeline
                ),
                source,
            })
    }

    /// Keeps a record that could not be applied, with why.
    fn dead_letter(&self, letter: &DeadLetter) -> Result<(), SinkError> {
        let conn = self.connection()?;
        conn.execute_batch(DEAD_LETTERS)
            .map_err(sqlite_err("create _ws_dead_letters"))?;
        conn.execute(
            "INSERT INTO _ws_dead_letters (pipeline, topic, partition, \"offset\", key, value, error, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
            params![
                self.pipeline,
                letter.origin,
                letter.partition,
                letter.offset,
                letter.key.as_deref(),
                letter.value.as_deref(),
                letter.error
            ],
        )
        .map_err(sqlite_err("insert into _ws_dead_letters"))?;
        Ok(())
    }

    /// Keeps (or forgets) one key of a transform's state, in the batch.
    fn state(&mut self, state: &StateWrite) -> Result<(), SinkError> {
        if !self.state_table {
            self.connection()?
                .execute_batch(STATE)
                .map_err(sqlite_err("create _ws_state"))?;
            self.state_table = true;
        }
        let conn = self.connection()?;
        match &state.value {
            Some(value) => conn
                .prepare_cached(
                    "INSERT OR REPLACE INTO _ws_state (pipeline, scope, key, value) \
                     VALUES (?1, ?2, ?3, ?4)",
                )
                .and_then(|mut s| s.execute(params![self.pipeline, state.scope, state.key, value])),
            None => conn
                .prepare_cached(
                    "DELETE FROM _ws_state WHERE pipeline = ?1 AND scope = ?2 AND key = ?3",
                )
                .and_then(|mut s| s.execute(params![self.pipeline, state.scope, state.key])),
        }
        .map_err(sqlite_err("write _ws_state"))?;
        Ok(())
    }

    fn load_state_sync(&self, scope: &str) -> Result<Vec<(String, String)>, SinkError> {
        let conn = self.connection()?;
        conn.execute_batch(STATE)
            .map_err(sqlite_err("create _ws_state"))?;
        let mut statement = conn
            .prepare("SELECT key, value FROM _ws_state WHERE pipeline = ?1 AND scope = ?2")
            .map_err(sqlite_err("read _ws_state"))?;
        statement
            .query_map(params![self.pipeline, scope], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .and_then(Iterator::collect)
            .map_err(sqlite_err("read _ws_state"))
    }

    fn connect(&self) -> Result<Connection, SinkError> {
        let path = &self.config.path;
        let open_err = |e: rusqlite::Error| SinkError::Open {
            path: path.clone(),
            reason: e.into(),
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(open_err)?;
        // WAL + NORMAL: a killed process loses nothing committed; only a
        // power loss may roll back the newest batches, together with their
        // checkpoint, which keeps the target consistent.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;",
        )
        .map_err(open_err)?;
        conn.execute_batch(CHECKPOINTS).map_err(open_err)?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(conn)
    }

    fn connection(&self) -> Result<&Connection, SinkError> {
        self.conn
            .as_ref()
            .ok_or_else(|| SinkError::Refused("sqlite sink used before open".into()))
    }

    fn begin(&mut self) -> Result<(), SinkError> {
        if !self.in_transaction {
            self.connection()?
                .execute_batch("BEGIN")
                .map_err(sqlite_err("begin"))?;
            self.in_transaction = true;
        }
        Ok(())
    }

    fn write_sync(&mut self, events: &[Event]) -> Result<(), SinkError> {
        self.begin()?;
        let mut rest = events;
        while let Some(first) = rest.first() {
            match first {
                Event::Schema(change) => {
                    self.apply_schema_change(change)?;
                    rest = &rest[1..];
                }
                Event::Change(change) if change.op == ChangeOp::Insert => {
                    let run = insert_run_len(rest, &change.table);
                    self.insert_run(&change.table, &rest[..run])?;
                    rest = &rest[run..];
                }
                Event::Change(change) => {
                    self.apply(change)?;
                    rest = &rest[1..];
                }
                Event::DeadLetter(letter) => {
                    self.dead_letter(letter)?;
                    rest = &rest[1..];
                }
                Event::State(state) => {
                    self.state(state)?;
                    rest = &rest[1..];
                }
                Event::Begin(_) | Event::Commit(_) => rest = &rest[1..],
            }
        }
        Ok(())
    }

    /// Drops, renames columns of, or creates and extends the table.
    fn apply_schema_change(&mut self, change: &SchemaChange) -> Result<(), SinkError> {
        let table = table_name(&change.table);
        if change.dropped {
            self.prepared_tables
                .retain(|(name, _)| *name != change.table.name);
            return self
                .connection()?
                .execute_batch(&format!("DROP TABLE IF EXISTS {}", quote(&table)))
                .map_err(sqlite_err(format!("drop table {table}")));
        }
        let conn = self.connection()?;
        let existing = existing_columns(conn, &table)?;
        for rename in &change.renamed_columns {
            if existing.contains(&rename.from) && !existing.contains(&rename.to) {
                let ddl = format!(
                    "ALTER TABLE {} RENAME COLUMN {} TO {}",
                    quote(&table),
                    quote(&rename.from),
                    quote(&rename.to)
                );
                conn.execute_batch(&ddl)
                    .map_err(sqlite_err(format!("alter table {table}")))?;
            }
        }
        self.ensure_table(&change.table)
    }

    /// Creates the table, or adds the columns a newer schema brought.
    fn ensure_table(&mut self, schema: &TableSchema) -> Result<(), SinkError> {
        if self
            .prepared_tables
            .contains(&(schema.name.clone(), schema.version))
        {
            return Ok(());
        }
        let conn = self.connection()?;
        let table = table_name(schema);
        conn.execute_batch(&sql::create_table(schema))
            .map_err(sqlite_err(format!("create table {table}")))?;
        let existing = existing_columns(conn, &table)?;
        for column in schema
            .columns
            .iter()
            .filter(|c| !existing.contains(&c.name))
        {
            let ddl = format!(
                "ALTER TABLE {} ADD COLUMN {} {}",
                quote(&table),
                quote(&column.name),
                sql::column_type(&column.logical_type)
            );
            conn.execute_batch(&ddl)
                .map_err(sqlite_err(format!("alter table {table}")))?;
        }
        self.prepared_tables
            .insert((schema.name.clone(), schema.version));
        Ok(())
    }

    fn insert_run(&mut self, schema: &Arc<TableSchema>, run: &[Event]) -> Result<(), SinkError> {
        self.ensure_table(schema)?;
        let conn = self.connection()?;
        let context = || format!("insert into {}", table_name(schema));
        let mut statement = conn
            .prepare_cached(&sql::insert(schema))
            .map_err(sqlite_err(context()))?;
        for event in run {
            if let Event::Change(Change {
                after: Some(row), ..
            }) = event
            {
                statement
                    .execute(params_from_iter(row.iter().map(Param)))
                    .map_err(|source| SinkError::Sqlite {
                        context: context(),
                        source,
                    })?;
            }
        }
        Ok(())
    }

    fn apply(&mut self, change: &Change) -> Result<(), SinkError> {
        let schema = &change.table;
        self.ensure_table(schema)?;
        let table = quote(&table_name(schema));
        let context = || format!("{} on {}", change.op.as_str(), table_name(schema));
        let conn = self.connection()?;
        let key_row = change.before.as_ref().or(change.after.as_ref());
        match (change.op, key_row) {
            (ChangeOp::Truncate, _) => {
                conn.execute(&format!("DELETE FROM {table}"), [])
                    .map_err(sqlite_err(context()))?;
            }
            (ChangeOp::Update, Some(key_row)) => {
                let after = change.after.as_deref().unwrap_or_default();
                let sent: Vec<usize> = (0..after.len())
                    .filter(|&i| after[i] != Value::Unchanged)
                    .collect();
                let set: Vec<String> = sent
                    .iter()
                    .enumerate()
                    .map(|(n, &i)| format!("{} = ?{}", quote(&schema.columns[i].name), n + 1))
                    .collect();
                let (filter, key) = sql::key_filter(schema, sent.len() + 1);
                let filter = sql::one_row(schema, filter);
                let statement = format!("UPDATE {table} SET {} WHERE {filter}", set.join(", "));
                let values = sent
                    .iter()
                    .map(|&i| &after[i])
                    .chain(key.iter().map(|&i| &key_row[i]));
                conn.prepare_cached(&statement)
                    .and_then(|mut s| s.execute(params_from_iter(values.map(Param))))
                    .map_err(sqlite_err(context()))?;
            }
            (ChangeOp::Delete, Some(key_row)) => {
                let (filter, key) = sql::key_filter(schema, 1);
                let filter = sql::one_row(schema, filter);
                let statement = format!("DELETE FROM {table} WHERE {filter}");
                conn.prepare_cached(&statement)
                    .and_then(|mut s| {
                        s.execute(params_from_iter(key.iter().map(|&i| Param(&key_row[i]))))
                    })
                    .map_err(sqlite_err(context()))?;
            }
            (ChangeOp::Insert | ChangeOp::Update | ChangeOp::Delete, _) => {
                return Err(SinkError::Refused(format!(
                    "{}: the change has no row image",
                    context()
                )));
            }
        }
        Ok(())
    }

    fn flush_sync(&mut self, position: &Position) -> Result<(), SinkError> {
        self.begin()?;
        let position = if matches!(position, Position::KafkaOffsets { .. }) {
            // Other members of the consumer group share the row.
            let stored = self.stored_position()?;
            self.fence.merge(stored, position)?
        } else {
            position.clone()
        };
        let conn = self.connection()?;
        conn.execute(
            "INSERT INTO _watershed_checkpoints (pipeline, position, committed_at)
             VALUES (?1, ?2, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
             ON CONFLICT (pipeline) DO UPDATE SET position = excluded.position,
                                                  committed_at = excluded.committed_at",
            params![self.pipeline, position.to_json()],
        )
        .map_err(sqlite_err("write checkpoint"))?;
        conn.execute_batch("COMMIT").map_err(sqlite_err("commit"))?;
        self.in_transaction = false;
        Ok(())
    }
}

impl SqliteSink {
    /// Preflight: the file can be written, and what its checkpoint says.
    pub fn check(&self) -> Vec<Check> {
        let path = &self.config.path;
        let mut checks = vec![crate::check::folder_writable("sink.path writable", path)];
        if !path.exists() {
            checks.push(Check::ok(
                "sink checkpoint",
                "new file: the pipeline starts from the beginning",
            ));
            return checks;
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let read = Connection::open_with_flags(path, flags).and_then(|conn| {
            conn.query_row(
                "SELECT position FROM _watershed_checkpoints WHERE pipeline = ?1",
                [&self.pipeline],
                |row| row.get::<_, String>(0),
            )
            .optional()
        });
        checks.push(match read {
            Ok(Some(position)) => Check::ok("sink checkpoint", format!("resumes from {position}")),
            Ok(None) => Check::ok(
                "sink checkpoint",
                "no checkpoint yet: starts from the beginning",
            ),
            Err(rusqlite::Error::SqliteFailure(_, Some(message)))
                if message.contains("no such table") =>
            {
                Check::ok(
                    "sink checkpoint",
                    "no checkpoint table yet: starts from the beginning",
                )
            }
            Err(e) => Check::fail(
                "sink checkpoint",
                format!("cannot read {}: {e}", path.display()),
                "check that the file is an SQLite database written by watershed",
            ),
        });
        checks
    }
}

impl Sink for SqliteSink {
    async fn open(&mut self) -> Result<Option<Position>, SinkError> {
        blocking(|| self.open_sync())
    }

    async fn write(&mut self, events: &[Event]) -> Result<(), SinkError> {
        blocking(|| self.write_sync(events))
    }

    async fn flush(&mut self, position: &Position) -> Result<(), SinkError> {
        blocking(|| self.flush_sync(position))
    }

    async fn load_state(&mut self, scope: &str) -> Result<Vec<(String, String)>, SinkError> {
        blocking(|| self.load_state_sync(scope))
    }
}

/// How many events from the start of `events` are inserts into `table`.
fn insert_run_len(events: &[Event], table: &Arc<TableSchema>) -> usize {
    events
        .iter()
        .take_while(|e| {
            matches!(e, Event::Change(c) if c.op == ChangeOp::Insert && Arc::ptr_eq(&c.table, table))
        })
        .count()
}

fn existing_columns(conn: &Connection, table: &str) -> Result<HashSet<String>, SinkError> {
    let context = || format!("inspect table {table}");
    let mut statement = conn
        .prepare(&format!(
            "SELECT name FROM pragma_table_info({})",
            sql_string(table)
        ))
        .map_err(sqlite_err(context()))?;
    let names = statement
        .query_map([], |row| row.get::<_, String>(0))
        .and_then(|rows| rows.collect())
        .map_err(sqlite_err(context()))?;
    Ok(names)
}

fn sql_string(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn sqlite_err(context: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> SinkError {
    let context = context.into();
    move |source| SinkError::Sqlite { context, source }
}
