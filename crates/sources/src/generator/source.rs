//! The generator as a [`Source`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use watershed_events::{
    Change, Event, Position, SchemaChange, TableSchema, Timestamp, TxBegin, TxCommit,
};

use super::config::{GeneratorConfig, Rate, StartTime};
use super::streams::{event_row, table_schema};
use crate::source::{Source, SourceError};

/// Events per transaction when the rate is unbounded.
const MAX_TX_ROWS: u64 = 1024;
/// Simulated time between events when the rate is unbounded.
const UNBOUNDED_STEP_MICROS: i64 = 1_000;

pub struct GeneratorSource {
    config: GeneratorConfig,
    table: Arc<TableSchema>,
    start: Timestamp,
    step_micros: i64,
    next_index: u64,
    opened_at: Instant,
    produced_since_open: u64,
    schema_sent: bool,
}

impl GeneratorSource {
    pub fn new(config: GeneratorConfig) -> Self {
        let start = match config.start_time {
            StartTime::At(ts) => ts,
            StartTime::Now => now(),
        };
        let step_micros = match (config.interval_ms, config.rate) {
            (Some(ms), _) => (ms as i64).saturating_mul(1000),
            (None, Rate::Unbounded) => UNBOUNDED_STEP_MICROS,
            (None, Rate::PerSecond(per_second)) => ((1e6 / per_second) as i64).max(1),
        };
        Self {
            table: Arc::new(table_schema(config.stream, &config.heartbeat())),
            config,
            start,
            step_micros,
            next_index: 0,
            opened_at: Instant::now(),
            produced_since_open: 0,
            schema_sent: false,
        }
    }

    /// How many events to produce now, waiting for the rate when needed.
    async fn due_events(&self, remaining: u64) -> u64 {
        let per_second = match self.config.rate {
            Rate::Unbounded => return remaining.min(MAX_TX_ROWS),
            Rate::PerSecond(per_second) => per_second,
        };
        let next = self.produced_since_open + 1;
        let due_at = self.opened_at + Duration::from_secs_f64(next as f64 / per_second);
        let wait = due_at.saturating_duration_since(Instant::now());
        tokio::time::sleep(wait.min(Duration::from_secs(1))).await;
        let elapsed = self.opened_at.elapsed().as_secs_f64();
        let due = (elapsed * per_second) as u64;
        let burst = ((per_second / 20.0) as u64).clamp(1, MAX_TX_ROWS);
        due.saturating_sub(self.produced_since_open)
            .min(burst)
            .min(remaining)
    }
}

impl Source for GeneratorSource {
    async fn open(&mut self, resume: Option<&Position>) -> Result<(), SourceError> {
        self.next_index = match resume {
            None => 0,
            Some(Position::Generator { next_index }) => *next_index,
            Some(other) => {
                return Err(SourceError::ForeignPosition {
                    position: Box::new(other.clone()),
                    source_kind: "generator",
                });
            }
        };
        self.opened_at = Instant::now();
        self.produced_since_open = 0;
        self.schema_sent = false;
        Ok(())
    }

    async fn next_chunk(&mut self) -> Result<Option<Vec<Event>>, SourceError> {
        let remaining = match self.config.count {
            Some(count) if self.next_index >= count => return Ok(None),
            Some(count) => count - self.next_index,
            None => u64::MAX,
        };
        let n = self.due_events(remaining).await;
        if n == 0 {
            return Ok(Some(Vec::new()));
        }
        let mut events = Vec::with_capacity(n as usize + 3);
        if !self.schema_sent {
            events.push(Event::Schema(SchemaChange::new(self.table.clone())));
            self.schema_sent = true;
        }
        events.push(Event::Begin(TxBegin { commit_time: None }));
        let (stream, model) = (self.config.stream, self.config.heartbeat());
        for index in self.next_index..self.next_index + n {
            let row = event_row(stream, &model, index, self.start, self.step_micros);
            events.push(Event::Change(Change::insert(self.table.clone(), row)));
        }
        self.next_index += n;
        self.produced_since_open += n;
        let last = self.next_index - 1;
        events.push(Event::Commit(TxCommit {
            position: Position::Generator {
                next_index: self.next_index,
            },
            commit_time: Timestamp::from_micros(self.start.micros + last as i64 * self.step_micros),
        }));
        Ok(Some(events))
    }
}

