//! Table digests for `watershed verify`: a row count and an
//! order-independent checksum, computed inside each database, over a
//! canonical text of every cell that MySQL/MariaDB and PostgreSQL render
//! identically. Rows are also hashed into buckets by key, so that a
//! difference can be narrowed to a few buckets and named by key without
//! pulling whole tables.
//!
//! Canonical forms, each exact (a different stored value gives a different
//! text) unless said otherwise:
//!
//! * integers (signed, unsigned, `bigint unsigned` as numeric(20,0)) as
//!   plain digits;
//! * exact decimals as plain digits with trailing fractional zeros and a
//!   bare `.` removed on both sides (`1.500` and `1.5` are `1.5`), all 30
//!   digits of a DECIMAL(65,30) kept;
//! * floats exactly, as an integer and a power of two (`1.5` is
//!   `6755399441055744p-52`, see `float_exact`); FLOAT is widened to
//!   DOUBLE first, which is exact (MariaDB prints FLOAT with six digits
//!   only, so its text would not do). Negative zero is zero (`0`), as
//!   MariaDB stores it;
//! * text as UTF-8; bytes as lowercase hex; bits as `0`/`1` strings of the
//!   column's width; sets as `a,b`;
//! * dates `YYYY-MM-DD` with the astronomical year (MariaDB's year 0 is
//!   PostgreSQL's 1 BC); zero and partly zero dates (`0000-00-00`,
//!   `2020-00-15`) count as NULL, or as the sink's `zero_dates`
//!   substitute when it has one, as the sink stores them;
//! * times as signed seconds with 6 decimals (TIME spans ±838 h; the
//!   target holds an interval); date-times `YYYY-MM-DD HH:MM:SS.ffffff`,
//!   instants in UTC;
//! * JSON by presence only (see [`json_is_exact`]).

use watershed_events::{Column, Date, LogicalType, TableSchema};

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

/// The canonical text of one cell, as an SQL expression. `zero_date` is
/// what the target holds for a MySQL zero date: NULL (`None`), or the
/// sink's `zero_dates` substitute, a date-time keeping its time; the
/// MySQL side renders its zero dates the same way.
pub fn canonical(side: Side, column: &Column, zero_date: Option<Date>) -> String {
    let name = match side {
        Side::Mysql => mysql::quote_ident(&column.name),
        Side::Postgres => postgres::quote_ident(&column.name),
    };
    match side {
        Side::Mysql => mysql_canonical(&name, &column.logical_type, zero_date),
        Side::Postgres => postgres_canonical(&name, &column.logical_type),
    }
}

fn mysql_canonical(c: &str, logical: &LogicalType, zero_date: Option<Date>) -> String {
    use LogicalType::*;
    match logical {
        Bool => format!("IF({c} IS NULL, NULL, IF({c}, 'true', 'false'))"),
        Float32 => float_exact(Side::Mysql, &format!("CAST({c} AS DOUBLE)")),
        Float64 => float_exact(Side::Mysql, c),
        Decimal { .. } => trimmed_decimal(&format!("CAST({c} AS CHAR)")),
        Text { .. } | Char { .. } | Varchar { .. } | Enum { .. } | Set { .. } => {
            format!("CONVERT({c} USING utf8mb4)")
        }
        Binary { .. } | Varbinary { .. } | Blob => format!("LOWER(HEX({c}))"),
        Date => {
            let zero = zero_date.map_or("NULL".into(), |d| format!("'{d}'"));
            format!(
                "IF(MONTH({c}) = 0 OR DAYOFMONTH({c}) = 0, {zero}, DATE_FORMAT({c}, '%Y-%m-%d'))"
            )
        }
        Time { .. } => format!("CAST(TIME_TO_SEC({c}) AS DECIMAL(20,6))"),
        DateTime { .. } | Timestamp { .. } => {
            let zero = zero_date.map_or("NULL".into(), |d| {
                format!("CONCAT('{d}', DATE_FORMAT({c}, ' %H:%i:%s.%f'))")
            });
            format!(
                "IF(MONTH({c}) = 0 OR DAYOFMONTH({c}) = 0, {zero}, \
                 DATE_FORMAT({c}, '%Y-%m-%d %H:%i:%s.%f'))"
            )
        }
        Bit { width } => format!("LPAD(BIN({c}), {width}, '0')"),
        Json => format!("IF({c} IS NULL, NULL, 'json')"),
        _ => format!("CAST({c} AS CHAR)"),
    }
}

