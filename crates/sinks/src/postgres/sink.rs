//! The PostgreSQL sink: one connection, one transaction per batch. Each
//! write groups its changes by table (changes to different tables
//! commute; a truncate or schema change of a table applies what is pending
//! for it first), reduces them to the last change per key, and applies
//! each table with binary COPY and set-based statements (see `apply`);
//! `flush` upserts the checkpoint row and commits, so data and position
//! become durable together, or neither.

use std::collections::HashMap;
use std::sync::Arc;

use tokio_postgres::{Client, Statement};
use watershed_events::{
    Change, ChangeOp, DeadLetter, Event, Position, SchemaChange, TableName, TableSchema,
};
use watershed_schema::dialect::postgres::{qualified_name, quote_ident};

use super::apply;
use super::batch::{Pending, transactions};
use super::catalog;
use super::config::PostgresConfig;
use super::copy::TxInfo;
use super::error::pg_err;
use super::inspect;
use super::reduce::Reduced;
use super::table::{self, TableState};
use crate::offsets::OffsetFence;
use crate::sink::{Sink, SinkError};

const CHECKPOINTS: &str = "_watershed_checkpoints";

/// Joins between a batch's staging table and its target must probe the
/// target's primary key once per staged row. The planner, seeing a target
/// whose statistics lag its growth and a never-analysed staging table,
/// otherwise picks a hash join over a full scan of the target: measured
/// here, 180–270 ms instead of a few for 2,000 deletes against 300,000
/// rows, growing with the table. No statement of this session needs hash
/// or merge joins except the keyless delete, which turns them on locally.
const SESSION_SETTINGS: &str = "SET enable_hashjoin = off; SET enable_mergejoin = off";

/// Writes change events into PostgreSQL tables, exactly once.
pub struct PostgresSink {
    config: PostgresConfig,
    pipeline: String,
    /// Keys the checkpoint row: the pipeline's name, unless this sink is a
    /// second destination of the same pipeline (its dead letters).
    checkpoint_key: String,
    session: Option<Session>,
    tables: HashMap<TableName, TableState>,
    next_staging: u64,
    /// Tables holding rows whose transaction's commit was not yet seen
    /// (metadata columns only).
    unpositioned: Vec<TableName>,
    nulled_values: u64,
    /// Tables whose target shape must not change (`schema_changes`).
    frozen: Option<FrozenTables>,
    /// Consumer-group offsets shared with other members (kafka source).
    fence: OffsetFence,
    /// Transform state written in this batch, by scope and key (the last
    /// write of a key wins), applied at the end of each write.
    state: HashMap<(String, String), Option<String>>,
}

/// Says which source tables' target shapes the sink must leave alone.
pub type FrozenTables = Arc<dyn Fn(&TableName) -> bool + Send + Sync>;

/// A connection and what was prepared on it.
struct Session {
    client: Client,
    in_transaction: bool,
    checkpoint: Statement,
}

impl PostgresSink {
    /// A sink for `pipeline`, whose checkpoint row is keyed by that name.
    /// Nothing connects until [`Sink::open`].
    pub fn new(config: PostgresConfig, pipeline: &str) -> Self {
        Self {
            config,
            pipeline: pipeline.to_owned(),
            checkpoint_key: pipeline.to_owned(),
            session: None,
            tables: HashMap::new(),
            next_staging: 0,
            unpositioned: Vec::new(),
            nulled_values: 0,
            frozen: None,
            fence: OffsetFence::default(),
            state: HashMap::new(),
        }
    }

    /// Keys the checkpoint row by `key` instead of the pipeline's name, so
    /// that a second destination of the same pipeline (its dead letters)
    /// does not overwrite the first's checkpoint in a shared schema.
    pub fn checkpoint_as(mut self, key: &str) -> Self {
        self.checkpoint_key = key.to_owned();
        self
    }

    /// Refuses to alter the targets of the tables `frozen` names: a shape
    /// change of theirs fails with [`SinkError::SchemaFrozen`]. Creating a
    /// missing target is still allowed.
    pub fn freeze_shapes(&mut self, frozen: FrozenTables) {
        self.frozen = Some(frozen);
    }

