//! `watershed schema …` as a user runs it: the built binary against DBML
//! files and real PostgreSQL and MariaDB servers, checking exit codes and
//! what lands on stdout and stderr.

mod support;

use std::io::ErrorKind;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use support::{wait_until, watershed};
use watershed_testkit::{MariaDb, Postgres};

fn shop_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/schema/shop.dbml")
}

fn run(args: &[&str]) -> Output {
    watershed().args(args).output().expect("watershed runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("writes the file");
    path.display().to_string()
}

const V1: &str = "Project p { database_type: 'PostgreSQL' }\nTable items {\n  id int [pk, increment]\n  name varchar(50) [not null]\n  legacy text\n}\n";
const V2: &str = "Project p { database_type: 'PostgreSQL' }\nTable items {\n  id int [pk, increment]\n  name varchar(80) [not null]\n  price decimal(10,2)\n}\n";

#[test]
fn sql_prints_ddl_and_lint_fails_on_a_broken_file() {
    let sql = run(&["schema", "sql", &shop_path().display().to_string()]);
    assert_eq!(sql.status.code(), Some(0), "{}", stderr(&sql));
    assert!(stdout(&sql).contains("CREATE TABLE \"auth\".\"users\""));
    let dir = tempfile::tempdir().expect("temp dir");
    let broken = write(dir.path(), "broken.dbml", "Table t {\n  id int [pk\n}\n");
    let lint = run(&["schema", "lint", &broken]);
    assert_eq!(lint.status.code(), Some(1));
    assert!(stdout(&lint).contains("broken.dbml:"), "{}", stdout(&lint));
}

#[test]
fn apply_dry_run_changes_nothing_then_apply_creates_and_a_second_apply_is_up_to_date() {
    let server = Postgres::shared();
    let url = server.url(&server.create_database("cli_apply").expect("database"));
    let file = shop_path().display().to_string();
    let dry = run(&["schema", "apply", &file, "--url", &url, "--dry-run"]);
    assert_eq!(dry.status.code(), Some(0), "{}", stderr(&dry));
    assert!(
        stdout(&dry).contains("CREATE TABLE \"auth\".\"users\""),
        "{}",
        stdout(&dry)
    );
    assert!(stdout(&dry).contains("nothing was changed"));
    let pulled = run(&["schema", "pull", "--url", &url]);
    assert!(
        !stdout(&pulled).contains("Table "),
        "the dry run created nothing"
    );

    let applied = run(&["schema", "apply", &file, "--url", &url]);
    assert_eq!(applied.status.code(), Some(0), "{}", stderr(&applied));
    assert!(stdout(&applied).contains("applied"), "{}", stdout(&applied));
    let again = run(&["schema", "apply", &file, "--url", &url]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(
        stdout(&again).starts_with("up to date"),
        "{}",
        stdout(&again)
    );
}

#[test]
fn apply_refuses_a_destructive_plan_without_confirm_and_prints_it_first() {
    let server = Postgres::shared();
    let url = server.url(&server.create_database("cli_confirm").expect("database"));
    let dir = tempfile::tempdir().expect("temp dir");
    let v1 = write(dir.path(), "v1.dbml", V1);
    let v2 = write(dir.path(), "v2.dbml", V2);
    assert_eq!(
        run(&["schema", "apply", &v1, "--url", &url]).status.code(),
        Some(0)
    );
    let refused = run(&["schema", "apply", &v2, "--url", &url]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stdout(&refused).contains("DROP COLUMN \"legacy\""),
        "{}",
        stdout(&refused)
    );
    assert!(
        stderr(&refused).contains("--confirm"),
        "{}",
        stderr(&refused)
    );
    let still = run(&["schema", "pull", "--url", &url]);
    assert!(stdout(&still).contains("legacy"), "nothing was dropped");

    let confirmed = run(&["schema", "apply", &v2, "--url", &url, "--confirm"]);
    assert_eq!(confirmed.status.code(), Some(0), "{}", stderr(&confirmed));
    let after = run(&["schema", "pull", "--url", &url]);
    assert!(!stdout(&after).contains("legacy") && stdout(&after).contains("price decimal(10,2)"));
}

#[test]
fn pull_prints_mariadb_tables_as_dbml_that_lints_clean() {
    let server = MariaDb::shared();
    let database = server.create_database("cli_pull").expect("database");
    server
        .sql(&format!(
            "CREATE TABLE `{database}`.owners (id int PRIMARY KEY AUTO_INCREMENT, email varchar(100) NOT NULL UNIQUE COMMENT 'login');\
             CREATE TABLE `{database}`.pets (id bigint PRIMARY KEY, owner_id int NOT NULL, kind enum('cat','dog') NOT NULL DEFAULT 'cat', \
             CONSTRAINT pets_owner FOREIGN KEY (owner_id) REFERENCES `{database}`.owners (id) ON DELETE CASCADE);"
        ))
        .expect("tables");
    let pulled = run(&["schema", "pull", "--url", &server.url(&database)]);
    assert_eq!(pulled.status.code(), Some(0), "{}", stderr(&pulled));
    let text = stdout(&pulled);
    assert!(
        text.contains("email varchar(100) [not null, unique, note: 'login']"),
        "{text}"
    );
    assert!(
        text.contains("Ref pets_owner: pets.owner_id > owners.id [delete: cascade]"),
        "{text}"
    );
    assert!(text.contains("Enum pets_kind"), "{text}");
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write(dir.path(), "pulled.dbml", &text);
    let lint = run(&["schema", "lint", &file]);
    assert_eq!(lint.status.code(), Some(0), "{}", stdout(&lint));
}

#[test]
fn diff_exits_0_when_equal_1_when_different_and_2_on_bad_input() {
    let dir = tempfile::tempdir().expect("temp dir");
    let v1 = write(dir.path(), "v1.dbml", V1);
    let v2 = write(dir.path(), "v2.dbml", V2);
    let same = run(&["schema", "diff", &v1, &v1]);
    assert_eq!(same.status.code(), Some(0), "{}", stderr(&same));
    assert!(stdout(&same).is_empty());

    let different = run(&["schema", "diff", &v1, &v2, "--dialect", "mysql"]);
    assert_eq!(different.status.code(), Some(1));
    let text = stdout(&different);
    assert!(text.contains("+ column items.price"), "{text}");
    assert!(text.contains("!- column items.legacy"), "{text}");
    assert!(
        text.contains("ALTER TABLE `items` MODIFY COLUMN `name` varchar(80) NOT NULL"),
        "{text}"
    );

    let json = run(&["schema", "diff", &v1, &v2, "--json"]);
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(value["dialect"], "postgres", "the Project's database_type");
    assert_eq!(value["equal"], false);

    let missing = run(&["schema", "diff", &v1, "no-such-file.dbml"]);
    assert_eq!(missing.status.code(), Some(2), "{}", stderr(&missing));
}

#[test]
fn diff_of_a_file_against_the_database_it_was_applied_to_is_empty() {
    let server = Postgres::shared();
    let url = server.url(&server.create_database("cli_diff").expect("database"));
    let file = shop_path().display().to_string();
    assert_eq!(
        run(&["schema", "apply", &file, "--url", &url])
            .status
            .code(),
        Some(0)
    );
    let diff = run(&["schema", "diff", &url, &file]);
    assert_eq!(
        diff.status.code(),
        Some(0),
        "{}{}",
        stdout(&diff),
        stderr(&diff)
    );
}

#[test]
fn dbt_writes_a_sources_file_and_one_staging_model_per_table() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().display().to_string();
    let file = shop_path().display().to_string();
    let dbt = run(&[
        "schema",
        "dbt",
        &file,
        "--out",
        &out,
        "--source-name",
        "shop",
    ]);
    assert_eq!(dbt.status.code(), Some(0), "{}", stderr(&dbt));
    let folder = dir.path().join("models/staging/shop");
    let yaml = std::fs::read_to_string(folder.join("_shop__sources.yml")).expect("sources file");
    let docs = yaml_rust2::YamlLoader::load_from_str(&yaml).expect("valid YAML");
    let sources = docs[0]["sources"].as_vec().expect("sources");
    let tables: usize = sources
        .iter()
        .map(|s| s["tables"].as_vec().map_or(0, Vec::len))
        .sum();
    let models = std::fs::read_dir(&folder)
        .expect("folder")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().starts_with("stg_"))
        })
        .count();
    assert_eq!(models, tables);
    assert!(folder.join("stg_shop_auth__users.sql").exists());
    let neither = run(&["schema", "dbt", "--out", &out]);
    assert_eq!(neither.status.code(), Some(2));
}

