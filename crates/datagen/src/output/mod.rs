//! Where generated rows go: files (one per table) or databases (one or
//! several, one per DBML schema for database-per-service layouts).

pub mod encode;
mod files;
pub(crate) mod mysql;
pub(crate) mod postgres;
mod progress;

use std::path::Path;
use std::time::Duration;

use watershed_events::{TableName, redact_urls};
use watershed_schema::ddl::Dialect;
use watershed_schema::introspect::{self, Connection, dialect_of};

pub use encode::Format;
pub use files::path_for;
use progress::Progress;

use crate::deferred;
use crate::error::DatagenError;
use crate::kind::Kind;
use crate::plan::{Plan, TablePlan, UniqueStrategy};
use crate::table::{Pools, TableGen};

/// One database to load, and the DBML schema whose tables it takes
/// (`None`: every table no other target takes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub schema: Option<String>,
    pub url: String,
}

impl Target {
    /// Parses `URL` or `SCHEMA=URL`.
    pub fn parse(text: &str) -> Self {
        match text.split_once('=') {
            Some((schema, url)) if !schema.contains("://") && dialect_of(url).is_ok() => Target {
                schema: Some(schema.to_owned()),
                url: url.to_owned(),
            },
            _ => Target {
                schema: None,
                url: text.to_owned(),
            },
        }
    }
}

/// What to do when a target table already holds rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Existing {
    /// Stop before writing anything.
    #[default]
    Refuse,
    /// Add rows; sequences continue after the largest key.
    Append,
    /// Empty the target tables first (confirmed by the user).
    Truncate,
}

/// Rows written to one table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableSummary {
    pub table: String,
    pub rows: u64,
    pub rows_per_second: f64,
}

/// Writes one file per table with rows into `dir` (created if missing).
pub fn write_files(
    plan: &Plan,
    dir: &Path,
    format: Format,
    dialect: Dialect,
    show_progress: bool,
) -> Result<Vec<TableSummary>, DatagenError> {
    std::fs::create_dir_all(dir).map_err(|source| DatagenError::Write {
        path: dir.to_owned(),
        source,
    })?;
    let mut pools = Pools::default();
    let mut out = Vec::new();
    for t in 0..plan.tables.len() {
        let mut generator = TableGen::new(plan, t);
        let table = &plan.tables[t];
        if table.rows > 0 {
            let name = table.schema.name.to_string();
            let mut progress = Progress::start(show_progress, &name, table.rows);
            let path = path_for(dir, &table.schema.name, format);
            let rows = files::write_table(
                &mut generator,
                &pools,
                &path,
                format,
                dialect,
                &mut progress,
            )?;
            let rate = progress.finish(rows);
            tracing::info!(table = %name, rows, rows_per_second = rate as u64, "table written");
            out.push(TableSummary {
                table: name,
                rows,
                rows_per_second: rate,
            });
        }
        pools.tables.push(generator.into_pools());
    }
    for update in deferred::updates(plan, &pools) {
        let path = files::write_deferred(dir, &update, format, dialect)?;
        tracing::info!(table = %update.table, rows = update.rows.len(), path = %path.display(), "deferred foreign keys written");
    }
    Ok(out)
}

pub(crate) enum Conn {
    Postgres(tokio_postgres::Client),
    Mysql(mysql_async::Conn),
}

/// Which target takes `table`.
fn target_for(table: &TableName, targets: &[Target]) -> Result<usize, DatagenError> {
    let by_schema = targets
        .iter()
        .position(|t| t.schema.is_some() && t.schema == table.schema);
    by_schema
        .or_else(|| targets.iter().position(|t| t.schema.is_none()))
        .ok_or_else(|| {
            DatagenError::Invalid(format!(
                "no --target takes table {table}: add --target {}=URL or a --target without a schema",
                table.schema.as_deref().unwrap_or("SCHEMA")
            ))
        })
}

pub(crate) async fn connect(target: &Target, wait: Duration) -> Result<Conn, DatagenError> {
    match dialect_of(&target.url)? {
        Dialect::Postgres => match introspect::connect(&target.url, wait).await? {
            Connection::Postgres(client) => {
                client
                    .batch_execute("SET TIME ZONE 'UTC'")
                    .await
                    .map_err(|e| DatagenError::query("setting the time zone", e))?;
                Ok(Conn::Postgres(client))
            }
            Connection::Mysql(_) => Err(DatagenError::Invalid("unexpected connection kind".into())),
        },
        Dialect::Mysql => Ok(Conn::Mysql(mysql::connect(&target.url).await?)),
    }
}