fn now() -> Timestamp {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_micros(since_epoch.as_micros() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generator::StreamKind;
    use watershed_events::Value;

    fn config(count: u64) -> GeneratorConfig {
        GeneratorConfig {
            stream: StreamKind::Heartbeat,
            seed: 7,
            count: Some(count),
            rate: Rate::Unbounded,
            start_time: StartTime::default(),
            interval_ms: None,
            customers: 10_000,
            invalid_fraction: 0.0,
            drift: false,
        }
    }

    #[tokio::test]
    async fn invalid_readings_come_out_with_nullable_columns_when_asked_for() {
        let mut shaped = config(2_000);
        shaped.invalid_fraction = 0.2;
        shaped.drift = true;
        let mut source = GeneratorSource::new(shaped);
        source.open(None).await.unwrap();
        let events = drain(&mut source).await;
        let changes: Vec<&Change> = events
            .iter()
            .filter_map(|e| match e {
                Event::Change(c) => Some(c),
                _ => None,
            })
            .collect();
        let schema = &changes[0].table;
        assert!(schema.columns[3].nullable && schema.columns[1].nullable);
        let missing = changes
            .iter()
            .filter(|c| c.after.as_ref().is_some_and(|r| r.contains(&Value::Null)))
            .count();
        // A third of the invalid fifth miss a field.
        assert!((50..250).contains(&missing), "{missing}");
    }

    async fn drain(source: &mut GeneratorSource) -> Vec<Event> {
        let mut all = Vec::new();
        while let Some(chunk) = source.next_chunk().await.unwrap() {
            all.extend(chunk);
        }
        all
    }

    fn rows(events: &[Event]) -> Vec<watershed_events::Row> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Change(c) => c.after.clone(),
                _ => None,
            })
            .collect()
    }

    #[tokio::test]
    async fn resuming_yields_exactly_the_remaining_events() {
        let mut whole = GeneratorSource::new(config(3000));
        whole.open(None).await.unwrap();
        let all = rows(&drain(&mut whole).await);
        assert_eq!(all.len(), 3000);

        let mut resumed = GeneratorSource::new(config(3000));
        resumed
            .open(Some(&Position::Generator { next_index: 1234 }))
            .await
            .unwrap();
        let events = drain(&mut resumed).await;
        assert!(matches!(events[0], Event::Schema(_)), "schema comes first");
        assert_eq!(rows(&events), all[1234..]);
    }

    #[tokio::test]
    async fn a_finished_count_produces_nothing() {
        let mut source = GeneratorSource::new(config(10));
        source
            .open(Some(&Position::Generator { next_index: 10 }))
            .await
            .unwrap();
        assert!(source.next_chunk().await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_foreign_checkpoint_is_refused() {
        let mut source = GeneratorSource::new(config(10));
        let err = source
            .open(Some(&Position::PgLsn { lsn: 1 }))
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("not written by a generator source"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn commits_carry_the_next_index() {
        let mut source = GeneratorSource::new(config(2500));
        source.open(None).await.unwrap();
        let commits: Vec<Position> = drain(&mut source)
            .await
            .into_iter()
            .filter_map(|e| match e {
                Event::Commit(c) => Some(c.position),
                _ => None,
            })
            .collect();
        assert_eq!(
            commits.last(),
            Some(&Position::Generator { next_index: 2500 })
        );
        assert_eq!(commits.len(), 3);
    }

    #[tokio::test]
    async fn a_bounded_rate_paces_the_stream() {
        let mut cfg = config(60);
        cfg.rate = Rate::PerSecond(200.0);
        let mut source = GeneratorSource::new(cfg);
        source.open(None).await.unwrap();
        let started = Instant::now();
        assert_eq!(rows(&drain(&mut source).await).len(), 60);
        // 60 events at 200/s take at least 0.25 s (the first is due at 5 ms).
        assert!(started.elapsed() >= Duration::from_millis(250));
    }
}
