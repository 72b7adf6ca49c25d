//! The sqlite and jsonl sinks against real files in temporary folders:
//! what a flush makes durable, what a crash (a drop without flush) loses,
//! and how each change kind lands in the target.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::Connection;
use watershed_events::{
    Change, Column, Decimal, Event, LogicalType, Position, RetryHint, Row, SchemaChange, TableName,
    TableSchema, Timestamp, TxBegin, TxCommit, Value,
};
use watershed_sinks::jsonl::{JsonlConfig, JsonlSink};
use watershed_sinks::sqlite::{SqliteConfig, SqliteSink};
use watershed_sinks::{Sink, SinkError};

fn position(next_index: u64) -> Position {
    Position::Generator { next_index }
}

fn text_column(name: &str, nullable: bool) -> Column {
    Column::new(name, LogicalType::Text { charset: None }, nullable)
}

/// `items (id INT64, name TEXT, note TEXT NULL)`, keyed by `id` when `keyed`.
fn items(version: u64, keyed: bool) -> Arc<TableSchema> {
    Arc::new(TableSchema {
        name: TableName::parse("items"),
        columns: vec![
            Column::new("id", LogicalType::Int64, false),
            text_column("name", false),
            text_column("note", true),
        ],
        primary_key: if keyed { vec!["id".into()] } else { vec![] },
        indexes: vec![],
        version,
        foreign_keys: Vec::new(),
        comment: None,
    })
}

fn row(id: i64, name: &str, note: Option<&str>) -> Row {
    vec![
        Value::Int(id),
        Value::text(name),
        note.map_or(Value::Null, Value::text),
    ]
}

fn schema(table: &Arc<TableSchema>) -> Event {
    Event::Schema(SchemaChange::new(table.clone()))
}

fn insert(table: &Arc<TableSchema>, row: Row) -> Event {
    Event::Change(Change::insert(table.clone(), row))
}

/// One transaction: BEGIN, the events, COMMIT at `next_index`.
fn transaction(next_index: u64, events: Vec<Event>) -> Vec<Event> {
    let mut all = vec![Event::Begin(TxBegin { commit_time: None })];
    all.extend(events);
    all.push(Event::Commit(TxCommit {
        position: position(next_index),
        commit_time: Timestamp::from_micros(0),
    }));
    all
}

fn sqlite(path: &Path, pipeline: &str) -> SqliteSink {
    SqliteSink::new(
        SqliteConfig {
            path: path.to_path_buf(),
        },
        pipeline,
    )
}

async fn opened_sqlite(path: &Path, pipeline: &str) -> SqliteSink {
    let mut sink = sqlite(path, pipeline);
    sink.open().await.expect("open the sqlite sink");
    sink
}

/// `(id, name, note)` of every row in `table`, by id then name.
fn stored_items(path: &Path, table: &str) -> Vec<(i64, String, Option<String>)> {
    let conn = Connection::open(path).expect("open the database to inspect it");
    let sql = format!("SELECT id, name, note FROM \"{table}\" ORDER BY id, name");
    let mut statement = conn.prepare(&sql).expect("prepare the inspection query");
    statement
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .and_then(|rows| rows.collect())
        .expect("read the rows")
}

fn item(id: i64, name: &str, note: Option<&str>) -> (i64, String, Option<String>) {
    (id, name.to_owned(), note.map(str::to_owned))
}

#[tokio::test]
async fn flushed_rows_are_readable_and_a_fresh_open_resumes_from_their_position() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("target.db");
    let table = items(1, true);
    let mut sink = sqlite(&path, "hb");
    assert_eq!(
        sink.open().await.expect("open"),
        None,
        "a new database holds no checkpoint"
    );

    let mut events = vec![schema(&table)];
    events.extend(transaction(
        2,
        vec![
            insert(&table, row(1, "one", Some("a"))),
            insert(&table, row(2, "two", None)),
        ],
    ));
    sink.write(&events).await.expect("write");
    sink.flush(&position(2)).await.expect("flush");

    assert_eq!(
        stored_items(&path, "items"),
        vec![item(1, "one", Some("a")), item(2, "two", None)]
    );
    let mut fresh = sqlite(&path, "hb");
    assert_eq!(fresh.open().await.expect("reopen"), Some(position(2)));
}

