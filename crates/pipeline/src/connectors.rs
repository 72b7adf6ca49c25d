//! From configured kinds to connectors: one enum per role, dispatched by
//! `match`, so the runtime stays generic and the registry stays plain.

use std::sync::Arc;

use watershed_events::{Check, Event, Position, TableAction, TableName};
use watershed_sinks::jsonl::JsonlSink;
use watershed_sinks::kafka::KafkaSink;
use watershed_sinks::postgres::PostgresSink;
use watershed_sinks::sqlite::SqliteSink;
use watershed_sinks::{Sink, SinkError};
use watershed_sources::generator::GeneratorSource;
use watershed_sources::kafka::KafkaSource;
use watershed_sources::mysql::MysqlSource;
use watershed_sources::{ControlError, Source, SourceError};

use crate::config::{DeadLetterConfig, PipelineConfig, SchemaChanges, SinkConfig, SourceConfig};
use crate::dead_letters::{PipelineSink, Route};

pub enum AnySource {
    Generator(GeneratorSource),
    Mysql(MysqlSource),
    // Boxed: it is twice the size of the others.
    Kafka(Box<KafkaSource>),
}

pub enum AnySink {
    Sqlite(SqliteSink),
    Jsonl(JsonlSink),
    Postgres(PostgresSink),
    Kafka(KafkaSink),
}

pub fn build_source(config: &PipelineConfig) -> AnySource {
    match &config.source {
        SourceConfig::Generator(generator) => {
            AnySource::Generator(GeneratorSource::new(generator.clone()))
        }
        SourceConfig::Mysql(mysql) => AnySource::Mysql(MysqlSource::new(mysql.clone())),
        SourceConfig::Kafka(kafka) => {
            AnySource::Kafka(Box::new(KafkaSource::new(kafka.clone(), &config.name)))
        }
    }
}

/// The sink the pipeline file names, with a separate dead-letter
/// destination when `dead_letter:` names one.
pub fn build_sink(config: &PipelineConfig) -> PipelineSink {
    let identity = format!("{}.dead_letters", config.name);
    let route = match &config.dead_letter {
        DeadLetterConfig::Sink => None,
        DeadLetterConfig::PostgresTable(postgres) => Some(AnySink::Postgres(
            PostgresSink::new(postgres.clone(), &config.name).checkpoint_as(&identity),
        )),
        DeadLetterConfig::Kafka(kafka) => Some(AnySink::Kafka(
            KafkaSink::new(kafka.clone(), &config.name).checkpoint_as(&identity),
        )),
        DeadLetterConfig::Jsonl(jsonl) => {
            Some(AnySink::Jsonl(JsonlSink::new(jsonl.clone(), &config.name)))
        }
    };
    PipelineSink::new(main_sink(config), route.map(Route::new))
}

fn main_sink(config: &PipelineConfig) -> AnySink {
    match &config.sink {
        SinkConfig::Sqlite(sqlite) => {
            AnySink::Sqlite(SqliteSink::new(sqlite.clone(), &config.name))
        }
        SinkConfig::Jsonl(jsonl) => AnySink::Jsonl(JsonlSink::new(jsonl.clone(), &config.name)),
        SinkConfig::Postgres(postgres) => {
            let mut sink = PostgresSink::new(postgres.clone(), &config.name);
            if let Some(frozen) = frozen_tables(config) {
                sink.freeze_shapes(frozen);
            }
            AnySink::Postgres(sink)
        }
        SinkConfig::Kafka(kafka) => AnySink::Kafka(KafkaSink::new(kafka.clone(), &config.name)),
    }
}

/// The tables whose `schema_changes` policy forbids altering the target,
/// when any setting names such a policy.
fn frozen_tables(config: &PipelineConfig) -> Option<watershed_sinks::postgres::FrozenTables> {
    let settings = std::iter::once(&config.defaults)
        .chain(config.schemas.values())
        .chain(config.tables.values());
    let any = settings
        .filter_map(|s| s.schema_changes)
        .any(|p| p != SchemaChanges::Evolve);
    if !any {
        return None;
    }
    let config = Arc::new(config.clone());
    Some(Arc::new(move |table: &TableName| {
        config.policy_for(table).schema_changes != SchemaChanges::Evolve
    }))
}

/// Preflight checks of both ends: reachability, server settings,
/// privileges, the stored checkpoint. Writes nothing.
pub async fn check(config: &PipelineConfig) -> Vec<Check> {
    let mut checks = match &config.source {
        SourceConfig::Generator(_) => {
            vec![Check::ok("source", "generator: built in, nothing to reach")]
        }
        SourceConfig::Mysql(mysql) => watershed_sources::mysql::check(mysql).await,
        SourceConfig::Kafka(kafka) => watershed_sources::kafka::check(kafka).await,
    };
    checks.extend(match &config.sink {
        SinkConfig::Sqlite(sqlite) => SqliteSink::new(sqlite.clone(), &config.name).check(),
        SinkConfig::Jsonl(jsonl) => JsonlSink::new(jsonl.clone(), &config.name).check(),
        SinkConfig::Postgres(postgres) => {
            watershed_sinks::postgres::check(postgres, &config.name).await
        }
        SinkConfig::Kafka(kafka) => watershed_sinks::kafka::check(kafka, &config.name).await,
    });
    checks.extend(dead_letter_checks(config).await);
    if let (SourceConfig::Mysql(mysql), SinkConfig::Postgres(postgres)) =
        (&config.source, &config.sink)
    {
        checks.extend(binlog_checks(mysql, postgres, &config.name).await);
    }
    checks
}

