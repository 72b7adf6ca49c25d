//! Dead letters sent somewhere other than the sink (`dead_letter:`).
//!
//! The sink's own store keeps dead letters in the same transaction as the
//! rows. A separate destination cannot share that transaction, so a
//! batch's dead letters are made durable there first, under the batch's
//! position, and the batch is committed to the sink after. A crash
//! between the two replays the batch from the sink's checkpoint: dead
//! letters at offsets the destination's own checkpoint already covers are
//! not written again (consumer-group offsets identify a record exactly).
//! Where that checkpoint cannot tell (another group member overwrote a
//! Kafka destination's checkpoint), a dead letter may be written twice,
//! never lost.

use std::collections::BTreeMap;

use watershed_events::{Event, Position};
use watershed_sinks::{Sink, SinkError};

use crate::connectors::AnySink;

/// The sink a pipeline writes to, with its dead letters routed.
pub struct PipelineSink {
    main: AnySink,
    route: Option<Route>,
}

/// A separate dead-letter destination and what it already holds.
pub(crate) struct Route {
    sink: AnySink,
    /// Next offset per `topic/partition` below which the destination
    /// already holds every dead letter.
    written: BTreeMap<String, i64>,
    pending: Vec<Event>,
}

impl Route {
    pub(crate) fn new(sink: AnySink) -> Self {
        Self {
            sink,
            written: BTreeMap::new(),
            pending: Vec::new(),
        }
    }

    fn remember(&mut self, position: &Position) {
        if let Position::KafkaOffsets { offsets } = position {
            for (partition, next) in offsets {
                let entry = self.written.entry(partition.clone()).or_insert(*next);
                *entry = (*entry).max(*next);
            }
        }
    }

    fn holds(&self, origin: &str, partition: i32, offset: i64) -> bool {
        self.written
            .get(&format!("{origin}/{partition}"))
            .is_some_and(|next| offset < *next)
    }
}

impl PipelineSink {
    pub(crate) fn new(main: AnySink, route: Option<Route>) -> Self {
        Self { main, route }
    }
}

impl Sink for PipelineSink {
    async fn open(&mut self) -> Result<Option<Position>, SinkError> {
        let resume = self.main.open().await?;
        if let Some(route) = &mut self.route {
            route.pending.clear();
            route.written.clear();
            let held = route.sink.open().await.map_err(|e| e.in_dead_letters())?;
            if let Some(held) = held {
                route.remember(&held);
            }
        }
        Ok(resume)
    }

    async fn write(&mut self, events: &[Event]) -> Result<(), SinkError> {
        let Some(route) = &mut self.route else {
            return self.main.write(events).await;
        };
        if !events.iter().any(|e| matches!(e, Event::DeadLetter(_))) {
            return self.main.write(events).await;
        }
        let mut rest = Vec::with_capacity(events.len());
        for event in events {
            match event {
                Event::DeadLetter(letter)
                    if route.holds(&letter.origin, letter.partition, letter.offset) => {}
                Event::DeadLetter(_) => route.pending.push(event.clone()),
                other => rest.push(other.clone()),
            }
        }
        self.main.write(&rest).await
    }

    async fn flush(&mut self, position: &Position) -> Result<(), SinkError> {
        if let Some(route) = &mut self.route
            && !route.pending.is_empty()
        {
            route
                .sink
                .write(&route.pending)
                .await
                .map_err(|e| e.in_dead_letters())?;
            route
                .sink
                .flush(position)
                .await
                .map_err(|e| e.in_dead_letters())?;
            route.pending.clear();
            route.remember(position);
        }
        self.main.flush(position).await
    }

    async fn load_state(&mut self, scope: &str) -> Result<Vec<(String, String)>, SinkError> {
        self.main.load_state(scope).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use watershed_events::{DeadLetter, Timestamp, TxBegin, TxCommit};
    use watershed_sinks::jsonl::{JsonlConfig, JsonlSink};

    use super::*;

    fn jsonl(path: &std::path::Path) -> AnySink {
        AnySink::Jsonl(JsonlSink::new(
            JsonlConfig {
                path: path.to_path_buf(),
            },
            "p",
        ))
    }

    /// A jsonl sink at `main` whose dead letters go to `letters`.
    fn routed(main: &std::path::Path, letters: &std::path::Path) -> PipelineSink {
        PipelineSink::new(jsonl(main), Some(Route::new(jsonl(letters))))
    }

    fn offsets(next: i64) -> Position {
        Position::KafkaOffsets {
            offsets: [("t/0".to_owned(), next)].into_iter().collect(),
        }
    }

    fn batch(offset: i64) -> Vec<Event> {
        let at = Timestamp::from_micros(0);
        vec![
            Event::Begin(TxBegin {
                commit_time: Some(at),
            }),
            Event::DeadLetter(DeadLetter {
                origin: "t".into(),
                partition: 0,
                offset,
                key: None,
                value: Some(Arc::from(&b"{bad"[..])),
                error: "value is not JSON".into(),
            }),
            Event::Commit(TxCommit {
                position: offsets(offset + 1),
                commit_time: at,
            }),
        ]
    }

    fn lines(path: &std::path::Path) -> usize {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .count()
    }

    #[tokio::test]
    async fn a_replayed_batch_does_not_write_its_dead_letters_twice() {
        let dir = tempfile::tempdir().unwrap();
        let letters = dir.path().join("letters.jsonl");
        let mut sink = routed(&dir.path().join("a.jsonl"), &letters);
        assert_eq!(sink.open().await.unwrap(), None);
        sink.write(&batch(5)).await.unwrap();
        sink.flush(&offsets(6)).await.unwrap();
        assert_eq!(lines(&letters), 1);
        assert_eq!(
            lines(&dir.path().join("a.jsonl")),
            0,
            "no dead letter in the sink"
        );

        // The sink lost its last commit (a crash between the two): its
        // checkpoint is older than the dead letters', so the batch replays.
        let mut sink = routed(&dir.path().join("b.jsonl"), &letters);
        assert_eq!(sink.open().await.unwrap(), None);
        sink.write(&batch(5)).await.unwrap();
        sink.flush(&offsets(6)).await.unwrap();
        assert_eq!(lines(&letters), 1, "written once");
        sink.write(&batch(9)).await.unwrap();
        sink.flush(&offsets(10)).await.unwrap();
        assert_eq!(lines(&letters), 2);
    }
}
