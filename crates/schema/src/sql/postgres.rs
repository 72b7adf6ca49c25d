//! PostgreSQL statements for each kind of change. Names without a schema
//! are written in `public`.

use watershed_events::{Column, ForeignKey, Index, TableName, TableSchema};

use crate::ddl::{Dialect, limit_identifier};
use crate::dialect::postgres::quote_ident;
use crate::diff::Change;
use crate::model::SchemaModel;

use super::types::{postgres_type, qualified};
use super::{key_list, key_name, literal, quoted_list};

pub(super) fn statements(change: &Change, target: &SchemaModel) -> Vec<String> {
    match change {
        Change::CreateSchema { schema } => {
            vec![format!(
                "CREATE SCHEMA IF NOT EXISTS {}",
                quote_ident(schema)
            )]
        }
        Change::CreateEnum { .. }
        | Change::AddEnumValue { .. }
        | Change::DropEnumValues { .. }
        | Change::DropEnum { .. } => enum_statements(change),
        Change::CreateTable { table } => create_table(table, target),
        Change::DropTable { name } => vec![format!("DROP TABLE {}", qualified(name))],
        Change::AddColumn { table, column } => {
            let mut out = vec![format!(
                "ALTER TABLE {} ADD COLUMN {}",
                qualified(table),
                column_definition(table, column, target)
            )];
            out.extend(column_comment(table, column));
            out
        }
        Change::DropColumn { table, column } => vec![format!(
            "ALTER TABLE {} DROP COLUMN {}",
            qualified(table),
            quote_ident(column)
        )],
        Change::AlterColumn { table, from, to } => alter_column(table, from, to, target),
        Change::SetPrimaryKey { table, from, to } => primary_key(table, from, to),
        Change::CreateIndex { table, index } => vec![create_index(table, index)],
        Change::DropIndex { table, index } => drop_index(table, index),
        Change::AddForeignKey { table, key } => vec![add_foreign_key(table, key)],
        Change::DropForeignKey { table, key } => vec![format!(
            "ALTER TABLE {} DROP CONSTRAINT {}",
            qualified(table),
            quote_ident(&key_name(table, key))
        )],
        Change::SetTableComment { table, comment } => vec![format!(
            "COMMENT ON TABLE {} IS {}",
            qualified(table),
            comment_literal(comment.as_deref())
        )],
    }
}

fn enum_statements(change: &Change) -> Vec<String> {
    let labels = |labels: &[String]| {
        let quoted: Vec<String> = labels
            .iter()
            .map(|l| literal(l, Dialect::Postgres))
            .collect();
        quoted.join(", ")
    };
    match change {
        Change::CreateEnum { name, labels: l } => vec![format!(
            "CREATE TYPE {} AS ENUM ({})",
            qualified(name),
            labels(l)
        )],
        Change::AddEnumValue { name, label, after } => {
            let position = after
                .as_deref()
                .map(|a| format!(" AFTER {}", literal(a, Dialect::Postgres)))
                .unwrap_or_default();
            vec![format!(
                "ALTER TYPE {} ADD VALUE IF NOT EXISTS {}{position}",
                qualified(name),
                literal(label, Dialect::Postgres)
            )]
        }
        Change::DropEnumValues { name, labels: l } => vec![format!(
            "-- PostgreSQL cannot remove values ({}) from enum {}: recreate the type by hand",
            l.join(", "),
            qualified(name)
        )],
        Change::DropEnum { name } => vec![format!("DROP TYPE {}", qualified(name))],
        _ => Vec::new(),
    }
}

/// The old key is dropped by PostgreSQL's default name, `<table>_pkey`.
fn primary_key(table: &TableName, from: &[String], to: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    if !from.is_empty() {
        out.push(format!(
            "ALTER TABLE {} DROP CONSTRAINT {}",
            qualified(table),
            quote_ident(&format!("{}_pkey", table.name))
        ));
    }
    if !to.is_empty() {
        out.push(format!(
            "ALTER TABLE {} ADD PRIMARY KEY ({})",
            qualified(table),
            quoted_list(to, quote_ident)
        ));
    }
    out
}

fn create_index(table: &TableName, index: &Index) -> String {
    let unique = if index.unique { "UNIQUE " } else { "" };
    let using = index
        .method
        .as_deref()
        .map(|m| format!(" USING {m}"))
        .unwrap_or_default();
    format!(
        "CREATE {unique}INDEX {} ON {}{using} ({})",
        quote_ident(&limit_identifier(&index.name, 63)),
        qualified(table),
        key_list(index, quote_ident)
    )
}

/// A unique index may back a constraint, which must go instead.
fn drop_index(table: &TableName, index: &Index) -> Vec<String> {
    let mut name = table.clone();
    name.name = index.name.clone();
    vec![
        format!(
            "ALTER TABLE {} DROP CONSTRAINT IF EXISTS {}",
            qualified(table),
            quote_ident(&index.name)
        ),
        format!("DROP INDEX IF EXISTS {}", qualified(&name)),
    ]
}

