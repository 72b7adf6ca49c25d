//! What the DDL creates, in order: schemas, enums, tables (referenced
//! tables first; cycles broken in file order, which is safe because every
//! foreign key is added after all tables), a join table per many-to-many
//! ref, then the foreign keys.

use std::collections::{BTreeSet, HashSet};

use crate::dbml::{
    ColumnDef, ColumnSettings, DataType, Document, Endpoint, IndexDef, IndexPart, QualifiedName,
    Ref, RefAction, Relation, Table,
};

use super::DdlOptions;
use super::names::limit_identifier;

/// A foreign key to add after all tables exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    pub name: String,
    pub table: QualifiedName,
    pub columns: Vec<String>,
    pub target: QualifiedName,
    pub target_columns: Vec<String>,
    pub on_delete: Option<RefAction>,
    pub on_update: Option<RefAction>,
    /// The two tables are in different schemas and the options ask for
    /// such refs as comments.
    pub as_comment: bool,
}

/// Everything to create, in creation order.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Schemas other than the default, sorted.
    pub schemas: Vec<String>,
    /// Tables in dependency order, join tables last.
    pub tables: Vec<Table>,
    /// Names of the tables in `tables` that were made for `<>` refs.
    pub join_tables: Vec<QualifiedName>,
    pub foreign_keys: Vec<ForeignKey>,
}

/// Plans the DDL for a checked document.
pub fn plan(doc: &Document, options: &DdlOptions) -> Plan {
    let mut plan = Plan {
        schemas: schemas(doc),
        tables: dependency_order(doc),
        ..Plan::default()
    };
    let mut used_names: HashSet<String> = HashSet::new();
    let mut keys = Vec::new();
    for found in &doc.refs {
        if found.relation == Relation::ManyToMany {
            let (join, join_keys) = join_table(doc, found, &plan.tables);
            plan.join_tables.push(join.name.clone());
            plan.tables.push(join);
            keys.extend(join_keys);
        } else {
            keys.push(foreign_key(found));
        }
    }
    let position = |name: &QualifiedName| plan.tables.iter().position(|t| t.name.same_as(name));
    keys.sort_by_key(|k| position(&k.table));
    for mut key in keys {
        key.name = unique_name(&mut used_names, &key.name);
        key.as_comment =
            options.no_cross_schema_fks && key.table.schema_key() != key.target.schema_key();
        plan.foreign_keys.push(key);
    }
    plan
}

fn schemas(doc: &Document) -> Vec<String> {
    let tables = doc.tables.iter().map(|t| &t.name);
    let enums = doc.enums.iter().map(|e| &e.name);
    let set: BTreeSet<String> = tables
        .chain(enums)
        .filter_map(|n| n.schema.clone())
        .filter(|s| s != crate::dbml::DEFAULT_SCHEMA)
        .collect();
    set.into_iter().collect()
}

/// The table holding the key of a one-to-many, many-to-one or one-to-one
/// ref, and the one it references. For `-` this is what dbml2sql does: in
/// a standalone `Ref: a.x - b.y` the right side holds the key; in an
/// inline `[ref: - b.y]` the column that declares it does (the left side,
/// see `check::collect_inline_refs`).
pub(crate) fn holder_and_target(found: &Ref) -> (&Endpoint, &Endpoint) {
    match found.relation {
        Relation::ManyToOne => (&found.left, &found.right),
        Relation::OneToOne if found.inline => (&found.left, &found.right),
        _ => (&found.right, &found.left),
    }
}

fn foreign_key(found: &Ref) -> ForeignKey {
    let (holder, target) = holder_and_target(found);
    let default_name = format!("{}_{}_fkey", holder.table.name, holder.columns.join("_"));
    ForeignKey {
        name: found.name.clone().unwrap_or(default_name),
        table: holder.table.clone(),
        columns: holder.columns.clone(),
        target: target.table.clone(),
        target_columns: target.columns.clone(),
        on_delete: found.on_delete,
        on_update: found.on_update,
        as_comment: false,
    }
}

fn unique_name(used: &mut HashSet<String>, wanted: &str) -> String {
    let mut name = limit_identifier(wanted, 63);
    let mut n = 2;
    while !used.insert(name.clone()) {
        name = limit_identifier(&format!("{wanted}_{n}"), 63);
        n += 1;
    }
    name
}