#[tokio::test]
async fn rows_written_but_not_flushed_are_gone_after_a_crash() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("target.db");
    let table = items(1, true);
    let mut sink = opened_sqlite(&path, "hb").await;
    let mut first = vec![schema(&table)];
    first.extend(transaction(1, vec![insert(&table, row(1, "kept", None))]));
    sink.write(&first).await.expect("write the first batch");
    sink.flush(&position(1))
        .await
        .expect("flush the first batch");

    let second = transaction(
        3,
        vec![
            insert(&table, row(2, "lost", None)),
            insert(&table, row(3, "lost", None)),
        ],
    );
    sink.write(&second).await.expect("write the second batch");
    drop(sink); // the process dies before flushing

    let mut reopened = sqlite(&path, "hb");
    assert_eq!(reopened.open().await.expect("reopen"), Some(position(1)));
    assert_eq!(stored_items(&path, "items"), vec![item(1, "kept", None)]);

    // The reopened sink carries on from there, without the lost rows.
    reopened
        .write(&transaction(2, vec![insert(&table, row(2, "again", None))]))
        .await
        .expect("write");
    reopened.flush(&position(2)).await.expect("flush");
    assert_eq!(
        stored_items(&path, "items"),
        vec![item(1, "kept", None), item(2, "again", None)]
    );
}

#[tokio::test]
async fn reopening_a_live_sink_discards_its_unflushed_batch() {
    // The runtime calls `open` again on the same sink after a failure.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("target.db");
    let table = items(1, true);
    let mut sink = opened_sqlite(&path, "hb").await;
    let mut first = vec![schema(&table)];
    first.extend(transaction(1, vec![insert(&table, row(1, "kept", None))]));
    sink.write(&first).await.expect("write");
    sink.flush(&position(1)).await.expect("flush");
    sink.write(&transaction(2, vec![insert(&table, row(2, "lost", None))]))
        .await
        .expect("write");

    assert_eq!(sink.open().await.expect("reopen"), Some(position(1)));
    sink.write(&transaction(
        2,
        vec![insert(&table, row(2, "replayed", None))],
    ))
    .await
    .expect("write");
    sink.flush(&position(2)).await.expect("flush");
    assert_eq!(
        stored_items(&path, "items"),
        vec![item(1, "kept", None), item(2, "replayed", None)]
    );
}

#[tokio::test]
async fn updates_deletes_and_truncates_are_applied_and_unsent_values_are_kept() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("target.db");
    let table = items(1, true);
    let other = Arc::new(TableSchema {
        name: TableName::parse("others"),
        ..(*items(1, true)).clone()
    });
    let mut sink = opened_sqlite(&path, "hb").await;
    let mut setup = vec![schema(&table), schema(&other)];
    setup.extend(transaction(
        4,
        vec![
            insert(&table, row(1, "one", Some("toasted"))),
            insert(&table, row(2, "two", Some("b"))),
            insert(&table, row(3, "three", Some("c"))),
            insert(&other, row(9, "untouched", None)),
        ],
    ));
    sink.write(&setup).await.expect("write inserts");
    sink.flush(&position(4)).await.expect("flush inserts");

    let changes = transaction(
        6,
        vec![
            // `note` was not sent (a TOAST value that did not change).
            Event::Change(Change::update(
                table.clone(),
                row(1, "one", Some("toasted")),
                vec![Value::Int(1), Value::text("uno"), Value::Unchanged],
            )),
            Event::Change(Change::update(
                table.clone(),
                row(3, "three", Some("c")),
                row(3, "tres", None),
            )),
            Event::Change(Change::delete(table.clone(), row(2, "two", Some("b")))),
        ],
    );
    sink.write(&changes).await.expect("write changes");
    sink.flush(&position(6)).await.expect("flush changes");
    assert_eq!(
        stored_items(&path, "items"),
        vec![item(1, "uno", Some("toasted")), item(3, "tres", None)]
    );

    sink.write(&transaction(
        7,
        vec![Event::Change(Change::truncate(table.clone()))],
    ))
    .await
    .expect("write truncate");
    sink.flush(&position(7)).await.expect("flush truncate");
    assert_eq!(stored_items(&path, "items"), vec![]);
    assert_eq!(
        stored_items(&path, "others"),
        vec![item(9, "untouched", None)]
    );
}

