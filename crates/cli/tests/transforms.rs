//! Transforms end to end, MariaDB → PostgreSQL through the `watershed`
//! binary with SIGKILLs: the target equals the source passed through the
//! same expressions in SQL, every rejected row is one dead letter, and no
//! masked value reaches the target, the dead letters or the logs.

#[path = "support/shop.rs"]
#[allow(dead_code)]
mod shop;
#[allow(dead_code)]
mod support;

use std::collections::BTreeSet;
use std::process::Child;
use std::time::{Duration, Instant};

use shop::{Setup, Workload};
// `shop` starts the binary through `super::watershed`.
#[allow(unused_imports)]
use support::watershed;
use watershed_testkit::{MariaDb, Postgres};

const MASK_KEY: &str = "a test key, not a secret";

/// `SHOP` is the source database.
const TRANSFORMS: &str = "\
mask_key: \"a test key, not a secret\"
transforms:
  - { table: \"SHOP.orders\", filter: \"status <> 'cancelled'\" }
  - table: \"SHOP.orders\"
    derive: { amount_with_vat: \"amount * 1.2\", order_day: \"date_trunc('day', created_at)\" }
    mask: { note: redact }
  - { table: \"SHOP.customers\", mask: { name: hash } }
  - { table: \"SHOP.readings\", validate: [\"reading between 0 and 100\", \"label is not null\"], mask: { label: hash } }
";

fn setup() -> Setup {
    let setup = Setup::with("", TRANSFORMS);
    setup.source(
        "CREATE TABLE readings (id BIGINT PRIMARY KEY, reading INT NOT NULL, label VARCHAR(40));",
    );
    setup
}

/// Inserts into `readings` (some out of range: rejected) and key updates
/// of `orders`, on top of the shop workload.
fn more(workload: &mut Workload, next_reading: &mut i64, statements: usize) -> String {
    let mut sql = workload.batch(statements);
    for _ in 0..statements / 10 {
        let id = *next_reading;
        *next_reading += 1;
        sql.push_str(&format!(
            "\nINSERT INTO readings VALUES ({id}, {}, 'secret-{id}');",
            workload.below(130)
        ));
    }
    let existing = workload.next_id.max(2) - 1;
    let from = 1 + workload.below(existing as u64) as i64;
    sql.push_str(&format!(
        "\nUPDATE IGNORE orders SET id = id + 1000000 WHERE id = {from};"
    ));
    sql
}

#[test]
fn transforms_hold_through_kills_and_masked_values_never_leave() {
    let setup = setup();
    let mut workload = Workload::new(16);
    let mut next_reading = 1;
    setup.source(&more(&mut workload, &mut next_reading, 1500));
    let mut rng = Workload::new(61);
    let mut logs = String::new();
    for round in 0..11 {
        let mut child = setup.spawn();
        std::thread::sleep(Duration::from_millis(200 + rng.below(600)));
        if round % 2 == 0 {
            setup.source(&more(&mut workload, &mut next_reading, 150));
        }
        child.kill().expect("SIGKILL");
        logs.push_str(&output_of(child));
    }
    let child = setup.spawn();
    setup.source(&more(&mut workload, &mut next_reading, 150));
    wait_for_target(&setup, Duration::from_secs(120));
    let dead_letters = Postgres::shared()
        .sql(
            &setup.dwh,
            "SELECT convert_from(key, 'UTF8') || '|' || convert_from(value, 'UTF8') || '|' || error \
             FROM raw._ws_dead_letters ORDER BY 1",
        )
        .expect("dead letters");
    let stop = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(stop.success());
    logs.push_str(&output_of(child));

    // Every rejected reading is one dead letter, keyed by its id, with the
    // condition it failed and its label hashed.
    let rejected: BTreeSet<String> = MariaDb::shared()
        .sql(&format!(
            "SELECT id FROM {}.readings WHERE reading > 100",
            setup.shop
        ))
        .expect("source readings")
        .lines()
        .map(|id| format!("{{\"id\":{id}}}"))
        .collect();
    assert!(!rejected.is_empty());
    let letters: Vec<&str> = dead_letters.lines().collect();
    let keys: Vec<&str> = letters
        .iter()
        .map(|l| l.split('|').next().unwrap_or(""))
        .collect();
    let unique: BTreeSet<String> = keys.iter().map(|k| (*k).to_owned()).collect();
    assert_eq!(
        keys.len(),
        unique.len(),
        "a dead letter twice:\n{dead_letters}"
    );
    assert_eq!(unique, rejected);
    for letter in &letters {
        assert!(
            letter.contains("|fails `reading between 0 and 100` (reading = "),
            "{letter}"
        );
    }

    // verify does not hold transformed tables to their source.
    let verify = setup.run(&["verify"]);
    let printed = String::from_utf8_lossy(&verify.stdout);
    assert!(verify.status.success(), "{printed}");
    assert!(
        printed.contains(&format!(
            "skip  {}.orders: transformed on the way (transforms.0, transforms.1): not compared",
            setup.shop
        )),
        "{printed}"
    );

    // Masked values appear nowhere: not in any target table, not in the
    // dead letters, not in the logs.
    let everything = Postgres::shared()
        .sql(
            &setup.dwh,
            "SELECT string_agg(t::text, E'\\n') FROM (\
               SELECT o::text AS t FROM raw.orders o UNION ALL \
               SELECT c::text FROM raw.customers c UNION ALL \
               SELECT r::text FROM raw.readings r UNION ALL \
               SELECT d.error || convert_from(d.value, 'UTF8') FROM raw._ws_dead_letters d) x",
        )
        .expect("target text");
    for (place, text) in [("the target", &everything), ("the logs", &logs)] {
        for secret in ["secret-", "🚚", "note "] {
            assert!(
                !text.contains(secret),
                "`{secret}` appears in {place}:\n{}",
                &text[..text.len().min(4000)]
            );
        }
    }
}

/// A child's stdout and stderr, after it ended.
fn output_of(child: Child) -> String {
    let output = child.wait_with_output().expect("wait");
    String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr)
}

/// Waits until every target table equals its source table passed through
/// the transforms, computed in SQL on each side.
fn wait_for_target(setup: &Setup, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let diffs = differences(setup);
        if diffs.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the target never matched the source:\n{}",
            diffs.join("\n")
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn differences(setup: &Setup) -> Vec<String> {
    let maria = |sql: &str| {
        MariaDb::shared()
            .sql(&format!("USE {}; {sql}", setup.shop))
            .expect("source query")
    };
    let pg = |sql: &str| {
        Postgres::shared()
            .sql(&setup.dwh, sql)
            .unwrap_or_else(|e| format!("(no target yet: {e})"))
    };
    let mut diffs = Vec::new();
    let mut compare = |table: &str, expected: String, actual: String| {
        if expected != actual {
            let (e, a): (BTreeSet<&str>, BTreeSet<&str>) =
                (expected.lines().collect(), actual.lines().collect());
            let missing: Vec<&&str> = e.difference(&a).take(5).collect();
            let extra: Vec<&&str> = a.difference(&e).take(5).collect();
            diffs.push(format!(
                "{table}: missing {missing:?}, unexpected {extra:?}"
            ));
        }
    };
    compare(
        "orders",
        maria(
            "SELECT CONCAT_WS('|', id, customer_id, amount, status, \
               DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s.%f'), \
               IF(note IS NULL, 'NULL', '***'), amount * 1.2, \
               DATE_FORMAT(created_at, '%Y-%m-%d 00:00:00')) \
             FROM orders WHERE status <> 'cancelled' ORDER BY id",
        ),
        pg("SELECT concat_ws('|', id, customer_id, amount, status, \
               to_char(created_at, 'YYYY-MM-DD HH24:MI:SS.US'), \
               coalesce(note, 'NULL'), amount_with_vat, \
               to_char(order_day, 'YYYY-MM-DD HH24:MI:SS')) \
             FROM raw.orders ORDER BY id"),
    );
    let customers: String =
        maria("SELECT CONCAT_WS('|', id, name, balance) FROM customers ORDER BY id")
            .lines()
            .map(|line| {
                let mut parts: Vec<String> = line.split('|').map(str::to_owned).collect();
                parts[1] = watershed_transforms::mask::hash(MASK_KEY.as_bytes(), &parts[1]);
                parts.join("|") + "\n"
            })
            .collect();
    compare(
        "customers",
        customers,
        pg("SELECT concat_ws('|', id, name, balance) FROM raw.customers ORDER BY id"),
    );
    let readings: String = maria(
        "SELECT CONCAT_WS('|', id, reading, label) FROM readings \
         WHERE reading BETWEEN 0 AND 100 ORDER BY id",
    )
    .lines()
    .map(|line| {
        let mut parts: Vec<String> = line.split('|').map(str::to_owned).collect();
        parts[2] = watershed_transforms::mask::hash(MASK_KEY.as_bytes(), &parts[2]);
        parts.join("|") + "\n"
    })
    .collect();
    compare(
        "readings",
        readings,
        pg("SELECT concat_ws('|', id, reading, label) FROM raw.readings ORDER BY id"),
    );
    diffs
}

#[test]
fn a_transform_the_source_table_does_not_fit_stops_with_exit_2_naming_it() {
    let setup = Setup::with(
        "",
        "transforms:\n  - { table: \"SHOP.orders\", filter: \"shipping_cost > 0\" }\n",
    );
    setup.source(&Workload::new(3).batch(20));
    let output = setup.run(&["run"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("shop.yaml: line 7: transforms.0.filter: table ")
            && stderr.contains("`shipping_cost > 0`: no column `shipping_cost`"),
        "{stderr}"
    );
    assert_eq!(setup.target_count("orders"), -1, "nothing was written");
}
