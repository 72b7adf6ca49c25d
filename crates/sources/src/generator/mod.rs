//! The built-in generator: deterministic synthetic event streams
//! (`heartbeat`, `orders`), rate-controlled, resumable by event index.

mod config;
mod heartbeat;
mod source;
mod streams;

pub use config::{GeneratorConfig, Rate, StartTime, StreamKind};
pub use heartbeat::{DEFAULT_CUSTOMERS, HeartbeatModel, Invalid, Reading};
pub use source::GeneratorSource;
pub use streams::{event_row, table_schema};
