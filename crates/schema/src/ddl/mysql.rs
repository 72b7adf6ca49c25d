//! MySQL/MariaDB DDL: `CREATE DATABASE IF NOT EXISTS` for schemas (a
//! schema is a database), inline `enum(…)`, `AUTO_INCREMENT`, notes as
//! `COMMENT`, and foreign keys as `ALTER TABLE … ADD CONSTRAINT` after
//! every table.

use crate::dbml::{ColumnDef, Document, Table, index_name};

use super::common::{
    comment_lines, default_value, foreign_keys, header, parts, unique_column_indexes,
};
use super::names::{Namer, limit_identifier, string_literal};
use super::plan::Plan;
use super::types::{is_serial, mysql_type};
use super::{DdlOptions, Dialect};

pub(super) fn render(doc: &Document, plan: &Plan, options: &DdlOptions) -> String {
    let namer = Namer {
        dialect: Dialect::Mysql,
        prefix: options.schema_prefix.as_deref(),
    };
    let mut out = header(doc, Dialect::Mysql);
    for schema in &plan.schemas {
        let name = format!("{}{schema}", namer.prefix.unwrap_or(""));
        out.push_str(&format!(
            "CREATE DATABASE IF NOT EXISTS {};\n",
            namer.quote(&name)
        ));
    }
    for table in &plan.tables {
        out.push('\n');
        if plan.join_tables.contains(&table.name) {
            out.push_str("-- Join table for a many-to-many ref.\n");
        }
        out.push_str(&create_table(doc, table, &namer));
        out.push_str(&indexes(table, &namer));
    }
    out.push_str(&foreign_keys(plan, &namer));
    out
}

fn create_table(doc: &Document, table: &Table, namer: &Namer<'_>) -> String {
    let mut lines: Vec<String> = table
        .columns
        .iter()
        .map(|c| column(doc, c, namer))
        .collect();
    let key = table.primary_key();
    if !key.is_empty() {
        let quoted: Vec<String> = key.iter().map(|k| namer.quote(k)).collect();
        lines.push(format!("PRIMARY KEY ({})", quoted.join(", ")));
    }
    let comment = table
        .note
        .as_deref()
        .map(|n| format!(" COMMENT={}", string_literal(Dialect::Mysql, n)))
        .unwrap_or_default();
    format!(
        "CREATE TABLE {} (\n  {}\n){comment};\n",
        namer.qualified(&table.name),
        lines.join(",\n  ")
    )
}

fn column(doc: &Document, column: &ColumnDef, namer: &Namer<'_>) -> String {
    let settings = &column.settings;
    let data_type = mysql_type(doc, &column.data_type, namer);
    let mut line = format!("{} {data_type}", namer.quote(&column.name));
    let increment = settings.increment || is_serial(&column.data_type);
    if settings.not_null == Some(true) || increment {
        line.push_str(" NOT NULL");
    }
    if let Some(default) = settings
        .default
        .as_ref()
        .and_then(|d| default_value(Dialect::Mysql, d))
    {
        line.push_str(&format!(" DEFAULT {default}"));
    }
    if increment {
        line.push_str(" AUTO_INCREMENT");
    }
    if let Some(note) = &settings.note {
        line.push_str(&format!(
            " COMMENT {}",
            string_literal(Dialect::Mysql, note)
        ));
    }
    for check in &settings.checks {
        line.push_str(&format!(" CHECK ({check})"));
    }
    line
}

fn indexes(table: &Table, namer: &Namer<'_>) -> String {
    let mut out = unique_column_indexes(table, namer, 64);
    for (n, index) in table
        .indexes
        .iter()
        .enumerate()
        .filter(|(_, i)| !i.primary_key)
    {
        let name = limit_identifier(&index_name(table, index, n), 64);
        let unique = if index.unique { "UNIQUE " } else { "" };
        let using = index
            .kind
            .as_deref()
            .map(|k| format!(" USING {}", k.to_ascii_uppercase()))
            .unwrap_or_default();
        let comment = index
            .note
            .as_deref()
            .map(|n| format!(" COMMENT {}", string_literal(Dialect::Mysql, n)))
            .unwrap_or_default();
        let statement = format!(
            "CREATE {unique}INDEX {}{using} ON {} ({}){comment};\n",
            namer.quote(&name),
            namer.qualified(&table.name),
            parts(index, namer)
        );
        if index.column_names().len() < index.parts.len() {
            // MariaDB has no functional key parts (MySQL 8.0.13+ does).
            out.push_str("-- Not created: MariaDB cannot index expressions.\n");
            out.push_str(&comment_lines(statement.trim_end()));
        } else {
            out.push_str(&statement);
        }
    }
    out
}
