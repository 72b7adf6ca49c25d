//! `watershed validate`: parse, check, print the resolved plan.

use std::path::Path;

use serde_json::json;
use watershed_events::TableName;
use watershed_pipeline::config::{Environment, PipelineConfig, SourceConfig, load_file};

use crate::args::GlobalArgs;
use crate::exit::Failure;
use crate::output;

pub fn validate(file: &Path, global: &GlobalArgs) -> Result<(), Failure> {
    let config = load(file)?;
    output::print(&plan(&config), global.json);
    Ok(())
}

/// Loads a pipeline file; any problem is a usage error (exit 2).
pub fn load(file: &Path) -> Result<PipelineConfig, Failure> {
    load_file(file, &Environment::from_process()).map_err(|e| Failure::usage(e.into()))
}

/// The resolved plan: every key with defaults filled in, and the batch
/// bounds and error/schema-change policies each known table will get.
pub fn plan(config: &PipelineConfig) -> serde_json::Value {
    let mut plan = serde_json::to_value(config).unwrap_or_default();
    // Tables a database source captures are known only once connected;
    // those the file names under `tables:` are shown.
    let mut tables: Vec<TableName> = match &config.source {
        SourceConfig::Generator(generator) => {
            vec![TableName::new(None, generator.stream.table_name())]
        }
        SourceConfig::Mysql(_) | SourceConfig::Kafka(_) => Vec::new(),
    };
    tables.extend(config.tables.keys().map(|t| TableName::parse(t)));
    let resolved: serde_json::Map<String, serde_json::Value> = tables
        .iter()
        .map(|t| {
            let settings = json!({ "batch": config.batch_for(t), "policy": config.policy_for(t) });
            (t.to_string(), settings)
        })
        .collect();
    plan["resolved_tables"] = resolved.into();
    plan["default_batch"] = json!(config.default_batch());
    plan
}
