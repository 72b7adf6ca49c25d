//! Shared helpers for the MySQL source tests: a database and a replica id
//! per test on the shared MariaDB, a source config, and draining a source.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use watershed_events::{Change, ChangeOp, Event, Position, Row, TableSchema};
use watershed_sources::Source;
use watershed_sources::mysql::{MysqlConfig, MysqlSource, SnapshotMode};
use watershed_testkit::MariaDb;

pub fn server() -> &'static MariaDb {
    MariaDb::shared()
}

/// A fresh database on the shared server.
pub fn database(prefix: &str) -> String {
    server().create_database(prefix).expect("create database")
}

/// Runs SQL as root with zero dates allowed and times in UTC.
pub fn sql(db: &str, statements: &str) -> String {
    let script = format!("SET sql_mode = ''; SET time_zone = '+00:00'; USE `{db}`; {statements}");
    server()
        .sql(&script)
        .unwrap_or_else(|e| panic!("sql failed: {e}\n{statements}"))
}

/// A replica id no other test in this process uses.
pub fn server_id() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    10_000 + (std::process::id() % 100_000) * 100 + NEXT.fetch_add(1, Ordering::Relaxed)
}

pub fn config(db: &str, tables: &[&str], snapshot: SnapshotMode, chunk_rows: usize) -> MysqlConfig {
    MysqlConfig {
        url: server().url(db),
        server_id: server_id(),
        tables: tables.iter().map(|t| t.to_string()).collect(),
        snapshot,
        chunk_rows,
        heartbeat_ms: 200,
        // One at a time, so that tests can expect an order; parallel
        // copies have their own test.
        snapshot_workers: 1,
        lag_alert_s: None,
    }
}

pub async fn opened(config: MysqlConfig, resume: Option<&Position>) -> MysqlSource {
    let mut source = MysqlSource::new(config);
    source.open(resume).await.expect("open");
    source
}

/// Every event until the source ends (`snapshot: only`).
pub async fn drain(source: &mut MysqlSource) -> Vec<Event> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut all = Vec::new();
    while let Some(chunk) = source.next_chunk().await.expect("next_chunk") {
        all.extend(chunk);
        assert!(Instant::now() < deadline, "the source did not end");
    }
    all
}

/// Events until `commits` more commits arrived (or a timeout fails the test).
pub async fn until_commits(source: &mut MysqlSource, commits: usize) -> Vec<Event> {
    until(source, |events| count_commits(events) >= commits).await
}

pub async fn until(source: &mut MysqlSource, done: impl Fn(&[Event]) -> bool) -> Vec<Event> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut all = Vec::new();
    while !done(&all) {
        assert!(
            Instant::now() < deadline,
            "timed out; got {} events",
            all.len()
        );
        let chunk = source
            .next_chunk()
            .await
            .expect("next_chunk")
            .expect("not ended");
        all.extend(chunk);
    }
    all
}

pub fn count_commits(events: &[Event]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, Event::Commit(_)))
        .count()
}

pub fn commits(events: &[Event]) -> Vec<Position> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Commit(c) => Some(c.position.clone()),
            _ => None,
        })
        .collect()
}

/// Positions of the commits of transactions that changed rows (not the
/// empty ones that only checkpoint other tables' traffic).
pub fn data_commits(events: &[Event]) -> Vec<Position> {
    let mut changed = false;
    let mut positions = Vec::new();
    for event in events {
        match event {
            Event::Begin(_) => changed = false,
            Event::Change(_) => changed = true,
            Event::Commit(c) if changed => positions.push(c.position.clone()),
            _ => {}
        }
    }
    positions
}

pub fn changes(events: &[Event]) -> Vec<&Change> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Change(c) => Some(c),
            _ => None,
        })
        .collect()
}

/// Inserted rows of one table (by table name).
pub fn inserted(events: &[Event], table: &str) -> Vec<Row> {
    changes(events)
        .into_iter()
        .filter(|c| c.table.name.name == table && c.op == ChangeOp::Insert)
        .filter_map(|c| c.after.clone())
        .collect()
}

pub fn schemas(events: &[Event]) -> Vec<Arc<TableSchema>> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Schema(s) => Some(s.table.clone()),
            _ => None,
        })
        .collect()
}

/// Every Change lies between a Begin and its Commit, transactions do not
/// nest, and the stream ends outside a transaction.
pub fn assert_transactions_well_formed(events: &[Event]) {
    let mut open = false;
    for (i, event) in events.iter().enumerate() {
        match event {
            Event::Begin(_) => {
                assert!(!open, "nested Begin at {i}");
                open = true;
            }
            Event::Commit(_) => {
                assert!(open, "Commit without Begin at {i}");
                open = false;
            }
            Event::Change(_) | Event::DeadLetter(_) | Event::State(_) => {
                assert!(open, "change outside a transaction at {i}")
            }
            Event::Schema(_) => {}
        }
    }
    assert!(!open, "unfinished transaction");
}
