//! Rough source-only throughput, for tuning (ignored by default; run with
//! `cargo test --release -p watershed-sources --test mysql -- --ignored --nocapture`).
//! Prints figures; asserts nothing about time.

use std::time::Instant;

use watershed_events::{Event, Position};
use watershed_sources::Source;
use watershed_sources::mysql::SnapshotMode;

use crate::support::*;

const ROWS: usize = 200_000;

fn orders(db: &str) {
    sql(
        db,
        "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int, amount decimal(10,2),
           status varchar(20), created_at datetime(6), note varchar(255)) DEFAULT CHARSET = utf8mb4;",
    );
}

fn fill(db: &str, first: usize) {
    // 1000-row statements: about 8 KB rows events, as a large INSERT makes.
    for batch in (first..first + ROWS).step_by(1000) {
        let values: Vec<String> = (batch..batch + 1000)
            .map(|i| {
                format!(
                    "({i}, {}, {}.{:02}, 'paid', '2024-01-01 00:00:00.{:06}', 'note {i}')",
                    i % 10_000,
                    i % 5000,
                    i % 100,
                    i % 1_000_000
                )
            })
            .collect();
        sql(
            db,
            &format!("INSERT INTO orders VALUES {}", values.join(",")),
        );
    }
}

#[tokio::test]
#[ignore = "a measurement, not a test"]
async fn snapshot_and_binlog_throughput() {
    let db = database("throughput");
    orders(&db);
    fill(&db, 0);
    let table = format!("{db}.orders");

    let mut source = opened(config(&db, &[&table], SnapshotMode::Only, 10_000), None).await;
    let started = Instant::now();
    let mut rows = 0;
    let mut handover = None;
    while let Some(chunk) = source.next_chunk().await.unwrap() {
        for event in chunk {
            match event {
                Event::Change(_) => rows += 1,
                Event::Commit(c) => handover = Some(c.position),
                _ => {}
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "snapshot: {rows} rows in {seconds:.2} s = {:.0} rows/s",
        rows as f64 / seconds
    );
    let handover: Position = handover.unwrap();

    fill(&db, ROWS);
    let mut source = opened(
        config(&db, &[&table], SnapshotMode::Initial, 10_000),
        Some(&handover),
    )
    .await;
    let started = Instant::now();
    let mut rows = 0;
    while rows < ROWS {
        let chunk = source.next_chunk().await.unwrap().unwrap();
        rows += chunk
            .iter()
            .filter(|e| matches!(e, Event::Change(_)))
            .count();
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "binlog: {rows} rows in {seconds:.2} s = {:.0} rows/s",
        rows as f64 / seconds
    );
}