    /// Values written as NULL because PostgreSQL cannot hold them (MySQL
    /// zero dates in nullable columns), since this sink was created.
    pub fn nulled_values(&self) -> u64 {
        self.nulled_values
    }

    fn checkpoints_table(&self) -> String {
        qualified_name(&self.config.schema, CHECKPOINTS)
    }

    fn session(&mut self) -> Result<&mut Session, SinkError> {
        self.session
            .as_mut()
            .ok_or_else(|| SinkError::Refused("postgres sink used before open".into()))
    }

    async fn connect(&self) -> Result<Session, SinkError> {
        let client = inspect::connect(&self.config).await?;
        client
            .batch_execute(SESSION_SETTINGS)
            .await
            .map_err(pg_err(|| "configure the session"))?;
        self.prepare_target(&client).await?;
        let checkpoint = client
            .prepare(&format!(
                "INSERT INTO {} (pipeline, position, committed_at) \
                 VALUES ($1, $2::text::jsonb, now()) ON CONFLICT (pipeline) DO UPDATE \
                 SET position = EXCLUDED.position, committed_at = EXCLUDED.committed_at",
                self.checkpoints_table()
            ))
            .await
            .map_err(pg_err(|| "prepare the checkpoint statement"))?;
        tracing::debug!("postgres sink connected");
        Ok(Session {
            client,
            in_transaction: false,
            checkpoint,
        })
    }

    /// Creates the target schema (only when missing: `IF NOT EXISTS` still
    /// needs the CREATE privilege) and the checkpoint table.
    async fn prepare_target(&self, client: &Client) -> Result<(), SinkError> {
        let schema = &self.config.schema;
        let missing = !catalog::schema_exists(client, schema).await?;
        client
            .batch_execute("BEGIN")
            .await
            .map_err(pg_err(|| "begin a transaction"))?;
        catalog::lock_ddl(client, schema).await?;
        if missing {
            client
                .batch_execute(&format!(
                    "CREATE SCHEMA IF NOT EXISTS {}",
                    quote_ident(schema)
                ))
                .await
                .map_err(pg_err(|| format!("create schema {schema}")))?;
        }
        client
            .batch_execute(&format!(
                "CREATE TABLE IF NOT EXISTS {} (pipeline text PRIMARY KEY, \
                 position jsonb NOT NULL, committed_at timestamptz NOT NULL); COMMIT",
                self.checkpoints_table()
            ))
            .await
            .map_err(pg_err(|| format!("create table {schema}.{CHECKPOINTS}")))
    }

    /// The checkpoint row, locked until the transaction ends: members of a
    /// consumer group share it (the row is created first, so that two
    /// first commits cannot both miss it).
    async fn lock_checkpoint(&mut self) -> Result<Option<Position>, SinkError> {
        let table = self.checkpoints_table();
        let pipeline = self.checkpoint_key.clone();
        let empty = Position::KafkaOffsets {
            offsets: Default::default(),
        }
        .to_json();
        let client = &self.session()?.client;
        client
            .execute(
                &format!(
                    "INSERT INTO {table} (pipeline, position, committed_at) \
                     VALUES ($1, $2::text::jsonb, now()) ON CONFLICT (pipeline) DO NOTHING"
                ),
                &[&pipeline, &empty],
            )
            .await
            .map_err(pg_err(|| "create the checkpoint row"))?;
        let row = client
            .query_one(
                &format!("SELECT position::text FROM {table} WHERE pipeline = $1 FOR UPDATE"),
                &[&pipeline],
            )
            .await
            .map_err(pg_err(|| "lock the checkpoint"))?;
        let text: String = row.try_get(0).map_err(pg_err(|| "read the checkpoint"))?;
        Position::from_json(&text)
            .map(Some)
            .map_err(|source| SinkError::Checkpoint {
                location: format!("{table} (pipeline {pipeline})"),
                source,
            })
    }

