//! Schema knowledge shared by sources, sinks and the schema tools: how each
//! database spells the logical types, quotes identifiers and creates tables;
//! DBML parsing, checking and linting; DDL generation from DBML; reading
//! live databases ([`introspect`]), comparing schemas ([`diff`]), the SQL
//! that changes one into the other ([`sql`], [`apply`]), DBML from a live
//! database ([`pull`]) and dbt sources and staging models ([`dbt`]).

pub mod apply;
pub mod dbml;
pub mod dbt;
pub mod ddl;
pub mod dialect;
pub mod diff;
pub mod digest;
mod error;
pub mod introspect;
pub mod model;
pub mod pull;
pub mod sql;

pub use error::{DriverError, SchemaError};
pub use model::SchemaModel;
