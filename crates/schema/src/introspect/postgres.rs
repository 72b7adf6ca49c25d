//! PostgreSQL: connect (with retry), read the catalogs, run statements in
//! one transaction.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

use tokio_postgres::{Client, NoTls, SimpleQueryMessage};
use watershed_events::{
    Column, ForeignKey, Index, LogicalType, TableName, TableSchema, redact_urls,
};

use super::{Scope, in_list, pg_types, scope_names, with_retry};
use crate::dbml::DEFAULT_SCHEMA;
use crate::ddl::Dialect;
use crate::error::SchemaError;
use crate::model::{EnumType, SchemaModel};

type Rows = Vec<Vec<Option<String>>>;

pub(super) async fn connect(url: &str, wait: Duration) -> Result<Client, SchemaError> {
    let config = tokio_postgres::Config::from_str(url).map_err(|e| SchemaError::Url {
        url: redact_urls(url),
        reason: e.to_string(),
    })?;
    let server = redact_urls(url);
    let client = with_retry(&server, wait, || async {
        config.connect(NoTls).await.map_err(|e| {
            // The server answered: a bad password or database will not heal.
            let retryable = e.as_db_error().is_none();
            (retryable, Box::new(e) as _)
        })
    })
    .await?;
    let (client, connection) = client;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::warn!(error = %error, "postgres connection ended");
        }
    });
    Ok(client)
}

async fn rows(client: &Client, what: &str, sql: &str) -> Result<Rows, SchemaError> {
    let messages = client
        .simple_query(sql)
        .await
        .map_err(|e| SchemaError::Query {
            what: what.to_owned(),
            source: Box::new(e),
        })?;
    Ok(text_rows(messages))
}

/// The rows of a simple query as text cells (`None` for NULL).
pub fn text_rows(messages: Vec<SimpleQueryMessage>) -> Vec<Vec<Option<String>>> {
    messages
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(row) => Some(
                (0..row.len())
                    .map(|i| row.get(i).map(str::to_owned))
                    .collect(),
            ),
            _ => None,
        })
        .collect()
}

pub(super) async fn execute(
    client: &mut Client,
    statements: &[&String],
) -> Result<(), SchemaError> {
    let query_error = |what: String| {
        move |e: tokio_postgres::Error| SchemaError::Query {
            what,
            source: Box::new(e),
        }
    };
    let transaction = client
        .transaction()
        .await
        .map_err(query_error("begin".into()))?;
    for statement in statements {
        let first_line = statement.lines().next().unwrap_or_default().to_owned();
        transaction
            .batch_execute(statement)
            .await
            .map_err(query_error(format!("`{first_line}`")))?;
    }
    transaction
        .commit()
        .await
        .map_err(query_error("commit".into()))
}

/// Cell `i` of a row, empty when NULL or missing.
fn cell(row: &[Option<String>], i: usize) -> &str {
    row.get(i).and_then(|c| c.as_deref()).unwrap_or_default()
}

fn opt_cell(row: &[Option<String>], i: usize) -> Option<String> {
    row.get(i).cloned().flatten().filter(|c| !c.is_empty())
}

/// `public` is the default namespace: its names have no schema.
fn name(schema: &str, name: &str) -> TableName {
    let schema = (schema != DEFAULT_SCHEMA).then_some(schema);
    TableName::new(schema, name)
}

fn namespace_filter(scope: &Scope) -> String {
    let mut filter = "n.nspname NOT IN ('pg_catalog', 'information_schema') \
                      AND n.nspname NOT LIKE 'pg\\_%'"
        .to_owned();
    if let Some(names) = scope_names(scope, Some(DEFAULT_SCHEMA)) {
        filter.push_str(&format!(
            " AND n.nspname {}",
            in_list(&names, Dialect::Postgres)
        ));
    }
    filter
}

pub(super) async fn introspect(client: &Client, scope: &Scope) -> Result<SchemaModel, SchemaError> {
    let filter = namespace_filter(scope);
    let mut model = SchemaModel::default();
    let sql = format!("SELECT n.nspname FROM pg_namespace n WHERE {filter} ORDER BY 1");
    for row in rows(client, "read schemas", &sql).await? {
        if cell(&row, 0) != DEFAULT_SCHEMA {
            model.schemas.insert(cell(&row, 0).to_owned());
        }
    }
    read_enums(client, &filter, &mut model).await?;
    read_tables(client, &filter, &mut model).await?;
    read_columns(client, &filter, &mut model).await?;
    read_constraints(client, &filter, &mut model).await?;
    read_indexes(client, &filter, &mut model).await?;
    Ok(model)
}

