//! The SQL statements that carry out a list of [`Change`]s, per dialect.
//! Column types are written from the logical type (see [`types`]); a
//! column of a named PostgreSQL enum uses the type the target model
//! gives it.

mod mysql;
mod postgres;
mod types;

pub use types::{mysql_type, postgres_type};
use watershed_events::TableName;

use crate::ddl::Dialect;
use crate::diff::Change;
use crate::model::SchemaModel;

/// The statements (without a trailing `;`) for `changes` in `dialect`;
/// `target` is the model the changes lead to (for enum type names).
/// Changes that cannot be written as SQL become `-- ` comments saying so.
pub fn statements(changes: &[Change], dialect: Dialect, target: &SchemaModel) -> Vec<String> {
    changes
        .iter()
        .flat_map(|change| match dialect {
            Dialect::Postgres => postgres::statements(change, target),
            Dialect::Mysql => mysql::statements(change, target),
        })
        .collect()
}

/// Whether a statement is only a comment (a change SQL cannot make).
pub fn is_comment(statement: &str) -> bool {
    statement.starts_with("--")
}

/// The statements as a script: each ends with `;` (comments as they are).
pub fn script(statements: &[String]) -> String {
    statements
        .iter()
        .map(|s| {
            if is_comment(s) {
                format!("{s}\n")
            } else {
                format!("{s};\n")
            }
        })
        .collect()
}

fn quoted_list(names: &[String], quote: fn(&str) -> String) -> String {
    names
        .iter()
        .map(|n| quote(n))
        .collect::<Vec<_>>()
        .join(", ")
}

/// An index's key parts: columns quoted, expressions in parentheses (as
/// both PostgreSQL and MySQL 8 want them).
fn key_list(index: &watershed_events::Index, quote: fn(&str) -> String) -> String {
    let parts: Vec<String> = index
        .columns
        .iter()
        .enumerate()
        .map(|(k, part)| {
            if index.is_expression(k) {
                format!("({part})")
            } else {
                quote(part)
            }
        })
        .collect();
    parts.join(", ")
}

/// The name of a foreign key: its own, else `<table>_<columns>_fkey`.
fn key_name(table: &TableName, key: &watershed_events::ForeignKey) -> String {
    key.name
        .clone()
        .unwrap_or_else(|| format!("{}_{}_fkey", table.name, key.columns.join("_")))
}

/// A string literal: `'` doubled; MySQL also doubles backslashes.
fn literal(text: &str, dialect: Dialect) -> String {
    let escaped = text.replace('\'', "''");
    match dialect {
        Dialect::Postgres => format!("'{escaped}'"),
        Dialect::Mysql => format!("'{}'", escaped.replace('\\', "\\\\")),
    }
}
