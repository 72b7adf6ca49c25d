//! Watching keys for silence: per key (a customer), the newest event time
//! seen. When the stream's clock — the newest event time across all keys,
//! or the wall clock — passes a key's last event by `after`, the key is
//! stale: a row (key, last_seen, detected_at) goes into the target table;
//! when the key sends again, that row gets `cleared_at`. Like aggregates,
//! the state is handed out at each commit, for the sink to keep with the
//! batch, and read back when the pipeline starts.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use serde_json::{Value as Json, json};
use watershed_events::{Change, ChangeOp, Column, LogicalType, Row, TableName, TableSchema};

use crate::aggregate::Finished;
use crate::expr::datum::{Datum, Type};

/// `stale: { <table>: { key, on, after, table, clock } }` as written
/// (`after` in microseconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleSpec {
    /// The key column.
    pub key: String,
    /// The event-time column.
    pub on: String,
    pub after: i64,
    /// The target table of stale episodes.
    pub table: String,
    /// Judge silence by the wall clock rather than the stream's.
    pub wall_clock: bool,
}

/// Why a watch cannot be built: the key at fault and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct StaleError {
    pub key: String,
    pub message: String,
}

/// A key gone silent, for status pages.
#[derive(Debug, Clone, PartialEq)]
pub struct StaleKey {
    pub key: String,
    pub last_seen: i64,
    pub detected_at: i64,
}

struct Watched {
    key: Datum,
    last_seen: i64,
    /// When it was found stale, while it is.
    stale_since: Option<i64>,
}

/// A compiled watch with its keys.
pub struct Watch {
    spec: StaleSpec,
    output: Arc<TableSchema>,
    key: (usize, Type),
    on: usize,
    keys: HashMap<String, Watched>,
    /// Keys not stale, by last event time: the next to go stale first.
    quiet: BTreeSet<(i64, String)>,
    clock: Option<i64>,
    clock_moved: bool,
    /// Keys changed since the last commit.
    touched: BTreeSet<String>,
    /// Stale rows to write at the commit: (key, cleared_at).
    changes: Vec<Change>,
}

const CLOCK_KEY: &str = "_clock";

impl Watch {
    pub fn compile(spec: &StaleSpec, input: &TableSchema) -> Result<Watch, StaleError> {
        let error = |key: &str, message: String| StaleError {
            key: key.to_owned(),
            message,
        };
        let key = input.column_index(&spec.key).ok_or_else(|| {
            error(
                "key",
                format!("no column `{}` in table {}", spec.key, input.name),
            )
        })?;
        let key_type = Type::of(&input.columns[key].logical_type)
            .filter(|t| !matches!(t, Type::Interval | Type::Null))
            .ok_or_else(|| error("key", format!("column `{}` cannot be a key", spec.key)))?;
        let on = input.column_index(&spec.on).ok_or_else(|| {
            error(
                "on",
                format!("no column `{}` in table {}", spec.on, input.name),
            )
        })?;
        if !matches!(
            Type::of(&input.columns[on].logical_type),
            Some(Type::Timestamp | Type::DateTime)
        ) {
            return Err(error(
                "on",
                format!("`{}` is not a timestamp column", spec.on),
            ));
        }
        let time = LogicalType::Timestamp { fsp: 6 };
        let mut key_column = input.columns[key].clone();
        key_column.nullable = false;
        let output = TableSchema {
            name: TableName::new(None, &spec.table),
            columns: vec![
                key_column,
                Column::new("last_seen", time.clone(), false),
                Column::new("detected_at", time.clone(), false),
                Column::new("cleared_at", time, true),
            ],
            primary_key: vec![spec.key.clone(), "last_seen".into()],
            indexes: vec![],
            version: 1,
            foreign_keys: vec![],
            comment: Some(format!("keys of {} gone silent (watershed)", input.name)),
        };
        Ok(Watch {
            spec: spec.clone(),
            output: Arc::new(output),
            key: (key, key_type),
            on,
            keys: HashMap::new(),
            quiet: BTreeSet::new(),
            clock: None,
            clock_moved: false,
            touched: BTreeSet::new(),
            changes: Vec::new(),
        })
    }

    /// The watch compiled against a new shape of its table, its keys kept.
    pub fn rebind(self, input: &TableSchema) -> Result<Watch, StaleError> {
        let mut next = Watch::compile(&self.spec, input)?;
        next.keys = self.keys;
        next.quiet = self.quiet;
        next.clock = self.clock;
        next.clock_moved = self.clock_moved;
        next.touched = self.touched;
        next.changes = self.changes;
        Ok(next)
    }

    pub fn output(&self) -> &Arc<TableSchema> {
        &self.output
    }

