//! Reading a live database into a [`SchemaModel`]: PostgreSQL from
//! `pg_catalog`, MySQL/MariaDB from `information_schema`. The URL decides
//! the dialect (`postgres://`, `postgresql://`, `mysql://`, `mariadb://`).
//! Connecting retries with exponential backoff for a bounded time, for
//! servers that are still starting; a server that answers and refuses
//! (bad password, unknown database) fails at once.
//!
//! Index key parts that are expressions are read as the server prints
//! them (PostgreSQL `pg_get_indexdef`, MySQL 8 `STATISTICS.EXPRESSION`).
//! Left out: partial indexes, check constraints, generated columns'
//! expressions, views, partitions.

mod mysql;
mod pg_types;
mod postgres;

pub use postgres::text_rows;

use std::collections::BTreeSet;
use std::future::Future;
use std::time::{Duration, Instant};

use watershed_events::redact_urls;

use crate::ddl::Dialect;
use crate::error::{DriverError, SchemaError};
use crate::model::SchemaModel;

/// Which schemas (MySQL: databases) to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every schema that is not the server's own.
    All,
    /// The default one (PostgreSQL `public`, the URL's MySQL database)
    /// and these.
    DefaultAnd(BTreeSet<String>),
    /// Only this one.
    Only(String),
}

/// An open connection to a database the schema tools read or change.
pub enum Connection {
    Postgres(tokio_postgres::Client),
    Mysql(mysql::MysqlConnection),
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Connection::Postgres(_) => "Connection::Postgres",
            Connection::Mysql(_) => "Connection::Mysql",
        })
    }
}

/// The dialect a database URL speaks.
pub fn dialect_of(url: &str) -> Result<Dialect, SchemaError> {
    let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("postgres" | "postgresql") => Ok(Dialect::Postgres),
        Some("mysql" | "mariadb") => Ok(Dialect::Mysql),
        _ => Err(SchemaError::Url {
            url: redact_urls(url),
            reason: "it must start with postgres://, postgresql://, mysql:// or mariadb://".into(),
        }),
    }
}

/// Whether `text` looks like a database URL rather than a file name.
pub fn is_url(text: &str) -> bool {
    dialect_of(text).is_ok()
}

/// Connects to `url`, retrying failures to reach the server for up to
/// `wait`.
pub async fn connect(url: &str, wait: Duration) -> Result<Connection, SchemaError> {
    match dialect_of(url)? {
        Dialect::Postgres => Ok(Connection::Postgres(postgres::connect(url, wait).await?)),
        Dialect::Mysql => Ok(Connection::Mysql(mysql::connect(url, wait).await?)),
    }
}

impl Connection {
    pub fn dialect(&self) -> Dialect {
        match self {
            Connection::Postgres(_) => Dialect::Postgres,
            Connection::Mysql(_) => Dialect::Mysql,
        }
    }

    /// Whether the server can index expressions: PostgreSQL and MySQL
    /// 8.0.13+ can, MariaDB cannot.
    pub fn expression_indexes(&self) -> bool {
        match self {
            Connection::Postgres(_) => true,
            Connection::Mysql(conn) => conn.expression_indexes(),
        }
    }

    /// Reads the tables, enum types and schemas in `scope`.
    pub async fn introspect(&mut self, scope: &Scope) -> Result<SchemaModel, SchemaError> {
        match self {
            Connection::Postgres(client) => postgres::introspect(client, scope).await,
            Connection::Mysql(conn) => conn.introspect(scope).await,
        }
    }

    /// Runs `statements` in order; on PostgreSQL in one transaction. SQL
    /// comments are skipped.
    pub async fn execute(&mut self, statements: &[String]) -> Result<(), SchemaError> {
        let statements: Vec<&String> = statements
            .iter()
            .filter(|s| !crate::sql::is_comment(s))
            .collect();
        match self {
            Connection::Postgres(client) => postgres::execute(client, &statements).await,
            Connection::Mysql(conn) => conn.execute(&statements).await,
        }
    }
}

/// Calls `attempt` until it succeeds, fails for good, or `wait` has
/// passed; the delay doubles from 100 ms up to 2 s.
async fn with_retry<T, F, Fut>(
    server: &str,
    wait: Duration,
    mut attempt: F,
) -> Result<T, SchemaError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, (bool, DriverError)>>,
{
    let deadline = Instant::now() + wait;
    let mut delay = Duration::from_millis(100);
    loop {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err((retryable, error)) if retryable && Instant::now() + delay < deadline => {
                tracing::debug!(server = %server, error = %error, delay_ms = delay.as_millis() as u64, "database not reachable yet, retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(2));
            }
            Err((_, source)) => {
                return Err(SchemaError::Connect {
                    server: server.to_owned(),
                    source,
                });
            }
        }
    }
}

/// `'text'` with `'` doubled (and, for MySQL, backslashes), for catalog
/// filters.
fn literal(text: &str, dialect: Dialect) -> String {
    let quoted = text.replace('\'', "''");
    match dialect {
        Dialect::Postgres => format!("'{quoted}'"),
        Dialect::Mysql => format!("'{}'", quoted.replace('\\', "\\\\")),
    }
}

/// `IN ('a', 'b')` for the names in `scope` other than the default, or
/// `None` for [`Scope::All`].
fn scope_names(scope: &Scope, default: Option<&str>) -> Option<Vec<String>> {
    match scope {
        Scope::All => None,
        Scope::Only(name) => Some(vec![name.clone()]),
        Scope::DefaultAnd(names) => {
            let mut all: Vec<String> = names.iter().cloned().collect();
            all.extend(default.map(str::to_owned));
            Some(all)
        }
    }
}

fn in_list(names: &[String], dialect: Dialect) -> String {
    let quoted: Vec<String> = names.iter().map(|n| literal(n, dialect)).collect();
    format!("IN ({})", quoted.join(", "))
}

impl Connection {
    /// Whether unqualified names have a home: always in PostgreSQL
    /// (`public`), in MySQL only when the URL names a database.
    pub fn has_default_schema(&self) -> bool {
        match self {
            Connection::Postgres(_) => true,
            Connection::Mysql(conn) => conn.database().is_some(),
        }
    }

    /// What to read when the user names no schema: every schema in
    /// PostgreSQL; in MySQL the URL's database, or every database when the
    /// URL names none.
    pub fn default_scope(&self) -> Scope {
        match self {
            Connection::Mysql(conn) if conn.database().is_some() => {
                Scope::DefaultAnd(BTreeSet::new())
            }
            _ => Scope::All,
        }
    }
}
