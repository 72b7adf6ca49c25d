//! MariaDB → PostgreSQL end to end, through the `watershed` binary and real
//! servers from the testkit: snapshot, streaming, crashes, verify.

#[path = "support/shop.rs"]
mod shop;
mod support;
#[path = "mysql_to_postgres/verify_edges.rs"]
mod verify_edges;

use std::process::Stdio;
use std::time::Duration;

use shop::{
    Setup, Workload, create_shop_tables, free_addr, http_get, server_id, stop, stop_cleanly,
};
use support::{wait_until, watershed};
use watershed_testkit::{MariaDb, Postgres};

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

    // Renamed columns keep their values; a dropped table goes.
    setup.source(
        "ALTER TABLE customers RENAME COLUMN tier TO level;
         ALTER TABLE orders CHANGE note remark VARCHAR(255);
         UPDATE customers SET level = 'bronze' WHERE id = 1002;
         DROP TABLE later;",
    );
    setup.wait_verified(Duration::from_secs(60));
    let kept = pg
        .sql(
            &setup.dwh,
            "SELECT level FROM raw.customers WHERE id = 1001",
        )
        .expect("renamed column");
    assert_eq!(kept.trim(), "gold", "the value moved with the rename");
    assert_eq!(setup.target_count("later"), -1, "the dropped table is gone");
    stop_cleanly(child);
}

/// `/api/status`'s `tables` object, `{}` when every table is live.
fn table_states(addr: &str) -> serde_json::Value {
    let response = http_get(addr, "/api/status");
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    serde_json::from_str::<serde_json::Value>(body).unwrap_or_default()["tables"].clone()
}

fn table_command(setup: &Setup, action: &str, table: &str, addr: &str) -> std::process::Output {
    let url = format!("http://{addr}");
    watershed()
        .args(["table", action, "-c", setup.config(), table, "--url", &url])
        .output()
        .expect("run watershed table")
}

fn source_count(setup: &Setup, table: &str) -> i64 {
    MariaDb::shared()
        .sql(&format!("SELECT count(*) FROM {}.{table}", setup.shop))
        .ok()
        .and_then(|out| out.trim().parse().ok())
        .unwrap_or(-2)
}

#[test]
fn a_table_the_sink_rejects_is_isolated_while_the_others_flow_and_resync_recovers_it() {
    let setup = Setup::with(
        "",
        "tables: { SHOP.customers: { on_table_error: isolate } }\n",
    );
    let mut workload = Workload::new(11);
    setup.source(&workload.batch(300));
    let addr = free_addr();
    let child = setup.spawn_on(&addr);
    setup.wait_verified(Duration::from_secs(60));
    // The target can no longer hold what the source writes.
    Postgres::shared()
        .sql(
            &setup.dwh,
            "ALTER TABLE raw.customers ALTER COLUMN name TYPE varchar(5)",
        )
        .expect("narrow the target");
    setup.source(
        "INSERT INTO customers VALUES (9001, 'a name far too long', NULL, 1) \
         ON DUPLICATE KEY UPDATE name = VALUES(name);",
    );
    setup.source(&workload.batch(200));
    let customers = format!("{}.customers", setup.shop);
    wait_until("the isolation", Duration::from_secs(60), || {
        table_states(&addr)[&customers]["state"] == "isolated"
    });
    // Orders keep flowing past the rejected customer change.
    setup.source(&workload.batch(200));
    wait_until("orders to catch up", Duration::from_secs(60), || {
        setup.target_count("orders") == source_count(&setup, "orders")
    });
    let metrics = http_get(&addr, "/metrics");
    assert!(
        metrics.contains(&format!(
            "watershed_table_state{{pipeline=\"shop\",table=\"{customers}\",state=\"isolated\"}} 1"
        )),
        "{metrics}"
    );
    let check = setup.run(&["check"]);
    let stdout = String::from_utf8_lossy(&check.stdout);
    let line = stdout
        .lines()
        .find(|l| l.contains(&format!("table {customers}")))
        .unwrap_or_else(|| panic!("a line for the isolated table:\n{stdout}"));
    assert!(
        line.starts_with("warn") && line.contains("resync"),
        "{line}"
    );
    let status = watershed()
        .args(["status", "--url", &format!("http://{addr}")])
        .output()
        .expect("run watershed status");
    let stdout = String::from_utf8_lossy(&status.stdout);
    assert!(
        stdout.contains(&format!("table {customers}: isolated: ")),
        "{stdout}"
    );

    // The operator widens the target again and re-copies the table.
    Postgres::shared()
        .sql(
            &setup.dwh,
            "ALTER TABLE raw.customers ALTER COLUMN name TYPE varchar(100)",
        )
        .expect("widen the target");
    let resync = table_command(&setup, "resync", &customers, &addr);
    assert!(
        resync.status.success(),
        "{}",
        String::from_utf8_lossy(&resync.stderr)
    );
    setup.source(&workload.batch(100));
    setup.wait_verified(Duration::from_secs(60));
    wait_until("every table live", Duration::from_secs(30), || {
        table_states(&addr) == serde_json::json!({})
    });
    stop_cleanly(child);
}

