//! Tables derived from the change stream — aggregates and stale-key
//! episodes — kept on the sink's side of the pipeline. Each batch's
//! changes (as the transforms left them) feed them as the batch is handed
//! to the sink; when the batch commits, the target rows of every group or
//! key it touched, and their state, go in before its final commit, so the
//! sink commits rows, state and position together. Working per batch, not
//! per source transaction, writes each touched group once per batch.
//! An attempt starts from the state the sink's last commit holds.

use std::sync::Arc;

use watershed_events::{
    Change, DeadLetter, Event, Position, SchemaChange, StateWrite, TableName, TableSchema,
};
use watershed_sinks::json::JsonRow;
use watershed_sinks::{Sink, SinkError};
use watershed_transforms::aggregate::{Aggregate, Finished};
use watershed_transforms::expr::EvalContext;
use watershed_transforms::stale::Watch;

use crate::config::{AggregateConfig, PipelineConfig, StaleConfig};
use crate::metrics::Metrics;
use crate::runtime::Progress;
use crate::transform::now;

/// What a keeper keeps, with the table shape it was compiled against.
type Bound<T> = (Arc<TableSchema>, T);

/// An aggregate or a watch, compiled once its table's shape is seen.
struct Keeper<T, C> {
    config: C,
    compiled: Option<Bound<T>>,
    /// The state the sink held when the attempt started.
    restored: Vec<(String, String)>,
    /// Its target table was announced to the sink in this attempt.
    announced: bool,
}

/// How an aggregate's or a watch's config builds what it keeps.
trait Recipe {
    type Kept;
    /// Whether it reads changes of `table`.
    fn reads(&self, table: &TableName) -> bool;
    fn compile(&self, input: &TableSchema) -> Result<Self::Kept, String>;
    fn rebind(&self, kept: Self::Kept, input: &TableSchema) -> Result<Self::Kept, String>;
    fn restore(kept: &mut Self::Kept, rows: &[(String, String)]) -> Result<(), String>;
}

impl Recipe for AggregateConfig {
    type Kept = Aggregate;
    fn reads(&self, table: &TableName) -> bool {
        AggregateConfig::reads(self, table)
    }
    fn compile(&self, input: &TableSchema) -> Result<Aggregate, String> {
        AggregateConfig::compile(self, input)
    }
    fn rebind(&self, kept: Aggregate, input: &TableSchema) -> Result<Aggregate, String> {
        AggregateConfig::rebind(self, kept, input)
    }
    fn restore(kept: &mut Aggregate, rows: &[(String, String)]) -> Result<(), String> {
        kept.restore(rows)
    }
}

impl Recipe for StaleConfig {
    type Kept = Watch;
    fn reads(&self, table: &TableName) -> bool {
        self.watches(table)
    }
    fn compile(&self, input: &TableSchema) -> Result<Watch, String> {
        StaleConfig::compile(self, input)
    }
    fn rebind(&self, kept: Watch, input: &TableSchema) -> Result<Watch, String> {
        StaleConfig::rebind(self, kept, input)
    }
    fn restore(kept: &mut Watch, rows: &[(String, String)]) -> Result<(), String> {
        kept.restore(rows)
    }
}

impl<C: Recipe + Clone> Keeper<C::Kept, C> {
    fn new(config: &C) -> Self {
        Self {
            config: config.clone(),
            compiled: None,
            restored: Vec::new(),
            announced: false,
        }
    }

    /// What it keeps, bound to the shape `change` was written under:
    /// compiled (with the restored state) on the first change, rebound
    /// when the shape changes; `None` when it does not read the table.
    fn bound(&mut self, change: &Change) -> Result<Option<&mut Bound<C::Kept>>, String> {
        if !self.config.reads(&change.table.name) {
            return Ok(None);
        }
        let table = &change.table;
        let current = match self.compiled.take() {
            Some((input, kept)) if Arc::ptr_eq(&input, table) || input == *table => (input, kept),
            Some((_, kept)) => (table.clone(), self.config.rebind(kept, table)?),
            None => {
                let mut kept = self.config.compile(table)?;
                C::restore(&mut kept, &std::mem::take(&mut self.restored))?;
                (table.clone(), kept)
            }
        };
        Ok(Some(self.compiled.insert(current)))
    }
}

/// The pipeline's aggregates and stale watches.
pub struct Derived {
    aggregates: Vec<Keeper<Aggregate, AggregateConfig>>,
    watches: Vec<Keeper<Watch, StaleConfig>>,
    /// The position the sink holds: where wall-clock episodes commit
    /// between batches.
    committed: Option<Position>,
}

impl Derived {
    /// `None` when the pipeline keeps neither.
    pub fn new(config: &PipelineConfig) -> Option<Derived> {
        if config.aggregates.is_empty() && config.stale.is_empty() {
            return None;
        }
        Some(Derived {
            aggregates: config.aggregates.iter().map(Keeper::new).collect(),
            watches: config.stale.iter().map(Keeper::new).collect(),
            committed: None,
        })
    }

    /// Reads the state the sink's last commit left.
    pub async fn load<K: Sink>(&mut self, sink: &mut K) -> Result<(), SinkError> {
        for aggregate in &mut self.aggregates {
            aggregate.restored = sink.load_state(&aggregate.config.scope()).await?;
        }
        for watch in &mut self.watches {
            watch.restored = sink.load_state(&watch.config.scope()).await?;
        }
        Ok(())
    }

