//! `watershed validate`: parse, check, print the resolved plan.

use std::path::Path;

use serde_json::json;
use watershed_events::TableName;
use watershed_pipeline::config::{Environment, PipelineConfig, SourceConfig, chain_for, load_file};

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
    if !config.transforms.is_empty() {
        plan["chains"] = chains(config);
    }
    if !config.aggregates.is_empty() {
        plan["aggregate_tables"] = aggregate_tables(config);
    }
    plan
}

/// Each aggregate's target table: its columns and key.
fn aggregate_tables(config: &PipelineConfig) -> serde_json::Value {
    let Some(Ok(tables)) = config.source.declared_tables() else {
        return json!("shaped as the source shows each table (its schema is known once connected)");
    };
    let mut shapes = serde_json::Map::new();
    // Aggregates read the tables as the transforms leave them.
    let transformed: Vec<watershed_events::TableSchema> = tables
        .iter()
        .map(
            |table| match chain_for(&config.transforms, table, config.mask_key.as_ref()) {
                Ok(Some(chain)) => chain.output().as_ref().clone(),
                _ => table.clone(),
            },
        )
        .collect();
    for aggregate in &config.aggregates {
        let Some(input) = transformed.iter().find(|t| aggregate.reads(&t.name)) else {
            continue;
        };
        // The file loaded, so the aggregate compiles.
        let Ok(compiled) = aggregate.compile(input) else {
            continue;
        };
        let output = compiled.output();
        shapes.insert(
            aggregate.spec.name.clone(),
            json!({ "from": input.name.to_string(), "columns": columns(output), "key": output.primary_key }),
        );
    }
    shapes.into()
}

fn columns(table: &watershed_events::TableSchema) -> Vec<String> {
    table
        .columns
        .iter()
        .map(|c| {
            let null = if c.nullable { "" } else { " not null" };
            format!(
                "{} {}{null}",
                c.name,
                watershed_schema::dialect::postgres::column_type(&c.logical_type)
            )
        })
        .collect()
}

/// Each declared table's chain: its steps with the expressions' types, and
/// the target table it produces.
fn chains(config: &PipelineConfig) -> serde_json::Value {
    let Some(Ok(tables)) = config.source.declared_tables() else {
        return json!(
            "compiled as the source shows each table (its schema is known once connected)"
        );
    };
    let mut chains = serde_json::Map::new();
    for table in tables {
        // The file loaded, so every chain compiles.
        let Ok(Some(chain)) = chain_for(&config.transforms, &table, config.mask_key.as_ref())
        else {
            continue;
        };
        let output = chain.output();
        chains.insert(
            table.name.to_string(),
            json!({ "steps": chain.describe(), "target": output.name.to_string(), "columns": columns(output) }),
        );
    }
    chains.into()
}