async fn read_enums(
    client: &Client,
    filter: &str,
    model: &mut SchemaModel,
) -> Result<(), SchemaError> {
    let sql = format!(
        "SELECT n.nspname, t.typname, e.enumlabel FROM pg_type t \
         JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace \
         WHERE {filter} ORDER BY 1, 2, e.enumsortorder"
    );
    for row in rows(client, "read enum types", &sql).await? {
        let enum_name = name(cell(&row, 0), cell(&row, 1));
        model
            .enums
            .entry(enum_name.clone())
            .or_insert_with(|| EnumType {
                name: enum_name,
                labels: Vec::new(),
            })
            .labels
            .push(cell(&row, 2).to_owned());
    }
    Ok(())
}

async fn read_tables(
    client: &Client,
    filter: &str,
    model: &mut SchemaModel,
) -> Result<(), SchemaError> {
    let sql = format!(
        "SELECT n.nspname, c.relname, obj_description(c.oid, 'pg_class') FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND {filter} ORDER BY 1, 2"
    );
    for row in rows(client, "read tables", &sql).await? {
        let table_name = name(cell(&row, 0), cell(&row, 1));
        model.tables.insert(
            table_name.clone(),
            TableSchema {
                name: table_name,
                columns: Vec::new(),
                primary_key: Vec::new(),
                indexes: Vec::new(),
                version: 1,
                foreign_keys: Vec::new(),
                comment: opt_cell(&row, 2),
            },
        );
    }
    Ok(())
}

const COLUMNS: &str = "SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod), \
    a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity, col_description(c.oid, a.attnum), \
    tn.nspname, t.typname, t.typtype, en.nspname, et.typname, et.typtype, a.attgenerated \
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
    JOIN pg_namespace n ON n.oid = c.relnamespace \
    JOIN pg_type t ON t.oid = a.atttypid JOIN pg_namespace tn ON tn.oid = t.typnamespace \
    LEFT JOIN pg_type et ON et.oid = t.typelem AND t.typcategory = 'A' \
    LEFT JOIN pg_namespace en ON en.oid = et.typnamespace \
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
    WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND a.attnum > 0 \
    AND NOT a.attisdropped AND ";

async fn read_columns(
    client: &Client,
    filter: &str,
    model: &mut SchemaModel,
) -> Result<(), SchemaError> {
    let sql = format!("{COLUMNS}{filter} ORDER BY n.nspname, c.relname, a.attnum");
    for row in rows(client, "read columns", &sql).await? {
        let table_name = name(cell(&row, 0), cell(&row, 1));
        let column_name = cell(&row, 2).to_owned();
        let key = (table_name.clone(), column_name.clone());
        let formatted = cell(&row, 3);
        let enum_type = if cell(&row, 10) == "e" {
            Some(name(cell(&row, 8), cell(&row, 9)))
        } else if cell(&row, 13) == "e" {
            Some(name(cell(&row, 11), cell(&row, 12)))
        } else {
            None
        };
        let logical = match &enum_type {
            Some(enum_name) => {
                let labels = model
                    .enums
                    .get(enum_name)
                    .map(|e| e.labels.clone())
                    .unwrap_or_default();
                let element = LogicalType::Enum { labels };
                if cell(&row, 13) == "e" {
                    LogicalType::Array {
                        element: Box::new(element),
                    }
                } else {
                    element
                }
            }
            None => pg_types::logical_type(formatted).unwrap_or_else(|| {
                model.native_types.insert(key.clone(), formatted.to_owned());
                LogicalType::Text { charset: None }
            }),
        };
        if let Some(enum_name) = enum_type {
            model.enum_columns.insert(key, enum_name);
        }
        let mut column = Column::new(&column_name, logical, cell(&row, 4) != "t");
        let default = opt_cell(&row, 5).filter(|_| cell(&row, 14).is_empty());
        let serial = default
            .as_deref()
            .is_some_and(|d| d.starts_with("nextval("));
        column.auto_increment = serial || matches!(cell(&row, 6), "a" | "d");
        column.default = default.filter(|_| !serial);
        column.comment = opt_cell(&row, 7);
        if let Some(table) = model.tables.get_mut(&table_name) {
            table.columns.push(column);
        }
    }
    Ok(())
}

/// `a` no action, `r` restrict, `c` cascade, `n` set null, `d` set default.
fn action(code: &str) -> Option<String> {
    let text = match code {
        "r" => "restrict",
        "c" => "cascade",
        "n" => "set null",
        "d" => "set default",
        _ => return None,
    };
    Some(text.to_owned())
}

