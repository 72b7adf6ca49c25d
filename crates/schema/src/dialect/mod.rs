//! One module per SQL dialect.

pub mod defaults;
pub mod mysql;
pub mod postgres;
