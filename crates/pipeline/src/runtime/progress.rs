//! Live counters for progress lines, `/ready` and the final summary, and
//! the per-table control desk that the HTTP API shares with the run.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use watershed_transforms::stale::StaleKey;

use super::control::TableControls;

#[derive(Debug, Default)]
pub struct Progress {
    rows_read: AtomicU64,
    rows_committed: AtomicU64,
    batches: AtomicU64,
    ready: AtomicBool,
    /// Lag of the newest committed batch, in milliseconds.
    lag_ms: AtomicU64,
    tables: TableControls,
    /// Per stale table: how many keys are silent, and the first of them.
    stale: Mutex<BTreeMap<String, serde_json::Value>>,
}

impl Progress {
    pub fn rows_read(&self) -> u64 {
        self.rows_read.load(Ordering::Relaxed)
    }

    pub fn rows_committed(&self) -> u64 {
        self.rows_committed.load(Ordering::Relaxed)
    }

    pub fn batches(&self) -> u64 {
        self.batches.load(Ordering::Relaxed)
    }

    /// Source and sink are open and reachable.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    /// Seconds from the source's commit to the sink's, for the newest batch.
    pub fn lag_seconds(&self) -> f64 {
        self.lag_ms.load(Ordering::Relaxed) as f64 / 1000.0
    }

    pub fn set_lag(&self, seconds: f64) {
        self.lag_ms
            .store((seconds * 1000.0) as u64, Ordering::Relaxed);
    }

    pub(crate) fn read(&self, rows: u64) {
        self.rows_read.fetch_add(rows, Ordering::Relaxed);
    }

    pub(crate) fn committed(&self, rows: u64) {
        self.rows_committed.fetch_add(rows, Ordering::Relaxed);
        self.batches.fetch_add(1, Ordering::Relaxed);
    }

    /// Per-table requests and states.
    pub fn tables(&self) -> &TableControls {
        &self.tables
    }

    pub(crate) fn set_stale(&self, table: &str, count: usize, keys: Vec<StaleKey>) {
        let time = |micros| watershed_events::Timestamp::from_micros(micros).to_string();
        let keys: Vec<serde_json::Value> = keys
            .into_iter()
            .map(|k| {
                serde_json::json!({
                    "key": k.key,
                    "last_seen": time(k.last_seen),
                    "detected_at": time(k.detected_at),
                })
            })
            .collect();
        let entry = serde_json::json!({ "count": count, "keys": keys });
        if let Ok(mut stale) = self.stale.lock() {
            stale.insert(table.to_owned(), entry);
        }
    }

    /// Stale keys per stale table (the first 100 of each), for `/api/status`.
    pub fn stale(&self) -> serde_json::Value {
        match self.stale.lock() {
            Ok(stale) => serde_json::json!(*stale),
            Err(_) => serde_json::Value::Null,
        }
    }

    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }
}