#[test]
fn pause_skips_a_table_and_resume_recopies_it_while_writes_go_on() {
    let setup = Setup::new(", chunk_rows: 40");
    let mut workload = Workload::new(12);
    setup.source(&workload.batch(600));
    let addr = free_addr();
    let child = setup.spawn_on(&addr);
    setup.wait_verified(Duration::from_secs(60));
    let orders = format!("{}.orders", setup.shop);
    let paused = table_command(&setup, "pause", &orders, &addr);
    assert!(
        paused.status.success(),
        "{}",
        String::from_utf8_lossy(&paused.stderr)
    );
    wait_until("the pause", Duration::from_secs(30), || {
        table_states(&addr)[&orders]["state"] == "paused"
    });
    let before = setup.target_count("orders");
    setup.source(&workload.batch(300));
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        setup.target_count("orders"),
        before,
        "a paused table is not applied"
    );
    let differs = setup.run(&["verify"]);
    assert_eq!(differs.status.code(), Some(1));

    // The pause is in the checkpoint: a restarted pipeline keeps it.
    stop_cleanly(child);
    setup.source(&workload.batch(50));
    let addr = free_addr();
    let child = setup.spawn_on(&addr);
    wait_until("the restart", Duration::from_secs(30), || {
        table_states(&addr)[&orders]["state"] == "paused"
    });
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(setup.target_count("orders"), before, "still paused");

    // Resume while a writer keeps changing the table: the re-copy must
    // converge with the changes made during it.
    let writer = {
        let shop = setup.shop.clone();
        let mut workload = Workload::new(13);
        workload.next_id = 100_000;
        std::thread::spawn(move || {
            for _ in 0..20 {
                MariaDb::shared()
                    .sql(&format!("USE {shop}; {}", workload.batch(30)))
                    .expect("writer");
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let resumed = table_command(&setup, "resume", &orders, &addr);
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    writer.join().expect("writer thread");
    setup.wait_verified(Duration::from_secs(90));
    wait_until("every table live", Duration::from_secs(30), || {
        table_states(&addr) == serde_json::json!({})
    });
    let unknown = table_command(&setup, "pause", "nosuch.table", &addr);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("not captured"),
        "{}",
        String::from_utf8_lossy(&unknown.stderr)
    );
    stop_cleanly(child);
}

#[test]
fn tables_added_to_the_filter_or_renamed_into_it_are_copied_alone() {
    let setup = Setup::new("");
    let shop = setup.shop.clone();
    let text = std::fs::read_to_string(&setup.file).expect("read");
    let only_orders = text.replace(&format!("[\"{shop}.*\"]"), &format!("[\"{shop}.orders\"]"));
    std::fs::write(&setup.file, &only_orders).expect("write");
    let mut workload = Workload::new(14);
    setup.source(&workload.batch(300));
    let child = setup.spawn();
    setup.wait_verified(Duration::from_secs(60));
    stop_cleanly(child);
    assert_eq!(setup.target_count("customers"), -1, "not captured yet");

    let widened = text.replace(
        &format!("[\"{shop}.*\"]"),
        &format!("[\"{shop}.*\", \"!{shop}.tmp_*\"]"),
    );
    std::fs::write(&setup.file, widened).expect("write");
    let addr = free_addr();
    let child = setup.spawn_on(&addr);
    setup.wait_verified(Duration::from_secs(60));
    let metrics = http_get(&addr, "/metrics");
    assert!(
        !metrics.contains(&format!("table=\"{shop}.orders\",op=\"insert\"")),
        "orders were copied again:\n{metrics}"
    );
    setup.source(
        "CREATE TABLE tmp_stage (id INT PRIMARY KEY, label VARCHAR(20));
         INSERT INTO tmp_stage VALUES (1, 'one'), (2, 'two'), (3, 'three');
         RENAME TABLE tmp_stage TO staged;",
    );
    wait_until("the renamed table", Duration::from_secs(60), || {
        setup.target_count("staged") == 3
    });
    setup.wait_verified(Duration::from_secs(30));
    stop_cleanly(child);
}

#[test]
fn schema_change_policies_quarantine_one_table_and_freeze_stops() {
    let setup = Setup::with(
        "",
        "tables: { SHOP.customers: { schema_changes: quarantine }, SHOP.orders: { schema_changes: freeze } }\n",
    );
    let mut workload = Workload::new(15);
    setup.source(&workload.batch(200));
    let addr = free_addr();
    let child = setup.spawn_on(&addr);
    setup.wait_verified(Duration::from_secs(60));
    setup.source("ALTER TABLE customers ADD COLUMN vip BOOL NOT NULL DEFAULT 0;");
    setup.source("INSERT INTO customers (id, name) VALUES (7001, 'after the change');");
    let orders: Vec<String> = (0..50).map(|_| workload.insert_order()).collect();
    setup.source(&orders.join("\n"));
    let customers = format!("{}.customers", setup.shop);
    wait_until("the quarantine", Duration::from_secs(60), || {
        table_states(&addr)[&customers]["state"] == "isolated"
    });
    wait_until("orders to catch up", Duration::from_secs(60), || {
        setup.target_count("orders") == source_count(&setup, "orders")
    });
    setup.source(
        "ALTER TABLE orders ADD COLUMN coupon VARCHAR(10);
         INSERT INTO orders (id, customer_id, amount, status, created_at)
           VALUES (999999, 1, 1.00, 'new', '2024-01-01');",
    );
    let output = child.wait_with_output().expect("the pipeline stops");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("raw.orders") && stderr.contains("schema_changes"),
        "{stderr}"
    );
}

#[test]
fn a_table_rejected_during_the_snapshot_is_isolated_and_the_rest_is_copied() {
    let setup = Setup::with("", "defaults: { on_table_error: isolate }\n");
    let mut workload = Workload::new(16);
    setup.source(&workload.batch(300));
    // A target made by hand, with a rule the source's names break.
    Postgres::shared()
        .sql(
            &setup.dwh,
            "CREATE SCHEMA raw; CREATE TABLE raw.customers (id integer PRIMARY KEY, \
             name varchar(100) NOT NULL CONSTRAINT short_names CHECK (length(name) < 3), \
             email varchar(200), balance numeric(65,30))",
        )
        .expect("constrained target");
    let addr = free_addr();
    let child = setup.spawn_on(&addr);
    let customers = format!("{}.customers", setup.shop);
    wait_until("the isolation", Duration::from_secs(60), || {
        table_states(&addr)[&customers]["state"] == "isolated"
    });
    setup.source(&workload.batch(100));
    wait_until(
        "orders copied and streamed",
        Duration::from_secs(60),
        || setup.target_count("orders") == source_count(&setup, "orders"),
    );
    Postgres::shared()
        .sql(
            &setup.dwh,
            "ALTER TABLE raw.customers DROP CONSTRAINT short_names",
        )
        .expect("drop the rule");
    let resync = table_command(&setup, "resync", &customers, &addr);
    assert!(
        resync.status.success(),
        "{}",
        String::from_utf8_lossy(&resync.stderr)
    );
    setup.wait_verified(Duration::from_secs(60));
    stop_cleanly(child);
}
