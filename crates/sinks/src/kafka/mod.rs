//! Kafka output in Debezium's format: the record encoding (the envelope and
//! each column's Connect schema and value, checked against records captured
//! from Debezium itself), schema change records, and the transactional
//! sink that produces them exactly once.

mod config;
mod connect;
mod envelope;
mod history;
mod record;
mod sink;

pub use config::{Compression, KafkaFormat, KafkaSinkConfig};
pub use connect::{BinaryHandling, DecimalHandling, Encoding, TimePrecision};
pub use envelope::{
    DEBEZIUM_VERSION, EnvelopeOptions, Record, SnapshotMarker, SourceInfo, records, topic,
};
pub use history::{HistoryRecord, record as history_record};
pub use record::{EncodedRecord, Encoder};
pub use sink::{KafkaSink, KafkaSinkError, check};
