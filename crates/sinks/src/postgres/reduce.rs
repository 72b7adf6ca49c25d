//! Reducing a run of one table's changes to what the target must do.
//!
//! With a primary key, only the last change per key matters: an insert,
//! update and delete of one key in one batch is one delete; an update that
//! changes the key deletes the old key and upserts the new one. Without a
//! key, rows are a multiset: each distinct row image nets its inserts
//! against its deletes (an update is a delete of the old image and an
//! insert of the new), which equals applying them in order as long as the
//! target holds what the source held.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use watershed_events::{Change, ChangeOp, Value};

/// What one key (or one distinct keyless row) comes to.
#[derive(Debug)]
pub(crate) struct Outcome<'a> {
    /// The row to write: the after image for upserts, the before image
    /// (only its key columns matter) for keyed deletes, the whole image
    /// for keyless rows.
    pub row: Cow<'a, [Value]>,
    /// The last change's operation.
    pub op: ChangeOp,
    /// Index of the transaction of the last change (for metadata).
    pub tx: u32,
    /// Keyed: 1 for an upsert, -1 for a delete. Keyless: the net number
    /// of copies to insert (positive) or delete (negative).
    pub count: i64,
    /// The key's first change in the batch was an insert: the source did
    /// not have the key before, so neither should the target (unless a
    /// snapshot overlaps), and a plain insert may be tried.
    pub fresh: bool,
}

impl Outcome<'_> {
    pub(crate) fn is_delete(&self) -> bool {
        self.count < 0
    }

    /// True when the row still holds values the source did not send.
    pub(crate) fn has_unchanged(&self) -> bool {
        self.row.iter().any(|v| matches!(v, Value::Unchanged))
    }
}

/// A table's changes reduced, in order of each key's first appearance.
///
/// A keyed run of nothing but inserts (a snapshot, an append-only table)
/// is kept as it came, without hashing a key per row: a source cannot
/// insert one key twice without deleting it between, and the one case
/// where it may (a snapshot overlapping the stream) shows up as a unique
/// violation of the direct COPY, after which [`Reduced::index`] reduces
/// the run for real.
#[derive(Debug, Default)]
pub(crate) struct Reduced<'a> {
    pub outcomes: Vec<Outcome<'a>>,
    index: HashMap<Key, usize>,
    /// `index` holds every keyed outcome (false while only inserts came).
    indexed: bool,
}

/// A change without the row image its operation needs.
#[derive(Debug)]
pub(crate) struct MissingImage(pub ChangeOp);

impl<'a> Reduced<'a> {
    /// Adds a change to a table keyed by the columns at `key`.
    pub(crate) fn push_keyed(
        &mut self,
        change: &'a Change,
        key: &[usize],
        tx: u32,
    ) -> Result<(), MissingImage> {
        let missing = || MissingImage(change.op);
        if !self.indexed && change.op != ChangeOp::Insert {
            self.index(key);
        }
        match change.op {
            ChangeOp::Insert if !self.indexed => {
                let after = change.after.as_deref().ok_or_else(missing)?;
                self.outcomes.push(Outcome {
                    row: after.into(),
                    op: ChangeOp::Insert,
                    tx,
                    count: 1,
                    fresh: true,
                });
            }
            ChangeOp::Insert => {
                let after = change.after.as_deref().ok_or_else(missing)?;
                self.set(Key::of(after, key), after.into(), change.op, tx, 1);
            }
            ChangeOp::Update => {
                let after = change.after.as_deref().ok_or_else(missing)?;
                let new_key = Key::of(after, key);
                let old_key = change.before.as_deref().map(|before| Key::of(before, key));
                let row = self.fill_unchanged(after, old_key.as_ref().unwrap_or(&new_key));
                if let (Some(old_key), Some(before)) = (old_key, change.before.as_deref())
                    && old_key != new_key
                {
                    self.set(old_key, before.into(), ChangeOp::Delete, tx, -1);
                }
                self.set(new_key, row, change.op, tx, 1);
            }
            ChangeOp::Delete => {
                let before = change.before.as_deref().ok_or_else(missing)?;
                self.set(Key::of(before, key), before.into(), change.op, tx, -1);
            }
            ChangeOp::Truncate => {}
        }
        Ok(())
    }

    /// Adds a change to a table without a key: nets row images.
    pub(crate) fn push_keyless(&mut self, change: &'a Change, tx: u32) -> Result<(), MissingImage> {
        let missing = || MissingImage(change.op);
        if matches!(change.op, ChangeOp::Update | ChangeOp::Delete) {
            let before = change.before.as_deref().ok_or_else(missing)?;
            self.add(before.into(), change.op, tx, -1);
        }
        if matches!(change.op, ChangeOp::Insert | ChangeOp::Update) {
            let after = change.after.as_deref().ok_or_else(missing)?;
            let row = match change.before.as_deref() {
                Some(before) => merge_unchanged(after, before),
                None => after.into(),
            };
            self.add(row, change.op, tx, 1);
        }
        Ok(())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.outcomes.is_empty()
    }

