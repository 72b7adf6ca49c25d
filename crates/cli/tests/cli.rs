//! The `watershed` binary end to end: exit codes, errors, logs, HTTP,
//! signals, and exactly-once across killed processes.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;
use support::{wait_until, watershed};

use watershed_events::{Timestamp, Value};
use watershed_sources::generator::{HeartbeatModel, StreamKind, event_row};

fn pipeline_file(dir: &Path, body: &str) -> PathBuf {
    let file = dir.join("pipeline.yaml");
    std::fs::write(&file, body).expect("write pipeline file");
    file
}

fn heartbeat(count: &str, sink: &str) -> String {
    format!(
        "name: hb\nsource: {{ kind: generator, stream: heartbeat, seed: 7, {count} rate: unbounded }}\nsink: {sink}\n"
    )
}

fn run(args: &[&str]) -> Output {
    watershed().args(args).output().expect("run watershed")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn sqlite_count(db: &Path) -> i64 {
    let conn = rusqlite::Connection::open(db).expect("open sqlite");
    conn.query_row("SELECT count(*) FROM heartbeat", [], |r| r.get(0))
        .unwrap_or(0)
}

/// Every row in the table is the generator's row for its index, once.
fn assert_exactly_the_generated_rows(db: &Path, count: u64) {
    let conn = rusqlite::Connection::open(db).expect("open sqlite");
    let (rows, distinct): (i64, i64) = conn
        .query_row(
            "SELECT count(*), count(DISTINCT event_id) FROM heartbeat",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("count");
    assert_eq!((rows, distinct), (count as i64, count as i64));
    let start = Timestamp::parse_rfc3339("2024-01-01T00:00:00Z").expect("start");
    let mut statement = conn
        .prepare("SELECT event_id, customer_id, ts, heart_rate FROM heartbeat ORDER BY event_id")
        .expect("prepare");
    let mut stored = statement.query([]).expect("query");
    for index in 0..count {
        let row = stored.next().expect("read").expect("a row for every index");
        let expected = event_row(
            StreamKind::Heartbeat,
            &HeartbeatModel::new(7),
            index,
            start,
            1000,
        );
        let as_int = |v: &Value| match v {
            Value::Int(i) => *i,
            other => panic!("not an int: {other:?}"),
        };
        assert_eq!(
            row.get::<_, i64>(0).expect("event_id"),
            as_int(&expected[0])
        );
        assert_eq!(
            row.get::<_, i64>(1).expect("customer_id"),
            as_int(&expected[1])
        );
        let Value::Timestamp(ts) = &expected[2] else {
            panic!("ts")
        };
        assert_eq!(row.get::<_, String>(2).expect("ts"), ts.to_string());
        assert_eq!(
            row.get::<_, i64>(3).expect("heart_rate"),
            as_int(&expected[3])
        );
    }
}

fn spawn(args: &[&str]) -> Child {
    watershed()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn watershed")
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}

#[test]
fn killed_pipeline_resumes_without_duplicates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("hb.db");
    let count = 300_000;
    let file = pipeline_file(
        dir.path(),
        &heartbeat(
            &format!("count: {count},"),
            "{ kind: sqlite, path: ./hb.db }",
        ),
    );
    let config = file.to_str().expect("utf-8 path");
    let mut seen = Vec::new();
    for round in 0..4 {
        let mut child = spawn(&["run", "-c", config, "--listen", "127.0.0.1:0"]);
        let before = if db.exists() { sqlite_count(&db) } else { 0 };
        // Kill once this round has committed something, at varying depths.
        wait_until("a commit", Duration::from_secs(60), || {
            db.exists() && sqlite_count(&db) > before
        });
        std::thread::sleep(Duration::from_millis(37 * round));
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        seen.push(sqlite_count(&db));
    }
    assert!(
        seen.windows(2).all(|w| w[0] <= w[1]),
        "progress only grows: {seen:?}"
    );
    assert!(
        *seen.last().expect("rounds") < count as i64,
        "the kills came before the end: {seen:?}"
    );
    let output = run(&["run", "-c", config, "--listen", "127.0.0.1:0"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_exactly_the_generated_rows(&db, count);
}

#[test]
fn killed_jsonl_pipeline_resumes_without_duplicates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("hb.jsonl");
    let count = 200_000;
    let file = pipeline_file(
        dir.path(),
        &heartbeat(
            &format!("count: {count},"),
            "{ kind: jsonl, path: ./hb.jsonl }",
        ),
    );
    let config = file.to_str().expect("utf-8 path");
    for _ in 0..3 {
        let mut child = spawn(&["run", "-c", config, "--listen", "127.0.0.1:0"]);
        let before = std::fs::metadata(&out).map_or(0, |m| m.len());
        wait_until("output", Duration::from_secs(60), || {
            std::fs::metadata(&out).is_ok_and(|m| m.len() > before)
        });
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
    }
    let output = run(&["run", "-c", config, "--listen", "127.0.0.1:0"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = std::fs::read_to_string(&out).expect("read jsonl");
    let ids: Vec<i64> = text
        .lines()
        .map(|line| {
            let json: serde_json::Value =
                serde_json::from_str(line).expect("one JSON object a line");
            json["after"]["event_id"].as_i64().expect("event_id")
        })
        .collect();
    assert_eq!(ids, (1..=count as i64).collect::<Vec<_>>());
}

#[test]
fn a_finished_pipeline_runs_again_and_adds_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = pipeline_file(
        dir.path(),
        &heartbeat("count: 5000,", "{ kind: sqlite, path: hb.db }"),
    );
    let config = file.to_str().expect("utf-8 path");
    for expected_rows in [5000, 0] {
        let output = run(&["run", "-c", config, "--json", "--listen", "127.0.0.1:0"]);
        assert!(output.status.success(), "{}", stderr(&output));
        let summary: serde_json::Value =
            serde_json::from_slice(&output.stdout).expect("summary JSON");
        assert_eq!(summary["rows"], expected_rows);
        assert_eq!(summary["position"], "generator:5000");
    }
    assert_eq!(sqlite_count(&dir.path().join("hb.db")), 5000);
}

#[test]
fn sigterm_commits_the_batch_in_flight_and_exits_zero() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("hb.db");
    let file = pipeline_file(dir.path(), &heartbeat("", "{ kind: sqlite, path: hb.db }"));
    let child = spawn(&[
        "run",
        "-c",
        file.to_str().expect("path"),
        "--json",
        "--listen",
        "127.0.0.1:0",
    ]);
    wait_until("a commit", Duration::from_secs(60), || {
        db.exists() && sqlite_count(&db) > 0
    });
    signal(&child, "TERM");
    let output = child.wait_with_output().expect("wait");
    assert!(output.status.success(), "{}", stderr(&output));
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).expect("summary JSON");
    assert_eq!(summary["interrupted"], true);
    let rows = summary["rows"].as_i64().expect("rows");
    assert_eq!(sqlite_count(&db), rows, "everything reported is committed");
    assert_eq!(summary["position"], format!("generator:{rows}"));
}

#[test]
fn unknown_keys_exit_2_naming_file_line_and_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = pipeline_file(
        dir.path(),
        &heartbeat("cont: 5,", "{ kind: sqlite, path: hb.db }"),
    );
    for command in ["run", "validate"] {
        let output = run(&[command, "-c", file.to_str().expect("path")]);
        assert_eq!(output.status.code(), Some(2), "{command}");
        let last = stderr(&output)
            .lines()
            .last()
            .unwrap_or_default()
            .to_owned();
        assert_eq!(
            last,
            format!(
                "error: {}: line 2: source.cont: unknown field `cont`, expected one of `stream`, `seed`, `count`, `rate`, `start_time`, `interval_ms`, `customers`, `invalid_fraction`, `drift`",
                file.display()
            )
        );
    }
    assert!(!dir.path().join("hb.db").exists(), "nothing written");
}

