//! Loading into PostgreSQL with `COPY … FROM STDIN` (text format),
//! streamed in 1 MiB chunks while the next rows are generated.

use bytes::Bytes;
use futures_util::SinkExt;
use tokio_postgres::{Client, SimpleQueryMessage};
use watershed_events::TableName;
use watershed_schema::ddl::Dialect;
use watershed_schema::dialect::postgres::quote_ident;

use super::encode::{copy_row, table_sql};
use super::progress::Progress;
use crate::cell::Cell;
use crate::error::DatagenError;
use crate::kind::Kind;
use crate::plan::TablePlan;
use crate::table::{Pools, TableGen};

const FLUSH_BYTES: usize = 1 << 20;

async fn scalar(client: &Client, sql: &str, what: &str) -> Result<Option<String>, DatagenError> {
    let messages = client
        .simple_query(sql)
        .await
        .map_err(|e| DatagenError::query(what, e))?;
    Ok(messages.into_iter().find_map(|m| match m {
        SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
        _ => None,
    }))
}

/// Whether `table` holds any row.
pub async fn has_rows(client: &Client, table: &TableName) -> Result<bool, DatagenError> {
    let sql = format!(
        "SELECT 1 FROM {} LIMIT 1",
        table_sql(table, Dialect::Postgres)
    );
    let what =
        format!("reading {table} (create the tables first, e.g. with `watershed schema apply`)");
    Ok(scalar(client, &sql, &what).await?.is_some())
}

/// The largest value of `column`, or 0.
pub async fn max_of(client: &Client, table: &TableName, column: &str) -> Result<i64, DatagenError> {
    let sql = format!(
        "SELECT COALESCE(MAX({}), 0) FROM {}",
        quote_ident(column),
        table_sql(table, Dialect::Postgres)
    );
    let text = scalar(client, &sql, &format!("reading {table}")).await?;
    Ok(text.and_then(|t| t.parse().ok()).unwrap_or(0))
}

/// Empties `tables` (one statement, so keys among them do not object).
pub async fn truncate(client: &Client, tables: &[TableName]) -> Result<(), DatagenError> {
    if tables.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = tables
        .iter()
        .map(|t| table_sql(t, Dialect::Postgres))
        .collect();
    let sql = format!("TRUNCATE {} RESTART IDENTITY", names.join(", "));
    client
        .batch_execute(&sql)
        .await
        .map_err(|e| DatagenError::query("truncating the target tables", e))
}

/// Streams every row of `generator` into its table with COPY.
pub async fn write_table(
    client: &Client,
    generator: &mut TableGen<'_>,
    pools: &Pools,
    progress: &mut Progress,
) -> Result<u64, DatagenError> {
    let table = generator.table();
    let name = table.schema.name.to_string();
    let columns: Vec<String> = table
        .schema
        .columns
        .iter()
        .map(|c| quote_ident(&c.name))
        .collect();
    let copy = format!(
        "COPY {} ({}) FROM STDIN",
        table_sql(&table.schema.name, Dialect::Postgres),
        columns.join(", ")
    );
    let failed = |e: tokio_postgres::Error| DatagenError::query(format!("COPY into {name}"), e);
    let sink = client.copy_in::<_, Bytes>(&copy).await.map_err(failed)?;
    futures_util::pin_mut!(sink);
    let (mut buf, mut scratch, mut row) = (
        Vec::with_capacity(FLUSH_BYTES * 2),
        Vec::new(),
        Vec::<Cell>::new(),
    );
    let mut written = 0u64;
    while generator.remaining() > 0 {
        generator.next_row(pools, &mut row)?;
        copy_row(&row, &mut scratch, &mut buf);
        written += 1;
        if buf.len() >= FLUSH_BYTES {
            let chunk = Bytes::from(std::mem::replace(
                &mut buf,
                Vec::with_capacity(FLUSH_BYTES * 2),
            ));
            sink.send(chunk).await.map_err(failed)?;
            progress.tick(written);
        }
    }
    if !buf.is_empty() {
        sink.send(Bytes::from(buf)).await.map_err(failed)?;
    }
    sink.as_mut().finish().await.map_err(failed)?;
    Ok(written)
}

/// Moves identity and serial sequences past the loaded keys, so later
/// inserts without a key do not collide.
pub async fn reset_sequences(client: &Client, table: &TablePlan) -> Result<(), DatagenError> {
    let target = table_sql(&table.schema.name, Dialect::Postgres);
    for (column, plan) in table.schema.columns.iter().zip(&table.columns) {
        if plan.kind != Kind::Sequence {
            continue;
        }
        let literal = target.replace('\'', "''");
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence('{literal}', '{}'), MAX({})) FROM {target} HAVING MAX({}) IS NOT NULL",
            column.name.replace('\'', "''"),
            quote_ident(&column.name),
            quote_ident(&column.name),
        );
        scalar(
            client,
            &sql,
            &format!("moving the sequence of {}", table.schema.name),
        )
        .await?;
    }
    Ok(())
}

/// Hashes of the values `columns` already hold in `table` (rows with a
/// NULL among them are skipped: they never collide).
pub async fn existing_keys(
    client: &Client,
    table: &TableName,
    columns: &[String],
) -> Result<Vec<u64>, DatagenError> {
    let list: Vec<String> = columns
        .iter()
        .map(|c| format!("{}::text", quote_ident(c)))
        .collect();
    let sql = format!(
        "SELECT {} FROM {}",
        list.join(", "),
        table_sql(table, Dialect::Postgres)
    );
    let messages = client
        .simple_query(&sql)
        .await
        .map_err(|e| DatagenError::query(format!("reading keys of {table}"), e))?;
    Ok(messages
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(row) => {
                let parts: Option<Vec<&str>> = (0..row.len()).map(|i| row.get(i)).collect();
                parts.map(crate::table::key_hash)
            }
            _ => None,
        })
        .collect())
}

/// Runs `statements` in batches of 500, each batch in one transaction.
pub async fn run_statements(client: &Client, statements: &[String]) -> Result<(), DatagenError> {
    for batch in statements.chunks(500) {
        let sql = format!("BEGIN; {}; COMMIT", batch.join("; "));
        client
            .batch_execute(&sql)
            .await
            .map_err(|e| DatagenError::query("setting deferred foreign keys", e))?;
    }
    Ok(())
}
