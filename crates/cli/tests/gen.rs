//! `watershed gen data` as a user runs it: the built binary writing files
//! and loading real PostgreSQL and MariaDB servers, checking exit codes,
//! output and what lands in the databases.

#[allow(
    dead_code,
    reason = "support/ also holds helpers only other test files use"
)]
mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;

use support::watershed;
use watershed_testkit::{MariaDb, Postgres, unique_name};

fn shop_path() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/schema/shop.dbml")
        .display()
        .to_string()
}

fn run(args: &[&str]) -> Output {
    watershed().args(args).output().expect("watershed runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("writes the file");
    path.display().to_string()
}

fn files_of(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| {
            let path = e.expect("entry").path();
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read(&path).expect("reads"))
        })
        .collect();
    out.sort();
    out
}

#[test]
fn files_are_one_per_table_with_a_header_and_the_same_for_the_same_seed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for out in [&a, &b] {
        let args = [
            "gen",
            "data",
            "--schema",
            &shop_path(),
            "--rows",
            "200",
            "--seed",
            "9",
        ];
        let done = run(&[&args[..], &["--out", &out.display().to_string(), "--json"]].concat());
        assert_eq!(done.status.code(), Some(0), "{}", stderr(&done));
        let summary: serde_json::Value =
            serde_json::from_slice(&done.stdout).expect("--json prints JSON");
        assert_eq!(summary["rows"], 19 * 200);
    }
    let first = files_of(&a);
    assert_eq!(first, files_of(&b), "same seed, same bytes");
    let names: Vec<&str> = first.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"orders.order_items.csv"), "{names:?}");
    let (_, users) = first
        .iter()
        .find(|(n, _)| n == "auth.users.csv")
        .expect("users");
    let text = String::from_utf8_lossy(users);
    assert!(text.starts_with("id,email,"), "{text}");
    assert_eq!(text.lines().count(), 201, "a header and 200 rows");
}

#[test]
fn jsonl_and_sql_formats_write_one_file_per_table_too() {
    let dir = tempfile::tempdir().expect("temp dir");
    for format in ["jsonl", "sql"] {
        let out = dir.path().join(format);
        let args = [
            "gen",
            "data",
            "--schema",
            &shop_path(),
            "--rows",
            "20",
            "--format",
            format,
        ];
        let done = run(&[&args[..], &["--out", &out.display().to_string()]].concat());
        assert_eq!(done.status.code(), Some(0), "{}", stderr(&done));
        let orders = std::fs::read_to_string(out.join(format!("orders.orders.{format}")))
            .expect("orders file");
        match format {
            "jsonl" => {
                let first: serde_json::Value =
                    serde_json::from_str(orders.lines().next().expect("a line")).expect("JSON");
                assert!(
                    first["total"].is_number() && first["status"].is_string(),
                    "{first}"
                );
            }
            _ => assert!(
                orders.starts_with("INSERT INTO \"orders\".\"orders\""),
                "{orders}"
            ),
        }
    }
}

#[test]
fn an_unsatisfiable_request_exits_2_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let schema = write(
        dir.path(),
        "flags.dbml",
        "Enum level { low \n mid \n high }\nTable flags { id int [pk] \n level level [unique, not null] }",
    );
    let out = dir.path().join("out");
    let args = ["gen", "data", "--schema", &schema, "--rows", "10"];
    let done = run(&[&args[..], &["--out", &out.display().to_string()]].concat());
    assert_eq!(done.status.code(), Some(2));
    assert!(
        stderr(&done).contains("only 3 possible value(s), but 10 rows"),
        "{}",
        stderr(&done)
    );
    assert!(!out.exists());
    let truncate = run(&[
        "gen",
        "data",
        "--schema",
        &schema,
        "--rows",
        "1",
        "--target",
        "postgres://x@127.0.0.1:1/x",
        "--truncate",
    ]);
    assert_eq!(truncate.status.code(), Some(2));
    assert!(
        stderr(&truncate).contains("--confirm"),
        "{}",
        stderr(&truncate)
    );
}

