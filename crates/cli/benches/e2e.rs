//! End-to-end benchmark: the release `watershed` binary moving generated
//! events into SQLite and JSONL, against the physical ceiling measured in
//! the same run on the same rows (the `sqlite3` shell's `.import` of them
//! as CSV; `cat` of the same JSONL). Prints rows/s, the ratio to the
//! ceiling and peak RSS.
//!
//! `cargo bench -p watershed --bench e2e` (rows: `WATERSHED_BENCH_ROWS`,
//! default 1,000,000).

#[allow(dead_code)] // shares the orders helpers with the database benchmarks
mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{run_file, shell, time};

fn main() {
    let rows: u64 = std::env::var("WATERSHED_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("tempdir");
    println!(
        "generator -> sink, {rows} heartbeat events, {}",
        dir.path().display()
    );
    println!(
        "{:<22} {:>12} {:>16} {:>7} {:>12}",
        "path", "rows/s", "ceiling rows/s", "ratio", "peak RSS MB"
    );

    let (sqlite_elapsed, sqlite_rss) =
        run_pipeline(dir.path(), rows, "{ kind: sqlite, path: hb.db }");
    let csv = dir.path().join("hb.csv");
    shell(&format!(
        "sqlite3 -csv {} 'SELECT * FROM heartbeat' > {}",
        dir.path().join("hb.db").display(),
        csv.display()
    ));
    let import = time(|| sqlite_import(&dir.path().join("import.db"), &csv));
    report(
        "generator -> sqlite",
        rows,
        sqlite_elapsed,
        import,
        sqlite_rss,
    );

    let (jsonl_elapsed, jsonl_rss) =
        run_pipeline(dir.path(), rows, "{ kind: jsonl, path: hb.jsonl }");
    let copy = time(|| {
        shell(&format!(
            "cat {} > {}",
            dir.path().join("hb.jsonl").display(),
            dir.path().join("copy.jsonl").display()
        ))
    });
    report("generator -> jsonl", rows, jsonl_elapsed, copy, jsonl_rss);
}

/// Runs a fresh pipeline to its end; returns wall time and peak RSS.
fn run_pipeline(dir: &Path, rows: u64, sink: &str) -> (Duration, u64) {
    let name = format!("bench{}", Instant::now().elapsed().subsec_nanos());
    let file = dir.join(format!("{name}.yaml"));
    let text = format!(
        "name: {name}\nsource: {{ kind: generator, stream: heartbeat, seed: 7, count: {rows}, rate: unbounded }}\nsink: {sink}\n"
    );
    std::fs::write(&file, text).expect("write pipeline");
    let (elapsed, summary) = run_file(&file);
    assert_eq!(summary["rows"], rows, "every row committed");
    (elapsed, summary["peak_rss_bytes"].as_u64().unwrap_or(0))
}

/// The sqlite3 shell importing the CSV into the same table shape, with the
/// same journal settings the sink uses.
fn sqlite_import(db: &Path, csv: &Path) {
    let script = format!(
        "PRAGMA journal_mode=WAL;\nPRAGMA synchronous=NORMAL;\n\
         CREATE TABLE heartbeat (event_id INTEGER NOT NULL, customer_id INTEGER NOT NULL, ts TEXT NOT NULL, heart_rate INTEGER NOT NULL, PRIMARY KEY (event_id));\n\
         .import --csv {} heartbeat\n",
        csv.display()
    );
    let mut child = Command::new("sqlite3")
        .arg(db)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("sqlite3 shell (apt-get install sqlite3)");
    std::io::Write::write_all(child.stdin.as_mut().expect("stdin"), script.as_bytes())
        .expect("script");
    drop(child.stdin.take());
    assert!(child.wait().expect("sqlite3").success());
}

fn report(path: &str, rows: u64, elapsed: Duration, ceiling: Duration, peak_rss: u64) {
    let rate = rows as f64 / elapsed.as_secs_f64();
    let ceiling_rate = rows as f64 / ceiling.as_secs_f64();
    println!(
        "{path:<22} {rate:>12.0} {ceiling_rate:>16.0} {:>7.2} {:>12.1}",
        rate / ceiling_rate,
        peak_rss as f64 / 1e6
    );
}
