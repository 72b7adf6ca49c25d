//! One difference between two schemas, what it does to data, and how it
//! reads in a plan.

use std::fmt;

use serde::Serialize;
use watershed_events::{Column, ForeignKey, Index, LogicalType, TableName, TableSchema};

/// One step from one schema towards another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    CreateSchema {
        schema: String,
    },
    CreateEnum {
        name: TableName,
        labels: Vec<String>,
    },
    /// A label appended to (or inserted into) an enum type.
    AddEnumValue {
        name: TableName,
        label: String,
        /// The label it follows, when it is not the first.
        after: Option<String>,
    },
    /// Labels an enum type no longer has: PostgreSQL cannot remove them
    /// in place.
    DropEnumValues {
        name: TableName,
        labels: Vec<String>,
    },
    DropEnum {
        name: TableName,
    },
    CreateTable {
        table: TableSchema,
    },
    DropTable {
        name: TableName,
    },
    AddColumn {
        table: TableName,
        column: Column,
    },
    DropColumn {
        table: TableName,
        column: String,
    },
    /// Type, nullability, default, identity or comment differ.
    AlterColumn {
        table: TableName,
        from: Column,
        to: Column,
    },
    SetPrimaryKey {
        table: TableName,
        from: Vec<String>,
        to: Vec<String>,
    },
    CreateIndex {
        table: TableName,
        index: Index,
    },
    DropIndex {
        table: TableName,
        index: Index,
    },
    AddForeignKey {
        table: TableName,
        key: ForeignKey,
    },
    DropForeignKey {
        table: TableName,
        key: ForeignKey,
    },
    SetTableComment {
        table: TableName,
        comment: Option<String>,
    },
}

impl Change {
    /// Whether the change can lose data or make writes fail that worked
    /// before: drops, narrowing types, `NOT NULL` on an existing column,
    /// a different primary key.
    pub fn is_destructive(&self) -> bool {
        match self {
            Change::DropEnumValues { .. }
            | Change::DropEnum { .. }
            | Change::DropTable { .. }
            | Change::DropColumn { .. }
            | Change::DropIndex { .. }
            | Change::DropForeignKey { .. } => true,
            Change::SetPrimaryKey { from, .. } => !from.is_empty(),
            Change::AlterColumn { from, to, .. } => {
                (from.nullable && !to.nullable)
                    || (from.logical_type != to.logical_type
                        && !widens(&from.logical_type, &to.logical_type))
            }
            _ => false,
        }
    }
}

/// Whether every value of type `from` fits type `to` unchanged.
pub fn widens(from: &LogicalType, to: &LogicalType) -> bool {
    use LogicalType::*;
    if from == to {
        return true;
    }
    if let (Some(a), Some(b)) = (integer_range(from), integer_range(to)) {
        return b.0 <= a.0 && a.1 <= b.1;
    }
    let at_least = |a: &Option<u32>, b: &Option<u32>| match (a, b) {
        (_, None) => true,
        (Some(a), Some(b)) => a <= b,
        (None, Some(_)) => false,
    };
    match (from, to) {
        (Float32, Float64) => true,
        (
            Decimal {
                precision: Some(p1),
                scale: s1,
            },
            Decimal {
                precision: p2,
                scale: s2,
            },
        ) => match p2 {
            None => true,
            Some(p2) => {
                let (s1, s2) = (s1.unwrap_or(0), s2.unwrap_or(0));
                s2 >= s1 && p2.saturating_sub(s2) >= p1.saturating_sub(s1)
            }
        },
        (Char { length: a, .. }, Char { length: b, .. } | Varchar { length: b, .. })
        | (Varchar { length: a, .. }, Varchar { length: b, .. }) => at_least(a, b),
        (Char { .. } | Varchar { .. }, Text { .. }) => true,
        (Binary { length: a } | Varbinary { length: a }, Varbinary { length: b }) => at_least(a, b),
        (Binary { .. } | Varbinary { .. }, Blob) => true,
        (Time { fsp: a }, Time { fsp: b })
        | (DateTime { fsp: a }, DateTime { fsp: b })
        | (Timestamp { fsp: a }, Timestamp { fsp: b }) => a <= b,
        // MySQL converts by label, so new labels anywhere keep every value.
        (Enum { labels: a }, Enum { labels: b }) | (Set { labels: a }, Set { labels: b }) => {
            a.iter().all(|label| b.contains(label))
        }
        (Bit { width: a }, Bit { width: b }) => a <= b,
        _ => false,
    }
}

fn integer_range(logical: &LogicalType) -> Option<(i128, i128)> {
    use LogicalType::*;
    Some(match logical {
        Int8 => (-(1 << 7), (1 << 7) - 1),
        Int16 => (-(1 << 15), (1 << 15) - 1),
        Int24 => (-(1 << 23), (1 << 23) - 1),
        Int32 => (-(1 << 31), (1 << 31) - 1),
        Int64 => (-(1 << 63), (1 << 63) - 1),
        UInt8 => (0, (1 << 8) - 1),
        UInt16 => (0, (1 << 16) - 1),
        UInt24 => (0, (1 << 24) - 1),
        UInt32 => (0, (1 << 32) - 1),
        UInt64 => (0, (1 << 64) - 1),
        _ => return None,
    })
}

