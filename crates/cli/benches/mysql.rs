//! MariaDB → PostgreSQL benchmarks with throwaway servers from the testkit,
//! each against its reference measured in the same run.
//!
//! * snapshot: 1,000,000 `orders` rows copied by `watershed run` with
//!   `snapshot: only`, against the pipe
//!   `mariadb --batch --raw --quick … | psql -c "COPY … FROM STDIN"`.
//! * stream: 1,000,000 binlog row changes (70 % inserts, 20 % updates, 10 %
//!   deletes) applied from the binlog; then end-to-end lag at a steady
//!   20,000 rows/s, sampled as the age of the newest row visible in
//!   PostgreSQL.
//!
//! `cargo bench -p watershed --bench mysql [snapshot|stream]`; rows:
//! `WATERSHED_BENCH_ROWS` (default 1,000,000).

#[allow(dead_code)] // the helpers of the other end-to-end benchmarks
mod support;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::{ORDERS, Workload, insert_orders, shell, time};

use watershed_testkit::{MariaDb, Postgres};

fn main() {
    let which: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let rows: u64 = std::env::var("WATERSHED_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let maria = MariaDb::start().expect("start MariaDB");
    let pg = Postgres::start().expect("start PostgreSQL");
    let wants = |name: &str| which.is_empty() || which.iter().any(|w| w == name);
    if wants("snapshot") {
        snapshot(&maria, &pg, rows);
    }
    if wants("stream") {
        stream(&maria, &pg, rows);
    }
}

struct Pipeline {
    _dir: tempfile::TempDir,
    file: PathBuf,
}

impl Pipeline {
    fn new(maria: &MariaDb, pg: &Postgres, shop: &str, dwh: &str, snapshot: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("bench.yaml");
        let text = format!(
            "name: bench\nsource: {{ kind: mysql, url: \"{}\", server_id: 9101, tables: [\"{shop}.*\"], snapshot: {snapshot} }}\n\
             sink: {{ kind: postgres, url: \"{}\", schema: raw }}\n",
            maria.url(""),
            pg.url(dwh)
        );
        std::fs::write(&file, text).expect("write pipeline");
        Self { _dir: dir, file }
    }

    fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_watershed"));
        command
            .args([
                "run",
                "-c",
                self.file.to_str().expect("path"),
                "--json",
                "--listen",
                "127.0.0.1:0",
            ])
            .env(
                "WATERSHED_LOG",
                std::env::var("WATERSHED_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stderr(Stdio::inherit());
        command
    }

    fn set_snapshot(&self, mode: &str) {
        let text = std::fs::read_to_string(&self.file).expect("read");
        let text = ["initial", "only", "never"].iter().fold(text, |t, m| {
            t.replace(&format!("snapshot: {m}"), &format!("snapshot: {mode}"))
        });
        std::fs::write(&self.file, text).expect("write");
    }
}

fn snapshot(maria: &MariaDb, pg: &Postgres, rows: u64) {
    let shop = maria.create_database("shop").expect("db");
    let dwh = pg.create_database("dwh").expect("db");
    maria
        .sql(&format!("USE {shop}; {ORDERS}; {}", insert_orders(1, rows)))
        .expect("fill");
    let pipeline = Pipeline::new(maria, pg, &shop, &dwh, "only");

    let started = Instant::now();
    let output = pipeline.command().output().expect("run watershed");
    let elapsed = started.elapsed();
    assert!(output.status.success(), "watershed failed");
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).expect("summary");

    pg.sql(&dwh, "CREATE TABLE pipe_orders (id bigint PRIMARY KEY, customer_id integer NOT NULL, amount numeric(10,2) NOT NULL, status varchar(20) NOT NULL, created_at timestamp(6) NOT NULL, note varchar(255))")
        .expect("reference table");
    let pipe = format!(
        "mariadb --batch --raw --quick --skip-column-names --socket={} -uroot -e 'SELECT * FROM {shop}.orders' \
         | psql -X -q -h 127.0.0.1 -p {} -U postgres -d {dwh} -c \"COPY pipe_orders FROM STDIN WITH (NULL 'NULL')\"",
        maria.socket_path().display(),
        pg.port()
    );
    let reference = time(|| shell(&pipe));
    report("snapshot", rows, elapsed, Some(reference), &summary);
}

fn stream(maria: &MariaDb, pg: &Postgres, rows: u64) {
    let shop = maria.create_database("shop").expect("db");
    let dwh = pg.create_database("dwh").expect("db");
    maria.sql(&format!("USE {shop}; {ORDERS}")).expect("table");
    let pipeline = Pipeline::new(maria, pg, &shop, &dwh, "only");
    // Record the starting position with an empty snapshot.
    assert!(pipeline.command().output().expect("run").status.success());

    let workload = Workload::new(&shop, rows);
    maria.sql(&workload.sql).expect("write the changes");
    let (inserts, deletes, first_deleted) =
        (workload.inserts, workload.deletes, workload.first_deleted());
    let expected = inserts - deletes;

    pipeline.set_snapshot("initial");
    let started = Instant::now();
    let child = pipeline
        .command()
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    wait_until(Duration::from_secs(600), || {
        count(pg, &dwh, "SELECT count(*) FROM raw.orders") == expected as i64
            && count(
                pg,
                &dwh,
                "SELECT count(*) FROM raw.orders WHERE status = 'paid' AND id <= 5",
            ) == 5
            && count(
                pg,
                &dwh,
                &format!(
                    "SELECT count(*) FROM raw.orders WHERE id BETWEEN {} AND {}",
                    first_deleted.saturating_sub(1),
                    inserts
                ),
            ) <= 1
    });
    let elapsed = started.elapsed();

    // Steady load: 20,000 rows/s for 10 s, lag sampled every 50 ms.
    let lags = steady_load(maria, pg, &shop, &dwh, inserts + 1);
    let summary = stop(child);
    report("stream", rows, elapsed, None, &summary);
    let mut sorted = lags.clone();
    sorted.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        sorted
            .get(((sorted.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    println!(
        "lag at 20,000 rows/s: p50 {:.3} s, p99 {:.3} s ({} samples)",
        pct(0.5),
        pct(0.99),
        sorted.len()
    );
}

/// Inserts 2,000 rows every 100 ms for 10 s stamped with NOW(6), and samples
/// how old the newest row visible in PostgreSQL is.
fn steady_load(maria: &MariaDb, pg: &Postgres, shop: &str, dwh: &str, first_id: u64) -> Vec<f64> {
    let writer_socket = maria.socket_path();
    let shop = shop.to_owned();
    let writer = std::thread::spawn(move || {
        let started = Instant::now();
        for tick in 0..100u64 {
            let from = first_id + tick * 2000;
            let sql = format!(
                "INSERT INTO orders SELECT seq, 1, 1.00, 'new', NOW(6), NULL FROM seq_{from}_to_{}",
                from + 1999
            );
            shell_quiet(&format!(
                "mariadb --socket={} -uroot --database={shop} -e \"{sql}\"",
                writer_socket.display()
            ));
            let next = Duration::from_millis(100 * (tick + 1));
            std::thread::sleep(next.saturating_sub(started.elapsed()));
        }
    });
    let mut lags = Vec::new();
    std::thread::sleep(Duration::from_millis(500));
    while !writer.is_finished() {
        let out = pg
            .sql(dwh, "SELECT extract(epoch FROM (localtimestamp - max(created_at))) FROM raw.orders WHERE customer_id = 1 AND note IS NULL AND status = 'new'")
            .unwrap_or_default();
        if let Ok(lag) = out.trim().parse::<f64>() {
            lags.push(lag.max(0.0));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = writer.join();
    lags
}

fn stop(child: Child) -> serde_json::Value {
    shell(&format!("kill -TERM {}", child.id()));
    let output = child.wait_with_output().expect("wait");
    serde_json::from_slice(&output.stdout).unwrap_or_default()
}

fn count(pg: &Postgres, db: &str, sql: &str) -> i64 {
    pg.sql(db, sql)
        .ok()
        .and_then(|o| o.trim().parse().ok())
        .unwrap_or(-1)
}

fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn shell_quiet(command: &str) {
    let _ = Command::new("sh")
        .args(["-c", command])
        .stdout(Stdio::null())
        .status();
}

fn report(
    what: &str,
    rows: u64,
    elapsed: Duration,
    reference: Option<Duration>,
    summary: &serde_json::Value,
) {
    let rate = rows as f64 / elapsed.as_secs_f64();
    let rss = summary["peak_rss_bytes"].as_f64().unwrap_or(0.0) / 1e6;
    match reference {
        Some(reference) => {
            let reference_rate = rows as f64 / reference.as_secs_f64();
            println!(
                "{what}: {rate:.0} rows/s; reference pipe {reference_rate:.0} rows/s; ratio {:.2}; peak RSS {rss:.1} MB",
                rate / reference_rate
            );
        }
        None => println!("{what}: {rate:.0} rows/s applied; peak RSS {rss:.1} MB"),
    }
}
