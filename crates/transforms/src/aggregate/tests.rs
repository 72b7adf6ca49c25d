//! Aggregates on changes: exact measures as PostgreSQL computes them,
//! retractions (the minimum deleted gives way to the next), late rows,
//! closed windows, hopping windows, and state that survives a restart.

use std::sync::Arc;

use watershed_events::{Column, LogicalType, TableName, TableSchema, Timestamp, Value};

use super::*;

const HOUR: i64 = 3_600_000_000;
const MINUTE: i64 = 60_000_000;

fn heartbeats() -> Arc<TableSchema> {
    Arc::new(TableSchema {
        name: TableName::new(None, "heartbeats"),
        columns: vec![
            Column::new("event_id", LogicalType::Int64, false),
            Column::new("customer_id", LogicalType::Int64, true),
            Column::new("ts", LogicalType::Timestamp { fsp: 6 }, true),
            Column::new("heart_rate", LogicalType::Int16, true),
        ],
        primary_key: vec!["event_id".into()],
        indexes: vec![],
        version: 1,
        foreign_keys: vec![],
        comment: None,
    })
}

fn spec() -> AggregateSpec {
    AggregateSpec {
        name: "heartbeats_hourly".into(),
        window: Some(WindowSpec {
            size: HOUR,
            every: None,
            on: "ts".into(),
        }),
        group_by: vec!["customer_id".into()],
        measures: [
            ("readings", "count(*)"),
            ("avg_hr", "avg(heart_rate)"),
            ("min_hr", "min(heart_rate)"),
            ("max_hr", "max(heart_rate)"),
            ("sd_hr", "stddev(heart_rate)"),
            ("var_hr", "variance(heart_rate)"),
            ("total", "sum(heart_rate)"),
        ]
        .iter()
        .map(|(n, e)| ((*n).to_owned(), (*e).to_owned()))
        .collect(),
        lateness: Some(10 * MINUTE),
    }
}

fn row(id: i64, customer: i64, at: i64, rate: i64) -> Row {
    vec![
        Value::Int(id),
        Value::Int(customer),
        Value::Timestamp(Timestamp::from_micros(at)),
        Value::Int(rate),
    ]
}

fn cx() -> EvalContext {
    EvalContext {
        now: Timestamp::from_micros(0),
    }
}

fn decimal(text: &str) -> Value {
    Value::Decimal(watershed_events::Decimal::parse(text).unwrap())
}

/// The measures of the target row for `customer` in the window at `start`.
fn measures(finished: &Finished, customer: i64, start: i64) -> Option<Vec<Value>> {
    finished.changes.iter().rev().find_map(|c| {
        let row = c.after.as_ref()?;
        (row[0] == Value::Int(customer)
            && row[1] == Value::Timestamp(Timestamp::from_micros(start)))
        .then(|| row[3..].to_vec())
    })
}

#[test]
fn measures_equal_postgresql_over_the_same_rows() {
    let mut agg = Aggregate::compile(&spec(), &heartbeats()).unwrap();
    let names: Vec<&str> = agg
        .output()
        .columns
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "customer_id",
            "window_start",
            "window_end",
            "readings",
            "avg_hr",
            "min_hr",
            "max_hr",
            "sd_hr",
            "var_hr",
            "total"
        ]
    );
    assert_eq!(agg.output().primary_key, ["customer_id", "window_start"]);
    let t = 10 * HOUR;
    for (id, rate) in [(1, 60), (2, 70), (3, 80)] {
        let refused = agg.apply(
            &Change::insert(heartbeats(), row(id, 7, t + id * MINUTE, rate)),
            &cx(),
        );
        assert!(refused.is_empty(), "{refused:?}");
    }
    let finished = agg.finish();
    assert_eq!(finished.changes.len(), 1);
    assert_eq!(finished.changes[0].op, ChangeOp::Insert);
    // SELECT count(*), avg(x), min(x), max(x), stddev(x), variance(x), sum(x)
    // FROM (VALUES (60), (70), (80)) t(x);
    assert_eq!(
        measures(&finished, 7, t).unwrap(),
        [
            Value::Int(3),
            decimal("70.0000000000000000"),
            Value::Int(60),
            Value::Int(80),
            decimal("10.0000000000000000"),
            decimal("100.0000000000000000"),
            decimal("210"),
        ]
    );
    // Window end, and one state row for the group plus the watermark.
    let row = finished.changes[0].after.as_ref().unwrap();
    assert_eq!(row[2], Value::Timestamp(Timestamp::from_micros(t + HOUR)));
    assert_eq!(finished.state.len(), 2);
}

