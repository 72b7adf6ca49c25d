//! Re-copying one table while the binlog keeps streaming, the DBLog way:
//! each chunk is read between a low and a high watermark (the binlog's end
//! just before and just after the `SELECT`). While the stream moves from
//! the low to the high watermark, every key a change touches is struck
//! from the chunk, because the change itself carries a state at least as
//! new; at the high watermark the rest of the chunk is emitted. The target
//! never goes back in time, and no lock is taken.
//!
//! The watermarks are read-only (`SHOW MASTER STATUS`), so the source
//! needs no writable signal table.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use mysql_async::{Conn, Params};
use watershed_events::{MysqlKeyValue, Row, TableSchema, Value};
use watershed_schema::dialect::mysql::quote_ident;

use super::cells::RowReader;
use super::conn::{Flavor, binlog_end};
use super::error::MysqlError;
use super::snapshot::{after_key, read_rows, select_list};

/// A binlog coordinate: file name and offset in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Coord {
    pub file: String,
    pub offset: u64,
}

impl Coord {
    /// Binlog files share a base name and number upwards; a longer number
    /// is a later file even when it sorts first as text.
    pub(crate) fn cmp_to(&self, file: &str, offset: u64) -> Ordering {
        (self.file.len(), self.file.as_str(), self.offset).cmp(&(file.len(), file, offset))
    }
}

/// One chunk of a table being re-copied, waiting for the stream to reach
/// its high watermark.
pub(crate) struct Window {
    pub table: Arc<TableSchema>,
    low: Coord,
    high: Coord,
    /// The chunk's rows; `None` where a change struck the key.
    rows: Vec<Option<Row>>,
    index: HashMap<Vec<MysqlKeyValue>, usize>,
    reader: RowReader,
    /// Key of the chunk's last row as read (where the next chunk starts).
    pub last_key: Option<Vec<MysqlKeyValue>>,
    /// The chunk came back short: the table is complete after it.
    pub last: bool,
}

impl Window {
    /// Reads the chunk after `after` between two watermarks.
    pub(crate) async fn read(
        conn: &mut Conn,
        flavor: Flavor,
        table: Arc<TableSchema>,
        after: Option<&[MysqlKeyValue]>,
        chunk_rows: usize,
    ) -> Result<Self, MysqlError> {
        let low = binlog_end(conn, flavor).await?;
        let reader = RowReader::new(&table);
        let order: Vec<String> = table.primary_key.iter().map(|k| quote_ident(k)).collect();
        let (predicate, params) = match after {
            Some(key) => after_key(&table.primary_key, key),
            None => ("TRUE".to_owned(), Vec::new()),
        };
        let sql = format!(
            "{} WHERE {predicate} ORDER BY {} LIMIT {chunk_rows}",
            select_list(&table),
            order.join(", ")
        );
        let query = (sql.as_str(), Params::Positional(params));
        let rows = read_rows(conn, query, chunk_rows, &reader, &table)
            .await
            .map_err(|e| e.table(&table.name))?;
        let high = binlog_end(conn, flavor).await?;
        let mut index = HashMap::with_capacity(rows.len());
        for (i, row) in rows.iter().enumerate() {
            let key = reader.key_of(row).ok_or_else(|| {
                MysqlError::fatal("resync", "a primary key value has no checkpoint form")
                    .table(&table.name)
            })?;
            index.insert(key, i);
        }
        let last_key = match rows.last() {
            Some(row) => reader.key_of(row),
            None => after.map(<[MysqlKeyValue]>::to_vec),
        };
        Ok(Self {
            last: rows.len() < chunk_rows,
            rows: rows.into_iter().map(Some).collect(),
            index,
            reader,
            last_key,
            low: Coord {
                file: low.file,
                offset: low.offset,
            },
            high: Coord {
                file: high.file,
                offset: high.offset,
            },
            table,
        })
    }

    /// A change at `file:offset` touched `row`: past the low watermark it
    /// is newer than (or as new as) the chunk's copy, which is struck.
    pub(crate) fn strike(&mut self, file: &str, offset: u64, row: &[Value]) {
        if self.low.cmp_to(file, offset) != Ordering::Less {
            return;
        }
        if let Some(i) = self.reader.key_of(row).and_then(|k| self.index.remove(&k))
            && let Some(slot) = self.rows.get_mut(i)
        {
            *slot = None;
        }
    }

    /// The stream has read up to `file:offset`.
    pub(crate) fn reached_high(&self, file: &str, offset: u64) -> bool {
        self.high.cmp_to(file, offset) != Ordering::Greater
    }

    /// The rows no change struck, in key order.
    pub(crate) fn into_rows(self) -> impl Iterator<Item = Row> {
        self.rows.into_iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_binlog_files_compare_greater_even_with_longer_numbers() {
        let at = Coord {
            file: "mysql-bin.999999".into(),
            offset: 500,
        };
        assert_eq!(at.cmp_to("mysql-bin.1000000", 4), Ordering::Less);
        assert_eq!(at.cmp_to("mysql-bin.999999", 500), Ordering::Equal);
        assert_eq!(at.cmp_to("mysql-bin.999999", 400), Ordering::Greater);
    }
}
