//! PostgreSQL sink: creates target tables from source schemas, applies
//! each batch with binary COPY (straight into the target for new keys,
//! else into a staging table followed by one set-based delete and one
//! upsert; the last change per key winning), and records the batch's
//! position in `<schema>._watershed_checkpoints` in the same transaction.

mod apply;
mod batch;
mod catalog;
mod cell_error;
mod config;
mod copy;
mod encode;
mod error;
mod inspect;
mod kind;
mod numeric;
mod reduce;
mod sink;
mod sql;
mod table;
mod temporal;

pub use config::{DeleteMode, PostgresConfig};
pub use error::PostgresError;
pub use inspect::{check, connect, query_text, stored_checkpoint, stored_position};
pub use sink::{FrozenTables, PostgresSink};