#[test]
fn an_unset_env_variable_exits_2_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = pipeline_file(
        dir.path(),
        &heartbeat("", "{ kind: sqlite, path: \"${HB_DIR}/hb.db\" }"),
    );
    let output = run(&["validate", "-c", file.to_str().expect("path")]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("line 3: sink.path: environment variable HB_DIR is not set"),
        "{}",
        stderr(&output)
    );
    let with_env = watershed()
        .args(["validate", "-c", file.to_str().expect("path"), "--json"])
        .env("HB_DIR", "/data")
        .output()
        .expect("run");
    assert!(with_env.status.success());
    let plan: serde_json::Value = serde_json::from_slice(&with_env.stdout).expect("plan JSON");
    assert_eq!(plan["sink"]["path"], "/data/hb.db");
}

#[test]
fn env_overrides_change_the_plan() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = pipeline_file(
        dir.path(),
        &heartbeat("count: 10,", "{ kind: sqlite, path: hb.db }"),
    );
    let output = watershed()
        .args(["validate", "-c", file.to_str().expect("path"), "--json"])
        .env("WATERSHED_SOURCE__COUNT", "99")
        .env("WATERSHED_TABLES__HEARTBEAT__BATCH__MAX_ROWS", "7")
        .output()
        .expect("run");
    assert!(output.status.success(), "{}", stderr(&output));
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).expect("plan JSON");
    assert_eq!(plan["source"]["count"], 99);
    assert_eq!(plan["resolved_tables"]["heartbeat"]["batch"]["max_rows"], 7);
}

