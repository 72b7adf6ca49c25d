//! PostgreSQL: logical types to column types, identifier quoting, DDL.
//!
//! The mapping from [`LogicalType`] to a PostgreSQL column type:
//!
//! | logical type | PostgreSQL type | why |
//! |---|---|---|
//! | `Bool` | `boolean` | |
//! | `Int8`, `UInt8`, `Int16` | `smallint` | PostgreSQL has no 1-byte integer |
//! | `UInt16`, `Int24`, `UInt24`, `Int32` | `integer` | |
//! | `UInt32`, `Int64` | `bigint` | |
//! | `UInt64` | `numeric(20,0)` | 18446744073709551615 exceeds `bigint` |
//! | `Float32` | `real` | |
//! | `Float64` | `double precision` | |
//! | `Decimal { p, s }` | `numeric(p,s)`; `numeric` without a precision | exact, never through f64 |
//! | `Char { n }`, `Varchar { n }` | `character varying(n)`; `text` without a length | length in characters; not `character(n)`, which pads with blanks that MySQL strips |
//! | `Text` | `text` | |
//! | `Binary`, `Varbinary`, `Blob` | `bytea` | |
//! | `Date` | `date` | zero dates (`0000-00-00`) have no PostgreSQL form: the sink writes NULL and counts a warning |
//! | `Time { fsp }` | `interval` | MySQL TIME spans ±838 hours and may be negative; `time` holds only 0–24 h |
//! | `DateTime { fsp }` | `timestamp(fsp) without time zone` | |
//! | `Timestamp { fsp }` | `timestamp(fsp) with time zone` (`timestamptz`) | an instant, stored as UTC |
//! | `Year` | `smallint` | |
//! | `Enum` | `text` | kept simple: no `CREATE TYPE` to keep in step with the source's label list |
//! | `Set` | `text[]` | one element per label, in the source's order |
//! | `Bit { width }` | `bit varying(width)` | a bit string prints as MySQL's `BIN()` padded to the width (`00101`); `bigint` could not hold `bit(64)` unsigned; varying, so a widened source column needs no rewrite |
//! | `Json` | `jsonb` | |
//! | `Uuid` | `uuid` | |
//! | `Array { element }` | element type followed by `[]` | |
//!
//! Type names are written the way PostgreSQL's `format_type()` prints them,
//! so that a sink can compare a live column's type with the expected one as
//! text (see [`type_holds`]).

use watershed_events::{Column, LogicalType, TableSchema};

