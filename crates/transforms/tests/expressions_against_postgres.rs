//! The expression language against its reference: each expression is
//! evaluated by Watershed over a row and by PostgreSQL (from the testkit)
//! over the same row in a table of the same types, and the two results
//! must be the same value, as PostgreSQL writes it as text.

use watershed_events::{
    Column, Date, DateTime, Decimal, LogicalType, TableName, TableSchema, Timestamp, Value,
};
use watershed_testkit::Postgres;
use watershed_transforms::expr::{EvalContext, compile};

/// Columns as Watershed types them, and as PostgreSQL does.
const COLUMNS: &[(&str, &str)] = &[
    ("id", "bigint"),
    ("amount", "numeric(65,30)"),
    ("status", "varchar(20)"),
    ("rate", "integer"),
    ("ts", "timestamptz"),
    ("created_at", "timestamp"),
    ("day", "date"),
    ("ratio", "double precision"),
    ("note", "text"),
    ("paid", "boolean"),
    ("big", "numeric(20,0)"),
];

const ROW: &str = "7, 12.500000000000000000000000000001, 'paid', 72, '2025-12-31T23:59:00.5Z', \
    '2024-02-29 13:14:15.123456', '2024-03-01', 0.5, NULL, true, 18446744073709551615";

fn table() -> TableSchema {
    let logical = |pg: &str| match pg {
        "bigint" => LogicalType::Int64,
        "integer" => LogicalType::Int32,
        "numeric(65,30)" => LogicalType::Decimal {
            precision: Some(65),
            scale: Some(30),
        },
        "numeric(20,0)" => LogicalType::UInt64,
        "varchar(20)" => LogicalType::Varchar {
            length: Some(20),
            charset: None,
        },
        "timestamptz" => LogicalType::Timestamp { fsp: 6 },
        "timestamp" => LogicalType::DateTime { fsp: 6 },
        "date" => LogicalType::Date,
        "double precision" => LogicalType::Float64,
        "boolean" => LogicalType::Bool,
        _ => LogicalType::Text { charset: None },
    };
    TableSchema {
        name: TableName::new(None, "t"),
        columns: COLUMNS
            .iter()
            .map(|(name, pg)| Column::new(name, logical(pg), true))
            .collect(),
        primary_key: vec!["id".into()],
        indexes: vec![],
        version: 1,
        foreign_keys: vec![],
        comment: None,
    }
}

fn row() -> Vec<Value> {
    vec![
        Value::Int(7),
        Value::Decimal(Decimal::parse("12.500000000000000000000000000001").expect("decimal")),
        Value::text("paid"),
        Value::Int(72),
        Value::Timestamp(Timestamp::parse_rfc3339("2025-12-31T23:59:00.5Z").expect("instant")),
        Value::DateTime(DateTime::parse("2024-02-29 13:14:15.123456").expect("datetime")),
        Value::Date(Date::parse("2024-03-01").expect("date")),
        Value::Float64(0.5),
        Value::Null,
        Value::Bool(true),
        Value::UInt(u64::MAX),
    ]
}

/// A value as PostgreSQL's `::text` writes it (session time zone UTC);
/// NULL as `<null>`.
fn as_postgres_text(value: &Value) -> String {
    match value {
        Value::Null => "<null>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(n) => n.to_string(),
        Value::Decimal(d) => d.as_str().to_owned(),
        Value::Float64(x) => x.to_string(),
        Value::Text(s) => s.to_string(),
        Value::Date(d) => d.to_string(),
        Value::DateTime(dt) => without_trailing_zeros(&dt.to_string()),
        Value::Timestamp(ts) => format!(
            "{}+00",
            without_trailing_zeros(&ts.to_datetime().to_string())
        ),
        other => format!("{other:?}"),
    }
}

/// `12:00:00.500000` → `12:00:00.5`, `12:00:00.000000` → `12:00:00`.
fn without_trailing_zeros(text: &str) -> String {
    match text.split_once('.') {
        Some((whole, fraction)) => {
            let fraction = fraction.trim_end_matches('0');
            if fraction.is_empty() {
                whole.to_owned()
            } else {
                format!("{whole}.{fraction}")
            }
        }
        None => text.to_owned(),
    }
}