#[tokio::test]
async fn a_keyless_table_matches_updates_and_deletes_on_every_column() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("target.db");
    let table = items(1, false);
    let mut sink = opened_sqlite(&path, "hb").await;
    let mut setup = vec![schema(&table)];
    setup.extend(transaction(
        4,
        vec![
            insert(&table, row(1, "a", None)),
            insert(&table, row(1, "b", None)),
            insert(&table, row(2, "a", Some("n"))),
            insert(&table, row(2, "a", None)),
        ],
    ));
    sink.write(&setup).await.expect("write inserts");
    sink.flush(&position(4)).await.expect("flush inserts");

    let changes = transaction(
        6,
        vec![
            // Same id as another row: only the row equal in every column changes.
            Event::Change(Change::update(
                table.clone(),
                row(1, "b", None),
                row(1, "c", Some("x")),
            )),
            // NULL matches NULL: the row with a NULL note goes, not its twin with a note.
            Event::Change(Change::delete(table.clone(), row(2, "a", None))),
        ],
    );
    sink.write(&changes).await.expect("write changes");
    sink.flush(&position(6)).await.expect("flush changes");
    assert_eq!(
        stored_items(&path, "items"),
        vec![
            item(1, "a", None),
            item(1, "c", Some("x")),
            item(2, "a", Some("n"))
        ]
    );
}

#[tokio::test]
async fn a_keyless_table_deletes_and_updates_one_of_two_identical_rows() {
    // The source changed one row; its identical twin must stay as it was.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("target.db");
    let table = items(1, false);
    let mut sink = opened_sqlite(&path, "hb").await;
    let mut setup = vec![schema(&table)];
    setup.extend(transaction(
        4,
        vec![
            insert(&table, row(1, "twin", None)),
            insert(&table, row(1, "twin", None)),
            insert(&table, row(2, "twin", None)),
            insert(&table, row(2, "twin", None)),
        ],
    ));
    sink.write(&setup).await.expect("write inserts");
    sink.flush(&position(4)).await.expect("flush inserts");

    let changes = transaction(
        6,
        vec![
            Event::Change(Change::delete(table.clone(), row(1, "twin", None))),
            Event::Change(Change::update(
                table.clone(),
                row(2, "twin", None),
                row(2, "changed", None),
            )),
        ],
    );
    sink.write(&changes).await.expect("write changes");
    sink.flush(&position(6)).await.expect("flush changes");
    assert_eq!(
        stored_items(&path, "items"),
        vec![
            item(1, "twin", None),
            item(2, "changed", None),
            item(2, "twin", None)
        ]
    );
}

#[tokio::test]
async fn a_newer_schema_version_adds_its_column_and_keeps_old_rows() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("target.db");
    let v1 = items(1, true);
    let mut v2 = (*items(2, true)).clone();
    v2.columns
        .push(Column::new("qty", LogicalType::Int32, false));
    let v2 = Arc::new(v2);

    let mut sink = opened_sqlite(&path, "hb").await;
    let mut first = vec![schema(&v1)];
    first.extend(transaction(1, vec![insert(&v1, row(1, "old", None))]));
    sink.write(&first).await.expect("write v1");
    sink.flush(&position(1)).await.expect("flush v1");

    let mut new_row = row(2, "new", None);
    new_row.push(Value::Int(7));
    let mut second = vec![schema(&v2)];
    second.extend(transaction(2, vec![insert(&v2, new_row)]));
    sink.write(&second).await.expect("write v2");
    sink.flush(&position(2)).await.expect("flush v2");

    let conn = Connection::open(&path).expect("inspect");
    let columns: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info('items') ORDER BY cid")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .expect("read columns");
    assert_eq!(columns, ["id", "name", "note", "qty"]);
    let rows: Vec<(i64, String, Option<i64>)> = conn
        .prepare("SELECT id, name, qty FROM items ORDER BY id")
        .and_then(|mut s| {
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect()
        })
        .expect("read rows");
    assert_eq!(
        rows,
        vec![(1, "old".to_owned(), None), (2, "new".to_owned(), Some(7))]
    );
}