fn split_names(text: &str) -> Vec<String> {
    text.split('\u{1f}')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

const KEY_COLUMNS: &str = "(SELECT string_agg(a.attname, chr(31) ORDER BY k.ord) \
    FROM unnest(con.{keys}) WITH ORDINALITY k(num, ord) \
    JOIN pg_attribute a ON a.attrelid = con.{rel} AND a.attnum = k.num)";

async fn read_constraints(
    client: &Client,
    filter: &str,
    model: &mut SchemaModel,
) -> Result<(), SchemaError> {
    let local = KEY_COLUMNS
        .replace("{keys}", "conkey")
        .replace("{rel}", "conrelid");
    let remote = KEY_COLUMNS
        .replace("{keys}", "confkey")
        .replace("{rel}", "confrelid");
    let sql = format!(
        "SELECT n.nspname, c.relname, con.conname, con.contype, {local}, fn.nspname, fc.relname, \
         {remote}, con.confdeltype, con.confupdtype FROM pg_constraint con \
         JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         LEFT JOIN pg_class fc ON fc.oid = con.confrelid \
         LEFT JOIN pg_namespace fn ON fn.oid = fc.relnamespace \
         WHERE con.contype IN ('p', 'f') AND {filter} ORDER BY 1, 2, 3"
    );
    for row in rows(client, "read keys", &sql).await? {
        let Some(table) = model.tables.get_mut(&name(cell(&row, 0), cell(&row, 1))) else {
            continue;
        };
        let columns = split_names(cell(&row, 4));
        if cell(&row, 3) == "p" {
            table.primary_key = columns;
            continue;
        }
        table.foreign_keys.push(ForeignKey {
            name: opt_cell(&row, 2),
            columns,
            referenced: name(cell(&row, 5), cell(&row, 6)),
            referenced_columns: split_names(cell(&row, 7)),
            on_delete: action(cell(&row, 8)),
            on_update: action(cell(&row, 9)),
        });
    }
    Ok(())
}

async fn read_indexes(
    client: &Client,
    filter: &str,
    model: &mut SchemaModel,
) -> Result<(), SchemaError> {
    let sql = format!(
        "SELECT n.nspname, c.relname, i.relname, ix.indisunique, am.amname, \
         (SELECT string_agg(CASE WHEN ix.indkey[k - 1] = 0 THEN chr(1) || pg_get_indexdef(ix.indexrelid, k, true) ELSE a.attname END, chr(31) ORDER BY k) \
          FROM generate_series(1, ix.indnkeyatts) k \
          LEFT JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = ix.indkey[k - 1]), \
         ix.indpred IS NOT NULL \
         FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid \
         JOIN pg_class c ON c.oid = ix.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_am am ON am.oid = i.relam \
         WHERE NOT ix.indisprimary AND c.relkind IN ('r', 'p') AND {filter} ORDER BY 1, 2, 3"
    );
    let mut by_table: BTreeMap<TableName, Vec<Index>> = BTreeMap::new();
    for row in rows(client, "read indexes", &sql).await? {
        // Partial indexes are not in the model.
        if cell(&row, 6) == "t" {
            continue;
        }
        let (columns, expression_parts) = key_parts(cell(&row, 5));
        by_table
            .entry(name(cell(&row, 0), cell(&row, 1)))
            .or_default()
            .push(Index {
                name: cell(&row, 2).to_owned(),
                columns,
                unique: cell(&row, 3) == "t",
                method: opt_cell(&row, 4),
                expression_parts,
            });
    }
    for (table_name, indexes) in by_table {
        if let Some(table) = model.tables.get_mut(&table_name) {
            table.indexes = indexes;
        }
    }
    Ok(())
}

/// An index's key parts as the catalog query joins them: names separated
/// by `\u{1f}`, an expression (as `pg_get_indexdef` prints it) marked by a
/// leading `\u{1}`. Returns the parts and the positions of expressions.
fn key_parts(joined: &str) -> (Vec<String>, Vec<usize>) {
    let mut expressions = Vec::new();
    let parts = joined
        .split('\u{1f}')
        .enumerate()
        .map(|(k, part)| match part.strip_prefix('\u{1}') {
            Some(expression) => {
                expressions.push(k);
                expression.to_owned()
            }
            None => part.to_owned(),
        })
        .collect();
    (parts, expressions)
}

#[cfg(test)]
mod tests {
    use super::key_parts;

    #[test]
    fn key_parts_mark_expressions_by_position() {
        let (parts, expressions) = key_parts("tenant_id\u{1f}\u{1}lower((name)::text)");
        assert_eq!(parts, ["tenant_id", "lower((name)::text)"]);
        assert_eq!(expressions, [1]);
        assert_eq!(
            key_parts("a\u{1f}b"),
            (vec!["a".into(), "b".into()], vec![])
        );
    }
}
