//! MariaDB → PostgreSQL end to end, through the `watershed` binary and real
//! servers from the testkit: snapshot, streaming, crashes, verify.

mod support;

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use support::{wait_until, watershed};

use watershed_testkit::{MariaDb, Postgres};

/// A source and a target database, and a pipeline file between them.
struct Setup {
    _dir: tempfile::TempDir,
    file: PathBuf,
    shop: String,
    dwh: String,
}

/// The two tables the workload writes: `orders` and `customers`.
fn create_shop_tables(maria: &MariaDb, shop: &str) {
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
        self.spawn_on("127.0.0.1:0")
    }

    fn spawn_on(&self, listen: &str) -> Child {
        watershed()
            .args(["run", "-c", self.config(), "--listen", listen])
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

fn free_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").to_string()
}

/// The body of a plain HTTP/1.0 GET, or "" when nothing answers yet.
fn http_get(addr: &str, path: &str) -> String {
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
fn stop_cleanly(child: Child) {
    let output = stop(child);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
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
    let addr = free_addr();
    let child = setup.spawn_on(&addr);
    wait_until("the snapshot", Duration::from_secs(60), || {
        setup.target_count("orders") > 0
    });
    let progress = format!(
        "watershed_snapshot_rows_total{{pipeline=\"shop\",table=\"{}.orders\"}}",
        setup.shop
    );
    wait_until("snapshot metrics", Duration::from_secs(30), || {
        let metrics = http_get(&addr, "/metrics");
        metrics.contains(&progress)
            && metrics.contains("watershed_snapshot_tables_done{pipeline=\"shop\"}")
    });
    for _ in 0..5 {
        setup.source(&workload.batch(200));
    }
    setup.wait_verified(Duration::from_secs(60));
    stop_cleanly(child);
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
    stop_cleanly(child);
}

#[test]
fn snapshot_only_records_the_position_and_a_later_run_streams_from_it() {
    let setup = Setup::new(", snapshot: only, lag_alert_s: 1");
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
    // Stopped with changes pending for longer than lag_alert_s: a warning.
    std::thread::sleep(Duration::from_millis(1500));
    let check = setup.run(&["check"]);
    assert!(check.status.success(), "a warning does not fail check");
    let stdout = String::from_utf8_lossy(&check.stdout);
    let lag = stdout
        .lines()
        .find(|l| l.contains("lag:"))
        .expect("a lag line");
    assert!(
        lag.starts_with("warn") && lag.contains("more than lag_alert_s 1"),
        "{lag}"
    );
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

#[test]
fn every_type_survives_snapshot_and_streaming_and_verifies() {
    let setup = Setup::new("");
    setup.source(
        "SET SESSION sql_mode = '';
         CREATE TABLE types (
           id INT PRIMARY KEY, ti TINYINT, su SMALLINT UNSIGNED, mi MEDIUMINT, bu BIGINT UNSIGNED,
           bs BIGINT, d65 DECIMAL(65,30), dn DECIMAL(10,2), f FLOAT, db DOUBLE, b5 BIT(5), b64 BIT(64),
           c3 CHAR(3), vc VARCHAR(50), tx TEXT, l1 VARCHAR(20) CHARACTER SET latin1,
           bin BINARY(4), vb VARBINARY(10), bl BLOB, dt DATE, tm TIME(6), dtm DATETIME(6),
           ts TIMESTAMP(6) NULL, yr YEAR, en ENUM('a','b','c'), st SET('x','y','z'), js JSON);
         INSERT INTO types VALUES
           (1, -128, 65535, -8388608, 18446744073709551615, -9223372036854775808,
            99999999999999999999999999999999999.999999999999999999999999999999, -12.50, 1.5, -2.25,
            b'10101', b'1111111111111111111111111111111111111111111111111111111111111111',
            'abc', 'emoji 🚚 ok', 'long text', 'café', x'00000102', x'00ff', x'000000', '2024-02-29',
            '-838:59:59.000001', '2024-01-01 10:00:00.123456', '2024-06-01 12:00:00.5', 2024, 'b', 'x,z',
            '{\"k\": [1, 2, {\"n\": null}]}'),
           (2, 127, 0, 8388607, 0, 9223372036854775807, -0.000000000000000000000000000001, 0.00,
            0, 0, b'0', b'0', '', '', '', '', x'00', x'', x'', '0000-00-00', '25:00:00', '1000-01-01 00:00:00',
            '0000-00-00 00:00:00', 1901, 'a', '', '[]'),
           (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
            NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);",
    );
    let child = setup.spawn();
    wait_until("the snapshot", Duration::from_secs(60), || {
        setup.target_count("types") == 3
    });
    setup.wait_verified(Duration::from_secs(30));
    setup.source(
        "SET SESSION sql_mode = '';
         INSERT INTO types SELECT id + 10, ti, su, mi, bu, bs, d65, dn, f, db, b5, b64, c3, vc, tx, l1,
           bin, vb, bl, dt, tm, dtm, ts, yr, en, st, js FROM types WHERE id <= 3;
         UPDATE types SET vc = 'changed 🎉', d65 = -d65, tm = '-00:00:00.5' WHERE id = 1;
         DELETE FROM types WHERE id = 2;",
    );
    wait_until("the stream", Duration::from_secs(60), || {
        setup.target_count("types") == 5
    });
    setup.wait_verified(Duration::from_secs(30));
    let row: String = Postgres::shared()
        .sql(&setup.dwh, "SELECT bu::text || '|' || d65::text || '|' || tm::text || '|' || vc FROM raw.types WHERE id = 1")
        .expect("read back");
    assert_eq!(
        row.trim(),
        "18446744073709551615|-99999999999999999999999999999999999.999999999999999999999999999999|-00:00:00.5|changed 🎉"
    );
    stop(child);
}

#[test]
fn restarting_the_source_and_the_sink_servers_does_not_stop_the_pipeline() {
    // Servers of its own: restarting the shared ones would disturb other tests.
    let mut maria = MariaDb::start().expect("start MariaDB");
    let mut pg = Postgres::start().expect("start PostgreSQL");
    let shop = maria.create_database("shop").expect("db");
    let dwh = pg.create_database("dwh").expect("db");
    create_shop_tables(&maria, &shop);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("shop.yaml");
    std::fs::write(
        &file,
        format!(
            "name: shop\nsource: {{ kind: mysql, url: \"{}\", server_id: {}, tables: [\"{shop}.*\"] }}\n\
             sink: {{ kind: postgres, url: \"{}\", schema: raw }}\n\
             retry: {{ max_attempts: 30, initial_backoff_ms: 100, max_backoff_ms: 500 }}\n",
            maria.url(""),
            server_id(),
            pg.url(&dwh)
        ),
    )
    .expect("pipeline file");
    let config = file.to_str().expect("path");
    let mut workload = Workload::new(5);
    let write = |maria: &MariaDb, workload: &mut Workload| {
        maria
            .sql(&format!("USE {shop}; {}", workload.batch(200)))
            .expect("workload");
    };
    write(&maria, &mut workload);
    let mut child = watershed()
        .args(["run", "-c", config, "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let verified = || {
        let output = watershed()
            .args(["verify", "-c", config])
            .output()
            .expect("verify");
        output.status.success()
    };
    wait_until("the snapshot", Duration::from_secs(60), &verified);

    maria.restart().expect("restart MariaDB");
    write(&maria, &mut workload);
    wait_until(
        "catching up after the source restart",
        Duration::from_secs(60),
        &verified,
    );
    assert!(
        child.try_wait().expect("poll").is_none(),
        "the pipeline is still running"
    );

    pg.restart().expect("restart PostgreSQL");
    write(&maria, &mut workload);
    wait_until(
        "catching up after the sink restart",
        Duration::from_secs(60),
        &verified,
    );
    assert!(
        child.try_wait().expect("poll").is_none(),
        "the pipeline is still running"
    );
    stop_cleanly(child);
}

#[test]
fn a_binlog_purged_past_the_checkpoint_fails_with_the_remedy() {
    // A server of its own: purging the shared one's binlogs would cut
    // other tests' streams.
    let maria = MariaDb::start().expect("start MariaDB");
    let pg = Postgres::shared();
    let shop = maria.create_database("shop").expect("db");
    let dwh = pg.create_database("dwh").expect("db");
    maria
        .sql(&format!(
            "CREATE TABLE {shop}.t (id INT PRIMARY KEY, v TEXT); INSERT INTO {shop}.t VALUES (1, 'a');"
        ))
        .expect("table");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("p.yaml");
    let write_config = |snapshot: &str| {
        let text = format!(
            "name: purge\nsource: {{ kind: mysql, url: \"{}\", server_id: {}, tables: [\"{shop}.*\"], snapshot: {snapshot} }}\n\
             sink: {{ kind: postgres, url: \"{}\", schema: raw }}\n",
            maria.url(""),
            server_id(),
            pg.url(&dwh)
        );
        std::fs::write(&file, text).expect("pipeline file");
    };
    let config = file.to_str().expect("path");
    write_config("only");
    let copied = watershed()
        .args(["run", "-c", config, "--listen", "127.0.0.1:0"])
        .output()
        .expect("run");
    assert!(
        copied.status.success(),
        "{}",
        String::from_utf8_lossy(&copied.stderr)
    );

    maria
        .sql(&format!(
            "FLUSH BINARY LOGS; INSERT INTO {shop}.t VALUES (2, 'b'); FLUSH BINARY LOGS;"
        ))
        .expect("rotate");
    let current = maria.sql("SHOW MASTER STATUS").expect("status");
    let current = current
        .split_whitespace()
        .next()
        .expect("current binlog")
        .to_owned();
    wait_until("the purge", Duration::from_secs(30), || {
        maria
            .sql(&format!("PURGE BINARY LOGS TO '{current}'"))
            .expect("purge");
        let logs = maria.sql("SHOW BINARY LOGS").expect("logs");
        logs.lines().count() == 1
    });

    write_config("initial");
    let check = watershed()
        .args(["check", "-c", config])
        .output()
        .expect("check");
    assert_eq!(check.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&check.stdout);
    let line = stdout
        .lines()
        .find(|l| l.contains("binlog retention"))
        .expect("retention line");
    assert!(
        line.starts_with("FAIL") && line.contains("was purged") && line.contains("re-snapshot"),
        "{line}"
    );

    let run = watershed()
        .args(["run", "-c", config, "--listen", "127.0.0.1:0"])
        .output()
        .expect("run");
    assert_eq!(run.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("re-snapshot"), "{stderr}");
}

#[test]
fn schema_changes_mid_stream_reach_the_target_in_order() {
    let setup = Setup::new("");
    let mut workload = Workload::new(6);
    setup.source(&workload.batch(100));
    let child = setup.spawn();
    setup.wait_verified(Duration::from_secs(60));
    setup.source(
        "ALTER TABLE customers ADD COLUMN tier VARCHAR(10) NOT NULL DEFAULT 'basic';
         INSERT INTO customers VALUES (1001, 'added', NULL, 1.5, 'gold');
         ALTER TABLE orders MODIFY customer_id BIGINT NOT NULL, MODIFY status VARCHAR(40) NOT NULL;
         INSERT INTO orders VALUES (100001, 9000000000, 1.00, 'a status longer than twenty', NOW(6), NULL);
         ALTER TABLE customers DROP COLUMN email;
         INSERT INTO customers VALUES (1002, 'after drop', 2.5, 'silver');
         CREATE TABLE later (id INT PRIMARY KEY, v VARCHAR(10));
         INSERT INTO later VALUES (1, 'x'), (2, 'y');
         TRUNCATE TABLE later;
         INSERT INTO later VALUES (3, 'z');",
    );
    setup.source(
        "UPDATE orders SET status = 'paid after the change' WHERE id <= 20;
         DELETE FROM orders WHERE id BETWEEN 21 AND 30;
         UPDATE customers SET tier = 'platinum' WHERE id = 1002;",
    );
    setup.wait_verified(Duration::from_secs(60));
    let pg = Postgres::shared();
    let tier = pg
        .sql(&setup.dwh, "SELECT tier FROM raw.customers WHERE id = 1001")
        .expect("tier");
    assert_eq!(tier.trim(), "gold");
    let wide = pg
        .sql(
            &setup.dwh,
            "SELECT customer_id FROM raw.orders WHERE id = 100001",
        )
        .expect("wide");
    assert_eq!(wide.trim(), "9000000000");
    let later = pg
        .sql(
            &setup.dwh,
            "SELECT string_agg(id::text, ',') FROM raw.later",
        )
        .expect("later");
    assert_eq!(
        later.trim(),
        "3",
        "the truncate applied between the inserts"
    );
    stop_cleanly(child);
}