    /// True when the outcomes are one per key (always, once indexed).
    pub(crate) fn is_indexed(&self) -> bool {
        self.indexed
    }

    /// Reduces a run of inserts kept as it came to one outcome per key,
    /// the last insert of a key winning.
    pub(crate) fn index(&mut self, key: &[usize]) {
        if self.indexed {
            return;
        }
        self.indexed = true;
        let inserts = std::mem::take(&mut self.outcomes);
        self.index.reserve(inserts.len());
        for outcome in inserts {
            let row_key = Key::of(&outcome.row, key);
            self.set(row_key, outcome.row, outcome.op, outcome.tx, outcome.count);
        }
    }

    fn set(&mut self, key: Key, row: Cow<'a, [Value]>, op: ChangeOp, tx: u32, count: i64) {
        let mut outcome = Outcome {
            row,
            op,
            tx,
            count,
            fresh: op == ChangeOp::Insert,
        };
        match self.index.get(&key) {
            Some(&at) => {
                outcome.fresh = self.outcomes[at].fresh;
                self.outcomes[at] = outcome;
            }
            None => {
                self.index.insert(key, self.outcomes.len());
                self.outcomes.push(outcome);
            }
        }
    }

    fn add(&mut self, row: Cow<'a, [Value]>, op: ChangeOp, tx: u32, count: i64) {
        let key = Key::Many(row.iter().cloned().map(HashValue).collect());
        match self.index.get(&key) {
            Some(&at) => {
                let outcome = &mut self.outcomes[at];
                outcome.count += count;
                if count > 0 || outcome.count <= 0 {
                    (outcome.op, outcome.tx) = (op, tx);
                }
            }
            None => {
                self.index.insert(key, self.outcomes.len());
                self.outcomes.push(Outcome {
                    row,
                    op,
                    tx,
                    count,
                    fresh: true,
                });
            }
        }
    }

    /// An update's after image with unsent (TOAST) values taken from this
    /// batch's earlier upsert of the same key, when there is one.
    fn fill_unchanged(&self, after: &'a [Value], key: &Key) -> Cow<'a, [Value]> {
        if !after.iter().any(|v| matches!(v, Value::Unchanged)) {
            return after.into();
        }
        match self.index.get(key).map(|&at| &self.outcomes[at]) {
            Some(earlier) if !earlier.is_delete() => merge_unchanged(after, &earlier.row),
            _ => after.into(),
        }
    }
}

/// `after` with each unchanged value replaced by the one in `earlier`.
fn merge_unchanged<'a>(after: &'a [Value], earlier: &[Value]) -> Cow<'a, [Value]> {
    if !after.iter().any(|v| matches!(v, Value::Unchanged)) {
        return after.into();
    }
    let merged = after
        .iter()
        .zip(earlier.iter().chain(std::iter::repeat(&Value::Unchanged)))
        .map(|(now, then)| match now {
            Value::Unchanged => then.clone(),
            other => other.clone(),
        })
        .collect();
    Cow::Owned(merged)
}

/// A primary key's values; one-column keys (the common case) need no
/// allocation beyond the value's own (shared) buffers.
#[derive(Debug, PartialEq, Eq, Hash)]
enum Key {
    One(HashValue),
    Many(Box<[HashValue]>),
}

impl Key {
    fn of(row: &[Value], columns: &[usize]) -> Self {
        let at = |i: usize| HashValue(row.get(i).cloned().unwrap_or(Value::Null));
        match columns {
            [only] => Key::One(at(*only)),
            _ => Key::Many(columns.iter().map(|&i| at(i)).collect()),
        }
    }
}

/// A value usable as a hash key: floats compare and hash by their bits,
/// so that equality is an equivalence (NaN equals itself).
#[derive(Debug, Clone)]
struct HashValue(Value);

impl PartialEq for HashValue {
    fn eq(&self, other: &Self) -> bool {
        same(&self.0, &other.0)
    }
}

impl Eq for HashValue {}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float32(x), Value::Float32(y)) => x.to_bits() == y.to_bits(),
        (Value::Float64(x), Value::Float64(y)) => x.to_bits() == y.to_bits(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        _ => a == b,
    }
}

impl Hash for HashValue {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_value(&self.0, state);
    }
}

