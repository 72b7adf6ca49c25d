//! The stream's table schemas: the latest known per table (from the
//! snapshot, `information_schema` or the binlog's own metadata), and the
//! ones already announced downstream with a Schema event.

use std::collections::HashMap;
use std::sync::Arc;

use mysql_async::Conn;
use watershed_events::{ColumnRename, Event, SchemaChange, TableName, TableSchema};

use super::catalog::load_table;
use super::conn::{Flavor, connect};
use super::error::MysqlError;

pub(crate) struct Schemas {
    url: String,
    flavor: Flavor,
    /// For `information_schema` reads; the binlog connection cannot query.
    conn: Option<Conn>,
    /// `None`: looked up, and the table does not exist now.
    known: HashMap<TableName, Option<Arc<TableSchema>>>,
    announced: HashMap<TableName, Arc<TableSchema>>,
}

impl Schemas {
    /// Starts with schemas already known and announced (a snapshot's).
    pub(crate) fn new(url: String, flavor: Flavor, announced: &[Arc<TableSchema>]) -> Self {
        Self {
            url,
            flavor,
            conn: None,
            known: announced
                .iter()
                .map(|s| (s.name.clone(), Some(s.clone())))
                .collect(),
            announced: announced
                .iter()
                .map(|s| (s.name.clone(), s.clone()))
                .collect(),
        }
    }

    /// The latest known schema, read from the server the first time.
    pub(crate) async fn get(
        &mut self,
        name: &TableName,
    ) -> Result<Option<Arc<TableSchema>>, MysqlError> {
        if let Some(known) = self.known.get(name) {
            return Ok(known.clone());
        }
        let loaded = self.read(name).await?.map(Arc::new);
        self.known.insert(name.clone(), loaded.clone());
        Ok(loaded)
    }

    /// Reads the table again after DDL: the next version.
    pub(crate) async fn reload(
        &mut self,
        name: &TableName,
    ) -> Result<Option<Arc<TableSchema>>, MysqlError> {
        let previous = self.known.get(name).cloned().flatten();
        let reloaded = self.read(name).await?.map(|mut schema| {
            schema.version = previous.as_ref().map_or(1, |p| p.version + 1);
            Arc::new(schema)
        });
        self.known.insert(name.clone(), reloaded.clone());
        Ok(reloaded)
    }

    /// Records a schema built from the binlog's metadata.
    pub(crate) fn set(&mut self, schema: Arc<TableSchema>) {
        self.known.insert(schema.name.clone(), Some(schema));
    }

    /// The table was dropped or renamed away; returns its last known
    /// shape (only the name when it was never read).
    pub(crate) fn forget(&mut self, name: &TableName) -> Arc<TableSchema> {
        let known = self.known.remove(name).flatten();
        self.announced.remove(name);
        known.unwrap_or_else(|| {
            Arc::new(TableSchema {
                name: name.clone(),
                columns: Vec::new(),
                primary_key: Vec::new(),
                indexes: Vec::new(),
                version: 0,
                foreign_keys: Vec::new(),
                comment: None,
            })
        })
    }

    /// Pushes a Schema event unless this very schema was announced last.
    pub(crate) fn announce(&mut self, schema: &Arc<TableSchema>, out: &mut Vec<Event>) {
        self.announce_renamed(schema, Vec::new(), None, out);
    }

    /// As [`Self::announce`], saying which columns DDL renamed.
    pub(crate) fn announce_renamed(
        &mut self,
        schema: &Arc<TableSchema>,
        renamed_columns: Vec<ColumnRename>,
        ddl: Option<&str>,
        out: &mut Vec<Event>,
    ) {
        let current = self.announced.get(&schema.name);
        if current.is_some_and(|c| Arc::ptr_eq(c, schema) || **c == **schema) {
            return;
        }
        self.announced.insert(schema.name.clone(), schema.clone());
        out.push(Event::Schema(SchemaChange {
            renamed_columns,
            ddl: ddl.map(str::to_owned),
            ..SchemaChange::new(schema.clone())
        }));
    }

    async fn read(&mut self, name: &TableName) -> Result<Option<TableSchema>, MysqlError> {
        let conn = match &mut self.conn {
            Some(conn) => conn,
            None => self.conn.insert(connect(&self.url).await?),
        };
        let result = load_table(conn, self.flavor, name).await;
        if result.is_err() {
            // Reconnect next time rather than reuse a broken connection.
            self.conn = None;
        }
        result
    }
}