/// A separate dead-letter destination is reached like a sink; its checks
/// are renamed so that a failure says which end failed.
async fn dead_letter_checks(config: &PipelineConfig) -> Vec<Check> {
    let identity = format!("{}.dead_letters", config.name);
    let checks = match &config.dead_letter {
        DeadLetterConfig::Sink => return Vec::new(),
        DeadLetterConfig::PostgresTable(postgres) => {
            watershed_sinks::postgres::check(postgres, &identity).await
        }
        DeadLetterConfig::Kafka(kafka) => watershed_sinks::kafka::check(kafka, &identity).await,
        DeadLetterConfig::Jsonl(jsonl) => JsonlSink::new(jsonl.clone(), &config.name).check(),
    };
    checks
        .into_iter()
        .map(|mut check| {
            check.name = match check.name.strip_prefix("sink") {
                Some(rest) => format!("dead_letter{rest}"),
                None => format!("dead_letter {}", check.name),
            };
            check.fix = check.fix.map(|fix| fix.replace("sink.", "dead_letter."));
            check
        })
        .collect()
}

/// Checks of the source against the sink's checkpoint: the binlog it
/// resumes from is still there, and (with `lag_alert_s`) how far behind it is.
async fn binlog_checks(
    mysql: &watershed_sources::mysql::MysqlConfig,
    postgres: &watershed_sinks::postgres::PostgresConfig,
    pipeline: &str,
) -> Vec<Check> {
    use watershed_sinks::postgres::{connect, stored_checkpoint};
    let checkpoint = match connect(postgres).await {
        Ok(client) => stored_checkpoint(&client, postgres, pipeline).await,
        Err(e) => Err(e),
    };
    let (position, age) = match checkpoint {
        Ok(Some((position, age))) => (Some(position), age),
        Ok(None) => (None, 0.0),
        Err(e) => {
            let fix = "make the sink reachable first";
            return vec![Check::fail("binlog retention", e.to_string(), fix)];
        }
    };
    let mut checks = vec![watershed_sources::mysql::retention(mysql, position.as_ref()).await];
    checks.extend(table_state_checks(position.as_ref()));
    checks.extend(watershed_sources::mysql::lag(mysql, position.as_ref(), age).await);
    checks
}

/// One warning per table the checkpoint says is not applied live.
fn table_state_checks(position: Option<&Position>) -> Vec<Check> {
    let tables = match position {
        Some(Position::MysqlFile(position)) => &position.tables,
        Some(Position::MysqlSnapshot(progress)) => &progress.handover.tables,
        _ => return Vec::new(),
    };
    tables
        .iter()
        .map(|(table, state)| {
            let fix = match state {
                watershed_events::TableControl::Resyncing { .. } => {
                    "none needed: it is being re-copied while streaming".to_owned()
                }
                watershed_events::TableControl::Paused => {
                    format!("watershed table resume -c FILE {table}")
                }
                watershed_events::TableControl::Isolated { .. } => {
                    format!("fix the cause, then: watershed table resync -c FILE {table}")
                }
            };
            Check::warn(format!("table {table}"), state.to_string(), fix)
        })
        .collect()
}

impl Source for AnySource {
    async fn open(&mut self, resume: Option<&Position>) -> Result<(), SourceError> {
        match self {
            AnySource::Generator(source) => source.open(resume).await,
            AnySource::Mysql(source) => source.open(resume).await,
            AnySource::Kafka(source) => source.open(resume).await,
        }
    }

    async fn next_chunk(&mut self) -> Result<Option<Vec<Event>>, SourceError> {
        match self {
            AnySource::Generator(source) => source.next_chunk().await,
            AnySource::Mysql(source) => source.next_chunk().await,
            AnySource::Kafka(source) => source.next_chunk().await,
        }
    }

    async fn ack(&mut self, position: &Position) -> Result<(), SourceError> {
        match self {
            AnySource::Generator(source) => source.ack(position).await,
            AnySource::Mysql(source) => source.ack(position).await,
            AnySource::Kafka(source) => source.ack(position).await,
        }
    }

    async fn control(
        &mut self,
        table: &TableName,
        action: TableAction,
    ) -> Result<(), ControlError> {
        match self {
            AnySource::Generator(source) => source.control(table, action).await,
            AnySource::Mysql(source) => source.control(table, action).await,
            AnySource::Kafka(source) => source.control(table, action).await,
        }
    }
}

impl Sink for AnySink {
    async fn open(&mut self) -> Result<Option<Position>, SinkError> {
        match self {
            AnySink::Sqlite(sink) => sink.open().await,
            AnySink::Jsonl(sink) => sink.open().await,
            AnySink::Postgres(sink) => sink.open().await,
            AnySink::Kafka(sink) => sink.open().await,
        }
    }

    async fn write(&mut self, events: &[Event]) -> Result<(), SinkError> {
        match self {
            AnySink::Sqlite(sink) => sink.write(events).await,
            AnySink::Jsonl(sink) => sink.write(events).await,
            AnySink::Postgres(sink) => sink.write(events).await,
            AnySink::Kafka(sink) => sink.write(events).await,
        }
    }

    async fn flush(&mut self, position: &Position) -> Result<(), SinkError> {
        match self {
            AnySink::Sqlite(sink) => sink.flush(position).await,
            AnySink::Jsonl(sink) => sink.flush(position).await,
            AnySink::Postgres(sink) => sink.flush(position).await,
            AnySink::Kafka(sink) => sink.flush(position).await,
        }
    }

    async fn load_state(&mut self, scope: &str) -> Result<Vec<(String, String)>, SinkError> {
        match self {
            AnySink::Sqlite(sink) => sink.load_state(scope).await,
            AnySink::Jsonl(sink) => sink.load_state(scope).await,
            AnySink::Postgres(sink) => sink.load_state(scope).await,
            AnySink::Kafka(sink) => sink.load_state(scope).await,
        }
    }
}