#[test]
fn retracting_the_minimum_gives_the_next_and_the_last_row_deletes_the_group() {
    let mut agg = Aggregate::compile(&spec(), &heartbeats()).unwrap();
    let t = 10 * HOUR;
    for (id, rate) in [(1, 50), (2, 72), (3, 90)] {
        agg.apply(
            &Change::insert(heartbeats(), row(id, 7, t + id, rate)),
            &cx(),
        );
    }
    agg.finish();
    agg.apply(&Change::delete(heartbeats(), row(1, 7, t + 1, 50)), &cx());
    // An update moves a reading up: the maximum is retracted and replaced.
    agg.apply(
        &Change::update(heartbeats(), row(3, 7, t + 3, 90), row(3, 7, t + 3, 75)),
        &cx(),
    );
    let finished = agg.finish();
    assert_eq!(finished.changes[0].op, ChangeOp::Update);
    let m = measures(&finished, 7, t).unwrap();
    assert_eq!(m[0], Value::Int(2));
    assert_eq!(m[2], Value::Int(72));
    assert_eq!(m[3], Value::Int(75));
    // stddev of (72, 75) = 2.1213203435596426.
    assert_eq!(m[4], decimal("2.1213203435596426"));
    for (id, rate) in [(2, 72), (3, 75)] {
        agg.apply(
            &Change::delete(heartbeats(), row(id, 7, t + id, rate)),
            &cx(),
        );
    }
    let finished = agg.finish();
    assert_eq!(finished.changes.len(), 1);
    assert_eq!(finished.changes[0].op, ChangeOp::Delete);
    assert!(finished.state.iter().any(|(_, v)| v.is_none()));
    assert_eq!(agg.open_groups(), 0);
}

#[test]
fn late_rows_are_refused_and_closed_windows_forgotten() {
    let mut agg = Aggregate::compile(&spec(), &heartbeats()).unwrap();
    let t = 10 * HOUR;
    agg.apply(
        &Change::insert(heartbeats(), row(1, 7, t + 5 * MINUTE, 70)),
        &cx(),
    );
    agg.apply(
        &Change::insert(heartbeats(), row(2, 8, t + HOUR + 20 * MINUTE, 70)),
        &cx(),
    );
    // Within lateness of the newest (11:20): accepted into the 11:00 window.
    let refused = agg.apply(
        &Change::insert(heartbeats(), row(3, 9, t + HOUR + 12 * MINUTE, 70)),
        &cx(),
    );
    assert!(refused.is_empty());
    let refused = agg.apply(
        &Change::insert(heartbeats(), row(4, 7, t + 50 * MINUTE, 70)),
        &cx(),
    );
    assert_eq!(refused.len(), 1);
    assert!(
        refused[0].reason.starts_with("late: event time"),
        "{}",
        refused[0].reason
    );
    let finished = agg.finish();
    // The 10:00 window ended before 11:10: its state is gone, its row stays.
    assert_eq!(agg.open_groups(), 2);
    assert!(
        finished
            .state
            .iter()
            .any(|(k, v)| k.contains(&(t).to_string()) && v.is_none())
    );
    let null_group = agg.apply(
        &Change::insert(
            heartbeats(),
            vec![
                Value::Int(5),
                Value::Null,
                Value::Timestamp(Timestamp::from_micros(t + HOUR + 30 * MINUTE)),
                Value::Int(1),
            ],
        ),
        &cx(),
    );
    assert_eq!(
        null_group[0].reason,
        "group_by column `customer_id` is NULL"
    );
}

