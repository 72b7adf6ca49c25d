//! The pipeline file's keys, as plain structs. Connector keys live with
//! their connectors; this file wires them in by `kind`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use watershed_events::TableName;
use watershed_sinks::jsonl::JsonlConfig;
use watershed_sinks::kafka::KafkaSinkConfig;
use watershed_sinks::postgres::PostgresConfig;
use watershed_sinks::sqlite::SqliteConfig;
use watershed_sources::generator::GeneratorConfig;
use watershed_sources::kafka::KafkaSourceConfig;
use watershed_sources::mysql::MysqlConfig;

use super::aggregates::AggregateConfig;
use super::stale::StaleConfig;
use super::transforms::{MaskKey, TransformConfig};

/// A resolved, validated pipeline file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PipelineConfig {
    pub name: String,
    pub source: SourceConfig,
    pub sink: SinkConfig,
    /// Settings for every table, unless a schema or table says otherwise.
    pub defaults: TableSettings,
    /// Per source schema (MySQL database, PostgreSQL schema).
    pub schemas: BTreeMap<String, TableSettings>,
    /// Per table, by `schema.table` (or `table` for sources without schemas).
    pub tables: BTreeMap<String, TableSettings>,
    pub retry: RetryConfig,
    pub buffer: BufferConfig,
    /// Where records the source could not apply go.
    pub dead_letter: DeadLetterConfig,
    /// Row transforms, in order, each for the tables it names.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub transforms: Vec<TransformConfig>,
    /// The key of `mask: hash` (printed as `***`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mask_key: Option<MaskKey>,
    /// Target tables kept as aggregates of a table's changes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aggregates: Vec<AggregateConfig>,
    /// Keys watched for silence, per table.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stale: Vec<StaleConfig>,
}

/// `source.kind` and its keys.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SourceConfig {
    Generator(GeneratorConfig),
    Mysql(MysqlConfig),
    Kafka(KafkaSourceConfig),
}

/// `sink.kind` and its keys.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SinkConfig {
    Sqlite(SqliteConfig),
    Jsonl(JsonlConfig),
    Postgres(PostgresConfig),
    Kafka(KafkaSinkConfig),
}

/// `dead_letter.kind` and its keys, resolved against the sink.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DeadLetterConfig {
    /// Written by the sink beside the rows, in the same transaction: its
    /// `_ws_dead_letters` table, `<topic_prefix>._dead_letters` topic or
    /// jsonl lines. The default, and what `postgres_table` resolves to
    /// when it names the postgres sink's own database and schema.
    #[default]
    Sink,
    /// `_ws_dead_letters` in another PostgreSQL database or schema.
    PostgresTable(PostgresConfig),
    /// A Kafka topic (`topic`, `<pipeline>._dead_letters` by default).
    Kafka(KafkaSinkConfig),
    /// A jsonl file, one `{"dead_letter": …}` object per line.
    Jsonl(JsonlConfig),
}

/// Settings that can differ per table; unset keys fall through to the
/// schema's, then to `defaults`, then to built-in values.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TableSettings {
    #[serde(default)]
    pub batch: BatchOverrides,
    /// What happens when the sink rejects the table's changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_table_error: Option<OnTableError>,
    /// What happens when the table's shape changes in the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_changes: Option<SchemaChanges>,
}

/// `on_table_error:` what a change the sink rejects does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnTableError {
    /// Stop the pipeline with the error; the position is kept.
    #[default]
    Stop,
    /// Put the table in an error state and keep the other tables flowing;
    /// `watershed table resync` brings it back.
    Isolate,
}

/// `schema_changes:` what a change of the table's shape does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SchemaChanges {
    /// Apply it to the target, in order with the rows around it.
    #[default]
    Evolve,
    /// Stop with a clear error before the target changes.
    Freeze,
    /// Isolate the table (as `on_table_error: isolate` does).
    Quarantine,
}

/// The error and schema-change policies of one table, resolved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TablePolicy {
    pub on_table_error: OnTableError,
    pub schema_changes: SchemaChanges,
}

/// `batch:` keys as written; `None` means "not set here".
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BatchOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_rows: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_delay_ms: Option<u64>,
}

