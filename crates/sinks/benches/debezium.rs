//! `cargo bench -p watershed-sinks --bench debezium`: the Debezium codec
//! on one core, without a broker: the Kafka sink's encoder writing insert
//! records of the `orders` table (JsonConverter schemas on, as the Kafka →
//! PostgreSQL bench produces them), and the Kafka source's decoder reading
//! them back into changes. The reference is serde_json reading the same
//! bytes into nothing (`IgnoredAny`): the least any JSON reader must do.
//!
//! Each figure is the median of several passes over the same records.
//! `WATERSHED_BENCH_ROWS` sets the record count (default 200,000).

use std::sync::Arc;
use std::time::Instant;

use watershed_events::{
    Change, Column, Decimal, LogicalType, TableName, TableSchema, Timestamp, Value,
};
use watershed_sinks::kafka::{Encoder, EnvelopeOptions, SnapshotMarker, SourceInfo};
use watershed_sources::kafka::{DebeziumDecoder, Decoded};

const PASSES: usize = 5;

fn main() {
    let rows: i64 = std::env::var("WATERSHED_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let table = orders_table();
    let changes: Vec<Change> = (1..=rows)
        .map(|id| Change::insert(table.clone(), order(id)))
        .collect();
    let mut encoder = Encoder::new(EnvelopeOptions {
        topic_prefix: "shop".into(),
        schemas: true,
        tombstones: true,
        encoding: Default::default(),
    });
    let source = SourceInfo {
        server_id: 1,
        ts_ms: 1_700_000_000_000,
        snapshot: SnapshotMarker::No,
        gtid: None,
        file: "mysql-bin.000001".into(),
        pos: 4,
        row: 0,
    };

    let mut records = Vec::new();
    let encode = median(|| {
        records = changes
            .iter()
            .flat_map(|change| encoder.encode(change, &source, 0))
            .collect();
    });
    let bytes: usize = records
        .iter()
        .map(|r| r.value.as_ref().map_or(0, |v| v.len()))
        .sum();

    let reference = median(|| {
        for record in &records {
            let value = record.value.as_deref().unwrap_or_default();
            let parsed: Result<serde::de::IgnoredAny, _> = serde_json::from_slice(value);
            assert!(parsed.is_ok());
        }
    });

    let decode = median(|| {
        let mut decoder = DebeziumDecoder::default();
        for record in &records {
            match decoder.decode(record.key.as_deref(), record.value.as_deref()) {
                Ok(Decoded::Change(_, change)) => assert!(change.after.is_some()),
                other => panic!("not a change: {other:?}"),
            }
        }
    });

    let rate = |seconds: f64| rows as f64 / seconds;
    println!(
        "debezium codec, {rows} orders inserts of ~{} bytes (schemas on):",
        bytes / rows.max(1) as usize
    );
    println!("  encode: {:.0} records/s", rate(encode));
    println!(
        "  decode: {:.0} records/s; serde_json reading the same bytes into nothing {:.0}/s; \
         decode / reference {:.2}",
        rate(decode),
        rate(reference),
        reference / decode
    );
}

/// Median wall time of [`PASSES`] runs, in seconds.
fn median(mut run: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..PASSES)
        .map(|_| {
            let started = Instant::now();
            run();
            started.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[PASSES / 2]
}

/// The MySQL bench's `orders` table.
fn orders_table() -> Arc<TableSchema> {
    let varchar = |n| LogicalType::Varchar {
        length: Some(n),
        charset: None,
    };
    Arc::new(TableSchema {
        name: TableName::parse("shop.orders"),
        columns: vec![
            Column::new("id", LogicalType::Int64, false),
            Column::new("customer_id", LogicalType::Int32, false),
            Column::new(
                "amount",
                LogicalType::Decimal {
                    precision: Some(10),
                    scale: Some(2),
                },
                false,
            ),
            Column::new("status", varchar(20), false),
            Column::new("created_at", LogicalType::DateTime { fsp: 6 }, false),
            Column::new("note", varchar(255), true),
        ],
        primary_key: vec!["id".into()],
        indexes: vec![],
        version: 1,
        foreign_keys: Vec::new(),
        comment: None,
    })
}

fn order(id: i64) -> Vec<Value> {
    vec![
        Value::Int(id),
        Value::Int(id % 10_000),
        Value::Decimal(Decimal::from_scaled(i128::from(id % 100_000), 2)),
        Value::text(["new", "paid", "shipped", "cancelled"][(id % 4) as usize]),
        Value::DateTime(
            Timestamp::from_micros(1_704_067_200_000_000 + id * 1_000_000).to_datetime(),
        ),
        if id % 3 == 0 {
            Value::Null
        } else {
            Value::text(&format!("note {id}"))
        },
    ]
}
