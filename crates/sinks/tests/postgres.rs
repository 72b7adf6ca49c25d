//! The postgres sink against a real PostgreSQL server from the testkit, a
//! fresh database per test: table creation, how each change kind lands,
//! the last change per key winning, keyless tables, exact values of every
//! type, exactly-once checkpoints, soft deletes, metadata, and errors.

use std::sync::Arc;

use watershed_events::{
    Change, Column, Date, DateTime, Decimal, Event, LogicalType, Position, RetryHint, Row,
    SchemaChange, TableName, TableSchema, TimeOfDay, Timestamp, TxBegin, TxCommit, Value,
};
use watershed_sinks::postgres::{DeleteMode, PostgresConfig, PostgresSink};
use watershed_sinks::{Sink, SinkError};
use watershed_testkit::Postgres;

/// A database of its own on the shared server.
struct Db {
    name: String,
}

impl Db {
    fn new(prefix: &str) -> Self {
        let name = Postgres::shared()
            .create_database(prefix)
            .expect("create a test database");
        Self { name }
    }

    fn url(&self) -> String {
        Postgres::shared().url(&self.name)
    }

    fn config(&self) -> PostgresConfig {
        let mut config = PostgresConfig::new(self.url());
        config.schema = "raw".into();
        config
    }

    /// Runs `sql` with psql and returns its unaligned output, trimmed.
    fn sql(&self, sql: &str) -> String {
        Postgres::shared()
            .sql(&self.name, sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .trim_end()
            .to_owned()
    }

    async fn sink(&self, config: PostgresConfig) -> PostgresSink {
        let mut sink = PostgresSink::new(config, "test");
        sink.open().await.expect("open the postgres sink");
        sink
    }
}

fn position(next_index: u64) -> Position {
    Position::Generator { next_index }
}

fn text() -> LogicalType {
    LogicalType::Text { charset: None }
}

fn table(name: &str, columns: Vec<Column>, key: &[&str], version: u64) -> Arc<TableSchema> {
    Arc::new(TableSchema {
        name: TableName::parse(name),
        columns,
        primary_key: key.iter().map(|k| k.to_string()).collect(),
        indexes: vec![],
        version,
        foreign_keys: Vec::new(),
        comment: None,
    })
}

/// `shop.items (id bigint pk, name text, note text null)`.
fn items() -> Arc<TableSchema> {
    table(
        "shop.items",
        vec![
            Column::new("id", LogicalType::Int64, false),
            Column::new("name", text(), false),
            Column::new("note", text(), true),
        ],
        &["id"],
        1,
    )
}

fn row(id: i64, name: &str) -> Row {
    vec![Value::Int(id), Value::text(name), Value::Null]
}

fn schema(table: &Arc<TableSchema>) -> Event {
    Event::Schema(SchemaChange::new(table.clone()))
}

fn insert(table: &Arc<TableSchema>, row: Row) -> Event {
    Event::Change(Change::insert(table.clone(), row))
}

fn update(table: &Arc<TableSchema>, before: Row, after: Row) -> Event {
    Event::Change(Change::update(table.clone(), before, after))
}

fn delete(table: &Arc<TableSchema>, before: Row) -> Event {
    Event::Change(Change::delete(table.clone(), before))
}

/// 2024-05-01T12:00:00Z plus `next_index` seconds.
fn commit_time(next_index: u64) -> Timestamp {
    Timestamp::from_micros(1_714_564_800_000_000 + next_index as i64 * 1_000_000)
}

/// BEGIN, the events, COMMIT at `next_index`.
fn transaction(next_index: u64, events: Vec<Event>) -> Vec<Event> {
    let mut all = vec![Event::Begin(TxBegin { commit_time: None })];
    all.extend(events);
    all.push(Event::Commit(TxCommit {
        position: position(next_index),
        commit_time: commit_time(next_index),
    }));
    all
}

/// Writes one transaction and flushes it.
async fn apply(sink: &mut PostgresSink, next_index: u64, events: Vec<Event>) {
    sink.write(&transaction(next_index, events))
        .await
        .expect("write");
    sink.flush(&position(next_index)).await.expect("flush");
}

const ITEMS: &str = "SELECT id, name, coalesce(note, '-') FROM raw.items ORDER BY id";

#[tokio::test]
async fn a_schema_event_creates_the_table_with_types_not_null_and_key() {
    let db = Db::new("pg_create");
    let mut sink = db.sink(db.config()).await;
    apply(&mut sink, 1, vec![schema(&items())]).await;
    let columns = db.sql(
        "SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod) \
         || CASE WHEN attnotnull THEN ' not null' ELSE '' END, ', ' ORDER BY attnum) \
         FROM pg_attribute WHERE attrelid = 'raw.items'::regclass AND attnum > 0",
    );
    assert_eq!(columns, "id bigint not null, name text not null, note text");
    let key = db.sql(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint \
         WHERE conrelid = 'raw.items'::regclass AND contype = 'p'",
    );
    assert_eq!(key, "PRIMARY KEY (id)");
}

/// Six sinks (members of a consumer group, say) open at the same moment
/// and create the same schema, checkpoint table and target table:
/// PostgreSQL's `IF NOT EXISTS` alone lets the losers fail on a duplicate
/// key in the catalog.
async fn open_and_create_at_once(db: &Db) {
    let members: Vec<_> = (0..6i64)
        .map(|member| {
            let config = db.config();
            tokio::spawn(async move {
                let mut sink = PostgresSink::new(config, &format!("member-{member}"));
                sink.open().await.map_err(|e| format!("open: {e}"))?;
                let events = transaction(
                    1,
                    vec![schema(&items()), insert(&items(), row(member, "x"))],
                );
                sink.write(&events)
                    .await
                    .map_err(|e| format!("write: {e}"))?;
                sink.flush(&position(1))
                    .await
                    .map_err(|e| format!("flush: {e}"))
            })
        })
        .collect();
    for (member, joined) in members.into_iter().enumerate() {
        let result = joined.await.expect("member task");
        assert_eq!(result, Ok(()), "member {member}");
    }
    assert_eq!(db.sql("SELECT count(*) FROM raw.items"), "6");
    assert_eq!(
        db.sql("SELECT count(*) FROM raw._watershed_checkpoints"),
        "6"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sinks_creating_one_schema_at_once_all_succeed() {
    open_and_create_at_once(&Db::new("pg_race_schema")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sinks_creating_one_table_at_once_all_succeed() {
    let db = Db::new("pg_race_table");
    db.sql("CREATE SCHEMA raw");
    open_and_create_at_once(&db).await;
}

#[tokio::test]
async fn inserts_updates_deletes_and_truncates_are_applied() {
    let db = Db::new("pg_ops");
    let t = items();
    let mut sink = db.sink(db.config()).await;
    let rows = (1..=3).map(|i| insert(&t, row(i, &format!("n{i}"))));
    let mut first = vec![schema(&t)];
    first.extend(rows);
    apply(&mut sink, 1, first).await;
    assert_eq!(db.sql(ITEMS), "1|n1|-\n2|n2|-\n3|n3|-");

    apply(
        &mut sink,
        2,
        vec![
            update(&t, row(2, "n2"), row(2, "two")),
            delete(&t, row(3, "n3")),
        ],
    )
    .await;
    assert_eq!(db.sql(ITEMS), "1|n1|-\n2|two|-");

    let truncate = Event::Change(Change::truncate(t.clone()));
    apply(&mut sink, 3, vec![truncate, insert(&t, row(9, "after"))]).await;
    assert_eq!(db.sql(ITEMS), "9|after|-");
}

#[tokio::test]
async fn the_last_change_per_key_wins_within_one_write() {
    let db = Db::new("pg_last");
    let t = items();
    let mut sink = db.sink(db.config()).await;
    apply(&mut sink, 1, vec![schema(&t), insert(&t, row(3, "three"))]).await;
    apply(
        &mut sink,
        2,
        vec![
            insert(&t, row(1, "a")),
            update(&t, row(1, "a"), row(1, "b")),
            delete(&t, row(1, "b")),
            insert(&t, row(2, "x")),
            update(&t, row(2, "x"), row(2, "y")),
            // A key change: 3 becomes 4.
            update(&t, row(3, "three"), row(4, "four")),
        ],
    )
    .await;
    assert_eq!(db.sql(ITEMS), "2|y|-\n4|four|-");
}

#[tokio::test]
async fn an_insert_of_an_existing_key_replaces_the_row() {
    let db = Db::new("pg_overlap");
    let t = items();
    let mut sink = db.sink(db.config()).await;
    apply(&mut sink, 1, vec![schema(&t)]).await;
    db.sql("INSERT INTO raw.items VALUES (1, 'old', 'kept?')");
    apply(&mut sink, 2, vec![insert(&t, row(1, "new"))]).await;
    assert_eq!(db.sql(ITEMS), "1|new|-");
}

#[tokio::test]
async fn one_key_inserted_twice_in_a_write_keeps_the_later_row() {
    // A snapshot from a later worker's snapshot, then the stream's replay
    // of the same insert: both in one write.
    let db = Db::new("pg_twice");
    let t = items();
    let mut sink = db.sink(db.config()).await;
    apply(&mut sink, 1, vec![schema(&t)]).await;
    apply(
        &mut sink,
        2,
        vec![
            insert(&t, row(1, "first")),
            insert(&t, row(2, "two")),
            insert(&t, row(1, "second")),
        ],
    )
    .await;
    assert_eq!(db.sql(ITEMS), "1|second|-\n2|two|-");
}

#[tokio::test]
async fn keyless_updates_and_deletes_touch_exactly_one_row() {
    let db = Db::new("pg_keyless");
    let log = table(
        "shop.log",
        vec![
            Column::new("msg", text(), true),
            Column::new("n", LogicalType::Int32, true),
        ],
        &[],
        1,
    );
    let entry =
        |msg: Option<&str>, n: i64| vec![msg.map_or(Value::Null, Value::text), Value::Int(n)];
    let mut sink = db.sink(db.config()).await;
    apply(
        &mut sink,
        1,
        vec![
            schema(&log),
            insert(&log, entry(Some("a"), 1)),
            insert(&log, entry(Some("a"), 1)),
            insert(&log, entry(None, 1)),
            insert(&log, entry(Some(""), 1)),
        ],
    )
    .await;
    apply(
        &mut sink,
        2,
        vec![
            update(&log, entry(Some("a"), 1), entry(Some("c"), 3)),
            delete(&log, entry(None, 1)),
        ],
    )
    .await;
    let rows = "SELECT quote_nullable(msg), n FROM raw.log ORDER BY 1, 2";
    assert_eq!(db.sql(rows), "''|1\n'a'|1\n'c'|3");
}

/// One column of the value matrix: its type, the value written, the SQL
/// that reads it back as text, and the text expected.
struct Case {
    name: &'static str,
    logical: LogicalType,
    value: Value,
    read: &'static str,
    expected: &'static str,
}

fn case(
    name: &'static str,
    logical: LogicalType,
    value: Value,
    read: &'static str,
    expected: &'static str,
) -> Case {
    Case {
        name,
        logical,
        value,
        read,
        expected,
    }
}

fn decimal(precision: u16, scale: u16) -> LogicalType {
    LogicalType::Decimal {
        precision: Some(precision),
        scale: Some(scale),
    }
}

fn dec(text: &str) -> Value {
    Value::Decimal(Decimal::parse(text).expect("a decimal"))
}

fn matrix() -> Vec<Case> {
    use LogicalType as L;
    let wide = "12345678901234567890123456789012345.123456789012345678901234567890";
    let varchar = L::Varchar {
        length: Some(10),
        charset: None,
    };
    vec![
        case(
            "i64_min",
            L::Int64,
            Value::Int(i64::MIN),
            "i64_min::text",
            "-9223372036854775808",
        ),
        case(
            "i64_max",
            L::Int64,
            Value::Int(i64::MAX),
            "i64_max::text",
            "9223372036854775807",
        ),
        case(
            "u64_max",
            L::UInt64,
            Value::UInt(u64::MAX),
            "u64_max::text",
            "18446744073709551615",
        ),
        case(
            "u32_max",
            L::UInt32,
            Value::UInt(u32::MAX.into()),
            "u32_max::text",
            "4294967295",
        ),
        case("u8_max", L::UInt8, Value::UInt(255), "u8_max::text", "255"),
        case("i8_min", L::Int8, Value::Int(-128), "i8_min::text", "-128"),
        case("flag", L::Bool, Value::Bool(true), "flag::text", "true"),
        case("d65", decimal(65, 30), dec(wide), "d65::text", wide),
        case(
            "dneg",
            decimal(10, 4),
            dec("-12345.6789"),
            "dneg::text",
            "-12345.6789",
        ),
        case(
            "dsmall",
            decimal(10, 4),
            dec("0.0001"),
            "dsmall::text",
            "0.0001",
        ),
        case("f32", L::Float32, Value::Float32(1.1), "f32::text", "1.1"),
        case("f64", L::Float64, Value::Float64(0.1), "f64::text", "0.1"),
        case("emoji", text(), Value::text("😀 café"), "emoji", "😀 café"),
        case(
            "empty",
            varchar.clone(),
            Value::text(""),
            "quote_nullable(empty)",
            "''",
        ),
        case(
            "nothing",
            varchar,
            Value::Null,
            "quote_nullable(nothing)",
            "NULL",
        ),
        case(
            "bin",
            L::Varbinary { length: Some(8) },
            Value::Bytes(Arc::from(&b"\x00\xff\x00"[..])),
            "encode(bin, 'hex')",
            "00ff00",
        ),
        case(
            "day",
            L::Date,
            Value::Date(Date::parse("2024-02-29").expect("date")),
            "day::text",
            "2024-02-29",
        ),
        case(
            "tneg",
            L::Time { fsp: 6 },
            Value::Time(TimeOfDay::parse("-838:59:59.000001").expect("time")),
            "tneg::text",
            "-838:59:59.000001",
        ),
        case(
            "tbig",
            L::Time { fsp: 0 },
            Value::Time(TimeOfDay::parse("25:00:00").expect("time")),
            "tbig::text",
            "25:00:00",
        ),
        case(
            "dt",
            L::DateTime { fsp: 6 },
            Value::DateTime(DateTime::parse("2024-01-02 03:04:05.123456").expect("datetime")),
            "dt::text",
            "2024-01-02 03:04:05.123456",
        ),
        case(
            "ts",
            L::Timestamp { fsp: 6 },
            Value::Timestamp(Timestamp::parse_rfc3339("2024-01-02T03:04:05.5Z").expect("ts")),
            "(ts AT TIME ZONE 'UTC')::text",
            "2024-01-02 03:04:05.5",
        ),
        case("yr", L::Year, Value::Year(2155), "yr::text", "2155"),
        case(
            "size",
            L::Enum {
                labels: vec!["small".into(), "medium".into()],
            },
            Value::Enum("medium".into()),
            "size",
            "medium",
        ),
        case(
            "tags",
            L::Set {
                labels: vec!["a".into(), "b".into(), "c".into()],
            },
            Value::Set(vec!["a".into(), "c".into()]),
            "tags::text",
            "{a,c}",
        ),
        case(
            "doc",
            L::Json,
            Value::Json(r#"{"a": [1, 2.5, "x"]}"#.into()),
            "doc::text",
            r#"{"a": [1, 2.5, "x"]}"#,
        ),
        case(
            "bits",
            L::Bit { width: 10 },
            Value::Bit {
                width: 10,
                bits: 0b10_0000_0001,
            },
            "bits::text",
            "1000000001",
        ),
        case(
            "uid",
            L::Uuid,
            Value::Uuid(*b"\x12\x3e\x45\x67\xe8\x9b\x12\xd3\xa4\x56\x42\x66\x14\x17\x40\x00"),
            "uid::text",
            "123e4567-e89b-12d3-a456-426614174000",
        ),
    ]
}

#[tokio::test]
async fn every_value_of_the_matrix_round_trips_exactly() {
    let db = Db::new("pg_matrix");
    let cases = matrix();
    let mut columns = vec![Column::new("id", LogicalType::Int64, false)];
    columns.extend(
        cases
            .iter()
            .map(|c| Column::new(c.name, c.logical.clone(), true)),
    );
    let t = table("shop.matrix", columns, &["id"], 1);
    let mut values = vec![Value::Int(1)];
    values.extend(cases.iter().map(|c| c.value.clone()));
    let mut sink = db.sink(db.config()).await;
    apply(&mut sink, 1, vec![schema(&t), insert(&t, values)]).await;

    let reads: Vec<&str> = cases.iter().map(|c| c.read).collect();
    let stored = db.sql(&format!("SELECT {} FROM raw.matrix", reads.join(", ")));
    let stored: Vec<&str> = stored.split('|').collect();
    for (case, got) in cases.iter().zip(&stored) {
        assert_eq!(*got, case.expected, "column {}", case.name);
    }
    assert_eq!(stored.len(), cases.len());
}

fn dated(nullable: bool) -> Arc<TableSchema> {
    table(
        "shop.dated",
        vec![
            Column::new("id", LogicalType::Int64, false),
            Column::new("day", LogicalType::Date, nullable),
            Column::new("at", LogicalType::DateTime { fsp: 0 }, true),
        ],
        &["id"],
        1,
    )
}

#[tokio::test]
async fn zero_dates_become_null_in_nullable_columns_and_are_counted() {
    let db = Db::new("pg_zero");
    let t = dated(true);
    let zero = Value::Date(Date::parse("0000-00-00").expect("zero date"));
    let zero_time = Value::DateTime(DateTime::parse("2024-00-10 00:00:00").expect("datetime"));
    let mut sink = db.sink(db.config()).await;
    apply(
        &mut sink,
        1,
        vec![schema(&t), insert(&t, vec![Value::Int(1), zero, zero_time])],
    )
    .await;
    assert_eq!(
        db.sql("SELECT quote_nullable(day), quote_nullable(at) FROM raw.dated"),
        "NULL|NULL"
    );
    assert_eq!(sink.nulled_values(), 2);
}

#[tokio::test]
async fn a_configured_zero_date_substitute_is_written_in_any_column() {
    let db = Db::new("pg_zero_sub");
    let t = dated(false);
    let zero = Value::Date(Date::parse("0000-00-00").expect("zero date"));
    let zero_time = Value::DateTime(DateTime::parse("2024-00-10 12:34:56").expect("datetime"));
    let mut config = db.config();
    config.zero_dates = Some("0001-01-01".into());
    let mut sink = db.sink(config).await;
    apply(
        &mut sink,
        1,
        vec![schema(&t), insert(&t, vec![Value::Int(1), zero, zero_time])],
    )
    .await;
    assert_eq!(
        db.sql("SELECT day::text, at::text FROM raw.dated"),
        "0001-01-01|0001-01-01 12:34:56"
    );
    assert_eq!(
        sink.nulled_values(),
        2,
        "substituted values are counted too"
    );
}

#[tokio::test]
async fn a_zero_date_in_a_not_null_column_names_table_column_and_fix() {
    let db = Db::new("pg_zero_nn");
    let t = dated(false);
    let zero = Value::Date(Date::parse("0000-00-00").expect("zero date"));
    let mut sink = db.sink(db.config()).await;
    let events = transaction(
        1,
        vec![
            schema(&t),
            insert(&t, vec![Value::Int(1), zero, Value::Null]),
        ],
    );
    let error = sink
        .write(&events)
        .await
        .expect_err("a zero date cannot be NOT NULL");
    let message = error.to_string();
    assert!(
        message.contains("raw.dated") && message.contains("column day"),
        "{message}"
    );
    assert!(message.contains("DROP NOT NULL"), "{message}");
    assert_eq!(error.retry_hint(), RetryHint::Fatal);
}

#[tokio::test]
async fn a_value_the_column_cannot_hold_is_a_fatal_error_naming_the_column() {
    let db = Db::new("pg_range");
    let t = table(
        "shop.narrow",
        vec![
            Column::new("id", LogicalType::Int64, false),
            Column::new(
                "code",
                LogicalType::Varchar {
                    length: Some(3),
                    charset: None,
                },
                true,
            ),
        ],
        &["id"],
        1,
    );
    let mut sink = db.sink(db.config()).await;
    let events = transaction(
        1,
        vec![
            schema(&t),
            insert(&t, vec![Value::Int(1), Value::text("toolong")]),
        ],
    );
    let error = sink
        .write(&events)
        .await
        .expect_err("too long for varchar(3)");
    let message = error.to_string();
    assert!(
        message.contains("raw.narrow") && message.contains("column code"),
        "{message}"
    );
    assert!(
        !message.contains("toolong"),
        "values stay out of errors: {message}"
    );
    assert_eq!(error.retry_hint(), RetryHint::Fatal);
}

#[tokio::test]
async fn unflushed_writes_are_rolled_back_when_the_sink_is_dropped_and_reopened() {
    let db = Db::new("pg_crash");
    let t = items();
    let mut sink = db.sink(db.config()).await;
    apply(&mut sink, 1, vec![schema(&t), insert(&t, row(1, "kept"))]).await;
    sink.write(&transaction(
        2,
        vec![insert(&t, row(2, "lost")), delete(&t, row(1, "kept"))],
    ))
    .await
    .expect("write without flush");
    drop(sink);

    let mut reopened = PostgresSink::new(db.config(), "test");
    assert_eq!(reopened.open().await.expect("reopen"), Some(position(1)));
    assert_eq!(db.sql(ITEMS), "1|kept|-");
}

#[tokio::test]
async fn reopening_the_same_sink_discards_its_open_batch() {
    let db = Db::new("pg_reopen");
    let t = items();
    let mut sink = db.sink(db.config()).await;
    apply(&mut sink, 1, vec![schema(&t), insert(&t, row(1, "kept"))]).await;
    sink.write(&transaction(2, vec![insert(&t, row(2, "lost"))]))
        .await
        .expect("write without flush");
    assert_eq!(sink.open().await.expect("reopen"), Some(position(1)));
    apply(&mut sink, 3, vec![insert(&t, row(3, "after"))]).await;
    assert_eq!(db.sql(ITEMS), "1|kept|-\n3|after|-");
}

#[tokio::test]
async fn the_checkpoint_survives_a_reopen_and_is_per_pipeline() {
    let db = Db::new("pg_checkpoint");
    let mut sink = db.sink(db.config()).await;
    assert_eq!(
        PostgresSink::new(db.config(), "other")
            .open()
            .await
            .expect("open"),
        None
    );
    apply(&mut sink, 7, vec![schema(&items())]).await;
    apply(&mut sink, 8, vec![]).await;
    let mut fresh = PostgresSink::new(db.config(), "test");
    assert_eq!(fresh.open().await.expect("reopen"), Some(position(8)));
    let mut other = PostgresSink::new(db.config(), "other");
    assert_eq!(other.open().await.expect("open"), None);
}

#[tokio::test]
async fn soft_deletes_and_metadata_columns_keep_history() {
    let db = Db::new("pg_soft");
    let t = items();
    let mut config = db.config();
    config.metadata_columns = true;
    config.deletes = DeleteMode::Soft;
    let mut sink = db.sink(config).await;
    apply(
        &mut sink,
        1,
        vec![schema(&t), insert(&t, row(1, "a")), insert(&t, row(2, "b"))],
    )
    .await;
    apply(&mut sink, 2, vec![delete(&t, row(1, "a"))]).await;
    let query = "SELECT id, _ws_op, _ws_position, \
        (_ws_committed_at AT TIME ZONE 'UTC')::text, \
        coalesce((_ws_deleted_at AT TIME ZONE 'UTC')::text, '-') FROM raw.items ORDER BY id";
    assert_eq!(
        db.sql(query),
        "1|delete|generator:2|2024-05-01 12:00:02|2024-05-01 12:00:02\n\
         2|insert|generator:1|2024-05-01 12:00:01|-"
    );
    apply(&mut sink, 3, vec![insert(&t, row(1, "again"))]).await;
    assert_eq!(
        db.sql("SELECT _ws_op, quote_nullable(_ws_deleted_at) FROM raw.items WHERE id = 1"),
        "insert|NULL"
    );
}

#[tokio::test]
async fn a_transaction_split_over_writes_gets_its_position_at_commit() {
    let db = Db::new("pg_split");
    let t = items();
    let mut config = db.config();
    config.metadata_columns = true;
    let mut sink = db.sink(config).await;
    let mut events = transaction(
        5,
        vec![schema(&t), insert(&t, row(1, "a")), insert(&t, row(2, "b"))],
    );
    let tail = events.split_off(2);
    sink.write(&events).await.expect("write the first part");
    sink.write(&tail).await.expect("write the rest");
    sink.flush(&position(5)).await.expect("flush");
    assert_eq!(
        db.sql("SELECT id, _ws_position FROM raw.items ORDER BY id"),
        "1|generator:5\n2|generator:5"
    );
}

#[tokio::test]
async fn new_columns_are_added_and_incompatible_type_changes_are_refused() {
    let db = Db::new("pg_evolve");
    let v1 = items();
    let mut sink = db.sink(db.config()).await;
    apply(&mut sink, 1, vec![schema(&v1), insert(&v1, row(1, "a"))]).await;

    let mut v2 = (*v1).clone();
    v2.version = 2;
    v2.columns
        .push(Column::new("qty", LogicalType::Int32, false));
    let v2 = Arc::new(v2);
    let mut with_qty = row(2, "b");
    with_qty.push(Value::Int(5));
    apply(&mut sink, 2, vec![schema(&v2), insert(&v2, with_qty)]).await;
    assert_eq!(
        db.sql("SELECT id, coalesce(qty::text, '-') FROM raw.items ORDER BY id"),
        "1|-\n2|5"
    );

    let mut v3 = (*v2).clone();
    v3.version = 3;
    v3.columns[1].logical_type = LogicalType::Int64;
    let error = sink
        .write(&transaction(3, vec![schema(&Arc::new(v3))]))
        .await
        .expect_err("text to bigint is not applied");
    let message = error.to_string();
    assert!(
        message.contains("raw.items") && message.contains("column name"),
        "{message}"
    );
}

#[tokio::test]
async fn unsent_toast_values_keep_the_stored_value() {
    let db = Db::new("pg_toast");
    let t = items();
    let mut sink = db.sink(db.config()).await;
    let mut first = row(1, "a");
    first[2] = Value::text("big stored note");
    apply(&mut sink, 1, vec![schema(&t), insert(&t, first)]).await;
    let before = vec![Value::Int(1), Value::Null, Value::Null];
    let after = vec![Value::Int(1), Value::text("b"), Value::Unchanged];
    apply(&mut sink, 2, vec![update(&t, before, after)]).await;
    assert_eq!(db.sql(ITEMS), "1|b|big stored note");
}

#[tokio::test]
async fn connection_errors_never_show_the_password() {
    let server = Postgres::shared();
    let url = format!(
        "postgres://nobody:topsecret@127.0.0.1:{}/no_such_db",
        server.port()
    );
    let error = PostgresSink::new(PostgresConfig::new(url), "test")
        .open()
        .await
        .expect_err("no such role or database");
    let message = error.to_string();
    assert!(!message.contains("topsecret"), "{message}");
    assert!(message.contains("nobody@127.0.0.1"), "{message}");
    assert!(!format!("{error:?}").contains("topsecret"));
    assert_eq!(error.retry_hint(), RetryHint::Fatal);
}

#[tokio::test]
async fn an_unreachable_server_is_retryable() {
    let url = "postgres://app:topsecret@127.0.0.1:1/dwh";
    let error = PostgresSink::new(PostgresConfig::new(url), "test")
        .open()
        .await
        .expect_err("nothing listens on port 1");
    assert!(matches!(error, SinkError::Postgres { .. }), "{error}");
    assert_eq!(error.retry_hint(), RetryHint::Retryable, "{error}");
    assert!(!error.to_string().contains("topsecret"));
}

#[tokio::test]
async fn several_writes_and_tables_in_one_batch_commit_together() {
    let db = Db::new("pg_multi");
    let t = items();
    let other = table(
        "shop.other",
        vec![
            Column::new("k", text(), false),
            Column::new("v", LogicalType::Int32, true),
        ],
        &["k"],
        1,
    );
    let kv = |k: &str, v: i64| vec![Value::text(k), Value::Int(v)];
    let mut sink = db.sink(db.config()).await;
    apply(
        &mut sink,
        1,
        vec![schema(&t), schema(&other), insert(&t, row(1, "a"))],
    )
    .await;

    // Interleaved tables, a truncate in the middle, and two writes before
    // one flush (the second reuses the staging tables in the same
    // transaction).
    let first = transaction(
        2,
        vec![
            insert(&other, kv("x", 1)),
            update(&t, row(1, "a"), row(1, "b")),
            Event::Change(Change::truncate(other.clone())),
            insert(&other, kv("y", 2)),
            insert(&t, row(2, "c")),
        ],
    );
    let second = transaction(
        3,
        vec![
            update(&t, row(2, "c"), row(2, "d")),
            delete(&t, row(1, "b")),
            update(&other, kv("y", 2), kv("y", 3)),
        ],
    );
    sink.write(&first).await.expect("first write");
    sink.write(&second).await.expect("second write");
    assert_eq!(
        db.sql(ITEMS),
        "1|a|-",
        "nothing is visible before the flush"
    );
    sink.flush(&position(3)).await.expect("flush");
    assert_eq!(db.sql(ITEMS), "2|d|-");
    assert_eq!(db.sql("SELECT k, v FROM raw.other ORDER BY k"), "y|3");
}

#[tokio::test]
async fn a_table_name_template_places_tables() {
    let db = Db::new("pg_template");
    let mut config = db.config();
    config.table_name = "{schema}__{table}".into();
    let t = items();
    let mut sink = db.sink(config).await;
    apply(&mut sink, 1, vec![schema(&t), insert(&t, row(1, "a"))]).await;
    assert_eq!(db.sql("SELECT id, name FROM raw.shop__items"), "1|a");
}

/// Members of a consumer group start together and open their sinks at
/// once on a fresh schema: whatever catalog race PostgreSQL reports to the
/// losers is retryable, and opening again succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sinks_opened_at_once_on_a_fresh_schema_lose_races_only_retryably() {
    use watershed_events::RetryHint;
    let db = Db::new("race");
    for round in 0..8 {
        let mut config = db.config();
        config.schema = format!("race_{round}");
        let opens: Vec<_> = (0..6)
            .map(|member| {
                let config = config.clone();
                tokio::spawn(async move {
                    let mut sink = PostgresSink::new(config, "group");
                    let first = sink.open().await.map(drop);
                    (member, first, sink)
                })
            })
            .collect();
        for open in opens {
            let (member, first, mut sink) = open.await.unwrap();
            if let Err(error) = first {
                assert_eq!(
                    error.retry_hint(),
                    RetryHint::Retryable,
                    "round {round}, member {member}: {error}"
                );
                sink.open()
                    .await
                    .expect("a second open finds what the winner made");
            }
        }
    }
}

fn state(key: &str, value: Option<&str>) -> Event {
    Event::State(watershed_events::StateWrite {
        scope: "aggregate:hourly".into(),
        key: key.into(),
        value: value.map(str::to_owned),
    })
}

#[tokio::test]
async fn transform_state_commits_with_the_batch_and_reads_back() {
    let db = Db::new("state");
    let mut sink = db.sink(db.config()).await;
    assert_eq!(sink.load_state("aggregate:hourly").await.unwrap(), []);
    apply(
        &mut sink,
        1,
        vec![
            state("a", Some("1")),
            state("b", Some("2")),
            state("a", Some("3")),
        ],
    )
    .await;
    apply(&mut sink, 2, vec![state("b", None), state("c", Some("4"))]).await;
    // Written, never flushed: a crash, then a fresh open.
    sink.write(&transaction(3, vec![state("a", None)]))
        .await
        .expect("write");
    drop(sink);
    let mut sink = db.sink(db.config()).await;
    let mut rows = sink.load_state("aggregate:hourly").await.unwrap();
    rows.sort();
    assert_eq!(rows, [("a".into(), "3".into()), ("c".into(), "4".into())]);
    assert_eq!(sink.load_state("stale:other").await.unwrap(), []);
}