#[tokio::test]
async fn exact_decimals_and_timestamps_are_stored_as_exact_text() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("target.db");
    let table = Arc::new(TableSchema {
        name: TableName::new(Some("shop"), "payments"),
        columns: vec![
            Column::new("id", LogicalType::Int64, false),
            Column::new(
                "amount",
                LogicalType::Decimal {
                    precision: Some(65),
                    scale: Some(30),
                },
                false,
            ),
            Column::new("paid_at", LogicalType::Timestamp { fsp: 6 }, false),
        ],
        primary_key: vec!["id".into()],
        indexes: vec![],
        version: 1,
        foreign_keys: Vec::new(),
        comment: None,
    });
    // 35 integer digits and 30 fraction digits: far beyond an f64.
    let amount = format!(
        "-{}.{}",
        "98765432109876543210987654321098765", "123456789012345678901234567891"
    );
    let paid_at = Timestamp::parse_rfc3339("2024-02-29T23:59:59.000001+01:00").expect("timestamp");
    let mut sink = opened_sqlite(&path, "hb").await;
    let mut events = vec![schema(&table)];
    events.extend(transaction(
        1,
        vec![insert(
            &table,
            vec![
                Value::Int(1),
                Value::Decimal(Decimal::parse(&amount).expect("decimal")),
                Value::Timestamp(paid_at),
            ],
        )],
    ));
    sink.write(&events).await.expect("write");
    sink.flush(&position(1)).await.expect("flush");

    let conn = Connection::open(&path).expect("inspect");
    let stored: (String, String, String, String) = conn
        .query_row(
            "SELECT amount, typeof(amount), paid_at, typeof(paid_at) FROM shop_payments",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .expect("read the row");
    assert_eq!(
        stored,
        (
            amount,
            "text".to_owned(),
            "2024-02-29T22:59:59.000001Z".to_owned(),
            "text".to_owned()
        )
    );
}

#[tokio::test]
async fn two_pipelines_in_one_database_keep_separate_checkpoints() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("shared.db");
    let table = items(1, true);
    let other = Arc::new(TableSchema {
        name: TableName::parse("others"),
        ..(*items(1, true)).clone()
    });

    let mut alpha = opened_sqlite(&path, "alpha").await;
    let mut beta = opened_sqlite(&path, "beta").await;
    let mut events = vec![schema(&table)];
    events.extend(transaction(5, vec![insert(&table, row(1, "a", None))]));
    alpha.write(&events).await.expect("alpha writes");
    alpha.flush(&position(5)).await.expect("alpha flushes");
    let mut events = vec![schema(&other)];
    events.extend(transaction(9, vec![insert(&other, row(1, "b", None))]));
    beta.write(&events).await.expect("beta writes");
    beta.flush(&position(9)).await.expect("beta flushes");
    alpha
        .write(&transaction(6, vec![insert(&table, row(2, "a", None))]))
        .await
        .expect("write");
    alpha
        .flush(&position(6))
        .await
        .expect("alpha flushes again");

    let resume = |name: &'static str| {
        let path = path.clone();
        async move { sqlite(&path, name).open().await.expect("open") }
    };
    assert_eq!(resume("alpha").await, Some(position(6)));
    assert_eq!(resume("beta").await, Some(position(9)));
    assert_eq!(resume("gamma").await, None);
}

#[tokio::test]
async fn an_unwritable_path_is_an_error_that_names_the_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("no-such-folder").join("target.db");
    let error = sqlite(&path, "hb")
        .open()
        .await
        .expect_err("the folder does not exist");
    assert!(matches!(error, SinkError::Open { .. }), "{error:?}");
    assert!(
        error.to_string().contains(&path.display().to_string()),
        "{error}"
    );
    assert_eq!(error.retry_hint(), RetryHint::Fatal);
    assert!(!path.exists());
}

// ---------------------------------------------------------------- jsonl

fn jsonl(path: &Path, pipeline: &str) -> JsonlSink {
    JsonlSink::new(
        JsonlConfig {
            path: path.to_path_buf(),
        },
        pipeline,
    )
}

