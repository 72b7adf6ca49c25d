//! A [`SchemaModel`] written as DBML: what `watershed schema pull`
//! prints. Tables, enums and refs are sorted by name, so the same
//! database always gives the same text. MySQL's inline enums become an
//! `Enum <table>_<column>` each; a one-column unique index becomes the
//! column's `unique`; composite primary keys go in `indexes`; index
//! expressions become backtick expressions (`` `lower(email)` ``).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use watershed_events::{Column, ForeignKey, Index, LogicalType, TableName, TableSchema};

use crate::ddl::Dialect;
use crate::diff::{canonical, canonical_default};
use crate::model::SchemaModel;

/// The DBML text for `model`, read from a `dialect` database. Defaults
/// the dialect implies (B-tree indexes, `RESTRICT`/`NO ACTION` actions)
/// are left out.
pub fn to_dbml(model: &SchemaModel, dialect: Dialect) -> String {
    let mut model = canonical(model, dialect);
    name_inline_enums(&mut model);
    let database_type = match dialect {
        Dialect::Postgres => "PostgreSQL",
        Dialect::Mysql => "MySQL",
    };
    let mut out = format!(
        "// Pulled by watershed.\n\nProject pulled {{\n  database_type: '{database_type}'\n}}\n"
    );
    for found in model.enums.values() {
        out.push_str(&format!("\nEnum {} {{\n", qualified(&found.name)));
        for label in &found.labels {
            out.push_str(&format!("  {}\n", identifier(label)));
        }
        out.push_str("}\n");
    }
    for table in model.tables.values() {
        out.push('\n');
        out.push_str(&table_text(&model, table, dialect));
    }
    let refs: Vec<String> = model
        .tables
        .values()
        .flat_map(|t| t.foreign_keys.iter().map(move |k| ref_text(&t.name, k)))
        .collect();
    if !refs.is_empty() {
        out.push('\n');
        for line in refs {
            out.push_str(&line);
        }
    }
    out
}

/// Gives every enum column without a named type (MySQL) an enum named
/// `<table>_<column>` in the table's schema.
fn name_inline_enums(model: &mut SchemaModel) {
    let mut added = Vec::new();
    for table in model.tables.values() {
        for column in &table.columns {
            let key = (table.name.clone(), column.name.clone());
            if model.enum_columns.contains_key(&key) {
                continue;
            }
            if let Some(labels) = enum_labels(&column.logical_type) {
                let name = TableName::new(
                    table.name.schema.as_deref(),
                    &format!("{}_{}", table.name.name, column.name),
                );
                added.push((key, name, labels.to_vec()));
            }
        }
    }
    for (key, name, labels) in added {
        model.enum_columns.insert(key, name.clone());
        model
            .enums
            .insert(name.clone(), crate::model::EnumType { name, labels });
    }
}

fn enum_labels(logical: &LogicalType) -> Option<&[String]> {
    match logical {
        LogicalType::Enum { labels } => Some(labels),
        LogicalType::Array { element } => enum_labels(element),
        _ => None,
    }
}

