//! Column types per dialect. Names the dialect understands, and reads as
//! DBML means them, are written as in the DBML file (so the output reads
//! like the input and like dbml2sql's); other names are translated, so
//! that `schema sql` and `schema apply` make the same columns:
//!
//! | DBML | PostgreSQL | MySQL/MariaDB |
//! |---|---|---|
//! | `tinyint`, `mediumint`, `year` | `smallint`, `integer`, `smallint` | as written |
//! | `"tinyint unsigned"` … `"bigint unsigned"` (as `schema pull` writes them) | the next wider type; `numeric(20,0)` for `bigint unsigned` | as written |
//! | `int(11)` (display width) | `int` | as written |
//! | `serial`, `bigserial`, `smallserial` | as written | `int`, `bigint`, `smallint` with `AUTO_INCREMENT` |
//! | `int2`, `int4`, `int8`, `float4`, `float8` | as written | `smallint`, `int`, `bigint`, `float`, `double` |
//! | `datetime`, `time` (no precision: whole seconds) | `timestamp(0)`, `time(0)` | as written |
//! | `datetime(p)` | `timestamp(p)` | as written |
//! | `timestamp`, `timestamp without time zone` (microseconds unless given) | as written | `datetime(6)` |
//! | `timestamptz`, `timestamp with time zone` | as written | `timestamp(6)` (an instant in both) |
//! | `float` (single precision) | `real` | as written |
//! | `double` | `double precision` | as written |
//! | `tinytext` … `longtext`, `string` | `text` | as written; `string` → `text` |
//! | `varchar` without a length | `varchar` | `text` (MySQL needs a length) |
//! | `blob`, `tinyblob` … `longblob`, `binary`, `varbinary` | `bytea` | as written |
//! | `bytea` | as written | `longblob` |
//! | `json`, `jsonb` | `jsonb` | `json` |
//! | `uuid` | as written | `char(36)` (MySQL has no uuid type; MariaDB's is not in MySQL) |
//! | an enum | its `CREATE TYPE` name | inline `enum('a', 'b')` |
//! | `type[]` | `type[]` | `json` |
//! | any other name | as written | as written |

use crate::dbml::{DataType, Document};

use super::Dialect;
use super::names::{Namer, string_literal};

/// The PostgreSQL column type for a DBML type.
pub(super) fn postgres_type(doc: &Document, data_type: &DataType, namer: &Namer<'_>) -> String {
    let array = if data_type.array { "[]" } else { "" };
    if let Some(found) = doc.enum_named(&data_type.as_enum_name()) {
        return format!("{}{array}", namer.qualified(&found.name));
    }
    let lower = data_type.name.to_ascii_lowercase();
    if lower == "bigint unsigned" {
        return format!("numeric(20,0){array}");
    }
    let (name, args) = match lower.as_str() {
        "tinyint" | "year" => ("smallint", false),
        "mediumint" => ("integer", false),
        // Without a precision these keep whole seconds (MySQL's reading,
        // and the logical type's); PostgreSQL's would keep microseconds.
        "datetime" | "time" if data_type.args.is_empty() => {
            let name = if lower == "time" { "time" } else { "timestamp" };
            return format!("{name}(0){array}");
        }
        "datetime" => ("timestamp", true),
        // PostgreSQL reads `float` as double precision; DBML's `float`
        // is single precision, as in MySQL.
        "float" => ("real", false),
        "json" => ("jsonb", false),
        "double" => ("double precision", false),
        "tinytext" | "mediumtext" | "longtext" | "string" => ("text", false),
        "tinyblob" | "blob" | "mediumblob" | "longblob" | "binary" | "varbinary" => {
            ("bytea", false)
        }
        "nvarchar" => ("varchar", true),
        "nchar" => ("char", true),
        "tinyint unsigned" => ("smallint", false),
        "smallint unsigned" | "mediumint unsigned" => ("integer", false),
        "int unsigned" | "integer unsigned" => ("bigint", false),
        other if is_integer(other) => (data_type.name.as_str(), false),
        _ => (data_type.name.as_str(), true),
    };
    format!(
        "{}{}{array}",
        type_name(name, namer),
        arguments(data_type, args)
    )
}

/// The MySQL/MariaDB column type for a DBML type.
pub(super) fn mysql_type(doc: &Document, data_type: &DataType, namer: &Namer<'_>) -> String {
    if data_type.array {
        return "json".into();
    }
    if let Some(found) = doc.enum_named(&data_type.as_enum_name()) {
        let labels: Vec<String> = found
            .values
            .iter()
            .map(|v| string_literal(Dialect::Mysql, &v.name))
            .collect();
        return format!("enum({})", labels.join(", "));
    }
    let lower = data_type.name.to_ascii_lowercase();
    let fsp = data_type.args.first().map_or("6", String::as_str);
    let (name, args) = match lower.as_str() {
        // DBML's `timestamp` has no zone and keeps microseconds (as in
        // PostgreSQL); MySQL's `timestamp` is an instant in whole seconds.
        "timestamp" | "timestamp without time zone" => {
            return format!("datetime({})", fsp.trim());
        }
        "timestamptz" | "timestamp with time zone" => {
            return format!("timestamp({})", fsp.trim());
        }
        "jsonb" => ("json", false),
        "bytea" => ("longblob", false),
        "uuid" => ("char(36)", false),
        "serial" | "serial4" | "int4" => ("int", false),
        "bigserial" | "serial8" | "int8" => ("bigint", false),
        "smallserial" | "serial2" | "int2" => ("smallint", false),
        "float4" => ("float", false),
        "float8" => ("double", false),
        "character varying" | "varchar" if data_type.args.is_empty() => ("text", false),
        "character varying" => ("varchar", true),
        "string" => ("text", false),
        _ => (data_type.name.as_str(), true),
    };
    format!("{}{}", type_name(name, namer), arguments(data_type, args))
}

/// Whether MySQL makes the column auto-increment by its type alone.
pub(super) fn is_serial(data_type: &DataType) -> bool {
    matches!(
        data_type.name.to_ascii_lowercase().as_str(),
        "serial" | "serial2" | "serial4" | "serial8" | "smallserial" | "bigserial"
    )
}

pub(super) fn is_integer(lower: &str) -> bool {
    matches!(
        lower,
        "int"
            | "integer"
            | "int2"
            | "int4"
            | "int8"
            | "smallint"
            | "bigint"
            | "tinyint"
            | "mediumint"
    )
}

/// A type name as written when it is plain words, else quoted (so an odd
/// name fails as an unknown type instead of changing the statement).
fn type_name(name: &str, namer: &Namer<'_>) -> String {
    let plain = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ' ' | '(' | ')'));
    if plain {
        name.to_owned()
    } else {
        namer.quote(name)
    }
}

fn arguments(data_type: &DataType, keep: bool) -> String {
    if !keep || data_type.args.is_empty() {
        return String::new();
    }
    format!("({})", data_type.args.join(","))
}
