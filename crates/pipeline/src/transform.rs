//! The row transforms at run time: between the source and the batcher,
//! every change of a table that `transforms:` names goes through that
//! table's chain, compiled when the table's schema is first seen and again
//! whenever it changes. A rejected change becomes a dead letter in its
//! transaction (so it commits with the position past it, exactly once);
//! a schema change that breaks a transform stops the pipeline before
//! anything of the new shape is written.
//!
//! Aggregates then see the transformed changes; at each transaction's
//! commit they add the target rows of the groups it touched and their
//! state, so the sink commits rows, state and position together. Their
//! state is read back from the sink when an attempt starts.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value as Json;
use watershed_events::{
    Change, ColumnRename, DeadLetter, Event, SchemaChange, StateWrite, TableName, TableSchema,
    Timestamp,
};
use watershed_sinks::json::JsonRow;
use watershed_sinks::{Sink, SinkError};
use watershed_transforms::aggregate::Aggregate;
use watershed_transforms::chain::{Chain, Outcome, StepSpec};
use watershed_transforms::expr::EvalContext;
use watershed_transforms::stale::Watch;

use crate::config::{
    AggregateConfig, ChainProblem, MaskKey, PipelineConfig, StaleConfig, TransformConfig, chain_for,
};
use crate::metrics::Metrics;
use crate::runtime::Progress;

/// One `stale:` watch, compiled once its table's shape is seen.
struct Watching {
    config: StaleConfig,
    compiled: Option<(Arc<TableSchema>, Watch)>,
    restored: Vec<(String, String)>,
    announced: bool,
}

/// One aggregate: compiled once its table's (transformed) shape is seen,
/// with the state the sink held when the attempt started.
struct Aggregating {
    config: AggregateConfig,
    compiled: Option<(Arc<TableSchema>, Aggregate)>,
    restored: Vec<(String, String)>,
    /// Its target table was announced to the sink in this attempt.
    announced: bool,
}

/// A table's input schema and its compiled chain (`None`: no transform
/// applies, its changes pass unchanged).
struct Compiled {
    input: Arc<TableSchema>,
    chain: Option<Arc<Chain>>,
}

/// The transforms of one pipeline, with their chains per table.
pub struct Transformer {
    transforms: Vec<TransformConfig>,
    mask_key: Option<MaskKey>,
    tables: HashMap<TableName, Compiled>,
    /// Field names a masked column may carry in a raw record (its names
    /// before and after renames): scrubbed from dead letters the source
    /// made of records it could not read.
    masked_names: Vec<String>,
    aggregates: Vec<Aggregating>,
    watches: Vec<Watching>,
}

impl Transformer {
    /// `None` when the pipeline has no transforms or aggregates.
    pub fn new(config: &PipelineConfig) -> Option<Transformer> {
        if config.transforms.is_empty() && config.aggregates.is_empty() && config.stale.is_empty() {
            return None;
        }
        Some(Transformer {
            masked_names: masked_names(&config.transforms),
            transforms: config.transforms.clone(),
            mask_key: config.mask_key.clone(),
            tables: HashMap::new(),
            aggregates: config
                .aggregates
                .iter()
                .map(|config| Aggregating {
                    config: config.clone(),
                    compiled: None,
                    restored: Vec::new(),
                    announced: false,
                })
                .collect(),
            watches: config
                .stale
                .iter()
                .map(|config| Watching {
                    config: config.clone(),
                    compiled: None,
                    restored: Vec::new(),
                    announced: false,
                })
                .collect(),
        })
    }

    /// Reads the aggregates' and watches' state as the sink's last commit
    /// left it.
    pub async fn load<K: Sink>(&mut self, sink: &mut K) -> Result<(), SinkError> {
        for aggregate in &mut self.aggregates {
            aggregate.restored = sink.load_state(&aggregate.config.scope()).await?;
        }
        for watch in &mut self.watches {
            watch.restored = sink.load_state(&watch.config.scope()).await?;
        }
        Ok(())
    }

