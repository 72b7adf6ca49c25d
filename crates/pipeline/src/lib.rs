//! The pipeline runtime: reads a pipeline file, builds the source and the
//! sink it names, and moves events between them with bounded memory,
//! batching, checkpoint-then-acknowledge, retry and graceful shutdown.

pub mod config;
mod connectors;
mod dead_letters;
mod derived;
mod error;
pub mod metrics;
pub mod runtime;
mod transform;
pub mod verify;

pub use connectors::{AnySink, AnySource, build_sink, build_source, check};
pub use dead_letters::PipelineSink;
pub use error::PipelineError;
pub use metrics::Metrics;
pub use runtime::{Progress, RunOptions, RunSummary, Shutdown, ShutdownTrigger, run};
pub use watershed_events::redact_urls;
