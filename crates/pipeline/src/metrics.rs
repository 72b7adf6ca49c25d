//! The pipeline's Prometheus metrics. Names are constants here; labels stay
//! low-cardinality (pipeline, table, op, direction, kind).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

pub const ROWS: &str = "watershed_rows";
pub const BATCHES: &str = "watershed_batches";
pub const BATCH_DURATION: &str = "watershed_batch_duration_seconds";
pub const ERRORS: &str = "watershed_errors";
pub const CHECKPOINT_AGE: &str = "watershed_checkpoint_age_seconds";
pub const LAG: &str = "watershed_lag_seconds";
pub const SNAPSHOT_ROWS: &str = "watershed_snapshot_rows";
pub const SNAPSHOT_TABLES_DONE: &str = "watershed_snapshot_tables_done";
pub const TABLE_STATE: &str = "watershed_table_state";
pub const DEAD_LETTERS: &str = "watershed_dead_letters";
pub const ROWS_FILTERED: &str = "watershed_rows_filtered";
pub const STALE_KEYS: &str = "watershed_stale_keys";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OriginLabels {
    pub pipeline: String,
    /// The topic (or table) the record came from.
    pub origin: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RowLabels {
    pub pipeline: String,
    pub table: String,
    pub op: String,
    /// `in` (read from the source) or `out` (committed to the sink).
    pub direction: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PipelineLabels {
    pub pipeline: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TableLabels {
    pub pipeline: String,
    pub table: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TableStateLabels {
    pub pipeline: String,
    pub table: String,
    /// `paused`, `isolated` or `resyncing`.
    pub state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    pub pipeline: String,
    pub kind: String,
}

/// Every metric a running pipeline exports.
pub struct Metrics {
    pipeline: String,
    registry: Registry,
    rows: Family<RowLabels, Counter>,
    batches: Family<PipelineLabels, Counter>,
    batch_duration: Family<PipelineLabels, Histogram>,
    errors: Family<ErrorLabels, Counter>,
    checkpoint_age: Family<PipelineLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    lag: Family<PipelineLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    snapshot_rows: Family<TableLabels, Counter>,
    snapshot_tables_done: Family<PipelineLabels, Gauge>,
    table_state: Family<TableStateLabels, Gauge>,
    dead_letters: Family<OriginLabels, Counter>,
    rows_filtered: Family<TableLabels, Counter>,
    stale_keys: Family<TableLabels, Gauge>,
    /// Unix milliseconds of the last commit; 0 before the first.
    last_checkpoint_ms: AtomicI64,
}

impl Metrics {
    pub fn new(pipeline: &str) -> Arc<Self> {
        let mut registry = Registry::default();
        let rows = Family::<RowLabels, Counter>::default();
        let batches = Family::<PipelineLabels, Counter>::default();
        let batch_duration = Family::<PipelineLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.000_5, 2.0, 16))
        });
        let errors = Family::<ErrorLabels, Counter>::default();
        let checkpoint_age = Family::default();
        let lag = Family::default();
        let snapshot_rows = Family::<TableLabels, Counter>::default();
        let snapshot_tables_done = Family::<PipelineLabels, Gauge>::default();
        let table_state = Family::<TableStateLabels, Gauge>::default();
        let dead_letters = Family::<OriginLabels, Counter>::default();
        let rows_filtered = Family::<TableLabels, Counter>::default();
        let stale_keys = Family::<TableLabels, Gauge>::default();
        registry.register(
            ROWS,
            "Rows read from the source (in) and committed to the sink (out)",
            rows.clone(),
        );
        registry.register(BATCHES, "Batches committed to the sink", batches.clone());
        registry.register(
            BATCH_DURATION,
            "Time to write and commit one batch",
            batch_duration.clone(),
        );
        registry.register(
            ERRORS,
            "Errors by kind (source, sink, retries_exhausted)",
            errors.clone(),
        );
        registry.register(
            CHECKPOINT_AGE,
            "Seconds since the sink last committed a checkpoint",
            checkpoint_age.clone(),
        );
        registry.register(
            LAG,
            "Seconds from the source's commit to the sink's commit, for the newest batch",
            lag.clone(),
        );
        registry.register(
            SNAPSHOT_ROWS,
            "Rows copied by the initial snapshot, per table",
            snapshot_rows.clone(),
        );
        registry.register(
            SNAPSHOT_TABLES_DONE,
            "Tables the initial snapshot has copied completely",
            snapshot_tables_done.clone(),
        );
        registry.register(
            TABLE_STATE,
            "1 for each captured table that is not applied live (paused, isolated, resyncing)",
            table_state.clone(),
        );
        registry.register(
            DEAD_LETTERS,
            "Records that could not be applied and were kept as dead letters",
            dead_letters.clone(),
        );
        registry.register(
            ROWS_FILTERED,
            "Changes a transform's filter left out, per source table",
            rows_filtered.clone(),
        );
        registry.register(
            STALE_KEYS,
            "Keys silent for longer than their stale watch allows, per stale table",
            stale_keys.clone(),
        );
        Arc::new(Self {
            pipeline: pipeline.to_owned(),
            registry,
            rows,
            batches,
            batch_duration,
            errors,
            checkpoint_age,
            lag,
            snapshot_rows,
            snapshot_tables_done,
            table_state,
            dead_letters,
            rows_filtered,
            stale_keys,
            last_checkpoint_ms: AtomicI64::new(0),
        })
    }

    pub fn add_rows(&self, table: &str, op: &str, direction: &str, count: u64) {
        let labels = RowLabels {
            pipeline: self.pipeline.clone(),
            table: table.to_owned(),
            op: op.to_owned(),
            direction: direction.to_owned(),
        };
        self.rows.get_or_create(&labels).inc_by(count);
    }

    pub fn dead_letters(&self, origin: &str, count: u64) {
        let labels = OriginLabels {
            pipeline: self.pipeline.clone(),
            origin: origin.to_owned(),
        };
        self.dead_letters.get_or_create(&labels).inc_by(count);
    }

    pub fn rows_filtered(&self, table: &str, count: u64) {
        let labels = TableLabels {
            pipeline: self.pipeline.clone(),
            table: table.to_owned(),
        };
        self.rows_filtered.get_or_create(&labels).inc_by(count);
    }

    pub fn stale_keys(&self, table: &str, count: i64) {
        let labels = TableLabels {
            pipeline: self.pipeline.clone(),
            table: table.to_owned(),
        };
        self.stale_keys.get_or_create(&labels).set(count);
    }

    pub fn batch_committed(&self, seconds: f64) {
        let labels = self.pipeline_labels();
        self.batches.get_or_create(&labels).inc();
        self.batch_duration.get_or_create(&labels).observe(seconds);
        self.last_checkpoint_ms
            .store(unix_millis(), Ordering::Relaxed);
    }

    /// Records the lag of a batch whose newest transaction committed at
    /// `source_commit_micros` (Unix µs); returns it in seconds.
    pub fn batch_lag(&self, source_commit_micros: i64) -> f64 {
        let lag = (unix_millis() * 1000 - source_commit_micros).max(0) as f64 / 1e6;
        self.lag.get_or_create(&self.pipeline_labels()).set(lag);
        lag
    }

    /// Snapshot progress: `rows` more copied from `table`, `tables_done`
    /// tables complete.
    pub fn snapshot_progress(&self, table: &str, rows: u64, tables_done: usize) {
        let labels = TableLabels {
            pipeline: self.pipeline.clone(),
            table: table.to_owned(),
        };
        self.snapshot_rows.get_or_create(&labels).inc_by(rows);
        self.snapshot_tables_done
            .get_or_create(&self.pipeline_labels())
            .set(tables_done as i64);
    }

    /// Sets the per-table states to exactly `states` (tables absent are
    /// live again and leave the family).
    pub fn table_states(
        &self,
        states: &std::collections::BTreeMap<String, watershed_events::TableControl>,
    ) {
        self.table_state.clear();
        for (table, state) in states {
            let labels = TableStateLabels {
                pipeline: self.pipeline.clone(),
                table: table.clone(),
                state: state.name().to_owned(),
            };
            self.table_state.get_or_create(&labels).set(1);
        }
    }

    pub fn error(&self, kind: &str) {
        let labels = ErrorLabels {
            pipeline: self.pipeline.clone(),
            kind: kind.to_owned(),
        };
        self.errors.get_or_create(&labels).inc();
    }

    /// Prometheus text exposition of every metric.
    pub fn encode(&self) -> String {
        let last = self.last_checkpoint_ms.load(Ordering::Relaxed);
        if last > 0 {
            let age = (unix_millis() - last).max(0) as f64 / 1000.0;
            self.checkpoint_age
                .get_or_create(&self.pipeline_labels())
                .set(age);
        }
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }

    fn pipeline_labels(&self) -> PipelineLabels {
        PipelineLabels {
            pipeline: self.pipeline.clone(),
        }
    }
}

fn unix_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_use_prometheus_names() {
        let metrics = Metrics::new("hb");
        metrics.add_rows("heartbeat", "insert", "out", 5);
        metrics.batch_committed(0.01);
        metrics.error("sink");
        let two_seconds_ago = unix_millis() * 1000 - 2_000_000;
        let lag = metrics.batch_lag(two_seconds_ago);
        assert!((2.0..3.0).contains(&lag), "{lag}");
        let text = metrics.encode();
        for expected in [
            r#"watershed_rows_total{pipeline="hb",table="heartbeat",op="insert",direction="out"} 5"#,
            r#"watershed_batches_total{pipeline="hb"} 1"#,
            "watershed_batch_duration_seconds_bucket",
            r#"watershed_errors_total{pipeline="hb",kind="sink"} 1"#,
            "watershed_checkpoint_age_seconds{pipeline=\"hb\"}",
            "watershed_lag_seconds{pipeline=\"hb\"} 2.",
        ] {
            assert!(text.contains(expected), "missing {expected} in\n{text}");
        }
    }
}