/// When a batch is cut: whichever bound is reached first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BatchSettings {
    pub max_rows: usize,
    pub max_bytes: usize,
    #[serde(rename = "max_delay_ms", serialize_with = "millis")]
    pub max_delay: Duration,
}

impl Default for BatchSettings {
    fn default() -> Self {
        Self {
            max_rows: 20_000,
            max_bytes: 16 << 20,
            max_delay: Duration::from_millis(200),
        }
    }
}

impl BatchSettings {
    fn apply(self, overrides: &BatchOverrides) -> Self {
        Self {
            max_rows: overrides.max_rows.map_or(self.max_rows, |n| n as usize),
            max_bytes: overrides.max_bytes.map_or(self.max_bytes, |n| n as usize),
            max_delay: overrides
                .max_delay_ms
                .map_or(self.max_delay, Duration::from_millis),
        }
    }
}

/// Retry of transient failures: exponential backoff with jitter, at most
/// `max_attempts` in a row (a successful commit resets the count).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    pub max_attempts: u32,
    pub initial_backoff_ms: u64,
    pub max_backoff_ms: u64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_attempts: 10,
            initial_backoff_ms: 500,
            max_backoff_ms: 30_000,
        }
    }
}

/// The bound on events in flight between source and sink.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct BufferConfig {
    pub max_rows: u64,
    pub max_bytes: u64,
}

impl Default for BufferConfig {
    fn default() -> Self {
        Self {
            max_rows: 100_000,
            max_bytes: 32 << 20,
        }
    }
}

impl SourceConfig {
    /// The lag beyond which the pipeline reports a warning, if any.
    pub fn lag_alert_s(&self) -> Option<u64> {
        match self {
            SourceConfig::Generator(_) | SourceConfig::Kafka(_) => None,
            SourceConfig::Mysql(mysql) => mysql.lag_alert_s,
        }
    }
}

impl SourceConfig {
    /// The tables the source produces, where the file declares them
    /// (generator, Kafka JSON); `None` when only a connection tells
    /// (MySQL, Debezium records), and transforms are then checked as each
    /// table first appears.
    pub fn declared_tables(&self) -> Option<Result<Vec<watershed_events::TableSchema>, String>> {
        match self {
            SourceConfig::Generator(generator) => {
                Some(Ok(vec![watershed_sources::generator::table_schema(
                    generator.stream,
                    &generator.heartbeat(),
                )]))
            }
            SourceConfig::Kafka(kafka) => kafka.declared_tables(),
            SourceConfig::Mysql(_) => None,
        }
    }
}

impl PipelineConfig {
    /// The batch bounds of one table: built-in, then `defaults`, then its
    /// schema's, then its own; the nearest setting wins.
    pub fn batch_for(&self, table: &TableName) -> BatchSettings {
        let mut settings = BatchSettings::default().apply(&self.defaults.batch);
        if let Some(schema) = table.schema.as_ref().and_then(|s| self.schemas.get(s)) {
            settings = settings.apply(&schema.batch);
        }
        if let Some(own) = self.tables.get(&table.to_string()) {
            settings = settings.apply(&own.batch);
        }
        settings
    }

    /// The error and schema-change policies of one table; the nearest
    /// setting wins, as for `batch_for`.
    pub fn policy_for(&self, table: &TableName) -> TablePolicy {
        let schema = table.schema.as_ref().and_then(|s| self.schemas.get(s));
        let own = self.tables.get(&table.to_string());
        let levels: Vec<&TableSettings> = [own, schema, Some(&self.defaults)]
            .into_iter()
            .flatten()
            .collect();
        TablePolicy {
            on_table_error: levels
                .iter()
                .find_map(|s| s.on_table_error)
                .unwrap_or_default(),
            schema_changes: levels
                .iter()
                .find_map(|s| s.schema_changes)
                .unwrap_or_default(),
        }
    }

    /// The bounds for the pipeline as a whole (tables not yet seen).
    pub fn default_batch(&self) -> BatchSettings {
        BatchSettings::default().apply(&self.defaults.batch)
    }
}

fn millis<S: serde::Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(duration.as_millis() as u64)
}
