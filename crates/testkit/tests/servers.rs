//! Real servers from the machine's binaries: they start configured for CDC,
//! and they leave nothing behind, whether dropped or abandoned.

use std::collections::HashSet;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use watershed_testkit::{MariaDb, Postgres, unique_name};

/// Set for the child process of the watchdog test.
const HELPER_ENV: &str = "WATERSHED_TESTKIT_WATCHDOG_HELPER";
const HELPER_TEST: &str = "watchdog_helper_starts_postgres_and_exits_without_dropping_it";

#[test]
fn mariadb_starts_with_row_binlog() {
    let db = MariaDb::shared();
    let settings = db
        .sql("SELECT @@log_bin, @@binlog_format, @@binlog_row_image, @@binlog_row_metadata")
        .expect("settings query runs");
    assert_eq!(settings.trim(), "1\tROW\tFULL\tFULL");

    let tcp = Command::new("mariadb")
        .args([
            "--no-defaults",
            "--protocol=TCP",
            "--batch",
            "--skip-column-names",
        ])
        .arg(format!("--host={}", db.host()))
        .arg(format!("--port={}", db.port()))
        .arg(format!("--user={}", db.user()))
        .arg(format!("--password={}", db.password()))
        .args(["-e", "SELECT 1"])
        .output()
        .expect("mariadb client runs");
    let stderr = String::from_utf8_lossy(&tcp.stderr);
    assert!(tcp.status.success(), "tcp login failed: {stderr}");
    assert_eq!(String::from_utf8_lossy(&tcp.stdout).trim(), "1");

    let first = db.create_database("servers").expect("first database");
    let second = db.create_database("servers").expect("second database");
    assert_ne!(first, second);
    let databases = db.sql("SHOW DATABASES").expect("databases listed");
    let databases: HashSet<&str> = databases.lines().collect();
    assert!(databases.contains(first.as_str()), "{databases:?}");
    assert!(databases.contains(second.as_str()), "{databases:?}");
}

#[test]
fn postgres_starts_with_logical_wal() {
    let pg = Postgres::shared();
    let wal_level = pg.sql("postgres", "SHOW wal_level").expect("wal_level");
    assert_eq!(wal_level.trim(), "logical");
    let slots: u32 = pg
        .sql("postgres", "SHOW max_replication_slots")
        .expect("max_replication_slots")
        .trim()
        .parse()
        .expect("a number");
    assert!(slots >= 10, "max_replication_slots = {slots}");

    let database = pg.create_database("servers").expect("database created");
    // Slot names are global to the cluster, and tests share the server.
    let slot = unique_name("slot");
    let created = pg
        .sql(
            &database,
            &format!(
                "SELECT slot_name FROM pg_create_logical_replication_slot('{slot}', 'pgoutput')"
            ),
        )
        .expect("slot created");
    assert_eq!(created.trim(), slot);
    let owner = pg
        .sql(
            "postgres",
            &format!("SELECT database FROM pg_replication_slots WHERE slot_name = '{slot}'"),
        )
        .expect("slot listed");
    assert_eq!(owner.trim(), database);
    // A slot holds WAL back; this server outlives the test.
    pg.sql(
        &database,
        &format!("SELECT pg_drop_replication_slot('{slot}')"),
    )
    .expect("slot dropped");
}

#[test]
fn a_failing_statement_reports_the_server_error() {
    let err = MariaDb::shared()
        .sql("SELECT * FROM no_such_db.no_such_table")
        .expect_err("unknown table");
    assert!(err.to_string().contains("no_such_db"), "{err}");
    let err = Postgres::shared()
        .sql("postgres", "SELECT * FROM no_such_table")
        .expect_err("unknown table");
    assert!(err.to_string().contains("no_such_table"), "{err}");
}

#[test]
fn dropped_servers_leave_nothing_behind() {
    let mariadb = MariaDb::start().expect("mariadb starts");
    let left = (mariadb.data_dir(), mariadb.pid(), mariadb.port());
    drop(mariadb);
    assert_nothing_left(&left.0, left.1, left.2);

    let postgres = Postgres::start().expect("postgres starts");
    let left = (postgres.data_dir(), postgres.pid(), postgres.port());
    drop(postgres);
    assert_nothing_left(&left.0, left.1, left.2);
}

#[test]
fn watchdog_stops_a_server_whose_owner_exited_without_dropping_it() {
    let exe = std::env::current_exe().expect("test binary path");
    let output = Command::new(exe)
        .args([HELPER_TEST, "--exact", "--nocapture", "--test-threads=1"])
        .env(HELPER_ENV, "1")
        .output()
        .expect("helper runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "helper failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let field = |key: &str| {
        stdout
            .lines()
            // libtest's "test … ... " shares the helper's first line.
            .find_map(|line| line.split_once(key).map(|(_, value)| value))
            .unwrap_or_else(|| panic!("helper printed no {key}: {stdout}"))
            .to_owned()
    };
    let data_dir = PathBuf::from(field("watershed_data_dir="));
    let pid: u32 = field("watershed_pid=").parse().expect("pid is a number");

    let deadline = Instant::now() + Duration::from_secs(15);
    while (is_alive(pid) || data_dir.exists()) && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(100));
    }
    assert!(!is_alive(pid), "server {pid} still runs");
    assert!(!data_dir.exists(), "{} still exists", data_dir.display());
}

/// Not a test of its own: the child process of the watchdog test. It
/// starts a server and exits at once, so no destructor runs.
#[test]
fn watchdog_helper_starts_postgres_and_exits_without_dropping_it() {
    if std::env::var_os(HELPER_ENV).is_none() {
        return;
    }
    let pg = Postgres::start().expect("postgres starts");
    // Straight to fd 1: libtest captures `println!`, and `exit` skips
    // printing the capture.
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "watershed_data_dir={}", pg.data_dir().display()).expect("stdout");
    writeln!(stdout, "watershed_pid={}", pg.pid()).expect("stdout");
    stdout.flush().expect("stdout");
    std::process::exit(0);
}

#[test]
fn unique_names_are_distinct_and_valid() {
    let threads: Vec<_> = (0..4)
        .map(|_| {
            thread::spawn(|| {
                (0..500)
                    .map(|_| unique_name("Orders-2024"))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let names: Vec<String> = threads
        .into_iter()
        .flat_map(|thread| thread.join().expect("thread finishes"))
        .collect();
    let distinct: HashSet<&String> = names.iter().collect();
    assert_eq!(distinct.len(), names.len());
    for name in &names {
        assert!(name.len() <= 40, "{name}");
        assert!(name.starts_with("orders_2024_"), "{name}");
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
            "{name}"
        );
    }
}

fn assert_nothing_left(data_dir: &Path, pid: u32, port: u16) {
    assert!(!data_dir.exists(), "{} still exists", data_dir.display());
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "server {pid} still runs"
    );
    TcpListener::bind(("127.0.0.1", port)).expect("the port is free again");
}

/// True while the process runs. A zombie counts as gone: an orphaned
/// server is reaped by pid 1, which may take a while to get to it.
fn is_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/status")) {
        Ok(status) => !status
            .lines()
            .any(|line| line.starts_with("State:") && line.contains('Z')),
        Err(_) => false,
    }
}
