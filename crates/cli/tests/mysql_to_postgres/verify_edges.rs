//! `verify` over the edge values of every numeric and temporal type:
//! equal tables pass, and the smallest change to one stored value fails
//! naming its table.

use std::time::Duration;

use watershed_testkit::Postgres;

use crate::shop::{Setup, stop};
use crate::support::wait_until;

/// Integers at their limits, DECIMAL(65,30) with all 30 digits, FLOAT and
/// DOUBLE at their extremes, BIT(1), BIT(64) and BOOL.
const LIMITS: &str = "CREATE TABLE limits (
    id INT PRIMARY KEY, ti TINYINT, tu TINYINT UNSIGNED, si SMALLINT, su SMALLINT UNSIGNED,
    mi MEDIUMINT, mu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED, bi BIGINT, bu BIGINT UNSIGNED,
    d65 DECIMAL(65,30), d0 DECIMAL(20,0), f FLOAT, db DOUBLE, b1 BIT(1), b64 BIT(64), bo BOOL);
  INSERT INTO limits VALUES
  (1, -128, 0, -32768, 0, -8388608, 0, -2147483648, 0, -9223372036854775808, 0,
   -99999999999999999999999999999999999.999999999999999999999999999999, -99999999999999999999,
   -3.402823466e38, -1.7976931348623157e308, b'0', b'0', FALSE),
  (2, 127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295, 9223372036854775807,
   18446744073709551615, 99999999999999999999999999999999999.999999999999999999999999999999,
   99999999999999999999, 3.4e38, 1.7976931348623157e308, b'1',
   b'1111111111111111111111111111111111111111111111111111111111111111', TRUE),
  (3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.000000000000000000000000000001, 100,
   1.175494e-38, 1e-300, b'1',
   b'1000000000000000000000000000000000000000000000000000000000000000', 2),
  (4, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -0.000000000000000000000000000001, 0,
   1.4e-45, 4.9e-324, b'0', b'1', -1),
  (5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1.5, 10, 0.1, 0.30000000000000004, b'1', b'101', 1),
  (6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16777217, 1e-9, b'0', b'0', 0),
  (7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -0.0, 0, -0e0, -0e0, b'0', b'0', 0),
  (8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 123.4, 0, 1e-10, 2.2250738585072014e-308, b'0', b'0', 0),
  (9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 123456.7, 123456789012345680000, b'0', b'0', 0),
  (10, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
   NULL, NULL, NULL);";

/// TIME beyond ±24 h with and without fractions, zero and partly zero
/// DATE and DATETIME values (stored as NULL in the target), year zero.
const TIMES: &str = "CREATE TABLE times (
    id INT PRIMARY KEY, t0 TIME, t6 TIME(6), t1 TIME(1), d DATE, dt DATETIME, dt6 DATETIME(6),
    ts TIMESTAMP(6) NULL);
  INSERT INTO times VALUES
  (1, '-838:59:59', '-838:59:58.999999', '-838:59:58.9', '0000-00-00', '0000-00-00 00:00:00',
   '0000-00-00 00:00:00', '0000-00-00 00:00:00'),
  (2, '838:59:59', '838:59:59.999999', '838:59:59.9', '2020-00-15', '2020-00-15 10:00:00',
   '2020-05-00 00:00:00.5', '2038-01-19 03:14:07.999999'),
  (3, '-00:00:01', '-00:00:01.5', '-00:00:01.5', '2020-05-00', '9999-12-31 23:59:59',
   '9999-12-31 23:59:59.999999', '1970-01-01 00:00:01'),
  (4, '24:00:00', '-00:00:00.000001', '-00:00:00.1', '9999-12-31', '1000-01-01 00:00:00',
   '1000-01-01 00:00:00.000001', '2024-02-29 12:00:00.5'),
  (5, '00:00:00', '00:00:00.000001', '00:00:00.1', '1000-01-01', '2024-02-29 23:59:59',
   '2024-02-29 23:59:59.000001', NULL),
  (6, '-24:00:00', '-100:00:00.5', '100:00:00', '0000-01-01', '0000-01-01 00:00:00',
   '0000-01-01 00:00:00.000001', NULL),
  (7, NULL, NULL, NULL, NULL, NULL, NULL, NULL);";

/// Each column of both tables, to copy the rows again through the binlog.
const COPY: &str = "INSERT INTO limits SELECT id + 100, ti, tu, si, su, mi, mu, i, iu, bi, bu,
    d65, d0, f, db, b1, b64, bo FROM limits WHERE id < 100;
  INSERT INTO times SELECT id + 100, t0, t6, t1, d, dt, dt6, ts FROM times WHERE id < 100;";

