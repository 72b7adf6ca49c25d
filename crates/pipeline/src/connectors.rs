//! From configured kinds to connectors: one enum per role, dispatched by
//! `match`, so the runtime stays generic and the registry stays plain.

use watershed_events::{Check, Event, Position};
use watershed_sinks::jsonl::JsonlSink;
use watershed_sinks::sqlite::SqliteSink;
use watershed_sinks::{Sink, SinkError};
use watershed_sources::generator::GeneratorSource;
use watershed_sources::{Source, SourceError};

use crate::config::{PipelineConfig, SinkConfig, SourceConfig};

pub enum AnySource {
    Generator(GeneratorSource),
}

pub enum AnySink {
    Sqlite(SqliteSink),
    Jsonl(JsonlSink),
}

pub fn build_source(config: &PipelineConfig) -> AnySource {
    match &config.source {
        SourceConfig::Generator(generator) => {
            AnySource::Generator(GeneratorSource::new(generator.clone()))
        }
    }
}

pub fn build_sink(config: &PipelineConfig) -> AnySink {
    match &config.sink {
        SinkConfig::Sqlite(sqlite) => {
            AnySink::Sqlite(SqliteSink::new(sqlite.clone(), &config.name))
        }
        SinkConfig::Jsonl(jsonl) => AnySink::Jsonl(JsonlSink::new(jsonl.clone(), &config.name)),
    }
}

impl AnySource {
    /// Preflight checks: reachability, server settings, privileges.
    pub async fn check(&self) -> Vec<Check> {
        match self {
            AnySource::Generator(_) => {
                vec![Check::ok("source", "generator: built in, nothing to reach")]
            }
        }
    }
}

impl AnySink {
    /// Preflight checks: reachability, writability, the stored checkpoint.
    pub async fn check(&self) -> Vec<Check> {
        match self {
            AnySink::Sqlite(sink) => sink.check(),
            AnySink::Jsonl(sink) => sink.check(),
        }
    }
}

impl Source for AnySource {
    async fn open(&mut self, resume: Option<&Position>) -> Result<(), SourceError> {
        match self {
            AnySource::Generator(source) => source.open(resume).await,
        }
    }

    async fn next_chunk(&mut self) -> Result<Option<Vec<Event>>, SourceError> {
        match self {
            AnySource::Generator(source) => source.next_chunk().await,
        }
    }

    async fn ack(&mut self, position: &Position) -> Result<(), SourceError> {
        match self {
            AnySource::Generator(source) => source.ack(position).await,
        }
    }
}

impl Sink for AnySink {
    async fn open(&mut self) -> Result<Option<Position>, SinkError> {
        match self {
            AnySink::Sqlite(sink) => sink.open().await,
            AnySink::Jsonl(sink) => sink.open().await,
        }
    }

    async fn write(&mut self, events: &[Event]) -> Result<(), SinkError> {
        match self {
            AnySink::Sqlite(sink) => sink.write(events).await,
            AnySink::Jsonl(sink) => sink.write(events).await,
        }
    }

    async fn flush(&mut self, position: &Position) -> Result<(), SinkError> {
        match self {
            AnySink::Sqlite(sink) => sink.flush(position).await,
            AnySink::Jsonl(sink) => sink.flush(position).await,
        }
    }
}