    /// Shows the stale keys on `/metrics` and `/api/status`.
    pub fn publish(&self, metrics: &Metrics, progress: &Progress) {
        for watching in &self.watches {
            if let Some((_, watch)) = &watching.compiled {
                let (count, keys) = watch.stale_keys(100);
                metrics.stale_keys(&watching.config.table, count as i64);
                progress.set_stale(&watching.config.table, count, keys);
            }
        }
    }

    /// Passes a chunk of events through the transforms. A table whose
    /// chain no longer compiles (a column a transform uses was dropped)
    /// is a configuration problem: nothing of the chunk is kept.
    pub fn apply(&mut self, events: Vec<Event>, metrics: &Metrics) -> Result<Vec<Event>, String> {
        let cx = EvalContext { now: now() };
        let mut out = Vec::with_capacity(events.len());
        let mut filtered: HashMap<String, u64> = HashMap::new();
        for event in events {
            match event {
                Event::Change(change) => {
                    let source = change.table.name.clone();
                    let changes = match self.chain(&change.table).map_err(|p| p.to_string())? {
                        None => vec![change],
                        Some(chain) => match chain.apply(&change, &cx) {
                            Outcome::Changes(changes) => {
                                if changes.is_empty() {
                                    *filtered.entry(source.to_string()).or_default() += 1;
                                }
                                changes
                            }
                            Outcome::Rejected { reason } => {
                                out.push(Event::DeadLetter(rejected(&change, &chain, reason)));
                                continue;
                            }
                        },
                    };
                    for change in &changes {
                        self.aggregate(&source, change, &cx, &mut out)?;
                        self.watch(&source, change, cx.now.micros)?;
                    }
                    out.extend(changes.into_iter().map(Event::Change));
                }
                Event::Commit(commit) => {
                    self.finish_aggregates(&mut out);
                    self.finish_watches(cx.now.micros, &mut out);
                    out.push(Event::Commit(commit));
                }
                Event::Schema(schema) => {
                    out.push(Event::Schema(
                        self.schema(schema).map_err(|p| p.to_string())?,
                    ));
                }
                Event::DeadLetter(letter) => out.push(Event::DeadLetter(self.scrub(letter))),
                other => out.push(other),
            }
        }
        for (table, n) in filtered {
            metrics.rows_filtered(&table, n);
        }
        Ok(out)
    }

    /// Feeds a (transformed) change of `source` to the aggregates that
    /// read it; rows they refuse (late ones) become dead letters.
    fn aggregate(
        &mut self,
        source: &TableName,
        change: &Change,
        cx: &EvalContext,
        out: &mut Vec<Event>,
    ) -> Result<(), String> {
        for aggregating in &mut self.aggregates {
            if !aggregating.config.reads(source) {
                continue;
            }
            let current = match aggregating.compiled.take() {
                Some((input, aggregate))
                    if Arc::ptr_eq(&input, &change.table) || input == change.table =>
                {
                    (input, aggregate)
                }
                Some((_, aggregate)) => (
                    change.table.clone(),
                    aggregating.config.rebind(aggregate, &change.table)?,
                ),
                None => {
                    let mut aggregate = aggregating.config.compile(&change.table)?;
                    aggregate.restore(&std::mem::take(&mut aggregating.restored))?;
                    (change.table.clone(), aggregate)
                }
            };
            let (input, aggregate) = aggregating.compiled.insert(current);
            for refused in aggregate.apply(change, cx) {
                let value = serde_json::to_vec(&JsonRow {
                    schema: input,
                    row: &refused.row,
                })
                .ok();
                out.push(Event::DeadLetter(DeadLetter {
                    origin: source.to_string(),
                    partition: -1,
                    offset: -1,
                    key: None,
                    value: value.map(Arc::from),
                    error: format!(
                        "aggregate {}: {}",
                        aggregating.config.spec.name, refused.reason
                    ),
                }));
            }
        }
        Ok(())
    }

