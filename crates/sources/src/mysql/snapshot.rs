//! The initial copy, server side: a consistent snapshot and its binlog
//! position, then every captured table read in primary-key chunks by
//! background workers that send converted rows over one bounded channel
//! (so reading the next chunks overlaps with the sink writing the last
//! one, and few chunks wait in memory).
//!
//! Several tables are copied at once, one per worker. MariaDB cannot share
//! a snapshot between connections, so each worker after the first opens a
//! snapshot of its own, at or after the first one's position; streaming
//! starts from the first position, and replaying the changes in between
//! converges (see [`MysqlSnapshotProgress`](watershed_events::MysqlSnapshotProgress)).
//! A table without a primary key is sent as one transaction, so while one
//! is being sent no other worker sends.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Params, Row as MysqlRow};
use tokio::sync::{RwLock, mpsc};
use tokio::task::JoinSet;
use watershed_events::{MysqlBinlogPosition, MysqlKeyValue, Row, TableSchema};
use watershed_schema::dialect::mysql::{qualified_name, quote_ident};

use super::cells::{RowReader, key_param};
use super::conn::{Flavor, binlog_end, gtid_at, string_at};
use super::error::MysqlError;

const OP: &str = "snapshot";

/// What the copy workers report.
#[derive(Debug)]
pub(crate) enum CopyMsg {
    /// Rows of `table`, in key order, after the rows sent before for it.
    /// `last_key` is the key of the last row (keyed tables); `done` marks
    /// the table's last rows.
    Rows {
        table: Arc<TableSchema>,
        rows: Vec<Row>,
        last_key: Option<Vec<MysqlKeyValue>>,
        done: bool,
    },
    /// Every table is copied.
    Finished,
}

pub(crate) type CopyReceiver = mpsc::Receiver<Result<CopyMsg, MysqlError>>;

