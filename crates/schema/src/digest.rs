//! Table digests for `watershed verify`: a row count and an
//! order-independent checksum, computed inside each database, over a
//! canonical text of every cell that MySQL/MariaDB and PostgreSQL render
//! identically. Rows are also hashed into buckets by key, so that a
//! difference can be narrowed to a few buckets and named by key without
//! pulling whole tables.
//!
//! Canonical forms: integers and exact decimals as plain digits; floats
//! rounded to 4 decimal places; text as UTF-8; bytes as lowercase hex;
//! dates `YYYY-MM-DD` (MySQL zero dates count as NULL, as the sink stores
//! them); times as signed seconds with 6 decimals; date-times
//! `YYYY-MM-DD HH:MM:SS.ffffff` (instants in UTC); sets as `a,b`; bits as
//! `0`/`1` strings of the column's width; JSON by presence only (see [`json_is_exact`]).

use watershed_events::{Column, LogicalType, TableSchema};

use crate::dialect::{mysql, postgres};

/// Number of key buckets a digest is split into.
pub const BUCKETS: u32 = 256;

/// Which database an expression is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Mysql,
    Postgres,
}

/// Whether JSON cells are compared exactly. They are not: MariaDB keeps
/// JSON as the text it was given while PostgreSQL's jsonb reorders keys, so
/// only the presence of a value is compared for JSON columns.
pub const fn json_is_exact() -> bool {
    false
}

/// The canonical text of one cell, as an SQL expression.
pub fn canonical(side: Side, column: &Column) -> String {
    let name = match side {
        Side::Mysql => mysql::quote_ident(&column.name),
        Side::Postgres => postgres::quote_ident(&column.name),
    };
    match side {
        Side::Mysql => mysql_canonical(&name, &column.logical_type),
        Side::Postgres => postgres_canonical(&name, &column.logical_type),
    }
}

fn mysql_canonical(c: &str, logical: &LogicalType) -> String {
    use LogicalType::*;
    match logical {
        Bool => format!("IF({c} IS NULL, NULL, IF({c}, 'true', 'false'))"),
        Float32 | Float64 => format!("CAST(CAST(ROUND({c}, 4) AS DECIMAL(65,4)) AS CHAR)"),
        Text { .. } | Char { .. } | Varchar { .. } | Enum { .. } | Set { .. } => {
            format!("CONVERT({c} USING utf8mb4)")
        }
        Binary { .. } | Varbinary { .. } | Blob => format!("LOWER(HEX({c}))"),
        Date => {
            format!("IF(MONTH({c}) = 0 OR DAYOFMONTH({c}) = 0, NULL, DATE_FORMAT({c}, '%Y-%m-%d'))")
        }
        Time { .. } => format!("CAST(TIME_TO_SEC({c}) AS DECIMAL(20,6))"),
        DateTime { .. } | Timestamp { .. } => format!(
            "IF(MONTH({c}) = 0 OR DAYOFMONTH({c}) = 0, NULL, DATE_FORMAT({c}, '%Y-%m-%d %H:%i:%s.%f'))"
        ),
        Bit { width } => format!("LPAD(BIN({c}), {width}, '0')"),
        Json => format!("IF({c} IS NULL, NULL, 'json')"),
        _ => format!("CAST({c} AS CHAR)"),
    }
}

fn postgres_canonical(c: &str, logical: &LogicalType) -> String {
    use LogicalType::*;
    match logical {
        Bool => format!("{c}::text"),
        Float32 | Float64 => format!("round({c}::numeric, 4)::text"),
        Set { .. } => format!("array_to_string({c}, ',')"),
        Binary { .. } | Varbinary { .. } | Blob => format!("encode({c}, 'hex')"),
        Date => format!("to_char({c}, 'YYYY-MM-DD')"),
        Time { .. } => format!("extract(epoch from {c})::numeric(20,6)::text"),
        DateTime { .. } => format!("to_char({c}, 'YYYY-MM-DD HH24:MI:SS.US')"),
        Timestamp { .. } => format!("to_char({c} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"),
        Bit { .. } => format!("{c}::text"),
        Json => format!("CASE WHEN {c} IS NULL THEN NULL ELSE 'json' END"),
        _ => format!("{c}::text"),
    }
}

/// The row's canonical text: each cell as `length:text` (NULL as `n`),
/// joined by `|`; the lengths keep `a|b`,`c` apart from `a`,`b|c`.
pub fn row_text(side: Side, columns: &[&Column]) -> String {
    let cells: Vec<String> = columns
        .iter()
        .map(|c| {
            let v = canonical(side, c);
            match side {
                Side::Mysql => format!("COALESCE(CONCAT(CHAR_LENGTH({v}), ':', {v}), 'n')"),
                Side::Postgres => format!("COALESCE(length({v}) || ':' || {v}, 'n')"),
            }
        })
        .collect();
    match side {
        Side::Mysql => format!("CONCAT_WS('|', {})", cells.join(", ")),
        Side::Postgres => format!("concat_ws('|', {})", cells.join(", ")),
    }
}

/// A 60-bit unsigned integer from the MD5 of `text`.
fn hash60(side: Side, text: &str) -> String {
    match side {
        Side::Mysql => format!("CAST(CONV(SUBSTRING(MD5({text}), 1, 15), 16, 10) AS UNSIGNED)"),
        Side::Postgres => format!("('x' || substr(md5({text}), 1, 15))::bit(60)::bigint"),
    }
}

/// The bucket (0..BUCKETS) of a row, from its key.
fn bucket(side: Side, key_text: &str) -> String {
    match side {
        Side::Mysql => format!("CAST(CONV(SUBSTRING(MD5({key_text}), 1, 2), 16, 10) AS UNSIGNED)"),
        Side::Postgres => format!("('x' || substr(md5({key_text}), 1, 2))::bit(8)::int"),
    }
}

fn key_columns(schema: &TableSchema) -> Vec<&Column> {
    let key = schema.primary_key_indices();
    if key.is_empty() {
        schema.columns.iter().collect()
    } else {
        key.into_iter().map(|i| &schema.columns[i]).collect()
    }
}

/// `SELECT bucket, count(*), sum(hash)` per key bucket of `qualified`.
pub fn bucket_digest_sql(side: Side, schema: &TableSchema, qualified: &str) -> String {
    let all: Vec<&Column> = schema.columns.iter().collect();
    let row = row_text(side, &all);
    let key = row_text(side, &key_columns(schema));
    let (sum, text) = match side {
        Side::Mysql => ("CAST(SUM(h) AS CHAR)", "CAST(COUNT(*) AS CHAR)"),
        Side::Postgres => ("sum(h)::text", "count(*)::text"),
    };
    format!(
        "SELECT b, {text}, {sum} FROM (SELECT {} AS b, {} AS h FROM {qualified}) AS d GROUP BY b ORDER BY b",
        bucket(side, &key),
        hash60(side, &row)
    )
}

/// `SELECT key text, row hash` for the rows of one bucket, to name the
/// keys that differ.
pub fn bucket_rows_sql(
    side: Side,
    schema: &TableSchema,
    qualified: &str,
    bucket_no: u32,
) -> String {
    let all: Vec<&Column> = schema.columns.iter().collect();
    let row = row_text(side, &all);
    let key = row_text(side, &key_columns(schema));
    let hash = match side {
        Side::Mysql => format!("CAST({} AS CHAR)", hash60(side, &row)),
        Side::Postgres => format!("{}::text", hash60(side, &row)),
    };
    format!(
        "SELECT {key}, {hash} FROM {qualified} WHERE {} = {bucket_no} ORDER BY 1",
        bucket(side, &key)
    )
}
