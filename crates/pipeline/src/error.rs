//! Why a pipeline stopped.

use watershed_events::RetryHint;
use watershed_sinks::SinkError;
use watershed_sources::SourceError;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("source: {0}")]
    Source(#[from] SourceError),
    #[error("sink: {0}")]
    Sink(#[from] SinkError),
    #[error("gave up after {retries} retries: {last}")]
    RetriesExhausted {
        retries: u32,
        last: Box<PipelineError>,
    },
    #[error("the source task failed: {0}")]
    Task(String),
    #[error("{0}")]
    Unsupported(String),
    /// The pipeline file asks for something the data cannot give (a
    /// transform reading a column the source no longer has); the
    /// position is kept.
    #[error("{0}")]
    Config(String),
    /// `on_table_error: isolate` asked for a table the source could not set aside.
    #[error("{reason} (the table could not be isolated: {refused})")]
    NotIsolated {
        table: watershed_events::TableName,
        reason: String,
        refused: String,
    },
}

impl PipelineError {
    pub fn retry_hint(&self) -> RetryHint {
        match self {
            PipelineError::Source(e) => e.retry_hint(),
            PipelineError::Sink(e) => e.retry_hint(),
            PipelineError::RetriesExhausted { .. }
            | PipelineError::Task(_)
            | PipelineError::Unsupported(_)
            | PipelineError::Config(_)
            | PipelineError::NotIsolated { .. } => RetryHint::Fatal,
        }
    }

    /// Partitions changed hands: the attempt ends and the next starts at
    /// once from the sink's checkpoint, without counting as a failure.
    pub fn is_replay(&self) -> bool {
        match self {
            PipelineError::Source(SourceError::Reassigned(_))
            | PipelineError::Sink(SinkError::Conflict(_)) => true,
            // The dead-letter destination keeps offsets of its own.
            PipelineError::Sink(SinkError::DeadLetters(inner)) => {
                matches!(**inner, SinkError::Conflict(_))
            }
            _ => false,
        }
    }

    /// A problem with the pipeline file found while running: exit 2.
    pub fn is_config(&self) -> bool {
        matches!(self, PipelineError::Config(_))
    }

    /// A short label for the `kind` of `watershed_errors_total`.
    pub fn kind(&self) -> &'static str {
        match self {
            PipelineError::Source(_) => "source",
            PipelineError::Sink(_) => "sink",
            PipelineError::RetriesExhausted { .. } => "retries_exhausted",
            PipelineError::Task(_) => "task",
            PipelineError::Unsupported(_) => "unsupported",
            PipelineError::Config(_) => "config",
            PipelineError::NotIsolated { .. } => "sink",
        }
    }
}
