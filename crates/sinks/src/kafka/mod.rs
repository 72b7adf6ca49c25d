//! Kafka output in Debezium's format. So far the record encoding (the
//! envelope and each column's Connect schema and value), checked against
//! records captured from Debezium itself; producing to Kafka follows.

mod connect;
mod envelope;

pub use connect::{BinaryHandling, DecimalHandling, Encoding, TimePrecision};
pub use envelope::{
    DEBEZIUM_VERSION, EnvelopeOptions, Record, SnapshotMarker, SourceInfo, records, topic,
};
