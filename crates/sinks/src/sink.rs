//! The contract between a sink and the pipeline runtime.

use std::future::Future;
use std::path::PathBuf;

use watershed_events::{Position, PositionError, RetryHint, TableName};

/// Why a sink failed. Every variant names the file or table involved.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("cannot open {}: {reason}", path.display())]
    Open {
        path: PathBuf,
        reason: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("sqlite {context}: {source}")]
    Sqlite {
        context: String,
        source: rusqlite::Error,
    },
    #[error("{context} {}: {source}", path.display())]
    Io {
        context: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("checkpoint in {location} is unreadable: {source}")]
    Checkpoint {
        location: String,
        source: PositionError,
    },
    /// A PostgreSQL statement or connection failed; `context` names the
    /// operation and table (or `user@host:port/db`, never the password).
    #[error("postgres {context}: {source}")]
    Postgres {
        context: String,
        source: crate::postgres::PostgresError,
    },
    /// A column cannot take a value or a schema change: names the target
    /// table and column, and says what to do.
    #[error("table {table}, column {column}: {reason}")]
    Column {
        table: String,
        column: String,
        reason: String,
    },
    #[error("{0}")]
    Refused(String),
    /// Another process of the pipeline committed first (a consumer group
    /// partition changed hands): replay from the checkpoint.
    #[error("{0}")]
    Conflict(String),
    /// The Kafka client failed; names the operation and the brokers.
    #[error(transparent)]
    Kafka(Box<crate::kafka::KafkaSinkError>),
    /// The source table's shape changed and its `schema_changes` policy
    /// forbids changing the target.
    #[error(
        "table {table}: its shape changed in the source ({change}), and schema_changes forbids \
         changing the target; apply the change to the target yourself, or set schema_changes: \
         evolve, then restart"
    )]
    SchemaFrozen { table: String, change: String },
    /// A failure that concerns one source table only: `on_table_error:
    /// isolate` can set that table aside and keep the others flowing.
    #[error("source table {table}: {source}")]
    Table {
        table: TableName,
        source: Box<SinkError>,
    },
    /// The separate dead-letter destination (`dead_letter:`) failed.
    #[error("dead_letter destination: {0}")]
    DeadLetters(Box<SinkError>),
}

impl SinkError {
    pub fn retry_hint(&self) -> RetryHint {
        use rusqlite::ErrorCode::{DatabaseBusy, DatabaseLocked};
        use std::io::ErrorKind::{Interrupted, TimedOut, WouldBlock};
        match self {
            SinkError::Sqlite {
                source: rusqlite::Error::SqliteFailure(e, _),
                ..
            } if matches!(e.code, DatabaseBusy | DatabaseLocked) => RetryHint::Retryable,
            SinkError::Io { source, .. }
                if matches!(source.kind(), Interrupted | TimedOut | WouldBlock) =>
            {
                RetryHint::Retryable
            }
            SinkError::Postgres { source, .. } => source.retry_hint(),
            SinkError::Kafka(error) => error.retry_hint(),
            SinkError::Conflict(_) => RetryHint::Retryable,
            SinkError::Table { source, .. } => source.retry_hint(),
            SinkError::DeadLetters(source) => source.retry_hint(),
            _ => RetryHint::Fatal,
        }
    }

    /// The source table a fatal failure concerns alone, if any.
    pub fn source_table(&self) -> Option<&TableName> {
        match self {
            SinkError::Table { table, .. } if self.retry_hint() == RetryHint::Fatal => Some(table),
            _ => None,
        }
    }

    /// True when a `schema_changes` policy refused the failure's change.
    pub fn is_frozen_schema(&self) -> bool {
        match self {
            SinkError::SchemaFrozen { .. } => true,
            SinkError::Table { source, .. } => source.is_frozen_schema(),
            _ => false,
        }
    }

    /// Marks a failure as the dead-letter destination's.
    pub fn in_dead_letters(self) -> Self {
        match self {
            SinkError::DeadLetters(_) => self,
            error => SinkError::DeadLetters(Box::new(error)),
        }
    }

    /// Attributes a fatal failure to `table` (retryable ones concern the
    /// connection, not the table, and stay as they are).
    pub fn for_table(self, table: &TableName) -> Self {
        match self {
            SinkError::Table { .. } => self,
            error if error.retry_hint() == RetryHint::Fatal => SinkError::Table {
                table: table.clone(),
                source: Box::new(error),
            },
            error => error,
        }
    }
}

/// A sink applies batches of events and records, in the same atomic step,
/// the source position they reach.
///
/// Contract:
/// * `open` prepares the target (creating what is missing), discards any
///   batch left uncommitted by an earlier process, and returns the position
///   of the last committed batch: the pipeline resumes from it. The runtime
///   calls `open` again after a retryable failure.
/// * `write` stages events, in source order, into the open batch; a batch
///   may end inside a transaction. Nothing is visible until `flush`.
/// * `flush` makes everything written since the last flush durable together
///   with `position`, atomically: after a crash either both or neither are
///   there. The runtime only flushes at transaction boundaries, and only
///   acknowledges `position` to the source after `flush` returns.
pub trait Sink: Send {
    fn open(&mut self) -> impl Future<Output = Result<Option<Position>, SinkError>> + Send;

    fn write(
        &mut self,
        events: &[watershed_events::Event],
    ) -> impl Future<Output = Result<(), SinkError>> + Send;

    fn flush(&mut self, position: &Position) -> impl Future<Output = Result<(), SinkError>> + Send;

    /// The state rows ([`watershed_events::StateWrite`]) committed under
    /// `scope`, as `(key, value)`. Sinks that keep no state refuse; the
    /// pipeline file is checked so that only sinks that do are asked.
    fn load_state(
        &mut self,
        scope: &str,
    ) -> impl Future<Output = Result<Vec<(String, String)>, SinkError>> + Send {
        let refused = no_state(scope);
        async move { Err(refused) }
    }
}

/// The refusal of a sink that keeps no transform state.
pub(crate) fn no_state(scope: &str) -> SinkError {
    SinkError::Refused(format!(
        "this sink keeps no transform state ({scope}); aggregates and stale keys need a \
         postgres or sqlite sink"
    ))
}