fn add_foreign_key(table: &TableName, key: &ForeignKey) -> String {
    format!(
        "ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({}){}",
        qualified(table),
        quote_ident(&limit_identifier(&key_name(table, key), 63)),
        quoted_list(&key.columns, quote_ident),
        qualified(&key.referenced),
        quoted_list(&key.referenced_columns, quote_ident),
        actions(key)
    )
}

pub(super) fn actions(key: &ForeignKey) -> String {
    let mut out = String::new();
    if let Some(action) = &key.on_delete {
        out.push_str(&format!(" ON DELETE {}", action.to_ascii_uppercase()));
    }
    if let Some(action) = &key.on_update {
        out.push_str(&format!(" ON UPDATE {}", action.to_ascii_uppercase()));
    }
    out
}

fn comment_literal(comment: Option<&str>) -> String {
    comment.map_or("NULL".to_owned(), |c| literal(c, Dialect::Postgres))
}

fn column_type(table: &TableName, column: &Column, target: &SchemaModel) -> String {
    postgres_type(&column.logical_type, target.enum_of(table, &column.name))
}

fn column_definition(table: &TableName, column: &Column, target: &SchemaModel) -> String {
    let mut line = format!(
        "{} {}",
        quote_ident(&column.name),
        column_type(table, column, target)
    );
    if column.auto_increment {
        line.push_str(" GENERATED BY DEFAULT AS IDENTITY");
    }
    if !column.nullable {
        line.push_str(" NOT NULL");
    }
    if let Some(default) = &column.default {
        line.push_str(&format!(" DEFAULT {default}"));
    }
    for check in target.checks_of(table, &column.name) {
        line.push_str(&format!(" CHECK ({check})"));
    }
    line
}

fn column_comment(table: &TableName, column: &Column) -> Option<String> {
    let comment = column.comment.as_deref()?;
    Some(format!(
        "COMMENT ON COLUMN {}.{} IS {}",
        qualified(table),
        quote_ident(&column.name),
        literal(comment, Dialect::Postgres)
    ))
}

fn create_table(table: &TableSchema, target: &SchemaModel) -> Vec<String> {
    let mut lines: Vec<String> = table
        .columns
        .iter()
        .map(|c| column_definition(&table.name, c, target))
        .collect();
    if !table.primary_key.is_empty() {
        lines.push(format!(
            "PRIMARY KEY ({})",
            quoted_list(&table.primary_key, quote_ident)
        ));
    }
    let mut out = vec![format!(
        "CREATE TABLE {} (\n  {}\n)",
        qualified(&table.name),
        lines.join(",\n  ")
    )];
    if let Some(comment) = &table.comment {
        out.push(format!(
            "COMMENT ON TABLE {} IS {}",
            qualified(&table.name),
            literal(comment, Dialect::Postgres)
        ));
    }
    out.extend(
        table
            .columns
            .iter()
            .filter_map(|c| column_comment(&table.name, c)),
    );
    out
}

/// One statement per attribute that changed, in an order that works:
/// the old default and identity go before the type changes, the new ones
/// come after.
fn alter_column(
    table: &TableName,
    from: &Column,
    to: &Column,
    target: &SchemaModel,
) -> Vec<String> {
    let alter = format!(
        "ALTER TABLE {} ALTER COLUMN {}",
        qualified(table),
        quote_ident(&to.name)
    );
    let mut out = Vec::new();
    if from.default != to.default && from.default.is_some() {
        out.push(format!("{alter} DROP DEFAULT"));
    }
    if from.auto_increment && !to.auto_increment {
        out.push(format!("{alter} DROP IDENTITY IF EXISTS"));
    }
    if from.logical_type != to.logical_type {
        let new_type = column_type(table, to, target);
        out.push(format!(
            "{alter} TYPE {new_type} USING {}::{new_type}",
            quote_ident(&to.name)
        ));
    }
    if from.nullable != to.nullable {
        let verb = if to.nullable { "DROP" } else { "SET" };
        out.push(format!("{alter} {verb} NOT NULL"));
    }
    if to.auto_increment && !from.auto_increment {
        out.push(format!("{alter} ADD GENERATED BY DEFAULT AS IDENTITY"));
    }
    if from.default != to.default
        && let Some(default) = &to.default
    {
        out.push(format!("{alter} SET DEFAULT {default}"));
    }
    if from.comment != to.comment {
        out.push(format!(
            "COMMENT ON COLUMN {}.{} IS {}",
            qualified(table),
            quote_ident(&to.name),
            comment_literal(to.comment.as_deref())
        ));
    }
    out
}