    /// Keeps a record the source could not turn into a change, with why,
    /// in `<schema>._ws_dead_letters`.
    async fn dead_letter(&mut self, letter: &DeadLetter) -> Result<(), SinkError> {
        let table = format!("{}._ws_dead_letters", quote_ident(&self.config.schema));
        let pipeline = self.pipeline.clone();
        let target = catalog::Target {
            schema: self.config.schema.clone(),
            table: "_ws_dead_letters".into(),
        };
        let client = &self.session()?.client;
        // Created under the DDL lock, which is held to the end of the
        // transaction: only when missing, not for every letter.
        if catalog::columns(client, &target).await?.is_empty() {
            catalog::lock_ddl(client, &target.schema).await?;
            client
                .batch_execute(&format!(
                    "CREATE TABLE IF NOT EXISTS {table} (pipeline text NOT NULL, \
                     topic text NOT NULL, partition integer NOT NULL, \"offset\" bigint NOT NULL, \
                     key bytea, value bytea, error text NOT NULL, \
                     at timestamptz NOT NULL DEFAULT now())"
                ))
                .await
                .map_err(pg_err(|| format!("create table {table}")))?;
        }
        let key = letter.key.as_deref();
        let value = letter.value.as_deref();
        client
            .execute(
                &format!(
                    "INSERT INTO {table} (pipeline, topic, partition, \"offset\", key, value, error) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)"
                ),
                &[
                    &pipeline,
                    &letter.origin,
                    &letter.partition,
                    &letter.offset,
                    &key,
                    &value,
                    &letter.error,
                ],
            )
            .await
            .map_err(pg_err(|| format!("insert into {table}")))?;
        Ok(())
    }

    async fn read_checkpoint(&mut self) -> Result<Option<Position>, SinkError> {
        let query = format!(
            "SELECT position::text FROM {} WHERE pipeline = $1",
            self.checkpoints_table()
        );
        let pipeline = self.checkpoint_key.clone();
        let row = self
            .session()?
            .client
            .query_opt(&query, &[&pipeline])
            .await
            .map_err(pg_err(|| "read the checkpoint"))?;
        let Some(row) = row else { return Ok(None) };
        let text: String = row.try_get(0).map_err(pg_err(|| "read the checkpoint"))?;
        Position::from_json(&text)
            .map(Some)
            .map_err(|source| SinkError::Checkpoint {
                location: format!(
                    "{}.{CHECKPOINTS} (pipeline {})",
                    self.config.schema, self.checkpoint_key
                ),
                source,
            })
    }

    async fn begin(&mut self) -> Result<(), SinkError> {
        let session = self.session()?;
        if !session.in_transaction {
            session
                .client
                .batch_execute("BEGIN")
                .await
                .map_err(pg_err(|| "begin a transaction"))?;
            session.in_transaction = true;
        }
        Ok(())
    }

    async fn write_events(&mut self, events: &[Event]) -> Result<(), SinkError> {
        let txs = transactions(events);
        let mut pending: Vec<Pending> = Vec::new();
        let mut tx = 0;
        for event in events {
            match event {
                Event::Begin(_) => {}
                Event::DeadLetter(letter) => self.dead_letter(letter).await?,
                Event::State(state) => {
                    let key = (state.scope.clone(), state.key.clone());
                    self.state.insert(key, state.value.clone());
                }
                Event::Commit(_) => {
                    self.fill_positions(&txs[tx]).await?;
                    tx += 1;
                }
                Event::Schema(change) => {
                    let name = &change.table.name;
                    self.apply_pending_of(&mut pending, name, &txs).await?;
                    if change.dropped {
                        self.drop_table(&change.table)
                            .await
                            .map_err(|e| e.for_table(name))?;
                        continue;
                    }
                    self.rename_columns(change)
                        .await
                        .map_err(|e| e.for_table(name))?;
                    self.table_state(&change.table)
                        .await
                        .map_err(|e| e.for_table(name))?;
                }
                Event::Change(change) if change.op == ChangeOp::Truncate => {
                    let name = &change.table.name;
                    self.apply_pending_of(&mut pending, name, &txs).await?;
                    self.truncate(&change.table, txs.get(tx))
                        .await
                        .map_err(|e| e.for_table(name))?;
                }
                Event::Change(change) => {
                    let at = self.pending_slot(&mut pending, change, &txs).await?;
                    pending[at]
                        .push(change, tx as u32)
                        .map_err(|e| e.for_table(&change.table.name))?;
                }
            }
        }
        for table in pending {
            self.apply(table, &txs).await?;
        }
        self.write_state().await
    }

