//! Looking at the source outside the stream: the tables a pipeline
//! captures, and text queries for `watershed verify`.

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};
use watershed_events::TableSchema;

use super::catalog::{list_tables, load_schemas};
use super::config::MysqlConfig;
use super::conn::{Flavor, connect};
use super::error::MysqlError;
use super::filter::TableFilter;
use crate::source::SourceError;

/// A query connection (UTC, utf8mb4) and the pipeline's table filter.
pub struct Inspector {
    conn: Conn,
    filter: TableFilter,
    flavor: Flavor,
}

impl Inspector {
    pub async fn connect(config: &MysqlConfig) -> Result<Self, SourceError> {
        let filter = TableFilter::parse(&config.tables)
            .map_err(|e| MysqlError::fatal("read the table filter", e))?;
        let mut conn = connect(&config.url).await?;
        let version: Option<String> = conn
            .query_first("SELECT @@version")
            .await
            .map_err(|e| MysqlError::driver("read the server version", e))?;
        let flavor = match version {
            Some(v) if v.contains("MariaDB") => Flavor::MariaDb,
            _ => Flavor::Mysql,
        };
        Ok(Self {
            conn,
            filter,
            flavor,
        })
    }

    /// The schemas of every table the filter captures now.
    pub async fn captured_tables(&mut self) -> Result<Vec<TableSchema>, SourceError> {
        let tables = list_tables(&mut self.conn, &self.filter).await?;
        Ok(load_schemas(&mut self.conn, self.flavor, &tables).await?)
    }

    /// Runs `sql` and returns every row as text cells (`None` for NULL).
    pub async fn query_text(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, SourceError> {
        let rows: Vec<Row> = self
            .conn
            .query(sql)
            .await
            .map_err(|e| MysqlError::driver("run a verification query", e))?;
        Ok(rows
            .into_iter()
            .map(|row| {
                (0..row.len())
                    .map(|i| match row.as_ref(i) {
                        Some(mysql_async::Value::Bytes(b)) => {
                            Some(String::from_utf8_lossy(b).into_owned())
                        }
                        Some(mysql_async::Value::Int(n)) => Some(n.to_string()),
                        Some(mysql_async::Value::UInt(n)) => Some(n.to_string()),
                        Some(mysql_async::Value::Double(d)) => Some(d.to_string()),
                        _ => None,
                    })
                    .collect()
            })
            .collect())
    }
}