#[test]
fn state_brought_back_continues_exactly() {
    let mut first = Aggregate::compile(&spec(), &heartbeats()).unwrap();
    let t = 10 * HOUR;
    for (id, rate) in [(1, 61), (2, 99)] {
        first.apply(
            &Change::insert(heartbeats(), row(id, 7, t + id, rate)),
            &cx(),
        );
    }
    let state: Vec<(String, String)> = first
        .finish()
        .state
        .into_iter()
        .filter_map(|(k, v)| Some((k, v?)))
        .collect();
    let mut second = Aggregate::compile(&spec(), &heartbeats()).unwrap();
    second.restore(&state).unwrap();
    for agg in [&mut first, &mut second] {
        agg.apply(&Change::delete(heartbeats(), row(2, 7, t + 2, 99)), &cx());
        agg.apply(&Change::insert(heartbeats(), row(3, 7, t + 3, 64)), &cx());
    }
    let (a, b) = (first.finish(), second.finish());
    assert_eq!(measures(&a, 7, t), measures(&b, 7, t));
    assert_eq!(measures(&b, 7, t).unwrap()[3], Value::Int(64));
    assert_eq!(b.changes[0].op, ChangeOp::Update);
    // A late row after the restart is judged by the restored watermark.
    let late = second.apply(
        &Change::insert(heartbeats(), row(9, 7, t - HOUR, 70)),
        &cx(),
    );
    assert_eq!(late.len(), 1);
}

#[test]
fn hopping_windows_count_a_row_in_every_window_that_covers_it() {
    let mut spec = spec();
    spec.window = Some(WindowSpec {
        size: HOUR,
        every: Some(15 * MINUTE),
        on: "ts".into(),
    });
    let mut agg = Aggregate::compile(&spec, &heartbeats()).unwrap();
    let t = 10 * HOUR + 20 * MINUTE;
    agg.apply(&Change::insert(heartbeats(), row(1, 7, t, 70)), &cx());
    let finished = agg.finish();
    let starts: Vec<Value> = finished
        .changes
        .iter()
        .map(|c| c.after.as_ref().unwrap()[1].clone())
        .collect();
    assert_eq!(starts.len(), 4);
    for start in [
        9 * HOUR + 30 * MINUTE,
        9 * HOUR + 45 * MINUTE,
        10 * HOUR,
        10 * HOUR + 15 * MINUTE,
    ] {
        assert!(
            starts.contains(&Value::Timestamp(Timestamp::from_micros(start))),
            "{starts:?}"
        );
    }
}

#[test]
fn bad_specs_name_the_key() {
    let error = |spec: AggregateSpec| {
        Aggregate::compile(&spec, &heartbeats())
            .err()
            .unwrap()
            .to_string()
    };
    let mut bad = spec();
    bad.measures = vec![("x".into(), "heart_rate + 1".into())];
    assert_eq!(
        error(bad),
        "measures.x: `heart_rate + 1`: is not an aggregate function: use count(*), count, sum, \
         avg, min, max, stddev or variance"
    );
    let mut bad = spec();
    bad.measures = vec![("x".into(), "median(heart_rate)".into())];
    assert!(error(bad).contains("`median` is not an aggregate function"));
    let mut bad = spec();
    bad.window.as_mut().unwrap().on = "heart_rate".into();
    assert_eq!(
        error(bad),
        "window.on: `heart_rate` is not a timestamp column"
    );
    let mut bad = spec();
    bad.group_by = vec!["nope".into()];
    assert_eq!(error(bad), "group_by: no column `nope` in table heartbeats");
    assert_eq!(parse_duration("1h"), Ok(HOUR));
    assert_eq!(parse_duration("15m"), Ok(15 * MINUTE));
    assert!(parse_duration("soon").is_err());
    assert!(parse_duration("0s").is_err());
}

#[test]
fn the_integer_path_gives_the_decimal_paths_digits() {
    use super::measure::{Func, Needs, State};
    use crate::expr::datum::{Datum, Type};
    let mut needs = Needs::default();
    for func in [Func::Avg, Func::Stddev { sample: true }, Func::Min] {
        needs.add(func);
    }
    let mut seed = 7u64;
    for size in [1usize, 2, 3, 7, 50, 400] {
        let mut state = State::default();
        for _ in 0..size {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let x = (seed >> 33) as i64 % 200_000 - 20_000;
            state.apply(needs, Type::Int, &Datum::Int(x), 1);
        }
        for func in [
            Func::Sum,
            Func::Avg,
            Func::Stddev { sample: true },
            Func::Stddev { sample: false },
            Func::Variance { sample: true },
            Func::Variance { sample: false },
        ] {
            let fast = state.value(func, Type::Int);
            let exact = state.result(func, Type::Int).into_value();
            assert_eq!(fast, exact, "{func:?} over {size} values");
        }
    }
}
