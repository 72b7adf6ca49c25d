//! Schema knowledge shared by sources, sinks and the schema tools: how each
//! database spells the logical types, quotes identifiers and creates tables;
//! DBML parsing, checking and linting; DDL generation from DBML.

pub mod dbml;
pub mod ddl;
pub mod dialect;
pub mod digest;
mod error;

pub use error::SchemaError;
