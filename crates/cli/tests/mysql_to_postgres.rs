//! MariaDB → PostgreSQL end to end, through the `watershed` binary and real
//! servers from the testkit: snapshot, streaming, crashes, verify.

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use watershed_testkit::{MariaDb, Postgres};

fn watershed() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_watershed"));
    for (key, _) in std::env::vars() {
        if key.starts_with("WATERSHED_") {
            command.env_remove(key);
        }
    }
    command.env("RUST_BACKTRACE", "0");
    command
}

/// A source and a target database, and a pipeline file between them.
struct Setup {
    _dir: tempfile::TempDir,
    file: PathBuf,
    shop: String,
    dwh: String,
}

fn server_id() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    6000 + (std::process::id() % 1000) * 10 + NEXT.fetch_add(1, Ordering::Relaxed)
}

impl Setup {
    fn new(extra_source_keys: &str) -> Self {
        let maria = MariaDb::shared();
        let pg = Postgres::shared();
        let shop = maria.create_database("shop").expect("source database");
        let dwh = pg.create_database("dwh").expect("target database");
        maria
            .sql(&format!(
                "CREATE TABLE {shop}.orders (id BIGINT PRIMARY KEY, customer_id INT NOT NULL,
                   amount DECIMAL(10,2) NOT NULL, status VARCHAR(20) NOT NULL,
                   created_at DATETIME(6) NOT NULL, note VARCHAR(255));
                 CREATE TABLE {shop}.customers (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL,
                   email VARCHAR(200), balance DECIMAL(65,30));"
            ))
            .expect("create source tables");
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("shop.yaml");
        let text = format!(
            "name: shop\n\
             source: {{ kind: mysql, url: \"{}\", server_id: {}, tables: [\"{shop}.*\"]{extra_source_keys} }}\n\
             sink: {{ kind: postgres, url: \"{}\", schema: raw }}\n\
             defaults: {{ batch: {{ max_rows: 500, max_delay_ms: 50 }} }}\n\
             retry: {{ initial_backoff_ms: 100, max_backoff_ms: 1000 }}\n",
            maria.url(""),
            server_id(),
            pg.url(&dwh)
        );
        std::fs::write(&file, text).expect("write pipeline");
        Self {
            _dir: dir,
            file,
            shop,
            dwh,
        }
    }

    fn config(&self) -> &str {
        self.file.to_str().expect("utf-8 path")
    }

    fn spawn(&self) -> Child {
        watershed()
            .args(["run", "-c", self.config(), "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn watershed")
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut all = vec![args[0], "-c", self.config()];
        all.extend(&args[1..]);
        watershed().args(all).output().expect("run watershed")
    }

    fn source(&self, sql: &str) {
        MariaDb::shared()
            .sql(&format!("USE {}; {sql}", self.shop))
            .expect("source SQL");
    }

    fn target_count(&self, table: &str) -> i64 {
        Postgres::shared()
            .sql(&self.dwh, &format!("SELECT count(*) FROM raw.{table}"))
            .ok()
            .and_then(|out| out.trim().parse().ok())
            .unwrap_or(-1)
    }

    /// Polls `watershed verify` until it passes.
    fn wait_verified(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let output = self.run(&["verify"]);
            if output.status.success() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "verify never passed:\n{}\n{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

/// A deterministic pseudo-random workload: inserts, updates (key updates
/// among them) and deletes over both tables, some in multi-table
/// transactions.
struct Workload {
    state: u64,
    next_id: i64,
}

impl Workload {
    fn new(seed: u64) -> Self {
        Self {
            state: seed,
            next_id: 1,
        }
    }

    fn below(&mut self, n: u64) -> u64 {
        self.state = self
            .state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.state >> 33) % n
    }

    fn insert_order(&mut self) -> String {
        let id = self.next_id;
        self.next_id += 1;
        let cents = self.below(1_000_000);
        let status = ["new", "paid", "shipped", "cancelled"][self.below(4) as usize];
        format!(
            "INSERT INTO orders VALUES ({id}, {}, {}.{:02}, '{status}', '2024-01-{:02} 10:00:00.{:06}', {});",
            self.below(500),
            cents / 100,
            cents % 100,
            1 + self.below(28),
            self.below(1_000_000),
            if self.below(3) == 0 {
                "NULL".to_owned()
            } else {
                format!("'note {id} 🚚'")
            }
        )
    }

    fn statement(&mut self) -> String {
        let existing = self.next_id.max(2) - 1;
        match self.below(10) {
            0..=5 => self.insert_order(),
            6 | 7 => format!(
                "UPDATE orders SET status = 'paid', amount = amount + 1 WHERE id = {};",
                1 + self.below(existing as u64)
            ),
            8 => format!(
                "DELETE FROM orders WHERE id = {};",
                1 + self.below(existing as u64)
            ),
            _ => {
                let customer = self.below(200);
                format!(
                    "BEGIN; INSERT INTO customers VALUES ({customer}, 'c{customer}', NULL, 0.{customer:030}) \
                     ON DUPLICATE KEY UPDATE balance = balance + 1; \
                     UPDATE orders SET customer_id = {customer} WHERE id = {}; COMMIT;",
                    1 + self.below(existing as u64)
                )
            }
        }
    }

    fn batch(&mut self, statements: usize) -> String {
        (0..statements)
            .map(|_| self.statement())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn stop(mut child: Child) -> Output {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let _ = child.stdin.take();
    child.wait_with_output().expect("wait")
}

#[test]
fn snapshot_then_streaming_keeps_the_target_identical() {
    let setup = Setup::new("");
    let mut workload = Workload::new(1);
    setup.source(&workload.batch(300));
    let child = setup.spawn();
    wait_until("the snapshot", Duration::from_secs(60), || {
        setup.target_count("orders") > 0
    });
    for _ in 0..5 {
        setup.source(&workload.batch(200));
    }
    setup.wait_verified(Duration::from_secs(60));
    let output = stop(child);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn killed_pipelines_resume_and_converge() {
    let setup = Setup::new(", chunk_rows: 100");
    let mut workload = Workload::new(2);
    setup.source(&workload.batch(2000));
    let mut rng = Workload::new(99);
    for round in 0..12 {
        let mut child = setup.spawn();
        std::thread::sleep(Duration::from_millis(150 + rng.below(500)));
        if round % 2 == 0 {
            setup.source(&workload.batch(100));
        }
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
    }
    let child = setup.spawn();
    setup.source(&workload.batch(100));
    setup.wait_verified(Duration::from_secs(90));
    let output = stop(child);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn snapshot_only_records_the_position_and_a_later_run_streams_from_it() {
    let setup = Setup::new(", snapshot: only");
    let mut workload = Workload::new(3);
    setup.source(&workload.batch(200));
    let output = setup.run(&["run", "--listen", "127.0.0.1:0"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let copied = setup.target_count("orders");
    assert!(copied > 0);
    setup.source(&workload.batch(50));
    let text = std::fs::read_to_string(&setup.file)
        .expect("read")
        .replace("snapshot: only", "snapshot: initial");
    std::fs::write(&setup.file, text).expect("write");
    let child = setup.spawn();
    setup.wait_verified(Duration::from_secs(60));
    stop(child);
}

#[test]
fn wrong_credentials_fail_without_printing_the_password() {
    let setup = Setup::new("");
    let text = std::fs::read_to_string(&setup.file)
        .expect("read")
        .replace("watershed:watershed@", "watershed:wrong-secret@");
    std::fs::write(&setup.file, text).expect("write");
    let output = setup.run(&["run", "--listen", "127.0.0.1:0"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("wrong-secret"), "{stderr}");
    assert!(stderr.to_lowercase().contains("access denied"), "{stderr}");
    let check = setup.run(&["check"]);
    assert_eq!(check.status.code(), Some(1));
    assert!(!String::from_utf8_lossy(&check.stdout).contains("wrong-secret"));
}

#[test]
fn verify_names_the_table_and_keys_that_differ() {
    let setup = Setup::new(", snapshot: only");
    let mut workload = Workload::new(4);
    setup.source(&workload.batch(300));
    let output = setup.run(&["run", "--listen", "127.0.0.1:0"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let clean = setup.run(&["verify", "--json"]);
    assert!(
        clean.status.success(),
        "{}",
        String::from_utf8_lossy(&clean.stdout)
    );
    let reports: serde_json::Value = serde_json::from_slice(&clean.stdout).expect("JSON");
    assert_eq!(
        reports.as_array().expect("array").len(),
        2,
        "both tables compared"
    );

    let changed: String = Postgres::shared()
        .sql(&setup.dwh, "UPDATE raw.orders SET amount = amount + 0.01 WHERE id = (SELECT min(id) FROM raw.orders) RETURNING id")
        .expect("tamper");
    let output = setup.run(&["verify"]);
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("DIFF"))
        .expect("a DIFF line");
    assert!(
        line.contains(&format!("{}.orders -> raw.orders", setup.shop)),
        "{line}"
    );
    let key = changed.trim();
    assert!(
        line.contains(&format!("{}:{key}", key.len())),
        "names key {key}: {line}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("ok") && l.contains(".customers")),
        "{stdout}"
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("1 of 2 tables differ"));
}
