//! `cargo bench -p watershed-schema --bench dbml`: parse, check and write
//! PostgreSQL DDL for a generated 2,000-table DBML file, against
//! `dbml2sql --postgres` (@dbml/cli) on the same file.
//!
//! The file is generated here, deterministically: 40 schemas, 60 enums,
//! 2,000 tables of 7 to 19 columns of varied types with defaults and notes,
//! composite primary keys, unique, composite and hash indexes, inline and
//! standalone refs (with actions) to earlier tables, and TableGroups.
//! Ours is timed in-process (median of several runs) and its peak RSS is
//! the process's VmHWM; dbml2sql is timed as a process (wall time, max RSS
//! from `/usr/bin/time` when present), and its start-up on a one-table
//! file is reported too, so the ratio can be read without it.
//! `WATERSHED_BENCH_TABLES` changes the table count.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use watershed_schema::dbml;
use watershed_schema::ddl::{DdlOptions, Dialect, generate};

const SCHEMAS: usize = 40;
const ENUMS: usize = 60;
const RUNS: usize = 7;

fn main() {
    let tables = std::env::var("WATERSHED_BENCH_TABLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let text = dbml_file(tables);
    let path = std::env::temp_dir().join(format!("watershed_bench_{tables}_tables.dbml"));
    if let Err(error) = std::fs::write(&path, &text) {
        eprintln!("cannot write {}: {error}", path.display());
        std::process::exit(1);
    }
    println!(
        "DBML file: {} tables, {} lines, {:.1} MB ({})",
        tables,
        text.lines().count(),
        text.len() as f64 / 1e6,
        path.display()
    );
    let before = vm_hwm_kb();
    let (ours, sql_bytes) = time_ours(&text, tables);
    let peak = vm_hwm_kb();
    println!(
        "watershed: parse + check + PostgreSQL DDL: median {:.1} ms, best {:.1} ms ({RUNS} runs, {:.1} MB of SQL)",
        ms(median(&ours)),
        ms(ours[0]),
        sql_bytes as f64 / 1e6
    );
    println!(
        "watershed: peak RSS (VmHWM) {:.1} MB ({:.1} MB before parsing, the text included)",
        peak.unwrap_or(0) as f64 / 1024.0,
        before.unwrap_or(0) as f64 / 1024.0
    );
    compare_with_dbml2sql(&path, median(&ours));
}

/// Runs parse + check + generate `RUNS` times; the sorted durations and
/// the SQL's size.
fn time_ours(text: &str, tables: usize) -> (Vec<Duration>, usize) {
    let mut times = Vec::new();
    let mut size = 0;
    for _ in 0..RUNS {
        let started = Instant::now();
        let doc = match dbml::parse("bench.dbml", text) {
            Ok(doc) => doc,
            Err(errors) => {
                eprintln!("the generated file does not parse:\n{errors}");
                std::process::exit(1);
            }
        };
        let sql = generate(&doc, Dialect::Postgres, &DdlOptions::default());
        times.push(started.elapsed());
        let created = sql.matches("CREATE TABLE").count();
        assert_eq!(created, tables, "one CREATE TABLE per table");
        size = sql.len();
    }
    times.sort();
    (times, size)
}

fn compare_with_dbml2sql(path: &Path, ours: Duration) {
    let Some(binary) = find_dbml2sql() else {
        println!(
            "dbml2sql: not found ($DBML2SQL, PATH, ~/.cache/watershed/dbml); no ratio \
             (`npm install --prefix ~/.cache/watershed/dbml @dbml/cli`)"
        );
        return;
    };
    let tiny = std::env::temp_dir().join("watershed_bench_one_table.dbml");
    if std::fs::write(&tiny, "Table t {\n  id int [pk]\n}\n").is_err() {
        return;
    }
    let Some(startup) = run_dbml2sql(&binary, &tiny) else {
        return;
    };
    let mut runs: Vec<(Duration, Option<u64>)> =
        (0..3).filter_map(|_| run_dbml2sql(&binary, path)).collect();
    if runs.is_empty() {
        return;
    }
    runs.sort();
    let (theirs, rss) = runs[runs.len() / 2];
    println!(
        "dbml2sql --postgres: median {:.0} ms wall ({} runs), max RSS {}; start-up on a one-table file {:.0} ms",
        ms(theirs),
        runs.len(),
        rss.map_or("unknown".to_owned(), |kb| format!(
            "{:.1} MB",
            kb as f64 / 1024.0
        )),
        ms(startup.0)
    );
    let without_startup = theirs.saturating_sub(startup.0);
    println!(
        "ratio: {:.0}x faster (wall time); {:.0}x without dbml2sql's start-up",
        theirs.as_secs_f64() / ours.as_secs_f64(),
        without_startup.as_secs_f64() / ours.as_secs_f64()
    );
}

/// One `dbml2sql FILE --postgres`: wall time and, through `/usr/bin/time`
/// when it exists, max RSS in KiB.
fn run_dbml2sql(binary: &Path, file: &Path) -> Option<(Duration, Option<u64>)> {
    let timer = Path::new("/usr/bin/time");
    let mut command = if timer.is_file() {
        let mut c = Command::new(timer);
        c.args(["-f", "maxrss_kb=%M"]).arg(binary);
        c
    } else {
        Command::new(binary)
    };
    command
        .current_dir(std::env::temp_dir())
        .arg(file)
        .arg("--postgres");
    let started = Instant::now();
    let output = command.output().ok()?;
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() || stdout.contains("ERROR") {
        eprintln!(
            "dbml2sql failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        return None;
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let rss = stderr
        .lines()
        .find_map(|l| l.strip_prefix("maxrss_kb="))
        .and_then(|v| v.trim().parse().ok());
    Some((elapsed, rss))
}

fn find_dbml2sql() -> Option<PathBuf> {
    let from_env = std::env::var_os("DBML2SQL").map(PathBuf::from);
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("dbml2sql"))
            .find(|candidate| candidate.is_file())
    });
    let cached = std::env::var_os("HOME")
        .map(|home| PathBuf::from(home).join(".cache/watershed/dbml/node_modules/.bin/dbml2sql"));
    from_env
        .into_iter()
        .chain(on_path)
        .chain(cached)
        .find(|candidate| candidate.is_file())
}

