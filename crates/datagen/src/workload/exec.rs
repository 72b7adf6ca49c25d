//! Talking to the database for a workload: reading the live rows' key
//! columns at start, and running one statement, telling a refused
//! statement (counted, by error code) from a broken connection (fatal).

use mysql_async::prelude::Queryable;
use tokio_postgres::SimpleQueryMessage;
use watershed_schema::ddl::Dialect;
use watershed_schema::dialect::{mysql, postgres};

use crate::error::DatagenError;
use crate::output::Conn;
use crate::output::encode::table_sql;
use crate::plan::TablePlan;

/// The dialect of `conn`.
pub fn dialect(conn: &Conn) -> Dialect {
    match conn {
        Conn::Postgres(_) => Dialect::Postgres,
        Conn::Mysql(_) => Dialect::Mysql,
    }
}

/// Every row's `columns` of `table`, as text, ordered by `order`.
pub async fn read_rows(
    conn: &mut Conn,
    table: &TablePlan,
    columns: &[usize],
    order: &[usize],
) -> Result<Vec<Vec<Option<String>>>, DatagenError> {
    let dialect = dialect(conn);
    let name = |c: &usize| {
        let column = &table.schema.columns[*c].name;
        match dialect {
            Dialect::Postgres => postgres::quote_ident(column),
            Dialect::Mysql => mysql::quote_ident(column),
        }
    };
    let select: Vec<String> = columns
        .iter()
        .map(|c| match dialect {
            Dialect::Postgres => format!("{}::text", name(c)),
            Dialect::Mysql => format!("CAST({} AS CHAR)", name(c)),
        })
        .collect();
    let mut sql = format!(
        "SELECT {} FROM {}",
        select.join(", "),
        table_sql(&table.schema.name, dialect)
    );
    if !order.is_empty() {
        let order: Vec<String> = order.iter().map(name).collect();
        sql.push_str(&format!(" ORDER BY {}", order.join(", ")));
    }
    let what = format!("reading {}", table.schema.name);
    match conn {
        Conn::Postgres(client) => {
            let messages = client
                .simple_query(&sql)
                .await
                .map_err(|e| DatagenError::query(&what, e))?;
            Ok(messages
                .into_iter()
                .filter_map(|m| match m {
                    SimpleQueryMessage::Row(row) => Some(
                        (0..columns.len())
                            .map(|i| row.get(i).map(str::to_owned))
                            .collect(),
                    ),
                    _ => None,
                })
                .collect())
        }
        Conn::Mysql(conn) => {
            let rows: Vec<mysql_async::Row> = conn
                .query(&sql)
                .await
                .map_err(|e| DatagenError::query(&what, e))?;
            Ok(rows.into_iter().map(mysql_row).collect())
        }
    }
}

fn mysql_row(row: mysql_async::Row) -> Vec<Option<String>> {
    row.unwrap()
        .into_iter()
        .map(|value| match value {
            mysql_async::Value::NULL => None,
            mysql_async::Value::Bytes(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
            other => Some(other.as_sql(true).trim_matches('\'').to_owned()),
        })
        .collect()
}

/// How a statement ended.
#[derive(Debug)]
pub enum Outcome {
    Done,
    /// The server refused it: the error's code (and constraint, when the
    /// server names it). Never a value.
    Refused(String),
}

/// Runs one statement.
pub async fn execute(conn: &mut Conn, sql: &str) -> Result<Outcome, DatagenError> {
    match conn {
        Conn::Postgres(client) => match client.batch_execute(sql).await {
            Ok(()) => Ok(Outcome::Done),
            Err(error) => match error.as_db_error() {
                Some(db) => Ok(Outcome::Refused(match db.constraint() {
                    Some(constraint) => format!("{} {constraint}", db.code().code()),
                    None => db.code().code().to_owned(),
                })),
                None => Err(DatagenError::query("running the workload", error)),
            },
        },
        Conn::Mysql(conn) => match conn.query_drop(sql).await {
            Ok(()) => Ok(Outcome::Done),
            Err(mysql_async::Error::Server(server)) => Ok(Outcome::Refused(format!(
                "{} {}",
                server.code, server.state
            ))),
            Err(error) => Err(DatagenError::query("running the workload", error)),
        },
    }
}
