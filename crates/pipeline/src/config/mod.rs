//! The pipeline file: YAML with `${ENV}` interpolation and `WATERSHED_…`
//! overrides, parsed into plain structs, validated without I/O, with errors
//! that name the key path and the line.

mod aggregates;
mod env;
mod error;
#[cfg(test)]
mod fuzz_tests;
mod load;
mod model;
mod stale;
mod transforms;
mod yaml;

pub use aggregates::AggregateConfig;
pub use env::{Environment, Override};
pub use error::{ConfigError, Dotted, KeyPath, Location};
pub use load::{load_file, load_str};
pub use model::{
    BatchOverrides, BatchSettings, BufferConfig, DeadLetterConfig, OnTableError, PipelineConfig,
    RetryConfig, SchemaChanges, SinkConfig, SourceConfig, TablePolicy, TableSettings,
};
pub use stale::StaleConfig;
pub use transforms::{ChainProblem, MaskKey, TransformConfig, chain_for};
