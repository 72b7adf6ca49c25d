//! Rough throughput of the postgres sink against a throwaway server:
//! a 1M-row insert-only load (snapshot-like) and a 1M-change stream of
//! 70% inserts, 20% updates, 10% deletes, in batches of 20,000.
//! Only the sink's write + flush time is counted.
//!
//! `cargo run --release -p watershed-sinks --example postgres_apply [ROWS]`

#[path = "../benches/support/orders.rs"]
#[allow(dead_code)]
mod orders;

use std::time::{Duration, Instant};

use watershed_events::{
    Change, DateTime, Decimal, Event, Position, Row, SchemaChange, Timestamp, TxBegin, TxCommit,
    Value,
};
use watershed_sinks::Sink;
use watershed_sinks::postgres::{PostgresConfig, PostgresSink};
use watershed_testkit::Postgres;

const BATCH: u64 = 20_000;

fn order(id: u64, version: u64) -> Row {
    let micros = (id as i64 * 7_919 + version as i64) % 86_400_000_000;
    vec![
        Value::Int(id as i64),
        Value::Int((id % 50_000) as i64),
        Value::Decimal(Decimal::from_scaled(
            ((id * 37 + version) % 1_000_000) as i128,
            2,
        )),
        Value::text(["new", "paid", "shipped", "cancelled"][(id % 4) as usize]),
        Value::DateTime(DateTime {
            date: watershed_events::Date {
                year: 2024,
                month: 1 + (id % 12) as u8,
                day: 1 + (id % 28) as u8,
            },
            time: watershed_events::TimeOfDay { micros },
        }),
        Value::text("a short note about the order, about forty chars"),
    ]
}

fn wrap(batch: u64, changes: Vec<Event>) -> (Vec<Event>, Position) {
    let position = Position::Generator { next_index: batch };
    let mut events = vec![Event::Begin(TxBegin { commit_time: None })];
    events.extend(changes);
    events.push(Event::Commit(TxCommit {
        position: position.clone(),
        commit_time: Timestamp::from_micros(0),
    }));
    (events, position)
}

async fn run(
    sink: &mut PostgresSink,
    batches: impl Iterator<Item = (Vec<Event>, Position)>,
) -> (u64, Duration) {
    let mut rows = 0;
    let mut spent = Duration::ZERO;
    for (events, position) in batches {
        rows += events.iter().map(Event::row_count).sum::<usize>() as u64;
        let started = Instant::now();
        sink.write(&events).await.expect("write");
        sink.flush(&position).await.expect("flush");
        spent += started.elapsed();
    }
    (rows, spent)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let total: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let server = Postgres::shared();
    let db = server.create_database("bench").expect("database");
    let mut sink = PostgresSink::new(PostgresConfig::new(server.url(&db)), "bench");
    sink.open().await.expect("open");
    let table = orders::orders_table();
    let (events, position) = wrap(0, vec![Event::Schema(SchemaChange::new(table.clone()))]);
    sink.write(&events).await.expect("schema");
    sink.flush(&position).await.expect("flush");

    // Snapshot-like: inserts only.
    let inserts = (0..total / BATCH).map(|b| {
        let changes = (b * BATCH..(b + 1) * BATCH)
            .map(|id| Event::Change(Change::insert(table.clone(), order(id, 0))))
            .collect();
        wrap(b + 1, changes)
    });
    let (rows, spent) = run(&mut sink, inserts).await;
    println!(
        "inserts: {rows} rows in {spent:.2?}: {:.0} rows/s",
        rows as f64 / spent.as_secs_f64()
    );

    // Streaming mix over the loaded table: new ids beyond `total`.
    let mut next_id = total;
    let mut seed = 42u64;
    let mut random = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut live: Vec<u64> = (0..total).collect();
    let mixed = (0..total / BATCH).map(|b| {
        let changes = (0..BATCH)
            .map(|_| {
                let roll = random() % 10;
                if roll < 7 || live.is_empty() {
                    next_id += 1;
                    live.push(next_id);
                    Event::Change(Change::insert(table.clone(), order(next_id, 0)))
                } else {
                    let at = (random() % live.len() as u64) as usize;
                    let id = live[at];
                    if roll < 9 {
                        Event::Change(Change::update(
                            table.clone(),
                            order(id, 0),
                            order(id, b + 1),
                        ))
                    } else {
                        live.swap_remove(at);
                        Event::Change(Change::delete(table.clone(), order(id, 0)))
                    }
                }
            })
            .collect();
        wrap(1_000 + b, changes)
    });
    let (rows, spent) = run(&mut sink, mixed).await;
    println!(
        "mixed 70/20/10: {rows} changes in {spent:.2?}: {:.0} changes/s",
        rows as f64 / spent.as_secs_f64()
    );
}
