//! The channel between source and sink, bounded in rows and in bytes, so
//! that memory stays flat whatever the table or transaction size.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use watershed_events::Event;

/// Events in flight, holding their share of the channel's bounds until
/// dropped.
pub struct Chunk {
    pub events: Vec<Event>,
    pub rows: usize,
    pub bytes: usize,
    _permits: (OwnedSemaphorePermit, OwnedSemaphorePermit),
}

pub struct ChunkSender {
    tx: mpsc::UnboundedSender<Chunk>,
    rows: Arc<Semaphore>,
    bytes: Arc<Semaphore>,
    max_rows: u32,
    max_bytes: u32,
}

pub struct ChunkReceiver {
    rx: mpsc::UnboundedReceiver<Chunk>,
    semaphores: [Arc<Semaphore>; 2],
}

impl Drop for ChunkReceiver {
    /// Wakes a sender waiting for room that will never come.
    fn drop(&mut self) {
        self.semaphores.iter().for_each(|s| s.close());
    }
}

/// A channel holding at most `max_rows` rows and about `max_bytes` bytes.
/// A single chunk larger than a bound still passes, alone.
pub fn bounded(max_rows: u64, max_bytes: u64) -> (ChunkSender, ChunkReceiver) {
    let max_rows = max_rows.clamp(1, u64::from(u32::MAX >> 1)) as u32;
    let max_bytes = max_bytes.clamp(1, u64::from(u32::MAX >> 1)) as u32;
    let (tx, rx) = mpsc::unbounded_channel();
    let rows = Arc::new(Semaphore::new(max_rows as usize));
    let bytes = Arc::new(Semaphore::new(max_bytes as usize));
    let receiver = ChunkReceiver {
        rx,
        semaphores: [rows.clone(), bytes.clone()],
    };
    (
        ChunkSender {
            tx,
            rows,
            bytes,
            max_rows,
            max_bytes,
        },
        receiver,
    )
}

/// The receiving side is gone.
#[derive(Debug)]
pub struct Closed;

impl ChunkSender {
    /// Waits until the chunk fits, then sends it.
    pub async fn send(&self, events: Vec<Event>) -> Result<(), Closed> {
        let rows: usize = events.iter().map(Event::row_count).sum();
        let bytes = approx_bytes(&events);
        let row_permits = (rows as u64).clamp(1, u64::from(self.max_rows)) as u32;
        let byte_permits = (bytes as u64).clamp(1, u64::from(self.max_bytes)) as u32;
        let rows_held = self
            .rows
            .clone()
            .acquire_many_owned(row_permits)
            .await
            .map_err(|_| Closed)?;
        let bytes_held = self
            .bytes
            .clone()
            .acquire_many_owned(byte_permits)
            .await
            .map_err(|_| Closed)?;
        let chunk = Chunk {
            events,
            rows,
            bytes,
            _permits: (rows_held, bytes_held),
        };
        self.tx.send(chunk).map_err(|_| Closed)
    }
}

/// Events measured one by one up to this many; beyond, a sample of them.
const MEASURED: usize = 256;

/// The chunk's size: exact for small chunks; for large ones (snapshot
/// chunks of thousands of rows of one table) an evenly spaced sample of
/// `MEASURED` events scaled up, since measuring every value of every row
/// cost a few percent of the snapshot's CPU.
fn approx_bytes(events: &[Event]) -> usize {
    if events.len() <= MEASURED {
        return events.iter().map(Event::approx_bytes).sum();
    }
    let step = events.len() / MEASURED;
    let sampled: usize = events.iter().step_by(step).map(Event::approx_bytes).sum();
    let count = events.len().div_ceil(step);
    sampled * events.len() / count
}

impl ChunkReceiver {
    /// The next chunk; `None` once the sender is gone and all is received.
    pub async fn recv(&mut self) -> Option<Chunk> {
        self.rx.recv().await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use watershed_events::{Change, Column, LogicalType, TableName, TableSchema, Value};

    use super::*;

    #[test]
    fn large_chunks_are_sized_from_a_sample_close_to_the_exact_size() {
        let exact = |events: &[Event]| events.iter().map(Event::approx_bytes).sum::<usize>();
        let small = rows(100, 40);
        assert_eq!(approx_bytes(&small), exact(&small));
        let large = rows(10_000, 40);
        let estimate = approx_bytes(&large) as f64;
        let exact = exact(&large) as f64;
        assert!(
            (estimate / exact - 1.0).abs() < 0.02,
            "{estimate} vs {exact}"
        );
    }

    fn rows(n: usize, width: usize) -> Vec<Event> {
        let table = Arc::new(TableSchema {
            name: TableName::parse("t"),
            columns: vec![Column::new("v", LogicalType::Text { charset: None }, false)],
            primary_key: vec![],
            indexes: vec![],
            version: 1,
            foreign_keys: Vec::new(),
            comment: None,
        });
        let text = "x".repeat(width);
        (0..n)
            .map(|_| Event::Change(Change::insert(table.clone(), vec![Value::text(&text)])))
            .collect()
    }

    #[tokio::test]
    async fn the_sender_waits_while_the_row_bound_is_reached() {
        let (tx, mut rx) = bounded(10, 1 << 30);
        tx.send(rows(8, 1)).await.unwrap();
        let blocked = tokio::time::timeout(Duration::from_millis(50), tx.send(rows(5, 1))).await;
        assert!(blocked.is_err(), "a send beyond 10 rows must wait");
        let first = rx.recv().await.unwrap();
        assert_eq!(first.rows, 8);
        drop(first);
        tx.send(rows(5, 1)).await.unwrap();
    }

    #[tokio::test]
    async fn the_sender_waits_while_the_byte_bound_is_reached() {
        let (tx, mut rx) = bounded(1_000_000, 1 << 20);
        tx.send(rows(1, 700 << 10)).await.unwrap();
        let blocked =
            tokio::time::timeout(Duration::from_millis(50), tx.send(rows(1, 700 << 10))).await;
        assert!(blocked.is_err(), "a send beyond 1 MiB must wait");
        drop(rx.recv().await);
        tx.send(rows(1, 700 << 10)).await.unwrap();
    }

    #[tokio::test]
    async fn a_chunk_larger_than_the_bound_passes_alone() {
        let (tx, mut rx) = bounded(10, 1 << 20);
        tx.send(rows(1, 2 << 20)).await.unwrap();
        let chunk = rx.recv().await.unwrap();
        assert!(chunk.bytes > 2 << 20);
    }
}