fn columns(names: &[String]) -> String {
    names.join(", ")
}

fn key_text(key: &ForeignKey) -> String {
    let mut text = format!(
        "({}) -> {}({})",
        columns(&key.columns),
        key.referenced,
        columns(&key.referenced_columns)
    );
    if let Some(action) = &key.on_delete {
        text.push_str(&format!(" on delete {action}"));
    }
    if let Some(action) = &key.on_update {
        text.push_str(&format!(" on update {action}"));
    }
    text
}

fn index_text(index: &Index) -> String {
    let unique = if index.unique { "unique " } else { "" };
    let method = index
        .method
        .as_deref()
        .map(|m| format!(" using {m}"))
        .unwrap_or_default();
    let parts: Vec<String> = index
        .columns
        .iter()
        .enumerate()
        .map(|(k, part)| {
            if index.is_expression(k) {
                format!("`{part}`")
            } else {
                part.clone()
            }
        })
        .collect();
    format!(
        "{unique}index {} ({}){method}",
        index.name,
        parts.join(", ")
    )
}

fn column_text(column: &Column) -> String {
    let mut text = format!("{} {}", column.name, type_text(&column.logical_type));
    if !column.nullable {
        text.push_str(" not null");
    }
    if let Some(default) = &column.default {
        text.push_str(&format!(" default {default}"));
    }
    if column.auto_increment {
        text.push_str(" increment");
    }
    text
}

/// A short, dialect-free spelling of a logical type for plans.
pub fn type_text(logical: &LogicalType) -> String {
    let json = serde_json::to_value(logical).unwrap_or_default();
    let Some(object) = json.as_object() else {
        return format!("{logical:?}");
    };
    let name = object
        .get("type")
        .and_then(|t| t.as_str())
        .unwrap_or("?")
        .to_owned();
    let args: Vec<String> = object
        .iter()
        .filter(|(k, v)| *k != "type" && !v.is_null())
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    if args.is_empty() {
        name
    } else {
        format!("{name}({})", args.join(", "))
    }
}

/// What differs between two versions of a column, in words.
fn column_delta(from: &Column, to: &Column) -> String {
    let mut parts = Vec::new();
    if from.logical_type != to.logical_type {
        parts.push(format!(
            "type {} -> {}",
            type_text(&from.logical_type),
            type_text(&to.logical_type)
        ));
    }
    if from.nullable != to.nullable {
        parts.push(
            if to.nullable {
                "drop not null"
            } else {
                "set not null"
            }
            .to_owned(),
        );
    }
    if from.default != to.default {
        parts.push(format!(
            "default {} -> {}",
            from.default.as_deref().unwrap_or("none"),
            to.default.as_deref().unwrap_or("none")
        ));
    }
    if from.auto_increment != to.auto_increment {
        parts.push(format!(
            "increment {} -> {}",
            from.auto_increment, to.auto_increment
        ));
    }
    if from.comment != to.comment {
        parts.push("comment".to_owned());
    }
    parts.join(", ")
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mark = if self.is_destructive() { "!" } else { " " };
        let sign = match self {
            Change::CreateSchema { .. }
            | Change::CreateEnum { .. }
            | Change::AddEnumValue { .. }
            | Change::CreateTable { .. }
            | Change::AddColumn { .. }
            | Change::CreateIndex { .. }
            | Change::AddForeignKey { .. } => "+",
            Change::AlterColumn { .. }
            | Change::SetPrimaryKey { .. }
            | Change::SetTableComment { .. } => "~",
            _ => "-",
        };
        write!(f, "{mark}{sign} ")?;
        match self {
            Change::CreateSchema { schema } => write!(f, "schema {schema}"),
            Change::CreateEnum { name, labels } => write!(f, "enum {name} ({})", labels.join(", ")),
            Change::AddEnumValue { name, label, .. } => write!(f, "enum {name} value {label}"),
            Change::DropEnumValues { name, labels } => {
                write!(f, "enum {name} values {}", labels.join(", "))
            }
            Change::DropEnum { name } => write!(f, "enum {name}"),
            Change::CreateTable { table } => {
                write!(f, "table {} ({} columns)", table.name, table.columns.len())
            }
            Change::DropTable { name } => write!(f, "table {name}"),
            Change::AddColumn { table, column } => {
                write!(f, "column {table}.{}", column_text(column))
            }
            Change::DropColumn { table, column } => write!(f, "column {table}.{column}"),
            Change::AlterColumn { table, from, to } => {
                write!(f, "column {table}.{}: {}", to.name, column_delta(from, to))
            }
            Change::SetPrimaryKey { table, from, to } => write!(
                f,
                "primary key {table}: ({}) -> ({})",
                columns(from),
                columns(to)
            ),
            Change::CreateIndex { table, index } | Change::DropIndex { table, index } => {
                write!(f, "{} on {table}", index_text(index))
            }
            Change::AddForeignKey { table, key } | Change::DropForeignKey { table, key } => {
                write!(f, "foreign key {table}{}", key_text(key))
            }
            Change::SetTableComment { table, .. } => write!(f, "comment on {table}"),
        }
    }
}