#[test]
fn an_unreachable_database_fails_after_the_wait_without_printing_the_password() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("binds")
        .local_addr()
        .expect("address")
        .port();
    let url = format!("mysql://u:hunter2@127.0.0.1:{port}/db");
    let pulled = run(&["schema", "pull", "--url", &url, "--wait", "1s"]);
    assert_eq!(pulled.status.code(), Some(1));
    let text = stderr(&pulled);
    assert!(
        text.contains("cannot connect") && !text.contains("hunter2"),
        "{text}"
    );
}

/// Forwards every connection to `port` on `listener`, in both directions.
fn forward(listener: TcpListener, port: u16) {
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(("127.0.0.1", port)) else {
                continue;
            };
            let (Ok(client_read), Ok(server_read)) = (client.try_clone(), server.try_clone())
            else {
                continue;
            };
            let pipe = |mut from: TcpStream, mut to: TcpStream| {
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut from, &mut to);
                    let _ = to.shutdown(std::net::Shutdown::Write);
                })
            };
            pipe(client_read, server);
            pipe(server_read, client);
        }
    });
}

#[test]
fn apply_waits_for_a_database_that_is_still_starting() {
    let server = Postgres::shared();
    let database = server.create_database("cli_wait").expect("database");
    let free = TcpListener::bind("127.0.0.1:0").expect("binds");
    let port = free.local_addr().expect("address").port();
    drop(free);
    let url = format!("postgres://postgres@127.0.0.1:{port}/{database}");
    let mut child = watershed()
        .args([
            "schema",
            "apply",
            &shop_path().display().to_string(),
            "--url",
            &url,
            "--wait",
            "60s",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("watershed starts");
    std::thread::sleep(Duration::from_millis(700));
    assert!(
        child.try_wait().expect("status").is_none(),
        "still retrying"
    );
    match TcpListener::bind(("127.0.0.1", port)) {
        Ok(listener) => forward(listener, server.port()),
        Err(e) if e.kind() == ErrorKind::AddrInUse => panic!("port {port} was taken meanwhile"),
        Err(e) => panic!("cannot listen: {e}"),
    }
    let mut status = None;
    wait_until("apply to finish", Duration::from_secs(60), || {
        status = child.try_wait().expect("status");
        status.is_some()
    });
    let output = child.wait_with_output().expect("output");
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(0),
        "{}",
        stderr(&output)
    );
    assert!(stdout(&output).contains("applied"), "{}", stdout(&output));
}