/// Opens a consistent snapshot on `conn` and returns the binlog position it
/// corresponds to: every transaction committed before that position is in
/// the snapshot, none after it.
pub(crate) async fn begin_snapshot(
    conn: &mut Conn,
    flavor: Flavor,
) -> Result<MysqlBinlogPosition, MysqlError> {
    let run = |e| MysqlError::driver(OP, e);
    conn.query_drop("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        .await
        .map_err(run)?;
    match flavor {
        // MariaDB reports the binlog position of the snapshot itself: no
        // lock at all.
        Flavor::MariaDb => {
            conn.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT")
                .await
                .map_err(run)?;
            let rows: Vec<MysqlRow> = conn
                .query("SHOW STATUS LIKE 'binlog_snapshot_%'")
                .await
                .map_err(run)?;
            let status = |name: &str| {
                rows.iter()
                    .find(|r| string_at(r, 0).is_some_and(|n| n.eq_ignore_ascii_case(name)))
                    .and_then(|r| string_at(r, 1))
            };
            let file = status("Binlog_snapshot_file").filter(|f| !f.is_empty());
            let file = file.ok_or_else(|| {
                MysqlError::fatal(
                    OP,
                    "the server reports no binlog_snapshot_file: is log_bin on?",
                )
            })?;
            let offset = status("Binlog_snapshot_position")
                .and_then(|p| p.parse().ok())
                .unwrap_or(4);
            // The GTID state matching exactly that file and offset, not
            // @@gtid_binlog_pos, which may have moved on since.
            let gtid_set = gtid_at(conn, flavor, &file, offset).await?;
            Ok(MysqlBinlogPosition {
                file,
                offset,
                gtid_set,
                ..MysqlBinlogPosition::default()
            })
        }
        // MySQL has no snapshot position: hold the global read lock just
        // while the snapshot starts and the position is read.
        Flavor::Mysql => {
            conn.query_drop("FLUSH TABLES WITH READ LOCK")
                .await
                .map_err(run)?;
            let started = async {
                conn.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT")
                    .await
                    .map_err(run)?;
                binlog_end(conn, flavor).await
            }
            .await;
            conn.query_drop("UNLOCK TABLES").await.map_err(run)?;
            started
        }
    }
}

/// Where a table's copy starts.
#[derive(Debug, Clone)]
pub(crate) struct TableCopy {
    pub schema: Arc<TableSchema>,
    /// Continue after this key (resuming a half-copied table).
    pub after: Option<Vec<MysqlKeyValue>>,
}

/// Starts one copy worker per connection (each inside its own snapshot
/// transaction); they share the tables and one channel.
pub(crate) fn spawn_copy(
    conns: Vec<Conn>,
    tables: Vec<TableCopy>,
    chunk_rows: usize,
) -> (CopyReceiver, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(2);
    let task = tokio::spawn(async move {
        let shared = Shared {
            queue: Arc::new(Mutex::new(tables.into())),
            tx: tx.clone(),
            exclusive: Arc::new(RwLock::new(())),
            chunk_rows,
        };
        // Dropping the set (when this task is aborted) aborts the workers.
        let mut workers = JoinSet::new();
        for conn in conns {
            workers.spawn(copy_tables(conn, shared.clone()));
        }
        let mut result = Ok(());
        while let Some(joined) = workers.join_next().await {
            let outcome = joined.unwrap_or_else(|e| {
                Err(MysqlError::retryable(
                    OP,
                    format!("a copy worker failed: {e}"),
                ))
            });
            if let Err(e) = outcome {
                result = Err(e);
                break;
            }
        }
        // The receiver gone means the source was closed: nothing to tell.
        let _ = tx.send(result.map(|()| CopyMsg::Finished)).await;
    });
    (rx, task)
}

type Sender = mpsc::Sender<Result<CopyMsg, MysqlError>>;

/// What the workers share.
#[derive(Clone)]
struct Shared {
    queue: Arc<Mutex<VecDeque<TableCopy>>>,
    tx: Sender,
    /// Held for reading while a chunk is sent, for writing while a keyless
    /// table (one transaction) is.
    exclusive: Arc<RwLock<()>>,
    chunk_rows: usize,
}

impl Shared {
    fn next_table(&self) -> Option<TableCopy> {
        self.queue.lock().ok()?.pop_front()
    }

    /// Sends a keyed chunk; false when the receiver is gone.
    async fn send(&self, msg: CopyMsg) -> bool {
        let _turn = self.exclusive.read().await;
        self.tx.send(Ok(msg)).await.is_ok()
    }
}

/// One worker: copies tables from the queue until it is empty.
async fn copy_tables(mut conn: Conn, shared: Shared) -> Result<(), MysqlError> {
    while let Some(table) = shared.next_table() {
        let copied = if table.schema.primary_key.is_empty() {
            copy_keyless(&mut conn, &table.schema, &shared).await
        } else {
            copy_keyed(&mut conn, &table, &shared).await
        };
        match copied {
            // Dropped since it was listed: its DROP is in the binlog after
            // the handover, so there is nothing to copy.
            Err(e) if e.server_code() == Some(1146) => {
                tracing::warn!(table = %table.schema.name, "table vanished during the snapshot; skipped");
                let done = CopyMsg::Rows {
                    table: table.schema.clone(),
                    rows: Vec::new(),
                    last_key: None,
                    done: true,
                };
                if !shared.send(done).await {
                    return Ok(());
                }
            }
            other => other.map_err(|e| e.table(&table.schema.name))?,
        }
    }
    // Ends the read-only snapshot transaction; the connection then closes.
    conn.query_drop("COMMIT")
        .await
        .map_err(|e| MysqlError::driver(OP, e))?;
    Ok(())
}

/// Reads `WHERE key > last ORDER BY key LIMIT chunk_rows` until a chunk
/// comes back short.
async fn copy_keyed(conn: &mut Conn, table: &TableCopy, shared: &Shared) -> Result<(), MysqlError> {
    let chunk_rows = shared.chunk_rows;
    let schema = &table.schema;
    let reader = RowReader::new(schema);
    let select = select_list(schema);
    let order: Vec<String> = schema.primary_key.iter().map(|k| quote_ident(k)).collect();
    let order = order.join(", ");
    let mut after = table.after.clone();
    loop {
        let (predicate, params) = match &after {
            Some(key) => after_key(&schema.primary_key, key),
            None => ("TRUE".to_owned(), Vec::new()),
        };
        let sql = format!("{select} WHERE {predicate} ORDER BY {order} LIMIT {chunk_rows}");
        let query = (sql.as_str(), Params::Positional(params));
        let rows = read_rows(conn, query, chunk_rows, &reader, schema).await?;
        let done = rows.len() < chunk_rows;
        let last_key = match rows.last() {
            Some(row) => Some(reader.key_of(row).ok_or_else(|| {
                MysqlError::fatal(OP, "a primary key value has no checkpoint form")
            })?),
            None => after.clone(),
        };
        after = last_key.clone();
        let msg = CopyMsg::Rows {
            table: schema.clone(),
            rows,
            last_key,
            done,
        };
        if !shared.send(msg).await || done {
            return Ok(());
        }
    }
}

/// A table without a primary key cannot be resumed part-way: it is read in
/// one pass and sent in batches that the source turns into one
/// transaction, so a crash copies it again from the start rather than
/// twice.
async fn copy_keyless(
    conn: &mut Conn,
    schema: &Arc<TableSchema>,
    shared: &Shared,
) -> Result<(), MysqlError> {
    let chunk_rows = shared.chunk_rows;
    let tx = &shared.tx;
    let _alone = shared.exclusive.write().await;
    let reader = RowReader::new(schema);
    let sql = select_list(schema);
    let mut result = conn
        .exec_iter(sql.as_str(), Params::Empty)
        .await
        .map_err(|e| MysqlError::driver(OP, e))?;
    let mut batch = Vec::with_capacity(chunk_rows.min(65_536));
    while let Some(row) = result.next().await.map_err(|e| MysqlError::driver(OP, e))? {
        batch.push(convert_row(row, &reader, schema)?);
        if batch.len() >= chunk_rows {
            let rows = std::mem::replace(&mut batch, Vec::with_capacity(chunk_rows.min(65_536)));
            let msg = CopyMsg::Rows {
                table: schema.clone(),
                rows,
                last_key: None,
                done: false,
            };
            if tx.send(Ok(msg)).await.is_err() {
                return Ok(());
            }
        }
    }
    drop(result);
    let last = CopyMsg::Rows {
        table: schema.clone(),
        rows: batch,
        last_key: None,
        done: true,
    };
    let _ = tx.send(Ok(last)).await;
    Ok(())
}

/// Runs `sql` (which returns at most `limit` rows) and converts its rows.
pub(crate) async fn read_rows(
    conn: &mut Conn,
    (sql, params): (&str, Params),
    limit: usize,
    reader: &RowReader,
    schema: &TableSchema,
) -> Result<Vec<Row>, MysqlError> {
    let mut result = conn
        .exec_iter(sql, params)
        .await
        .map_err(|e| MysqlError::driver(OP, e))?;
    let mut rows = Vec::with_capacity(limit.min(1 << 16));
    while let Some(row) = result.next().await.map_err(|e| MysqlError::driver(OP, e))? {
        rows.push(convert_row(row, reader, schema)?);
    }
    Ok(rows)
}

fn convert_row(row: MysqlRow, reader: &RowReader, schema: &TableSchema) -> Result<Row, MysqlError> {
    reader.read(row.unwrap_raw()).map_err(|i| {
        let column = schema.columns.get(i).map_or("?", |c| c.name.as_str());
        MysqlError::fatal(OP, "a value does not fit the column's type")
            .table(&schema.name)
            .column(column)
    })
}

/// `SELECT `a`, `b` FROM `db`.`t``: columns named, so the order is the
/// schema's whatever the table's.
pub(crate) fn select_list(schema: &TableSchema) -> String {
    let columns: Vec<String> = schema
        .columns
        .iter()
        .map(|c| quote_ident(&c.name))
        .collect();
    let db = schema.name.schema.as_deref().unwrap_or_default();
    format!(
        "SELECT {} FROM {}",
        columns.join(", "),
        qualified_name(db, &schema.name.name)
    )
}

/// Rows after `key` in key order, spelled so that the optimizer uses a range
/// scan on the key (`(a, b) > (?, ?)` is not optimized by every MariaDB):
/// `a > ? OR (a = ? AND b > ?)`.
pub(crate) fn after_key(
    columns: &[String],
    key: &[MysqlKeyValue],
) -> (String, Vec<mysql_async::Value>) {
    let mut terms = Vec::new();
    let mut params = Vec::new();
    for last in 0..columns.len().min(key.len()) {
        let mut parts = Vec::new();
        for (i, column) in columns.iter().enumerate().take(last + 1) {
            let op = if i == last { ">" } else { "=" };
            parts.push(format!("{} {op} ?", quote_ident(column)));
            params.push(key_param(&key[i]));
        }
        terms.push(format!("({})", parts.join(" AND ")));
    }
    (terms.join(" OR "), params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composite_keys_continue_after_the_last_row() {
        let columns = vec!["a".to_owned(), "b".to_owned()];
        let key = vec![MysqlKeyValue::Int(1), MysqlKeyValue::Text("x".into())];
        let (predicate, params) = after_key(&columns, &key);
        assert_eq!(predicate, "(`a` > ?) OR (`a` = ? AND `b` > ?)");
        assert_eq!(params.len(), 3);
    }
}
