//! Finding the reference implementation, `dbml2sql` from @dbml/cli, and
//! running it. Looked up in order: `$DBML2SQL`, `dbml2sql` on `PATH`,
//! then `~/.cache/watershed/dbml/node_modules/.bin/dbml2sql` (where
//! `npm install --prefix ~/.cache/watershed/dbml @dbml/cli` puts it).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The `dbml2sql` executable, or `None` (and a message saying how to get
/// it) when it is not installed.
pub fn find() -> Option<PathBuf> {
    let from_env = std::env::var_os("DBML2SQL").map(PathBuf::from);
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("dbml2sql"))
            .find(|candidate| candidate.is_file())
    });
    let cached = std::env::var_os("HOME")
        .map(|home| PathBuf::from(home).join(".cache/watershed/dbml/node_modules/.bin/dbml2sql"));
    let found = from_env
        .into_iter()
        .chain(on_path)
        .chain(cached)
        .find(|candidate| candidate.is_file());
    if found.is_none() {
        println!(
            "skipped: dbml2sql not found ($DBML2SQL, PATH, ~/.cache/watershed/dbml); \
             install it with `npm install --prefix ~/.cache/watershed/dbml @dbml/cli`"
        );
    }
    found
}

/// `dbml2sql FILE --postgres|--mysql`.
pub fn run(binary: &Path, file: &Path, flag: &str) -> String {
    run_paths(binary, &[file.to_path_buf()], flag)
}

fn run_paths(binary: &Path, files: &[PathBuf], flag: &str) -> String {
    // It writes a dbml-error.log into its working directory, even on success.
    let output = Command::new(binary)
        .current_dir(std::env::temp_dir())
        .args(files)
        .arg(flag)
        .output()
        .expect("dbml2sql runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success() && !stdout.contains("ERROR"),
        "dbml2sql failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The table of the separator file [`run_many`] puts between inputs.
const SEPARATOR: &str = "corpus_separator_5f0c";

/// `dbml2sql FILES… --postgres|--mysql` in one process (node starts in
/// about two seconds, the conversion takes milliseconds), the output
/// split back into one script per file. dbml2sql prints the files one
/// after another without a mark, so a one-table separator file goes
/// between them and its `CREATE TABLE` is cut out.
pub fn run_many(binary: &Path, files: &[PathBuf], flag: &str) -> Vec<String> {
    let separator = std::env::temp_dir().join(format!("{SEPARATOR}_{}.dbml", std::process::id()));
    std::fs::write(&separator, format!("Table {SEPARATOR} {{\n  x int\n}}\n"))
        .expect("separator file is written");
    let mut inputs = Vec::new();
    for file in files {
        inputs.push(file.clone());
        inputs.push(separator.clone());
    }
    let output = run_paths(binary, &inputs, flag);
    let mut scripts = Vec::new();
    let mut rest = output.as_str();
    while let Some(at) = rest.find(SEPARATOR) {
        let line_start = rest[..at].rfind('\n').map_or(0, |i| i + 1);
        scripts.push(rest[..line_start].to_owned());
        let end = rest[at..].find(");").map_or(rest.len(), |i| at + i + 2);
        rest = &rest[end..];
    }
    assert_eq!(scripts.len(), files.len(), "one script per file:\n{output}");
    scripts
}

/// Makes dbml2sql's MySQL output acceptable to MariaDB, and says what it
/// changed: an unnamed index on a schema-qualified table gets a name like
/// `` ``auth`.sessions_index_1` `` (a syntax error), so the name is made
/// plain; MariaDB has no expression indexes, so those are dropped (as
/// watershed leaves them out too); `gen_random_uuid()` becomes `uuid()`.
pub fn repair_for_mariadb(sql: &str) -> String {
    sql.lines()
        .filter(|line| {
            !(line.starts_with("CREATE") && line.contains("INDEX") && line.contains("(("))
        })
        // dbml2sql writes PostgreSQL's uuid function into MySQL DDL,
        // which MariaDB refuses; watershed writes MySQL's.
        .map(|line| line.replace("gen_random_uuid()", "uuid()"))
        .map(|line| {
            if let Some(rest) = line.strip_prefix("CREATE INDEX ``") {
                let name = rest
                    .split('`')
                    .nth(1)
                    .unwrap_or_default()
                    .trim_start_matches('.');
                let after = rest.split_once("` ON ").map_or("", |(_, a)| a);
                format!("CREATE INDEX `{name}` ON {after}")
            } else if let Some(rest) = line.strip_prefix("CREATE UNIQUE INDEX ``") {
                let name = rest
                    .split('`')
                    .nth(1)
                    .unwrap_or_default()
                    .trim_start_matches('.');
                let after = rest.split_once("` ON ").map_or("", |(_, a)| a);
                format!("CREATE UNIQUE INDEX `{name}` ON {after}")
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Puts `prefix` before the database names dbml2sql writes for MySQL
/// (`` `auth`.`users` ``, `` CREATE SCHEMA `auth` ``), so that tests
/// sharing one server do not meet.
pub fn prefix_schemas(sql: &str, schemas: &[String], prefix: &str) -> String {
    let mut out = sql.to_owned();
    for schema in schemas {
        out = out
            .replace(&format!("`{schema}`."), &format!("`{prefix}{schema}`."))
            .replace(
                &format!("SCHEMA `{schema}`"),
                &format!("SCHEMA `{prefix}{schema}`"),
            );
    }
    out
}
