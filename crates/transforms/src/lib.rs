//! Changes on their way from source to sink. [`expr`] holds the one SQL
//! expression language that `validate`, `filter`, `derive` and aggregate
//! measures share: parsed once with `sqlparser` (PostgreSQL dialect),
//! type-checked against the table's schema when the pipeline file loads,
//! and evaluated over a row with SQL's three-valued logic and exact
//! decimals. [`chain`] applies a table's row transforms (`validate`,
//! `filter`, `derive`, `mask`, `rename`, `drop`, `to`) to changes; [`mask`]
//! holds the masks; [`aggregate`] keeps windowed aggregates over changes
//! and [`stale`] watches keys for silence.

pub mod aggregate;
pub mod chain;
pub mod expr;
pub mod mask;
pub mod stale;