/// A name as DBML reads it: bare when it is a plain identifier, else in
/// double quotes.
fn identifier(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        name.to_owned()
    } else {
        format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

fn qualified(name: &TableName) -> String {
    match &name.schema {
        Some(schema) => format!("{}.{}", identifier(schema), identifier(&name.name)),
        None => identifier(&name.name),
    }
}

/// `'text'` with `\` and `'` escaped.
fn string(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('\'', "\\'")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
        .replace('\t', "\\t");
    format!("'{escaped}'")
}

fn table_text(model: &SchemaModel, table: &TableSchema, dialect: Dialect) -> String {
    let mut out = format!("Table {}", qualified(&table.name));
    if let Some(note) = &table.comment {
        out.push_str(&format!(" [note: {}]", string(note)));
    }
    out.push_str(" {\n");
    let single_pk = table.primary_key.len() == 1;
    for column in &table.columns {
        let unique = table
            .indexes
            .iter()
            .any(|i| is_column_unique(i) && i.columns == [column.name.clone()]);
        let in_pk = single_pk && table.primary_key[0] == column.name;
        out.push_str(&column_text(model, table, column, dialect, in_pk, unique));
    }
    let indexes: Vec<String> = table
        .indexes
        .iter()
        .filter(|i| !(is_column_unique(i) && i.columns.len() == 1))
        .map(index_text)
        .collect();
    if table.primary_key.len() > 1 || !indexes.is_empty() {
        out.push_str("\n  indexes {\n");
        if table.primary_key.len() > 1 {
            out.push_str(&format!("    ({}) [pk]\n", names(&table.primary_key)));
        }
        for line in indexes {
            out.push_str(&line);
        }
        out.push_str("  }\n");
    }
    out.push_str("}\n");
    out
}

fn names(columns: &[String]) -> String {
    columns
        .iter()
        .map(|c| identifier(c))
        .collect::<Vec<_>>()
        .join(", ")
}

fn column_text(
    model: &SchemaModel,
    table: &TableSchema,
    column: &Column,
    dialect: Dialect,
    in_pk: bool,
    unique: bool,
) -> String {
    let key = (table.name.clone(), column.name.clone());
    let data_type = match model.native_types.get(&key) {
        Some(native) => identifier(native),
        None => dbml_type(&column.logical_type, dialect, model.enum_columns.get(&key)),
    };
    let mut settings = Vec::new();
    if in_pk {
        settings.push("pk".to_owned());
    }
    if column.auto_increment {
        settings.push("increment".to_owned());
    }
    if !column.nullable && !in_pk {
        settings.push("not null".to_owned());
    }
    if unique {
        settings.push("unique".to_owned());
    }
    let default = column.default.as_deref().filter(|_| !column.auto_increment);
    if let Some(value) = default.and_then(|d| default_text(d, dialect)) {
        settings.push(format!("default: {value}"));
    }
    if let Some(note) = &column.comment {
        settings.push(format!("note: {}", string(note)));
    }
    let mut line = format!("  {} {data_type}", identifier(&column.name));
    if !settings.is_empty() {
        let _ = write!(line, " [{}]", settings.join(", "));
    }
    line.push('\n');
    line
}

/// A SQL default as a DBML default: strings, numbers and booleans as
/// literals, anything else as a backtick expression.
fn default_text(default: &str, dialect: Dialect) -> Option<String> {
    let text = canonical_default(default, dialect)?;
    if let Some(inner) = text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) {
        let value = inner.replace("''", "'");
        let value = match dialect {
            Dialect::Mysql => value.replace("\\\\", "\\"),
            Dialect::Postgres => value,
        };
        return Some(string(&value));
    }
    let number = text.strip_prefix('-').unwrap_or(&text);
    if matches!(text.as_str(), "true" | "false")
        || (!number.is_empty() && number.chars().all(|c| c.is_ascii_digit() || c == '.'))
    {
        return Some(text);
    }
    Some(format!("`{}`", text.replace('`', "")))
}

