//! Transforms and aggregates through the release `watershed` binary:
//!
//! * generator → SQLite, 1,000,000 heartbeats with validate + mask(hash) +
//!   derive, against the same pipeline without transforms (same run);
//! * generator → PostgreSQL, 1,000,000 heartbeats of 10,000 customers
//!   kept as hourly aggregates (the raw rows too), in events/s, against
//!   PostgreSQL's own `INSERT … SELECT … GROUP BY` of the same rows once
//!   loaded; peak RSS.
//!
//! `cargo bench -p watershed --bench transforms` (events:
//! `WATERSHED_BENCH_ROWS`, default 1,000,000).

#[allow(dead_code)]
mod support;

use std::path::Path;
use std::time::Duration;

use support::{run_file, time};
use watershed_testkit::Postgres;

const TRANSFORMS: &str = "\
mask_key: bench-key
transforms:
  - table: heartbeat
    validate: [\"heart_rate between 20 and 250\", \"customer_id is not null\"]
    mask: { customer_id: hash }
    derive: { zone: \"case when heart_rate > 100 then 'high' else 'normal' end\", hour: \"date_trunc('hour', ts)\" }
";

const AGGREGATES: &str = "\
aggregates:
  heartbeats_hourly:
    from: heartbeat
    window: { tumbling: 1h, on: ts }
    group_by: [customer_id]
    measures: { readings: \"count(*)\", avg_hr: \"avg(heart_rate)\", min_hr: \"min(heart_rate)\", max_hr: \"max(heart_rate)\", sd_hr: \"stddev(heart_rate)\" }
    lateness: 10m
";

fn main() {
    let rows: u64 = std::env::var("WATERSHED_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("tempdir");
    // 1,000,000 events over ~10 hours of event time, 10,000 customers.
    let source = format!(
        "{{ kind: generator, stream: heartbeat, seed: 7, count: {rows}, customers: 10000, interval_ms: 36 }}"
    );

    let sqlite = |name: &str| format!("{{ kind: sqlite, path: {name}.db }}");
    let (plain, plain_summary) = run(dir.path(), "plain", &source, &sqlite("plain"), "");
    let (transformed, summary) = run(
        dir.path(),
        "transformed",
        &source,
        &sqlite("transformed"),
        TRANSFORMS,
    );
    let rate = |elapsed: Duration| rows as f64 / elapsed.as_secs_f64();
    println!(
        "generator -> sqlite, {rows} heartbeats: plain {:.0} rows/s ({:.1} MB); validate + mask(hash) + derive {:.0} rows/s ({:.1} MB); ratio {:.2}",
        rate(plain),
        rss(&plain_summary),
        rate(transformed),
        rss(&summary),
        plain.as_secs_f64() / transformed.as_secs_f64()
    );

    let pg = Postgres::start().expect("start PostgreSQL");
    let db = pg.create_database("agg").expect("database");
    let sink = format!(
        "{{ kind: postgres, url: \"{}\", schema: raw }}",
        pg.url(&db)
    );
    let (raw, raw_summary) = run(dir.path(), "raw", &source, &sink, "");
    let db2 = pg.create_database("agg").expect("database");
    let sink = format!(
        "{{ kind: postgres, url: \"{}\", schema: raw }}",
        pg.url(&db2)
    );
    let (aggregated, summary) = run(dir.path(), "aggregated", &source, &sink, AGGREGATES);
    let groups = pg
        .sql(&db2, "SELECT count(*) FROM raw.heartbeats_hourly")
        .expect("count");
    // Larger batches write each touched group less often.
    let db3 = pg.create_database("agg").expect("database");
    let sink = format!(
        "{{ kind: postgres, url: \"{}\", schema: raw }}",
        pg.url(&db3)
    );
    let large =
        format!("{AGGREGATES}defaults: {{ batch: {{ max_rows: 100000, max_bytes: 33554432 }} }}\n");
    let (aggregated_large, large_summary) = run(dir.path(), "large", &source, &sink, &large);
    let group_by = time(|| {
        pg.sql(
            &db,
            "CREATE TABLE raw.hourly AS SELECT customer_id, date_trunc('hour', ts) AS window_start, \
               count(*) AS readings, avg(heart_rate) AS avg_hr, min(heart_rate) AS min_hr, \
               max(heart_rate) AS max_hr, stddev(heart_rate) AS sd_hr \
             FROM raw.heartbeat GROUP BY 1, 2",
        )
        .expect("group by");
    });
    println!(
        "generator -> postgres, {rows} heartbeats, 10,000 customers: raw rows only {:.0} events/s ({:.1} MB); \
         raw + hourly aggregates ({} groups) {:.0} events/s ({:.1} MB); \
         PostgreSQL INSERT … SELECT … GROUP BY of the loaded rows {:.0} events/s; ratio {:.2}",
        rate(raw),
        rss(&raw_summary),
        groups.trim(),
        rate(aggregated),
        rss(&summary),
        rate(group_by),
        rate(aggregated) / rate(group_by)
    );
    println!(
        "  same with batches of 100,000 rows: {:.0} events/s ({:.1} MB); ratio {:.2}",
        rate(aggregated_large),
        rss(&large_summary),
        rate(aggregated_large) / rate(group_by)
    );
}

fn rss(summary: &serde_json::Value) -> f64 {
    summary["peak_rss_bytes"].as_f64().unwrap_or(0.0) / 1e6
}

/// Runs a fresh pipeline to its end; returns wall time and its summary.
fn run(
    dir: &Path,
    name: &str,
    source: &str,
    sink: &str,
    extra: &str,
) -> (Duration, serde_json::Value) {
    let file = dir.join(format!("{name}.yaml"));
    let text = format!("name: {name}\nsource: {source}\nsink: {sink}\n{extra}");
    std::fs::write(&file, text).expect("write pipeline");
    run_file(&file)
}
