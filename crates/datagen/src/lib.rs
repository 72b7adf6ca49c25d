//! Realistic, deterministic test data from a schema (`watershed gen
//! data`): rows that respect primary keys, unique indexes, foreign keys
//! (parents first, trees for self-references), lengths, precision, enums
//! and NOT NULL, with values chosen from each column's name and type in
//! the en_US or uk_UA locale. The same seed and schema always give the
//! same bytes. Rows go to CSV, JSON lines or SQL files, or straight into
//! PostgreSQL (COPY) and MySQL/MariaDB (multi-row INSERT), one or several
//! databases at once.
//!
//! [`Plan::new`] checks the request and fails before anything is written
//! when it cannot be met; [`write_files`] and [`load`] then produce the
//! rows. [`workload`] drives a live OLTP workload against loaded tables,
//! [`events`] a paced stream of heart-rate readings.

mod cell;
pub mod codes;
pub mod deferred;
mod error;
pub mod events;
mod fake_mask;
mod fill;
pub mod infer;
mod kind;
pub mod locale;
mod order;
pub mod output;
mod overlap;
pub mod overrides;
mod plan;
mod rng;
mod space;
mod table;
mod unique;
mod values;
pub mod workload;

pub use cell::Cell;
pub use error::DatagenError;
pub use fake_mask::GenFaker;
pub use kind::Kind;
pub use locale::Locale;
pub use output::{Existing, Format, TableSummary, Target, load, write_files};
pub use overrides::Overrides;
pub use plan::{
    ColumnPlan, DEFAULT_TIME_RANGE, DEFAULT_TREE_DEPTH, FkMode, FkPlan, Plan, Request, TablePlan,
    UniquePlan, UniqueStrategy,
};
pub use table::{Pools, TableGen};
