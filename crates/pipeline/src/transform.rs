//! The row transforms at run time: between the source and the batcher,
//! every change of a table that `transforms:` names goes through that
//! table's chain, compiled when the table's schema is first seen and again
//! whenever it changes. A rejected change becomes a dead letter in its
//! transaction (so it commits with the position past it, exactly once);
//! a schema change that breaks a transform stops the pipeline before
//! anything of the new shape is written.
//! Aggregates and stale watches see the transformed changes on the sink's
//! side (see `crate::derived`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value as Json;
use watershed_events::{
    Change, ColumnRename, DeadLetter, Event, SchemaChange, TableName, TableSchema, Timestamp,
};
use watershed_sinks::json::JsonRow;
use watershed_transforms::chain::{Chain, Outcome, StepSpec};
use watershed_transforms::expr::EvalContext;

use crate::config::{ChainProblem, MaskKey, PipelineConfig, TransformConfig, chain_for};
use crate::metrics::Metrics;

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
}

impl Transformer {
    /// `None` when the pipeline has no transforms.
    pub fn new(config: &PipelineConfig) -> Option<Transformer> {
        if config.transforms.is_empty() && config.aggregates.is_empty() && config.stale.is_empty() {
            return None;
        }
        Some(Transformer {
            masked_names: masked_names(&config.transforms),
            transforms: config.transforms.clone(),
            mask_key: config.mask_key.clone(),
            tables: HashMap::new(),
        })
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
                    out.extend(changes.into_iter().map(Event::Change));
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

pub(crate) fn now() -> Timestamp {
    let micros = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    Timestamp::from_micros(micros)
}

#[cfg(test)]
mod tests;
