//! `cargo bench -p watershed-sinks --bench debezium`: the Debezium codec
//! on one core, without a broker: the Kafka sink's encoder writing insert
//! records of the `orders` table (JsonConverter schemas on, as the Kafka →
//! PostgreSQL bench produces them), and the Kafka source's decoder reading
//! them back into changes. The reference is serde_json reading the same
//! bytes into nothing (`IgnoredAny`): the least any JSON reader must do.
//!
//! Each figure is the median of several passes over the same records.
//! `WATERSHED_BENCH_ROWS` sets the record count (default 200,000).

#[path = "support/orders.rs"]
mod orders;

use std::time::Instant;

use orders::{debezium_encoder, order_row, orders_table};
use watershed_events::Change;
use watershed_sources::kafka::{DebeziumDecoder, Decoded};

const PASSES: usize = 5;

fn main() {
    let rows: i64 = std::env::var("WATERSHED_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let table = orders_table();
    let changes: Vec<Change> = (1..=rows)
        .map(|id| Change::insert(table.clone(), order_row(id)))
        .collect();
    let (mut encoder, source) = debezium_encoder();

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
