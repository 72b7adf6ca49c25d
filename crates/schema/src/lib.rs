//! Schema knowledge shared by sources, sinks and the schema tools: how each
//! database spells the logical types, quotes identifiers and creates tables.

pub mod dialect;
pub mod digest;
