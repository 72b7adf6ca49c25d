//! The changes that turn one [`SchemaModel`] into another, in the order
//! they can run: schemas and enum types first, drops of keys and indexes
//! before the tables they sit on, new tables, column changes, then new
//! indexes and foreign keys last (so every referenced table exists).
//! Indexes and foreign keys are matched by what they do (columns or
//! expressions, uniqueness, target, actions), not by name; index
//! expressions are compared in [`canonical_expression`]'s spelling.

mod canonical;
mod change;
mod expression;
#[cfg(test)]
mod tests;

pub use canonical::{canonical, canonical_default, canonical_type};
pub use change::{Change, type_text, widens};
pub use expression::canonical_expression;
use watershed_events::{ForeignKey, Index, LogicalType, TableName, TableSchema};

use crate::ddl::Dialect;
use crate::model::SchemaModel;

/// The changes from `from` to `to`, both read as `dialect` stores them.
pub fn diff(from: &SchemaModel, to: &SchemaModel, dialect: Dialect) -> Vec<Change> {
    let written = to;
    let from = comparable(from, dialect);
    let to = comparable(to, dialect);
    let mut changes = Vec::new();
    let have = from.named_schemas();
    for schema in to.named_schemas().difference(&have) {
        changes.push(Change::CreateSchema {
            schema: schema.clone(),
        });
    }
    let mut later = Later::default();
    enum_changes(&from, &to, &mut changes);
    later.drop_enums = from
        .enums
        .keys()
        .filter(|name| !to.enums.contains_key(*name))
        .map(|name| Change::DropEnum { name: name.clone() })
        .collect();
    for (name, old) in &from.tables {
        match to.tables.get(name) {
            Some(new) => table_changes(old, new, &mut later),
            None => later
                .drop_tables
                .push(Change::DropTable { name: name.clone() }),
        }
    }
    changes.extend(dropped_keys(&from, &to));
    changes.append(&mut later.drop_indexes);
    changes.append(&mut later.drop_tables);
    for (name, new) in to
        .tables
        .iter()
        .filter(|(n, _)| !from.tables.contains_key(*n))
    {
        let mut table = new.clone();
        table.indexes.clear();
        table.foreign_keys.clear();
        changes.push(Change::CreateTable { table });
        later
            .indexes
            .extend(new.indexes.iter().map(|index| Change::CreateIndex {
                table: name.clone(),
                index: index.clone(),
            }));
    }
    changes.append(&mut later.columns);
    changes.append(&mut later.indexes);
    changes.extend(
        dropped_keys(&to, &from)
            .into_iter()
            .map(|change| match change {
                Change::DropForeignKey { table, key } => Change::AddForeignKey { table, key },
                other => other,
            }),
    );
    changes.append(&mut later.drop_enums);
    as_written(&mut changes, written);
    changes
}

/// Puts the target's own columns into the changes that create them: the
/// canonical form only decides what differs, and writing it would lose
/// what the dialect keeps (MySQL `tinyint(1)` for a boolean, a default
/// spelled `0.00`).
fn as_written(changes: &mut [Change], written: &SchemaModel) {
    let column = |table: &TableName, name: &str| {
        written
            .tables
            .get(table)
            .and_then(|t| t.columns.iter().find(|c| c.name == name))
            .cloned()
    };
    for change in changes {
        match change {
            Change::CreateTable { table } => {
                for c in &mut table.columns {
                    if let Some(original) = column(&table.name, &c.name) {
                        *c = original;
                    }
                }
            }
            Change::AddColumn { table, column: c } => {
                if let Some(original) = column(table, &c.name) {
                    *c = original;
                }
            }
            _ => {}
        }
    }
}

/// A `DropForeignKey` for each key of `from` that `to` lacks (a key on a
/// table `to` lacks included).
fn dropped_keys(from: &SchemaModel, to: &SchemaModel) -> Vec<Change> {
    let mut out = Vec::new();
    for (name, table) in &from.tables {
        for key in &table.foreign_keys {
            let kept = to
                .tables
                .get(name)
                .is_some_and(|t| t.foreign_keys.iter().any(|k| same_key(k, key)));
            if !kept {
                out.push(Change::DropForeignKey {
                    table: name.clone(),
                    key: key.clone(),
                });
            }
        }
    }
    out
}

/// Keeps only the tables and enum types of `live` in namespaces `target`
/// uses: the schemas it names, and the default one when it has tables or
/// enums there. What a DBML file does not mention, it does not manage.
pub fn restrict_to(live: &mut SchemaModel, target: &SchemaModel) {
    let schemas = target.named_schemas();
    let default = target
        .tables
        .keys()
        .chain(target.enums.keys())
        .any(|n| n.schema.is_none());
    let keep = |name: &TableName| match &name.schema {
        None => default,
        Some(schema) => schemas.contains(schema),
    };
    live.tables.retain(|name, _| keep(name));
    live.enums.retain(|name, _| keep(name));
    live.enum_columns.retain(|(table, _), _| keep(table));
    live.native_types.retain(|(table, _), _| keep(table));
    live.checks.retain(|(table, _), _| keep(table));
    live.schemas.retain(|s| schemas.contains(s));
}