fn postgres_canonical(c: &str, logical: &LogicalType) -> String {
    use LogicalType::*;
    match logical {
        Bool => format!("{c}::text"),
        // NaN and the infinities exist only in PostgreSQL: as themselves.
        Float32 | Float64 => format!(
            "CASE WHEN {c} IN ('NaN', 'Infinity', '-Infinity') THEN {c}::text ELSE {} END",
            float_exact(Side::Postgres, &format!("{c}::float8"))
        ),
        Decimal { .. } => trimmed_decimal(&format!("{c}::text")),
        Set { .. } => format!("array_to_string({c}, ',')"),
        Binary { .. } | Varbinary { .. } | Blob => format!("encode({c}, 'hex')"),
        Date => postgres_dated(c, "DATE '0001-01-01'", "-MM-DD"),
        Time { .. } => format!("extract(epoch from {c})::numeric(20,6)::text"),
        DateTime { .. } => postgres_dated(c, "TIMESTAMP '0001-01-01'", "-MM-DD HH24:MI:SS.US"),
        Timestamp { .. } => format!("to_char({c} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"),
        Bit { .. } => format!("{c}::text"),
        Json => format!("CASE WHEN {c} IS NULL THEN NULL ELSE 'json' END"),
        _ => format!("{c}::text"),
    }
}

/// A float `x` (a DOUBLE expression) exactly, as `MpE`: the integer `M`
/// and the power of two `E` with `x = M * 2^E`, where `E` is
/// `max(floor(log2 |x|), -1022) - 52` (so `|M| < 2^53`); any zero is `0`.
/// NULL is tested first: PostgreSQL's `concat` would turn it into `p`.
///
/// Only exact operations decide the result, so both servers agree on
/// every value: comparisons with powers of two, division by a power of
/// two, and the conversion of an integral double to an integer. The
/// logarithm only estimates the exponent; four comparisons correct it.
/// (The servers' shortest decimal texts do not always agree: PostgreSQL
/// prints 3.2368239342256128e16 where MariaDB prints 3.236823934225613e16.)
fn float_exact(side: Side, x: &str) -> String {
    let (estimate, power, as_int) = match side {
        Side::Mysql => (
            format!("CAST(FLOOR(LOG2(ABS({x}))) AS SIGNED)"),
            "POW(2, ",
            "SIGNED",
        ),
        Side::Postgres => (
            format!("CAST(floor(ln(abs({x})) / ln(2::float8)) AS integer)"),
            "power(2::float8, ",
            "bigint",
        ),
    };
    // Whether |x| >= 2^n, without computing a power out of range
    // (|x| < 2^1024, and a nonzero |x| >= 2^-1074).
    let at_least = |offset: i32| {
        let n = format!("({estimate} + {offset})");
        format!(
            "CASE WHEN {n} > 1023 THEN 0 WHEN {n} < -1074 THEN 1 \
             WHEN ABS({x}) >= {power}{n}) THEN 1 ELSE 0 END"
        )
    };
    let exponent = format!(
        "({estimate} - 2 + {} + {} + {} + {})",
        at_least(-1),
        at_least(0),
        at_least(1),
        at_least(2)
    );
    let scale = format!("GREATEST({exponent} - 52, -1074)");
    format!(
        "CASE WHEN {x} IS NULL THEN NULL WHEN {x} = 0 THEN '0' \
         ELSE CONCAT(CAST({x} / {power}{scale}) AS {as_int}), 'p', {scale}) END"
    )
}

/// An exact decimal's text `t` without trailing fractional zeros (and
/// without a `.` left bare), the same SQL on both sides.
fn trimmed_decimal(t: &str) -> String {
    format!(
        "CASE WHEN POSITION('.' IN {t}) > 0 \
         THEN TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM {t})) ELSE {t} END"
    )
}

