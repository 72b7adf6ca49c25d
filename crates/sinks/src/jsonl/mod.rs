//! JSON Lines sink: one JSON object per change, to a file or stdout.

mod config;
mod sink;

pub use config::JsonlConfig;
pub use sink::JsonlSink;