    /// Feeds the changes among `events` (about to be written) to the
    /// aggregates and watches; rows an aggregate refuses (late ones) are
    /// added as dead letters.
    pub fn feed(&mut self, events: &mut Vec<Event>) -> Result<(), String> {
        let cx = EvalContext { now: now() };
        let mut letters = Vec::new();
        for event in events.iter() {
            let Event::Change(change) = event else {
                continue;
            };
            self.aggregate(change, &cx, &mut letters)?;
            self.watch(change, cx.now.micros)?;
        }
        if !letters.is_empty() {
            events.splice(before_commit(events), letters);
        }
        Ok(())
    }

    /// At a batch's commit: the target rows of the groups and keys it
    /// touched, and their state, inserted before its final commit.
    pub fn finish(&mut self, events: &mut Vec<Event>) {
        let mut out = Vec::new();
        let now = now().micros;
        for keeper in &mut self.aggregates {
            if let Some((_, aggregate)) = &mut keeper.compiled {
                let finished = aggregate.finish();
                let scope = keeper.config.scope();
                emit(
                    finished,
                    aggregate.output(),
                    &scope,
                    &mut keeper.announced,
                    &mut out,
                );
            }
        }
        self.finish_watches(now, false, &mut out);
        events.splice(before_commit(events), out);
    }

    /// The watches' episodes and state as the clock stands at `now`;
    /// only those on the wall clock with `wall_only`.
    fn finish_watches(&mut self, now: i64, wall_only: bool, out: &mut Vec<Event>) {
        for keeper in &mut self.watches {
            if wall_only && keeper.config.clock != "wall" {
                continue;
            }
            if let Some((_, watch)) = &mut keeper.compiled {
                let finished = watch.finish(now);
                let scope = keeper.config.scope();
                emit(finished, watch.output(), &scope, &mut keeper.announced, out);
            }
        }
    }

    /// The position the sink's last commit recorded.
    pub fn committed(&self) -> Option<&Position> {
        self.committed.as_ref()
    }

    pub fn set_committed(&mut self, position: Option<Position>) {
        self.committed = position;
    }

    /// Whether some watch judges silence by the wall clock.
    pub fn needs_ticks(&self) -> bool {
        self.watches.iter().any(|k| k.config.clock == "wall")
    }

    /// Between batches: the wall clock moved on; the episodes it opens
    /// and their state, to commit at the position already committed.
    pub fn tick(&mut self) -> Vec<Event> {
        let mut out = Vec::new();
        self.finish_watches(now().micros, true, &mut out);
        out
    }

    /// Shows the stale keys on `/metrics` and `/api/status`.
    pub fn publish(&self, metrics: &Metrics, progress: &Progress) {
        for keeper in &self.watches {
            if let Some((_, watch)) = &keeper.compiled {
                let (count, keys) = watch.stale_keys(100);
                metrics.stale_keys(&keeper.config.table, count as i64);
                progress.set_stale(&keeper.config.table, count, keys);
            }
        }
    }

    fn aggregate(
        &mut self,
        change: &Change,
        cx: &EvalContext,
        letters: &mut Vec<Event>,
    ) -> Result<(), String> {
        for keeper in &mut self.aggregates {
            let Some((input, aggregate)) = keeper.bound(change)? else {
                continue;
            };
            let refused = aggregate.apply(change, cx);
            if refused.is_empty() {
                continue;
            }
            let input = input.clone();
            for refused in refused {
                let value = serde_json::to_vec(&JsonRow {
                    schema: &input,
                    row: &refused.row,
                })
                .ok();
                letters.push(Event::DeadLetter(DeadLetter {
                    origin: change.table.name.to_string(),
                    partition: -1,
                    offset: -1,
                    key: None,
                    value: value.map(Arc::from),
                    error: format!("aggregate {}: {}", keeper.config.spec.name, refused.reason),
                }));
            }
        }
        Ok(())
    }

    fn watch(&mut self, change: &Change, now: i64) -> Result<(), String> {
        for keeper in &mut self.watches {
            if let Some((_, watch)) = keeper.bound(change)? {
                watch.apply(change, now);
            }
        }
        Ok(())
    }
}

/// Where to insert into a batch: before its last commit, if it ends
/// with one.
fn before_commit(events: &[Event]) -> std::ops::Range<usize> {
    let at = match events.last() {
        Some(Event::Commit(_)) => events.len() - 1,
        _ => events.len(),
    };
    at..at
}

/// A keeper's rows and state as events; its table is announced first.
fn emit(
    finished: Finished,
    output: &Arc<TableSchema>,
    scope: &str,
    announced: &mut bool,
    out: &mut Vec<Event>,
) {
    if !finished.changes.is_empty() && !*announced {
        out.push(Event::Schema(SchemaChange::new(output.clone())));
        *announced = true;
    }
    out.extend(finished.changes.into_iter().map(Event::Change));
    out.extend(finished.state.into_iter().map(|(key, value)| {
        Event::State(StateWrite {
            scope: scope.to_owned(),
            key,
            value,
        })
    }));
}

#[cfg(test)]
mod tests;
