//! The shop used by the MariaDB → PostgreSQL tests: a source and a target
//! database, a pipeline file between them, a seeded workload, and ways to
//! drive and stop the `watershed` process.

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use watershed_testkit::{MariaDb, Postgres};

use super::watershed;

/// A source and a target database, and a pipeline file between them.
pub struct Setup {
    _dir: tempfile::TempDir,
    pub file: PathBuf,
    pub shop: String,
    pub dwh: String,
}

/// The two tables the workload writes: `orders` and `customers`.
pub fn create_shop_tables(maria: &MariaDb, shop: &str) {
    maria
        .sql(&format!(
            "CREATE TABLE {shop}.orders (id BIGINT PRIMARY KEY, customer_id INT NOT NULL,
               amount DECIMAL(10,2) NOT NULL, status VARCHAR(20) NOT NULL,
               created_at DATETIME(6) NOT NULL, note VARCHAR(255));
             CREATE TABLE {shop}.customers (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL,
               email VARCHAR(200), balance DECIMAL(65,30));"
        ))
        .expect("create source tables");
}

pub fn server_id() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    6000 + (std::process::id() % 1000) * 10 + NEXT.fetch_add(1, Ordering::Relaxed)
}

impl Setup {
    pub fn new(extra_source_keys: &str) -> Self {
        Self::with(extra_source_keys, "")
    }

    /// `extra_source_keys` go into `source:`, `extra_yaml` (whole lines,
    /// where `SHOP` stands for the source database) at the file's end.
    pub fn with(extra_source_keys: &str, extra_yaml: &str) -> Self {
        let maria = MariaDb::shared();
        let pg = Postgres::shared();
        let shop = maria.create_database("shop").expect("source database");
        let dwh = pg.create_database("dwh").expect("target database");
        create_shop_tables(maria, &shop);
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
        ) + &extra_yaml.replace("SHOP", &shop);
        std::fs::write(&file, text).expect("write pipeline");
        Self {
            _dir: dir,
            file,
            shop,
            dwh,
        }
    }

    pub fn config(&self) -> &str {
        self.file.to_str().expect("utf-8 path")
    }

    pub fn spawn(&self) -> Child {
        self.spawn_on("127.0.0.1:0")
    }

    pub fn spawn_on(&self, listen: &str) -> Child {
        watershed()
            .args(["run", "-c", self.config(), "--listen", listen])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn watershed")
    }

    pub fn run(&self, args: &[&str]) -> Output {
        let mut all = vec![args[0], "-c", self.config()];
        all.extend(&args[1..]);
        watershed().args(all).output().expect("run watershed")
    }

    pub fn source(&self, sql: &str) {
        MariaDb::shared()
            .sql(&format!("USE {}; {sql}", self.shop))
            .expect("source SQL");
    }

    pub fn target_count(&self, table: &str) -> i64 {
        Postgres::shared()
            .sql(&self.dwh, &format!("SELECT count(*) FROM raw.{table}"))
            .ok()
            .and_then(|out| out.trim().parse().ok())
            .unwrap_or(-1)
    }

    /// Polls `watershed verify` until it passes.
    pub fn wait_verified(&self, timeout: Duration) {
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
pub struct Workload {
    state: u64,
    pub next_id: i64,
}

impl Workload {
    pub fn new(seed: u64) -> Self {
        Self {
            state: seed,
            next_id: 1,
        }
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.state = self
            .state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.state >> 33) % n
    }

    pub fn insert_order(&mut self) -> String {
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

    pub fn statement(&mut self) -> String {
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

    pub fn batch(&mut self, statements: usize) -> String {
        (0..statements)
            .map(|_| self.statement())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

pub fn free_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").to_string()
}

/// The body of a plain HTTP/1.0 GET, or "" when nothing answers yet.
pub fn http_get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
        return String::new();
    };
    let _ = write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n");
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
}

/// Stops the pipeline with SIGTERM and expects a clean exit.
pub fn stop_cleanly(child: Child) {
    let output = stop(child);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

pub fn stop(mut child: Child) -> Output {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let _ = child.stdin.take();
    child.wait_with_output().expect("wait")
}
