//! The `orders` table of the benchmarks (the MySQL bench's shape), shared
//! by the sink benches and examples and the binary's Kafka bench through
//! `#[path]`.

use std::sync::Arc;

use watershed_events::{Column, Decimal, LogicalType, TableName, TableSchema, Timestamp, Value};
use watershed_sinks::kafka::{Encoder, EnvelopeOptions, SnapshotMarker, SourceInfo};

/// `shop.orders`: id bigint pk, customer_id int, amount decimal(10,2),
/// status varchar(20), created_at datetime(6), note varchar(255) null.
pub fn orders_table() -> Arc<TableSchema> {
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

/// Row `id` of the insert benchmarks: a third of the notes null.
pub fn order_row(id: i64) -> Vec<Value> {
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

/// The Kafka sink's encoder as the Kafka → PostgreSQL benches produce
/// with (Debezium, schemas on), and the `source` block of their records.
pub fn debezium_encoder() -> (Encoder, SourceInfo) {
    let encoder = Encoder::new(EnvelopeOptions {
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
    (encoder, source)
}