const EXPRESSIONS: &[&str] = &[
    "rate between 20 and 250",
    "rate not between 20 and 70",
    "status in ('new', 'paid', 'shipped')",
    "status in ('new', null)",
    "note is null",
    "note = 'x' and rate > 100",
    "note = 'x' or rate > 0",
    "note = 'x' or rate > 100",
    "not (note = 'x')",
    "amount > 12.5",
    "big > 9223372036854775807",
    "amount + 1",
    "amount * 1.2",
    "0.1 + 0.2 = 0.3",
    "1 / 3.0",
    "10 / 4.0",
    "2 / 3.0 * 3",
    "amount / 2",
    "amount / 7",
    "12345.678 / 0.003",
    "big + 1",
    "round(2.5)",
    "round(amount, 2)",
    "round(-2.5)",
    "rate / 10",
    "rate % 10",
    "-rate",
    "upper(status) || '-' || id",
    // ASCII: the testkit's server runs with the C locale, where lower()
    // leaves other letters alone; Watershed lowers all of Unicode.
    "lower('AbC')",
    "length('héllo')",
    "substr('watershed', 6)",
    "substring('watershed' from 1 for 5)",
    "substr('abc', 0, 2)",
    "substr('abc', -3, 5)",
    "trim('  a b  ')",
    "status || note",
    "coalesce(note, status, 'x')",
    "case when rate > 100 then 'high' when rate > 50 then 'mid' else 'low' end",
    "case status when 'paid' then 1 else 0 end",
    "cast('42' as int) + 1",
    "'3.50'::numeric",
    "amount::int",
    "rate::text",
    "ratio::numeric",
    "ratio * 3",
    "cast(created_at as date)",
    "ts + interval '1 minute'",
    "ts - interval '1' hour",
    "created_at + interval '1 month'",
    "created_at - interval '2 hours 30 minutes'",
    "date_trunc('hour', ts)",
    "date_trunc('day', created_at)",
    "date_trunc('week', created_at)",
    "date_trunc('quarter', created_at)",
    "extract(year from ts)",
    "extract(second from created_at)",
    "extract(dow from day)",
    "extract(isodow from day)",
    "extract(doy from day)",
    "extract(week from day)",
    "extract(epoch from ts)",
    "extract(epoch from created_at)",
    "day - 1",
    "day - '2024-01-01'::date",
    "created_at > '2024-01-01'",
    "day = '2024-03-01'",
    "abs(-amount)",
];

#[test]
fn every_expression_gives_what_postgresql_gives() {
    let server = Postgres::shared();
    let database = server.create_database("expr").expect("a database");
    let columns: Vec<String> = COLUMNS.iter().map(|(n, t)| format!("{n} {t}")).collect();
    let mut script = format!(
        "SET timezone = 'UTC';\nCREATE TABLE t ({});\nINSERT INTO t VALUES ({ROW});\n",
        columns.join(", ")
    );
    for expression in EXPRESSIONS {
        script.push_str(&format!(
            "SELECT coalesce(({expression})::text, '<null>') FROM t;\n"
        ));
    }
    let output = server
        .sql(&database, &script)
        .expect("PostgreSQL evaluates them");
    let theirs: Vec<&str> = output.lines().collect();
    assert_eq!(theirs.len(), EXPRESSIONS.len(), "{output}");
    let context = EvalContext {
        now: Timestamp::from_micros(0),
    };
    let (table, row) = (table(), row());
    let mut differences = Vec::new();
    for (expression, theirs) in EXPRESSIONS.iter().zip(theirs) {
        let compiled = compile(expression, &table).unwrap_or_else(|e| panic!("{e}"));
        let ours = match compiled.eval(&row, &context) {
            Ok(value) => as_postgres_text(&value),
            Err(e) => format!("error: {e}"),
        };
        if ours != theirs {
            differences.push(format!("{expression}: ours {ours}, PostgreSQL {theirs}"));
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}
