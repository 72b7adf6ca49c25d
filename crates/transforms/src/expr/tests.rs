//! Table-driven tests of the expression language: each operator and
//! function, NULL semantics, exact decimals, and the errors compile and
//! evaluation give.

use watershed_events::{
    Column, Date, DateTime, Decimal, LogicalType, TableName, TableSchema, Timestamp, Value,
};

use super::*;

fn table() -> TableSchema {
    let column = |name: &str, logical| Column::new(name, logical, true);
    TableSchema {
        name: TableName::new(Some("shop"), "orders"),
        columns: vec![
            column("id", LogicalType::Int64),
            column(
                "amount",
                LogicalType::Decimal {
                    precision: Some(65),
                    scale: Some(30),
                },
            ),
            column(
                "status",
                LogicalType::Varchar {
                    length: Some(20),
                    charset: None,
                },
            ),
            column("rate", LogicalType::Int32),
            column("ts", LogicalType::Timestamp { fsp: 6 }),
            column("created_at", LogicalType::DateTime { fsp: 6 }),
            column("day", LogicalType::Date),
            column("ratio", LogicalType::Float64),
            column("note", LogicalType::Text { charset: None }),
            column("paid", LogicalType::Bool),
            column("big", LogicalType::UInt64),
            column("photo", LogicalType::Blob),
        ],
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
        Value::Decimal(Decimal::parse("12.500000000000000000000000000001").unwrap()),
        Value::text("paid"),
        Value::Int(72),
        Value::Timestamp(Timestamp::parse_rfc3339("2025-12-31T23:59:00.5Z").unwrap()),
        Value::DateTime(DateTime::parse("2024-02-29 13:14:15.123456").unwrap()),
        Value::Date(Date::parse("2024-03-01").unwrap()),
        Value::Float64(0.5),
        Value::Null,
        Value::Bool(true),
        Value::UInt(u64::MAX),
        Value::Bytes(vec![1].into()),
    ]
}

fn context() -> EvalContext {
    EvalContext {
        now: Timestamp::parse_rfc3339("2026-01-01T00:00:00Z").unwrap(),
    }
}

