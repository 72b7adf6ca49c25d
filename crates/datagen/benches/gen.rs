//! `watershed gen data` throughput: rows/s generated to CSV for the shop
//! schema (one thread, so per core), and rows/s loaded into PostgreSQL
//! against psql's `\copy` of the same rows from a CSV file (the ceiling).
//!
//! `cargo bench -p watershed-datagen --bench gen` (rows per table:
//! `GEN_BENCH_ROWS`, default 200,000; load rows: `GEN_BENCH_LOAD_ROWS`,
//! default 1,000,000).

use std::process::Command;
use std::time::{Duration, Instant};

use watershed_datagen::{Existing, Format, Locale, Plan, Request, Target, load, write_files};
use watershed_events::TableSchema;
use watershed_schema::SchemaModel;
use watershed_schema::dbml;
use watershed_schema::ddl::{DdlOptions, Dialect};
use watershed_testkit::Postgres;

const LOAD_TABLE: &str = "
Table orders {
  id bigint [pk, increment]
  user_id bigint [not null]
  status varchar(20) [not null]
  total decimal(12,2) [not null]
  placed_at timestamp [not null]
  note text
}
";

fn env_rows(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn tables(text: &str) -> Vec<TableSchema> {
    let doc = dbml::parse("bench.dbml", text).unwrap_or_else(|e| panic!("{e}"));
    let model = SchemaModel::from_document(&doc, &DdlOptions::default());
    model.tables.into_values().collect()
}

fn request(rows: u64) -> Request {
    Request {
        default_rows: rows,
        seed: 1,
        locale: Locale::EnUs,
        ..Request::default()
    }
}

fn generation(rows: u64) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/schema/shop.dbml"
    );
    let text = std::fs::read_to_string(path).expect("shop.dbml");
    let plan = Plan::new(tables(&text), &request(rows)).expect("plans");
    let dir = tempfile::tempdir().expect("temp dir");
    let started = Instant::now();
    let summary =
        write_files(&plan, dir.path(), Format::Csv, Dialect::Postgres, false).expect("writes");
    let seconds = started.elapsed().as_secs_f64();
    let total: u64 = summary.iter().map(|s| s.rows).sum();
    println!(
        "generate CSV, shop schema ({} tables x {rows} rows, 1 thread)",
        summary.len()
    );
    let mut sorted = summary.clone();
    sorted.sort_by(|a, b| b.rows_per_second.total_cmp(&a.rows_per_second));
    for s in &sorted {
        let columns = plan
            .tables
            .iter()
            .find(|t| t.schema.name.to_string() == s.table)
            .map_or(0, |t| t.columns.len());
        println!(
            "  {:<28} {columns:>2} cols {:>10.0} rows/s",
            s.table, s.rows_per_second
        );
    }
    println!(
        "  all tables: {total} rows in {seconds:.2}s = {:.0} rows/s",
        total as f64 / seconds
    );
}

fn psql_copy(server: &Postgres, database: &str, csv: &std::path::Path) -> Duration {
    let started = Instant::now();
    let status = Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", server.host()])
        .args([
            "-p",
            &server.port().to_string(),
            "-U",
            server.user(),
            "-d",
            database,
        ])
        .arg("-c")
        .arg(format!(
            "\\copy orders FROM '{}' WITH (FORMAT csv, HEADER true)",
            csv.display()
        ))
        .status()
        .expect("psql runs");
    assert!(status.success(), "psql \\copy failed");
    started.elapsed()
}

async fn loading(rows: u64) {
    let server = Postgres::shared();
    let database = server.create_database("gen_bench").expect("database");
    let ddl = "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint NOT NULL, \
               status varchar(20) NOT NULL, total numeric(12,2) NOT NULL, \
               placed_at timestamp NOT NULL, note text)";
    server.sql(&database, ddl).expect("creates the table");
    let url = server.url(&database);
    let plan = Plan::new(tables(LOAD_TABLE), &request(rows)).expect("plans");
    let dir = tempfile::tempdir().expect("temp dir");
    write_files(&plan, dir.path(), Format::Csv, Dialect::Postgres, false).expect("csv");
    let csv = dir.path().join("orders.csv");
    let mut best_copy = Duration::MAX;
    let mut best_gen = Duration::MAX;
    for _ in 0..3 {
        server.sql(&database, "TRUNCATE orders").expect("truncates");
        best_copy = best_copy.min(psql_copy(server, &database, &csv));
        server.sql(&database, "TRUNCATE orders").expect("truncates");
        let mut plan = plan.clone();
        let started = Instant::now();
        load(
            &mut plan,
            &[Target::parse(&url)],
            Existing::Refuse,
            Duration::from_secs(10),
            false,
        )
        .await
        .expect("loads");
        best_gen = best_gen.min(started.elapsed());
    }
    let copy_rate = rows as f64 / best_copy.as_secs_f64();
    let gen_rate = rows as f64 / best_gen.as_secs_f64();
    println!("load {rows} rows into PostgreSQL (6 columns, primary key; best of 3)");
    println!("  psql \\copy of the CSV file:        {copy_rate:>10.0} rows/s");
    println!("  watershed gen data (generate+COPY): {gen_rate:>10.0} rows/s");
    println!("  ratio: {:.2}", gen_rate / copy_rate);
}

fn main() {
    generation(env_rows("GEN_BENCH_ROWS", 200_000));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(loading(env_rows("GEN_BENCH_LOAD_ROWS", 1_000_000)));
}