fn checkpoint_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".checkpoint");
    PathBuf::from(name)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).expect("read the output file")
}

/// A transaction inserting `ids` into a keyed `items`.
fn inserts(next_index: u64, ids: std::ops::Range<i64>) -> Vec<Event> {
    let table = items(1, true);
    transaction(
        next_index,
        ids.map(|id| insert(&table, row(id, "n", None))).collect(),
    )
}

#[tokio::test]
async fn jsonl_writes_one_object_per_change_and_nothing_for_markers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("out.jsonl");
    let table = items(1, true);
    let mut sink = jsonl(&path, "hb");
    assert_eq!(sink.open().await.expect("open"), None);
    let mut events = vec![schema(&table)];
    events.extend(transaction(
        3,
        vec![
            insert(&table, row(1, "one", None)),
            Event::Change(Change::update(
                table.clone(),
                row(1, "one", None),
                vec![Value::Int(1), Value::text("uno"), Value::Unchanged],
            )),
            Event::Change(Change::delete(table.clone(), row(1, "uno", None))),
            Event::Change(Change::truncate(table.clone())),
        ],
    ));
    sink.write(&events).await.expect("write");
    sink.flush(&position(3)).await.expect("flush");

    let text = read(&path);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            r#"{"table":"items","op":"insert","after":{"id":1,"name":"one","note":null}}"#,
            r#"{"table":"items","op":"update","before":{"id":1,"name":"one","note":null},"after":{"id":1,"name":"uno"},"unchanged":["note"]}"#,
            r#"{"table":"items","op":"delete","before":{"id":1,"name":"uno","note":null}}"#,
            r#"{"table":"items","op":"truncate"}"#,
        ]
    );
    assert!(text.ends_with('\n'));
    for line in lines {
        let parsed: serde_json::Value = serde_json::from_str(line).expect("each line is JSON");
        assert!(parsed.is_object());
    }
    assert_eq!(
        jsonl(&path, "hb").open().await.expect("reopen"),
        Some(position(3))
    );
}

#[tokio::test]
async fn jsonl_cuts_the_unflushed_tail_after_a_crash_and_resumes_from_the_flush() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("out.jsonl");
    let mut sink = jsonl(&path, "hb");
    sink.open().await.expect("open");
    sink.write(&inserts(2, 0..2)).await.expect("write");
    sink.flush(&position(2)).await.expect("flush");
    let flushed = read(&path);
    assert_eq!(flushed.lines().count(), 2);

    sink.write(&inserts(5, 2..5)).await.expect("write the tail");
    drop(sink); // dies without flushing; its buffer still reaches the file
    assert!(
        read(&path).len() > flushed.len(),
        "the unflushed tail is on disk before reopening"
    );

    let mut reopened = jsonl(&path, "hb");
    assert_eq!(reopened.open().await.expect("reopen"), Some(position(2)));
    assert_eq!(
        read(&path),
        flushed,
        "the file is cut back to its last flushed length"
    );

    reopened.write(&inserts(5, 2..5)).await.expect("replay");
    reopened.flush(&position(5)).await.expect("flush");
    let ids: Vec<i64> = read(&path)
        .lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).expect("JSON line");
            value["after"]["id"].as_i64().expect("an id")
        })
        .collect();
    assert_eq!(ids, [0, 1, 2, 3, 4], "every change exactly once");
}

#[tokio::test]
async fn a_jsonl_file_deleted_behind_the_sink_is_refused_with_how_to_start_over() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("out.jsonl");
    let mut sink = jsonl(&path, "hb");
    sink.open().await.expect("open");
    sink.write(&inserts(1, 0..2)).await.expect("write");
    sink.flush(&position(1)).await.expect("flush");
    drop(sink);
    std::fs::remove_file(&path).expect("delete the output");

    let refused = jsonl(&path, "hb").open().await.expect_err("refused");
    let message = refused.to_string();
    assert!(message.contains("changed outside watershed"), "{message}");
    assert!(
        message.contains(&format!("remove {}", checkpoint_path(&path).display())),
        "{message}"
    );

    std::fs::remove_file(checkpoint_path(&path)).expect("remove the checkpoint");
    let mut again = jsonl(&path, "hb");
    assert_eq!(again.open().await.expect("starts over"), None);
}

