//! Re-copying a table while the binlog streams (DBLog watermarks), checked
//! at the source: applying its events to an empty table gives the source's
//! rows, whatever changed during the copy.

use std::collections::BTreeMap;

use watershed_events::{ChangeOp, Event, Position, TableAction, TableName, Value};
use watershed_sources::Source;
use watershed_sources::mysql::SnapshotMode;

use crate::support::*;

/// The table as the events leave it: id → name.
fn apply(events: &[Event], state: &mut BTreeMap<i64, String>) {
    for change in changes(events) {
        let row = |r: &Option<Vec<Value>>| match r.as_deref() {
            Some([Value::Int(id), Value::Text(name), ..]) => (*id, name.to_string()),
            other => panic!("row {other:?}"),
        };
        match change.op {
            ChangeOp::Truncate => state.clear(),
            ChangeOp::Insert | ChangeOp::Update => {
                if change.op == ChangeOp::Update {
                    state.remove(&row(&change.before).0);
                }
                let (id, name) = row(&change.after);
                state.insert(id, name);
            }
            ChangeOp::Delete => {
                state.remove(&row(&change.before).0);
            }
        }
    }
}

fn source_rows(db: &str) -> BTreeMap<i64, String> {
    sql(db, "SELECT id, name FROM t ORDER BY id")
        .lines()
        .filter_map(|line| {
            let (id, name) = line.split_once('\t')?;
            Some((id.parse().ok()?, name.to_owned()))
        })
        .collect()
}

#[tokio::test]
async fn a_resync_converges_with_changes_made_during_the_copy() {
    let db = database("resync");
    let rows: Vec<String> = (1..=60).map(|i| format!("({i}, 'n{i}')")).collect();
    sql(
        &db,
        &format!(
            "CREATE TABLE t (id int PRIMARY KEY, name varchar(20)); INSERT INTO t VALUES {};",
            rows.join(",")
        ),
    );
    let cfg = config(&db, &[&format!("{db}.t")], SnapshotMode::Never, 7);
    let mut source = opened(cfg, None).await;
    // The target starts out of date: it holds only some rows, one stale.
    let mut target: BTreeMap<i64, String> = (1..=10).map(|i| (i, format!("old{i}"))).collect();
    target.insert(999, "gone from the source".into());
    let table = TableName::new(Some(&db), "t");
    source
        .control(&table, TableAction::Resync)
        .await
        .expect("resync accepted");

    let mut round = 0;
    let mut states_cleared = false;
    while round < 200 && !states_cleared {
        round += 1;
        let events = source
            .next_chunk()
            .await
            .expect("next_chunk")
            .expect("open");
        apply(&events, &mut target);
        if let Some(Position::MysqlFile(last)) = commits(&events).last() {
            states_cleared = last.tables.is_empty() && round > 1;
        }
        // Writes land between and during the chunk reads.
        match round % 4 {
            0 => sql(
                &db,
                &format!(
                    "UPDATE t SET name = 'u{round}' WHERE id % 5 = {}",
                    round % 5
                ),
            ),
            1 => sql(&db, &format!("DELETE FROM t WHERE id = {}", 3 + round)),
            2 => sql(
                &db,
                &format!("INSERT INTO t VALUES ({}, 'new{round}')", 100 + round),
            ),
            _ => String::new(),
        };
    }
    assert!(states_cleared, "the re-copy did not finish");
    // Let the stream catch up with the last writes, then compare.
    sql(&db, "INSERT INTO t VALUES (10000, 'marker')");
    let rest = until(&mut source, |events| {
        changes(events)
            .iter()
            .any(|c| c.after.as_ref().is_some_and(|r| r[0] == Value::Int(10000)))
    })
    .await;
    apply(&rest, &mut target);
    assert_eq!(target, source_rows(&db));
}

#[tokio::test]
async fn control_requests_name_what_is_wrong() {
    let db = database("resync_refused");
    sql(
        &db,
        "CREATE TABLE k (id int PRIMARY KEY); CREATE TABLE nokey (v int);",
    );
    let cfg = config(&db, &[&format!("{db}.*")], SnapshotMode::Never, 7);
    let mut source = opened(cfg, None).await;
    let outside = TableName::new(Some("elsewhere"), "k");
    let err = source
        .control(&outside, TableAction::Pause)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not captured"), "{err}");
    let keyless = TableName::new(Some(&db), "nokey");
    let err = source
        .control(&keyless, TableAction::Resync)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no primary key"), "{err}");
    let missing = TableName::new(Some(&db), "missing");
    let err = source
        .control(&missing, TableAction::Resync)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
}