    /// Notes a (transformed) change of `source` in the watches on it.
    fn watch(&mut self, source: &TableName, change: &Change, now: i64) -> Result<(), String> {
        for watching in &mut self.watches {
            if !watching.config.watches(source) {
                continue;
            }
            let current = match watching.compiled.take() {
                Some((input, watch))
                    if Arc::ptr_eq(&input, &change.table) || input == change.table =>
                {
                    (input, watch)
                }
                Some((_, watch)) => (
                    change.table.clone(),
                    watching.config.rebind(watch, &change.table)?,
                ),
                None => {
                    let mut watch = watching.config.compile(&change.table)?;
                    watch.restore(&std::mem::take(&mut watching.restored))?;
                    (change.table.clone(), watch)
                }
            };
            let (_, watch) = watching.compiled.insert(current);
            watch.apply(change, now);
        }
        Ok(())
    }

    /// At a transaction's commit: stale episodes opened or closed, and
    /// the watches' state.
    fn finish_watches(&mut self, now: i64, out: &mut Vec<Event>) {
        for watching in &mut self.watches {
            let Some((_, watch)) = &mut watching.compiled else {
                continue;
            };
            let finished = watch.finish(now);
            if !finished.changes.is_empty() && !watching.announced {
                out.push(Event::Schema(SchemaChange::new(watch.output().clone())));
                watching.announced = true;
            }
            out.extend(finished.changes.into_iter().map(Event::Change));
            let scope = watching.config.scope();
            out.extend(finished.state.into_iter().map(|(key, value)| {
                Event::State(StateWrite {
                    scope: scope.clone(),
                    key,
                    value,
                })
            }));
        }
    }

    /// At a transaction's commit: the aggregates' target rows and state.
    fn finish_aggregates(&mut self, out: &mut Vec<Event>) {
        for aggregating in &mut self.aggregates {
            let Some((_, aggregate)) = &mut aggregating.compiled else {
                continue;
            };
            let finished = aggregate.finish();
            if !finished.changes.is_empty() && !aggregating.announced {
                out.push(Event::Schema(SchemaChange::new(aggregate.output().clone())));
                aggregating.announced = true;
            }
            out.extend(finished.changes.into_iter().map(Event::Change));
            let scope = aggregating.config.scope();
            out.extend(finished.state.into_iter().map(|(key, value)| {
                Event::State(StateWrite {
                    scope: scope.clone(),
                    key,
                    value,
                })
            }));
        }
    }

    /// The chain for changes written under `table`, compiled once per
    /// schema version.
    fn chain(&mut self, table: &Arc<TableSchema>) -> Result<Option<Arc<Chain>>, ChainProblem> {
        if let Some(compiled) = self.tables.get(&table.name)
            && (Arc::ptr_eq(&compiled.input, table) || compiled.input == *table)
        {
            return Ok(compiled.chain.clone());
        }
        let chain = chain_for(&self.transforms, table, self.mask_key.as_ref())?.map(Arc::new);
        self.tables.insert(
            table.name.clone(),
            Compiled {
                input: table.clone(),
                chain: chain.clone(),
            },
        );
        Ok(chain)
    }

    /// A schema change as the target sees it: the chain's output shape.
    fn schema(&mut self, mut change: SchemaChange) -> Result<SchemaChange, ChainProblem> {
        let chain = if change.dropped {
            // A dropped table's last shape may no longer suit the
            // transforms; the target drops what it last received.
            match self.tables.remove(&change.table.name) {
                Some(Compiled {
                    chain: Some(chain), ..
                }) => Some(chain),
                Some(Compiled { chain: None, .. }) => None,
                None => self.chain(&change.table).ok().flatten(),
            }
        } else {
            self.chain(&change.table)?
        };
        let Some(chain) = chain else {
            return Ok(change);
        };
        let output = chain.output();
        change
            .renamed_columns
            .retain(|ColumnRename { to, .. }| output.columns.iter().any(|c| c.name == *to));
        change.table = output.clone();
        Ok(change)
    }

