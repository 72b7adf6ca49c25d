//! MySQL/MariaDB statements for each kind of change. A schema is a
//! database; names without one are in the connection's database. Enum
//! types do not exist: each column carries its labels. Expression index
//! parts are written as MySQL 8.0.13+ takes them (`((lower(email)))`);
//! MariaDB has none, and `apply` leaves such indexes out there.

use watershed_events::{Column, ForeignKey, TableName, TableSchema};

use crate::ddl::{Dialect, limit_identifier};
use crate::dialect::mysql::quote_ident;
use crate::diff::Change;
use crate::model::SchemaModel;

use super::types::mysql_type;
use super::{key_list, key_name, literal, quoted_list};

fn qualified(name: &TableName) -> String {
    match &name.schema {
        Some(schema) => format!("{}.{}", quote_ident(schema), quote_ident(&name.name)),
        None => quote_ident(&name.name),
    }
}

pub(super) fn statements(change: &Change, target: &SchemaModel) -> Vec<String> {
    match change {
        Change::CreateSchema { schema } => {
            vec![format!(
                "CREATE DATABASE IF NOT EXISTS {}",
                quote_ident(schema)
            )]
        }
        Change::CreateEnum { .. } | Change::AddEnumValue { .. } | Change::DropEnum { .. } => {
            Vec::new()
        }
        Change::DropEnumValues { name, labels } => vec![format!(
            "-- enum {name} loses values ({}): its columns change type",
            labels.join(", ")
        )],
        Change::CreateTable { table } => vec![create_table(table, target)],
        Change::DropTable { name } => vec![format!("DROP TABLE {}", qualified(name))],
        Change::AddColumn { table, column } => vec![format!(
            "ALTER TABLE {} ADD COLUMN {}",
            qualified(table),
            column_definition(column, target.checks_of(table, &column.name))
        )],
        Change::DropColumn { table, column } => vec![format!(
            "ALTER TABLE {} DROP COLUMN {}",
            qualified(table),
            quote_ident(column)
        )],
        Change::AlterColumn { table, to, .. } => vec![format!(
            "ALTER TABLE {} MODIFY COLUMN {}",
            qualified(table),
            column_definition(to, &[])
        )],
        Change::SetPrimaryKey { table, from, to } => vec![primary_key(table, from, to)],
        Change::CreateIndex { table, index } => {
            let unique = if index.unique { "UNIQUE " } else { "" };
            vec![format!(
                "CREATE {unique}INDEX {} ON {} ({})",
                quote_ident(&limit_identifier(&index.name, 64)),
                qualified(table),
                key_list(index, quote_ident)
            )]
        }
        Change::DropIndex { table, index } => vec![format!(
            "DROP INDEX {} ON {}",
            quote_ident(&index.name),
            qualified(table)
        )],
        Change::AddForeignKey { table, key } => vec![add_foreign_key(table, key)],
        Change::DropForeignKey { table, key } => vec![format!(
            "ALTER TABLE {} DROP FOREIGN KEY {}",
            qualified(table),
            quote_ident(&key_name(table, key))
        )],
        Change::SetTableComment { table, comment } => vec![format!(
            "ALTER TABLE {} COMMENT = {}",
            qualified(table),
            literal(comment.as_deref().unwrap_or(""), Dialect::Mysql)
        )],
    }
}

fn primary_key(table: &TableName, from: &[String], to: &[String]) -> String {
    let mut parts = Vec::new();
    if !from.is_empty() {
        parts.push("DROP PRIMARY KEY".to_owned());
    }
    if !to.is_empty() {
        parts.push(format!(
            "ADD PRIMARY KEY ({})",
            quoted_list(to, quote_ident)
        ));
    }
    format!("ALTER TABLE {} {}", qualified(table), parts.join(", "))
}

fn add_foreign_key(table: &TableName, key: &ForeignKey) -> String {
    format!(
        "ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({}){}",
        qualified(table),
        quote_ident(&limit_identifier(&key_name(table, key), 64)),
        quoted_list(&key.columns, quote_ident),
        qualified(&key.referenced),
        quoted_list(&key.referenced_columns, quote_ident),
        super::postgres::actions(key)
    )
}

/// A default MySQL takes as written (literals, `CURRENT_TIMESTAMP`),
/// else in parentheses (an expression default, MySQL 8.0.13+ and
/// MariaDB 10.2+).
fn default_clause(default: &str) -> String {
    let lower = default.to_ascii_lowercase();
    let literal = default.starts_with('\'')
        || default.parse::<f64>().is_ok()
        || matches!(lower.as_str(), "null" | "true" | "false")
        || lower.starts_with("current_timestamp");
    if literal {
        default.to_owned()
    } else {
        format!("({default})")
    }
}

/// A column as `CREATE TABLE` and `ADD COLUMN` write it, with `checks`.
fn column_definition(column: &Column, checks: &[String]) -> String {
    let mut line = format!(
        "{} {}",
        quote_ident(&column.name),
        mysql_type(&column.logical_type)
    );
    if !column.nullable || column.auto_increment {
        line.push_str(" NOT NULL");
    } else {
        line.push_str(" NULL");
    }
    if let Some(default) = &column.default {
        line.push_str(&format!(" DEFAULT {}", default_clause(default)));
    }
    if column.auto_increment {
        line.push_str(" AUTO_INCREMENT");
    }
    if let Some(comment) = &column.comment {
        line.push_str(&format!(" COMMENT {}", literal(comment, Dialect::Mysql)));
    }
    for check in checks {
        line.push_str(&format!(" CHECK ({check})"));
    }
    line
}

fn create_table(table: &TableSchema, target: &SchemaModel) -> String {
    let mut lines: Vec<String> = table
        .columns
        .iter()
        .map(|c| column_definition(c, target.checks_of(&table.name, &c.name)))
        .collect();
    if !table.primary_key.is_empty() {
        lines.push(format!(
            "PRIMARY KEY ({})",
            quoted_list(&table.primary_key, quote_ident)
        ));
    }
    let comment = table
        .comment
        .as_deref()
        .map(|c| format!(" COMMENT={}", literal(c, Dialect::Mysql)))
        .unwrap_or_default();
    format!(
        "CREATE TABLE {} (\n  {}\n){comment}",
        qualified(&table.name),
        lines.join(",\n  ")
    )
}