/// Changes collected while walking tables, emitted later in the order.
#[derive(Default)]
struct Later {
    drop_indexes: Vec<Change>,
    drop_tables: Vec<Change>,
    columns: Vec<Change>,
    indexes: Vec<Change>,
    drop_enums: Vec<Change>,
}

/// The canonical model with columns of a named enum type typed by that
/// name (the enum's own labels are compared once, on the type).
fn comparable(model: &SchemaModel, dialect: Dialect) -> SchemaModel {
    let mut out = canonical(model, dialect);
    let enum_columns = out.enum_columns.clone();
    for table in out.tables.values_mut() {
        for column in &mut table.columns {
            if let Some(name) = enum_columns.get(&(table.name.clone(), column.name.clone())) {
                column.logical_type = named_enum(&column.logical_type, name);
            }
        }
    }
    out
}

fn named_enum(logical: &LogicalType, name: &TableName) -> LogicalType {
    match logical {
        LogicalType::Array { element } => LogicalType::Array {
            element: Box::new(named_enum(element, name)),
        },
        _ => LogicalType::Enum {
            labels: vec![format!("type {name}")],
        },
    }
}

fn enum_changes(from: &SchemaModel, to: &SchemaModel, changes: &mut Vec<Change>) {
    for (name, wanted) in &to.enums {
        let Some(existing) = from.enums.get(name) else {
            changes.push(Change::CreateEnum {
                name: name.clone(),
                labels: wanted.labels.clone(),
            });
            continue;
        };
        for (i, label) in wanted.labels.iter().enumerate() {
            if !existing.labels.contains(label) {
                changes.push(Change::AddEnumValue {
                    name: name.clone(),
                    label: label.clone(),
                    after: i.checked_sub(1).map(|p| wanted.labels[p].clone()),
                });
            }
        }
        let gone: Vec<String> = existing
            .labels
            .iter()
            .filter(|l| !wanted.labels.contains(l))
            .cloned()
            .collect();
        if !gone.is_empty() {
            changes.push(Change::DropEnumValues {
                name: name.clone(),
                labels: gone,
            });
        }
    }
}

fn table_changes(old: &TableSchema, new: &TableSchema, later: &mut Later) {
    let name = &new.name;
    for column in &new.columns {
        match old.columns.iter().find(|c| c.name == column.name) {
            None => later.columns.push(Change::AddColumn {
                table: name.clone(),
                column: column.clone(),
            }),
            Some(existing) if existing != column => later.columns.push(Change::AlterColumn {
                table: name.clone(),
                from: existing.clone(),
                to: column.clone(),
            }),
            Some(_) => {}
        }
    }
    if old.primary_key != new.primary_key {
        later.columns.push(Change::SetPrimaryKey {
            table: name.clone(),
            from: old.primary_key.clone(),
            to: new.primary_key.clone(),
        });
    }
    for column in old
        .columns
        .iter()
        .filter(|c| new.column_index(&c.name).is_none())
    {
        later.columns.push(Change::DropColumn {
            table: name.clone(),
            column: column.name.clone(),
        });
    }
    if old.comment != new.comment {
        later.columns.push(Change::SetTableComment {
            table: name.clone(),
            comment: new.comment.clone(),
        });
    }
    index_changes(old, new, later);
}

/// Whether two indexes do the same, names aside: key parts compared as
/// written for columns and in canonical form for expressions.
pub fn same_index(a: &Index, b: &Index) -> bool {
    a.unique == b.unique
        && a.method == b.method
        && a.columns.len() == b.columns.len()
        && (0..a.columns.len()).all(|k| key_part(a, k) == key_part(b, k))
}

/// Key part `k` as compared: an expression that is only a column name
/// (`` `email` ``) is that column, as the server stores it.
fn key_part(index: &Index, k: usize) -> String {
    let part = &index.columns[k];
    if index.is_expression(k) {
        canonical_expression(part)
    } else {
        part.clone()
    }
}

fn index_changes(old: &TableSchema, new: &TableSchema, later: &mut Later) {
    for index in &old.indexes {
        if !new.indexes.iter().any(|i| same_index(i, index)) {
            later.drop_indexes.push(Change::DropIndex {
                table: new.name.clone(),
                index: index.clone(),
            });
        }
    }
    for index in &new.indexes {
        if !old.indexes.iter().any(|i| same_index(i, index)) {
            later.indexes.push(Change::CreateIndex {
                table: new.name.clone(),
                index: index.clone(),
            });
        }
    }
}

/// Whether two foreign keys do the same, names aside.
pub fn same_key(a: &ForeignKey, b: &ForeignKey) -> bool {
    a.columns == b.columns
        && a.referenced == b.referenced
        && a.referenced_columns == b.referenced_columns
        && a.on_delete == b.on_delete
        && a.on_update == b.on_update
}