    /// A dead letter the source made (a record it could not read) with
    /// every field a mask hides replaced, or its value withheld when it is
    /// not JSON and masks are configured.
    fn scrub(&self, mut letter: DeadLetter) -> DeadLetter {
        if self.masked_names.is_empty() {
            return letter;
        }
        let mut withheld = false;
        for part in [&mut letter.key, &mut letter.value] {
            let Some(bytes) = part.as_ref() else { continue };
            match serde_json::from_slice::<Json>(bytes) {
                Ok(mut json) => {
                    if redact_fields(&mut json, &self.masked_names) {
                        *part = serde_json::to_vec(&json).ok().map(Arc::from);
                    }
                }
                Err(_) => {
                    *part = None;
                    withheld = true;
                }
            }
        }
        if withheld {
            letter
                .error
                .push_str(" (record withheld: it is not JSON and the pipeline masks columns)");
        }
        letter
    }
}

/// Replaces, at any depth, the values of fields named in `names` with
/// `***`; whether anything was replaced.
fn redact_fields(json: &mut Json, names: &[String]) -> bool {
    match json {
        Json::Object(map) => {
            let mut changed = false;
            for (key, value) in map.iter_mut() {
                if names.iter().any(|n| n == key) && !value.is_null() {
                    *value = Json::String("***".into());
                    changed = true;
                } else {
                    changed |= redact_fields(value, names);
                }
            }
            changed
        }
        Json::Array(items) => items
            .iter_mut()
            .fold(false, |changed, item| redact_fields(item, names) | changed),
        _ => false,
    }
}

/// The names masked columns go by anywhere in the transforms, followed
/// back through renames to the names a source record uses.
fn masked_names(transforms: &[TransformConfig]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for transform in transforms {
        for step in &transform.steps {
            if let StepSpec::Mask(columns) = step {
                names.extend(columns.iter().map(|(c, _)| c.clone()));
            }
        }
    }
    loop {
        let mut grew = false;
        for transform in transforms {
            for step in &transform.steps {
                let StepSpec::Rename(pairs) = step else {
                    continue;
                };
                for (from, to) in pairs {
                    if names.contains(to) && !names.contains(from) {
                        names.push(from.clone());
                        grew = true;
                    }
                }
            }
        }
        if !grew {
            return names;
        }
    }
}

/// The dead letter of a change the chain refused: the row as the source
/// sent it, with every masked column masked, keyed by its primary key.
fn rejected(change: &Change, chain: &Chain, reason: String) -> DeadLetter {
    let schema = &change.table;
    let row = change.after.as_ref().or(change.before.as_ref());
    let (key, value) = match row {
        Some(row) => {
            let shown = chain.redact_input(row);
            let key_schema = TableSchema {
                columns: schema
                    .primary_key
                    .iter()
                    .filter_map(|k| schema.column_index(k).map(|i| schema.columns[i].clone()))
                    .collect(),
                ..TableSchema::clone(schema)
            };
            let key_row: Vec<_> = schema
                .primary_key
                .iter()
                .filter_map(|k| schema.column_index(k).map(|i| shown[i].clone()))
                .collect();
            let key = serde_json::to_vec(&JsonRow {
                schema: &key_schema,
                row: &key_row,
            })
            .ok();
            let value = serde_json::to_vec(&JsonRow {
                schema,
                row: &shown,
            })
            .ok();
            (key, value)
        }
        None => (None, None),
    };
    DeadLetter {
        origin: schema.name.to_string(),
        // Not from a partitioned log: the change is known by its table
        // and key.
        partition: -1,
        offset: -1,
        key: key.map(Arc::from),
        value: value.map(Arc::from),
        error: reason,
    }
}

fn now() -> Timestamp {
    let micros = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    Timestamp::from_micros(micros)
}

#[cfg(test)]
mod tests;
