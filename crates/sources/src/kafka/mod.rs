//! Kafka input: a consumer group member applying Debezium change events or
//! plain JSON records, its offsets stored with the rows in the sink.

mod check;
mod config;
mod debezium;
mod debezium_values;
#[cfg(test)]
mod fuzz_tests;
mod json;
mod source;

pub use check::check;
pub use config::{KafkaSourceConfig, OnError, SourceFormat, Start};
pub use debezium::{DebeziumDecoder, Decoded};
pub use source::KafkaSource;