/// Loads the plan's rows into `targets`. Every check (a target for each
/// table, empty tables unless `existing` says otherwise) runs before the
/// first row is written.
pub async fn load(
    plan: &mut Plan,
    targets: &[Target],
    existing: Existing,
    wait: Duration,
    show_progress: bool,
) -> Result<Vec<TableSummary>, DatagenError> {
    let routes: Vec<usize> = plan
        .tables
        .iter()
        .map(|t| target_for(&t.schema.name, targets))
        .collect::<Result<_, _>>()?;
    let mut conns = Vec::new();
    for target in targets {
        tracing::info!(url = %redact_urls(&target.url), schema = ?target.schema, "connecting to target");
        conns.push(connect(target, wait).await?);
    }
    prepare(plan, &routes, &mut conns, existing).await?;
    let mut pools = Pools::default();
    let mut out = Vec::new();
    for t in 0..plan.tables.len() {
        let plan: &Plan = plan;
        let mut generator = TableGen::new(plan, t);
        if plan.tables[t].rows > 0 {
            let conn = &mut conns[routes[t]];
            out.push(load_table(conn, &mut generator, &pools, show_progress).await?);
        }
        pools.tables.push(generator.into_pools());
    }
    for update in deferred::updates(plan, &pools) {
        let route = plan
            .tables
            .iter()
            .position(|t| t.schema.name == update.table);
        let Some(route) = route.map(|t| routes[t]) else {
            continue;
        };
        match &mut conns[route] {
            Conn::Postgres(client) => {
                postgres::run_statements(client, &update.statements(Dialect::Postgres)).await?
            }
            Conn::Mysql(conn) => {
                mysql::run_statements(conn, &update.statements(Dialect::Mysql)).await?
            }
        }
        tracing::info!(table = %update.table, rows = update.rows.len(), "deferred foreign keys set");
    }
    Ok(out)
}

/// Loads one table's rows through `conn`.
async fn load_table(
    conn: &mut Conn,
    generator: &mut TableGen<'_>,
    pools: &Pools,
    show_progress: bool,
) -> Result<TableSummary, DatagenError> {
    let table = generator.table();
    let name = table.schema.name.to_string();
    let mut progress = Progress::start(show_progress, &name, table.rows);
    let rows = match conn {
        Conn::Postgres(client) => {
            let rows = postgres::write_table(client, generator, pools, &mut progress).await?;
            postgres::reset_sequences(client, table).await?;
            rows
        }
        Conn::Mysql(conn) => mysql::write_table(conn, generator, pools, &mut progress).await?,
    };
    let rate = progress.finish(rows);
    tracing::info!(table = %name, rows, rows_per_second = rate as u64, "table loaded");
    Ok(TableSummary {
        table: name,
        rows,
        rows_per_second: rate,
    })
}

/// Refuses non-empty tables, or truncates them, or moves sequences past
/// their rows, as `existing` says.
async fn prepare(
    plan: &mut Plan,
    routes: &[usize],
    conns: &mut [Conn],
    existing: Existing,
) -> Result<(), DatagenError> {
    if existing == Existing::Truncate {
        for (c, conn) in conns.iter_mut().enumerate() {
            let mine: Vec<TableName> = plan
                .tables
                .iter()
                .zip(routes)
                .filter(|(_, r)| **r == c)
                .map(|(t, _)| t.schema.name.clone())
                .rev()
                .collect();
            match conn {
                Conn::Postgres(client) => postgres::truncate(client, &mine).await?,
                Conn::Mysql(conn) => mysql::truncate(conn, &mine).await?,
            }
        }
        return Ok(());
    }
    for (table, route) in plan.tables.iter_mut().zip(routes) {
        if table.rows == 0 {
            continue;
        }
        let name = &table.schema.name;
        let full = match &mut conns[*route] {
            Conn::Postgres(client) => postgres::has_rows(client, name).await?,
            Conn::Mysql(conn) => mysql::has_rows(conn, name).await?,
        };
        if !full {
            continue;
        }
        if existing == Existing::Refuse {
            return Err(DatagenError::NotEmpty {
                table: name.to_string(),
            });
        }
        table.taken = taken_keys(table, &mut conns[*route]).await?;
        let sequence = table.columns.iter().position(|c| c.kind == Kind::Sequence);
        if let Some(c) = sequence {
            let column = table.schema.columns[c].name.clone();
            let max = match &mut conns[*route] {
                Conn::Postgres(client) => postgres::max_of(client, name, &column).await?,
                Conn::Mysql(conn) => mysql::max_of(conn, name, &column).await?,
            };
            table.sequence_start = max + 1;
        }
    }
    Ok(())
}

/// For appending: what each checked unique key already holds.
async fn taken_keys(table: &TablePlan, conn: &mut Conn) -> Result<Vec<Vec<u64>>, DatagenError> {
    let mut out = Vec::new();
    for unique in &table.uniques {
        if unique.strategy != UniqueStrategy::Checked {
            out.push(Vec::new());
            continue;
        }
        let columns: Vec<String> = unique
            .columns
            .iter()
            .map(|c| table.schema.columns[*c].name.clone())
            .collect();
        let name = &table.schema.name;
        out.push(match conn {
            Conn::Postgres(client) => postgres::existing_keys(client, name, &columns).await?,
            Conn::Mysql(conn) => mysql::existing_keys(conn, name, &columns).await?,
        });
    }
    Ok(out)
}
