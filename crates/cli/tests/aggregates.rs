//! Aggregates and stale keys end to end through the `watershed` binary and
//! SIGKILLs: the hourly heart-rate table equals a `GROUP BY` over exactly
//! the rows the target holds, and the stale customers are exactly the
//! silences in those rows, in PostgreSQL and SQLite; a MySQL source's
//! updates and deletes retract what they replace (the current minimum and
//! maximum among them).

#[path = "support/shop.rs"]
#[allow(dead_code)]
mod shop;
#[allow(dead_code)]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use shop::{Workload, server_id};
use support::watershed;
use watershed_testkit::{MariaDb, Postgres};

const AGGREGATE: &str = "\
aggregates:
  heartbeats_hourly:
    from: heartbeat
    window: { tumbling: 1h, on: ts }
    group_by: [customer_id]
    measures: { readings: \"count(*)\", avg_hr: \"avg(heart_rate)\", min_hr: \"min(heart_rate)\", max_hr: \"max(heart_rate)\", sd_hr: \"stddev(heart_rate)\", total: \"sum(heart_rate)\" }
    lateness: 10m
stale:
  heartbeat: { key: customer_id, on: ts, after: 2m, table: stale_customers }
";

fn spawn(file: &std::path::Path) -> Child {
    watershed()
        .args([
            "run",
            "-c",
            file.to_str().expect("utf-8"),
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn watershed")
}

/// Runs the pipeline, killing it `kills` times at random moments, then
/// lets a last run finish (the generator's count ends it).
fn run_with_kills(file: &std::path::Path, kills: usize, seed: u64) {
    let mut rng = Workload::new(seed);
    for _ in 0..kills {
        let mut child = spawn(file);
        std::thread::sleep(Duration::from_millis(150 + rng.below(500)));
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
    }
    let output = spawn(file).wait_with_output().expect("last run");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A heartbeat generator with 300 customers over a few simulated days.
fn generator(count: u64) -> String {
    format!(
        "source: {{ kind: generator, stream: heartbeat, seed: 5, count: {count}, customers: 300, interval_ms: 100 }}\n\
         defaults: {{ batch: {{ max_rows: 2000, max_delay_ms: 20 }} }}\n"
    )
}

#[test]
fn hourly_aggregates_in_postgres_equal_a_group_by_after_kills() {
    let pg = Postgres::shared();
    let db = pg.create_database("agg").expect("database");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("hb.yaml");
    let text = format!(
        "name: hb\n{}sink: {{ kind: postgres, url: \"{}\", schema: raw }}\n{AGGREGATE}",
        generator(120_000),
        pg.url(&db)
    );
    std::fs::write(&file, text).expect("write pipeline");
    run_with_kills(&file, 10, 3);
    let expected = pg
        .sql(
            &db,
            "SELECT concat_ws('|', customer_id, date_trunc('hour', ts), count(*), avg(heart_rate), \
               min(heart_rate), max(heart_rate), coalesce(stddev(heart_rate)::text, 'NULL'), \
               sum(heart_rate)) \
             FROM raw.heartbeat GROUP BY customer_id, date_trunc('hour', ts) ORDER BY 1",
        )
        .expect("group by");
    let actual = pg
        .sql(
            &db,
            "SELECT concat_ws('|', customer_id, window_start, readings, avg_hr, min_hr, max_hr, \
               coalesce(sd_hr::text, 'NULL'), total) \
             FROM raw.heartbeats_hourly ORDER BY 1",
        )
        .expect("aggregates");
    assert_eq!(
        pg.sql(&db, "SELECT count(*) FROM raw.heartbeat")
            .unwrap()
            .trim(),
        "120000"
    );
    assert!(expected.lines().count() > 1000, "{expected}");
    assert_same_lines(&expected, &actual);
    // No reading was late: the generator's clock only moves forward.
    let letters = pg
        .sql(&db, "SELECT count(*) FROM raw._ws_dead_letters")
        .unwrap_or_default();
    assert!(matches!(letters.trim(), "" | "0"), "{letters}");

    let micros = |column: &str| format!("(extract(epoch from {column}) * 1000000)::bigint");
    let readings: Vec<(i64, i64)> = pg
        .sql(
            &db,
            &format!(
                "SELECT customer_id || ' ' || {} FROM raw.heartbeat ORDER BY event_id",
                micros("ts")
            ),
        )
        .expect("readings")
        .lines()
        .map(|line| {
            let (c, t) = line.split_once(' ').expect("two fields");
            (c.parse().expect("id"), t.parse().expect("micros"))
        })
        .collect();
    let expected = expected_episodes(&readings, 120_000_000);
    let actual: BTreeSet<Episode> = pg
        .sql(
            &db,
            &format!(
                "SELECT concat_ws(' ', customer_id, {}, {}, coalesce({}::text, '-')) \
                 FROM raw.stale_customers",
                micros("last_seen"),
                micros("detected_at"),
                micros("cleared_at")
            ),
        )
        .expect("stale customers")
        .lines()
        .map(|line| {
            let f: Vec<&str> = line.split(' ').collect();
            (
                f[0].parse().expect("id"),
                f[1].parse().expect("last_seen"),
                f[2].parse().expect("detected_at"),
                f[3].parse().ok(),
            )
        })
        .collect();
    assert!(expected.len() > 100, "{}", expected.len());
    assert_eq!(expected, actual);
}

/// (customer, last_seen, detected_at, cleared_at), in microseconds.
type Episode = (i64, i64, i64, Option<i64>);

/// The silences of more than `after` in `readings` (customer, event time,
/// in stream order), found the simplest way: after each reading, every
/// customer the newest time has left behind by more than `after` is
/// stale, until it sends again.
fn expected_episodes(readings: &[(i64, i64)], after: i64) -> BTreeSet<Episode> {
    let mut last: BTreeMap<i64, i64> = BTreeMap::new();
    let mut open: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    let mut episodes = BTreeSet::new();
    let mut clock = i64::MIN;
    for &(customer, t) in readings {
        clock = clock.max(t);
        for (&c, &seen) in &last {
            if seen + after < clock && !open.contains_key(&c) {
                open.insert(c, (seen, clock));
            }
        }
        if let Some((seen, detected)) = open.remove(&customer) {
            episodes.insert((customer, seen, detected, Some(t)));
        }
        let seen = last.entry(customer).or_insert(t);
        *seen = (*seen).max(t);
    }
    for (c, (seen, detected)) in open {
        episodes.insert((c, seen, detected, None));
    }
    episodes
}

#[test]
fn hourly_aggregates_in_sqlite_equal_a_group_by_after_kills() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("hb.yaml");
    let db = dir.path().join("hb.db");
    let text = format!(
        "name: hb\n{}sink: {{ kind: sqlite, path: \"{}\" }}\n{AGGREGATE}",
        generator(60_000),
        db.display()
    );
    std::fs::write(&file, text).expect("write pipeline");
    run_with_kills(&file, 10, 4);
    let conn = rusqlite::Connection::open(&db).expect("open");
    // SQLite has no stddev (nor sqrt): the variance from sums of squares,
    // against the square of ours, to 1e-9.
    let mut query = conn
        .prepare(
            "SELECT a.customer_id, a.window_start, a.readings, g.n, a.min_hr, g.lo, a.max_hr, \
               g.hi, CAST(a.avg_hr AS REAL), g.mean, \
               CAST(a.sd_hr AS REAL) * CAST(a.sd_hr AS REAL), g.variance, \
               CAST(a.total AS INTEGER), g.total \
             FROM heartbeats_hourly a FULL JOIN ( \
               SELECT customer_id, strftime('%Y-%m-%dT%H:00:00Z', ts) AS hour, count(*) AS n, \
                 min(heart_rate) AS lo, max(heart_rate) AS hi, avg(heart_rate) AS mean, \
                 sum(heart_rate) AS total, CASE WHEN count(*) > 1 THEN \
                   (count(*) * sum(heart_rate * heart_rate) - sum(heart_rate) * sum(heart_rate)) \
                   / (count(*) * (count(*) - 1.0)) END AS variance \
               FROM heartbeat GROUP BY 1, 2) g \
             ON a.customer_id = g.customer_id AND a.window_start = g.hour",
        )
        .expect("prepare");
    let rows: Vec<Vec<rusqlite::types::Value>> = query
        .query_map([], |r| (0..14).map(|i| r.get(i)).collect())
        .and_then(|rows| rows.collect())
        .expect("compare");
    assert!(rows.len() > 500, "{}", rows.len());
    use rusqlite::types::Value as V;
    let close = |a: &V, b: &V| match (a, b) {
        (V::Real(a), V::Real(b)) => (a - b).abs() <= 1e-9 * b.abs().max(1.0),
        (V::Null, V::Null) => true,
        _ => false,
    };
    for row in &rows {
        let exact = row[2] == row[3] && row[4] == row[5] && row[6] == row[7] && row[12] == row[13];
        assert!(
            exact && close(&row[8], &row[9]) && close(&row[10], &row[11]),
            "aggregate differs from the GROUP BY: {row:?}"
        );
    }
    let micros = |text: String| {
        watershed_events::Timestamp::parse_rfc3339(&text)
            .expect("an RFC 3339 time")
            .micros
    };
    let mut query = conn
        .prepare("SELECT customer_id, ts FROM heartbeat ORDER BY event_id")
        .expect("prepare");
    let readings: Vec<(i64, i64)> = query
        .query_map([], |r| Ok((r.get(0)?, micros(r.get(1)?))))
        .and_then(|rows| rows.collect())
        .expect("readings");
    let mut query = conn
        .prepare("SELECT customer_id, last_seen, detected_at, cleared_at FROM stale_customers")
        .expect("prepare");
    let actual: BTreeSet<Episode> = query
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                micros(r.get(1)?),
                micros(r.get(2)?),
                r.get::<_, Option<String>>(3)?.map(micros),
            ))
        })
        .and_then(|rows| rows.collect())
        .expect("stale customers");
    let expected = expected_episodes(&readings, 120_000_000);
    assert!(expected.len() > 50, "{}", expected.len());
    assert_eq!(expected, actual);
}

