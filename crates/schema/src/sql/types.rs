//! Logical types as column types, for the statements `schema apply` runs:
//!
//! | logical type | PostgreSQL | MySQL/MariaDB |
//! |---|---|---|
//! | `Bool` | `boolean` | `tinyint(1)` |
//! | `Int8`, `Int16`, `Int24`, `Int32`, `Int64` | `smallint`, `smallint`, `integer`, `integer`, `bigint` | `tinyint` … `bigint` |
//! | `UInt8` … `UInt64` | the next wider signed type; `numeric(20,0)` for `UInt64` | `… unsigned` |
//! | `Float32`, `Float64` | `real`, `double precision` | `float`, `double` |
//! | `Decimal { p, s }` | `numeric(p,s)` | `decimal(p,s)` |
//! | `Char`, `Varchar` | `character(n)`, `character varying(n)` | `char(n)`, `varchar(n)` (`text` without a length) |
//! | `Text` | `text` | `text` |
//! | `Binary`, `Varbinary`, `Blob` | `bytea` | `binary(n)`, `varbinary(n)`, `longblob` |
//! | `Date`, `Time`, `DateTime`, `Timestamp` | `date`, `time(p)`, `timestamp(p)`, `timestamptz(p)` (no `(p)` for 6, PostgreSQL's own precision) | `date`, `time(p)`, `datetime(p)`, `timestamp(p)` |
//! | `Year` | `smallint` | `year` |
//! | `Enum` | the named type | `enum('a', …)` |
//! | `Set` | `text[]` | `set('a', …)` |
//! | `Bit { n }` | `bit varying(n)` | `bit(n)` |
//! | `Json` | `jsonb` | `json` |
//! | `Uuid` | `uuid` | `char(36)` |
//! | `Array` | `element[]` | `json` |

use watershed_events::{LogicalType, TableName};

use crate::ddl::Dialect;
use crate::dialect::postgres::{column_type, quote_ident};

use super::literal;

/// The PostgreSQL type; `enum_type` names the type of an enum column.
/// Where DDL written from a schema file spells a type differently from
/// what the sinks create (fixed-width char, unbounded varchar, time of
/// day, enum types, unclamped fractional seconds), it is spelled here;
/// everything else is the sinks' mapping.
pub fn postgres_type(logical: &LogicalType, enum_type: Option<&TableName>) -> String {
    use LogicalType::*;
    match logical {
        Char { length, .. } => format!("character({})", length.unwrap_or(1)),
        Varchar { length: None, .. } => "character varying".into(),
        // Without a precision PostgreSQL keeps microseconds (6), and
        // writes the type as `schema sql` does.
        Time { fsp: 6 } => "time without time zone".into(),
        DateTime { fsp: 6 } => "timestamp without time zone".into(),
        Timestamp { fsp: 6 } => "timestamp with time zone".into(),
        Time { fsp } => format!("time({fsp}) without time zone"),
        DateTime { fsp } => format!("timestamp({fsp}) without time zone"),
        Timestamp { fsp } => format!("timestamp({fsp}) with time zone"),
        Enum { .. } => match enum_type {
            Some(name) => qualified(name),
            None => "text".into(),
        },
        Array { element } => format!("{}[]", postgres_type(element, enum_type)),
        other => column_type(other),
    }
}

/// `"schema"."name"`, `public` for the default schema.
pub(super) fn qualified(name: &TableName) -> String {
    let schema = name
        .schema
        .as_deref()
        .unwrap_or(crate::dbml::DEFAULT_SCHEMA);
    format!("{}.{}", quote_ident(schema), quote_ident(&name.name))
}

/// The MySQL/MariaDB type.
pub fn mysql_type(logical: &LogicalType) -> String {
    use LogicalType::*;
    let labels = |labels: &[String]| {
        let quoted: Vec<String> = labels.iter().map(|l| literal(l, Dialect::Mysql)).collect();
        quoted.join(", ")
    };
    match logical {
        Bool => "tinyint(1)".into(),
        Int8 => "tinyint".into(),
        Int16 => "smallint".into(),
        Int24 => "mediumint".into(),
        Int32 => "int".into(),
        Int64 => "bigint".into(),
        UInt8 => "tinyint unsigned".into(),
        UInt16 => "smallint unsigned".into(),
        UInt24 => "mediumint unsigned".into(),
        UInt32 => "int unsigned".into(),
        UInt64 => "bigint unsigned".into(),
        Float32 => "float".into(),
        Float64 => "double".into(),
        Decimal { precision, scale } => {
            format!(
                "decimal({},{})",
                precision.unwrap_or(10),
                scale.unwrap_or(0)
            )
        }
        Char { length, .. } => format!("char({})", length.unwrap_or(1)),
        Varchar {
            length: Some(n), ..
        } => format!("varchar({n})"),
        Varchar { .. } | Text { .. } => "text".into(),
        Binary { length } => format!("binary({})", length.unwrap_or(1)),
        Varbinary { length: Some(n) } => format!("varbinary({n})"),
        Varbinary { .. } | Blob => "longblob".into(),
        Date => "date".into(),
        Time { fsp } => format!("time({fsp})"),
        DateTime { fsp } => format!("datetime({fsp})"),
        Timestamp { fsp } => format!("timestamp({fsp})"),
        Year => "year".into(),
        Enum { labels: l } => format!("enum({})", labels(l)),
        Set { labels: l } => format!("set({})", labels(l)),
        Bit { width } => format!("bit({width})"),
        Json | Array { .. } => "json".into(),
        Uuid => "char(36)".into(),
    }
}
