//! The MySQL/MariaDB source: a consistent snapshot copied in primary-key
//! chunks, then the row-format binlog read as a replica, every row decoded
//! into exact [`Value`](watershed_events::Value)s.
//!
//! Where a binlog row becomes a value: [`tablemap`] → [`plan`] →
//! [`rows`] → [`wire`]. Snapshot rows: [`snapshot`] → [`cells`].

mod catalog;
mod cells;
mod check;
mod config;
mod conn;
mod copy;
mod ddl;
mod error;
mod filter;
#[cfg(test)]
mod fuzz_tests;
mod gtid;
mod handler;
mod inspect;
mod jsonb;
mod plan;
mod resync;
mod rows;
mod schemas;
mod snapshot;
mod source;
mod stream;
mod tablemap;
mod temporal;
mod text;
mod wire;

pub use check::{check, lag, retention};
pub use config::{MysqlConfig, SnapshotMode, redact_url};
pub use error::MysqlError;
pub use filter::TableFilter;
pub use inspect::Inspector;
pub use source::MysqlSource;
