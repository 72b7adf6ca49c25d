//! The MySQL source against a real MariaDB (the testkit's shared server,
//! a database and a replica id per test): snapshot, resume, streaming,
//! types, filters, schema changes and refused settings.

// Helpers outside `#[test]` functions panic on purpose: a failed setup is a
// failed test.
#![allow(clippy::unwrap_used)]

#[path = "mysql/resync.rs"]
mod resync;
mod support;
#[path = "mysql/throughput.rs"]
mod throughput;
#[path = "mysql/types.rs"]
mod types;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use support::*;
use watershed_events::{
    ChangeOp, Event, LogicalType, MysqlBinlogPosition, Position, RetryHint, Value,
};
use watershed_sources::mysql::{MysqlSource, SnapshotMode};
use watershed_sources::{Source, SourceError};

fn ids(rows: &[watershed_events::Row]) -> Vec<i64> {
    rows.iter()
        .map(|r| match r[0] {
            Value::Int(id) => id,
            ref other => panic!("id {other:?}"),
        })
        .collect()
}

fn seq(n: i64) -> String {
    (1..=n)
        .map(|i| format!("({i}, 'n{i}')"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Tables `a` (25 rows), `b` (composite key, 17 rows), `c` (no key, 5
/// rows) and `d` (empty).
fn four_tables(db: &str) {
    let b_rows: Vec<String> = (1..=17)
        .map(|i| format!("('k{}', {}, {i})", i % 3, i))
        .collect();
    sql(
        db,
        &format!(
            "CREATE TABLE a (id int PRIMARY KEY, name varchar(20));
             INSERT INTO a VALUES {};
             CREATE TABLE b (k1 varchar(10), k2 int, v int, PRIMARY KEY (k1, k2));
             INSERT INTO b VALUES {};
             CREATE TABLE c (x int, y varchar(5));
             INSERT INTO c VALUES (1,'a'),(1,'a'),(2,'b'),(3,NULL),(4,'d');
             CREATE TABLE d (id bigint PRIMARY KEY);",
            seq(25),
            b_rows.join(",")
        ),
    );
}

#[tokio::test]
async fn snapshot_copies_every_row_once_in_key_chunks_and_hands_over_to_the_binlog() {
    let db = database("snap");
    four_tables(&db);
    let mut source = opened(
        config(&db, &[&format!("{db}.*")], SnapshotMode::Only, 4),
        None,
    )
    .await;
    let events = drain(&mut source).await;
    assert_transactions_well_formed(&events);

    let names: Vec<String> = schemas(&events)
        .iter()
        .map(|s| s.name.name.clone())
        .collect();
    assert_eq!(names, ["a", "b", "c", "d"]);
    assert_eq!(ids(&inserted(&events, "a")), (1..=25).collect::<Vec<_>>());
    let b: BTreeSet<String> = inserted(&events, "b")
        .iter()
        .map(|r| format!("{:?}{:?}", r[0], r[1]))
        .collect();
    assert_eq!(b.len(), 17, "every composite key once");
    assert_eq!(
        inserted(&events, "c").len(),
        5,
        "keyless rows, duplicates included"
    );
    assert!(inserted(&events, "d").is_empty());

    let positions = commits(&events);
    // a: 7 chunks of at most 4 rows; b: 5; c: one transaction; d: one; handover.
    assert_eq!(positions.len(), 7 + 5 + 1 + 1 + 1, "{positions:#?}");
    let Some(Position::MysqlFile(handover)) = positions.last() else {
        panic!(
            "the last commit is not a binlog position: {:?}",
            positions.last()
        )
    };
    assert!(handover.file.starts_with("mysql-bin."), "{handover}");
    assert!(
        handover.gtid_set.is_some(),
        "MariaDB positions carry the GTID state"
    );
    match &positions[positions.len() - 2] {
        Position::MysqlSnapshot(progress) => {
            assert_eq!(progress.tables_done.len(), 4);
            assert_eq!(&progress.handover, handover);
        }
        other => panic!("{other:?}"),
    }
    // `snapshot: only` stays finished on a second next_chunk.
    assert!(source.next_chunk().await.unwrap().is_none());
}

#[tokio::test]
async fn an_interrupted_snapshot_resumes_after_the_last_copied_key() {
    let db = database("resume_snap");
    four_tables(&db);
    let cfg = config(&db, &[&format!("{db}.*")], SnapshotMode::Only, 4);
    let mut first = opened(cfg.clone(), None).await;
    // Stop after the third chunk of `a`.
    let events = until_commits(&mut first, 3).await;
    drop(first);
    let checkpoint = commits(&events)[2].clone();
    let Position::MysqlSnapshot(progress) = &checkpoint else {
        panic!("{checkpoint:?}")
    };
    assert_eq!(
        progress.copying.keys().collect::<Vec<_>>(),
        [&format!("{db}.a")]
    );
    let copied: Vec<i64> = ids(&inserted(&events, "a"));
    assert_eq!(copied, (1..=12).collect::<Vec<_>>());

    // Meanwhile a row arrives that the new snapshot sees.
    sql(&db, "INSERT INTO a VALUES (26, 'late')");
    let mut second = opened(cfg, Some(&checkpoint)).await;
    let rest = drain(&mut second).await;
    assert_transactions_well_formed(&rest);
    assert_eq!(ids(&inserted(&rest, "a")), (13..=26).collect::<Vec<_>>());
    assert_eq!(inserted(&rest, "b").len(), 17);
    let Some(Position::MysqlFile(handover)) = commits(&rest).last().cloned() else {
        panic!("no handover")
    };
    assert_eq!(
        handover, progress.handover,
        "streaming starts at the first snapshot's position"
    );
}

#[tokio::test]
async fn tables_copied_in_parallel_interleave_whole_transactions_and_resume() {
    let db = database("parallel_snap");
    four_tables(&db);
    let mut cfg = config(&db, &[&format!("{db}.*")], SnapshotMode::Only, 3);
    cfg.snapshot_workers = 3;
    let mut first = opened(cfg.clone(), None).await;
    let events = until_commits(&mut first, 6).await;
    drop(first);
    assert_transactions_well_formed(&events);
    let checkpoint = commits(&events)[5].clone();
    let Position::MysqlSnapshot(progress) = &checkpoint else {
        panic!("{checkpoint:?}")
    };
    let started: BTreeSet<&str> = [&events[..]]
        .iter()
        .flat_map(|e| schemas(e))
        .map(|s| if s.name.name == "a" { "a" } else { "other" })
        .collect();
    assert_eq!(started.len(), 2, "a and another table copied at once");
    assert!(
        !progress.copying.is_empty() || progress.tables_done.len() > 1,
        "{progress}"
    );

    let mut second = opened(cfg, Some(&checkpoint)).await;
    let rest = drain(&mut second).await;
    assert_transactions_well_formed(&rest);
    let mut a = ids(&inserted(&events, "a"));
    a.extend(ids(&inserted(&rest, "a")));
    a.sort_unstable();
    a.dedup();
    assert_eq!(a, (1..=25).collect::<Vec<_>>(), "every row of a, resumed");
    let mut b: BTreeSet<String> = BTreeSet::new();
    for row in inserted(&events, "b").iter().chain(&inserted(&rest, "b")) {
        b.insert(format!("{:?}{:?}", row[0], row[1]));
    }
    assert_eq!(b.len(), 17);
    assert!(
        [&events, &rest].iter().any(|e| inserted(e, "c").len() == 5),
        "the keyless table arrives whole in one run"
    );
}

#[tokio::test]
async fn streaming_follows_changes_in_order_with_transaction_boundaries() {
    let db = database("stream");
    sql(
        &db,
        "CREATE TABLE a (id int PRIMARY KEY, name varchar(20));
         CREATE TABLE b (id int PRIMARY KEY, qty int);
         INSERT INTO a VALUES (1, 'one');",
    );
    let mut source = opened(
        config(&db, &[&format!("{db}.*")], SnapshotMode::Initial, 100),
        None,
    )
    .await;
    let snapshot = until(&mut source, |e| {
        matches!(commits(e).last(), Some(Position::MysqlFile(_)))
    })
    .await;
    assert_eq!(ids(&inserted(&snapshot, "a")), [1]);

    sql(
        &db,
        "BEGIN; INSERT INTO a VALUES (2, 'two'); INSERT INTO b VALUES (1, 10), (2, 20); COMMIT;
         UPDATE a SET name = 'uno' WHERE id = 1;
         DELETE FROM b WHERE id = 2;
         TRUNCATE TABLE a;",
    );
    let events = until(&mut source, |e| changes(e).len() >= 6).await;
    assert_transactions_well_formed(&events);
    let summary: Vec<(String, ChangeOp)> = changes(&events)
        .iter()
        .map(|c| (c.table.name.name.clone(), c.op))
        .collect();
    assert_eq!(
        summary,
        [
            ("a".to_string(), ChangeOp::Insert),
            ("b".into(), ChangeOp::Insert),
            ("b".into(), ChangeOp::Insert),
            ("a".into(), ChangeOp::Update),
            ("b".into(), ChangeOp::Delete),
            ("a".into(), ChangeOp::Truncate),
        ]
    );
    // The multi-table transaction is one Begin…Commit (empty transactions
    // that only checkpoint other databases' traffic may come in between).
    let first_change = events
        .iter()
        .position(|e| matches!(e, Event::Change(_)))
        .unwrap();
    let its_commit = first_change
        + events[first_change..]
            .iter()
            .position(|e| matches!(e, Event::Commit(_)))
            .unwrap();
    assert_eq!(changes(&events[first_change..its_commit]).len(), 3);
    let update = changes(&events)[3];
    assert_eq!(update.before.as_ref().unwrap()[1], Value::text("one"));
    assert_eq!(update.after.as_ref().unwrap()[1], Value::text("uno"));
    let delete = changes(&events)[4];
    assert_eq!(delete.before, Some(vec![Value::Int(2), Value::Int(20)]));
    // Positions increase.
    let offsets: Vec<(String, u64)> = commits(&events)
        .into_iter()
        .map(|p| match p {
            Position::MysqlFile(MysqlBinlogPosition { file, offset, .. }) => (file, offset),
            other => panic!("{other:?}"),
        })
        .collect();
    assert!(offsets.windows(2).all(|w| w[0] < w[1]), "{offsets:?}");
}

/// Streams three single-row transactions and returns the commit positions.
async fn three_transactions(db: &str) -> (MysqlSource, Vec<Position>) {
    sql(db, "CREATE TABLE t (id int PRIMARY KEY)");
    let mut source = opened(
        config(db, &[&format!("{db}.t")], SnapshotMode::Never, 100),
        None,
    )
    .await;
    sql(
        db,
        "INSERT INTO t VALUES (1); INSERT INTO t VALUES (2); INSERT INTO t VALUES (3);",
    );
    let events = until(&mut source, |e| inserted(e, "t").len() >= 3).await;
    let positions = data_commits(&events);
    (source, positions[positions.len() - 3..].to_vec())
}

#[tokio::test]
async fn resuming_from_a_binlog_position_yields_exactly_the_later_transactions() {
    let db = database("resume_bin");
    let (_first, positions) = three_transactions(&db).await;
    let cfg = config(&db, &[&format!("{db}.t")], SnapshotMode::Initial, 100);

    // By GTID (what MariaDB checkpoints carry)…
    let mut by_gtid = opened(cfg.clone(), Some(&positions[0])).await;
    let events = until(&mut by_gtid, |e| inserted(e, "t").len() >= 2).await;
    assert_eq!(ids(&inserted(&events, "t")), [2, 3]);
    assert_eq!(data_commits(&events), positions[1..]);

    // …and by file and offset alone.
    let Position::MysqlFile(mut file_only) = positions[1].clone() else {
        unreachable!()
    };
    file_only.gtid_set = None;
    let mut by_file = opened(cfg, Some(&Position::MysqlFile(file_only))).await;
    let events = until(&mut by_file, |e| !inserted(e, "t").is_empty()).await;
    assert_eq!(ids(&inserted(&events, "t")), [3]);
    assert_eq!(
        data_commits(&events),
        positions[2..],
        "the GTID state is recovered"
    );
}

#[tokio::test]
async fn tables_are_filtered_and_new_matching_tables_are_picked_up() {
    let db = database("filter");
    sql(
        &db,
        "CREATE TABLE orders (id int PRIMARY KEY); CREATE TABLE tmp_orders (id int PRIMARY KEY);",
    );
    let patterns = [format!("{db}.*"), format!("!{db}.tmp_*")];
    let patterns: Vec<&str> = patterns.iter().map(String::as_str).collect();
    let mut source = opened(config(&db, &patterns, SnapshotMode::Never, 100), None).await;
    sql(
        &db,
        "INSERT INTO tmp_orders VALUES (1);
         INSERT INTO orders VALUES (1);
         CREATE TABLE late (id int PRIMARY KEY, note text);
         CREATE TABLE tmp_late (id int PRIMARY KEY);
         INSERT INTO tmp_late VALUES (7);
         INSERT INTO late VALUES (5, 'hi');",
    );
    let events = until(&mut source, |e| !inserted(e, "late").is_empty()).await;
    let tables: BTreeSet<String> = changes(&events)
        .iter()
        .map(|c| c.table.name.name.clone())
        .collect();
    assert_eq!(
        tables,
        BTreeSet::from(["orders".to_string(), "late".to_string()])
    );
    let late = schemas(&events)
        .into_iter()
        .find(|s| s.name.name == "late")
        .expect("late's schema");
    assert_eq!(late.primary_key, ["id"]);
    assert_eq!(
        inserted(&events, "late")[0],
        vec![Value::Int(5), Value::text("hi")]
    );
}

#[tokio::test]
async fn schema_changes_are_announced_before_the_rows_written_under_them() {
    let db = database("ddl");
    sql(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY, a int) DEFAULT CHARSET = utf8mb4; INSERT INTO t VALUES (1, 1);",
    );
    let mut source = opened(
        config(&db, &[&format!("{db}.t")], SnapshotMode::Initial, 100),
        None,
    )
    .await;
    let snapshot = until(&mut source, |e| {
        matches!(commits(e).last(), Some(Position::MysqlFile(_)))
    })
    .await;
    assert_eq!(schemas(&snapshot)[0].version, 1);
    sql(
        &db,
        "ALTER TABLE t ADD COLUMN note varchar(10) DEFAULT 'x';
         INSERT INTO t VALUES (2, 2, 'two');
         GRANT SELECT ON *.* TO 'watershed'@'%';",
    );
    let events = until(&mut source, |e| !inserted(e, "t").is_empty()).await;
    assert_transactions_well_formed(&events);
    let schema_at = events
        .iter()
        .position(|e| matches!(e, Event::Schema(_)))
        .expect("a schema event");
    let insert_at = events
        .iter()
        .position(|e| matches!(e, Event::Change(_)))
        .unwrap();
    assert!(schema_at < insert_at);
    let altered = &schemas(&events)[0];
    assert_eq!(altered.version, 2);
    assert_eq!(altered.columns.len(), 3);
    assert_eq!(
        altered.columns[2].logical_type,
        LogicalType::Varchar {
            length: Some(10),
            charset: Some("utf8mb4".into())
        }
    );
    assert_eq!(
        inserted(&events, "t")[0],
        vec![Value::Int(2), Value::Int(2), Value::text("two")]
    );
}

#[tokio::test]
async fn an_idle_stream_returns_empty_chunks_within_a_second() {
    let db = database("idle");
    sql(&db, "CREATE TABLE t (id int PRIMARY KEY)");
    let mut source = opened(
        config(&db, &[&format!("{db}.t")], SnapshotMode::Never, 100),
        None,
    )
    .await;
    for _ in 0..3 {
        let started = Instant::now();
        let chunk = source.next_chunk().await.unwrap().unwrap();
        assert!(started.elapsed() < Duration::from_millis(1500));
        assert!(chunk.iter().all(|e| !matches!(e, Event::Change(_))));
    }
}

#[tokio::test]
async fn statement_binlog_format_is_refused_with_the_fix() {
    let own = watershed_testkit::MariaDb::start().expect("start a MariaDB of its own");
    own.sql("SET GLOBAL binlog_format = 'STATEMENT'; CREATE DATABASE s;")
        .unwrap();
    let mut cfg = config("s", &["s.*"], SnapshotMode::Initial, 100);
    cfg.url = own.url("s");
    let mut source = MysqlSource::new(cfg);
    let err = source.open(None).await.unwrap_err();
    assert_eq!(err.retry_hint(), RetryHint::Fatal);
    let text = err.to_string();
    assert!(text.contains("binlog_format is STATEMENT"), "{text}");
    assert!(text.contains("SET GLOBAL binlog_format = 'ROW'"), "{text}");
    assert!(
        !text.contains(own.password()),
        "no secrets in errors: {text}"
    );
    assert!(matches!(err, SourceError::Mysql(_)));
}

#[tokio::test]
async fn a_binlog_rotation_moves_positions_to_the_next_file() {
    let db = database("rotate");
    sql(&db, "CREATE TABLE t (id int PRIMARY KEY)");
    let mut source = opened(
        config(&db, &[&format!("{db}.t")], SnapshotMode::Never, 100),
        None,
    )
    .await;
    sql(
        &db,
        "INSERT INTO t VALUES (1); FLUSH BINARY LOGS; INSERT INTO t VALUES (2);",
    );
    let events = until(&mut source, |e| inserted(e, "t").len() >= 2).await;
    let files: Vec<String> = commits(&events)
        .into_iter()
        .filter_map(|p| match p {
            Position::MysqlFile(position) => Some(position.file),
            _ => None,
        })
        .collect();
    assert!(
        files.len() >= 2 && files.first() < files.last(),
        "{files:?}"
    );
}

#[tokio::test]
async fn a_purged_binlog_position_fails_with_the_remedy() {
    let own = watershed_testkit::MariaDb::start().expect("start a MariaDB of its own");
    own.sql(
        "CREATE DATABASE p; CREATE TABLE p.t (id int PRIMARY KEY); INSERT INTO p.t VALUES (1);
         FLUSH BINARY LOGS; FLUSH BINARY LOGS;",
    )
    .unwrap();
    // MariaDB keeps a file until its binlog checkpoint is written.
    let deadline = Instant::now() + Duration::from_secs(10);
    while own
        .sql("SHOW BINARY LOGS")
        .unwrap()
        .contains("mysql-bin.000001")
    {
        assert!(Instant::now() < deadline, "the binlog was not purged");
        own.sql("PURGE BINARY LOGS TO 'mysql-bin.000003'").unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut cfg = config("p", &["p.*"], SnapshotMode::Initial, 100);
    cfg.url = own.url("p");
    let positions = [
        MysqlBinlogPosition {
            file: "mysql-bin.000001".into(),
            offset: 4,
            gtid_set: None,
            ..MysqlBinlogPosition::default()
        },
        MysqlBinlogPosition {
            file: "mysql-bin.000001".into(),
            offset: 4,
            gtid_set: Some("0-1-1".into()),
            ..MysqlBinlogPosition::default()
        },
    ];
    for position in positions {
        let mut source = MysqlSource::new(cfg.clone());
        let err = match source
            .open(Some(&Position::MysqlFile(position.clone())))
            .await
        {
            Err(err) => err,
            Ok(()) => source.next_chunk().await.unwrap_err(),
        };
        assert_eq!(err.retry_hint(), RetryHint::Fatal, "{err}");
        assert!(err.to_string().contains("re-snapshot"), "{position}: {err}");
    }
}

#[tokio::test]
async fn resuming_before_an_alter_decodes_older_rows_with_the_binlogs_own_shape() {
    let db = database("old_shape");
    let (_first, positions) = three_transactions(&db).await;
    sql(
        &db,
        "ALTER TABLE t ADD COLUMN note varchar(10);
         INSERT INTO t VALUES (4, 'four');",
    );
    // information_schema now says (id, note); the binlog after positions[0]
    // still has rows of (id) only.
    let cfg = config(&db, &[&format!("{db}.t")], SnapshotMode::Initial, 100);
    let mut source = opened(cfg, Some(&positions[0])).await;
    let events = until(&mut source, |e| inserted(e, "t").len() >= 3).await;
    assert_transactions_well_formed(&events);
    let rows = inserted(&events, "t");
    assert_eq!(rows[0], vec![Value::Int(2)]);
    assert_eq!(rows[1], vec![Value::Int(3)]);
    assert_eq!(rows[2], vec![Value::Int(4), Value::text("four")]);
    let versions: Vec<(usize, u64)> = schemas(&events)
        .iter()
        .map(|s| (s.columns.len(), s.version))
        .collect();
    assert_eq!(
        versions,
        [(1, 2), (2, 3)],
        "old shape first, then the altered one"
    );
}

#[tokio::test]
async fn generated_and_invisible_columns_are_copied_and_streamed() {
    let db = database("generated");
    sql(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY, a int, v int AS (a + 1) VIRTUAL,
           p int AS (a * 2) PERSISTENT, h int INVISIBLE DEFAULT 7);
         INSERT INTO t (id, a) VALUES (1, 10);",
    );
    let mut source = opened(
        config(&db, &[&format!("{db}.t")], SnapshotMode::Initial, 100),
        None,
    )
    .await;
    let snapshot = until(&mut source, |e| {
        matches!(commits(e).last(), Some(Position::MysqlFile(_)))
    })
    .await;
    let row = |a: i64, id: i64| {
        vec![
            Value::Int(id),
            Value::Int(a),
            Value::Int(a + 1),
            Value::Int(a * 2),
            Value::Int(7),
        ]
    };
    assert_eq!(inserted(&snapshot, "t"), [row(10, 1)]);
    sql(&db, "INSERT INTO t (id, a) VALUES (2, 20)");
    let events = until(&mut source, |e| !inserted(e, "t").is_empty()).await;
    assert!(schemas(&events).is_empty(), "{:?}", schemas(&events));
    assert_eq!(inserted(&events, "t"), [row(20, 2)]);
}

#[tokio::test]
async fn a_row_change_logged_as_a_statement_stops_the_stream() {
    let db = database("stmt_session");
    sql(&db, "CREATE TABLE t (id int PRIMARY KEY)");
    let mut source = opened(
        config(&db, &[&format!("{db}.t")], SnapshotMode::Never, 100),
        None,
    )
    .await;
    sql(
        &db,
        "SET SESSION binlog_format = 'STATEMENT'; INSERT INTO t VALUES (1);",
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let err = loop {
        assert!(Instant::now() < deadline, "no error");
        match source.next_chunk().await {
            Ok(_) => continue,
            Err(err) => break err,
        }
    };
    assert_eq!(err.retry_hint(), RetryHint::Fatal);
    assert!(err.to_string().contains("logged as a statement"), "{err}");
}

#[tokio::test]
async fn without_full_row_metadata_schemas_come_from_information_schema() {
    let own = watershed_testkit::MariaDb::start().expect("start a MariaDB of its own");
    own.sql(
        "SET GLOBAL binlog_row_metadata = 'NO_LOG';
         CREATE DATABASE m;
         CREATE TABLE m.t (id bigint unsigned PRIMARY KEY, e enum('x','y'), note varchar(5))
           DEFAULT CHARSET = utf8mb4;",
    )
    .unwrap();
    let mut cfg = config("m", &["m.*"], SnapshotMode::Never, 100);
    cfg.url = own.url("m");
    let mut source = opened(cfg, None).await;
    own.sql("INSERT INTO m.t VALUES (18446744073709551615, 'y', 'é')")
        .unwrap();
    let events = until(&mut source, |e| !inserted(e, "t").is_empty()).await;
    assert_eq!(
        inserted(&events, "t")[0],
        vec![
            Value::UInt(u64::MAX),
            Value::Enum("y".into()),
            Value::text("é")
        ]
    );
    assert_eq!(schemas(&events)[0].columns[0].name, "id");
}

#[tokio::test]
async fn check_reports_settings_privileges_and_keyless_tables() {
    use watershed_events::CheckStatus;
    let db = database("check");
    sql(
        &db,
        "CREATE TABLE keyed (id int PRIMARY KEY); CREATE TABLE loose (a int);",
    );
    let checks = watershed_sources::mysql::check(&config(
        &db,
        &[&format!("{db}.*")],
        SnapshotMode::Initial,
        100,
    ))
    .await;
    let status = |name: &str| {
        checks
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.status)
            .unwrap_or_else(|| panic!("no check {name}: {checks:#?}"))
    };
    for name in [
        "source reachable",
        "log_bin",
        "binlog_format",
        "binlog_row_image",
        "binlog_row_metadata",
        "replication privileges",
        "tables",
    ] {
        assert_eq!(status(name), CheckStatus::Ok, "{name}: {checks:#?}");
    }
    assert_eq!(status("primary keys"), CheckStatus::Warn);
    let mut unreachable = config(&db, &["x.*"], SnapshotMode::Initial, 100);
    unreachable.url = "mysql://u:secret@127.0.0.1:1/x".into();
    let checks = watershed_sources::mysql::check(&unreachable).await;
    assert_eq!(checks[0].status, CheckStatus::Fail);
    assert!(!checks[0].detail.contains("secret"), "{:?}", checks[0]);
}