    /// `<schema>._ws_state`, where transforms keep their state.
    fn state_table(&self) -> (String, catalog::Target) {
        let table = format!("{}._ws_state", quote_ident(&self.config.schema));
        let target = catalog::Target {
            schema: self.config.schema.clone(),
            table: "_ws_state".into(),
        };
        (table, target)
    }

    /// Applies the batch's state writes: one upsert and one delete
    /// statement, whatever their number.
    async fn write_state(&mut self) -> Result<(), SinkError> {
        if self.state.is_empty() {
            return Ok(());
        }
        let (table, target) = self.state_table();
        let pipeline = self.pipeline.clone();
        let mut upserts: (Vec<String>, Vec<String>, Vec<String>) = Default::default();
        let mut deletes: (Vec<String>, Vec<String>) = Default::default();
        for ((scope, key), value) in std::mem::take(&mut self.state) {
            match value {
                Some(value) => {
                    upserts.0.push(scope);
                    upserts.1.push(key);
                    upserts.2.push(value);
                }
                None => {
                    deletes.0.push(scope);
                    deletes.1.push(key);
                }
            }
        }
        let client = &self.session()?.client;
        if catalog::columns(client, &target).await?.is_empty() {
            catalog::lock_ddl(client, &target.schema).await?;
            client
                .batch_execute(&format!(
                    "CREATE TABLE IF NOT EXISTS {table} (pipeline text NOT NULL, \
                     scope text NOT NULL, key text NOT NULL, value text NOT NULL, \
                     PRIMARY KEY (pipeline, scope, key)) WITH (fillfactor = 70)"
                ))
                .await
                .map_err(pg_err(|| format!("create table {table}")))?;
        }
        if !upserts.0.is_empty() {
            client
                .execute(
                    &format!(
                        "INSERT INTO {table} (pipeline, scope, key, value) \
                         SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[]) \
                         ON CONFLICT (pipeline, scope, key) DO UPDATE SET value = EXCLUDED.value"
                    ),
                    &[&pipeline, &upserts.0, &upserts.1, &upserts.2],
                )
                .await
                .map_err(pg_err(|| format!("write {table}")))?;
        }
        if !deletes.0.is_empty() {
            client
                .execute(
                    &format!(
                        "DELETE FROM {table} AS t USING unnest($2::text[], $3::text[]) AS d(scope, key) \
                         WHERE t.pipeline = $1 AND t.scope = d.scope AND t.key = d.key"
                    ),
                    &[&pipeline, &deletes.0, &deletes.1],
                )
                .await
                .map_err(pg_err(|| format!("delete from {table}")))?;
        }
        Ok(())
    }

    async fn read_state(&mut self, scope: &str) -> Result<Vec<(String, String)>, SinkError> {
        let (table, target) = self.state_table();
        let pipeline = self.pipeline.clone();
        let client = &self.session()?.client;
        if catalog::columns(client, &target).await?.is_empty() {
            return Ok(Vec::new());
        }
        let rows = client
            .query(
                &format!("SELECT key, value FROM {table} WHERE pipeline = $1 AND scope = $2"),
                &[&pipeline, &scope],
            )
            .await
            .map_err(pg_err(|| format!("read {table}")))?;
        rows.iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .collect::<Result<_, tokio_postgres::Error>>()
            .map_err(pg_err(|| format!("read {table}")))
    }