/// Tables, referenced ones first; ties and cycles in file order.
fn dependency_order(doc: &Document) -> Vec<Table> {
    let count = doc.tables.len();
    let index = |name: &QualifiedName| doc.tables.iter().position(|t| t.name.same_as(name));
    let mut depends_on: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); count];
    for found in doc
        .refs
        .iter()
        .filter(|r| r.relation != Relation::ManyToMany)
    {
        let (holder, target) = holder_and_target(found);
        if let (Some(h), Some(t)) = (index(&holder.table), index(&target.table))
            && h != t
        {
            depends_on[h].insert(t);
        }
    }
    let mut done = vec![false; count];
    let mut order = Vec::with_capacity(count);
    while order.len() < count {
        let ready = (0..count).find(|&i| !done[i] && depends_on[i].iter().all(|&d| done[d]));
        // A cycle: take the first table left in file order.
        let next = ready
            .or_else(|| (0..count).find(|&i| !done[i]))
            .unwrap_or(0);
        done[next] = true;
        order.push(doc.tables[next].clone());
    }
    order
}

/// `<left>_<right>` with one column per key column of each side, all in
/// the primary key, and the two foreign keys.
fn join_table(doc: &Document, found: &Ref, tables: &[Table]) -> (Table, Vec<ForeignKey>) {
    let left = &found.left;
    let right = &found.right;
    let mut name = left.table.clone();
    name.name = format!("{}_{}", left.table.name, right.table.name);
    let base = name.name.clone();
    let mut n = 2;
    while tables.iter().any(|t| t.name.same_as(&name)) {
        name.name = format!("{base}_{n}");
        n += 1;
    }
    let mut columns: Vec<ColumnDef> = Vec::new();
    let left_columns = join_columns(doc, left, &mut columns);
    let right_columns = join_columns(doc, right, &mut columns);
    let index = IndexDef {
        parts: columns
            .iter()
            .map(|c| IndexPart::Column(c.name.clone(), c.span))
            .collect(),
        primary_key: true,
        ..IndexDef::default()
    };
    let key = |columns: Vec<String>, target: &Endpoint| ForeignKey {
        name: format!("{}_{}_fkey", name.name, columns.join("_")),
        table: name.clone(),
        columns,
        target: target.table.clone(),
        target_columns: target.columns.clone(),
        on_delete: found.on_delete,
        on_update: found.on_update,
        as_comment: false,
    };
    let keys = vec![key(left_columns, left), key(right_columns, right)];
    let table = Table {
        name: name.clone(),
        columns,
        indexes: vec![index],
        span: found.span,
        ..Table::default()
    };
    (table, keys)
}

/// Adds `<table>_<column>` for each column of `endpoint`, typed like the
/// column it references (auto-increment types become plain integers).
fn join_columns(doc: &Document, endpoint: &Endpoint, columns: &mut Vec<ColumnDef>) -> Vec<String> {
    let source = doc.table(&endpoint.table);
    let mut names = Vec::new();
    for column in &endpoint.columns {
        let mut name = format!("{}_{column}", endpoint.table.name);
        let base = name.clone();
        let mut n = 2;
        while columns.iter().any(|c| c.name == name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        let data_type = source
            .and_then(|t| t.column(column))
            .map(|c| plain_integer(&c.data_type))
            .unwrap_or_default();
        columns.push(ColumnDef {
            name: name.clone(),
            data_type,
            settings: ColumnSettings {
                not_null: Some(true),
                ..ColumnSettings::default()
            },
            span: endpoint.span,
        });
        names.push(name);
    }
    names
}

/// `serial` → `int`, `bigserial` → `bigint`, `smallserial` → `smallint`.
fn plain_integer(data_type: &DataType) -> DataType {
    let mut plain = data_type.clone();
    let replacement = match data_type.name.to_ascii_lowercase().as_str() {
        "serial" | "serial4" => "int",
        "bigserial" | "serial8" => "bigint",
        "smallserial" | "serial2" => "smallint",
        _ => return plain,
    };
    plain.name = replacement.to_owned();
    plain
}
