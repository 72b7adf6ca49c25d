//! A whole database schema as the schema tools see it: the tables (the
//! shared [`TableSchema`]), the named enum types and the schemas. DBML
//! files and live databases both become a [`SchemaModel`]; the differ
//! compares two of them.
//!
//! Names: a table or enum in the connection's default namespace
//! (PostgreSQL `public`, the MySQL database named in the URL, DBML's
//! unqualified names) has `schema: None`; every other one names its
//! schema (MySQL: database).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use watershed_events::{LogicalType, TableName, TableSchema};

use crate::dbml::{DEFAULT_SCHEMA, Document, to_table_schema};
use crate::ddl::{DdlOptions, plan};

/// A named enum type (PostgreSQL `CREATE TYPE … AS ENUM`; in MySQL each
/// column holds its labels inline, and DBML names them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnumType {
    pub name: TableName,
    pub labels: Vec<String>,
}

/// Tables, enum types and schemas of one database (or DBML file).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchemaModel {
    /// Schemas other than the default one that hold something, or that
    /// the source names.
    pub schemas: BTreeSet<String>,
    /// By name.
    pub enums: BTreeMap<TableName, EnumType>,
    /// By name.
    pub tables: BTreeMap<TableName, TableSchema>,
    /// Which enum type a column uses: `(table, column)` → the enum's name.
    /// `LogicalType::Enum` carries only the labels.
    pub enum_columns: BTreeMap<(TableName, String), TableName>,
    /// Database type names that have no logical type (PostgreSQL `inet`,
    /// …), by `(table, column)`; such columns are `Text` in `tables`.
    pub native_types: BTreeMap<(TableName, String), String>,
    /// A column's `check:` expressions, by `(table, column)`. Created with
    /// the table or column; not read back from databases nor compared.
    pub checks: BTreeMap<(TableName, String), Vec<String>>,
}

/// `public` and no schema are the same namespace.
pub fn normalize_name(name: &TableName) -> TableName {
    match name.schema.as_deref() {
        Some(DEFAULT_SCHEMA) | None => TableName::new(None, &name.name),
        Some(_) => name.clone(),
    }
}

impl SchemaModel {
    /// The model a checked DBML document describes, join tables of
    /// many-to-many refs included. Cross-schema refs stay foreign keys
    /// unless `options` (or the Project) ask for them as comments.
    pub fn from_document(doc: &Document, options: &DdlOptions) -> Self {
        let mut options = options.clone();
        options.no_cross_schema_fks |= doc
            .project_setting(crate::ddl::NO_CROSS_SCHEMA_FKS_SETTING)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let plan = plan(doc, &options);
        let mut model = SchemaModel {
            schemas: plan.schemas.iter().cloned().collect(),
            ..SchemaModel::default()
        };
        for found in &doc.enums {
            let name = normalize_name(&TableName::new(
                found.name.schema.as_deref(),
                &found.name.name,
            ));
            let labels = found.values.iter().map(|v| v.name.clone()).collect();
            model.enums.insert(name.clone(), EnumType { name, labels });
        }
        for table in &plan.tables {
            let mut schema = to_table_schema(doc, table);
            schema.name = normalize_name(&schema.name);
            schema.foreign_keys = plan_keys(&plan, table);
            for column in &table.columns {
                if !column.settings.checks.is_empty() {
                    model.checks.insert(
                        (schema.name.clone(), column.name.clone()),
                        column.settings.checks.clone(),
                    );
                }
                if let Some(found) = doc.enum_named(&column.data_type.as_enum_name()) {
                    let name = TableName::new(found.name.schema.as_deref(), &found.name.name);
                    model.enum_columns.insert(
                        (schema.name.clone(), column.name.clone()),
                        normalize_name(&name),
                    );
                }
            }
            model.tables.insert(schema.name.clone(), schema);
        }
        model.schemas.remove(DEFAULT_SCHEMA);
        model
    }

    /// The enum type column `column` of `table` uses, if it is named.
    pub fn enum_of(&self, table: &TableName, column: &str) -> Option<&TableName> {
        self.enum_columns.get(&(table.clone(), column.to_owned()))
    }

    /// The `check:` expressions of column `column` of `table`.
    pub fn checks_of(&self, table: &TableName, column: &str) -> &[String] {
        self.checks
            .get(&(table.clone(), column.to_owned()))
            .map_or(&[], Vec::as_slice)
    }

    /// Every schema named by a table or enum, and `schemas`.
    pub fn named_schemas(&self) -> BTreeSet<String> {
        let mut all = self.schemas.clone();
        let names = self.tables.keys().chain(self.enums.keys());
        all.extend(names.filter_map(|n| n.schema.clone()));
        all
    }

    /// Puts `prefix` before every schema name (tests keep MySQL databases
    /// apart on one server with it).
    pub fn prefix_schemas(&mut self, prefix: &str) {
        let rename = |n: &TableName| match &n.schema {
            Some(s) => TableName::new(Some(&format!("{prefix}{s}")), &n.name),
            None => n.clone(),
        };
        self.schemas = self
            .schemas
            .iter()
            .map(|s| format!("{prefix}{s}"))
            .collect();
        self.enums = std::mem::take(&mut self.enums)
            .into_values()
            .map(|mut e| {
                e.name = rename(&e.name);
                (e.name.clone(), e)
            })
            .collect();
        self.tables = std::mem::take(&mut self.tables)
            .into_values()
            .map(|mut t| {
                t.name = rename(&t.name);
                for key in &mut t.foreign_keys {
                    key.referenced = rename(&key.referenced);
                }
                (t.name.clone(), t)
            })
            .collect();
        self.enum_columns = std::mem::take(&mut self.enum_columns)
            .into_iter()
            .map(|((t, c), e)| ((rename(&t), c), rename(&e)))
            .collect();
        self.native_types = std::mem::take(&mut self.native_types)
            .into_iter()
            .map(|((t, c), n)| ((rename(&t), c), n))
            .collect();
        self.checks = std::mem::take(&mut self.checks)
            .into_iter()
            .map(|((t, c), n)| ((rename(&t), c), n))
            .collect();
    }
}

/// The plan's foreign keys held by `table`, without those written as
/// comments.
fn plan_keys(
    plan: &crate::ddl::Plan,
    table: &crate::dbml::Table,
) -> Vec<watershed_events::ForeignKey> {
    let action = |a: Option<crate::dbml::RefAction>| a.map(|a| a.sql().to_ascii_lowercase());
    plan.foreign_keys
        .iter()
        .filter(|k| !k.as_comment && k.table.same_as(&table.name))
        .map(|k| watershed_events::ForeignKey {
            name: Some(k.name.clone()),
            columns: k.columns.clone(),
            referenced: normalize_name(&TableName::new(k.target.schema.as_deref(), &k.target.name)),
            referenced_columns: k.target_columns.clone(),
            on_delete: action(k.on_delete),
            on_update: action(k.on_update),
        })
        .collect()
}

/// Whether `logical` (or its array element) is an enum.
pub fn is_enum(logical: &LogicalType) -> bool {
    match logical {
        LogicalType::Enum { .. } => true,
        LogicalType::Array { element } => is_enum(element),
        _ => false,
    }
}
