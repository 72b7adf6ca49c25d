//! Row changes and the ordered event stream a source produces.
//!
//! A transaction is the run of events from a [`TxBegin`] to its
//! [`TxCommit`]; the commit carries the source position at which the
//! transaction committed and its commit time. Schema changes travel in the
//! same stream, before the first change written under the new schema.

use std::sync::Arc;

use serde::Serialize;

use crate::position::Position;
use crate::schema::TableSchema;
use crate::temporal::Timestamp;
use crate::value::{Row, Value};

/// What a change did to its table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeOp {
    Insert,
    Update,
    Delete,
    Truncate,
}

impl ChangeOp {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeOp::Insert => "insert",
            ChangeOp::Update => "update",
            ChangeOp::Delete => "delete",
            ChangeOp::Truncate => "truncate",
        }
    }
}

/// One row change with its before and after images, and the schema of the
/// table it was written under.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub table: Arc<TableSchema>,
    pub op: ChangeOp,
    /// Update and delete: the old row (complete, or key columns only when
    /// the source logs no more). Insert and truncate: `None`.
    pub before: Option<Row>,
    /// Insert and update: the new row. Delete and truncate: `None`.
    pub after: Option<Row>,
}

impl Change {
    pub fn insert(table: Arc<TableSchema>, after: Row) -> Self {
        Self {
            table,
            op: ChangeOp::Insert,
            before: None,
            after: Some(after),
        }
    }

    pub fn update(table: Arc<TableSchema>, before: Row, after: Row) -> Self {
        Self {
            table,
            op: ChangeOp::Update,
            before: Some(before),
            after: Some(after),
        }
    }

    pub fn delete(table: Arc<TableSchema>, before: Row) -> Self {
        Self {
            table,
            op: ChangeOp::Delete,
            before: Some(before),
            after: None,
        }
    }

    pub fn truncate(table: Arc<TableSchema>) -> Self {
        Self {
            table,
            op: ChangeOp::Truncate,
            before: None,
            after: None,
        }
    }

    fn approx_bytes(&self) -> usize {
        let row = |r: &Option<Row>| {
            r.as_ref().map_or(0, |values| {
                crate::value::HEAP_OVERHEAD + values.iter().map(Value::approx_bytes).sum::<usize>()
            })
        };
        std::mem::size_of::<Self>() + row(&self.before) + row(&self.after)
    }
}

/// The start of a transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct TxBegin {
    /// When the source committed it, where the source says so at BEGIN.
    pub commit_time: Option<Timestamp>,
}

/// The end of a transaction: everything up to and including it is
/// covered by `position`.
#[derive(Debug, Clone, PartialEq)]
pub struct TxCommit {
    pub position: Position,
    pub commit_time: Timestamp,
}

/// A table appeared, changed shape or was dropped. Carries the new schema
/// in full, and the columns renamed since the previous version (a target
/// keeps their values under the new name rather than dropping and adding).
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaChange {
    pub table: Arc<TableSchema>,
    pub renamed_columns: Vec<ColumnRename>,
    /// The table was dropped (or renamed away): `table` is its last shape.
    pub dropped: bool,
    /// The statement that made the change, where the source logs one.
    pub ddl: Option<String>,
}

impl SchemaChange {
    pub fn new(table: Arc<TableSchema>) -> Self {
        Self {
            table,
            renamed_columns: Vec::new(),
            dropped: false,
            ddl: None,
        }
    }

    /// `table` was dropped.
    pub fn dropped(table: Arc<TableSchema>) -> Self {
        Self {
            dropped: true,
            ..Self::new(table)
        }
    }
}

/// A column that changed its name: `from` in the previous version is
/// `to` in this one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnRename {
    pub from: String,
    pub to: String,
}

/// A record the source read but cannot turn into a change (not JSON, not
/// the expected envelope, a value its column cannot take, a failed
/// condition). It travels in its transaction like a change, so that the
/// sink keeps it (a dead letter table or topic) in the same commit as the
/// position past it: never applied, never dropped silently.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    /// Where the record came from: a topic, a table.
    pub origin: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Arc<[u8]>>,
    pub value: Option<Arc<[u8]>>,
    /// Why it cannot be applied.
    pub error: String,
}

/// State a transform keeps beside the rows it produces (an aggregate's
/// open groups, the last event of each watched key). It travels in its
/// transaction like a change, so the sink writes it in the same commit as
/// the rows and the position; the pipeline reads it back when it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct StateWrite {
    /// Whose state: `aggregate:<name>`, `stale:<table>`.
    pub scope: String,
    pub key: String,
    /// `None` deletes the key.
    pub value: Option<String>,
}

/// One element of a source's ordered stream.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Begin(TxBegin),
    Change(Change),
    Schema(SchemaChange),
    Commit(TxCommit),
    DeadLetter(DeadLetter),
    State(StateWrite),
}

impl Event {
    /// Rough in-memory size, used for the byte bounds of channels and batches.
    pub fn approx_bytes(&self) -> usize {
        match self {
            Event::Change(change) => change.approx_bytes(),
            Event::DeadLetter(letter) => {
                std::mem::size_of::<Self>()
                    + letter.key.as_ref().map_or(0, |k| k.len())
                    + letter.value.as_ref().map_or(0, |v| v.len())
                    + letter.error.len()
            }
            Event::State(state) => {
                std::mem::size_of::<Self>()
                    + state.scope.len()
                    + state.key.len()
                    + state.value.as_ref().map_or(0, String::len)
            }
            Event::Schema(_) | Event::Begin(_) | Event::Commit(_) => std::mem::size_of::<Self>(),
        }
    }

    /// 1 for a row change, 0 for transaction and schema markers.
    pub fn row_count(&self) -> usize {
        usize::from(matches!(self, Event::Change(_)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Column, LogicalType, TableName};

    #[test]
    fn byte_size_grows_with_the_row() {
        let table = Arc::new(TableSchema {
            name: TableName::parse("t"),
            columns: vec![Column::new(
                "body",
                LogicalType::Text { charset: None },
                false,
            )],
            primary_key: vec![],
            indexes: vec![],
            version: 1,
            foreign_keys: Vec::new(),
            comment: None,
        });
        let small = Event::Change(Change::insert(table.clone(), vec![Value::text("x")]));
        let big = Event::Change(Change::insert(
            table,
            vec![Value::text(&"x".repeat(2 << 20))],
        ));
        assert!(big.approx_bytes() > 2 << 20);
        assert!(small.approx_bytes() < 1024);
        assert_eq!(small.row_count(), 1);
    }
}
