//! Loading into MySQL/MariaDB with multi-row `INSERT`s of up to 1,000 rows
//! (and at most ~4 MiB, well under the default `max_allowed_packet`).

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts};
use watershed_events::{TableName, redact_urls};
use watershed_schema::ddl::Dialect;
use watershed_schema::dialect::mysql::quote_ident;

use super::encode::{insert_head, sql_values, table_sql};
use super::progress::Progress;
use crate::cell::Cell;
use crate::error::DatagenError;
use crate::table::{Pools, TableGen};

const ROWS_PER_INSERT: usize = 1000;
const MAX_STATEMENT_BYTES: usize = 4 << 20;

/// Opens a connection (`mariadb://` is accepted for `mysql://`), in UTC.
pub async fn connect(url: &str) -> Result<Conn, DatagenError> {
    let normalized = match url.split_once("://") {
        Some((_, rest)) => format!("mysql://{rest}"),
        None => url.to_owned(),
    };
    let opts = Opts::from_url(&normalized).map_err(|e| {
        DatagenError::Invalid(format!(
            "invalid database url {}: {}",
            redact_urls(url),
            redact_urls(&e.to_string())
        ))
    })?;
    let mut conn = Conn::new(opts)
        .await
        .map_err(|e| DatagenError::query(format!("connecting to {}", redact_urls(url)), e))?;
    conn.query_drop("SET time_zone = '+00:00'")
        .await
        .map_err(|e| DatagenError::query("setting the time zone", e))?;
    Ok(conn)
}

async fn scalar(conn: &mut Conn, sql: &str, what: &str) -> Result<Option<String>, DatagenError> {
    let row: Option<Option<String>> = conn
        .query_first(sql)
        .await
        .map_err(|e| DatagenError::query(what, e))?;
    Ok(row.flatten())
}

/// Whether `table` holds any row.
pub async fn has_rows(conn: &mut Conn, table: &TableName) -> Result<bool, DatagenError> {
    let sql = format!(
        "SELECT '1' FROM {} LIMIT 1",
        table_sql(table, Dialect::Mysql)
    );
    let what =
        format!("reading {table} (create the tables first, e.g. with `watershed schema apply`)");
    Ok(scalar(conn, &sql, &what).await?.is_some())
}

/// The largest value of `column`, or 0.
pub async fn max_of(conn: &mut Conn, table: &TableName, column: &str) -> Result<i64, DatagenError> {
    let sql = format!(
        "SELECT CAST(COALESCE(MAX({}), 0) AS CHAR) FROM {}",
        quote_ident(column),
        table_sql(table, Dialect::Mysql)
    );
    let text = scalar(conn, &sql, &format!("reading {table}")).await?;
    Ok(text.and_then(|t| t.parse().ok()).unwrap_or(0))
}

/// Empties `tables`, with foreign key checks off meanwhile.
pub async fn truncate(conn: &mut Conn, tables: &[TableName]) -> Result<(), DatagenError> {
    let mut sql = String::from("SET FOREIGN_KEY_CHECKS = 0;");
    for table in tables {
        sql.push_str(&format!(
            " TRUNCATE TABLE {};",
            table_sql(table, Dialect::Mysql)
        ));
    }
    sql.push_str(" SET FOREIGN_KEY_CHECKS = 1");
    conn.query_drop(sql)
        .await
        .map_err(|e| DatagenError::query("truncating the target tables", e))
}

/// Inserts every row of `generator` in multi-row statements.
pub async fn write_table(
    conn: &mut Conn,
    generator: &mut TableGen<'_>,
    pools: &Pools,
    progress: &mut Progress,
) -> Result<u64, DatagenError> {
    let table = generator.table();
    let what = format!("inserting into {}", table.schema.name);
    let names: Vec<String> = table
        .schema
        .columns
        .iter()
        .map(|c| c.name.clone())
        .collect();
    let mut head = Vec::new();
    insert_head(&table.schema.name, &names, Dialect::Mysql, &mut head);
    let (mut buf, mut row) = (Vec::new(), Vec::<Cell>::new());
    let (mut written, mut in_batch) = (0u64, 0usize);
    while generator.remaining() > 0 {
        generator.next_row(pools, &mut row)?;
        if in_batch == 0 {
            buf.extend_from_slice(&head);
        } else {
            buf.extend_from_slice(b",\n");
        }
        sql_values(&row, Dialect::Mysql, &mut buf);
        written += 1;
        in_batch += 1;
        if in_batch >= ROWS_PER_INSERT || buf.len() >= MAX_STATEMENT_BYTES {
            send(conn, &mut buf, &what).await?;
            in_batch = 0;
            progress.tick(written);
        }
    }
    if in_batch > 0 {
        send(conn, &mut buf, &what).await?;
    }
    Ok(written)
}

async fn send(conn: &mut Conn, buf: &mut Vec<u8>, what: &str) -> Result<(), DatagenError> {
    let sql = String::from_utf8(std::mem::take(buf))
        .map_err(|e| DatagenError::Invalid(format!("generated SQL is not UTF-8: {e}")))?;
    conn.query_drop(sql)
        .await
        .map_err(|e| DatagenError::query(what, e))
}

/// Hashes of the values `columns` already hold in `table` (rows with a
/// NULL among them are skipped: they never collide).
pub async fn existing_keys(
    conn: &mut Conn,
    table: &TableName,
    columns: &[String],
) -> Result<Vec<u64>, DatagenError> {
    let list: Vec<String> = columns
        .iter()
        .map(|c| format!("CAST({} AS CHAR)", quote_ident(c)))
        .collect();
    let sql = format!(
        "SELECT {} FROM {}",
        list.join(", "),
        table_sql(table, Dialect::Mysql)
    );
    let rows: Vec<mysql_async::Row> = conn
        .query(sql)
        .await
        .map_err(|e| DatagenError::query(format!("reading keys of {table}"), e))?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let parts: Option<Vec<String>> = (0..row.len())
                .map(|i| row.get::<Option<String>, _>(i).flatten())
                .collect();
            parts.map(|p| crate::table::key_hash(p.iter().map(String::as_str)))
        })
        .collect())
}

/// Runs `statements` in batches of 500.
pub async fn run_statements(conn: &mut Conn, statements: &[String]) -> Result<(), DatagenError> {
    for batch in statements.chunks(500) {
        conn.query_drop(batch.join("; "))
            .await
            .map_err(|e| DatagenError::query("setting deferred foreign keys", e))?;
    }
    Ok(())
}
