//! One module per SQL dialect.

pub mod mysql;
pub mod postgres;
