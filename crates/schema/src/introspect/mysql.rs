//! MySQL/MariaDB: connect (with retry), read `information_schema`, run
//! statements one by one (DDL commits on its own in MySQL).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, Row, Value};
use watershed_events::{
    Column, ForeignKey, Index, LogicalType, TableName, TableSchema, redact_urls,
};

use super::{Scope, in_list, scope_names, with_retry};
use crate::ddl::Dialect;
use crate::dialect::mysql::{ColumnTypeInfo, json_valid_check_column, logical_type};
use crate::error::SchemaError;
use crate::model::SchemaModel;

/// A connection and what the schema tools need to know about it.
pub struct MysqlConnection {
    conn: Conn,
    /// The database the URL names: the default namespace.
    database: Option<String>,
    mariadb: bool,
    /// Functional key parts: MySQL 8.0.13 and later, never MariaDB.
    expression_indexes: bool,
}

pub(super) async fn connect(url: &str, wait: Duration) -> Result<MysqlConnection, SchemaError> {
    let server = redact_urls(url);
    let normalized = match url.split_once("://") {
        Some((_, rest)) => format!("mysql://{rest}"),
        None => url.to_owned(),
    };
    let opts = Opts::from_url(&normalized).map_err(|e| SchemaError::Url {
        url: server.clone(),
        reason: redact_urls(&e.to_string()),
    })?;
    let database = opts.db_name().map(str::to_owned);
    let mut conn = with_retry(&server, wait, || {
        let opts = opts.clone();
        async move {
            Conn::new(opts).await.map_err(|e| {
                let retryable = !matches!(e, mysql_async::Error::Server(_));
                (retryable, Box::new(e) as _)
            })
        }
    })
    .await?;
    conn.query_drop("SET NAMES utf8mb4")
        .await
        .map_err(query_error("set the connection charset"))?;
    let version: Option<String> = conn
        .query_first("SELECT VERSION()")
        .await
        .map_err(query_error("read the server version"))?;
    let version = version.unwrap_or_default();
    Ok(MysqlConnection {
        conn,
        database,
        mariadb: version.contains("MariaDB"),
        expression_indexes: has_expression_indexes(&version),
    })
}

/// Whether a server reporting `version` (`SELECT VERSION()`) accepts
/// functional index parts: MySQL 8.0.13 and later; MariaDB does not.
fn has_expression_indexes(version: &str) -> bool {
    if version.contains("MariaDB") {
        return false;
    }
    let numbers: Vec<u32> = version
        .split(|c: char| !c.is_ascii_digit())
        .take(3)
        .map(|n| n.parse().unwrap_or(0))
        .collect();
    numbers.as_slice() >= [8, 0, 13].as_slice()
}

fn query_error(what: &str) -> impl Fn(mysql_async::Error) -> SchemaError + '_ {
    move |e| SchemaError::Query {
        what: what.to_owned(),
        source: Box::new(e),
    }
}