fn eval(text: &str) -> Value {
    let compiled = compile(text, &table()).unwrap_or_else(|e| panic!("{e}"));
    compiled
        .eval(&row(), &context())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn eval_error(text: &str) -> String {
    let compiled = compile(text, &table()).unwrap_or_else(|e| panic!("{e}"));
    compiled.eval(&row(), &context()).unwrap_err().to_string()
}

fn compile_error(text: &str) -> String {
    compile(text, &table()).unwrap_err().to_string()
}

fn decimal(text: &str) -> Value {
    Value::Decimal(Decimal::parse(text).unwrap())
}

#[test]
fn comparisons_and_logic_follow_three_valued_logic() {
    let cases: &[(&str, Value)] = &[
        ("rate between 20 and 250", Value::Bool(true)),
        ("rate not between 20 and 70", Value::Bool(true)),
        ("status in ('new', 'paid', 'shipped')", Value::Bool(true)),
        ("status not in ('new')", Value::Bool(true)),
        ("status in ('new', null)", Value::Null),
        ("note is null", Value::Bool(true)),
        ("note is not null", Value::Bool(false)),
        ("note = 'x'", Value::Null),
        ("note = 'x' and rate > 100", Value::Bool(false)),
        ("note = 'x' or rate > 0", Value::Bool(true)),
        ("note = 'x' or rate > 100", Value::Null),
        ("not (note = 'x')", Value::Null),
        ("paid and rate <> 72", Value::Bool(false)),
        ("rate >= 72 and rate <= 72", Value::Bool(true)),
        ("amount > 12.5", Value::Bool(true)),
        ("ratio < 1", Value::Bool(true)),
        ("big > 9223372036854775807", Value::Bool(true)),
    ];
    for (text, expected) in cases {
        assert_eq!(&eval(text), expected, "{text}");
    }
}

#[test]
fn decimals_stay_exact() {
    assert_eq!(
        eval("amount + 1"),
        decimal("13.500000000000000000000000000001")
    );
    assert_eq!(
        eval("amount * 1.2"),
        decimal("15.0000000000000000000000000000012")
    );
    assert_eq!(eval("0.1 + 0.2 = 0.3"), Value::Bool(true));
    assert_eq!(eval("1 / 3.0"), decimal("0.33333333333333333333"));
    assert_eq!(eval("10 / 4.0"), decimal("2.5000000000000000"));
    assert_eq!(
        eval("amount / 2"),
        decimal("6.250000000000000000000000000001")
    );
    assert_eq!(eval("big + 1"), decimal("18446744073709551616"));
    assert_eq!(eval("round(2.5)"), decimal("3"));
    assert_eq!(eval("round(amount, 2)"), decimal("12.50"));
}

#[test]
fn integers_divide_as_integers_and_errors_are_errors() {
    assert_eq!(eval("rate / 10"), Value::Int(7));
    assert_eq!(eval("rate % 10"), Value::Int(2));
    assert_eq!(eval("-rate"), Value::Int(-72));
    assert!(eval_error("rate / 0").contains("division by zero"));
    assert!(eval_error("amount / 0").contains("division by zero"));
    assert!(eval_error("9223372036854775807 + rate").contains("out of range"));
    assert_eq!(eval("rate / null"), Value::Null);
}

#[test]
fn text_functions_and_concatenation() {
    assert_eq!(eval("upper(status) || '-' || id"), Value::text("PAID-7"));
    assert_eq!(eval("lower('ÄB')"), Value::text("äb"));
    assert_eq!(eval("length('héllo')"), Value::Int(5));
    assert_eq!(eval("substr('watershed', 6)"), Value::text("shed"));
    assert_eq!(
        eval("substring('watershed' from 1 for 5)"),
        Value::text("water")
    );
    assert_eq!(eval("substr('abc', 0, 2)"), Value::text("a"));
    assert_eq!(eval("trim('  a b  ')"), Value::text("a b"));
    assert_eq!(eval("status || note"), Value::Null);
    assert_eq!(eval("coalesce(note, status, 'x')"), Value::text("paid"));
    assert!(eval_error("substr('abc', 1, -1)").contains("negative"));
}

#[test]
fn case_and_casts() {
    assert_eq!(
        eval("case when rate > 100 then 'high' when rate > 50 then 'mid' else 'low' end"),
        Value::text("mid")
    );
    assert_eq!(
        eval("case status when 'paid' then 1 else 0 end"),
        Value::Int(1)
    );
    assert_eq!(eval("case when note = 'x' then 1 end"), Value::Null);
    assert_eq!(eval("cast('42' as int) + 1"), Value::Int(43));
    assert_eq!(eval("'3.50'::numeric"), decimal("3.50"));
    assert_eq!(eval("amount::int"), Value::Int(13));
    assert_eq!(eval("rate::text"), Value::text("72"));
    assert_eq!(eval("ratio::numeric"), decimal("0.5"));
    assert_eq!(
        eval("cast(created_at as date)"),
        Value::Date(Date::parse("2024-02-29").unwrap())
    );
    assert!(compile_error("cast(paid as date)").contains("cannot cast boolean to date"));
}

#[test]
fn time_arithmetic_truncation_and_extraction() {
    let ts = |t: &str| Value::Timestamp(Timestamp::parse_rfc3339(t).unwrap());
    let dt = |t: &str| Value::DateTime(DateTime::parse(t).unwrap());
    assert_eq!(eval("ts <= now()"), Value::Bool(true));
    assert_eq!(eval("ts <= now() + interval '1 minute'"), Value::Bool(true));
    assert_eq!(
        eval("ts + interval '1 minute'"),
        ts("2026-01-01T00:00:00.5Z")
    );
    assert_eq!(eval("ts - interval '1' hour"), ts("2025-12-31T22:59:00.5Z"));
    assert_eq!(
        eval("created_at + interval '1 month'"),
        dt("2024-03-29 13:14:15.123456")
    );
    assert_eq!(eval("date_trunc('hour', ts)"), ts("2025-12-31T23:00:00Z"));
    assert_eq!(
        eval("date_trunc('day', created_at)"),
        dt("2024-02-29 00:00:00")
    );
    assert_eq!(
        eval("date_trunc('week', created_at)"),
        dt("2024-02-26 00:00:00")
    );
    assert_eq!(eval("date_trunc('month', day)"), dt("2024-03-01 00:00:00"));
    assert_eq!(eval("extract(year from ts)"), decimal("2025"));
    assert_eq!(
        eval("extract(second from created_at)"),
        decimal("15.123456")
    );
    assert_eq!(eval("extract(dow from day)"), decimal("5"));
    assert_eq!(eval("extract(epoch from ts)"), decimal("1767225540.500000"));
    assert_eq!(
        eval("day - 1"),
        Value::Date(Date::parse("2024-02-29").unwrap())
    );
    assert_eq!(eval("day - '2024-01-01'::date"), Value::Int(60));
    assert_eq!(eval("created_at > '2024-01-01'"), Value::Bool(true));
    assert_eq!(eval("day = '2024-03-01'"), Value::Bool(true));
}

#[test]
fn compile_errors_name_the_expression_and_what_is_wrong() {
    let cases: &[(&str, &str)] = &[
        (
            "heart_rate > 20",
            "no column `heart_rate` in table shop.orders",
        ),
        ("rate > 'abc'", "`abc` is not a valid bigint"),
        ("status > 5", "cannot compare text with bigint"),
        ("rate + status", "cannot apply `+` to bigint and text"),
        ("rate and paid", "is bigint, not a condition"),
        ("md5(status)", "the function `md5` is not supported"),
        ("photo is null", "cannot be used in an expression"),
        ("rate >", "does not parse"),
        ("rate > 1 2", "does not parse"),
        ("(select 1)", "is not supported"),
        ("date_trunc('fortnight', ts)", "not a unit date_trunc knows"),
        ("interval '1 fortnight'", "is not an interval"),
        (
            "case when rate > 1 then 'a' else 1 end",
            "the branches of `case` are text and bigint",
        ),
    ];
    for (text, wanted) in cases {
        let error = compile_error(text);
        assert!(error.starts_with(&format!("`{text}`: ")), "{error}");
        assert!(error.contains(wanted), "{text}: {error}");
    }
}

#[test]
fn conditions_test_true_false_or_unknown() {
    let check = |text: &str| {
        compile(text, &table())
            .unwrap()
            .test(&row(), &context())
            .unwrap()
    };
    assert_eq!(check("rate between 20 and 250"), Some(true));
    assert_eq!(check("rate > 100"), Some(false));
    assert_eq!(check("note = 'x'"), None);
    let not_a_condition = compile("rate + 1", &table()).unwrap();
    assert!(not_a_condition.test(&row(), &context()).is_err());
    assert_eq!(not_a_condition.ty(), Type::Int);
}

#[test]
fn zero_keeps_its_scale() {
    assert_eq!(eval("0 / 3.00"), decimal("0.00000000000000000000"));
    assert_eq!(eval("abs(0 - 0 / 3.00)"), decimal("0.00000000000000000000"));
    assert_eq!(eval("0 - 0 / 3.00"), decimal("0.00000000000000000000"));
}
