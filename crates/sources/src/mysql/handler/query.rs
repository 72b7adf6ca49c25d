//! QUERY events: transaction control, TRUNCATE, and DDL that changes the
//! shape of captured tables.

use mysql_async::binlog::events::{Event as BinlogEvent, QueryEvent};
use watershed_events::{Change, ColumnRename, Event, SchemaChange, TableName};

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
                    && !self.controls.skips(&table)
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
            Statement::Ddl {
                changed,
                gone,
                renamed_columns,
            } => {
                let ddl = query.query().into_owned();
                self.on_ddl(&changed, &gone, renamed_columns, &ddl, out)
                    .await?;
                self.end_statement(log_pos, header.timestamp(), out);
            }
            Statement::Unreadable { mentions } => {
                if let Some(table) = mentions.iter().find(|t| self.captures(t)) {
                    let text = query.query();
                    let head: String = text.chars().take(120).collect();
                    return Err(MysqlError::fatal(
                        "binlog stream",
                        format!(
                            "a DDL statement that may change this captured table could not be read: \
                             `{head}`; the pipeline stops before it (position kept, nothing skipped): \
                             please report the statement"
                        ),
                    )
                    .table(table));
                }
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
        renamed_columns: Vec<ColumnRename>,
        ddl: &str,
        out: &mut Vec<Event>,
    ) -> Result<(), MysqlError> {
        let captured = |t: &TableName| {
            self.filter
                .matches(t.schema.as_deref().unwrap_or_default(), &t.name)
        };
        let renamed = !gone.is_empty() && !changed.is_empty();
        let gone: Vec<TableName> = gone.iter().filter(|t| captured(t)).cloned().collect();
        let changed: Vec<TableName> = changed.iter().filter(|t| captured(t)).cloned().collect();
        for table in gone.iter().chain(&changed) {
            self.forget_decoders(table);
        }
        for table in &gone {
            let last = self.schemas.forget(table);
            self.controls.forget(table);
            tracing::info!(table = %table, "captured table dropped or renamed away");
            self.begin(out);
            out.push(Event::Schema(SchemaChange {
                ddl: Some(ddl.to_owned()),
                ..SchemaChange::dropped(last)
            }));
        }
        for table in &changed {
            self.controls.reshaped(table);
            let Some(schema) = self.schemas.reload(table).await? else {
                continue;
            };
            if self.controls.skips(table) {
                continue;
            }
            tracing::info!(table = %table, version = schema.version, "table schema changed");
            self.begin(out);
            self.schemas
                .announce_renamed(&schema, renamed_columns.clone(), Some(ddl), out);
            // Renamed into the filter: its rows are copied while streaming.
            if renamed && !schema.primary_key.is_empty() {
                tracing::info!(table = %table, "table renamed into the filter: copying its rows");
                self.controls
                    .enqueue(table.clone(), watershed_events::TableAction::Resync);
            } else if renamed {
                tracing::warn!(table = %table, "keyless table renamed into the filter: rows it holds are not copied");
            }
        }
        Ok(())
    }

    pub(super) fn captures(&self, table: &TableName) -> bool {
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