/// A cell as text; `None` for NULL.
fn text(row: &Row, i: usize) -> Option<String> {
    match row.as_ref(i)? {
        Value::NULL => None,
        Value::Bytes(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
        Value::Int(n) => Some(n.to_string()),
        Value::UInt(n) => Some(n.to_string()),
        other => Some(format!("{other:?}")),
    }
}

fn cell(row: &Row, i: usize) -> String {
    text(row, i).unwrap_or_default()
}

impl MysqlConnection {
    /// Whether the server accepts expression (functional) index parts.
    pub fn expression_indexes(&self) -> bool {
        self.expression_indexes
    }

    /// The database the URL names.
    pub fn database(&self) -> Option<&str> {
        self.database.as_deref()
    }

    async fn rows(&mut self, what: &str, sql: &str) -> Result<Vec<Row>, SchemaError> {
        self.conn.query(sql).await.map_err(query_error(what))
    }

    pub(super) async fn execute(&mut self, statements: &[&String]) -> Result<(), SchemaError> {
        for statement in statements {
            let first_line = statement.lines().next().unwrap_or_default();
            self.conn
                .query_drop(statement.as_str())
                .await
                .map_err(query_error(&format!("`{first_line}`")))?;
        }
        Ok(())
    }

    /// The database's name as a model name: none for the URL's database.
    fn name(&self, database: &str, table: &str) -> TableName {
        let schema = (self.database.as_deref() != Some(database)).then_some(database);
        TableName::new(schema, table)
    }

    fn filter(&self, column: &str, scope: &Scope) -> String {
        match scope_names(scope, self.database.as_deref()) {
            Some(names) => format!("{column} {}", in_list(&names, Dialect::Mysql)),
            None => format!(
                "{column} NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')"
            ),
        }
    }

    pub(super) async fn introspect(&mut self, scope: &Scope) -> Result<SchemaModel, SchemaError> {
        let mut model = SchemaModel::default();
        let sql = format!(
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE {} ORDER BY 1",
            self.filter("SCHEMA_NAME", scope)
        );
        for row in self.rows("read databases", &sql).await? {
            let database = cell(&row, 0);
            if self.database.as_deref() != Some(database.as_str()) {
                model.schemas.insert(database);
            }
        }
        self.read_tables(scope, &mut model).await?;
        let json = self.json_columns(scope).await;
        self.read_columns(scope, &json, &mut model).await?;
        self.read_indexes(scope, &mut model).await?;
        self.read_foreign_keys(scope, &mut model).await?;
        drop_foreign_key_indexes(&mut model);
        Ok(model)
    }

    async fn read_tables(
        &mut self,
        scope: &Scope,
        model: &mut SchemaModel,
    ) -> Result<(), SchemaError> {
        let sql = format!(
            "SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_COMMENT FROM information_schema.TABLES \
             WHERE TABLE_TYPE = 'BASE TABLE' AND {} ORDER BY 1, 2",
            self.filter("TABLE_SCHEMA", scope)
        );
        for row in self.rows("read tables", &sql).await? {
            let name = self.name(&cell(&row, 0), &cell(&row, 1));
            model.tables.insert(
                name.clone(),
                TableSchema {
                    name,
                    columns: Vec::new(),
                    primary_key: Vec::new(),
                    indexes: Vec::new(),
                    version: 1,
                    foreign_keys: Vec::new(),
                    comment: text(&row, 2).filter(|c| !c.is_empty()),
                },
            );
        }
        Ok(())
    }

    /// MariaDB's JSON columns: `longtext` with a `json_valid` check. MySQL
    /// has a real JSON type (and no TABLE_NAME in this view): none.
    async fn json_columns(&mut self, scope: &Scope) -> BTreeSet<(String, String, String)> {
        let sql = format!(
            "SELECT CONSTRAINT_SCHEMA, TABLE_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS WHERE {}",
            self.filter("CONSTRAINT_SCHEMA", scope)
        );
        let rows = if self.mariadb {
            self.rows("read check constraints", &sql)
                .await
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        rows.iter()
            .filter_map(|row| {
                let column = json_valid_check_column(&cell(row, 2))?;
                Some((cell(row, 0), cell(row, 1), column))
            })
            .collect()
    }

    async fn read_columns(
        &mut self,
        scope: &Scope,
        json: &BTreeSet<(String, String, String)>,
        model: &mut SchemaModel,
    ) -> Result<(), SchemaError> {
        let sql = format!(
            "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, CHARACTER_SET_NAME, \
             DATETIME_PRECISION, IS_NULLABLE, COLUMN_DEFAULT, EXTRA, COLUMN_COMMENT \
             FROM information_schema.COLUMNS WHERE {} ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION",
            self.filter("TABLE_SCHEMA", scope)
        );
        for row in self.rows("read columns", &sql).await? {
            let (database, table, column_name) = (cell(&row, 0), cell(&row, 1), cell(&row, 2));
            let column_type = cell(&row, 3);
            let charset = text(&row, 4);
            let info = ColumnTypeInfo {
                column_type: &column_type,
                charset: charset.as_deref(),
                datetime_precision: text(&row, 5).and_then(|p| p.parse().ok()),
                json_checked: json.contains(&(
                    database.clone(),
                    table.clone(),
                    column_name.clone(),
                )),
            };
            let name = self.name(&database, &table);
            let key = (name.clone(), column_name.clone());
            let logical = logical_type(&column_name, &info).unwrap_or_else(|_| {
                model.native_types.insert(key, column_type.clone());
                LogicalType::Text { charset: None }
            });
            let extra = cell(&row, 8).to_ascii_lowercase();
            let mut column = Column::new(&column_name, logical, cell(&row, 6) == "YES");
            column.default = self.default(text(&row, 7), &extra, &column.logical_type);
            column.auto_increment = extra.contains("auto_increment");
            column.comment = text(&row, 9).filter(|c| !c.is_empty());
            if let Some(table) = model.tables.get_mut(&name) {
                table.columns.push(column);
            }
        }
        Ok(())
    }

    /// MariaDB quotes string defaults and says `NULL` for none; MySQL
    /// gives strings bare and marks expressions `DEFAULT_GENERATED`.
    fn default(&self, raw: Option<String>, extra: &str, logical: &LogicalType) -> Option<String> {
        let raw = raw?;
        if self.mariadb {
            return (raw != "NULL").then_some(raw);
        }
        let expression =
            extra.contains("default_generated") || raw.eq_ignore_ascii_case("current_timestamp");
        let numeric = logical.is_integer()
            || matches!(
                logical,
                LogicalType::Decimal { .. } | LogicalType::Float32 | LogicalType::Float64
            );
        if expression || numeric {
            Some(raw)
        } else {
            Some(format!("'{}'", raw.replace('\'', "''")))
        }
    }

    async fn read_indexes(
        &mut self,
        scope: &Scope,
        model: &mut SchemaModel,
    ) -> Result<(), SchemaError> {
        // `STATISTICS.EXPRESSION` exists where functional indexes do.
        let expression = if self.expression_indexes {
            "EXPRESSION"
        } else {
            "NULL"
        };
        let sql = format!(
            "SELECT TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, NON_UNIQUE, INDEX_TYPE, COLUMN_NAME, \
             {expression} FROM information_schema.STATISTICS WHERE {} ORDER BY 1, 2, 3, SEQ_IN_INDEX",
            self.filter("TABLE_SCHEMA", scope)
        );
        let mut found: BTreeMap<(TableName, String), Index> = BTreeMap::new();
        for row in self.rows("read indexes", &sql).await? {
            let name = self.name(&cell(&row, 0), &cell(&row, 1));
            let index_name = cell(&row, 2);
            let index = found
                .entry((name, index_name.clone()))
                .or_insert_with(|| Index {
                    name: index_name,
                    columns: Vec::new(),
                    unique: cell(&row, 3) == "0",
                    method: text(&row, 4).map(|m| m.to_ascii_lowercase()),
                    expression_parts: Vec::new(),
                });
            // A functional key part (MySQL 8) has no column, an expression.
            match (text(&row, 5), text(&row, 6)) {
                (Some(column), _) => index.columns.push(column),
                (None, Some(expression)) => {
                    index.expression_parts.push(index.columns.len());
                    index.columns.push(expression);
                }
                (None, None) => {}
            }
        }
        for ((name, _), index) in found {
            let Some(table) = model.tables.get_mut(&name) else {
                continue;
            };
            if index.name == "PRIMARY" {
                table.primary_key = index.columns;
            } else if !index.columns.is_empty() {
                table.indexes.push(index);
            }
        }
        Ok(())
    }

    async fn read_foreign_keys(
        &mut self,
        scope: &Scope,
        model: &mut SchemaModel,
    ) -> Result<(), SchemaError> {
        let sql = format!(
            "SELECT k.TABLE_SCHEMA, k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, \
             k.REFERENCED_TABLE_SCHEMA, k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, \
             r.DELETE_RULE, r.UPDATE_RULE FROM information_schema.KEY_COLUMN_USAGE k \
             JOIN information_schema.REFERENTIAL_CONSTRAINTS r \
             ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME \
             AND r.TABLE_NAME = k.TABLE_NAME \
             WHERE {} ORDER BY 1, 2, 3, k.ORDINAL_POSITION",
            self.filter("k.TABLE_SCHEMA", scope)
        );
        let mut found: BTreeMap<(TableName, String), ForeignKey> = BTreeMap::new();
        for row in self.rows("read foreign keys", &sql).await? {
            let name = self.name(&cell(&row, 0), &cell(&row, 1));
            let constraint = cell(&row, 2);
            let key = found
                .entry((name, constraint.clone()))
                .or_insert_with(|| ForeignKey {
                    name: Some(constraint),
                    columns: Vec::new(),
                    referenced: self.name(&cell(&row, 4), &cell(&row, 5)),
                    referenced_columns: Vec::new(),
                    on_delete: text(&row, 7).map(|a| a.to_ascii_lowercase()),
                    on_update: text(&row, 8).map(|a| a.to_ascii_lowercase()),
                });
            key.columns.push(cell(&row, 3));
            key.referenced_columns.push(cell(&row, 6));
        }
        for ((name, _), key) in found {
            if let Some(table) = model.tables.get_mut(&name) {
                table.foreign_keys.push(key);
            }
        }
        Ok(())
    }
}

/// InnoDB creates an index for a foreign key that has none, named after
/// the constraint; it is the key's, not the schema's, so it is left out.
fn drop_foreign_key_indexes(model: &mut SchemaModel) {
    for table in model.tables.values_mut() {
        let keys = table.foreign_keys.clone();
        table.indexes.retain(|index| {
            index.unique
                || !keys.iter().any(|k| {
                    k.name.as_deref() == Some(index.name.as_str()) && k.columns == index.columns
                })
        });
    }
}

#[cfg(test)]
mod tests {
    use super::has_expression_indexes;

    #[test]
    fn functional_indexes_need_mysql_8_0_13_and_never_mariadb() {
        assert!(has_expression_indexes("8.0.13"));
        assert!(has_expression_indexes("8.4.2-log"));
        assert!(!has_expression_indexes("8.0.12"));
        assert!(!has_expression_indexes("5.7.44"));
        assert!(!has_expression_indexes("11.4.2-MariaDB-ubu2404"));
    }
}
