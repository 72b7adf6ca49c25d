//! Debezium's schema change records (`include.schema.changes`): one per
//! DDL, keyed by database, carrying the statement and the table's new
//! shape in `tableChanges`, as the MySQL connector writes them to the topic
//! named after `topic.prefix`.

use serde_json::{Value as Json, json};
use watershed_events::{Column, LogicalType, SchemaChange};

use super::envelope::{EnvelopeOptions, SourceInfo, source_block, source_schema};

/// A schema change record's key and value (schema-wrapped when the
/// options say so).
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRecord {
    pub key: Json,
    pub value: Json,
}

pub fn record(
    change: &SchemaChange,
    source: &SourceInfo,
    options: &EnvelopeOptions,
    now_micros: i64,
) -> HistoryRecord {
    let table = &change.table;
    let db = table.name.schema.clone().unwrap_or_default();
    let kind = if change.dropped {
        "DROP"
    } else if table.version <= 1 {
        "CREATE"
    } else {
        "ALTER"
    };
    let id = format!("\"{db}\".\"{}\"", table.name.name);
    let table_json = (!change.dropped).then(|| {
        json!({
            "defaultCharsetName": "utf8mb4",
            "primaryKeyColumnNames": table.primary_key,
            "columns": table.columns.iter().enumerate()
                .map(|(i, c)| column(c, i + 1)).collect::<Vec<_>>(),
            "comment": table.comment,
        })
    });
    let key = json!({ "databaseName": db });
    let payload = json!({
        "source": source_block(source, options, &table.name),
        "ts_ms": now_micros.div_euclid(1000),
        "databaseName": db,
        "schemaName": null,
        "ddl": change.ddl,
        "tableChanges": [{ "type": kind, "id": id, "table": table_json }],
    });
    if !options.schemas {
        return HistoryRecord {
            key,
            value: payload,
        };
    }
    HistoryRecord {
        key: json!({ "schema": key_schema(), "payload": key }),
        value: json!({ "schema": value_schema(), "payload": payload }),
    }
}

/// One column as Debezium's `io.debezium.connector.schema.Column`.
fn column(column: &Column, position: usize) -> Json {
    let (jdbc, name, charset, length, scale, labels) = describe(&column.logical_type);
    json!({
        "name": column.name,
        "jdbcType": jdbc,
        "nativeType": null,
        "typeName": name,
        "typeExpression": name,
        "charsetName": charset,
        "length": length,
        "scale": scale,
        "position": position,
        "optional": column.nullable,
        "autoIncremented": column.auto_increment,
        "generated": column.auto_increment,
        "comment": column.comment,
        "defaultValueExpression": column.default.as_deref().map(unquote),
        "enumValues": labels.map(|l| l.iter().map(|v| format!("'{v}'")).collect::<Vec<_>>()),
    })
}

type Described<'a> = (
    i32,
    String,
    Option<&'a str>,
    Option<i64>,
    Option<i64>,
    Option<&'a [String]>,
);