#[test]
fn updates_and_deletes_from_mysql_retract_what_they_replace() {
    let maria = MariaDb::shared();
    let pg = Postgres::shared();
    let shop = maria.create_database("hr").expect("source database");
    let dwh = pg.create_database("hr").expect("target database");
    maria
        .sql(&format!(
            "CREATE TABLE {shop}.readings (id BIGINT PRIMARY KEY, customer_id INT NOT NULL, \
               ts DATETIME(6) NOT NULL, heart_rate INT)"
        ))
        .expect("create table");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("hr.yaml");
    let text = format!(
        "name: hr\n\
         source: {{ kind: mysql, url: \"{}\", server_id: {}, tables: [\"{shop}.readings\"] }}\n\
         sink: {{ kind: postgres, url: \"{}\", schema: raw }}\n\
         defaults: {{ batch: {{ max_rows: 300, max_delay_ms: 20 }} }}\n\
         retry: {{ initial_backoff_ms: 100, max_backoff_ms: 1000 }}\n\
         aggregates:\n  \
           readings_hourly:\n    \
             from: \"{shop}.readings\"\n    \
             window: {{ tumbling: 1h, on: ts }}\n    \
             group_by: [customer_id]\n    \
             measures: {{ n: \"count(*)\", rated: \"count(heart_rate)\", lo: \"min(heart_rate)\", hi: \"max(heart_rate)\", mean: \"avg(heart_rate)\", sd: \"stddev(heart_rate)\", var: \"variance(heart_rate)\" }}\n",
        maria.url(""),
        server_id(),
        pg.url(&dwh)
    );
    std::fs::write(&file, text).expect("write pipeline");
    let mut rng = Workload::new(11);
    let mut next = 1;
    let mut statements = |n: usize, rng: &mut Workload| -> String {
        let mut sql = format!("USE {shop};");
        for _ in 0..n {
            let existing = (next - 1).max(1);
            let pick = 1 + rng.below(existing as u64);
            sql.push_str(&match rng.below(10) {
                0..=4 => {
                    let id = next;
                    next += 1;
                    format!(
                        "INSERT INTO readings VALUES ({id}, {}, '2024-03-0{} {:02}:{:02}:00', {});",
                        rng.below(5),
                        1 + rng.below(2),
                        rng.below(6),
                        rng.below(60),
                        if rng.below(8) == 0 {
                            "NULL".into()
                        } else {
                            (40 + rng.below(120)).to_string()
                        }
                    )
                }
                5 => format!("UPDATE readings SET heart_rate = heart_rate + 50 WHERE id = {pick};"),
                // Delete the current minimum or maximum of a group.
                6 => format!(
                    "DELETE FROM readings WHERE customer_id = (SELECT c FROM (SELECT customer_id c \
                     FROM readings WHERE id = {pick}) x) ORDER BY heart_rate {} LIMIT 1;",
                    if rng.below(2) == 0 { "ASC" } else { "DESC" }
                ),
                7 => format!("UPDATE readings SET ts = ts + INTERVAL 1 HOUR WHERE id = {pick};"),
                8 => format!(
                    "UPDATE readings SET customer_id = {} WHERE id = {pick};",
                    rng.below(5)
                ),
                _ => format!("DELETE FROM readings WHERE id = {pick};"),
            });
        }
        sql
    };
    maria.sql(&statements(400, &mut rng)).expect("seed rows");
    for round in 0..10 {
        let mut child = spawn(&file);
        std::thread::sleep(Duration::from_millis(200 + rng.below(500)));
        if round % 2 == 0 {
            maria.sql(&statements(150, &mut rng)).expect("workload");
        }
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
    }
    let child = spawn(&file);
    maria.sql(&statements(150, &mut rng)).expect("workload");
    let expected = || -> String {
        maria
            .sql(&format!(
                "SELECT CONCAT_WS('|', customer_id, DATE_FORMAT(ts, '%Y-%m-%d %H:00:00'), count(*), \
                   count(heart_rate), IFNULL(min(heart_rate), 'NULL'), IFNULL(max(heart_rate), 'NULL')) \
                 FROM {shop}.readings GROUP BY customer_id, DATE_FORMAT(ts, '%Y-%m-%d %H') ORDER BY 1"
            ))
            .expect("source group by")
    };
    let actual = || -> String {
        pg.sql(
            &dwh,
            "SELECT concat_ws('|', customer_id, to_char(window_start, 'YYYY-MM-DD HH24:MI:SS'), n, \
               rated, coalesce(lo::text, 'NULL'), coalesce(hi::text, 'NULL')) \
             FROM raw.readings_hourly ORDER BY 1",
        )
        .unwrap_or_default()
    };
    let deadline = Instant::now() + Duration::from_secs(90);
    while expected() != actual() {
        if Instant::now() > deadline {
            assert_same_lines(&expected(), &actual());
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    // The exact measures equal PostgreSQL's over the rows the target holds.
    let group_by = pg
        .sql(
            &dwh,
            "SELECT concat_ws('|', customer_id, date_trunc('hour', ts), avg(heart_rate), \
               coalesce(stddev(heart_rate)::text, 'NULL'), coalesce(variance(heart_rate)::text, 'NULL')) \
             FROM raw.readings GROUP BY customer_id, date_trunc('hour', ts) ORDER BY 1",
        )
        .expect("target group by");
    let kept = pg
        .sql(
            &dwh,
            "SELECT concat_ws('|', customer_id, window_start, mean, coalesce(sd::text, 'NULL'), \
               coalesce(var::text, 'NULL')) FROM raw.readings_hourly ORDER BY 1",
        )
        .expect("aggregates");
    assert_same_lines(&group_by, &kept);
    let stop = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(stop.success());
    let output = child.wait_with_output().expect("wait");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn a_wall_clock_watch_finds_keys_silent_while_nothing_arrives() {
    let setup = shop::Setup::with(
        "",
        "stale:\n  readings: { key: customer_id, on: ts, after: 2s, table: silent, clock: wall }\n",
    );
    setup.source(
        "CREATE TABLE readings (id BIGINT PRIMARY KEY, customer_id INT NOT NULL, ts DATETIME(6) NOT NULL);",
    );
    let addr = shop::free_addr();
    let child = setup.spawn_on(&addr);
    setup.source("INSERT INTO readings VALUES (1, 7, UTC_TIMESTAMP(6)), (2, 8, UTC_TIMESTAMP(6));");
    // Nothing more arrives: both go stale by the wall clock alone.
    let silent = |sql: &str| {
        Postgres::shared()
            .sql(&setup.dwh, sql)
            .unwrap_or_default()
            .trim()
            .to_owned()
    };
    support::wait_until("two silent customers", Duration::from_secs(30), || {
        silent("SELECT count(*) FROM raw.silent WHERE cleared_at IS NULL") == "2"
    });
    let status = shop::http_get(&addr, "/api/status");
    assert!(status.contains("\"silent\":{\"count\":2"), "{status}");
    assert!(
        shop::http_get(&addr, "/metrics")
            .contains("watershed_stale_keys{pipeline=\"shop\",table=\"silent\"} 2"),
        "stale keys gauge"
    );
    setup.source("INSERT INTO readings VALUES (3, 7, UTC_TIMESTAMP(6));");
    support::wait_until("customer 7 back", Duration::from_secs(30), || {
        silent("SELECT customer_id FROM raw.silent WHERE cleared_at IS NOT NULL") == "7"
    });
    shop::stop_cleanly(child);
}

fn assert_same_lines(expected: &str, actual: &str) {
    if expected == actual {
        return;
    }
    let e: std::collections::BTreeSet<&str> = expected.lines().collect();
    let a: std::collections::BTreeSet<&str> = actual.lines().collect();
    let missing: Vec<&&str> = e.difference(&a).take(8).collect();
    let extra: Vec<&&str> = a.difference(&e).take(8).collect();
    panic!(
        "{} expected rows, {} actual; missing {missing:?}; unexpected {extra:?}",
        e.len(),
        a.len()
    );
}