#[test]
fn an_unwritable_sqlite_path_exits_1_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = pipeline_file(
        dir.path(),
        &heartbeat("count: 10,", "{ kind: sqlite, path: missing/dir/hb.db }"),
    );
    let output = run(&[
        "run",
        "-c",
        file.to_str().expect("path"),
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let expected = format!(
        "error: sink: cannot open {}",
        dir.path().join("missing/dir/hb.db").display()
    );
    assert!(stderr(&output).contains(&expected), "{}", stderr(&output));
}

#[test]
fn a_port_in_use_exits_1_before_writing_anything() {
    let dir = tempfile::tempdir().expect("tempdir");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let file = pipeline_file(
        dir.path(),
        &heartbeat("count: 10,", "{ kind: sqlite, path: hb.db }"),
    );
    let output = run(&["run", "-c", file.to_str().expect("path"), "--listen", &addr]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains(&format!("error: cannot listen on {addr}")),
        "{}",
        stderr(&output)
    );
    assert!(!dir.path().join("hb.db").exists(), "nothing written");
}

#[test]
fn passwords_in_urls_never_reach_the_terminal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = pipeline_file(
        dir.path(),
        &heartbeat("", "{ kind: \"postgres://dwh:hunter2@db/dwh\" }"),
    );
    let output = run(&[
        "--log-format",
        "json",
        "run",
        "-c",
        file.to_str().expect("path"),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let all = format!(
        "{}{}",
        stderr(&output),
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(!all.contains("hunter2"), "{all}");
    assert!(all.contains("postgres://dwh:***@db/dwh"), "{all}");
}

#[test]
fn every_log_line_is_json_with_one_run_id() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = pipeline_file(
        dir.path(),
        &heartbeat("count: 100,", "{ kind: sqlite, path: hb.db }"),
    );
    let config = file.to_str().expect("path");
    let mut ids = Vec::new();
    for _ in 0..2 {
        let output = run(&[
            "run",
            "-c",
            config,
            "--log-format",
            "json",
            "--listen",
            "127.0.0.1:0",
        ]);
        assert!(output.status.success());
        let lines: Vec<serde_json::Value> = stderr(&output)
            .lines()
            .map(|l| serde_json::from_str(l).expect("every stderr line is JSON"))
            .collect();
        assert!(lines.len() >= 2);
        let id = lines[0]["run_id"].as_str().expect("run_id").to_owned();
        assert!(lines.iter().all(|l| l["run_id"] == id.as_str()));
        ids.push(id);
    }
    assert_ne!(ids[0], ids[1], "one run id per process");
}

#[test]
fn every_command_has_help() {
    for args in [
        &["--help"][..],
        &["run", "--help"],
        &["validate", "--help"],
        &["check", "--help"],
        &["demo", "--help"],
    ] {
        let output = run(args);
        assert!(output.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&output.stdout).contains("Usage: watershed"),
            "{args:?}"
        );
    }
    assert_eq!(run(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(run(&["run"]).status.code(), Some(2), "missing -c");
}

/// A plain HTTP/1.0 GET; returns the status line and body.
fn http_get(addr: &str, path: &str) -> (String, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    (
        head.lines().next().unwrap_or_default().to_owned(),
        body.to_owned(),
    )
}

#[test]
fn a_running_pipeline_serves_health_readiness_and_metrics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = pipeline_file(
        dir.path(),
        "name: hb\nsource: { kind: generator, stream: orders, rate: 2000/s }\nsink: { kind: sqlite, path: o.db }\n",
    );
    let mut child = spawn(&[
        "run",
        "-c",
        file.to_str().expect("path"),
        "--log-format",
        "json",
        "--listen",
        "127.0.0.1:0",
    ]);
    let mut logs = BufReader::new(child.stderr.take().expect("stderr"));
    let addr = loop {
        let mut line = String::new();
        assert!(
            logs.read_line(&mut line).expect("read log") > 0,
            "no address logged"
        );
        let json: serde_json::Value = serde_json::from_str(&line).expect("json log");
        if let Some(addr) = json["addr"].as_str() {
            break addr.to_owned();
        }
    };
    assert_eq!(http_get(&addr, "/health").0, "HTTP/1.0 200 OK");
    wait_until("ready and a commit", Duration::from_secs(30), || {
        http_get(&addr, "/ready").0.ends_with("200 OK")
            && http_get(&addr, "/metrics")
                .1
                .contains("watershed_batches_total{pipeline=\"hb\"}")
    });
    let (_, metrics) = http_get(&addr, "/metrics");
    for name in [
        "watershed_rows_total{pipeline=\"hb\",table=\"orders\",op=\"insert\",direction=\"out\"}",
        "watershed_batch_duration_seconds_bucket",
        "watershed_checkpoint_age_seconds{pipeline=\"hb\"}",
        "watershed_lag_seconds{pipeline=\"hb\"}",
    ] {
        assert!(metrics.contains(name), "missing {name} in\n{metrics}");
    }
    signal(&child, "INT");
    assert!(child.wait().expect("wait").success());
}

#[test]
fn the_demo_runs_for_its_duration_and_reports_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = watershed()
        .current_dir(dir.path())
        .args([
            "demo",
            "--duration",
            "2s",
            "--json",
            "--listen",
            "127.0.0.1:0",
        ])
        .output()
        .expect("run demo");
    assert!(output.status.success(), "{}", stderr(&output));
    let summary: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("one JSON object");
    let rows = summary["rows"].as_i64().expect("rows");
    assert!(rows > 0);
    assert!(summary["rows_per_sec"].as_f64().expect("rows_per_sec") > 0.0);
    let path = dir
        .path()
        .join(summary["sqlite_path"].as_str().expect("sqlite_path"));
    assert_eq!(sqlite_count(&path), rows);
    assert!(
        stderr(&output).contains("demo: "),
        "progress lines on stderr"
    );
}

#[test]
fn check_reports_each_endpoint_and_fails_on_an_unwritable_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = pipeline_file(
        dir.path(),
        &heartbeat("count: 10,", "{ kind: sqlite, path: hb.db }"),
    );
    let output = run(&["check", "-c", good.to_str().expect("path")]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(text.contains("ok    source: generator"), "{text}");
    assert!(text.contains("ok    sink.path writable"), "{text}");
    assert!(!dir.path().join("hb.db").exists(), "check writes nothing");

    let bad = pipeline_file(
        dir.path(),
        &heartbeat("count: 10,", "{ kind: sqlite, path: no/such/hb.db }"),
    );
    let output = run(&["check", "-c", bad.to_str().expect("path"), "--json"]);
    assert_eq!(output.status.code(), Some(1));
    let checks: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let failed: Vec<&serde_json::Value> = checks
        .as_array()
        .expect("array")
        .iter()
        .filter(|c| c["status"] == "fail")
        .collect();
    assert_eq!(failed.len(), 1, "{checks}");
    assert!(
        failed[0]["detail"]
            .as_str()
            .expect("detail")
            .contains("no/such"),
        "{checks}"
    );
    assert!(failed[0]["fix"].is_string());

    // A separate dead-letter destination is checked too, under its own key.
    let letters = dir.path().join("letters.yaml");
    let text = heartbeat("count: 10,", "{ kind: sqlite, path: hb.db }")
        + "dead_letter: { kind: jsonl, path: no/such/letters.jsonl }\n";
    std::fs::write(&letters, text).expect("write");
    let output = run(&["check", "-c", letters.to_str().expect("path")]);
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(text.contains("ok    sink.path writable"), "{text}");
    assert!(
        text.contains("FAIL  dead_letter.path writable") && text.contains("no/such"),
        "{text}"
    );
}