    /// Notes a change's new row: its key was heard at its event time.
    /// The clock moves first, so keys it leaves behind are found at this
    /// very event (the result does not depend on how the stream is cut
    /// into transactions). Rows without a key or a time are not counted.
    pub fn apply(&mut self, change: &Change, now: i64) {
        if matches!(change.op, ChangeOp::Delete | ChangeOp::Truncate) {
            return;
        }
        let Some(row) = &change.after else { return };
        let key = row
            .get(self.key.0)
            .and_then(Datum::from_value)
            .unwrap_or(Datum::Null);
        let Some(t) = row
            .get(self.on)
            .and_then(Datum::from_value)
            .and_then(|d| d.to_micros())
        else {
            return;
        };
        if matches!(key, Datum::Null) {
            return;
        }
        self.advance(if self.spec.wall_clock { now } else { t });
        let name = crate::aggregate::encode_key(&key);
        let watched = self.keys.entry(name.clone()).or_insert(Watched {
            key,
            last_seen: i64::MIN,
            stale_since: None,
        });
        if let Some(detected_at) = watched.stale_since.take() {
            // Heard again: the episode ends when it sent.
            let cleared_at = if self.spec.wall_clock { now } else { t };
            self.changes.push(episode(
                &self.output,
                watched,
                detected_at,
                Some(cleared_at),
            ));
        }
        if t > watched.last_seen {
            self.quiet.remove(&(watched.last_seen, name.clone()));
            watched.last_seen = t;
        }
        self.quiet.insert((watched.last_seen, name.clone()));
        self.touched.insert(name);
    }

    /// Moves the clock to `clock` (never back) and opens an episode for
    /// every key it leaves behind by more than `after`.
    fn advance(&mut self, clock: i64) {
        if self.clock.is_some_and(|c| clock <= c) {
            return;
        }
        self.clock = Some(clock);
        self.clock_moved = true;
        while let Some((last_seen, name)) = self.quiet.first().cloned() {
            if last_seen.saturating_add(self.spec.after) >= clock {
                break;
            }
            self.quiet.pop_first();
            if let Some(watched) = self.keys.get_mut(&name) {
                watched.stale_since = Some(clock);
                self.changes
                    .push(episode(&self.output, watched, clock, None));
                self.touched.insert(name);
            }
        }
    }

    /// At a commit: the wall clock moves on (with `clock: wall`); returns
    /// the target rows and the state to write.
    pub fn finish(&mut self, now: i64) -> Finished {
        if self.spec.wall_clock {
            self.advance(now);
        }
        let mut finished = Finished {
            changes: std::mem::take(&mut self.changes),
            state: Vec::new(),
        };
        for name in std::mem::take(&mut self.touched) {
            if let Some(watched) = self.keys.get(&name) {
                let value = json!({
                    "k": crate::aggregate::encode_datum(&watched.key),
                    "t": watched.last_seen,
                    "s": watched.stale_since,
                });
                finished.state.push((name, Some(value.to_string())));
            }
        }
        if std::mem::take(&mut self.clock_moved)
            && let Some(clock) = self.clock
        {
            finished
                .state
                .push((CLOCK_KEY.to_owned(), Some(clock.to_string())));
        }
        finished
    }

    /// Brings back the state [`Watch::finish`] handed out.
    pub fn restore(&mut self, rows: &[(String, String)]) -> Result<(), String> {
        let bad = |key: &str| format!("stale {}: unreadable state for {key}", self.spec.table);
        for (name, value) in rows {
            if name == CLOCK_KEY {
                self.clock = Some(value.parse().map_err(|_| bad(name))?);
                continue;
            }
            let json: Json = serde_json::from_str(value).map_err(|_| bad(name))?;
            let key = json
                .get("k")
                .and_then(|k| crate::aggregate::decode_datum(k, self.key.1))
                .ok_or_else(|| bad(name))?;
            let last_seen = json
                .get("t")
                .and_then(Json::as_i64)
                .ok_or_else(|| bad(name))?;
            let stale_since = json.get("s").and_then(Json::as_i64);
            if stale_since.is_none() {
                self.quiet.insert((last_seen, name.clone()));
            }
            self.keys.insert(
                name.clone(),
                Watched {
                    key,
                    last_seen,
                    stale_since,
                },
            );
        }
        Ok(())
    }

    /// Keys stale now, oldest silence first, at most `limit`, and how
    /// many there are.
    pub fn stale_keys(&self, limit: usize) -> (usize, Vec<StaleKey>) {
        let mut stale: Vec<StaleKey> = self
            .keys
            .values()
            .filter_map(|w| {
                Some(StaleKey {
                    key: crate::aggregate::show_datum(&w.key),
                    last_seen: w.last_seen,
                    detected_at: w.stale_since?,
                })
            })
            .collect();
        let count = stale.len();
        stale.sort_by(|a, b| a.last_seen.cmp(&b.last_seen).then(a.key.cmp(&b.key)));
        stale.truncate(limit);
        (count, stale)
    }
}

/// A stale episode's target row: opened (`cleared_at` NULL) or closed.
fn episode(
    output: &Arc<TableSchema>,
    watched: &Watched,
    detected_at: i64,
    cleared_at: Option<i64>,
) -> Change {
    let at = |micros: i64| Datum::Timestamp(micros).into_value();
    let row: Row = vec![
        watched.key.clone().into_value(),
        at(watched.last_seen),
        at(detected_at),
        cleared_at.map_or(watershed_events::Value::Null, at),
    ];
    match cleared_at {
        None => Change::insert(output.clone(), row),
        Some(_) => Change::update(output.clone(), row.clone(), row),
    }
}

#[cfg(test)]
mod tests;