    /// Index of the pending run for the change's table, starting a new
    /// one (after applying the old) when the schema version changed.
    async fn pending_slot<'a>(
        &mut self,
        pending: &mut Vec<Pending<'a>>,
        change: &'a Change,
        txs: &[TxInfo],
    ) -> Result<usize, SinkError> {
        let table = &change.table;
        let found = pending
            .iter()
            .position(|p| Arc::ptr_eq(p.schema, table) || p.schema.name == table.name);
        if let Some(at) = found {
            if pending[at].schema.version == table.version {
                return Ok(at);
            }
            let old = pending.remove(at);
            self.apply(old, txs).await?;
        }
        pending.push(Pending {
            schema: table,
            key: table.primary_key_indices(),
            reduced: Reduced::default(),
        });
        Ok(pending.len() - 1)
    }

    async fn apply_pending_of(
        &mut self,
        pending: &mut Vec<Pending<'_>>,
        name: &TableName,
        txs: &[TxInfo],
    ) -> Result<(), SinkError> {
        if let Some(at) = pending.iter().position(|p| &p.schema.name == name) {
            let table = pending.remove(at);
            self.apply(table, txs).await?;
        }
        Ok(())
    }

    async fn apply(&mut self, pending: Pending<'_>, txs: &[TxInfo]) -> Result<(), SinkError> {
        let name = pending.schema.name.clone();
        self.apply_table(pending, txs)
            .await
            .map_err(|e| e.for_table(&name))
    }

    async fn apply_table(
        &mut self,
        mut pending: Pending<'_>,
        txs: &[TxInfo],
    ) -> Result<(), SinkError> {
        if pending.reduced.is_empty() {
            return Ok(());
        }
        self.table_state(pending.schema).await?;
        let Self {
            session, tables, ..
        } = self;
        let client = &session.as_ref().ok_or_else(not_open)?.client;
        let state = tables.get_mut(&pending.schema.name).ok_or_else(not_open)?;
        let nulled = apply::apply(client, state, &mut pending.reduced, txs).await?;
        for (column, count) in state.layout.iter().zip(&nulled) {
            if *count > 0 {
                tracing::warn!(table = %state.target, column = %column.name, rows = count,
                    "zero dates written as null: postgresql has no such date");
                self.nulled_values += count;
            }
        }
        let tail = (txs.len() - 1) as u32;
        if self.config.metadata_columns
            && pending.reduced.outcomes.iter().any(|o| o.tx == tail)
            && !self.unpositioned.contains(&pending.schema.name)
        {
            self.unpositioned.push(pending.schema.name.clone());
        }
        Ok(())
    }

    /// The table's state for this schema version, (re)built when needed.
    async fn table_state(&mut self, schema: &TableSchema) -> Result<(), SinkError> {
        if self
            .tables
            .get(&schema.name)
            .is_some_and(|state| state.version == schema.version)
        {
            return Ok(());
        }
        self.next_staging += 1;
        let staging = format!("ws_stage_{}", self.next_staging);
        let client = &self.session.as_ref().ok_or_else(not_open)?.client;
        if let Some(old) = self.tables.remove(&schema.name) {
            old.drop_staging(client).await?;
        }
        let may_alter = self.may_alter(&schema.name);
        let state = TableState::prepare(client, &self.config, schema, staging, may_alter).await?;
        self.tables.insert(schema.name.clone(), state);
        Ok(())
    }

    fn may_alter(&self, table: &TableName) -> bool {
        self.frozen.as_ref().is_none_or(|frozen| !frozen(table))
    }

    /// The source dropped the table: so does the target.
    async fn drop_table(&mut self, schema: &TableSchema) -> Result<(), SinkError> {
        let may_alter = self.may_alter(&schema.name);
        let client = &self.session.as_ref().ok_or_else(not_open)?.client;
        if let Some(old) = self.tables.remove(&schema.name) {
            old.drop_staging(client).await?;
        }
        table::drop_target(client, &self.config, schema, may_alter).await
    }

    async fn rename_columns(&mut self, change: &SchemaChange) -> Result<(), SinkError> {
        if change.renamed_columns.is_empty() {
            return Ok(());
        }
        let may_alter = self.may_alter(&change.table.name);
        let client = &self.session.as_ref().ok_or_else(not_open)?.client;
        table::rename_columns(
            client,
            &self.config,
            &change.table,
            &change.renamed_columns,
            may_alter,
        )
        .await
    }

    async fn truncate(
        &mut self,
        schema: &TableSchema,
        tx: Option<&TxInfo>,
    ) -> Result<(), SinkError> {
        self.table_state(schema).await?;
        let client = &self.session.as_ref().ok_or_else(not_open)?.client;
        let state = self.tables.get(&schema.name).ok_or_else(not_open)?;
        apply::truncate(client, state, tx).await
    }

    /// Gives rows staged before their commit was seen that commit's
    /// position.
    async fn fill_positions(&mut self, tx: &TxInfo) -> Result<(), SinkError> {
        let client = &self.session.as_ref().ok_or_else(not_open)?.client;
        for name in self.unpositioned.drain(..) {
            if let Some(state) = self.tables.get(&name) {
                apply::fill_position(client, state, tx).await?;
            }
        }
        Ok(())
    }

    async fn commit(&mut self, position: &Position) -> Result<(), SinkError> {
        let pipeline = self.checkpoint_key.clone();
        let position = if matches!(position, Position::KafkaOffsets { .. }) {
            let stored = self.lock_checkpoint().await?;
            self.fence.merge(stored, position)?
        } else {
            position.clone()
        };
        let session = self.session()?;
        session
            .client
            .execute(&session.checkpoint, &[&pipeline, &position.to_json()])
            .await
            .map_err(pg_err(|| "write the checkpoint"))?;
        session
            .client
            .batch_execute("COMMIT")
            .await
            .map_err(pg_err(|| "commit"))?;
        session.in_transaction = false;
        for state in self.tables.values_mut() {
            state.staging_used = false;
        }
        Ok(())
    }
}