/// The DBML spelling of a logical type (see the table in
/// [`crate::dbml`]'s conversion: every spelling here reads back as the
/// same logical type).
pub fn dbml_type(logical: &LogicalType, dialect: Dialect, enum_type: Option<&TableName>) -> String {
    use LogicalType::*;
    let postgres = dialect == Dialect::Postgres;
    match logical {
        Bool => "boolean".into(),
        Int8 => "tinyint".into(),
        Int16 => "smallint".into(),
        Int24 => "mediumint".into(),
        Int32 => "int".into(),
        Int64 => "bigint".into(),
        UInt8 => "\"tinyint unsigned\"".into(),
        UInt16 => "\"smallint unsigned\"".into(),
        UInt24 => "\"mediumint unsigned\"".into(),
        UInt32 => "\"int unsigned\"".into(),
        UInt64 => "\"bigint unsigned\"".into(),
        Float32 if postgres => "real".into(),
        Float32 => "float".into(),
        Float64 => "double".into(),
        Decimal {
            precision: Some(p),
            scale,
        } => format!("decimal({p},{})", scale.unwrap_or(0)),
        Decimal { .. } => "decimal".into(),
        Char {
            length: Some(n), ..
        } => format!("char({n})"),
        Char { .. } => "char".into(),
        Varchar {
            length: Some(n), ..
        } => format!("varchar({n})"),
        Varchar { .. } => "varchar".into(),
        Text { .. } | Set { .. } => "text".into(),
        Binary { length: Some(n) } => format!("binary({n})"),
        Binary { .. } => "binary".into(),
        Varbinary { length: Some(n) } => format!("varbinary({n})"),
        Varbinary { .. } => "varbinary".into(),
        Blob if postgres => "bytea".into(),
        Blob => "blob".into(),
        Date => "date".into(),
        Time { fsp } => format!("time({fsp})"),
        DateTime { fsp } if postgres => format!("timestamp({fsp})"),
        DateTime { fsp } => format!("datetime({fsp})"),
        Timestamp { fsp } => format!("timestamptz({fsp})"),
        Year => "year".into(),
        Enum { .. } => enum_type.map_or("text".into(), qualified),
        Bit { width } => format!("bit({width})"),
        Json if postgres => "jsonb".into(),
        Json => "json".into(),
        Uuid => "uuid".into(),
        Array { element } => format!("{}[]", dbml_type(element, dialect, enum_type)),
    }
}

/// A unique index on plain columns with the default method: a one-column
/// one is written as the column's `unique`.
fn is_column_unique(index: &Index) -> bool {
    index.unique && index.method.is_none() && !index.has_expressions()
}

fn index_text(index: &Index) -> String {
    let parts: Vec<String> = index
        .columns
        .iter()
        .enumerate()
        .map(|(k, part)| {
            if index.is_expression(k) {
                expression(part)
            } else {
                identifier(part)
            }
        })
        .collect();
    let columns = if parts.len() == 1 {
        parts[0].clone()
    } else {
        format!("({})", parts.join(", "))
    };
    let mut settings = Vec::new();
    if index.unique {
        settings.push("unique".to_owned());
    }
    settings.push(format!("name: {}", string(&index.name)));
    if let Some(method) = &index.method {
        settings.push(format!("type: {method}"));
    }
    format!("    {columns} [{}]\n", settings.join(", "))
}

/// An index expression as a DBML backtick expression. DBML cannot escape
/// a backtick inside one, so MySQL's backtick quotes are dropped.
fn expression(text: &str) -> String {
    format!("`{}`", text.replace('`', ""))
}

fn endpoint(table: &TableName, columns: &[String]) -> String {
    match columns {
        [one] => format!("{}.{}", qualified(table), identifier(one)),
        many => format!("{}.({})", qualified(table), names(many)),
    }
}

fn ref_text(table: &TableName, key: &ForeignKey) -> String {
    let name = key
        .name
        .as_deref()
        .filter(|n| identifier(n) == *n)
        .map(|n| format!(" {n}"))
        .unwrap_or_default();
    let mut settings = Vec::new();
    let actions: BTreeMap<&str, &Option<String>> =
        [("delete", &key.on_delete), ("update", &key.on_update)]
            .into_iter()
            .collect();
    for (which, action) in actions {
        if let Some(action) = action.as_deref().filter(|a| *a != "no action") {
            settings.push(format!("{which}: {action}"));
        }
    }
    let settings = if settings.is_empty() {
        String::new()
    } else {
        format!(" [{}]", settings.join(", "))
    };
    format!(
        "Ref{name}: {} > {}{settings}\n",
        endpoint(table, &key.columns),
        endpoint(&key.referenced, &key.referenced_columns)
    )
}
