//! `watershed check` for a MySQL source: reach the server, then one line
//! per setting, privilege and table problem, each failure with its fix.
//! Reads only; never registers as a replica.

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};
use watershed_events::{Check, Position, TableName};

use super::catalog::{list_tables, load_schemas};
use super::config::{MysqlConfig, redact_url};
use super::conn::{Flavor, connect, string_at};
use super::filter::TableFilter;

/// Preflight checks of the source; the first failure that makes the rest
/// meaningless (bad config, unreachable server) ends the list.
pub async fn check(config: &MysqlConfig) -> Vec<Check> {
    let mut checks = Vec::new();
    if let Err(problem) = config.validate() {
        checks.push(Check::fail(
            "source config",
            problem,
            "fix the source keys in the pipeline file",
        ));
        return checks;
    }
    let mut conn = match connect(&config.url).await {
        Ok(conn) => conn,
        Err(e) => {
            checks.push(Check::fail(
                "source reachable",
                format!("{}: {e}", redact_url(&config.url)),
                "check the url, that the server runs, and that it accepts connections from here",
            ));
            return checks;
        }
    };
    checks.push(Check::ok("source reachable", redact_url(&config.url)));
    let flavor = match settings(&mut conn, &mut checks).await {
        Some(flavor) => flavor,
        None => return checks,
    };
    checks.push(privileges(&mut conn).await);
    tables(&mut conn, flavor, config, &mut checks).await;
    checks
}

/// The binlog settings the source needs; the server's flavour.
async fn settings(conn: &mut Conn, checks: &mut Vec<Check>) -> Option<Flavor> {
    let row: Option<mysql_async::Row> = conn
        .query_first(
            "SELECT @@version, CAST(@@log_bin AS CHAR), @@binlog_format, @@binlog_row_image, @@server_id",
        )
        .await
        .ok()
        .flatten();
    let Some(row) = row else {
        checks.push(Check::fail(
            "server settings",
            "could not read them",
            "check the user's privileges",
        ));
        return None;
    };
    let text = |i| string_at(&row, i).unwrap_or_default();
    let version = text(0);
    let flavor = if version.contains("MariaDB") {
        Flavor::MariaDb
    } else {
        Flavor::Mysql
    };
    checks.push(Check::ok("server version", version));
    checks.push(expect(
        "log_bin",
        &text(1),
        &["1", "ON"],
        "start the server with log_bin (e.g. --log-bin=mysql-bin)",
    ));
    checks.push(expect(
        "binlog_format",
        &text(2),
        &["ROW"],
        "SET GLOBAL binlog_format = 'ROW' and set binlog_format=ROW in the server's configuration",
    ));
    checks.push(expect(
        "binlog_row_image",
        &text(3),
        &["FULL"],
        "SET GLOBAL binlog_row_image = 'FULL' and set binlog_row_image=FULL in the server's configuration",
    ));
    let metadata: Option<String> = conn
        .query_first("SELECT @@binlog_row_metadata")
        .await
        .ok()
        .flatten();
    checks.push(match metadata {
        Some(m) if m.eq_ignore_ascii_case("FULL") => Check::ok("binlog_row_metadata", m),
        other => Check::warn(
            "binlog_row_metadata",
            other.unwrap_or_else(|| "not supported by this server".into()),
            "SET GLOBAL binlog_row_metadata = 'FULL': without it column names and enum labels come from \
             information_schema, which is wrong for events older than a later ALTER TABLE",
        ),
    });
    Some(flavor)
}

fn expect(name: &str, found: &str, wanted: &[&str], fix: &str) -> Check {
    if wanted.iter().any(|w| found.eq_ignore_ascii_case(w)) {
        Check::ok(name, found)
    } else {
        Check::fail(
            name,
            format!("is {found}, needs {}", wanted[wanted.len() - 1]),
            fix,
        )
    }
}

/// Replication needs REPLICATION SLAVE (reading the binlog) and
/// REPLICATION CLIENT or, on MariaDB ≥ 10.5, BINLOG MONITOR (positions).
async fn privileges(conn: &mut Conn) -> Check {
    let grants: Vec<String> = conn.query("SHOW GRANTS").await.unwrap_or_default();
    let all = grants.join(" ").to_ascii_uppercase();
    let everything = all.contains("ALL PRIVILEGES ON *.*");
    let slave = everything || all.contains("REPLICATION SLAVE");
    let client = everything
        || all.contains("REPLICATION CLIENT")
        || all.contains("BINLOG MONITOR")
        || all.contains("SUPER");
    if slave && client {
        Check::ok(
            "replication privileges",
            "REPLICATION SLAVE and REPLICATION CLIENT",
        )
    } else {
        Check::fail(
            "replication privileges",
            "the user cannot read the binlog",
            "GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO the source user",
        )
    }
}

