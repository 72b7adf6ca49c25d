//! SQL text and parameter binding for SQLite.

use rusqlite::types::{ToSqlOutput, ValueRef};
use watershed_events::{LogicalType, TableSchema, Value};

use crate::json::{Hex, JsonValue, Uuid};

/// The SQLite table for a source table: `name`, or `schema_name` when the
/// source has namespaces (SQLite's own schemas are attached files).
pub fn table_name(schema: &TableSchema) -> String {
    match &schema.name.schema {
        Some(namespace) => format!("{namespace}_{}", schema.name.name),
        None => schema.name.name.clone(),
    }
}

pub(crate) fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

/// SQLite's storage class for a logical type. Exact decimals and temporal
/// values are TEXT so that nothing is rounded.
pub(crate) fn column_type(logical: &LogicalType) -> &'static str {
    use LogicalType::*;
    match logical {
        Bool
        | Int8
        | Int16
        | Int24
        | Int32
        | Int64
        | UInt8
        | UInt16
        | UInt24
        | UInt32
        | Year
        | Bit { .. } => "INTEGER",
        Float32 | Float64 => "REAL",
        Binary { .. } | Varbinary { .. } | Blob => "BLOB",
        _ => "TEXT",
    }
}

pub(crate) fn create_table(schema: &TableSchema) -> String {
    let mut columns: Vec<String> = schema
        .columns
        .iter()
        .map(|c| {
            let null = if c.nullable { "" } else { " NOT NULL" };
            format!("{} {}{null}", quote(&c.name), column_type(&c.logical_type))
        })
        .collect();
    if !schema.primary_key.is_empty() {
        let key: Vec<String> = schema.primary_key.iter().map(|k| quote(k)).collect();
        columns.push(format!("PRIMARY KEY ({})", key.join(", ")));
    }
    format!(
        "CREATE TABLE IF NOT EXISTS {} ({})",
        quote(&table_name(schema)),
        columns.join(", ")
    )
}

pub(crate) fn insert(schema: &TableSchema) -> String {
    let names: Vec<String> = schema.columns.iter().map(|c| quote(&c.name)).collect();
    let params: Vec<String> = (1..=names.len()).map(|i| format!("?{i}")).collect();
    format!(
        "INSERT INTO {} ({}) VALUES ({})",
        quote(&table_name(schema)),
        names.join(", "),
        params.join(", ")
    )
}

/// The WHERE clause that finds a row by its key: the primary key, or every
/// column when the table has none. Parameters start at `first`.
pub(crate) fn key_filter(schema: &TableSchema, first: usize) -> (String, Vec<usize>) {
    let key = match schema.primary_key_indices() {
        key if key.is_empty() => (0..schema.columns.len()).collect(),
        key => key,
    };
    let terms: Vec<String> = key
        .iter()
        .enumerate()
        .map(|(n, &i)| format!("{} IS ?{}", quote(&schema.columns[i].name), first + n))
        .collect();
    (terms.join(" AND "), key)
}

/// Narrows a [`key_filter`] to one row when the table has no primary key:
/// a keyless table may hold identical rows, and a source change touches
/// exactly one of them.
pub(crate) fn one_row(schema: &TableSchema, filter: String) -> String {
    if !schema.primary_key_indices().is_empty() {
        return filter;
    }
    let table = quote(&table_name(schema));
    format!("rowid = (SELECT rowid FROM {table} WHERE {filter} LIMIT 1)")
}

/// A cell bound as an SQLite parameter.
pub(crate) struct Param<'a>(pub &'a Value);

impl rusqlite::ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        let text = |s: String| Ok(ToSqlOutput::Owned(rusqlite::types::Value::Text(s)));
        match self.0 {
            Value::Null | Value::Unchanged => Ok(ToSqlOutput::Borrowed(ValueRef::Null)),
            Value::Bool(b) => Ok(ToSqlOutput::from(*b)),
            Value::Int(i) => Ok(ToSqlOutput::from(*i)),
            Value::UInt(u) => match i64::try_from(*u) {
                Ok(i) => Ok(ToSqlOutput::from(i)),
                Err(_) => text(u.to_string()),
            },
            Value::Float32(f) => Ok(ToSqlOutput::from(f64::from(*f))),
            Value::Float64(f) => Ok(ToSqlOutput::from(*f)),
            Value::Decimal(d) => Ok(ToSqlOutput::Borrowed(ValueRef::Text(d.as_str().as_bytes()))),
            Value::Text(s) | Value::Enum(s) | Value::Json(s) => {
                Ok(ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())))
            }
            Value::Bytes(b) => Ok(ToSqlOutput::Borrowed(ValueRef::Blob(b))),
            Value::Date(d) => text(d.to_string()),
            Value::Time(t) => text(t.to_string()),
            Value::DateTime(dt) => text(dt.to_string()),
            Value::Timestamp(ts) => text(ts.to_string()),
            Value::Year(y) => Ok(ToSqlOutput::from(i64::from(*y))),
            Value::Set(labels) => text(labels.join(",")),
            Value::Bit { bits, .. } => match i64::try_from(*bits) {
                Ok(i) => Ok(ToSqlOutput::from(i)),
                Err(_) => text(format!("x'{}'", Hex(&bits.to_be_bytes()))),
            },
            Value::Uuid(bytes) => text(Uuid(bytes).to_string()),
            Value::Array(_) => {
                let json = serde_json::to_string(&JsonValue(self.0))
                    .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
                text(json)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use watershed_events::{Column, TableName};

    use super::*;

    fn orders() -> TableSchema {
        TableSchema {
            name: TableName::parse("shop.orders"),
            columns: vec![
                Column::new("id", LogicalType::Int64, false),
                Column::new(
                    "amount",
                    LogicalType::Decimal {
                        precision: None,
                        scale: None,
                    },
                    true,
                ),
            ],
            primary_key: vec!["id".into()],
            indexes: vec![],
            version: 1,
            foreign_keys: Vec::new(),
            comment: None,
        }
    }

    #[test]
    fn ddl_keeps_decimals_exact_and_quotes_names() {
        assert_eq!(
            create_table(&orders()),
            r#"CREATE TABLE IF NOT EXISTS "shop_orders" ("id" INTEGER NOT NULL, "amount" TEXT, PRIMARY KEY ("id"))"#
        );
        assert_eq!(quote(r#"we"ird"#), r#""we""ird""#);
    }

    #[test]
    fn keyless_tables_match_on_every_column() {
        let mut keyless = orders();
        keyless.primary_key.clear();
        let (filter, columns) = key_filter(&keyless, 1);
        assert_eq!(filter, r#""id" IS ?1 AND "amount" IS ?2"#);
        assert_eq!(columns, vec![0, 1]);
    }
}