fn hash_value<H: Hasher>(value: &Value, state: &mut H) {
    std::mem::discriminant(value).hash(state);
    match value {
        Value::Null | Value::Unchanged => {}
        Value::Bool(b) => b.hash(state),
        Value::Int(i) => i.hash(state),
        Value::UInt(u) => u.hash(state),
        Value::Float32(f) => f.to_bits().hash(state),
        Value::Float64(f) => f.to_bits().hash(state),
        Value::Decimal(d) => d.as_str().hash(state),
        Value::Text(s) | Value::Enum(s) | Value::Json(s) => s.hash(state),
        Value::Bytes(b) => b.hash(state),
        Value::Date(d) => d.hash(state),
        Value::Time(t) => t.hash(state),
        Value::DateTime(dt) => dt.hash(state),
        Value::Timestamp(ts) => ts.hash(state),
        Value::Year(y) => y.hash(state),
        Value::Set(labels) => labels.hash(state),
        Value::Bit { width, bits } => (width, bits).hash(state),
        Value::Uuid(u) => u.hash(state),
        Value::Array(items) => items.iter().for_each(|item| hash_value(item, state)),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use watershed_events::{Column, LogicalType, TableName, TableSchema};

    use super::*;

    fn table() -> Arc<TableSchema> {
        Arc::new(TableSchema {
            name: TableName::parse("t"),
            columns: vec![
                Column::new("id", LogicalType::Int64, false),
                Column::new("v", LogicalType::Text { charset: None }, true),
            ],
            primary_key: vec!["id".into()],
            indexes: vec![],
            version: 1,
            foreign_keys: Vec::new(),
            comment: None,
        })
    }

    fn row(id: i64, v: &str) -> Vec<Value> {
        vec![Value::Int(id), Value::text(v)]
    }

    #[test]
    fn the_last_change_per_key_wins() {
        let t = table();
        let changes = [
            Change::insert(t.clone(), row(1, "a")),
            Change::update(t.clone(), row(1, "a"), row(1, "b")),
            Change::insert(t.clone(), row(2, "x")),
            Change::delete(t.clone(), row(1, "b")),
        ];
        let mut reduced = Reduced::default();
        for change in &changes {
            reduced.push_keyed(change, &[0], 0).unwrap();
        }
        let summary: Vec<(i64, ChangeOp)> =
            reduced.outcomes.iter().map(|o| (o.count, o.op)).collect();
        assert_eq!(summary, vec![(-1, ChangeOp::Delete), (1, ChangeOp::Insert)]);
        assert!(reduced.outcomes[1].fresh);
    }

    #[test]
    fn a_run_of_inserts_is_kept_as_it_came_until_indexed() {
        let t = table();
        let changes = [
            Change::insert(t.clone(), row(1, "a")),
            Change::insert(t.clone(), row(2, "x")),
            Change::insert(t.clone(), row(1, "again")),
        ];
        let mut reduced = Reduced::default();
        for change in &changes {
            reduced.push_keyed(change, &[0], 0).unwrap();
        }
        assert!(!reduced.is_indexed());
        assert_eq!(reduced.outcomes.len(), 3, "no key hashed yet");
        reduced.index(&[0]);
        let rows: Vec<&Value> = reduced.outcomes.iter().map(|o| &o.row[1]).collect();
        assert_eq!(rows, [&Value::text("again"), &Value::text("x")]);
        assert!(reduced.outcomes.iter().all(|o| o.fresh));

        // Any other change indexes what came before it first.
        let delete = Change::delete(t.clone(), row(2, "x"));
        let mut mixed = Reduced::default();
        mixed.push_keyed(&changes[1], &[0], 0).unwrap();
        mixed.push_keyed(&delete, &[0], 1).unwrap();
        assert!(mixed.is_indexed());
        assert_eq!(mixed.outcomes.len(), 1);
        assert!(mixed.outcomes[0].is_delete());
    }

    #[test]
    fn a_key_change_deletes_the_old_key() {
        let t = table();
        let change = Change::update(t, row(1, "a"), row(2, "a"));
        let mut reduced = Reduced::default();
        reduced.push_keyed(&change, &[0], 0).unwrap();
        assert_eq!(reduced.outcomes.len(), 2);
        assert!(reduced.outcomes[0].is_delete());
        assert_eq!(reduced.outcomes[1].row[0], Value::Int(2));
        assert!(
            !reduced.outcomes[1].fresh,
            "an updated key may exist in the target"
        );
    }

    #[test]
    fn unchanged_values_are_filled_from_the_same_batch() {
        let t = table();
        let changes = [
            Change::insert(t.clone(), row(1, "big")),
            Change::update(t, row(1, "big"), vec![Value::Int(1), Value::Unchanged]),
        ];
        let mut reduced = Reduced::default();
        for change in &changes {
            reduced.push_keyed(change, &[0], 0).unwrap();
        }
        assert_eq!(reduced.outcomes[0].row[1], Value::text("big"));
        assert!(!reduced.outcomes[0].has_unchanged());
    }

    #[test]
    fn keyless_rows_net_out() {
        let t = table();
        let changes = [
            Change::insert(t.clone(), row(1, "a")),
            Change::insert(t.clone(), row(1, "a")),
            Change::update(t.clone(), row(1, "a"), row(1, "b")),
            Change::delete(t.clone(), row(9, "z")),
        ];
        let mut reduced = Reduced::default();
        for change in &changes {
            reduced.push_keyless(change, 0).unwrap();
        }
        let counts: Vec<i64> = reduced.outcomes.iter().map(|o| o.count).collect();
        assert_eq!(counts, vec![1, 1, -1]);
    }
}