fn vm_hwm_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(sorted: &[Duration]) -> Duration {
    sorted[sorted.len() / 2]
}

/// The generated DBML: enums, then tables, then standalone refs and
/// groups. Table `n` lives in schema `s<n % SCHEMAS>`.
fn dbml_file(tables: usize) -> String {
    let mut out = String::from(
        "Project bench {\n  database_type: 'PostgreSQL'\n  Note: 'Generated by the dbml bench'\n}\n\n",
    );
    for e in 0..ENUMS {
        let _ = writeln!(out, "Enum s{}.state_{e} {{", e % SCHEMAS);
        for v in 0..3 + e % 5 {
            let note = if v == 0 { " [note: 'the first']" } else { "" };
            let _ = writeln!(out, "  v{v}{note}");
        }
        out.push_str("}\n\n");
    }
    let mut refs = String::new();
    for n in 0..tables {
        table(&mut out, &mut refs, n);
    }
    out.push_str(&refs);
    for g in 0..tables / 100 {
        let _ = writeln!(out, "\nTableGroup group_{g} {{");
        for n in g * 100..g * 100 + 10 {
            let _ = writeln!(out, "  {}", table_name(n));
        }
        out.push_str("}\n");
    }
    out
}

fn table_name(n: usize) -> String {
    format!("s{}.table_{n}", n % SCHEMAS)
}

/// Column types by position, with a default each may carry.
const COLUMNS: &[(&str, &str)] = &[
    ("varchar(255)", "[not null, default: 'none']"),
    ("int", "[not null, default: 0]"),
    ("decimal(12,2)", "[default: 0.00]"),
    ("boolean", "[not null, default: false]"),
    ("timestamp", "[not null, default: `now()`]"),
    ("text", "[note: 'Free text, it\\'s long']"),
    ("date", ""),
    ("bigint", "[default: -1]"),
    ("char(3)", "[default: 'EUR']"),
    ("json", ""),
    ("uuid", ""),
    ("smallint", "[default: null]"),
    ("float", ""),
];

/// Table `n`: an id (or a composite key every seventh table), 6–15
/// columns, a ref to an earlier table inline or standalone, indexes.
fn table(out: &mut String, refs: &mut String, n: usize) {
    let name = table_name(n);
    let _ = writeln!(
        out,
        "Table {name} [headercolor: #3498DB, note: 'Table number {n}'] {{"
    );
    let composite = n % 7 == 3;
    if composite {
        out.push_str("  id bigint\n  part int\n");
    } else {
        out.push_str("  id bigint [pk, increment]\n");
    }
    if n.is_multiple_of(10) {
        let e = n % ENUMS;
        let _ = writeln!(out, "  state s{}.state_{e} [not null]", e % SCHEMAS);
    }
    let columns = 6 + n % 10;
    for c in 0..columns {
        let (data_type, settings) = COLUMNS[(n + c) % COLUMNS.len()];
        let _ = writeln!(out, "  col_{c} {data_type} {settings}");
    }
    if n > 0 {
        let mut target = (n * 7919 + 13) % n;
        if target % 7 == 3 {
            // Tables with a composite key have no unique `id`.
            target -= 1;
        }
        if n.is_multiple_of(2) {
            let _ = writeln!(out, "  parent_id bigint [ref: > {}.id]", table_name(target));
        } else {
            out.push_str("  parent_id bigint\n");
            let _ = writeln!(
                refs,
                "Ref fk_{n}: {name}.parent_id > {}.id [delete: cascade, update: no action]",
                table_name(target)
            );
        }
    }
    out.push_str("\n  indexes {\n");
    if composite {
        out.push_str("    (id, part) [pk]\n");
    }
    let _ = writeln!(out, "    (col_0, col_1) [unique, name: 'table_{n}_pair']");
    out.push_str("    col_2\n");
    if n.is_multiple_of(3) {
        out.push_str("    col_3 [type: hash]\n");
    }
    out.push_str("  }\n}\n\n");
}