impl Sink for PostgresSink {
    async fn load_state(&mut self, scope: &str) -> Result<Vec<(String, String)>, SinkError> {
        self.read_state(scope).await
    }

    /// Connects (or reuses a live connection after rolling back whatever
    /// it had open), creates the schema and checkpoint table when missing,
    /// and returns the position of the last committed batch.
    async fn open(&mut self) -> Result<Option<Position>, SinkError> {
        self.tables.clear();
        self.unpositioned.clear();
        self.state.clear();
        let reused = match self.session.as_mut() {
            Some(session) if !session.client.is_closed() => session.reset().await.is_ok(),
            _ => false,
        };
        if !reused {
            self.session = None;
            self.session = Some(self.connect().await?);
        }
        let position = self.read_checkpoint().await?;
        self.fence.opened(position.as_ref());
        Ok(position)
    }

    async fn write(&mut self, events: &[Event]) -> Result<(), SinkError> {
        let stages_rows = events.iter().any(|e| {
            matches!(
                e,
                Event::Change(_) | Event::Schema(_) | Event::DeadLetter(_) | Event::State(_)
            )
        });
        if !stages_rows && self.unpositioned.is_empty() {
            return Ok(());
        }
        self.begin().await?;
        self.write_events(events).await
    }

    async fn flush(&mut self, position: &Position) -> Result<(), SinkError> {
        self.begin().await?;
        if !self.unpositioned.is_empty() {
            let tx = TxInfo {
                position: Some(position.to_string()),
                commit_time: None,
            };
            self.fill_positions(&tx).await?;
        }
        self.commit(position).await
    }
}

impl Session {
    /// Rolls back an open transaction and drops the session's staging
    /// tables, so that the connection starts clean.
    async fn reset(&mut self) -> Result<(), tokio_postgres::Error> {
        if self.in_transaction {
            self.client.batch_execute("ROLLBACK").await?;
            self.in_transaction = false;
        }
        self.client.batch_execute("DISCARD TEMP").await
    }
}

fn not_open() -> SinkError {
    SinkError::Refused("postgres sink used before open".into())
}
