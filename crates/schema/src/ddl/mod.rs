//! DDL from a checked DBML document, for PostgreSQL and MySQL/MariaDB.
//! [`plan`] decides what to create and in which order (schemas, enums,
//! tables in dependency order, join tables for many-to-many refs, foreign
//! keys last); [`postgres`] and [`mysql`] spell it.

mod common;
mod mysql;
mod names;
mod plan;
mod postgres;
mod types;

pub use common::left_out_defaults;
pub use names::limit_identifier;
pub(crate) use plan::holder_and_target;
pub use plan::{ForeignKey, Plan, plan};

use crate::dbml::Document;

/// The SQL dialect to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    /// MySQL 8 and MariaDB 10.5+.
    Mysql,
}

/// How to write the DDL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DdlOptions {
    /// Write refs between tables of different schemas (databases, in
    /// MySQL) as SQL comments instead of constraints, for a
    /// database-per-service layout. The Project setting
    /// `no_cross_schema_fks: 'true'` turns it on too.
    pub no_cross_schema_fks: bool,
    /// Put before every schema name other than the default one, so that
    /// `auth.users` is created as `<prefix>auth.users` (tests use it to
    /// keep MySQL databases apart on one server).
    pub schema_prefix: Option<String>,
}

/// The Project setting that asks for cross-schema refs as comments.
pub const NO_CROSS_SCHEMA_FKS_SETTING: &str = "no_cross_schema_fks";

/// The DDL for `doc` in `dialect`: deterministic, statements ending in `;`.
pub fn generate(doc: &Document, dialect: Dialect, options: &DdlOptions) -> String {
    let mut options = options.clone();
    let from_project = doc
        .project_setting(NO_CROSS_SCHEMA_FKS_SETTING)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    options.no_cross_schema_fks |= from_project;
    let plan = plan(doc, &options);
    match dialect {
        Dialect::Postgres => postgres::render(doc, &plan, &options),
        Dialect::Mysql => mysql::render(doc, &plan, &options),
    }
}

#[cfg(test)]
mod tests;
