//! QUERY events: transaction control, TRUNCATE, and DDL that changes the
//! shape of captured tables.

use mysql_async::binlog::events::{Event as BinlogEvent, QueryEvent};
use watershed_events::{Change, Event, TableName};

use super::StreamState;
use crate::mysql::ddl::{Statement, classify};
use crate::mysql::error::MysqlError;

impl StreamState {
    pub(super) async fn on_query(
        &mut self,
        event: &BinlogEvent,
        out: &mut Vec<Event>,
    ) -> Result<(), MysqlError> {
        let header = event.header();
        let query: QueryEvent<'_> = event
            .read_event()
            .map_err(|_| MysqlError::fatal("binlog stream", "unreadable QUERY event"))?;
        let log_pos = self.end_of(header.log_pos());
        match classify(&query.query(), &query.schema()) {
            Statement::Begin => {
                self.tx.open = true;
                if self.tx.time == 0 {
                    self.tx.time = header.timestamp();
                }
            }
            Statement::Commit | Statement::Rollback => {
                self.on_commit(log_pos, header.timestamp(), out)
            }
            Statement::Xa => {
                tracing::warn!(
                    "XA transaction in the binlog: applied at its prepare; a later XA ROLLBACK is not followed"
                );
                self.on_commit(log_pos, header.timestamp(), out);
            }
            Statement::Truncate(table) => {
                if self
                    .filter
                    .matches(table.schema.as_deref().unwrap_or_default(), &table.name)
                    && let Some(schema) = self.schemas.get(&table).await?
                {
                    self.begin(out);
                    self.schemas.announce(&schema, out);
                    out.push(Event::Change(Change::truncate(schema)));
                }
                self.end_statement(log_pos, header.timestamp(), out);
            }
            Statement::Dml(tables) => {
                if let Some(table) = tables.iter().find(|t| self.captures(t)) {
                    return Err(MysqlError::fatal(
                        "binlog stream",
                        "a row change was logged as a statement (a session with binlog_format STATEMENT or \
                         MIXED), which the source cannot decode: make every session use ROW, then re-snapshot the table",
                    )
                    .table(table));
                }
                self.end_statement(log_pos, header.timestamp(), out);
            }
            Statement::Ddl { changed, gone } => {
                self.on_ddl(&changed, &gone, out).await?;
                self.end_statement(log_pos, header.timestamp(), out);
            }
            Statement::Other => self.end_statement(log_pos, header.timestamp(), out),
        }
        Ok(())
    }

    /// Re-reads the tables DDL changed and announces their new schema
    /// before any row written under it. Dropped and renamed-away tables are
    /// forgotten; dropping the target table is left to a later policy.
    async fn on_ddl(
        &mut self,
        changed: &[TableName],
        gone: &[TableName],
        out: &mut Vec<Event>,
    ) -> Result<(), MysqlError> {
        let captured = |t: &TableName| {
            self.filter
                .matches(t.schema.as_deref().unwrap_or_default(), &t.name)
        };
        let gone: Vec<TableName> = gone.iter().filter(|t| captured(t)).cloned().collect();
        let changed: Vec<TableName> = changed.iter().filter(|t| captured(t)).cloned().collect();
        for table in gone.iter().chain(&changed) {
            self.forget_decoders(table);
        }
        for table in &gone {
            tracing::warn!(table = %table, "captured table dropped or renamed away; the target keeps its copy");
            self.schemas.forget(table);
        }
        if !gone.is_empty() && !changed.is_empty() {
            tracing::warn!(tables = ?changed, "table renamed; rows it already holds are not copied, only later changes: resync it");
        }
        for table in &changed {
            if let Some(schema) = self.schemas.reload(table).await? {
                tracing::info!(table = %table, version = schema.version, "table schema changed");
                self.begin(out);
                self.schemas.announce(&schema, out);
            }
        }
        Ok(())
    }

    fn captures(&self, table: &TableName) -> bool {
        self.filter
            .matches(table.schema.as_deref().unwrap_or_default(), &table.name)
    }

    /// Drops cached decoders of `table`: its next TABLE_MAP is resolved anew.
    fn forget_decoders(&mut self, table: &TableName) {
        let ids: Vec<u64> = self
            .tables
            .iter()
            .filter(|(_, d)| d.as_ref().is_some_and(|d| d.schema.name == *table))
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.tables.remove(&id);
            self.maps.remove(&id);
        }
    }
}
