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

mod random {
    //! Random expressions over random rows, PostgreSQL as the oracle:
    //! each case is evaluated by both, an error on one side must be an
    //! error on the other.

    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    use super::*;

    /// Numeric expressions (integers and decimals) of depth `depth`.
    fn number(depth: u32) -> BoxedStrategy<String> {
        let leaf = prop_oneof![
            Just("n".to_owned()),
            Just("m".to_owned()),
            Just("d".to_owned()),
            (-1000i64..1000).prop_map(|n| format!("({n})::bigint")),
            // Decimals; integers are the `::bigint` ones above, since a bare
            // integer literal is a 32-bit int4 to PostgreSQL and a 64-bit
            // one to Watershed (see the expr module).
            (-99_999i64..99_999, 1u32..4).prop_map(|(n, s)| {
                let text = format!("{:.*}", s as usize, n as f64 / 10f64.powi(s as i32));
                format!("({text})")
            }),
            Just("null::bigint".to_owned()),
        ];
        if depth == 0 {
            return leaf.boxed();
        }
        let inner = number(depth - 1);
        let op = prop_oneof![Just("+"), Just("-"), Just("*"), Just("/"), Just("%")];
        prop_oneof![
            2 => leaf,
            2 => (inner.clone(), op, inner.clone()).prop_map(|(l, op, r)| format!("({l} {op} {r})")),
            1 => inner.clone().prop_map(|x| format!("abs({x})")),
            1 => inner.clone().prop_map(|x| format!("(-{x})")),
            1 => (inner.clone(), 0i64..4).prop_map(|(x, p)| format!("round({x}, {p})")),
            1 => (condition(depth - 1), inner.clone(), inner.clone())
                .prop_map(|(c, a, b)| format!("(case when {c} then {a} else {b} end)")),
            1 => (inner.clone(), inner).prop_map(|(a, b)| format!("coalesce({a}, {b})")),
        ]
        .boxed()
    }

