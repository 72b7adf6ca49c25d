//! From configured kinds to connectors: one enum per role, dispatched by
//! `match`, so the runtime stays generic and the registry stays plain.

use watershed_events::{Check, Event, Position};
use watershed_sinks::jsonl::JsonlSink;
use watershed_sinks::postgres::PostgresSink;
use watershed_sinks::sqlite::SqliteSink;
use watershed_sinks::{Sink, SinkError};
use watershed_sources::generator::GeneratorSource;
use watershed_sources::mysql::MysqlSource;
use watershed_sources::{Source, SourceError};

use crate::config::{PipelineConfig, SinkConfig, SourceConfig};

pub enum AnySource {
    Generator(GeneratorSource),
    Mysql(MysqlSource),
}

pub enum AnySink {
    Sqlite(SqliteSink),
    Jsonl(JsonlSink),
    Postgres(PostgresSink),
}

pub fn build_source(config: &PipelineConfig) -> AnySource {
    match &config.source {
        SourceConfig::Generator(generator) => {
            AnySource::Generator(GeneratorSource::new(generator.clone()))
        }
        SourceConfig::Mysql(mysql) => AnySource::Mysql(MysqlSource::new(mysql.clone())),
    }
}

pub fn build_sink(config: &PipelineConfig) -> AnySink {
    match &config.sink {
        SinkConfig::Sqlite(sqlite) => {
            AnySink::Sqlite(SqliteSink::new(sqlite.clone(), &config.name))
        }
        SinkConfig::Jsonl(jsonl) => AnySink::Jsonl(JsonlSink::new(jsonl.clone(), &config.name)),
        SinkConfig::Postgres(postgres) => {
            AnySink::Postgres(PostgresSink::new(postgres.clone(), &config.name))
        }
    }
}

/// Preflight checks of both ends: reachability, server settings,
/// privileges, the stored checkpoint. Writes nothing.
pub async fn check(config: &PipelineConfig) -> Vec<Check> {
    let mut checks = match &config.source {
        SourceConfig::Generator(_) => {
            vec![Check::ok("source", "generator: built in, nothing to reach")]
        }
        SourceConfig::Mysql(mysql) => watershed_sources::mysql::check(mysql).await,
    };
    checks.extend(match &config.sink {
        SinkConfig::Sqlite(sqlite) => SqliteSink::new(sqlite.clone(), &config.name).check(),
        SinkConfig::Jsonl(jsonl) => JsonlSink::new(jsonl.clone(), &config.name).check(),
        SinkConfig::Postgres(postgres) => {
            watershed_sinks::postgres::check(postgres, &config.name).await
        }
    });
    if let (SourceConfig::Mysql(mysql), SinkConfig::Postgres(postgres)) =
        (&config.source, &config.sink)
    {
        checks.push(binlog_retention(mysql, postgres, &config.name).await);
    }
    checks
}

/// The binlog the sink's checkpoint resumes from is still on the source.
async fn binlog_retention(
    mysql: &watershed_sources::mysql::MysqlConfig,
    postgres: &watershed_sinks::postgres::PostgresConfig,
    pipeline: &str,
) -> Check {
    use watershed_sinks::postgres::{connect, stored_position};
    let position = match connect(postgres).await {
        Ok(client) => stored_position(&client, postgres, pipeline).await,
        Err(e) => Err(e),
    };
    match position {
        Ok(position) => watershed_sources::mysql::retention(mysql, position.as_ref()).await,
        Err(e) => Check::fail(
            "binlog retention",
            e.to_string(),
            "make the sink reachable first",
        ),
    }
}

impl Source for AnySource {
    async fn open(&mut self, resume: Option<&Position>) -> Result<(), SourceError> {
        match self {
            AnySource::Generator(source) => source.open(resume).await,
            AnySource::Mysql(source) => source.open(resume).await,
        }
    }

    async fn next_chunk(&mut self) -> Result<Option<Vec<Event>>, SourceError> {
        match self {
            AnySource::Generator(source) => source.next_chunk().await,
            AnySource::Mysql(source) => source.next_chunk().await,
        }
    }

    async fn ack(&mut self, position: &Position) -> Result<(), SourceError> {
        match self {
            AnySource::Generator(source) => source.ack(position).await,
            AnySource::Mysql(source) => source.ack(position).await,
        }
    }
}

impl Sink for AnySink {
    async fn open(&mut self) -> Result<Option<Position>, SinkError> {
        match self {
            AnySink::Sqlite(sink) => sink.open().await,
            AnySink::Jsonl(sink) => sink.open().await,
            AnySink::Postgres(sink) => sink.open().await,
        }
    }

    async fn write(&mut self, events: &[Event]) -> Result<(), SinkError> {
        match self {
            AnySink::Sqlite(sink) => sink.write(events).await,
            AnySink::Jsonl(sink) => sink.write(events).await,
            AnySink::Postgres(sink) => sink.write(events).await,
        }
    }

    async fn flush(&mut self, position: &Position) -> Result<(), SinkError> {
        match self {
            AnySink::Sqlite(sink) => sink.flush(position).await,
            AnySink::Jsonl(sink) => sink.flush(position).await,
            AnySink::Postgres(sink) => sink.flush(position).await,
        }
    }
}