#[test]
fn ukrainian_locale_writes_cyrillic_names_and_ukrainian_phones() {
    let dir = tempfile::tempdir().expect("temp dir");
    let schema = write(
        dir.path(),
        "people.dbml",
        "Table people { id int [pk] \n full_name varchar(100) [not null] \n phone varchar(20) [not null] \n city varchar(50) [not null] }",
    );
    let out = dir.path().join("out");
    let args = [
        "gen", "data", "--schema", &schema, "--rows", "50", "--locale", "uk_UA",
    ];
    let done = run(&[&args[..], &["--out", &out.display().to_string()]].concat());
    assert_eq!(done.status.code(), Some(0), "{}", stderr(&done));
    let csv = std::fs::read_to_string(out.join("people.csv")).expect("csv");
    let cyrillic = |s: &str| s.chars().any(|c| ('\u{0400}'..='\u{04FF}').contains(&c));
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        assert!(
            cyrillic(f[1]) && cyrillic(f[3]) && f[2].starts_with("+380 "),
            "{line}"
        );
    }
}

#[test]
fn loading_postgres_refuses_a_non_empty_target_unless_appending_or_truncating() {
    let (database, url) = shop_in_postgres("cli_gen");
    let server = Postgres::shared();
    let load = |extra: &[&str]| {
        let args = [
            "gen",
            "data",
            "--schema",
            &shop_path(),
            "--rows",
            "100",
            "--target",
            &url,
        ];
        run(&[&args[..], extra].concat())
    };
    let first = load(&[]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert!(
        stderr(&first).contains("orders.orders: 100 rows in"),
        "{}",
        stderr(&first)
    );
    let again = load(&[]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).contains("already holds rows"),
        "{}",
        stderr(&again)
    );
    let appended = load(&["--append", "--seed", "2"]);
    assert_eq!(appended.status.code(), Some(0), "{}", stderr(&appended));
    let count = |q: &str| server.sql(&database, q).expect("query").trim().to_owned();
    assert_eq!(count("SELECT count(*) FROM auth.users"), "200");
    let replaced = load(&["--truncate", "--confirm"]);
    assert_eq!(replaced.status.code(), Some(0), "{}", stderr(&replaced));
    assert_eq!(count("SELECT count(*) FROM auth.users"), "100");
}

#[test]
fn one_run_fills_a_postgres_and_a_mariadb_database_whose_ids_agree() {
    let (pg, my) = (Postgres::shared(), MariaDb::shared());
    let (auth, shop) = (unique_name("auth"), unique_name("shop"));
    let dir = tempfile::tempdir().expect("temp dir");
    let schema = write(
        dir.path(),
        "services.dbml",
        &format!(
            "Table {auth}.users {{\n id bigint [pk, increment]\n email varchar(200) [unique, not null]\n}}\n\
             Table {shop}.orders {{\n id bigint [pk, increment]\n user_id bigint [not null, note: 'auth.users.id, in another database']\n total decimal(10,2) [not null]\n}}\n"
        ),
    );
    let pg_db = pg.create_database("cli_gen_auth").expect("database");
    let pg_url = pg.url(&pg_db);
    let my_url = my.url("");
    for url in [&pg_url, &my_url] {
        let applied = run(&["schema", "apply", &schema, "--url", url]);
        assert_eq!(applied.status.code(), Some(0), "{}", stderr(&applied));
    }
    let targets = [format!("{auth}={pg_url}"), format!("{shop}={my_url}")];
    let args = [
        "gen",
        "data",
        "--schema",
        &schema,
        "--rows",
        "300",
        "--target",
        &targets[0],
        "--target",
        &targets[1],
    ];
    let done = run(&args);
    assert_eq!(done.status.code(), Some(0), "{}", stderr(&done));
    let users: BTreeSet<String> = pg
        .sql(&pg_db, &format!("SELECT id FROM {auth}.users"))
        .expect("users")
        .lines()
        .map(str::to_owned)
        .collect();
    let referenced: BTreeSet<String> = my
        .sql(&format!("SELECT DISTINCT user_id FROM `{shop}`.orders"))
        .expect("orders")
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(users.len(), 300);
    assert!(
        referenced.len() > 100 && referenced.is_subset(&users),
        "{referenced:?}"
    );
}

#[test]
fn the_schema_can_come_from_a_live_database() {
    let (_, url) = shop_in_postgres("cli_gen_url");
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("out");
    let args = ["gen", "data", "--url", &url, "--rows", "30"];
    let done = run(&[&args[..], &["--out", &out.display().to_string()]].concat());
    assert_eq!(done.status.code(), Some(0), "{}", stderr(&done));
    let items = std::fs::read_to_string(out.join("orders.order_items.csv")).expect("file");
    assert_eq!(items.lines().count(), 31, "{items}");
}