    /// Text expressions.
    fn text(depth: u32) -> BoxedStrategy<String> {
        let leaf = prop_oneof![
            Just("s".to_owned()),
            Just("o".to_owned()),
            "[a-c ]{0,4}".prop_map(|t| format!("'{t}'")),
        ];
        if depth == 0 {
            return leaf.boxed();
        }
        let inner = text(depth - 1);
        prop_oneof![
            2 => leaf,
            1 => (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} || {b})")),
            1 => inner.clone().prop_map(|x| format!("upper({x})")),
            1 => inner.clone().prop_map(|x| format!("trim({x})")),
            1 => (inner.clone(), -2i64..5, 0i64..4).prop_map(|(x, f, l)| format!("substr({x}, {f}, {l})")),
            1 => (inner.clone(), number(0)).prop_map(|(x, n)| format!("({x} || {n})")),
        ]
        .boxed()
    }

    /// Conditions.
    fn condition(depth: u32) -> BoxedStrategy<String> {
        let cmp = prop_oneof![
            Just("="),
            Just("<>"),
            Just("<"),
            Just("<="),
            Just(">"),
            Just(">=")
        ];
        let leaf = prop_oneof![
            (number(0), cmp.clone(), number(0)).prop_map(|(l, op, r)| format!("({l} {op} {r})")),
            (text(0), cmp, text(0)).prop_map(|(l, op, r)| format!("({l} {op} {r})")),
            Just("b".to_owned()),
            number(0).prop_map(|x| format!("({x} is null)")),
            (number(0), number(0), number(0))
                .prop_map(|(x, lo, hi)| format!("({x} between {lo} and {hi})")),
            (text(0), text(0), text(0)).prop_map(|(x, a, b)| format!("({x} in ({a}, {b}))")),
        ];
        if depth == 0 {
            return leaf.boxed();
        }
        let inner = condition(depth - 1);
        prop_oneof![
            2 => leaf,
            1 => (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} and {b})")),
            1 => (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} or {b})")),
            1 => inner.prop_map(|x| format!("(not {x})")),
            1 => (number(depth - 1), number(depth - 1)).prop_map(|(a, b)| format!("({a} < {b})")),
        ]
        .boxed()
    }

    fn expression() -> BoxedStrategy<String> {
        prop_oneof![number(3), text(2), condition(3)].boxed()
    }

    /// A row of (n bigint, m bigint, d numeric(30,10), s text, o text, b boolean).
    #[derive(Debug, Clone)]
    struct Row {
        n: Option<i64>,
        m: Option<i64>,
        d: Option<(i64, u32)>,
        s: Option<String>,
        o: Option<String>,
        b: Option<bool>,
    }

    fn rows() -> impl Strategy<Value = Row> {
        (
            proptest::option::of(-1_000_000i64..1_000_000),
            proptest::option::of(prop_oneof![
                Just(0i64),
                Just(i64::MAX),
                Just(i64::MIN),
                -9i64..9
            ]),
            proptest::option::of((-10_000_000i64..10_000_000, 0u32..10)),
            proptest::option::of("[a-c ]{0,5}"),
            proptest::option::of("[a-c ]{0,5}"),
            proptest::option::of(any::<bool>()),
        )
            .prop_map(|(n, m, d, s, o, b)| Row { n, m, d, s, o, b })
    }

    fn decimal_text((units, scale): (i64, u32)) -> String {
        let sign = if units < 0 { "-" } else { "" };
        let digits = format!(
            "{:0>width$}",
            units.unsigned_abs(),
            width = scale as usize + 1
        );
        let (whole, fraction) = digits.split_at(digits.len() - scale as usize);
        if scale == 0 {
            format!("{sign}{whole}")
        } else {
            format!("{sign}{whole}.{fraction}")
        }
    }

    fn schema() -> TableSchema {
        let column = |name: &str, logical| Column::new(name, logical, true);
        TableSchema {
            name: TableName::new(None, "t"),
            columns: vec![
                column("n", LogicalType::Int64),
                column("m", LogicalType::Int64),
                column(
                    "d",
                    LogicalType::Decimal {
                        precision: Some(30),
                        scale: Some(10),
                    },
                ),
                column("s", LogicalType::Text { charset: None }),
                column("o", LogicalType::Text { charset: None }),
                column("b", LogicalType::Bool),
            ],
            primary_key: vec![],
            indexes: vec![],
            version: 1,
            foreign_keys: vec![],
            comment: None,
        }
    }

    fn values(row: &Row) -> Vec<Value> {
        vec![
            row.n.map_or(Value::Null, Value::Int),
            row.m.map_or(Value::Null, Value::Int),
            // As a numeric(30,10) column holds it: ten digits after the point.
            row.d.map_or(Value::Null, |(units, scale)| {
                let units = units * 10i64.pow(10 - scale);
                Value::Decimal(Decimal::parse(&decimal_text((units, 10))).expect("decimal"))
            }),
            row.s.as_deref().map_or(Value::Null, Value::text),
            row.o.as_deref().map_or(Value::Null, Value::text),
            row.b.map_or(Value::Null, Value::Bool),
        ]
    }

    fn sql_values(row: &Row) -> String {
        let text = |t: &Option<String>| t.as_ref().map_or("NULL".to_owned(), |t| format!("'{t}'"));
        format!(
            "({}::bigint, {}::bigint, {}::numeric(30,10), {}::text, {}::text, {}::boolean)",
            row.n.map_or("NULL".to_owned(), |n| format!("({n})")),
            row.m.map_or("NULL".to_owned(), |n| format!("({n})")),
            row.d
                .map_or("NULL".to_owned(), |d| format!("({})", decimal_text(d))),
            text(&row.s),
            text(&row.o),
            row.b.map_or("NULL".to_owned(), |b| b.to_string()),
        )
    }

    const TRY_EVAL: &str = "CREATE FUNCTION try_eval(q text) RETURNS text LANGUAGE plpgsql AS $f$ \
        DECLARE r text; BEGIN EXECUTE q INTO r; RETURN coalesce(r, '<null>'); \
        EXCEPTION WHEN others THEN RETURN 'error: ' || SQLERRM; END $f$;\n";

    #[test]
    fn random_expressions_over_random_rows_give_what_postgresql_gives() {
        let server = Postgres::shared();
        let database = server.create_database("random_expr").expect("a database");
        server
            .sql(&database, TRY_EVAL)
            .expect("the helper function");
        let cases = proptest::collection::vec((expression(), rows()), 150);
        let mut runner = TestRunner::new(Config {
            cases: 6,
            failure_persistence: None,
            ..Config::default()
        });
        let table = schema();
        let context = EvalContext {
            now: Timestamp::from_micros(0),
        };
        let result = runner.run(&cases, |cases| {
            let mut script = String::new();
            for (expression, row) in &cases {
                let query = format!(
                    "SELECT ({expression})::text FROM (VALUES {}) AS t(n, m, d, s, o, b)",
                    sql_values(row)
                );
                script.push_str(&format!("SELECT try_eval($q${query}$q$);\n"));
            }
            let output = server.sql(&database, &script).expect("PostgreSQL answers");
            let theirs: Vec<&str> = output.lines().collect();
            prop_assert_eq!(theirs.len(), cases.len());
            for ((expression, row), theirs) in cases.iter().zip(theirs) {
                let compiled = compile(expression, &table)
                    .map_err(|e| TestCaseError::fail(format!("does not compile: {e}")))?;
                let ours = match compiled.eval(&values(row), &context) {
                    Ok(value) => as_postgres_text(&value),
                    Err(e) => format!("error: {e}"),
                };
                // Errors match by being errors; their wording is each side's.
                let both_failed = ours.starts_with("error") && theirs.starts_with("error");
                if !both_failed {
                    prop_assert_eq!(&ours, theirs, "{} over {:?}", expression, row);
                }
            }
            Ok(())
        });
        if let Err(failure) = result {
            panic!("{failure}");
        }
    }
}
