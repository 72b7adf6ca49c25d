//! SQLite sink: one table per source table, each batch applied with its
//! checkpoint in one SQLite transaction.

mod config;
mod sink;
mod sql;

pub use config::SqliteConfig;
pub use sink::SqliteSink;
pub use sql::table_name;
