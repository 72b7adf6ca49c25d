//! Moving events from a source to a sink: a byte- and row-bounded channel,
//! the batcher, checkpoint-then-acknowledge, retry and shutdown.

mod batcher;
mod channel;
mod control;
mod progress;
mod retry;
mod run;
mod shutdown;

pub use batcher::Batcher;
pub use channel::{Chunk, ChunkReceiver, ChunkSender, bounded};
pub use control::TableControls;
pub use progress::Progress;
pub use retry::backoff;
pub use run::{RunOptions, RunSummary, run};
pub use shutdown::{Shutdown, ShutdownTrigger};
