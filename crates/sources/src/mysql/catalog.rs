//! Table discovery and schemas from `information_schema`: which tables the
//! filter captures, and each one's columns, types, keys and indexes.

use std::collections::{BTreeMap, HashMap, HashSet};

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};
use watershed_events::{Column, Index, TableName, TableSchema};
use watershed_schema::dialect::mysql::{ColumnTypeInfo, json_valid_check_column, logical_type};

use super::conn::{Flavor, string_at};
use super::error::MysqlError;
use super::filter::TableFilter;

const OP: &str = "read table schema";

/// The base tables the filter captures, sorted by schema and name.
pub(crate) async fn list_tables(
    conn: &mut Conn,
    filter: &TableFilter,
) -> Result<Vec<TableName>, MysqlError> {
    let rows: Vec<(String, String)> = conn
        .query(
            "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES \
             WHERE TABLE_TYPE = 'BASE TABLE'",
        )
        .await
        .map_err(|e| MysqlError::driver("list tables", e))?;
    let mut tables: Vec<TableName> = rows
        .into_iter()
        .filter(|(schema, table)| filter.matches(schema, table))
        .map(|(schema, table)| TableName::new(Some(&schema), &table))
        .collect();
    tables.sort();
    Ok(tables)
}

/// Schemas of `tables`, in the same order; a table that vanished since it
/// was listed is left out.
pub(crate) async fn load_schemas(
    conn: &mut Conn,
    flavor: Flavor,
    tables: &[TableName],
) -> Result<Vec<TableSchema>, MysqlError> {
    let mut by_schema: BTreeMap<&str, HashSet<&str>> = BTreeMap::new();
    for table in tables {
        let schema = table.schema.as_deref().unwrap_or_default();
        by_schema.entry(schema).or_default().insert(&table.name);
    }
    let mut loaded = HashMap::new();
    for (schema, wanted) in by_schema {
        for (name, table) in load(conn, flavor, schema, None).await? {
            if wanted.contains(name.as_str()) {
                loaded.insert(table.name.clone(), table);
            }
        }
    }
    Ok(tables.iter().filter_map(|t| loaded.remove(t)).collect())
}

/// The schema of one table as it is now; `None` when it does not exist.
pub(crate) async fn load_table(
    conn: &mut Conn,
    flavor: Flavor,
    table: &TableName,
) -> Result<Option<TableSchema>, MysqlError> {
    let schema = table.schema.as_deref().unwrap_or_default();
    let mut loaded = load(conn, flavor, schema, Some(&table.name)).await?;
    Ok(loaded.remove(&table.name))
}

/// Every table of `schema` (or just `only`), keyed by table name.
async fn load(
    conn: &mut Conn,
    flavor: Flavor,
    schema: &str,
    only: Option<&str>,
) -> Result<HashMap<String, TableSchema>, MysqlError> {
    let table_clause = if only.is_some() {
        " AND TABLE_NAME = ?"
    } else {
        ""
    };
    let params = || match only {
        Some(table) => mysql_async::Params::Positional(vec![schema.into(), table.into()]),
        None => mysql_async::Params::Positional(vec![schema.into()]),
    };
    let json_columns = if flavor == Flavor::MariaDb {
        let sql = format!(
            "SELECT TABLE_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS \
             WHERE CONSTRAINT_SCHEMA = ?{table_clause}"
        );
        let rows: Vec<(String, String)> = conn
            .exec(sql, params())
            .await
            .map_err(|e| MysqlError::driver(OP, e))?;
        rows.into_iter()
            .filter_map(|(table, clause)| Some((table, json_valid_check_column(&clause)?)))
            .collect()
    } else {
        HashSet::new()
    };
    let sql = format!(
        "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, CHARACTER_SET_NAME, DATETIME_PRECISION, \
         IS_NULLABLE, COLUMN_DEFAULT FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = ?{table_clause} ORDER BY TABLE_NAME, ORDINAL_POSITION"
    );
    let rows: Vec<Row> = conn
        .exec(sql, params())
        .await
        .map_err(|e| MysqlError::driver(OP, e))?;
    let mut tables: HashMap<String, TableSchema> = HashMap::new();
    for row in rows {
        let table_name = string_at(&row, 0).unwrap_or_default();
        let column = column(&row, schema, &table_name, &json_columns)?;
        tables
            .entry(table_name.clone())
            .or_insert_with(|| empty_table(schema, &table_name))
            .columns
            .push(column);
    }
    add_indexes(conn, schema, only, &mut tables).await?;
    Ok(tables)
}

fn empty_table(schema: &str, table: &str) -> TableSchema {
    TableSchema {
        name: TableName::new(Some(schema), table),
        columns: Vec::new(),
        primary_key: Vec::new(),
        indexes: Vec::new(),
        version: 1,
        foreign_keys: Vec::new(),
        comment: None,
    }
}

/// One `information_schema.COLUMNS` row as a [`Column`].
fn column(
    row: &Row,
    schema: &str,
    table: &str,
    json_columns: &HashSet<(String, String)>,
) -> Result<Column, MysqlError> {
    let name = string_at(row, 1).unwrap_or_default();
    let column_type = string_at(row, 2).unwrap_or_default();
    let charset = string_at(row, 3);
    let precision = string_at(row, 4).and_then(|p| p.parse().ok());
    let json_checked = json_columns.contains(&(table.to_owned(), name.clone()));
    let info = ColumnTypeInfo {
        column_type: &column_type,
        charset: charset.as_deref(),
        datetime_precision: precision,
        json_checked,
    };
    let logical_type = logical_type(&name, &info).map_err(|e| {
        MysqlError::fatal(OP, e.to_string())
            .table(TableName::new(Some(schema), table))
            .column(&name)
    })?;
    // MariaDB spells an explicit `DEFAULT NULL` as the text NULL.
    let default = string_at(row, 6).filter(|d| d != "NULL");
    Ok(Column {
        nullable: string_at(row, 5).as_deref() == Some("YES"),
        default,
        ..Column::new(&name, logical_type, true)
    })
}

/// Fills in primary keys and secondary indexes from `STATISTICS`.
async fn add_indexes(
    conn: &mut Conn,
    schema: &str,
    only: Option<&str>,
    tables: &mut HashMap<String, TableSchema>,
) -> Result<(), MysqlError> {
    let (clause, params) = match only {
        Some(table) => (
            " AND TABLE_NAME = ?",
            mysql_async::Params::Positional(vec![schema.into(), table.into()]),
        ),
        None => ("", mysql_async::Params::Positional(vec![schema.into()])),
    };
    let sql = format!(
        "SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME FROM information_schema.STATISTICS \
         WHERE TABLE_SCHEMA = ?{clause} ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX"
    );
    let rows: Vec<Row> = conn
        .exec(sql, params)
        .await
        .map_err(|e| MysqlError::driver(OP, e))?;
    for row in rows {
        let (Some(table), Some(index), Some(column)) =
            (string_at(&row, 0), string_at(&row, 1), string_at(&row, 3))
        else {
            // Functional index parts (MySQL 8) have no column.
            continue;
        };
        let Some(schema) = tables.get_mut(&table) else {
            continue;
        };
        if index == "PRIMARY" {
            schema.primary_key.push(column);
            continue;
        }
        let unique = string_at(&row, 2).as_deref() == Some("0");
        match schema.indexes.iter_mut().find(|i| i.name == index) {
            Some(existing) => existing.columns.push(column),
            None => schema.indexes.push(Index {
                name: index,
                columns: vec![column],
                unique,
                method: None,
                expression_parts: Vec::new(),
            }),
        }
    }
    Ok(())
}
