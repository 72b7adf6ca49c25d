//! Helpers shared by the end-to-end benchmarks.

use std::process::Command;
use std::time::{Duration, Instant};

/// Runs `command` with `sh -c` and expects it to succeed.
pub fn shell(command: &str) {
    let status = Command::new("sh")
        .args(["-c", command])
        .status()
        .expect("sh");
    assert!(status.success(), "{command}");
}

/// Runs the pipeline file `file` with the `watershed` binary to its end;
/// returns the wall time and the run's JSON summary.
pub fn run_file(file: &std::path::Path) -> (Duration, serde_json::Value) {
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_watershed"))
        .args([
            "run",
            "-c",
            file.to_str().expect("path"),
            "--json",
            "--listen",
            "127.0.0.1:0",
        ])
        .env("WATERSHED_LOG", "warn")
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("run watershed");
    let elapsed = started.elapsed();
    assert!(output.status.success(), "watershed failed");
    let summary = serde_json::from_slice(&output.stdout).expect("summary");
    (elapsed, summary)
}

/// How long `work` takes.
pub fn time(work: impl FnOnce()) -> Duration {
    let started = Instant::now();
    work();
    started.elapsed()
}

/// The benchmarks' `orders` table in MariaDB.
pub const ORDERS: &str = "CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id INT NOT NULL,
    amount DECIMAL(10,2) NOT NULL, status VARCHAR(20) NOT NULL,
    created_at DATETIME(6) NOT NULL, note VARCHAR(255))";

/// Rows `from..=to` of `orders`, generated inside MariaDB.
pub fn insert_orders(from: u64, to: u64) -> String {
    format!(
        "INSERT INTO orders SELECT seq, seq % 10000, (seq % 100000) / 100,
           ELT(1 + seq % 4, 'new', 'paid', 'shipped', 'cancelled'),
           TIMESTAMP('2024-01-01') + INTERVAL seq SECOND, IF(seq % 3 = 0, NULL, CONCAT('note ', seq))
         FROM seq_{from}_to_{to}"
    )
}

/// The `orders` change workload: `rows` changes, 70 % inserts, 20 %
/// updates, 10 % deletes (of the newest inserted rows).
pub struct Workload {
    pub sql: String,
    pub inserts: u64,
    pub deletes: u64,
}

impl Workload {
    pub fn new(shop: &str, rows: u64) -> Self {
        let inserts = rows * 7 / 10;
        let updates = rows * 2 / 10;
        let deletes = rows - inserts - updates;
        let chunk = 10_000;
        let mut sql = format!("USE {shop};");
        for from in (1..=inserts).step_by(chunk as usize) {
            sql += &format!("{};", insert_orders(from, (from + chunk - 1).min(inserts)));
        }
        for from in (1..=updates).step_by(chunk as usize) {
            let to = (from + chunk - 1).min(updates);
            sql += &format!(
                "UPDATE orders SET status = 'paid', amount = amount + 1 WHERE id BETWEEN {from} AND {to};"
            );
        }
        for from in (inserts - deletes + 1..=inserts).step_by(chunk as usize) {
            let to = (from + chunk - 1).min(inserts);
            sql += &format!("DELETE FROM orders WHERE id BETWEEN {from} AND {to};");
        }
        Self {
            sql,
            inserts,
            deletes,
        }
    }

    /// The first id the deletes remove.
    pub fn first_deleted(&self) -> u64 {
        self.inserts - self.deletes + 1
    }
}