/// Quotes an identifier: `"name"`, doubling any `"` inside.
pub fn quote_ident(identifier: &str) -> String {
    let mut quoted = String::with_capacity(identifier.len() + 2);
    quoted.push('"');
    for c in identifier.chars() {
        if c == '"' {
            quoted.push('"');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

/// `"schema"."table"`.
pub fn qualified_name(schema_name: &str, table_name: &str) -> String {
    format!("{}.{}", quote_ident(schema_name), quote_ident(table_name))
}

/// The PostgreSQL column type for a logical type, spelled as
/// `format_type()` prints it (see the module docs for the table).
pub fn column_type(logical: &LogicalType) -> String {
    use LogicalType::*;
    match logical {
        Bool => "boolean".into(),
        Int8 | UInt8 | Int16 | Year => "smallint".into(),
        UInt16 | Int24 | UInt24 | Int32 => "integer".into(),
        UInt32 | Int64 => "bigint".into(),
        UInt64 => "numeric(20,0)".into(),
        Float32 => "real".into(),
        Float64 => "double precision".into(),
        Decimal {
            precision: Some(precision),
            scale,
        } => format!("numeric({precision},{})", scale.unwrap_or(0)),
        Decimal {
            precision: None, ..
        } => "numeric".into(),
        Char {
            length: Some(length),
            ..
        }
        | Varchar {
            length: Some(length),
            ..
        } => format!("character varying({length})"),
        Char { length: None, .. } | Varchar { length: None, .. } | Text { .. } | Enum { .. } => {
            "text".into()
        }
        Binary { .. } | Varbinary { .. } | Blob => "bytea".into(),
        Date => "date".into(),
        Time { .. } => "interval".into(),
        DateTime { fsp } => format!("timestamp({}) without time zone", fsp.min(&6)),
        Timestamp { fsp } => format!("timestamp({}) with time zone", fsp.min(&6)),
        Set { .. } => "text[]".into(),
        Bit { width } => format!("bit varying({width})"),
        Json => "jsonb".into(),
        Uuid => "uuid".into(),
        Array { element } => format!("{}[]", column_type(element)),
    }
}

/// One column definition: `"name" type [NOT NULL]`.
pub fn column_definition(column: &Column) -> String {
    let null = if column.nullable { "" } else { " NOT NULL" };
    format!(
        "{} {}{null}",
        quote_ident(&column.name),
        column_type(&column.logical_type)
    )
}

/// `CREATE TABLE IF NOT EXISTS "schema"."table" (…, PRIMARY KEY (…))`.
///
/// Source defaults are not carried over: they are MySQL expressions, and a
/// replicated row always arrives with every value.
pub fn create_table(schema_name: &str, table_name: &str, table: &TableSchema) -> String {
    let mut parts: Vec<String> = table.columns.iter().map(column_definition).collect();
    if !table.primary_key.is_empty() {
        let key: Vec<String> = table.primary_key.iter().map(|k| quote_ident(k)).collect();
        parts.push(format!("PRIMARY KEY ({})", key.join(", ")));
    }
    format!(
        "CREATE TABLE IF NOT EXISTS {} ({})",
        qualified_name(schema_name, table_name),
        parts.join(", ")
    )
}

/// `ALTER TABLE "schema"."table" ADD COLUMN IF NOT EXISTS "name" type
/// [DEFAULT literal]`.
///
/// Always nullable. The source fills rows it already has with the column's
/// default without logging them; a literal default (a number, or a quoted
/// string as MariaDB reports it) is given here too, so PostgreSQL fills the
/// target's existing rows the same way. Expression defaults are not
/// translated: those rows get NULL.
pub fn add_column(schema_name: &str, table_name: &str, column: &Column) -> String {
    let default = column
        .default
        .as_deref()
        .filter(|d| is_portable_literal(d))
        .map(|d| format!(" DEFAULT {d}"))
        .unwrap_or_default();
    format!(
        "ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}{default}",
        qualified_name(schema_name, table_name),
        quote_ident(&column.name),
        column_type(&column.logical_type)
    )
}

/// A default both dialects read the same: a plain number, or a
/// single-quoted string without backslashes or MySQL zero dates.
fn is_portable_literal(default: &str) -> bool {
    let number = default.strip_prefix('-').unwrap_or(default);
    let is_number = !number.is_empty()
        && number.chars().all(|c| c.is_ascii_digit() || c == '.')
        && number.matches('.').count() <= 1;
    let is_string = default.len() >= 2
        && default.starts_with('\'')
        && default.ends_with('\'')
        && !default[1..default.len() - 1]
            .replace("''", "")
            .contains('\'')
        && !default.contains('\\')
        && !default.contains("0000-00-00");
    is_number || is_string
}

/// Whether a column of type `actual` holds every value of type `expected`,
/// both spelled as `format_type()` prints them: the same type, or the same
/// base type with a modifier at least as wide (`character varying(50)`
/// holds `character varying(20)`; `numeric` holds `numeric(10,2)`;
/// `numeric(12,4)` holds `numeric(10,2)`).
pub fn type_holds(actual: &str, expected: &str) -> bool {
    if actual == expected {
        return true;
    }
    let (actual_base, actual_mods) = split_modifiers(actual);
    let (expected_base, expected_mods) = split_modifiers(expected);
    if actual_base != expected_base {
        return false;
    }
    match (actual_mods.as_slice(), expected_mods.as_slice()) {
        ([], _) => true,
        (_, []) => false,
        ([a], [e]) => a >= e,
        ([a_precision, a_scale], [e_precision, e_scale]) => {
            a_scale >= e_scale && a_precision - a_scale >= e_precision - e_scale
        }
        ([a_precision, a_scale], [e_precision]) => a_precision - a_scale >= *e_precision,
        _ => false,
    }
}

/// Whether a column of type `actual` can be altered to `expected` without
/// losing any value: a larger length, precision or scale of the same type,
/// a wider integer, `real` to `double precision`, or a bounded string to
/// `text`.
pub fn widens(actual: &str, expected: &str) -> bool {
    const INTEGERS: [&str; 4] = ["smallint", "integer", "bigint", "numeric(20,0)"];
    let rank = |t: &str| INTEGERS.iter().position(|i| *i == t);
    if let (Some(from), Some(to)) = (rank(actual), rank(expected)) {
        return to > from;
    }
    if matches!((actual, expected), ("real", "double precision")) {
        return true;
    }
    let (actual_base, _) = split_modifiers(actual);
    let (expected_base, _) = split_modifiers(expected);
    if actual_base == "character varying" && expected == "text" {
        return true;
    }
    actual_base == expected_base && type_holds(expected, actual)
}

/// `timestamp(6) with time zone` → (`timestamp with time zone`, [6]).
fn split_modifiers(type_name: &str) -> (String, Vec<i64>) {
    let Some(open) = type_name.find('(') else {
        return (type_name.to_owned(), Vec::new());
    };
    let Some(close) = type_name[open..].find(')').map(|c| open + c) else {
        return (type_name.to_owned(), Vec::new());
    };
    let modifiers = type_name[open + 1..close]
        .split(',')
        .filter_map(|m| m.trim().parse().ok())
        .collect();
    let base = format!("{}{}", &type_name[..open], &type_name[close + 1..]);
    (base, modifiers)
}

#[cfg(test)]
mod default_tests {
    use watershed_events::{Column, LogicalType};

    use super::add_column;

    fn with_default(default: &str) -> String {
        let mut column = Column::new("tier", LogicalType::Text { charset: None }, false);
        column.default = Some(default.to_owned());
        add_column("raw", "t", &column)
    }

    #[test]
    fn literal_defaults_fill_existing_rows_and_expressions_do_not() {
        assert!(with_default("'basic'").ends_with("text DEFAULT 'basic'"));
        assert!(with_default("'it''s'").ends_with("DEFAULT 'it''s'"));
        assert!(with_default("-1.5").ends_with("DEFAULT -1.5"));
        assert!(with_default("current_timestamp()").ends_with("text"));
        assert!(with_default("'0000-00-00'").ends_with("text"));
        assert!(with_default("'a'); DROP TABLE x; --'").ends_with("text"));
    }
}

#[cfg(test)]
mod widening_tests {
    use super::widens;

    #[test]
    fn only_lossless_changes_widen() {
        assert!(widens("integer", "bigint"));
        assert!(widens("bigint", "numeric(20,0)"));
        assert!(widens("character varying(20)", "character varying(50)"));
        assert!(widens("character varying(20)", "text"));
        assert!(widens("numeric(10,2)", "numeric(12,4)"));
        assert!(widens("real", "double precision"));
        assert!(!widens("bigint", "integer"));
        assert!(!widens("character varying(50)", "character varying(20)"));
        assert!(!widens("numeric(10,2)", "numeric(10,4)"));
        assert!(!widens("text", "integer"));
    }
}

#[cfg(test)]
mod tests {
    use watershed_events::TableName;

    use super::*;

    fn decimal(precision: Option<u16>, scale: Option<u16>) -> LogicalType {
        LogicalType::Decimal { precision, scale }
    }

    #[test]
    fn every_logical_type_has_its_postgres_type() {
        use LogicalType::*;
        let cases = [
            (Bool, "boolean"),
            (Int8, "smallint"),
            (UInt8, "smallint"),
            (Int16, "smallint"),
            (UInt16, "integer"),
            (Int24, "integer"),
            (UInt24, "integer"),
            (Int32, "integer"),
            (UInt32, "bigint"),
            (Int64, "bigint"),
            (UInt64, "numeric(20,0)"),
            (Float32, "real"),
            (Float64, "double precision"),
            (decimal(Some(65), Some(30)), "numeric(65,30)"),
            (decimal(Some(10), None), "numeric(10,0)"),
            (decimal(None, None), "numeric"),
            (
                Char {
                    length: Some(3),
                    charset: None,
                },
                "character varying(3)",
            ),
            (
                Varchar {
                    length: Some(255),
                    charset: Some("utf8mb4".into()),
                },
                "character varying(255)",
            ),
            (
                Varchar {
                    length: None,
                    charset: None,
                },
                "text",
            ),
            (Text { charset: None }, "text"),
            (Binary { length: Some(16) }, "bytea"),
            (Varbinary { length: None }, "bytea"),
            (Blob, "bytea"),
            (Date, "date"),
            (Time { fsp: 6 }, "interval"),
            (DateTime { fsp: 6 }, "timestamp(6) without time zone"),
            (DateTime { fsp: 0 }, "timestamp(0) without time zone"),
            (Timestamp { fsp: 3 }, "timestamp(3) with time zone"),
            (Year, "smallint"),
            (
                Enum {
                    labels: vec!["a".into()],
                },
                "text",
            ),
            (
                Set {
                    labels: vec!["a".into()],
                },
                "text[]",
            ),
            (Bit { width: 5 }, "bit varying(5)"),
            (Json, "jsonb"),
            (Uuid, "uuid"),
            (
                Array {
                    element: Box::new(Int32),
                },
                "integer[]",
            ),
        ];
        for (logical, expected) in cases {
            assert_eq!(column_type(&logical), expected, "{logical:?}");
        }
    }

    #[test]
    fn create_table_has_not_null_and_the_primary_key() {
        let table = TableSchema {
            name: TableName::parse("shop.order items"),
            columns: vec![
                Column::new("id", LogicalType::UInt64, false),
                Column::new("line", LogicalType::Int32, false),
                Column::new("amount", decimal(Some(10), Some(2)), true),
                Column::new(r#"odd"name"#, LogicalType::Json, true),
            ],
            primary_key: vec!["id".into(), "line".into()],
            indexes: vec![],
            version: 1,
            foreign_keys: Vec::new(),
            comment: None,
        };
        assert_eq!(
            create_table("raw", "order items", &table),
            r#"CREATE TABLE IF NOT EXISTS "raw"."order items" ("id" numeric(20,0) NOT NULL, "line" integer NOT NULL, "amount" numeric(10,2), "odd""name" jsonb, PRIMARY KEY ("id", "line"))"#
        );
    }

    #[test]
    fn keyless_tables_have_no_primary_key_clause() {
        let table = TableSchema {
            name: TableName::parse("log"),
            columns: vec![Column::new("at", LogicalType::DateTime { fsp: 6 }, false)],
            primary_key: vec![],
            indexes: vec![],
            version: 1,
            foreign_keys: Vec::new(),
            comment: None,
        };
        assert_eq!(
            create_table("public", "log", &table),
            r#"CREATE TABLE IF NOT EXISTS "public"."log" ("at" timestamp(6) without time zone NOT NULL)"#
        );
        assert_eq!(
            add_column(
                "public",
                "log",
                &Column::new("n", LogicalType::Int64, false)
            ),
            r#"ALTER TABLE "public"."log" ADD COLUMN IF NOT EXISTS "n" bigint"#
        );
    }

    #[test]
    fn identifiers_are_quoted_with_doubled_quotes() {
        assert_eq!(quote_ident("plain"), r#""plain""#);
        assert_eq!(quote_ident(r#"a"b"#), r#""a""b""#);
        assert_eq!(qualified_name("s", "t"), r#""s"."t""#);
    }

    #[test]
    fn wider_types_hold_narrower_ones() {
        assert!(type_holds("bigint", "bigint"));
        assert!(type_holds("character varying(50)", "character varying(20)"));
        assert!(!type_holds(
            "character varying(10)",
            "character varying(20)"
        ));
        assert!(type_holds("text", "text"));
        assert!(!type_holds("text", "character varying(20)"));
        assert!(type_holds("numeric", "numeric(10,2)"));
        assert!(type_holds("numeric(12,4)", "numeric(10,2)"));
        assert!(!type_holds("numeric(10,2)", "numeric(10,4)"));
        assert!(!type_holds("numeric(10,2)", "numeric"));
        assert!(type_holds(
            "timestamp(6) with time zone",
            "timestamp(3) with time zone"
        ));
        assert!(!type_holds(
            "timestamp(6) without time zone",
            "timestamp(6) with time zone"
        ));
        assert!(!type_holds("integer", "bigint"));
        assert!(type_holds("bit varying(8)", "bit varying(5)"));
    }
}