/// JDBC type code, MySQL type name, charset, length, scale and labels, as
/// Debezium's MySQL DDL parser reports them.
fn describe(logical: &LogicalType) -> Described<'_> {
    use LogicalType::*;
    let int =
        |jdbc: i32, name: &str, len: i64| (jdbc, name.to_owned(), None, Some(len), None, None);
    match logical {
        Bool => int(5, "TINYINT", 1),
        Int8 => int(5, "TINYINT", 4),
        UInt8 => int(5, "TINYINT UNSIGNED", 3),
        Int16 => int(5, "SMALLINT", 6),
        UInt16 => int(5, "SMALLINT UNSIGNED", 5),
        Int24 => int(4, "MEDIUMINT", 9),
        UInt24 => int(4, "MEDIUMINT UNSIGNED", 8),
        Int32 => int(4, "INT", 11),
        UInt32 => int(4, "INT UNSIGNED", 10),
        Int64 => int(-5, "BIGINT", 20),
        UInt64 => int(-5, "BIGINT UNSIGNED", 20),
        Float32 => (6, "FLOAT".into(), None, None, None, None),
        Float64 => (8, "DOUBLE".into(), None, None, None, None),
        Decimal { precision, scale } => (
            3,
            "DECIMAL".into(),
            None,
            precision.map(i64::from),
            scale.map(i64::from),
            None,
        ),
        Char { length, charset } => (
            1,
            "CHAR".into(),
            charset.as_deref(),
            length.map(i64::from),
            None,
            None,
        ),
        Varchar { length, charset } => (
            12,
            "VARCHAR".into(),
            charset.as_deref(),
            length.map(i64::from),
            None,
            None,
        ),
        Text { charset } => (12, "TEXT".into(), charset.as_deref(), None, None, None),
        Binary { length } => (-2, "BINARY".into(), None, length.map(i64::from), None, None),
        Varbinary { length } => (
            -3,
            "VARBINARY".into(),
            None,
            length.map(i64::from),
            None,
            None,
        ),
        Blob => (2004, "BLOB".into(), None, None, None, None),
        Date => (91, "DATE".into(), None, None, None, None),
        Time { fsp } => (92, "TIME".into(), None, fsp_length(*fsp), None, None),
        DateTime { fsp } => (93, "DATETIME".into(), None, fsp_length(*fsp), None, None),
        Timestamp { fsp } => (2014, "TIMESTAMP".into(), None, fsp_length(*fsp), None, None),
        Year => int(4, "YEAR", 4),
        Enum { labels } => (
            1,
            "ENUM".into(),
            Some("utf8mb4"),
            Some(1),
            None,
            Some(labels),
        ),
        Set { labels } => (
            1,
            "SET".into(),
            Some("utf8mb4"),
            Some(labels.len().saturating_mul(2).saturating_sub(1) as i64),
            None,
            Some(labels),
        ),
        Bit { width } => (-7, "BIT".into(), None, Some(i64::from(*width)), None, None),
        // MariaDB stores JSON as LONGTEXT, and Debezium reads it as that.
        Json => (12, "LONGTEXT".into(), Some("utf8mb4"), None, None, None),
        Uuid => (1, "UUID".into(), None, None, None, None),
        Array { .. } => (2003, "ARRAY".into(), None, None, None, None),
    }
}

fn fsp_length(fsp: u8) -> Option<i64> {
    (fsp > 0).then_some(i64::from(fsp))
}

/// Debezium reports a string default without its quotes.
fn unquote(default: &str) -> String {
    default
        .strip_prefix('\'')
        .and_then(|d| d.strip_suffix('\''))
        .unwrap_or(default)
        .replace("''", "'")
}

fn field(kind: &str, optional: bool, name: &str) -> Json {
    json!({ "type": kind, "optional": optional, "field": name })
}

fn strings(optional: bool, name: &str) -> Json {
    json!({
        "type": "array",
        "items": { "type": "string", "optional": false },
        "optional": optional,
        "field": name,
    })
}

fn key_schema() -> Json {
    json!({
        "type": "struct",
        "fields": [field("string", false, "databaseName")],
        "optional": false,
        "name": "io.debezium.connector.mysql.SchemaChangeKey",
        "version": 1,
    })
}

fn value_schema() -> Json {
    let column = json!({
        "type": "struct",
        "fields": [
            field("string", false, "name"),
            field("int32", false, "jdbcType"),
            field("int32", true, "nativeType"),
            field("string", false, "typeName"),
            field("string", true, "typeExpression"),
            field("string", true, "charsetName"),
            field("int32", true, "length"),
            field("int32", true, "scale"),
            field("int32", false, "position"),
            field("boolean", true, "optional"),
            field("boolean", true, "autoIncremented"),
            field("boolean", true, "generated"),
            field("string", true, "comment"),
            field("string", true, "defaultValueExpression"),
            strings(true, "enumValues"),
        ],
        "optional": false,
        "name": "io.debezium.connector.schema.Column",
        "version": 1,
    });
    let table = json!({
        "type": "struct",
        "fields": [
            field("string", true, "defaultCharsetName"),
            strings(true, "primaryKeyColumnNames"),
            { "type": "array", "items": column, "optional": false, "field": "columns" },
            field("string", true, "comment"),
        ],
        "optional": true,
        "name": "io.debezium.connector.schema.Table",
        "version": 1,
        "field": "table",
    });
    let change = json!({
        "type": "struct",
        "fields": [field("string", false, "type"), field("string", false, "id"), table],
        "optional": false,
        "name": "io.debezium.connector.schema.Change",
        "version": 1,
    });
    json!({
        "type": "struct",
        "fields": [
            source_schema(),
            field("int64", false, "ts_ms"),
            field("string", true, "databaseName"),
            field("string", true, "schemaName"),
            field("string", true, "ddl"),
            { "type": "array", "items": change, "optional": false, "field": "tableChanges" },
        ],
        "optional": false,
        "name": "io.debezium.connector.mysql.SchemaChangeValue",
        "version": 1,
    })
}
