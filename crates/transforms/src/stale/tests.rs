//! Stale keys: found when the stream's clock leaves them behind, cleared
//! when they send again, and brought back after a restart.

use watershed_events::{Timestamp, Value};

use super::*;

const MINUTE: i64 = 60_000_000;

fn heartbeats() -> Arc<TableSchema> {
    Arc::new(TableSchema {
        name: TableName::new(None, "heartbeats"),
        columns: vec![
            Column::new("event_id", LogicalType::Int64, false),
            Column::new("customer_id", LogicalType::Int64, true),
            Column::new("ts", LogicalType::Timestamp { fsp: 6 }, false),
        ],
        primary_key: vec!["event_id".into()],
        indexes: vec![],
        version: 1,
        foreign_keys: vec![],
        comment: None,
    })
}

fn spec() -> StaleSpec {
    StaleSpec {
        key: "customer_id".into(),
        on: "ts".into(),
        after: 5 * MINUTE,
        table: "stale_customers".into(),
        wall_clock: false,
    }
}

fn reading(id: i64, customer: i64, at: i64) -> Change {
    Change::insert(
        heartbeats(),
        vec![
            Value::Int(id),
            Value::Int(customer),
            Value::Timestamp(Timestamp::from_micros(at)),
        ],
    )
}

fn ts(micros: i64) -> Value {
    Value::Timestamp(Timestamp::from_micros(micros))
}

#[test]
fn a_key_left_behind_goes_stale_and_clears_when_it_sends_again() {
    let mut watch = Watch::compile(&spec(), &heartbeats()).unwrap();
    watch.apply(&reading(1, 7, 0), 0);
    watch.apply(&reading(2, 8, MINUTE), 0);
    assert!(watch.finish(0).changes.is_empty());
    // Customer 8 keeps sending; the clock moves past 7's last event + 5m.
    watch.apply(&reading(3, 8, 6 * MINUTE), 0);
    let finished = watch.finish(0);
    assert_eq!(finished.changes.len(), 1);
    let row = finished.changes[0].after.as_ref().unwrap();
    assert_eq!(
        row,
        &vec![Value::Int(7), ts(0), ts(6 * MINUTE), Value::Null]
    );
    assert_eq!(watch.stale_keys(100).0, 1);
    // 7 is heard again: its episode gets cleared_at.
    watch.apply(&reading(4, 7, 9 * MINUTE), 0);
    let finished = watch.finish(0);
    assert_eq!(finished.changes[0].op, ChangeOp::Update);
    assert_eq!(
        finished.changes[0].after.as_ref().unwrap(),
        &vec![Value::Int(7), ts(0), ts(6 * MINUTE), ts(9 * MINUTE)]
    );
    assert_eq!(watch.stale_keys(100).0, 0);
}

#[test]
fn state_brought_back_continues_the_watch() {
    let mut first = Watch::compile(&spec(), &heartbeats()).unwrap();
    first.apply(&reading(1, 7, 0), 0);
    first.apply(&reading(2, 8, 6 * MINUTE), 0);
    let state: Vec<(String, String)> = first
        .finish(0)
        .state
        .into_iter()
        .filter_map(|(k, v)| Some((k, v?)))
        .collect();
    let mut second = Watch::compile(&spec(), &heartbeats()).unwrap();
    second.restore(&state).unwrap();
    assert_eq!(second.stale_keys(10).1[0].key, "7");
    second.apply(&reading(3, 7, 7 * MINUTE), 0);
    let finished = second.finish(0);
    assert_eq!(
        finished.changes[0].after.as_ref().unwrap()[3],
        ts(7 * MINUTE)
    );
}

#[test]
fn the_wall_clock_finds_silence_without_events() {
    let mut spec = spec();
    spec.wall_clock = true;
    let mut watch = Watch::compile(&spec, &heartbeats()).unwrap();
    watch.apply(&reading(1, 7, 0), 0);
    assert!(watch.finish(MINUTE).changes.is_empty());
    assert_eq!(watch.finish(10 * MINUTE).changes.len(), 1);
}

#[test]
fn bad_specs_name_the_key() {
    let mut bad = spec();
    bad.on = "customer_id".into();
    assert_eq!(
        Watch::compile(&bad, &heartbeats())
            .err()
            .unwrap()
            .to_string(),
        "on: `customer_id` is not a timestamp column"
    );
}