#[test]
fn a_workload_runs_for_its_duration_on_a_loaded_postgres_without_errors() {
    let (_, url) = shop_in_postgres("cli_work");
    let loaded = run(&[
        "gen",
        "data",
        "--schema",
        &shop_path(),
        "--rows",
        "30",
        "--target",
        &url,
    ]);
    assert_eq!(loaded.status.code(), Some(0), "{}", stderr(&loaded));
    let args = [
        "gen",
        "workload",
        "--url",
        &url,
        "--rate",
        "300",
        "--duration",
        "2s",
        "--mix",
        "insert=70,update=20,delete=10",
        "--seed",
        "3",
        "--json",
    ];
    let done = run(&args);
    assert_eq!(done.status.code(), Some(0), "{}", stderr(&done));
    let summary: serde_json::Value = serde_json::from_slice(&done.stdout).expect("JSON summary");
    assert_eq!(summary["errors"], 0, "{summary}");
    let count = |op: &str| summary[op].as_u64().unwrap_or_default();
    assert!(
        count("inserts") > count("updates") && count("deletes") > 0,
        "{summary}"
    );
    assert!(
        summary["statements_per_second"]
            .as_f64()
            .unwrap_or_default()
            > 0.0,
        "{summary}"
    );
    let plain = run(&[
        "gen",
        "workload",
        "--url",
        &url,
        "--rate",
        "50",
        "--duration",
        "1s",
        "--tables",
        "catalog.brands",
    ]);
    assert_eq!(plain.status.code(), Some(0), "{}", stderr(&plain));
    let line = String::from_utf8_lossy(&plain.stdout);
    assert!(
        line.starts_with("ran ") && line.contains("/s): ") && line.contains(" 0 errors"),
        "{line}"
    );
}

fn heartbeat_args<'a>(to: &'a str, seed: &'a str) -> Vec<&'a str> {
    vec![
        "gen",
        "events",
        "heartbeat",
        "--rate",
        "2000",
        "--duration",
        "500ms",
        "--customers",
        "20",
        "--invalid-fraction",
        "0.1",
        "--start",
        "2025-01-01T00:00:00Z",
        "--seed",
        seed,
        "--to",
        to,
    ]
}

#[test]
fn heartbeat_events_are_deterministic_json_lines_with_a_share_of_invalid_ones() {
    let dir = tempfile::tempdir().expect("temp dir");
    let files: Vec<Vec<u8>> = ["a", "b"]
        .iter()
        .map(|name| {
            let path = dir.path().join(format!("{name}.jsonl"));
            let to = format!("jsonl:{}", path.display());
            let done = run(&[&heartbeat_args(&to, "7")[..], &["--json"]].concat());
            assert_eq!(done.status.code(), Some(0), "{}", stderr(&done));
            let summary: serde_json::Value = serde_json::from_slice(&done.stdout).expect("JSON");
            assert_eq!(summary["events"], 1000, "{summary}");
            std::fs::read(&path).expect("reads")
        })
        .collect();
    assert_eq!(files[0], files[1], "same seed, same bytes");
    let text = String::from_utf8_lossy(&files[0]);
    let invalid = text
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).expect("JSON line"))
        .filter(|r| {
            let rate = r["heart_rate"].as_i64();
            r["customer_id"].is_null()
                || !matches!(rate, Some(30..=220))
                || r["ts"].as_str() > Some("2025-01-02")
        })
        .count();
    assert!((50..=160).contains(&invalid), "{invalid} of 1000 invalid");
}

#[test]
fn heartbeat_events_fill_a_postgres_table() {
    let server = Postgres::shared();
    let database = server.create_database("cli_hb").expect("database");
    let to = format!("postgres:{}", server.url(&database));
    let done = run(&heartbeat_args(&to, "1"));
    assert_eq!(done.status.code(), Some(0), "{}", stderr(&done));
    let count = server
        .sql(&database, "SELECT count(*) FROM heartbeat")
        .expect("query");
    assert_eq!(count.trim(), "1000");
}

/// A fresh PostgreSQL database holding the shop schema (`schema apply`).
fn shop_in_postgres(prefix: &str) -> (String, String) {
    let server = Postgres::shared();
    let database = server.create_database(prefix).expect("database");
    let url = server.url(&database);
    let applied = run(&["schema", "apply", &shop_path(), "--url", &url]);
    assert_eq!(applied.status.code(), Some(0), "{}", stderr(&applied));
    (database, url)
}