/// The smallest changes to a target value: table, column, row, the value
/// the target holds, and the changed one. Rows over 100 came through the
/// binlog.
const CHANGES: &[(&str, &str, u32, &str, &str)] = &[
    (
        "limits",
        "bu",
        2,
        "18446744073709551615",
        "18446744073709551614",
    ),
    (
        "limits",
        "bi",
        1,
        "-9223372036854775808",
        "-9223372036854775807",
    ),
    ("limits", "iu", 102, "4294967295", "4294967294"),
    (
        "limits",
        "d65",
        2,
        "99999999999999999999999999999999999.999999999999999999999999999999",
        "99999999999999999999999999999999999.999999999999999999999999999998",
    ),
    (
        "limits",
        "d65",
        103,
        "0.000000000000000000000000000001",
        "0.000000000000000000000000000002",
    ),
    ("limits", "d0", 103, "100", "1"),
    (
        "limits",
        "d65",
        5,
        "1.5",
        "1.500000000000000000000000000001",
    ),
    // The next double after each value.
    ("limits", "db", 3, "'1e-300'", "'1.0000000000000002e-300'"),
    (
        "limits",
        "db",
        102,
        "'1.7976931348623157e308'",
        "'1.7976931348623155e308'",
    ),
    ("limits", "db", 4, "'4.9e-324'", "'1e-323'"),
    ("limits", "db", 6, "'1e-9'", "'2e-9'"),
    ("limits", "db", 7, "'0'", "'5e-324'"),
    // The next float after each value.
    ("limits", "f", 2, "'3.4e38'", "'3.4000002e38'"),
    ("limits", "f", 103, "'1.175494e-38'", "'1.1754942e-38'"),
    ("limits", "f", 4, "'1.4e-45'", "'3e-45'"),
    ("limits", "f", 5, "'0.1'", "'0.10000001'"),
    ("limits", "b1", 2, "B'1'", "B'0'"),
    (
        "limits",
        "b64",
        2,
        "B'1111111111111111111111111111111111111111111111111111111111111111'",
        "B'1111111111111111111111111111111111111111111111111111111111111110'",
    ),
    ("limits", "bo", 3, "2", "1"),
    (
        "times",
        "t6",
        1,
        "'-838:59:58.999999'",
        "'-838:59:58.999998'",
    ),
    ("times", "t0", 102, "'838:59:59'", "'838:59:58'"),
    ("times", "t6", 3, "'-00:00:01.5'", "'-00:00:01.500001'"),
    ("times", "t1", 4, "'-00:00:00.1'", "'00:00:00.1'"),
    ("times", "d", 1, "NULL", "'0001-01-01'"),
    ("times", "dt", 102, "NULL", "'2020-01-15 10:00:00'"),
    ("times", "d", 6, "'0001-01-01 BC'", "'0002-01-01 BC'"),
    (
        "times",
        "dt6",
        3,
        "'9999-12-31 23:59:59.999999'",
        "'9999-12-31 23:59:59.999998'",
    ),
    (
        "times",
        "ts",
        4,
        "'2024-02-29 12:00:00.5+00'",
        "'2024-02-29 12:00:00.500001+00'",
    ),
];

#[test]
fn verify_passes_edge_values_and_fails_on_their_smallest_change() {
    let setup = Setup::new("");
    setup.source(&format!("SET SESSION sql_mode = ''; {LIMITS} {TIMES}"));
    let child = setup.spawn();
    wait_until("the snapshot", Duration::from_secs(60), || {
        setup.target_count("limits") == 10 && setup.target_count("times") == 7
    });
    setup.source(&format!("SET SESSION sql_mode = ''; {COPY}"));
    wait_until("the stream", Duration::from_secs(60), || {
        setup.target_count("limits") == 20 && setup.target_count("times") == 14
    });
    stop(child);
    assert_verifies(&setup, "the copied edge values");

    // Negative zero is zero.
    target(
        &setup,
        "UPDATE raw.limits SET f = '-0', db = '-0' WHERE id IN (7, 107)",
    );
    assert_verifies(&setup, "negative zero");

    for &(table, column, id, held, changed) in CHANGES {
        let holds =
            format!("SELECT {column} IS NOT DISTINCT FROM {held} FROM raw.{table} WHERE id = {id}");
        assert_eq!(
            target(&setup, &holds),
            "t",
            "{table}.{column} row {id} holds {held}"
        );
        target(
            &setup,
            &format!("UPDATE raw.{table} SET {column} = {changed} WHERE id = {id}"),
        );
        let output = setup.run(&["verify"]);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let named = format!("DIFF  {}.{table} -> raw.{table}", setup.shop);
        assert!(
            output.status.code() == Some(1) && stdout.contains(&named),
            "{table}.{column} row {id}: {held} -> {changed} went unseen:\n{stdout}"
        );
        assert!(
            stdout.contains(&format!("{}:{id}", id.to_string().len())),
            "{stdout}"
        );
        target(
            &setup,
            &format!("UPDATE raw.{table} SET {column} = {held} WHERE id = {id}"),
        );
    }
    assert_verifies(&setup, "the restored values");
}

#[test]
fn verify_expects_the_sinks_zero_date_substitute() {
    let setup = Setup::new(", snapshot: only");
    let text = std::fs::read_to_string(&setup.file)
        .expect("read")
        .replace("schema: raw }", "schema: raw, zero_dates: \"0001-01-01\" }");
    std::fs::write(&setup.file, text).expect("write");
    setup.source(
        "SET SESSION sql_mode = '';
         CREATE TABLE zeros (id INT PRIMARY KEY, d DATE NOT NULL, dt DATETIME(6),
           ts TIMESTAMP(6) NULL);
         INSERT INTO zeros VALUES
           (1, '0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00'),
           (2, '2020-00-15', '2020-05-00 10:11:12.5', NULL),
           (3, '0001-01-01', '0001-01-01 00:00:00', '1970-01-01 00:00:01');",
    );
    let output = setup.run(&["run", "--listen", "127.0.0.1:0"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        target(&setup, "SELECT dt FROM raw.zeros WHERE id = 2"),
        "0001-01-01 10:11:12.5"
    );
    assert_verifies(&setup, "substituted zero dates");
    target(
        &setup,
        "UPDATE raw.zeros SET dt = '0001-01-01 10:11:12.500001' WHERE id = 2",
    );
    let output = setup.run(&["verify"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.code() == Some(1) && stdout.contains("DIFF") && stdout.contains("1:2"),
        "{stdout}"
    );
}

fn assert_verifies(setup: &Setup, what: &str) {
    let output = setup.run(&["verify"]);
    assert!(
        output.status.success(),
        "verify fails on {what}:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn target(setup: &Setup, sql: &str) -> String {
    Postgres::shared()
        .sql(&setup.dwh, sql)
        .expect("target SQL")
        .trim()
        .to_owned()
}