/// Which tables match, that each can be read, and what their columns
/// and keys mean for replication.
async fn tables(conn: &mut Conn, flavor: Flavor, config: &MysqlConfig, checks: &mut Vec<Check>) {
    let Ok(filter) = TableFilter::parse(&config.tables) else {
        return;
    };
    let names = match list_tables(conn, &filter).await {
        Ok(names) => names,
        Err(e) => {
            checks.push(Check::fail(
                "tables",
                e.to_string(),
                "grant SELECT on the captured schemas",
            ));
            return;
        }
    };
    if names.is_empty() {
        checks.push(Check::warn(
            "tables",
            "no table matches the patterns yet",
            "check `tables:`; tables created later that match are captured",
        ));
        return;
    }
    checks.push(Check::ok("tables", format!("{} tables match", names.len())));
    match load_schemas(conn, flavor, &names).await {
        Ok(schemas) => {
            let keyless: Vec<String> = schemas
                .iter()
                .filter(|s| s.primary_key.is_empty())
                .map(|s| s.name.to_string())
                .collect();
            if !keyless.is_empty() {
                checks.push(Check::warn(
                    "primary keys",
                    format!("no primary key: {}", keyless.join(", ")),
                    "add a primary key; without one, changes are applied by matching all columns",
                ));
            }
        }
        Err(e) => checks.push(Check::fail(
            "column types",
            e.to_string(),
            "exclude the table or change the column's type",
        )),
    }
    for name in &names {
        if let Err(check) = readable(conn, name).await {
            checks.push(check);
        }
    }
}

async fn readable(conn: &mut Conn, table: &TableName) -> Result<(), Check> {
    let db = table.schema.as_deref().unwrap_or_default();
    let sql = format!(
        "SELECT 1 FROM {} LIMIT 0",
        watershed_schema::dialect::mysql::qualified_name(db, &table.name)
    );
    conn.query_drop(sql).await.map_err(|e| {
        Check::fail(
            format!("select on {table}"),
            e.to_string(),
            format!("GRANT SELECT ON {table} TO the source user"),
        )
    })
}

/// Binlog retention against the checkpoint: the file the pipeline resumes
/// from must still be on the server, or the stream would have a gap.
pub async fn retention(config: &MysqlConfig, checkpoint: Option<&Position>) -> Check {
    let name = "binlog retention";
    let file = match checkpoint {
        Some(Position::MysqlFile(at)) => at.file.clone(),
        Some(Position::MysqlSnapshot(progress)) => progress.handover.file.clone(),
        Some(Position::MysqlGtid { gtid_set }) => {
            return Check::ok(name, format!("resumes by GTID {gtid_set}"));
        }
        Some(other) => {
            return Check::fail(
                name,
                format!("the sink's checkpoint {other} was not written by a mysql source"),
                "use a new pipeline name, or a sink that belongs to this pipeline",
            );
        }
        None => return Check::ok(name, "no checkpoint yet: the first run takes a snapshot"),
    };
    let listed: Result<Vec<mysql_async::Row>, _> = match connect(&config.url).await {
        Ok(mut conn) => conn
            .query("SHOW BINARY LOGS")
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match listed {
        Ok(rows) => {
            let files: Vec<String> = rows.iter().filter_map(|row| string_at(row, 0)).collect();
            if files.contains(&file) {
                let oldest = files.first().cloned().unwrap_or_default();
                Check::ok(
                    name,
                    format!("checkpoint file {file} is kept (oldest {oldest})"),
                )
            } else {
                Check::fail(
                    name,
                    format!("binlog {file}, where the checkpoint resumes, was purged"),
                    "re-snapshot: run with a new pipeline name (or delete its row in \
                     _watershed_checkpoints) so that `snapshot: initial` copies the tables again; \
                     raise binlog_expire_logs_seconds to keep binlogs longer than the longest stop",
                )
            }
        }
        Err(e) => Check::fail(
            name,
            e,
            "grant REPLICATION CLIENT (or BINLOG MONITOR on MariaDB)",
        ),
    }
}

/// `lag_alert_s` against the stored checkpoint: caught up when it is at the
/// binlog's end; otherwise the lag is the time since the sink last
/// committed, a warning past the threshold. `None` without `lag_alert_s`.
pub async fn lag(
    config: &MysqlConfig,
    checkpoint: Option<&Position>,
    seconds_since_commit: f64,
) -> Option<Check> {
    let alert = config.lag_alert_s?;
    let name = "lag";
    let Some(Position::MysqlFile(at)) = checkpoint else {
        return Some(Check::ok(name, "not streaming yet: no lag to measure"));
    };
    let end = match connect(&config.url).await {
        Ok(mut conn) => conn
            .query_first::<Row, _>("SHOW MASTER STATUS")
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let end = match end {
        Ok(Some(row)) => (
            string_at(&row, 0).unwrap_or_default(),
            string_at(&row, 1).unwrap_or_default(),
        ),
        Ok(None) => {
            return Some(Check::fail(
                name,
                "the server reports no binlog",
                "turn log_bin on",
            ));
        }
        Err(e) => {
            return Some(Check::fail(
                name,
                e,
                "grant REPLICATION CLIENT (or BINLOG MONITOR)",
            ));
        }
    };
    if end.0 == at.file && end.1 == at.offset.to_string() {
        return Some(Check::ok(name, "caught up with the binlog's end"));
    }
    let detail = format!(
        "behind the binlog's end ({}:{}); the sink last committed {seconds_since_commit:.0} s ago",
        end.0, end.1
    );
    Some(if seconds_since_commit > alert as f64 {
        Check::warn(
            name,
            format!("{detail}, more than lag_alert_s {alert}"),
            "check that the pipeline runs and that the sink keeps up (watershed_lag_seconds)",
        )
    } else {
        Check::ok(name, detail)
    })
}