#[tokio::test]
async fn jsonl_reopened_after_a_failure_drops_what_it_had_not_flushed() {
    // The runtime calls `open` again on the same sink after a failure.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("out.jsonl");
    let mut sink = jsonl(&path, "hb");
    sink.open().await.expect("open");
    sink.write(&inserts(1, 0..1)).await.expect("write");
    sink.flush(&position(1)).await.expect("flush");
    let flushed = read(&path);
    sink.write(&inserts(3, 1..3)).await.expect("write the tail");

    assert_eq!(sink.open().await.expect("reopen"), Some(position(1)));
    assert_eq!(read(&path), flushed);
    sink.write(&inserts(2, 1..2)).await.expect("replay");
    sink.flush(&position(2)).await.expect("flush");
    assert_eq!(read(&path).lines().count(), 2);
    assert_eq!(
        jsonl(&path, "hb").open().await.expect("fresh open"),
        Some(position(2))
    );
}

#[tokio::test]
async fn jsonl_refuses_a_file_with_data_but_no_checkpoint_and_leaves_it_alone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("precious.jsonl");
    std::fs::write(&path, "someone else's data\n").expect("write the foreign file");

    let error = jsonl(&path, "hb")
        .open()
        .await
        .expect_err("the file is not ours");
    assert!(matches!(error, SinkError::Refused(_)), "{error:?}");
    let message = error.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(
        message.contains(&checkpoint_path(&path).display().to_string()),
        "{message}"
    );
    assert_eq!(error.retry_hint(), RetryHint::Fatal);
    assert_eq!(read(&path), "someone else's data\n");
    assert!(!checkpoint_path(&path).exists());
}

#[tokio::test]
async fn jsonl_refuses_a_checkpoint_written_by_another_pipeline() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("out.jsonl");
    let mut alpha = jsonl(&path, "alpha");
    alpha.open().await.expect("open");
    alpha.write(&inserts(1, 0..1)).await.expect("write");
    alpha.flush(&position(1)).await.expect("flush");
    drop(alpha);
    let before = read(&path);

    let error = jsonl(&path, "beta")
        .open()
        .await
        .expect_err("the file belongs to alpha");
    assert!(matches!(error, SinkError::Refused(_)), "{error:?}");
    let message = error.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(
        message.contains("alpha") && message.contains("beta"),
        "{message}"
    );
    assert_eq!(read(&path), before, "alpha's data is untouched");
    assert_eq!(
        jsonl(&path, "alpha").open().await.expect("alpha reopens"),
        Some(position(1))
    );
}

fn state(key: &str, value: Option<&str>) -> Event {
    Event::State(watershed_events::StateWrite {
        scope: "stale:heartbeats".into(),
        key: key.into(),
        value: value.map(str::to_owned),
    })
}

#[tokio::test]
async fn transform_state_commits_with_the_batch_and_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let mut sink = opened_sqlite(&path, "p").await;
    assert_eq!(sink.load_state("stale:heartbeats").await.unwrap(), []);
    sink.write(&transaction(
        1,
        vec![state("a", Some("1")), state("b", Some("2"))],
    ))
    .await
    .unwrap();
    sink.flush(&position(1)).await.unwrap();
    sink.write(&transaction(
        2,
        vec![state("a", None), state("b", Some("5"))],
    ))
    .await
    .unwrap();
    drop(sink);
    let mut sink = opened_sqlite(&path, "p").await;
    assert_eq!(
        sink.load_state("stale:heartbeats").await.unwrap(),
        [
            ("a".to_owned(), "1".to_owned()),
            ("b".to_owned(), "2".to_owned())
        ]
    );
    let mut jsonl = JsonlSink::new(
        JsonlConfig {
            path: dir.path().join("out.jsonl"),
        },
        "p",
    );
    jsonl.open().await.unwrap();
    let refused = jsonl.load_state("stale:heartbeats").await.unwrap_err();
    assert!(
        refused.to_string().contains("postgres or sqlite sink"),
        "{refused}"
    );
}
