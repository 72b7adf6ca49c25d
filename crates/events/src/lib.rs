//! The vocabulary every Watershed crate speaks: table schemas with logical
//! types, cell values, row changes grouped into transactions, and the typed
//! source positions that checkpoints record. Nothing here does I/O.

mod change;
mod check;
mod control;
mod error;
mod glob;
mod position;
mod redact;
mod schema;
mod temporal;
mod value;

pub use change::{
    Change, ChangeOp, ColumnRename, DeadLetter, Event, SchemaChange, StateWrite, TxBegin, TxCommit,
};
pub use check::{Check, CheckStatus};
pub use control::{TableAction, TableControl};
pub use error::RetryHint;
pub use glob::glob_matches;
pub use position::{
    MysqlBinlogPosition, MysqlKeyValue, MysqlSnapshotProgress, Position, PositionError,
};
pub use redact::{is_secret_key, redact_urls, serialize_redacted};
pub use schema::{Column, ForeignKey, Index, LogicalType, TableName, TableSchema};
pub use temporal::{Date, DateTime, TemporalError, TimeOfDay, Timestamp};
pub use value::{Decimal, DecimalError, Row, Value};
