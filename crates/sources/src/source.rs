//! The contract between a source and the pipeline runtime.

use std::future::Future;

use watershed_events::{Event, Position, RetryHint, TableAction, TableName};

use crate::mysql::MysqlError;

/// Why a source failed.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The checkpoint the sink holds was not written by this kind of source.
    #[error(
        "cannot resume from checkpoint {position}: it was not written by a {source_kind} source"
    )]
    ForeignPosition {
        // Boxed: positions can be large, errors should stay small.
        position: Box<Position>,
        source_kind: &'static str,
    },
    /// A connection or server problem that may pass.
    #[error("{context}: {message}")]
    Transient { context: String, message: String },
    /// A failure that will not pass by retrying (bad input, a refused
    /// setting); the message names where and what to do.
    #[error("{0}")]
    Fatal(String),
    /// The source's partitions changed hands (a consumer group rebalance):
    /// not a failure; the pipeline replays from the sink's checkpoint at
    /// once, which holds the offsets other members applied meanwhile.
    #[error("{0}")]
    Reassigned(String),
    /// The MySQL/MariaDB source failed; the error says whether it may pass.
    #[error(transparent)]
    Mysql(#[from] MysqlError),
}

impl SourceError {
    pub fn retry_hint(&self) -> RetryHint {
        match self {
            SourceError::ForeignPosition { .. } => RetryHint::Fatal,
            SourceError::Transient { .. } => RetryHint::Retryable,
            SourceError::Fatal(_) => RetryHint::Fatal,
            SourceError::Reassigned(_) => RetryHint::Retryable,
            SourceError::Mysql(error) => error.retry_hint(),
        }
    }
}

/// Why a per-table request was not taken. The pipeline goes on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    #[error("this kind of source has no per-table control (pause, resume, resync, isolate)")]
    Unsupported,
    #[error("{0}")]
    Refused(String),
}

/// A source produces an ordered stream of transactions.
///
/// Contract:
/// * `open` positions the stream just after `resume` (the position the sink
///   made durable), or at the beginning when there is none. The runtime may
///   call `open` again after a failure, to replay from a new checkpoint.
/// * `next_chunk` returns the next events in source order; a transaction
///   may span chunks. It should return within about a second, with an empty
///   chunk when there is nothing to say, so that acknowledgements and
///   shutdown are seen. `Ok(None)` means the source is exhausted (a
///   bounded source) and nothing more will come.
/// * `ack` tells the source that everything up to `position` is durable in
///   the sink; only then may the source forget it (e.g. confirm a slot).
pub trait Source: Send {
    fn open(
        &mut self,
        resume: Option<&Position>,
    ) -> impl Future<Output = Result<(), SourceError>> + Send;

    fn next_chunk(
        &mut self,
    ) -> impl Future<Output = Result<Option<Vec<Event>>, SourceError>> + Send;

    fn ack(&mut self, position: &Position) -> impl Future<Output = Result<(), SourceError>> + Send {
        let _ = position;
        async { Ok(()) }
    }

    /// Asks for `action` on one table (pause, resume, resync, isolate).
    /// Accepted requests take effect at the next transaction boundary and
    /// reach the sink as transactions of their own, so that the table's
    /// state is checkpointed with the data.
    fn control(
        &mut self,
        table: &TableName,
        action: TableAction,
    ) -> impl Future<Output = Result<(), ControlError>> + Send {
        let _ = (table, action);
        async { Err(ControlError::Unsupported) }
    }
}