/// A PostgreSQL date or timestamp `c` as `YYYY{rest}`, the year counted
/// astronomically as MariaDB does: 1 BC is year 0. `to_char`'s `YYYY`
/// alone would print 1 BC as `0001`.
fn postgres_dated(c: &str, first_ad: &str, rest: &str) -> String {
    format!(
        "CASE WHEN {c} < {first_ad} \
         THEN lpad((extract(year from {c})::int + 1)::text, 4, '0') || to_char({c}, '{rest}') \
         ELSE to_char({c}, 'YYYY{rest}') END"
    )
}

/// The row's canonical text: each cell as `length:text` (NULL as `n`),
/// joined by `|`; the lengths keep `a|b`,`c` apart from `a`,`b|c`.
pub fn row_text(side: Side, columns: &[&Column], zero_date: Option<Date>) -> String {
    let cells: Vec<String> = columns
        .iter()
        .map(|c| {
            let v = canonical(side, c, zero_date);
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

/// `SELECT bucket, count(*), sum(hash)` per key bucket of `qualified`;
/// `zero_date` as for [`canonical`].
pub fn bucket_digest_sql(
    side: Side,
    schema: &TableSchema,
    qualified: &str,
    zero_date: Option<Date>,
) -> String {
    let all: Vec<&Column> = schema.columns.iter().collect();
    let row = row_text(side, &all, zero_date);
    let key = row_text(side, &key_columns(schema), zero_date);
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
    zero_date: Option<Date>,
) -> String {
    let all: Vec<&Column> = schema.columns.iter().collect();
    let row = row_text(side, &all, zero_date);
    let key = row_text(side, &key_columns(schema), zero_date);
    let hash = match side {
        Side::Mysql => format!("CAST({} AS CHAR)", hash60(side, &row)),
        Side::Postgres => format!("{}::text", hash60(side, &row)),
    };
    format!(
        "SELECT {key}, {hash} FROM {qualified} WHERE {} = {bucket_no} ORDER BY 1",
        bucket(side, &key)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_type() -> Vec<LogicalType> {
        use LogicalType::*;
        vec![
            Bool,
            Int64,
            UInt64,
            Float32,
            Float64,
            Decimal {
                precision: Some(65),
                scale: Some(30),
            },
            Text { charset: None },
            Blob,
            Date,
            Time { fsp: 6 },
            DateTime { fsp: 6 },
            Timestamp { fsp: 6 },
            Bit { width: 64 },
            Set {
                labels: vec!["a".into()],
            },
            Json,
        ]
    }

    #[test]
    fn every_form_names_its_column_and_closes_its_parentheses() {
        for logical in every_type() {
            let column = Column::new("v", logical.clone(), true);
            for side in [Side::Mysql, Side::Postgres] {
                let sql = canonical(side, &column, None);
                let depth = sql.chars().try_fold(0i32, |depth, c| {
                    let depth = depth + i32::from(c == '(') - i32::from(c == ')');
                    (depth >= 0).then_some(depth)
                });
                assert_eq!(depth, Some(0), "{side:?} {logical:?}: {sql}");
                assert_eq!(
                    sql.matches('\'').count() % 2,
                    0,
                    "{side:?} {logical:?}: {sql}"
                );
                let name = match side {
                    Side::Mysql => "`v`",
                    Side::Postgres => "\"v\"",
                };
                assert!(sql.contains(name), "{side:?} {logical:?}: {sql}");
            }
        }
    }

    #[test]
    fn floats_are_never_rounded_or_read_from_text() {
        for logical in [LogicalType::Float32, LogicalType::Float64] {
            let column = Column::new("v", logical, true);
            for side in [Side::Mysql, Side::Postgres] {
                let sql = canonical(side, &column, None).to_lowercase();
                assert!(!sql.contains("round"), "{sql}");
                assert!(!sql.contains("as char") && sql.contains("'p'"), "{sql}");
            }
        }
    }

    #[test]
    fn decimals_are_trimmed_by_the_same_sql_on_both_sides() {
        let column = Column::new(
            "v",
            LogicalType::Decimal {
                precision: Some(65),
                scale: Some(30),
            },
            true,
        );
        let mysql = canonical(Side::Mysql, &column, None).replace("CAST(`v` AS CHAR)", "T");
        let postgres = canonical(Side::Postgres, &column, None).replace("\"v\"::text", "T");
        assert_eq!(mysql, postgres);
    }
}
