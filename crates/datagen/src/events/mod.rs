//! `watershed gen events`: a paced stream of synthetic events (heart-rate
//! readings from [`watershed_sources::generator::HeartbeatModel`], the
//! same model the pipeline's `generator` source uses) written to a JSON
//! lines file or a PostgreSQL table.

mod sink;

use std::future::Future;
use std::time::{Duration, Instant};

use watershed_events::Timestamp;
use watershed_sources::generator::{HeartbeatModel, Reading};

pub use sink::EventSink;

use crate::error::DatagenError;

/// Where events go, parsed from `jsonl:PATH` or `postgres:URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventTarget {
    Jsonl(std::path::PathBuf),
    /// A PostgreSQL URL; the table is created if missing.
    Postgres {
        url: String,
        table: String,
    },
    /// A Kafka topic, created with `partitions` when missing; readings
    /// keyed by customer.
    Kafka {
        brokers: String,
        topic: String,
        partitions: i32,
    },
}

impl EventTarget {
    /// Parses `jsonl:PATH`, `postgres:URL` or a bare `postgres://` URL.
    pub fn parse(text: &str, table: &str) -> Result<Self, DatagenError> {
        if let Some(path) = text.strip_prefix("jsonl:") {
            return Ok(EventTarget::Jsonl(path.into()));
        }
        let url = text.strip_prefix("postgres:").filter(|u| u.contains("://"));
        let url = url.or_else(|| {
            (text.starts_with("postgres://") || text.starts_with("postgresql://")).then_some(text)
        });
        match url {
            Some(url) => Ok(EventTarget::Postgres {
                url: url.to_owned(),
                table: table.to_owned(),
            }),
            None => Err(DatagenError::Invalid(
                "--to: expected jsonl:PATH, postgres:URL or kafka".into(),
            )),
        }
    }
}

/// A heart-rate stream to produce.
#[derive(Debug, Clone)]
pub struct HeartbeatRun {
    pub model: HeartbeatModel,
    /// Readings per second, of wall-clock and of event time.
    pub rate: f64,
    pub duration: Duration,
    /// The timestamp of reading 0.
    pub start: Timestamp,
}

/// What a run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct EventSummary {
    pub events: u64,
    pub invalid: u64,
    pub seconds: f64,
    pub events_per_second: f64,
}

impl HeartbeatRun {
    /// Reading `index`, at its place in event time.
    pub fn reading(&self, index: u64) -> Reading {
        let step = (1e6 / self.rate.max(1e-6)) as i64;
        let ts = Timestamp::from_micros(self.start.micros + index as i64 * step.max(1));
        self.model.reading(index, ts)
    }

    /// Readings in total: rate × duration.
    pub fn total(&self) -> u64 {
        (self.rate * self.duration.as_secs_f64()).round() as u64
    }

    /// Writes the stream to `sink`, paced to the rate, until the total is
    /// written or `stop` fires.
    pub async fn run(
        &self,
        sink: &mut EventSink,
        stop: impl Future<Output = ()>,
    ) -> Result<EventSummary, DatagenError> {
        let started = Instant::now();
        let total = self.total();
        let mut interval = tokio::time::interval(Duration::from_millis(50));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let (mut done, mut invalid) = (0u64, 0u64);
        tokio::pin!(stop);
        while done < total {
            tokio::select! {
                () = &mut stop => break,
                _ = interval.tick() => {}
            }
            let due = ((started.elapsed().as_secs_f64() * self.rate) as u64).min(total);
            let batch: Vec<Reading> = (done..due.max(done)).map(|i| self.reading(i)).collect();
            invalid += batch.iter().filter(|r| r.invalid.is_some()).count() as u64;
            sink.write(&batch).await?;
            done = due.max(done);
        }
        sink.finish().await?;
        let seconds = started.elapsed().as_secs_f64();
        tracing::info!(events = done, invalid, "events written");
        Ok(EventSummary {
            events: done,
            invalid,
            seconds,
            events_per_second: done as f64 / seconds.max(1e-9),
        })
    }
}
